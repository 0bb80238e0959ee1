"""Live latency, bytes in → skeletons out, on emulated IWR1843 boards at 10 fps with the real-time model.

A third row runs the chain fed over loopback UDP by emulated DCA1000s (``RADARPOSE_LATENCY_UDP_FRAMES``
frames, default 150), timed from each frame's last packet.

The emulated boards loop a 10 s simulated clip (two people) at the radars' frame rate for
``RADARPOSE_LATENCY_SECONDS`` (default 600 s, the issue's ten minutes). Reported: p50 and p99
latency from the arrival of the frame that completes a radar pair to its skeletons (the wait for the
second, unsynchronised radar is reported beside it), frames dropped, the largest backlog. Reference in
the same run: the same chain with HuPR's heatmaps done the straightforward way (scipy.fft, crop,
full angle FFTs), timed per frame on the same clip.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from drivers import load_rig
from drivers.calibfile import calibration_from_rig
from fusion.evaluate import load_model
from fusion.features import radar_features
from fusion.live import emulated_board, run_live
from fusion.pipeline import PosePipeline
from fusion.weights import shipped_for
from sensing import cube_from_words

from .bench_sensing import scipy_hupr
from .common import Result

SECTION = "live latency"


def run() -> list[Result]:
    seconds = float(os.environ.get("RADARPOSE_LATENCY_SECONDS", "600"))
    rig = load_rig("hupr")
    model, _ = load_model(shipped_for(2))  # with the track refiner: the whole live chain
    pipe = PosePipeline(rig, model, calibration_from_rig(rig))
    sim, board = emulated_board("hupr", 10.0, seed=4, repeat_for=seconds)
    stats = run_live(pipe, board, status=False)
    lat = np.array(stats.latency_s) * 1000
    # reference: the straightforward chain on the same frames
    ref_lat = []
    frames = [f for f in board.frames_ if f.kind == "radar_adc"]
    h = [f for f in frames if f.sensor == pipe.h]
    v = [f for f in frames if f.sensor == pipe.v]
    ref = PosePipeline(rig, model)  # only for its temporal-context input assembly
    frame = getattr(model, "frame", model)  # the per-frame network alone
    for fh, fv in list(zip(h, v, strict=False))[:40]:
        t0 = time.perf_counter()
        a = scipy_hupr(cube_from_words(fh.data["adc"], pipe.radar_h))
        b = scipy_hupr(cube_from_words(fv.data["adc"], pipe.radar_v))
        with torch.no_grad():
            frame(torch.from_numpy(ref._input(*radar_features(a, b))).unsqueeze(0))
        ref_lat.append((time.perf_counter() - t0) * 1000)
    # the same chain fed over loopback UDP by emulated DCA1000s: bytes in -> skeletons out
    from drivers.capture import LiveSensors

    n_udp = int(os.environ.get("RADARPOSE_LATENCY_UDP_FRAMES", "150"))
    for r in rig.sensors_of("radar"):
        rig.config.sensors[r].options.update(emulated="true", emulated_frames=str(n_udp))
    pipe_udp = PosePipeline(rig, model, calibration_from_rig(rig))
    with LiveSensors(rig, rig.sensors_of("radar")) as src:
        udp = run_live(pipe_udp, src, status=False)
    udp_lat = np.array(udp.latency_s) * 1000
    wait = np.median(stats.pair_wait_s) * 1000
    note = f"{stats.processed} frames over {seconds:.0f} s, dropped {stats.dropped}, max backlog {stats.max_backlog}, median wait for the second radar {wait:.0f} ms not included"
    return [
        Result(
            f"latency p50 ({note})",
            float(np.percentile(lat, 50)),
            "ms",
            "straightforward heatmaps + same model, p50",
            float(np.percentile(ref_lat, 50)),
            "p99 < 100 ms",
        ),
        Result(
            "latency p99",
            float(np.percentile(lat, 99)),
            "ms",
            "straightforward heatmaps + same model, p99",
            float(np.percentile(ref_lat, 99)),
            "p99 < 100 ms, no backlog",
        ),
        Result(
            f"latency p99 over emulated DCA1000s on loopback UDP, from the last packet "
            f"({udp.processed} frames, skipped {udp.dropped}, lost in transport {src.stats.dropped})",
            float(np.percentile(udp_lat, 99)),
            "ms",
            "straightforward heatmaps + same model, p99",
            float(np.percentile(ref_lat, 99)),
            "p99 < 100 ms",
        ),
    ]
