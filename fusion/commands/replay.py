"""``radarpose replay rec.h5|in.bag``: a recording or bag through the live source interface,
paced at recorded speed, N× or as fast as possible; per-sensor counts, drops and sync report."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="HDF5 recording, ROS1 .bag file or ROS2 bag folder")
    p.add_argument("--rig", help="rig YAML or built-in name (maps bag topics to sensors)")
    p.add_argument(
        "--speed", default="1", help="1 = recorded speed, 2 = twice as fast, max = no pacing"
    )
    p.add_argument(
        "--record", default=None, help="also write the replayed frames to this new HDF5 file"
    )
    p.add_argument(
        "--sync",
        type=float,
        default=None,
        metavar="SECONDS",
        help="match every stream to the reference sensor within this skew and report the counts",
    )
    p.add_argument(
        "--max-lag",
        type=float,
        default=None,
        metavar="SECONDS",
        help="drop (and count) frames this far behind schedule, as a live board would",
    )
    p.add_argument("--topics", nargs="+", help="bag topics to replay (default: every sensor topic)")


def run(args: argparse.Namespace) -> int:
    from drivers import load_rig
    from drivers.replay import parse_speed, replay_file

    speed = parse_speed(args.speed)
    rig = load_rig(args.rig) if args.rig else None
    bag_options = {"topics": args.topics} if args.topics else {}
    res = replay_file(
        args.input,
        rig=rig,
        speed=speed,
        record=args.record,
        sync_skew=args.sync,
        max_lag=args.max_lag,
        progress=not args.quiet,
        **bag_options,
    )
    pace = "as fast as possible" if speed is None else f"at {speed:g}x"
    print(f"replayed {args.input} {pace}:")
    print("\n".join(res.counts.lines(res.unreadable)))
    if speed is not None:
        print(f"  most behind schedule: {1000 * res.counts.max_lag_s:.1f} ms")
    for w in res.warnings:
        print(f"  warning: {w}")
    if res.sync is not None:
        print("\n".join(res.sync.lines()))
    if res.recorded is not None:
        print(f"recorded {args.record}: " + ", ".join(f"{s} {n}" for s, n in res.recorded.items()))
    if res.error:
        print(f"stopped: {res.error}")
        return 1
    return 0
