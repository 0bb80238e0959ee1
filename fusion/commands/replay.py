"""``radarpose replay rec.h5|in.bag``: a recording or bag through the live source interface,
paced at recorded speed, N× or as fast as possible; per-sensor counts, drops and sync report;
``--preprocess`` streams the raw radar frames through sensing's preprocessing (``--out`` keeps
the results, laid out as ``radarpose preprocess`` writes them), ``--infer`` through inference."""

from __future__ import annotations

import argparse
from typing import Any


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
    p.add_argument(
        "--infer",
        action="store_true",
        help="run the live two-radar pipeline on the replay (--record then stores the skeletons)",
    )
    p.add_argument(
        "--weights", default=None, help="with --infer: checkpoint (default: the shipped model)"
    )
    p.add_argument(
        "--preprocess",
        choices=["hupr", "points", "microdoppler", "rtpose"],
        default=None,
        help="stream the raw radar frames through this preprocessing (as `radarpose preprocess`)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="with --preprocess: write the results to this new HDF5 file (as `preprocess` does)",
    )


def run(args: argparse.Namespace) -> int:
    from drivers import load_rig
    from drivers.replay import parse_speed, replay_file

    speed = parse_speed(args.speed)
    rig = load_rig(args.rig) if args.rig else None
    bag_options = {"topics": args.topics} if args.topics else {}
    if args.infer:
        if args.preprocess:
            print("--infer preprocesses itself: give --infer or --preprocess, not both")
            return 2
        return _infer(args, rig or load_rig("hupr"), speed, bag_options)
    if args.out and not args.preprocess:
        print("--out holds preprocessing results: give --preprocess with it")
        return 2
    pre: list[Any] = []  # the FramePreprocessor, once the streams are known

    def setup(specs: dict[str, Any]) -> None:
        from sensing.preprocess import FramePreprocessor, stream_radars

        radars = stream_radars(specs, rig, str(args.input))
        pre.append(FramePreprocessor(radars, args.preprocess, args.out, source=str(args.input)))

    def consume(f: Any) -> None:
        if f.kind == "radar_adc":
            pre[0](f.sensor, f.data["adc"], f.stamp_ns)

    try:
        res = replay_file(
            args.input,
            rig=rig,
            speed=speed,
            record=args.record,
            sync_skew=args.sync,
            max_lag=args.max_lag,
            progress=not args.quiet,
            consumer=consume if args.preprocess else None,
            on_streams=setup if args.preprocess else None,
            **bag_options,
        )
    finally:
        for p in pre:
            p.close()
    pace = "as fast as possible" if speed is None else f"at {speed:g}x"
    print(f"replayed {args.input} {pace}:")
    print("\n".join(res.counts.lines(res.unreadable)))
    if speed is not None:
        print(f"  most behind schedule: {1000 * res.counts.max_lag_s:.1f} ms")
    for w in res.warnings:
        print(f"  warning: {w}")
    if res.sync is not None:
        print("\n".join(res.sync.lines()))
    if pre:
        done = ", ".join(f"{s} {n} frames" for s, n in pre[0].counts.items())
        print(f"preprocessed ({args.preprocess}): {done}" + (f" -> {args.out}" if args.out else ""))
    if res.recorded is not None:
        print(f"recorded {args.record}: " + ", ".join(f"{s} {n}" for s, n in res.recorded.items()))
    if res.error:
        print(f"stopped: {res.error}")
        return 1
    return 0


def _infer(args: argparse.Namespace, rig: Any, speed: float | None, bag_options: dict) -> int:
    """The replay through the same pipeline and loop as ``radarpose live``."""
    from pathlib import Path

    import numpy as np
    import yaml

    from drivers.calibfile import calibration_from_rig, parse_calibration
    from drivers.replay import ReplaySource, file_context, open_recorded
    from fusion.evaluate import load_model
    from fusion.live import run_live
    from fusion.pipeline import PosePipeline
    from fusion.weights import shipped_for

    inner = open_recorded(args.input, rig, **bag_options)
    radars = rig.sensors_of("radar")
    with ReplaySource(inner, speed, max_lag=args.max_lag, sensors=radars) as src:
        _, cal_yaml, _ = file_context(inner)
        calib = parse_calibration(yaml.safe_load(cal_yaml)) if cal_yaml else None
        model, _ = load_model(args.weights or shipped_for(len(radars)))
        pipe = PosePipeline(rig, model, calib or calibration_from_rig(rig))
        stats = run_live(
            pipe,
            src,
            record=Path(args.record) if args.record else None,
            status=not args.quiet,
            # as fast as possible means every frame, so no dropping to keep up
            queue_size=8 if speed is not None else 1 << 30,
        )
    pace = "as fast as possible" if speed is None else f"at {speed:g}x"
    print(f"replayed {args.input} {pace} through inference:")
    print("\n".join(src.counts.lines(dict(getattr(inner, "dropped", {})))))
    print(f"processed {stats.processed} frame pairs, skipped {stats.dropped} to keep up")
    if stats.latency_s:
        lat = 1000 * np.array(stats.latency_s)
        print(f"latency: p50 {np.percentile(lat, 50):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms")
    if stats.error:
        print(f"stopped: {stats.error}")
        return 1
    return 0
