"""Radar synthesis speed for both rigs, against a straightforward numpy evaluation of the same sum.

The reference loops over scatterers and evaluates the full beat signal of each (all chirps,
channels and samples at once with numpy broadcasting); it is timed on a subset and scaled to the
same scatterer count, since it is linear in scatterers.
"""

from __future__ import annotations

import time

import numpy as np

from drivers import load_rig
from drivers.radar import SPEED_OF_LIGHT, RadarConfig
from drivers.sim import SimConfig, Simulation, antenna_positions
from drivers.sim.radar import chirp_start_times

from .common import Result, rate

SECTION = "simulator"


def naive_per_scatterer(
    radar: RadarConfig, pos: np.ndarray, vel: np.ndarray, amp: np.ndarray
) -> np.ndarray:
    tx, rx = antenna_positions(radar)
    tc = chirp_start_times(radar)  # (L, T)
    n = radar.adc_start_time + np.arange(radar.n_samples) / radar.sample_rate
    out = np.zeros(radar.frame_shape, complex)
    for k in range(len(pos)):
        x = pos[k] + vel[k] * tc[..., None]  # (L, T, 3)
        d = np.linalg.norm(x - tx[None], axis=-1)[..., None] + np.linalg.norm(
            x[:, :, None] - rx[None, None], axis=-1
        )
        tau = d / SPEED_OF_LIGHT  # (L, T, R)
        ph = (
            radar.start_frequency * tau[..., None]
            + radar.slope * tau[..., None] * n
            - 0.5 * radar.slope * tau[..., None] ** 2
        )
        out += amp[k] * np.exp(2j * np.pi * ph)
    return out


def _rig_rate(name: str, seconds_per_call: float) -> tuple[float, float, int]:
    rig = load_rig(name)
    sim = Simulation(rig, SimConfig(people=1, seconds=3.0, seed=0, motions=["walk"]))
    radars = rig.sensors_of("radar")
    ts = iter(np.arange(0.2, 2.8, 0.1).tolist() * 100)
    ours = rate(
        lambda: [sim.radar_frame(r, next(ts)) for r in radars],
        min_time=seconds_per_call,
        min_calls=2,
    )
    radar = rig.radars[radars[0]]
    rng = np.random.default_rng(0)
    k = 640  # one person (400) + clutter (240), as the rig simulation uses
    sub = 8
    pos = rng.uniform([1.5, -1, -0.5], [4, 1, 0.5], (sub, 3))
    t0 = time.perf_counter()
    naive_per_scatterer(radar, pos, np.zeros((sub, 3)), np.ones(sub))
    per_frame = (time.perf_counter() - t0) * k / sub * len(radars)
    return ours, 1.0 / per_frame, k


def run() -> list[Result]:
    out = []
    for name, target in (
        ("hupr", "≥ 10 rig frames/s (both radars)"),
        ("rtpose", "an MMWCAS frame in a few seconds"),
    ):
        ours, ref, _ = _rig_rate(name, 3.0)
        out.append(
            Result(
                f"{name} rig radar synthesis, 1 person + clutter",
                ours,
                "rig frames/s",
                "per-scatterer numpy evaluation",
                ref,
                target,
            )
        )
    return out
