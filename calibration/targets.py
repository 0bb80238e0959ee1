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
import scipy.fft
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
    k = (kp + _parabolic(power, kp)) / pad
    snr_db = float(10 * np.log10(power[kp] / np.median(power[allowed])))
    return RadarTarget(_position(_snapshot(static, k), k * radar.range_resolution, radar), snr_db)


def _parabolic(p: np.ndarray, k: int) -> float:
    """Sub-bin offset of the peak at bin ``k`` of the ``(N,)`` power ``p``: a parabola through
    the log power of the bin and its neighbours."""
    if not 0 < k < len(p) - 1:
        return 0.0
    a, b, c = np.log(p[k - 1 : k + 2] + 1e-30)
    return float(0.5 * (a - c) / (a - 2 * b + c)) if (a - 2 * b + c) < 0 else 0.0


def frame_centre(radar: RadarConfig) -> float:
    """Time (s) from a frame's first chirp (its stamp, as the simulator stamps it) to the middle
    of its sampling: the instant a position measured from the whole frame holds for a target
    moving steadily through it."""
    return (
        (radar.chirps_per_frame - 1) / 2 * radar.chirp_time
        + radar.adc_start_time
        + (radar.n_samples - 1) / (2 * radar.sample_rate)
    )


def locate_moving_radar_target(
    cube: np.ndarray,
    radar: RadarConfig,
    *,
    min_range: float = 0.5,
    max_range: float | None = None,
    pad: int = 16,
    doppler_pad: int = 8,
) -> RadarTarget:
    """The strongest point target of a complex ``(loops, tx, rx, samples)`` frame, moving or not,
    at the frame's middle (:func:`frame_centre`).

    A moving target's phase turns from loop to loop, so averaging the loops (as
    :func:`locate_radar_target` does for a static one) would cancel it: the range peak of the power
    summed over loops and channels, then the Doppler peak at that range (both zero-padded, peaks
    interpolated), the range refined on the Doppler-matched sum; the channel snapshot is taken
    there with each chirp's Doppler phase removed at its own time (TDM-MIMO: the transmitters fire
    one after the other, so an uncompensated Doppler would bend the array phases); the Doppler
    ambiguity (±``radar.max_velocity``) is resolved by the compensation whose beam is strongest.
    ``snr_db``: the range peak over the median of the allowed ranges."""
    cube = check_cube(cube, radar)
    L, T, R, n = cube.shape
    x = cube.reshape(L, T * R, n) * np.hanning(n).astype(np.float32)
    rng = scipy.fft.fft(x, axis=-1)[..., : n // 2]  # range (complex64), positive half
    profile = (rng.real**2 + rng.imag**2).sum(axis=(0, 1))
    bins = np.arange(n // 2) * radar.range_resolution
    hi = radar.max_range if max_range is None else max_range
    allowed = (bins >= min_range) & (bins <= hi)
    if not allowed.any():
        raise CalibrationError(f"no range bins between {min_range} and {hi} m")
    kr = int(np.flatnonzero(allowed)[np.argmax(profile[allowed])])
    snr_db = float(10 * np.log10(profile[kr] / np.median(profile[allowed])))
    d = np.fft.fft(rng[:, :, kr] * np.hanning(L)[:, None], L * doppler_pad, axis=0)
    pd = (np.abs(d) ** 2).sum(axis=1)
    kd = int(np.argmax(pd))
    nu = (kd + _parabolic(np.roll(pd, 1 - kd), 1)) / len(pd)  # cycles per loop; cyclic neighbours
    doppler = (np.exp(-2j * np.pi * nu * np.arange(L)) * np.hanning(L)).astype(np.complex64)
    y = np.tensordot(doppler, x, axes=(0, 0))  # (V, n)
    # the range refined on a ``pad``-times finer grid around the peak (a DTFT on a few bins)
    kf = kr * pad + np.arange(-pad, pad + 1)
    fine = (np.abs(y @ np.exp(-2j * np.pi * np.outer(np.arange(n), kf) / (n * pad))) ** 2).sum(0)
    j = int(np.argmax(fine))
    k = (kf[j] + _parabolic(fine, j)) / pad
    # the snapshot at (k, ν), each chirp compensated at its own time (loop l, TX slot t)
    fast = (np.exp(-2j * np.pi * k * np.arange(n) / n) * np.hanning(n)).astype(np.complex64)
    per_chirp = (cube @ fast) * np.hanning(L)[:, None, None]  # (L, T, R)
    best, best_power = None, -1.0
    for wrap in (-1, 0, 1):  # the Doppler ambiguity
        phase = (nu - np.round(nu) + wrap) * (np.arange(L)[:, None] + np.arange(T)[None, :] / T)
        s = np.einsum("lt,ltr->tr", np.exp(-2j * np.pi * phase), per_chirp).reshape(-1)
        _, pw = _beam_peak(s, radar)
        if pw > best_power:
            best, best_power = s, pw
    assert best is not None
    # 1e-5 in direction cosines is 30 µm at 3 m: plenty for a track, and half the iterations
    return RadarTarget(_position(best, k * radar.range_resolution, radar, xatol=1e-5), snr_db)


def _beam_peak(s: np.ndarray, radar: RadarConfig) -> tuple[np.ndarray, float]:
    """The strongest direction ``(u, w)`` (direction cosines toward +y and +z) of a ``(V,)``
    snapshot on a fine grid (a zero-padded 2D FFT over the array's lattice), and its power."""
    pos = radar.virtual_positions.reshape(-1, 2)
    elevated = np.ptp(pos[:, 1]) > 0
    a = np.round(pos[:, 0] - pos[:, 0].min()).astype(int)
    e = np.round(pos[:, 1] - pos[:, 1].min()).astype(int)
    na = max(512, 8 * (int(a.max()) + 1))
    ne = max(128, 8 * (int(e.max()) + 1)) if elevated else 1
    grid = np.zeros((ne, na), complex)
    np.add.at(grid, (e, a), s)
    spec = np.abs(np.fft.fftshift(np.fft.fft2(grid))) ** 2
    ke, ka = np.unravel_index(int(spec.argmax()), spec.shape)
    best = np.array([-2.0 * (ka - na // 2) / na, -2.0 * (ke - ne // 2) / ne if elevated else 0.0])
    return best, float(spec.max())


def _position(
    s: np.ndarray,
    r: float,
    radar: RadarConfig,
    *,
    span: float = 0.06,
    step: float = 0.006,
    xatol: float = 1e-7,
) -> np.ndarray:
    """Position (3,) m of a point source at range ``r`` seen in the ``(V,)`` snapshot ``s``: the
    maximum-likelihood direction over the virtual array, finished in the near field (searched
    within ``span`` of the far-field peak in direction cosines, on a ``step`` grid; the optimiser
    stops at ``xatol`` in direction cosines)."""
    pos = radar.virtual_positions.reshape(-1, 2)
    elevated = np.ptp(pos[:, 1]) > 0

    def beam(p: np.ndarray) -> float:
        u, w = p[0], p[1] if elevated else 0.0
        if u * u + w * w >= 1:
            return 0.0
        return float(np.abs(np.exp(1j * np.pi * (pos[:, 0] * u + pos[:, 1] * w)) @ s) ** 2)

    best, _ = _beam_peak(s, radar)
    res = minimize(
        lambda p: -beam(p),
        best if elevated else best[:1],
        method="Nelder-Mead",
        options={"xatol": xatol, "fatol": 1e-10 * beam(best), "maxiter": 600},
    )
    u, w = float(res.x[0]), float(res.x[1]) if elevated else 0.0
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

    # near the rig the far-field beam is defocused and its peak can sit on a neighbouring lobe
    # (2.5 cm of u off at 2 m on the MMWCAS): start from the best of a near-field grid around it
    g = np.arange(-span, span + step / 2, step)
    cand = np.stack(np.meshgrid(u + g, w + g if elevated else [w]), -1).reshape(-1, 2)
    cand = np.vstack([cand[(cand**2).sum(axis=1) < 1], [[u, w]]])
    q = r * np.column_stack([np.sqrt(np.clip(1 - (cand**2).sum(axis=1), 0, None)), cand])
    d = (
        np.linalg.norm(q[:, None] - tx[None], axis=2)[:, :, None]
        + np.linalg.norm(q[:, None] - rx[None], axis=2)[:, None, :]
    ).reshape(len(q), -1)
    grid_power = np.abs(np.exp(-2j * np.pi * d / radar.wavelength) @ s) ** 2
    best_c = cand[int(np.argmax(grid_power))]
    p0 = best_c if elevated else best_c[:1]
    res = minimize(
        lambda p: -beam_nf(p),
        p0,
        method="Nelder-Mead",
        options={"xatol": xatol, "fatol": 1e-10 * beam_nf(p0), "maxiter": 1000},
    )
    return point(res.x)


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
