"""Pose networks on this machine: forward latency at batch 1 and training samples/s, each model
against the real-time model measured in the same run. Synthetic inputs of each model's real size.

The benchmark networks are slow on a CPU (HRRadarPose ~185 GFLOP per frame), so each is timed over
a few calls after one warm-up (about 10 minutes in all on 2 cores); run it on an otherwise idle
machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from fusion.features import N_CONTEXT, N_INPUT
from fusion.models import build_model

from .common import Result

SECTION = "pose networks"


def _seconds(fn: Callable[[], object], calls: int) -> float:
    """Median seconds per call after one warm-up call."""
    fn()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _lite() -> tuple[torch.nn.Module, torch.Tensor, Callable, dict]:
    from fusion.models.realtime import loss_fn

    b = 16
    batch = {
        "heatmap": torch.rand(b, 1, 32, 32) * 0.5,
        "mask": (torch.rand(b, 32, 32) > 0.99).float(),
        "reg": torch.randn(b, 48, 32, 32),
    }
    from fusion.train import load_train_config

    # the shipped configuration, temporal context included
    cfg = load_train_config(Path(__file__).parents[1] / "configs/models/radarpose_lite.yaml")
    model = build_model("radarpose_lite", **cfg.model_args)
    n_in = N_INPUT + model.context * N_CONTEXT
    return model, torch.randn(b, n_in, 64, 64), loss_fn, batch


def _track() -> tuple[torch.nn.Module, torch.Tensor, Callable, dict]:
    """The track refiner alone (the frame model under it is radarpose_lite, above): live runs it
    once per person and frame over the person's last ``receptive_field`` frames."""
    from fusion.models.track import track_loss
    from fusion.train import load_train_config

    cfg = load_train_config(Path(__file__).parents[1] / "configs/models/radarpose_lite_track.yaml")
    model = build_model("radarpose_lite_track", **cfg.model_args)
    b, t, c = cfg.optim.batch_size, model.track.receptive_field, model.track.mean.shape[0]
    return model, torch.randn(b, t, c), track_loss, {"target": 0.2 * torch.randn(b, t, 45)}


def _hrradarpose() -> tuple[torch.nn.Module, torch.Tensor, Callable, dict]:
    from fusion.models.hrradarpose import ROI_ORIGIN_XYZ, VOXEL_XYZ, loss_fn, make_targets

    j = np.asarray(ROI_ORIGIN_XYZ) + np.array([80.0, 32.0, 6.0]) * VOXEL_XYZ
    t = make_targets(j + np.random.default_rng(0).normal(0, 0.2, (15, 3)))
    batch = {k: torch.from_numpy(np.asarray(v))[None] for k, v in t.items()}
    return build_model("hrradarpose"), torch.rand(1, 32, 16, 64, 160), loss_fn, batch


def _hupr() -> tuple[torch.nn.Module, torch.Tensor, Callable, dict]:
    from fusion.models.hupr import loss_fn, make_targets

    uv = np.random.default_rng(0).uniform(60, 196, (14, 2))
    batch = {"heatmap": torch.from_numpy(make_targets(uv))[None]}
    return build_model("hupr"), torch.randn(1, 2, 8, 8, 2, 64, 64, 8), loss_fn, batch


def _measure(make: Callable, calls: int, fwd_threads: int | None = None) -> tuple[float, float]:
    """(frames/s of a batch-1 forward, training samples/s) of one model; the forward runs on
    ``fwd_threads`` torch threads (the live pipeline uses 1: at batch 1 a second thread mostly
    waits, and on a busy 2-core machine it stalls the first)."""
    torch.manual_seed(0)
    model, x, loss_fn, batch = make()
    model.eval()
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(fwd_threads or threads)
        with torch.no_grad():
            fwd = _seconds(lambda: model(x[:1]), calls)
    finally:
        torch.set_num_threads(threads)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        loss, _ = loss_fn(model(x), batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    train = _seconds(step, calls)
    return 1.0 / fwd, len(x) / train


def run() -> list[Result]:
    lite_fwd, lite_train = _measure(_lite, 20, fwd_threads=1)
    out = [
        Result("radarpose_lite forward, batch 1 (1 torch thread, as live)", lite_fwd, "frames/s", "itself", lite_fwd, "≥ 15 frames/s"),
        Result("radarpose_lite training, batch 16", lite_train, "samples/s", "itself", lite_train),
    ]  # fmt: skip
    fwd, train = _measure(_track, 20, fwd_threads=1)
    out.append(
        Result(
            "radarpose_lite_track's refiner forward, one person's 31 frames (1 thread)",
            fwd,
            "frames/s",
            "radarpose_lite",
            lite_fwd,
        )
    )
    out.append(
        Result(
            "radarpose_lite_track's refiner training, batch 128 windows",
            train,
            "samples/s",
            "radarpose_lite",
            lite_train,
        )
    )
    for name, make, b in (("hrradarpose", _hrradarpose, 1), ("hupr", _hupr, 1)):
        fwd, train = _measure(make, 2)
        out.append(Result(f"{name} forward, batch 1", fwd, "frames/s", "radarpose_lite", lite_fwd))
        out.append(
            Result(f"{name} training, batch {b}", train, "samples/s", "radarpose_lite", lite_train)
        )
    return out
