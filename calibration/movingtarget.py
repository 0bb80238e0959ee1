"""Clock offsets from a calibration target carried through the scene (Kalibr-style, moving target).

The target is a corner reflector on a pole with a checkerboard above it (the simulator's
:class:`drivers.sim.scene.MovingTarget`), walked back and forth in front of the rig for 10-20 s.
Every sensor sees it precisely, each on its own clock:

* radar (the reference): the reflector, the strongest point in the range-Doppler map
  (:func:`calibration.targets.locate_moving_radar_target`), at the frame's middle
  (:func:`calibration.targets.frame_centre` after the frame's stamp, which marks its start);
* LiDAR: the reflector, the brightest compact cluster (:func:`calibration.targets.locate_lidar_target`);
* camera: the board, the largest region brighter than the rest of the scene with its printed
  squares filled in; the crossing of its outline's diagonals in pixels (:func:`board_centre`).
  No OpenCV needed.

The LiDAR track is moved into the radar frame by ``T_radar_lidar`` and the radar track is moved
into each image by ``T_cam_radar`` (plus the board's offset above the reflector), and
:func:`calibration.temporal.estimate_offset` finds the shift that aligns them, sub-frame (both
tracks become smoothing splines) with a 1-sigma. Constant differences (a LiDAR centre a centimetre
off) drop out; position-dependent ones average out as the target passes the same places in both
directions, which is why it must change direction: a target moving at constant velocity makes a
clock offset look like a position offset and is refused, as are a target that does not move,
tracks with too few frames and tracks without common time.
Wrong detections (a second bright object, glare) are dropped by a running-median despike and by
their misfit to the other track once aligned, and counted; frames without the target are counted
per reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from drivers import CameraConfig, RecordingReader
from drivers.camera import project
from drivers.transforms import apply
from sensing import cube_from_words

from .errors import CalibrationError
from .person import _check_stream
from .targetfree import despike
from .targets import (
    frame_centre,
    locate_lidar_target,
    locate_moving_radar_target,
    refine_lidar_target,
)
from .temporal import OffsetResult, estimate_offset

BOARD_ABOVE_REFLECTOR = (0.0, 0.0, 0.45)  # m, reference frame: the simulator's target


@dataclass
class TargetTrack:
    """One sensor's target track: ``stamps_ns`` (N,) int64 on the sensor's clock at the instant
    each position holds, ``positions`` (N, 3) m in the sensor's frame (radar, LiDAR) or (N, 2) px
    (camera); ``frames`` read, ``dropped`` frames per reason."""

    stamps_ns: np.ndarray
    positions: np.ndarray
    frames: int = 0
    dropped: dict[str, int] = field(default_factory=dict)


def radar_target_track(
    path: str | Path,
    radar: str,
    *,
    min_snr_db: float = 15.0,
    min_range: float = 0.8,
    max_range: float = 8.0,
) -> TargetTrack:
    """The reflector in every frame of ``radar``, stamped at each frame's middle."""
    with RecordingReader(path) as rec:
        _check_stream(rec, radar, "radar_adc", path)
        cfg = rec.radar_config(radar)
        shift = int(round(frame_centre(cfg) * 1e9))
        st, pos, n = [], [], 0
        dropped = {f"no target {min_snr_db:g} dB above the median": 0}
        for f in rec.frames(radar):
            n += 1
            t = locate_moving_radar_target(
                cube_from_words(f.data["adc"], cfg), cfg, min_range=min_range, max_range=max_range
            )
            if t.snr_db < min_snr_db:
                dropped[next(iter(dropped))] += 1
                continue
            st.append(f.stamp_ns + shift)
            pos.append(t.position)
    return _track(st, pos, 3, n, dropped)


def lidar_target_track(path: str | Path, lidar: str, *, size: float = 0.1) -> TargetTrack:
    """The reflector's centre in every sweep of ``lidar`` (a sweep taken at its stamp): the
    brightest compact cluster, then the middle of its face's extent
    (:func:`calibration.targets.refine_lidar_target`; 1.7 instead of 9 mm of scatter across the
    beam on simulated sessions)."""
    with RecordingReader(path) as rec:
        _check_stream(rec, lidar, "lidar", path)
        st, pos, n = [], [], 0
        dropped = {"no bright compact cluster": 0}
        for f in rec.frames(lidar):
            n += 1
            p = locate_lidar_target(f.data["points"], size=size)
            if p is None:
                dropped["no bright compact cluster"] += 1
                continue
            st.append(f.stamp_ns)
            pos.append(refine_lidar_target(f.data["points"], p, size=size))
    return _track(st, pos, 3, n, dropped)


def board_centre(
    image: np.ndarray, *, min_grey: float = 220.0, min_pixels: int = 300, max_misfit: float = 0.1
) -> tuple[np.ndarray | None, str]:
    """The board's centre ``(2,)`` px (u, v; origin at the top-left pixel's corner) in an
    ``(H, W, 3)`` RGB or ``(H, W)`` grey uint8 image, or None and the reason.

    The board's white (border and squares) is the brightest thing in a scene exposed for it: the
    largest region at or above ``min_grey``, its holes (the black squares) filled, is the board's
    outline. A straight line is fitted to the middle of each of its four sides, and the centre is
    where the diagonals of the quadrilateral they make cross: the exact image of the board's
    centre under perspective (a region's centroid is not; it drifted by ±3 px with the viewing
    angle on simulated sessions). The board must be carried upright (sides near the image axes);
    a region touching the image's edge is cut off, and one whose area differs from the
    quadrilateral's by more than ``max_misfit`` (a fraction) is not the board alone: refused."""
    img = np.asarray(image, dtype=np.float32)
    grey = img.mean(axis=2) if img.ndim == 3 else img
    labels, n = ndimage.label(grey >= min_grey)
    if n == 0:
        return None, "no bright region"
    sizes = np.bincount(labels.ravel())[1:]
    region = ndimage.binary_fill_holes(labels == 1 + int(np.argmax(sizes)))
    if region.sum() < min_pixels:
        return None, f"bright region under {min_pixels} px"
    if region[0].any() or region[-1].any() or region[:, 0].any() or region[:, -1].any():
        return None, "board cut by the image edge"
    v, u = np.nonzero(region & ~ndimage.binary_erosion(region))
    p = np.column_stack([u, v]) + 0.5
    # rough corners, clockwise from the top left: the extremes along the image diagonals
    rough = p[[np.argmax(-u - v), np.argmax(u - v), np.argmax(u + v), np.argmax(v - u)]]
    lines = []
    for i in range(4):
        a, b = rough[i], rough[(i + 1) % 4]
        d = b - a
        length = float(np.linalg.norm(d))
        if length < 5:
            return None, "board outline degenerate"
        s = (p - a) @ d / length**2  # position along the side, 0..1
        off = np.abs(d[0] * (p[:, 1] - a[1]) - d[1] * (p[:, 0] - a[0])) / length
        side = p[(s > 0.15) & (s < 0.85) & (off < 3)]
        if len(side) < 5:
            return None, "board outline not a quadrilateral"
        c = side.mean(axis=0)
        direction = np.linalg.svd(side - c)[2][0]
        lines.append(np.cross([*c, 1.0], [*(c + direction), 1.0]))
    corners = [np.cross(lines[i - 1], lines[i]) for i in range(4)]
    centre = np.cross(np.cross(corners[0], corners[2]), np.cross(corners[1], corners[3]))
    if min(abs(c[2]) for c in [*corners, centre]) < 1e-12:
        return None, "board outline degenerate"
    q = np.array([c[:2] / c[2] for c in corners])
    area = 0.5 * abs(np.dot(q[:, 0], np.roll(q[:, 1], -1)) - np.dot(q[:, 1], np.roll(q[:, 0], -1)))
    # the lines run through the outline's pixel centres, half a pixel inside the region's edge
    if abs(region.sum() / max(area, 1.0) - 1) > max_misfit:
        return None, "board outline not a quadrilateral"  # e.g. glare merged with the board
    return centre[:2] / centre[2], ""


def camera_target_track(
    path: str | Path, camera: str, *, min_grey: float = 220.0, min_pixels: int = 300
) -> TargetTrack:
    """The board's centre (px) in every image of ``camera`` (:func:`board_centre`)."""
    with RecordingReader(path) as rec:
        _check_stream(rec, camera, "image", path)
        st, pos, n = [], [], 0
        dropped: dict[str, int] = {}
        for f in rec.frames(camera):
            n += 1
            c, why = board_centre(f.data["image"], min_grey=min_grey, min_pixels=min_pixels)
            if c is None:
                dropped[why] = dropped.get(why, 0) + 1
                continue
            st.append(f.stamp_ns)
            pos.append(c)
    return _track(st, pos, 2, n, dropped)


def _track(st: list, pos: list, dim: int, n: int, dropped: dict[str, int]) -> TargetTrack:
    return TargetTrack(
        np.asarray(st, np.int64), np.asarray(pos, np.float64).reshape(-1, dim), n, dropped
    )


def check_motion(
    track: TargetTrack,
    what: str,
    *,
    min_frames: int = 20,
    min_extent: float = 0.3,
    min_turns: float = 0.1,
    unit: str = "m",
) -> None:
    """Refuse a track that cannot fix a clock offset: fewer than ``min_frames`` detections, a
    target that moved less than ``min_extent`` (``unit``) from its median, or one
    that moved along a straight line at constant velocity (the track's RMS deviation from the
    best such line under ``min_turns``): then a time shift equals a position shift."""
    n = len(track.stamps_ns)
    if n < min_frames:
        raise CalibrationError(
            f"{what}: the target was found in {n} of {track.frames} frames (need {min_frames}; "
            f"dropped: {track.dropped}): record longer, or keep it in view"
        )
    p = track.positions
    extent = float(np.linalg.norm(p - np.median(p, axis=0), axis=1).max())
    if extent < min_extent:
        raise CalibrationError(
            f"{what}: the target moved only {extent:.2f} {unit} (need {min_extent:g}): a target that "
            "stands still fixes no clock offset; carry it back and forth"
        )
    t = (track.stamps_ns - track.stamps_ns[0]) / 1e9
    A = np.column_stack([np.ones(n), t])
    resid = p - A @ np.linalg.lstsq(A, p, rcond=None)[0]
    turns = float(np.sqrt(np.mean(np.sum(resid**2, axis=1))))
    if turns < min_turns:
        raise CalibrationError(
            f"{what}: the target moved at constant velocity (deviates {turns:.3f} {unit} from a "
            f"straight, steady line; need {min_turns:g}): then a clock offset looks like a position "
            "offset; "
            "move it back and forth, changing direction"
        )


def _clean(
    track: TargetTrack, max_jump: float, what: str, **motion: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Stamps (N,) ns and positions of the samples within ``max_jump`` of their running median,
    and the number dropped (wrong detections: a second bright object, glare); what is left must
    pass :func:`check_motion` (``what`` and ``motion`` go to it), so that a spurious detection
    cannot pass for motion."""
    check_motion(track, what, **motion)  # enough frames to despike
    ok = despike(track.stamps_ns.astype(np.float64), track.positions, max_jump=max_jump)
    clean = TargetTrack(track.stamps_ns[ok], track.positions[ok], track.frames, track.dropped)
    check_motion(clean, what, **motion)
    return clean.stamps_ns, clean.positions, int((~ok).sum())


def _align(
    tr: np.ndarray,
    xr: np.ndarray,
    to: np.ndarray,
    xo: np.ndarray,
    *,
    max_lag: float,
    floor: float,
    k: float = 5.0,
) -> tuple[OffsetResult, int, int]:
    """:func:`estimate_offset` of the other track (stamps ``to`` (M,) ns, ``xo`` (M, D)) against
    the reference (``tr`` (N,) ns, ``xr`` (N, D)), then once more without the samples of either
    track that disagree with the other's, shifted by that offset and linearly interpolated, by more
    than ``k`` robust standard deviations (at least ``floor``): wrong detections close enough to
    the target to pass the despike (a glare patch over part of the board moved its centre by
    20-70 px on simulated sessions). Returns the result and the samples dropped per track."""
    t0 = tr[0]
    a, b = (tr - t0) / 1e9, (to - t0) / 1e9
    first = estimate_offset(a, xr, b, xo, max_lag=max_lag)

    def misfit(t: np.ndarray, x: np.ndarray, ts: np.ndarray, xs: np.ndarray) -> np.ndarray:
        y = np.column_stack([np.interp(t, ts, xs[:, j]) for j in range(x.shape[1])])
        d = y - x
        e = np.linalg.norm(d - np.median(d, axis=0), axis=1)
        inside = (t >= ts[0]) & (t <= ts[-1])
        scale = 1.4826 * np.median(e[inside]) if inside.any() else 0.0
        return inside & (e > max(k * scale, floor))

    bad_r = misfit(a, xr, b - first.offset, xo)
    bad_o = misfit(b - first.offset, xo, a, xr)
    if not (bad_r.any() or bad_o.any()):
        return first, 0, 0
    res = estimate_offset(a[~bad_r], xr[~bad_r], b[~bad_o], xo[~bad_o], max_lag=max_lag)
    return res, int(bad_r.sum()), int(bad_o.sum())


@dataclass
class TargetOffset:
    """``result``: the offset (s, other sensor's stamp − reference clock) with its 1-sigma and
    residual; ``outliers`` samples dropped as wrong detections (by the despike and by their
    misfit to the other track), per track (reference, other)."""

    result: OffsetResult
    outliers: tuple[int, int]


def lidar_offset_from_target(
    radar: TargetTrack,
    lidar: TargetTrack,
    T_radar_lidar: np.ndarray,
    *,
    radar_offset: float = 0.0,
    max_lag: float = 0.5,
    max_jump: float = 0.25,
    min_frames: int = 20,
    axes: tuple[int, ...] = (0, 1),
) -> TargetOffset:
    """The LiDAR's clock offset (s) from the radar's and the LiDAR's target tracks; the LiDAR
    positions go into the radar frame by ``T_radar_lidar`` (4×4). ``radar_offset``: the radar's own
    offset from the reference clock, added. ``max_jump`` m: the despike threshold. ``axes``: the
    radar-frame coordinates compared; by default x and y, because a LiDAR's scan lines sample a
    10 cm target coarsely in elevation (13 mm of scatter per frame in z against 2 mm in x and y
    on the simulated Livox pattern) while the target moves mostly horizontally."""
    tr, pr, out_r = _clean(radar, max_jump, "radar target track", min_frames=min_frames)
    tl, pl, out_l = _clean(lidar, max_jump, "LiDAR target track", min_frames=min_frames)
    ax = list(axes)
    res, mis_r, mis_l = _align(
        tr, pr[:, ax], tl, apply(T_radar_lidar, pl)[:, ax], max_lag=max_lag, floor=0.02
    )
    res.offset += radar_offset
    return TargetOffset(res, (out_r + mis_r, out_l + mis_l))


def camera_offset_from_target(
    radar: TargetTrack,
    image: TargetTrack,
    T_cam_radar: np.ndarray,
    cam: CameraConfig,
    *,
    board_offset: tuple[float, float, float] = BOARD_ABOVE_REFLECTOR,
    radar_offset: float = 0.0,
    max_lag: float = 0.5,
    max_jump: float = 0.25,
    max_jump_px: float = 40.0,
    min_frames: int = 20,
) -> TargetOffset:
    """A camera's clock offset (s) from the radar's reflector track and the board's centre in
    the images: the radar positions plus ``board_offset`` (m, radar frame: where the board's
    centre sits relative to the reflector) are projected by ``T_cam_radar`` (4×4) and ``cam``, and
    compared with the board centres in pixels."""
    tr, pr, out_r = _clean(radar, max_jump, "radar target track", min_frames=min_frames)
    motion = {"min_frames": min_frames, "min_extent": 20, "min_turns": 5, "unit": "px"}
    tc, pc, out_c = _clean(image, max_jump_px, "camera board track", **motion)
    uv, z = project(apply(T_cam_radar, pr + np.asarray(board_offset)), cam)
    ok = np.isfinite(uv).all(axis=1) & (z > 0)
    if ok.sum() < min_frames:
        raise CalibrationError(
            f"{int(ok.sum())} radar target positions project into the camera (need {min_frames}): "
            "check T_cam_radar"
        )
    res, mis_r, mis_c = _align(tr[ok], uv[ok], tc, pc, max_lag=max_lag, floor=2.0)
    res.offset += radar_offset
    return TargetOffset(res, (out_r + mis_r, out_c + mis_c))
