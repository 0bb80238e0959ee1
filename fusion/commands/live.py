"""``radarpose live --rig hupr``: skeletons in real time from (emulated) boards, with latency and drops."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rig", default="hupr", help="rig YAML or built-in name (the HuPR-style two-radar rig)"
    )
    p.add_argument(
        "--seconds", type=float, default=10.0, help="how long the emulated boards stream"
    )
    p.add_argument(
        "--weights", default=None, help="checkpoint (default: the shipped real-time model)"
    )
    p.add_argument("--record", default=None, help="also record the skeletons to this HDF5 file")
    p.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from drivers import DriversError, load_rig
    from drivers.calibfile import calibration_from_rig
    from fusion.evaluate import load_model
    from fusion.live import emulated_board, run_live
    from fusion.pipeline import HuprPipeline
    from fusion.weights import RADARPOSE_LITE

    rig = load_rig(args.rig)
    real = [
        s for s in rig.sensors_of("radar") if rig.config.sensors[s].transport in ("uart", "mmwcas")
    ]
    if real:
        raise DriversError(
            f"rig {rig.name!r}: live capture over {rig.config.sensors[real[0]].transport} is not in this build yet; radarpose live runs emulated boards"
        )
    model, _ = load_model(args.weights or RADARPOSE_LITE)
    pipe = HuprPipeline(rig, model, calibration_from_rig(rig))
    print(f"emulated {rig.name} boards: synthesising {args.seconds:g} s of frames first ...")
    _, board = emulated_board(args.rig, args.seconds, args.seed)
    stats = run_live(
        pipe, board, record=Path(args.record) if args.record else None, status=not args.quiet
    )
    lat = 1000 * np.array(stats.latency_s)
    print(
        f"processed {stats.processed} frame pairs, dropped {stats.dropped}, max backlog {stats.max_backlog}"
    )
    if len(lat):
        print(
            f"latency arrival -> skeletons: p50 {np.percentile(lat, 50):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms"
        )
    if stats.error:
        print(f"stopped: {stats.error}")
        return 1
    return 0
