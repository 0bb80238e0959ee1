"""``radarpose import-weights OFFICIAL.pth [-o] OURS.pt [--model hupr|hrradarpose]``."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("official", help="HuPR model_best.pth or an RT-Pose (det3d) checkpoint")
    p.add_argument("output", nargs="?", default=None, help="radarpose checkpoint to write (.pt)")
    p.add_argument("-o", "--out", default=None, help="same as OUTPUT")
    p.add_argument(
        "--model",
        "--from",
        dest="source",
        default=None,
        help="hupr, or hrradarpose/rtpose; refuses a file of the other kind (default: detect)",
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fusion.errors import FusionError
    from fusion.official_weights import import_official
    from fusion.train import save_checkpoint

    out = args.out or args.output
    if out is None or (args.out and args.output and args.out != args.output):
        raise FusionError("give the output checkpoint once, as OUTPUT or with -o")
    ck = import_official(args.official, args.source)
    save_checkpoint(Path(out), ck)
    n = sum(v.numel() for v in ck["model_state_dict"].values() if v.is_floating_point())
    src = ck["imported_from"]
    print(
        f"{args.official}: {src['source']} checkpoint (epoch {src['epoch']}) -> {out}: "
        f"model {ck['model_name']}, {len(ck['model_state_dict'])} tensors, {n:,} values"
    )
    return 0
