"""``radarpose preprocess``: recordings → HuPR heatmaps / point clouds / micro-Doppler; HuPR folders → its .npy files."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "input",
        help="an HDF5 recording, or a HuPR sequence folder (hori/ and vert/ with adc_data.bin)",
    )
    p.add_argument(
        "--to", choices=["hupr", "points", "microdoppler"], default="hupr", help="what to compute"
    )
    p.add_argument(
        "--out",
        default=None,
        help="output HDF5 (recordings) or folder (HuPR sequences); resumes if it exists",
    )
    p.add_argument(
        "--dtype",
        choices=["complex64", "complex128"],
        default="complex64",
        help=".npy dtype for HuPR folders (HuPR itself saved complex128)",
    )


def run(args: argparse.Namespace) -> int:
    from sensing.preprocess import hupr_sequence_to_npy, preprocess_recording

    src = Path(args.input)
    if src.is_dir():
        out = Path(args.out or src)
        counts = hupr_sequence_to_npy(src, out, dtype=args.dtype)
        print(
            f"wrote HuPR heatmaps to {out}/hori and {out}/vert: "
            + ", ".join(f"{k} {v} frames" for k, v in counts.items())
        )
        return 0
    out = Path(args.out or src.with_name(src.stem + f"_{args.to}.h5"))
    counts = preprocess_recording(src, out, args.to)
    print(f"wrote {out}: " + ", ".join(f"{k} {v} frames" for k, v in counts.items()))
    return 0
