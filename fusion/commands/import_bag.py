"""``radarpose import in.bag out.h5``: a ROS1 or ROS2 (sqlite3/MCAP) bag as an HDF5 recording."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("bag", help="a .bag file (ROS1) or a ROS2 bag folder")
    p.add_argument("out", help="output HDF5 recording (must not exist)")
    p.add_argument(
        "--rig", help="rig YAML or built-in name: maps topics to sensors (options.topic)"
    )
    p.add_argument("--topics", nargs="+", help="import only these topics")
    p.add_argument(
        "--stamps",
        choices=("header", "log"),
        default="header",
        help="frame stamps from message headers (default) or the bag's log times",
    )
    p.add_argument(
        "--skip-unknown",
        action="store_true",
        help="skip topics whose message type has no definition instead of refusing the bag",
    )


def run(args: argparse.Namespace) -> int:
    from drivers import load_rig
    from drivers.bagimport import import_bag

    rig = load_rig(args.rig) if args.rig else None
    counts, src = import_bag(
        args.bag,
        args.out,
        rig,
        progress=not args.quiet,
        topics=args.topics,
        stamps=args.stamps,
        strict=not args.skip_unknown,
    )
    if not args.quiet:
        print(f"wrote {args.out}: " + ", ".join(f"{s} {n}" for s, n in counts.items()))
        print(f"dropped {src.stats.dropped} frames" if src.stats.dropped else "no frames dropped")
        for t, why in src.ignored.items():
            print(f"  ignored {t}: {why}")
        for w in src.stats.warnings:
            print(f"  warning: {w}")
    return 0
