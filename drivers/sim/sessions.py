"""Simulated calibration sessions: a target moved through placements, recorded like a real session.

Each placement is a static, empty room with one corner reflector (or checkerboard) held for a few
frames; placements follow each other in time with a gap, as when someone carries the target. A
moving-target session (:func:`simulate_moving_target_session`) instead carries a reflector with a
checkerboard above it continuously back and forth, for temporal calibration. The recording
carries the rig's true calibration (clock offsets included), so a calibration can be scored
against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..calibfile import calibration_from_rig
from ..recording import RecordingWriter
from ..rig import Rig
from .scene import Checkerboard, CornerReflector, MovingTarget
from .simulate import SimConfig, Simulation, simulate_to_recording


def _simulate_session(
    rig: Rig,
    scenes: Sequence[dict],
    out: str | Path,
    names: list[str],
    *,
    seconds_each: float,
    gap: float,
    seed: int,
    what: str,
) -> dict[str, int]:
    """One recording of static empty scenes in turn (``scenes``: extra SimConfig fields each)."""
    counts: dict[str, int] = {}
    truth = calibration_from_rig(rig)
    truth.method = "simulation ground truth"
    writer = None
    try:
        for k, extra in enumerate(scenes):
            cfg = SimConfig(
                seconds=seconds_each,
                seed=seed * 1000 + k,
                empty=True,
                start_ns=SimConfig.start_ns + int(round(k * (seconds_each + gap) * 1e9)),
                **extra,
            )
            sim = Simulation(rig, cfg)
            if writer is None:
                writer = RecordingWriter(
                    out,
                    rig_yaml=rig.text,
                    calibration_yaml=truth.to_yaml(),
                    attrs={"source": f"radarpose simulator: {what} session", "seed": seed},
                )
                specs = sim.stream_specs()
                for n in names:
                    writer.add_stream(n, specs[n])
            for f in sim.frames(names):
                writer.write(f)
                counts[f.sensor] = counts.get(f.sensor, 0) + 1
    finally:
        if writer is not None:
            writer.close()
    return counts


def simulate_reflector_session(
    rig: Rig,
    positions: Sequence[Sequence[float]],
    out: str | Path,
    *,
    seconds_each: float = 0.3,
    gap: float = 2.0,
    seed: int = 0,
    size: float = 0.1,
    sensors: list[str] | None = None,
) -> dict[str, int]:
    """Write a session with a reflector at each of ``positions`` (m, reference frame) for
    ``seconds_each`` s; returns frames per stream. ``sensors`` default: radars and LiDARs."""
    names = sensors or rig.sensors_of("radar") + rig.sensors_of("lidar")
    scenes = [
        {"reflectors": [CornerReflector(tuple(float(v) for v in pos), size=size)]}
        for pos in positions
    ]
    return _simulate_session(
        rig, scenes, out, names, seconds_each=seconds_each, gap=gap, seed=seed, what="reflector"
    )


def simulate_board_session(
    rig: Rig,
    boards: Sequence[Checkerboard],
    out: str | Path,
    *,
    seconds_each: float = 0.2,
    gap: float = 2.0,
    seed: int = 0,
    sensors: list[str] | None = None,
) -> dict[str, int]:
    """Write a session with one checkerboard per placement; ``sensors`` default: LiDARs and
    cameras. Returns frames per stream."""
    names = sensors or rig.sensors_of("lidar") + rig.sensors_of("camera")
    scenes = [{"boards": [b], "camera_supersample": 2} for b in boards]
    return _simulate_session(
        rig, scenes, out, names, seconds_each=seconds_each, gap=gap, seed=seed, what="checkerboard"
    )


_TILTS = [(1, 0), (-1, 0), (0, 1), (0, -1), (0.7, 0.7), (-0.7, -0.7), (0.7, -0.7), (-0.7, 0.7)]


def board_poses(
    n: int,
    seed: int = 0,
    *,
    rows: int = 6,
    cols: int = 8,
    square: float = 0.08,
    near: float = 1.6,
    far: float = 2.8,
    max_tilt_deg: float = 35.0,
    max_azimuth_deg: float = 15.0,
) -> list[Checkerboard]:
    """``n`` boards (with a one-square white border) facing the origin from ``near``..``far`` m,
    within ``max_azimuth_deg``, tilted up to ``max_tilt_deg`` about both in-plane axes so that
    their normals span all directions."""
    rng = np.random.default_rng(seed)
    out = []
    w, h = cols * square, rows * square
    for _ in range(n):
        r, az = rng.uniform(near, far), np.radians(rng.uniform(-max_azimuth_deg, max_azimuth_deg))
        c = np.array([r * np.cos(az), r * np.sin(az), rng.uniform(0.0, 0.3)])
        z = -c / np.linalg.norm(c)  # the printed side faces the sensors
        x = np.cross([0.0, 0.0, 1.0], z)
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        # as a calibration protocol asks: tilt left, right, up, down and diagonally in turn
        a, b = _TILTS[len(out) % len(_TILTS)]
        ab = np.radians(np.array([a, b]) * max_tilt_deg + rng.uniform(-5, 5, 2))
        tilt = Rotation.from_rotvec(ab @ [x, y])
        R = tilt.as_matrix() @ np.column_stack([x, y, z])
        T = np.eye(4)
        T[:3, :3] = R
        T[:3, 3] = c - R[:, 0] * w / 2 - R[:, 1] * h / 2
        out.append(
            Checkerboard(tuple(map(tuple, T)), rows=rows, cols=cols, square=square, margin=square)
        )
    return out


def spread_positions(n: int, seed: int = 0, *, near: float = 2.5, far: float = 5.0) -> np.ndarray:
    """``(n, 3)`` reflector placements spread over range, azimuth (±35°) and height (-0.35 to 0.45 m: inside a ±12° LiDAR above the radar)."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(near, far, n)
    az = np.radians(rng.uniform(-35, 35, n))
    z = rng.uniform(-0.35, 0.45, n)
    return np.column_stack([r * np.cos(az), r * np.sin(az), z])


def carried_path(
    seconds: float,
    seed: int = 0,
    *,
    speed: float = 0.8,
    near: float = 2.0,
    far: float = 3.5,
    max_azimuth_deg: float = 12.0,
    low: float = -0.2,
    high: float = 0.2,
    **target: float,
) -> MovingTarget:
    """A target carried for ``seconds`` s at about ``speed`` m/s between random waypoints
    ``near``..``far`` m out, within ``max_azimuth_deg``, its reflector ``low``..``high`` m
    above the world origin: it changes direction at every waypoint (about every second), as
    someone walking it back and forth does. ``target``: further :class:`MovingTarget` fields."""
    rng = np.random.default_rng(seed)
    t, p = [0.0], [_random_point(rng, near, far, max_azimuth_deg, low, high)]
    while t[-1] < seconds:
        q = _random_point(rng, near, far, max_azimuth_deg, low, high)
        d = float(np.linalg.norm(q - p[-1]))
        if d < 0.4:  # too short a leg to be worth a direction change
            continue
        t.append(t[-1] + d / speed)
        p.append(q)
    return MovingTarget(tuple((ti, *map(float, pi)) for ti, pi in zip(t, p, strict=True)), **target)


def _random_point(
    rng: np.random.Generator, near: float, far: float, az_deg: float, low: float, high: float
) -> np.ndarray:
    r, az = rng.uniform(near, far), np.radians(rng.uniform(-az_deg, az_deg))
    return np.array([r * np.cos(az), r * np.sin(az), rng.uniform(low, high)])


def simulate_moving_target_session(
    rig: Rig,
    out: str | Path,
    *,
    seconds: float = 12.0,
    seed: int = 0,
    target: MovingTarget | None = None,
    miss: float = 0.05,
    ghost: float = 0.03,
    camera_noise: float = 3.0,
    clutter: bool = True,
    sensors: list[str] | None = None,
) -> dict[str, int]:
    """Write a session in which a reflector-and-board target (default :func:`carried_path`) is
    carried through the empty room for ``seconds`` s; every sensor runs on its own clock (the rig's
    ``clock_offset`` and ``clock_jitter``). Each sensor frame misses the target with probability
    ``miss`` and sees a spurious one with probability ``ghost``; ``camera_noise`` is the pixel
    noise (grey levels); ``clutter`` the room's static radar scatterers (off: a faster
    simulation). ``sensors`` default: every radar, LiDAR and camera. Returns frames per
    stream."""
    names = sensors or rig.sensors_of("radar") + rig.sensors_of("lidar") + rig.sensors_of("camera")
    cfg = SimConfig(
        seconds=seconds,
        seed=seed,
        empty=True,
        target=target or carried_path(seconds, seed),
        target_miss=miss,
        target_ghost=ghost,
        camera_noise=camera_noise,
        clutter=clutter,
    )
    sim = Simulation(rig, cfg)
    return simulate_to_recording(sim, out, progress=False, sensors=names, what="moving target")
