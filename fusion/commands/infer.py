"""``radarpose infer rec.h5 out.{h5,json,bag}``: skeletons with scores from a recording's radar."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", help="an HDF5 recording of a two-radar (HuPR-style) rig")
    p.add_argument(
        "out", help="skeletons.h5, skeletons.json, skeletons.bag, or a folder with --ros2"
    )
    p.add_argument(
        "--weights",
        default=None,
        help="checkpoint (default: the shipped real-time model for the recording's rig)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="person score threshold (default: the checkpoint's, 0.3 if it has none)",
    )
    p.add_argument(
        "--ros2", action="store_true", help="write a ROS2 bag (sqlite3; --mcap for MCAP)"
    )
    p.add_argument("--mcap", action="store_true", help="ROS2 bag in MCAP storage")


def run(args: argparse.Namespace) -> int:
    from fusion.evaluate import load_model
    from fusion.infer import infer_recording

    model = load_model(args.weights)[0] if args.weights else None
    r = infer_recording(
        args.recording,
        model,
        args.out,
        threshold=args.threshold,
        ros2=args.ros2 or args.mcap,
        storage="mcap" if args.mcap else "sqlite3",
        quiet=args.quiet,
    )
    t = r["timing_ms"]["total"]  # type: ignore[index]
    print(
        f"{r['frames']} frames, {r['people']} skeletons -> {r['out']} "
        f"({t['mean']:.1f} ms per frame)"
    )
    return 0
