"""``radarpose simulate``: write a simulated recording (raw ADC, LiDAR, images, ground truth)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="output HDF5 recording")
    p.add_argument(
        "--rig", default="hupr", help="rig YAML or built-in name: hupr, rtpose (default hupr)"
    )
    p.add_argument("--people", type=int, default=1, help="1 to 3 people")
    p.add_argument("--seconds", type=float, default=10.0, help="length of the scene")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--motion",
        action="append",
        default=None,
        help="motion per person (repeat); default random. One of: stand, walk, turn, wave, box, squat, jumping_jacks, sit",
    )
    p.add_argument("--multipath", action="store_true", help="add floor-bounce multipath")
    p.add_argument("--no-clutter", action="store_true", help="no walls/furniture in the radar data")
    p.add_argument(
        "--noise", type=float, default=None, help="receiver noise, ADC counts per I/Q component"
    )
    p.add_argument(
        "--bag", default=None, help="also write a ROS bag (ROS1 .bag, or a ROS2 folder with --ros2)"
    )
    p.add_argument("--ros2", action="store_true", help="write --bag as ROS2")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from drivers import DriversError
    from drivers.sim import RadarSimParams, SimConfig, Simulation, simulate_to_recording

    radar = (
        RadarSimParams()
        if args.noise is None
        else dataclasses.replace(RadarSimParams(), noise_std=args.noise)
    )
    cfg = SimConfig(
        people=args.people,
        seconds=args.seconds,
        seed=args.seed,
        motions=args.motion,
        multipath=args.multipath,
        clutter=not args.no_clutter,
        radar=radar,
    )
    counts = simulate_to_recording(Simulation(args.rig, cfg), args.out)
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v} frames" for k, v in counts.items()))
    if args.bag:
        try:
            from drivers.bags import export_recording
        except ImportError:
            raise DriversError("bag export is not available in this build of radarpose") from None
        export_recording(Path(args.out), Path(args.bag), ros2=args.ros2)
        print(f"wrote {args.bag}")
    return 0
