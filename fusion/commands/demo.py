"""``radarpose demo``: the main job on the built-in simulator, no hardware needed."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", default="demo-report", help="report folder (PNG strip, 3D plot, GIF, JSON)"
    )
    p.add_argument("--seconds", type=float, default=4.0, help="length of the simulated scene")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--weights", default=None, help="checkpoint to use instead of the shipped one")
    p.add_argument("--no-rtpose", action="store_true", help="skip the RT-Pose-style rig")


def run(args: argparse.Namespace) -> int:
    from fusion.demo import run_demo

    r = run_demo(
        args.out, args.seconds, args.seed, args.weights, rtpose=not args.no_rtpose, quiet=args.quiet
    )
    print(
        f"\nHuPR-style rig, 2 people, {r['frames']} frames, shipped real-time model vs ground truth:"
    )
    _scores(r)
    link = r["link"]
    print(
        f"  radar bytes over emulated DCA1000s (loopback UDP): {link['frames_received']}/{link['frames_sent']} "
        f"frames rebuilt, {link['packets_lost']} packets lost"
    )
    if "rtpose_rig" in r:
        q = r["rtpose_rig"]
        c = q["calibration"]
        print(
            f"RT-Pose-style rig calibration: radar-LiDAR from {c['placements']} corner-reflector "
            f"placements ({c['inliers']} inliers), {c['rotation_error_deg']:.2f} deg / "
            f"{c['translation_error_mm']:.0f} mm from the truth, {c['seconds']:.0f} s -> calib.yaml"
        )
        print(
            f"RT-Pose-style rig (MMWCAS cascade), 2 people, {q['frames']} frames, shipped cascade "
            "model vs ground truth:"
        )
        _scores(q)
    print(
        f"report: {args.out}/ (strip.png, skeletons_3d.png, demo.gif, rtpose_rig.png, calib.yaml, report.json) in {r['seconds_total']:.0f} s"
    )
    return 0


def _scores(r: dict) -> None:
    m = r["metrics"]
    print(
        f"  pelvis-aligned MPJPE {m['mpjpe_mm']:.0f} mm   PA-MPJPE {m['pa_mpjpe_mm']:.0f} mm   root error {m['root_error_mm']:.0f} mm"
    )
    print(
        f"  PCK@10cm {m['pck@10cm']:.2f}   people found {m['detection_recall']:.0%}   false alarms/frame {m['false_alarms_per_frame']:.2f}"
    )
    print(
        "  time per frame (ms):  "
        + "   ".join(f"{k} {v['mean']:.1f}" for k, v in r["timing_ms"].items() if v)
    )
