"""Radar ↔ LiDAR from corner reflectors carried through a series of placements.

The session is a recording in which one reflector is held still at each placement. LiDAR frames are
split into placements where the detected target jumps; each radar frame joins the placement whose
LiDAR frames surround it. Per placement the median radar and LiDAR positions form one
correspondence; :func:`calibration.rigid.solve_rigid` turns them into ``T_radar_lidar``. Frames
where a sensor does not see the target are counted as misses, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drivers import RecordingReader
from sensing import cube_from_words

from .errors import CalibrationError
from .rigid import RigidResult, solve_rigid
from .targets import locate_lidar_target, locate_radar_target, refine_lidar_target


@dataclass
class Placement:
    """One target placement: median positions (3,) m in each sensor's frame."""

    radar: np.ndarray
    lidar: np.ndarray
    radar_frames: int
    lidar_frames: int
    stamp_ns: int
    lidar_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))


@dataclass
class SessionStats:
    lidar_frames: int = 0
    lidar_missed: int = 0
    radar_frames: int = 0
    radar_missed: int = 0
    radar_unassigned: int = 0
    placements_dropped: int = 0


def _segments(pos: list[np.ndarray | None], jump: float) -> list[list[int]]:
    """Runs of consecutive detections that stay within ``jump`` m of their running median."""
    segs: list[list[int]] = []
    for i, p in enumerate(pos):
        if p is None:
            continue
        if segs and np.linalg.norm(p - np.median([pos[j] for j in segs[-1]], axis=0)) < jump:
            segs[-1].append(i)
        else:
            segs.append([i])
    return segs


def placements_from_recording(
    path: str | Path,
    radar: str,
    lidar: str,
    *,
    size: float = 0.1,
    jump: float = 0.15,
    min_frames: int = 2,
    min_snr_db: float = 15.0,
) -> tuple[list[Placement], SessionStats]:
    """Detect the reflector in every frame of ``radar`` and ``lidar`` and group by placement."""
    st = SessionStats()
    with RecordingReader(path) as rec:
        for name in (radar, lidar):
            if name not in rec.streams:
                raise CalibrationError(
                    f"{path}: no stream {name!r} (has: {', '.join(rec.streams)})"
                )
        cfg = rec.radar_config(radar)
        l_stamps = rec.stamps(lidar)
        l_pos: list[np.ndarray | None] = []
        l_pts: list[np.ndarray] = []
        for f in rec.frames(lidar):
            p = locate_lidar_target(f.data["points"], size=size)
            l_pos.append(p)
            l_pts.append(f.data["points"])
            st.lidar_missed += p is None
        st.lidar_frames = len(l_pos)
        segs = [s for s in _segments(l_pos, jump) if len(s) >= min_frames]
        st.placements_dropped = len(_segments(l_pos, jump)) - len(segs)
        spans = [(l_stamps[s[0]], l_stamps[s[-1]]) for s in segs]
        period = float(np.median(np.diff(l_stamps))) if len(l_stamps) > 1 else 1e8
        r_by_seg: list[list[np.ndarray]] = [[] for _ in segs]
        for f in rec.frames(radar):
            st.radar_frames += 1
            k = next(
                (i for i, (a, b) in enumerate(spans) if a - period <= f.stamp_ns <= b + period),
                None,
            )
            if k is None:
                st.radar_unassigned += 1
                continue
            t = locate_radar_target(cube_from_words(f.data["adc"], cfg), cfg)
            if t.snr_db < min_snr_db:
                st.radar_missed += 1
                continue
            r_by_seg[k].append(t.position)
    out = []
    for s, rs, (a, _) in zip(segs, r_by_seg, spans, strict=True):
        if not rs:
            st.placements_dropped += 1
            continue
        rough = np.median(np.array([l_pos[i] for i in s]), axis=0)
        # every frame of the placement (misses too) adds returns for the face fit
        pts = np.concatenate(l_pts[s[0] : s[-1] + 1])
        pts = pts[np.linalg.norm(pts[:, :3] - rough, axis=1) < 2 * size]
        out.append(
            Placement(
                np.median(np.array(rs), axis=0),
                refine_lidar_target(pts, rough, size=size),
                len(rs),
                len(s),
                int(a),
                pts,
            )
        )
    return out, st


def calibrate_reflectors(
    placements: list[Placement],
    *,
    threshold: float = 0.05,
    noise: float = 0.01,
    size: float = 0.1,
    iterations: int = 2,
) -> RigidResult:
    """``T_radar_lidar`` from the placements (RANSAC + robust refinement; degenerate sets refused).

    The targets face the radar, so once a first solve knows the LiDAR's rotation, the LiDAR target
    centres are re-estimated with the faces along the radar's axes and the transform solved again.
    """
    if len(placements) < 3:
        raise CalibrationError(
            f"{len(placements)} usable reflector placements; at least 3, spread in range, azimuth "
            "and height, are needed (6 or more recommended)"
        )
    radar = np.array([p.radar for p in placements])
    lidar = np.array([p.lidar for p in placements])
    res = solve_rigid(lidar, radar, threshold=threshold, noise=noise)
    for _ in range(iterations - 1):
        axes = res.T[:3, :3].T  # radar axes in the LiDAR frame, as columns
        lidar = np.array(
            [
                refine_lidar_target(p.lidar_points, p.lidar, size=size, axes=axes)
                if len(p.lidar_points)
                else p.lidar
                for p in placements
            ]
        )
        res = solve_rigid(lidar, radar, threshold=threshold, noise=noise)
    return res
