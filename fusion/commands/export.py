"""``radarpose export rec.h5 out.bag``: a recording as a ROS1 bag, or a ROS2 bag (sqlite3 or MCAP)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", help="HDF5 recording")
    p.add_argument("out", help="output bag: a .bag file (ROS1) or a folder (ROS2)")
    p.add_argument("--ros2", action="store_true", help="write a ROS2 bag")
    p.add_argument("--mcap", action="store_true", help="ROS2 with MCAP storage (default sqlite3)")


def run(args: argparse.Namespace) -> int:
    from drivers.bags import export_recording

    counts = export_recording(
        args.recording,
        args.out,
        ros2=args.ros2 or args.mcap,
        storage="mcap" if args.mcap else "sqlite3",
    )
    print(f"wrote {args.out}: " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    return 0
