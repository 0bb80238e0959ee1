"""``radarpose capture --rig rig.yaml --out rec.h5``: record every live sensor of a rig."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rig", required=True, help="rig YAML (sensors' transport and options)")
    p.add_argument("--out", required=True, help="HDF5 recording to write")
    p.add_argument("--duration", type=float, default=0.0, help="seconds (0 = until Ctrl-C)")
    p.add_argument("--sensor", action="append", help="capture only this sensor (repeatable)")


def run(args: argparse.Namespace) -> int:
    from drivers.capture import capture
    from drivers.rig import load_rig

    rig = load_rig(args.rig)
    try:
        result = capture(
            rig, args.out, duration=args.duration, sensors=args.sensor, status=not args.quiet
        )
    except KeyboardInterrupt:
        print(f"radarpose capture: stopped; recording closed: {args.out}")
        return 0
    if not args.quiet:
        for name, r in result.items():
            print(f"{name}: {r['frames']} frames, {r['dropped']} dropped, {r['flagged']} flagged")
            for w in r["warnings"]:
                print(f"  warning: {w}")
        print(f"wrote {args.out}")
    return 0
