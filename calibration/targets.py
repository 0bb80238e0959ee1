"""Locate a calibration target precisely: a corner reflector in radar ADC and in a LiDAR sweep.

Radar: a point cloud's FFT-bin angles are too coarse for calibration (one azimuth bin of a 64-point
FFT is ~1.8°, 9 cm at 3 m), so the static reflector is located by a zero-padded range spectrum with
parabolic peak interpolation and a maximum-likelihood single-source direction fit over the
virtual array (the config's antenna positions, the simulator's and the physical phase convention
``-π (a·u + e·w)``; see ``sensing.pointcloud``).

LiDAR: a retro-reflective target returns the highest intensities; its returns are clustered
(open3d DBSCAN) and, because a LiDAR sees only the faces turned toward it, the cluster centroid is
moved half the target size further along the viewing ray to reach the target's centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from drivers import RadarConfig
from sensing.checks import check_cube

from .errors import CalibrationError


@dataclass
class RadarTarget:
    """``position`` (3,) m in the radar frame; ``snr_db`` of the range peak over the median."""

    position: np.ndarray
    snr_db: float


def _snapshot(x: np.ndarray, k: float) -> np.ndarray:
    """Hann-windowed DTFT of ``(V, N)`` fast-time samples at fractional range bin ``k``."""
    n = x.shape[-1]
    w = np.hanning(n)
    return (x * w) @ np.exp(-2j * np.pi * k * np.arange(n) / n)


def locate_radar_target(
    cube: np.ndarray,
    radar: RadarConfig,
    *,
    min_range: float = 0.5,
    max_range: float | None = None,
    pad: int = 16,
) -> RadarTarget:
    """The strongest static point target of a complex ``(loops, tx, rx, samples)`` frame."""
    cube = check_cube(cube, radar)
    # moving things average out over the loops
    static = cube.mean(axis=0).reshape(radar.n_virtual, radar.n_samples)
    n = radar.n_samples
    spec = np.fft.fft(static * np.hanning(n), n * pad, axis=-1)
    power = (np.abs(spec) ** 2).sum(axis=0)[: n * pad // 2]
    bins = np.arange(len(power)) / pad * radar.range_resolution
    hi = radar.max_range if max_range is None else max_range
    allowed = (bins >= min_range) & (bins <= hi)
    if not allowed.any():
        raise CalibrationError(f"no range bins between {min_range} and {hi} m")
    kp = int(np.flatnonzero(allowed)[np.argmax(power[allowed])])
    if 0 < kp < len(power) - 1:
        a, b, c = np.log(power[kp - 1 : kp + 2] + 1e-30)
        delta = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) < 0 else 0.0
    else:
        delta = 0.0
    k = (kp + delta) / pad
    snr_db = float(10 * np.log10(power[kp] / np.median(power[allowed])))
    s = _snapshot(static, k)
    pos = radar.virtual_positions.reshape(-1, 2)
    elevated = np.ptp(pos[:, 1]) > 0

    def beam(p: np.ndarray) -> float:
        u, w = p[0], p[1] if elevated else 0.0
        if u * u + w * w >= 1:
            return 0.0
        return float(np.abs(np.exp(1j * np.pi * (pos[:, 0] * u + pos[:, 1] * w)) @ s) ** 2)

    # coarse: the beam on a fine (u, w) grid by a zero-padded 2D FFT over the array's lattice
    a = np.round(pos[:, 0] - pos[:, 0].min()).astype(int)
    e = np.round(pos[:, 1] - pos[:, 1].min()).astype(int)
    na = max(512, 8 * (int(a.max()) + 1))
    ne = max(128, 8 * (int(e.max()) + 1)) if elevated else 1
    grid = np.zeros((ne, na), complex)
    np.add.at(grid, (e, a), s)
    spec = np.abs(np.fft.fftshift(np.fft.fft2(grid))) ** 2
    ke, ka = np.unravel_index(int(spec.argmax()), spec.shape)
    best = np.array([-2.0 * (ka - na // 2) / na, -2.0 * (ke - ne // 2) / ne if elevated else 0.0])
    res = minimize(
        lambda p: -beam(p),
        best if elevated else best[:1],
        method="Nelder-Mead",
        options={"xatol": 1e-7, "fatol": 1e-10 * beam(best), "maxiter": 600},
    )
    u, w = float(res.x[0]), float(res.x[1]) if elevated else 0.0
    r = k * radar.range_resolution
    # near field: a large array (the MMWCAS spans ~17 cm, far field beyond ~15 m) sees a curved
    # wavefront, so finish with the exact two-way path to every TX/RX pair
    half = radar.wavelength / 2
    tx = np.column_stack([np.zeros(radar.n_tx), radar.tx_positions * half])
    rx = np.column_stack([np.zeros(radar.n_rx), radar.rx_positions * half])

    def point(p: np.ndarray) -> np.ndarray:  # the range stays the spectrum's: phases barely fix it
        uu, ww = p[0], p[1] if elevated else 0.0
        return r * np.array([np.sqrt(max(1 - uu * uu - ww * ww, 0.0)), uu, ww])

    def beam_nf(p: np.ndarray) -> float:
        q = point(p)
        d = np.linalg.norm(q - tx, axis=1)[:, None] + np.linalg.norm(q - rx, axis=1)[None, :]
        return float(np.abs(np.exp(-2j * np.pi * d.ravel() / radar.wavelength) @ s) ** 2)

    p0 = np.array([u, w] if elevated else [u])
    res = minimize(
        lambda p: -beam_nf(p),
        p0,
        method="Nelder-Mead",
        options={"xatol": 1e-7, "fatol": 1e-10 * beam_nf(p0), "maxiter": 1000},
    )
    return RadarTarget(point(res.x), snr_db)


def locate_lidar_target(
    points: np.ndarray,
    *,
    size: float = 0.1,
    min_intensity: float = 0.8,
    eps: float = 0.08,
    min_points: int = 3,
) -> np.ndarray | None:
    """Centre (3,) m of the brightest compact cluster in ``(M, 4)`` x, y, z, intensity points, or
    ``None`` when no return is bright enough (a missed detection, counted by the caller)."""
    import open3d as o3d

    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] < 4:
        raise CalibrationError(f"LiDAR points: expected (M, 4) x, y, z, intensity, got {pts.shape}")
    bright = pts[pts[:, 3] >= min_intensity, :3]
    if len(bright) < min_points:
        return None
    pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(bright))
    labels = np.asarray(pc.cluster_dbscan(eps=eps, min_points=min_points))
    if labels.max() < 0:
        return None
    counts = np.bincount(labels[labels >= 0])
    c = bright[labels == counts.argmax()]
    if np.ptp(c, axis=0).max() > 3 * size:
        return None  # a bright wall or a person, not a compact target
    centroid = c.mean(axis=0)
    return centroid + 0.5 * size * centroid / np.linalg.norm(centroid)


def refine_lidar_target(
    points: np.ndarray,
    rough: np.ndarray,
    *,
    size: float = 0.1,
    min_intensity: float = 0.8,
    axes: np.ndarray | None = None,
) -> np.ndarray:
    """Centre (3,) m of a cube-shaped target from its bright returns in ``(M, 4)`` points
    (accumulated over a placement's frames) near ``rough``.

    Intensity falls with the cosine of incidence, so the bright returns come from the face turned
    most squarely toward the LiDAR. ``axes`` (3, 3): the target's face normals as columns in the
    LiDAR frame (default: the LiDAR's axes, a target set square to it). The middle of their extent is the face centre; the cube centre is half the size
    behind it."""
    pts = np.asarray(points, dtype=np.float64)
    near = pts[
        (pts[:, 3] >= min_intensity) & (np.linalg.norm(pts[:, :3] - rough, axis=1) < 1.5 * size), :3
    ]
    if len(near) < 3:
        return rough
    A = np.eye(3) if axes is None else np.asarray(axes, dtype=np.float64)
    local = near @ A  # coordinates along the target's face normals
    centroid = local.mean(axis=0)
    k = int(np.argmax(np.abs(centroid)))
    # in the face's plane the scan pattern samples unevenly (scan lines), so take the middle of the
    # face's extent there rather than the mean of the returns
    inplane = [i for i in range(3) if i != k]
    lo, hi = np.percentile(local[:, inplane], [2, 98], axis=0)
    centroid[inplane] = (lo + hi) / 2
    centroid[k] += 0.5 * size * np.sign(centroid[k])
    return A @ centroid
