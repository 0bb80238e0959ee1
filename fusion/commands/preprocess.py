"""``radarpose preprocess``: recordings → HuPR heatmaps / point clouds / micro-Doppler / RT-Pose tensors;
HuPR and RT-Pose sequence folders → their own .npy files."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "input",
        help="an HDF5 recording, a HuPR sequence folder (hori/ and vert/ with adc_data.bin) or an "
        "RT-Pose sequence folder (radar/ or radar/bin/ with the MMWCAS chip files)",
    )
    p.add_argument(
        "--to",
        choices=["hupr", "points", "microdoppler", "rtpose"],
        default=None,
        help="what to compute from a recording (default hupr; folders give their own format)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="output HDF5 (recordings) or folder (sequences); resumes if it exists",
    )
    p.add_argument(
        "--dtype",
        choices=["complex64", "complex128"],
        default="complex64",
        help=".npy dtype for HuPR folders (HuPR itself saved complex128)",
    )
    p.add_argument(
        "--tensor",
        choices=["roi", "f16"],
        default="roi",
        help="RT-Pose output of a recording: the network's ROI input float32 (32, 16, 64, 160) "
        "or the full training tensor float16 (32, 32, 128, 256)",
    )
    p.add_argument(
        "--resampler",
        choices=["reference", "physical"],
        default="reference",
        help="RT-Pose polar-to-Cartesian resampling: reference reproduces 4Dradar2xyz.py exactly "
        "(quirks included); physical places voxels at their true range and sin-angles",
    )
    p.add_argument(
        "--calibration",
        default=None,
        help="MMWCAS calibrateResults_*.mat applied before the RT-Pose chain (RT-Pose's own "
        "processing always uses one)",
    )
    p.add_argument(
        "--no-complex",
        action="store_true",
        help="RT-Pose folders: skip radar/npy_DZYX_complex/ (512 MiB a frame), write DZYX_npy_f16/ only",
    )


def run(args: argparse.Namespace) -> int:
    from sensing.preprocess import (
        hupr_sequence_to_npy,
        preprocess_recording,
        rtpose_sequence_to_npy,
    )
    from sensing.rtpose import CascadeCalibration

    cal = CascadeCalibration.load(args.calibration) if args.calibration else None
    src = Path(args.input)
    if src.is_dir():
        out = Path(args.out or src)
        if (src / "hori").is_dir() or (src / "vert").is_dir() or args.to == "hupr":
            counts = hupr_sequence_to_npy(src, out, dtype=args.dtype)
            print(
                f"wrote HuPR heatmaps to {out}/hori and {out}/vert: "
                + ", ".join(f"{k} {v} frames" for k, v in counts.items())
            )
            return 0
        if args.to not in (None, "rtpose"):
            print(f"a sequence folder gives HuPR or RT-Pose files, not --to {args.to}")
            return 2
        if (src / "radar").is_dir() or any(src.glob("master_*_data.bin")):
            counts = rtpose_sequence_to_npy(
                src,
                out,
                calibration=cal,
                resampler=args.resampler,
                write_complex=not args.no_complex,
            )
            print(
                f"wrote RT-Pose tensors to {out}: {counts['f16']} in DZYX_npy_f16/, "
                f"{counts['complex']} in radar/npy_DZYX_complex/ (existing files kept)"
            )
            return 0
        hupr_sequence_to_npy(src, out, dtype=args.dtype)  # its error says what a HuPR folder needs
        return 0
    mode = args.to or "hupr"
    out = Path(args.out or src.with_name(src.stem + f"_{mode}.h5"))
    counts = preprocess_recording(
        src, out, mode, tensor=args.tensor, resampler=args.resampler, calibration=cal
    )
    print(f"wrote {out}: " + ", ".join(f"{k} {v} frames" for k, v in counts.items()))
    return 0
