"""``radarpose evaluate CHECKPOINT [--cache test.h5]``: RT-Pose-style metrics on held-out data."""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a radarpose checkpoint (.pt)")
    p.add_argument(
        "--cache",
        default=None,
        help="feature cache to evaluate on (default: the config's test cache)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="detection score threshold (default: the checkpoint's, 0.3 if it has none)",
    )
    p.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    p.add_argument(
        "--split",
        default="test",
        help="benchmark models (hupr, hrradarpose): the split of the config's tree (default test)",
    )


def run(args: argparse.Namespace) -> int:
    from drivers.config import from_dict
    from fusion.commands.train import ensure_caches
    from fusion.evaluate import evaluate_cache, load_model
    from fusion.train import TrainConfig

    model, ck = load_model(args.checkpoint)
    cfg = from_dict(TrainConfig, ck["config"])
    if ck["model_name"] in ("hupr", "hrradarpose"):
        from fusion.data.datasets import benchmark_split
        from fusion.evaluate import evaluate_benchmark

        ds = benchmark_split(ck["model_name"], cfg.data, args.split)
        res = evaluate_benchmark(model, ck["model_name"], ds)
    else:
        cache = args.cache or str(ensure_caches(cfg)[1])
        res = evaluate_cache(model, cache, cfg.data.rig, args.threshold)
    for k, v in res.items():
        if not isinstance(v, list):
            print(f"{k:24s} {v:.4g}")
    if "per_joint_mpjpe_mm" in res:
        print(f"{'per_joint_mpjpe_mm':24s} {res['per_joint_mpjpe_mm']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=2)
    return 0
