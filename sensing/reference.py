"""Plain numpy kernels: the specification the Numba-CPU and CUDA backends are tested against.

Written for clarity, not speed. :mod:`sensing.cpu` and :mod:`sensing.cuda` export the same names
with the same signatures; :func:`sensing.backend` picks one by name. Frames are complex64
``(loops, tx, rx, samples)``; range-Doppler cubes are ``(doppler, channel, range)`` with Doppler
shifted (zero velocity at ``n_loops // 2``) and channel ``c = tx * n_rx + rx``.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import maximum_filter

from .checks import check_array
from .errors import SensingError
from .plan import ArrayLayout, Calibration, Plan

NAME = "numpy"


def _axis_window(w: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return np.asarray(w, np.float32).reshape(shape)


def remove_dc(x: np.ndarray) -> np.ndarray:
    """Subtract each chirp's mean over fast time (ADC DC offset): ``(..., samples)`` → same."""
    x = check_array(x, "remove_dc input").astype(np.complex64, copy=False)
    return x - x.mean(axis=-1, keepdims=True)


def apply_window(x: np.ndarray, w: np.ndarray, axis: int = -1) -> np.ndarray:
    """Multiply ``x`` along ``axis`` by the real window ``w`` ``(x.shape[axis],)``."""
    x = check_array(x, "window input", allow_zero=True).astype(np.complex64, copy=False)
    check_array(w, "window", shape=(x.shape[axis],))
    return x * _axis_window(w, x.ndim, axis)


def range_fft(x: np.ndarray, w: np.ndarray | None = None, n: int | None = None) -> np.ndarray:
    """FFT over fast time (last axis), windowed by ``w`` ``(samples,)`` and zero-padded to ``n``."""
    x = check_array(x, "range_fft input", allow_zero=True).astype(np.complex64, copy=False)
    if w is not None:
        x = apply_window(x, w, -1)
    return np.fft.fft(x, n=n, axis=-1).astype(np.complex64)


def remove_static_clutter(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """Subtract the mean over slow time (``axis``): removes every return that does not move."""
    x = check_array(x, "clutter removal input", allow_zero=True).astype(np.complex64, copy=False)
    return x - x.mean(axis=axis, keepdims=True)


def doppler_fft(
    x: np.ndarray, w: np.ndarray | None = None, axis: int = 0, shift: bool = True
) -> np.ndarray:
    """FFT over slow time (``axis``), windowed by ``w``; with ``shift`` zero velocity sits at ``n // 2``."""
    x = check_array(x, "doppler_fft input", allow_zero=True).astype(np.complex64, copy=False)
    if w is not None:
        x = apply_window(x, w, axis)
    out = np.fft.fft(x, axis=axis)
    return (np.fft.fftshift(out, axes=axis) if shift else out).astype(np.complex64)


def calibrate(cube: np.ndarray, cal: Calibration) -> np.ndarray:
    """Cascade frequency then phase calibration of a frame ``(loops, tx, rx, samples)`` → same."""
    cube = check_array(cube, "calibrate input", ndim=4).astype(np.complex64, copy=False)
    want = (cube.shape[1], cube.shape[2])
    if cal.phase.shape != want or cal.range_offset.shape != want:
        raise SensingError(f"calibration is {cal.phase.shape}, frame needs (n_tx, n_rx) = {want}")
    return cube * cal.factors(cube.shape[-1])[None]


def angle_fft(snap: np.ndarray, layout: ArrayLayout) -> np.ndarray:
    """Channel snapshots ``(M, C)`` → shifted angle spectra ``(M, n_el, n_az)`` complex64.

    Channels go to their grid positions (zero elsewhere, same positions add up), then a 2D FFT;
    after the shift, zero angle sits at ``(n_el // 2, n_az // 2)``.
    """
    snap = check_array(snap, "angle_fft input", ndim=2, allow_zero=True)
    if snap.shape[1] != layout.n_channels:
        raise SensingError(
            f"angle_fft input: expected {layout.n_channels} channels, got shape {snap.shape}"
        )
    grid = np.zeros((len(snap), layout.n_el, layout.n_az), np.complex64)
    np.add.at(grid, (slice(None), layout.el, layout.az), snap)
    spec = np.fft.fft2(grid, axes=(1, 2))
    return np.fft.fftshift(spec, axes=(1, 2)).astype(np.complex64)


def aoa(rd: np.ndarray, peaks: np.ndarray, layout: ArrayLayout) -> np.ndarray:
    """Direction sines ``(M, 2)`` (u = sin az·cos el, w = sin el) of detections ``(M, 2)`` (doppler, range) in ``rd`` ``(D, C, R)``.

    Each snapshot is corrected for the TDM-MIMO Doppler phase (TX slot ``s`` fires ``s/n_tx`` of
    a loop late) before the angle FFT; the peak of ``|spectrum|`` gives the direction.
    """
    rd = check_array(rd, "aoa cube", ndim=3, allow_zero=True)
    peaks = np.asarray(peaks, np.int64).reshape(-1, 2)
    n_d = rd.shape[0]
    if len(peaks) == 0:
        return np.zeros((0, 2))
    d, rb = peaks[:, 0], peaks[:, 1]
    f = (d - n_d // 2) / n_d  # Doppler in cycles per loop
    snap = rd[d, :, rb] * np.exp(-2j * np.pi * f[:, None] * layout.slot[None, :] / layout.n_tx)
    spec = np.abs(angle_fft(snap.astype(np.complex64), layout))
    ke, ka = np.unravel_index(spec.reshape(len(peaks), -1).argmax(axis=1), spec.shape[1:])
    u = -2.0 * (ka - layout.n_az // 2) / layout.n_az
    w = -2.0 * (ke - layout.n_el // 2) / layout.n_el if layout.n_el > 1 else np.zeros(len(peaks))
    return np.column_stack([u, w])


def _check_power(x: np.ndarray, ndim: int) -> np.ndarray:
    x = check_array(x, f"CFAR {ndim}D power", ndim=ndim, allow_zero=True).astype(np.float64)
    if (x < 0).any():
        raise SensingError("CFAR input must be finite, non-negative power (linear, not dB)")
    return x


def _training_1d(x: np.ndarray, guard: int, train: int) -> np.ndarray:
    """``(n, 2·train)`` training cells of each cell, NaN where they fall off the ends."""
    p = np.pad(x, guard + train, constant_values=np.nan)
    win = sliding_window_view(p, 2 * (guard + train) + 1)
    return np.concatenate([win[:, :train], win[:, train + 2 * guard + 1 :]], axis=1)


def _training_2d(x: np.ndarray, guard: tuple[int, int], train: tuple[int, int]) -> np.ndarray:
    """``(D, R, K)`` training cells (Doppler wraps, range edges NaN)."""
    od, orr = guard[0] + train[0], guard[1] + train[1]
    idx = np.arange(-od, x.shape[0] + od) % x.shape[0]
    p = np.pad(x[idx], ((0, 0), (orr, orr)), constant_values=np.nan)
    win = sliding_window_view(p, (2 * od + 1, 2 * orr + 1))
    keep = np.ones((2 * od + 1, 2 * orr + 1), bool)
    keep[train[0] : train[0] + 2 * guard[0] + 1, train[1] : train[1] + 2 * guard[1] + 1] = False
    return win[:, :, keep]


def _ca(cells: np.ndarray) -> np.ndarray:
    n = np.isfinite(cells).sum(axis=-1)
    s = np.nansum(cells, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.inf)


def _os(cells: np.ndarray, k: float) -> np.ndarray:
    n = np.isfinite(cells).sum(axis=-1)
    srt = np.sort(cells, axis=-1)  # NaN sorts last
    idx = np.minimum(n - 1, (k * n).astype(np.int64)).clip(0)
    val = np.take_along_axis(srt, idx[..., None], axis=-1)[..., 0]
    return np.where(n > 0, val, np.inf)


def ca_cfar_1d(
    x: np.ndarray, guard: int = 2, train: int = 8, scale: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """Cell-averaging CFAR over power ``(n,)``: (detected ``(n,)`` bool, noise ``(n,)`` float64)."""
    x = _check_power(x, 1)
    noise = _ca(_training_1d(x, guard, train))
    return x > scale * noise, noise


def os_cfar_1d(
    x: np.ndarray, guard: int = 2, train: int = 8, scale: float = 10.0, k: float = 0.75
) -> tuple[np.ndarray, np.ndarray]:
    """Ordered-statistic CFAR: noise is training value ``min(n-1, int(k·n))`` in ascending order."""
    x = _check_power(x, 1)
    noise = _os(_training_1d(x, guard, train), k)
    return x > scale * noise, noise


def ca_cfar_2d(
    x: np.ndarray,
    guard: tuple[int, int] = (1, 2),
    train: tuple[int, int] = (4, 8),
    scale: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """2D CA-CFAR over a ``(doppler, range)`` power map; Doppler wraps, range edges use what exists."""
    x = _check_power(x, 2)
    noise = _ca(_training_2d(x, guard, train))
    return x > scale * noise, noise


def os_cfar_2d(
    x: np.ndarray,
    guard: tuple[int, int] = (1, 2),
    train: tuple[int, int] = (4, 8),
    scale: float = 10.0,
    k: float = 0.75,
) -> tuple[np.ndarray, np.ndarray]:
    """2D OS-CFAR over a ``(doppler, range)`` power map."""
    x = _check_power(x, 2)
    noise = _os(_training_2d(x, guard, train), k)
    return x > scale * noise, noise


def group_peaks(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Detections that are the maximum of their 3×3 neighbourhood (Doppler wraps): ``(M, 2)`` int64, row-major."""
    x = check_array(x, "group_peaks power", ndim=2, allow_zero=True)
    if np.shape(mask) != x.shape:
        raise SensingError(f"group_peaks mask: expected shape {x.shape}, got {np.shape(mask)}")
    local_max = maximum_filter(x, size=3, mode=("wrap", "nearest")) == x
    return np.argwhere(np.asarray(mask, bool) & local_max).astype(np.int64)


def _frame(cube: np.ndarray, plan: Plan) -> np.ndarray:
    return check_array(cube, "frame", shape=plan.radar.frame_shape).astype(np.complex64, copy=False)


def range_doppler(cube: np.ndarray, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Frame → range-Doppler cube ``(D, C, R)`` complex64 and power ``(D, R)`` float32 (summed over channels).

    Chain: DC removal (if planned), calibration (if planned), static clutter removal, range window
    and FFT, Doppler window and shifted FFT.
    """
    r = plan.radar
    x = _frame(cube, plan)
    if plan.dc_removal:
        x = remove_dc(x)
    if plan.cal is not None:
        x = x * plan.cal[None]
    x = x.reshape(r.n_loops, r.n_virtual, r.n_samples)
    if plan.params.clutter_removal:
        x = remove_static_clutter(x, 0)
    rd = doppler_fft(range_fft(x, plan.w_range), plan.w_doppler, axis=0)
    return rd, (np.abs(rd) ** 2).sum(axis=1).astype(np.float32)


def detect(power: np.ndarray, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """CFAR, minimum range, peak grouping and the ``max_points`` strongest: (peaks ``(M, 2)``, noise ``(D, R)``)."""
    p = plan.params
    cfar = ca_cfar_2d if p.method == "ca" else os_cfar_2d
    mask, noise = cfar(power, p.guard, p.train, plan.scale)
    mask[:, : plan.min_bin] = False
    peaks = group_peaks(power, mask)
    if len(peaks) > p.max_points:
        order = np.argsort(-power[peaks[:, 0], peaks[:, 1]], kind="stable")
        peaks = peaks[order[: p.max_points]]
    return peaks, noise


def points_from(
    peaks: np.ndarray, uw: np.ndarray, power: np.ndarray, noise: np.ndarray, plan: Plan
) -> np.ndarray:
    """Detections and direction sines → ``(M, 5)`` float32 x, y, z, radial velocity, SNR (dB)."""
    r = plan.radar
    d, rb = peaks[:, 0], peaks[:, 1]
    u, w = uw[:, 0], uw[:, 1]
    horiz = np.sqrt(np.clip(1 - u**2 - w**2, 0, None))
    rng = rb * r.range_resolution
    return np.column_stack(
        [
            rng * horiz,
            rng * u,
            rng * w,
            (d - r.n_loops // 2) * r.velocity_resolution,
            10 * np.log10(power[d, rb] / noise[d, rb]),
        ]
    ).astype(np.float32)


def point_cloud(cube: np.ndarray, plan: Plan) -> np.ndarray:
    """Frame ``(loops, tx, rx, samples)`` → points ``(M, 5)`` float32 x, y, z, v, snr_db (radar frame)."""
    rd, power = range_doppler(cube, plan)
    peaks, noise = detect(power, plan)
    if len(peaks) == 0:
        return np.zeros((0, 5), np.float32)
    return points_from(peaks, aoa(rd, peaks, plan.layout), power, noise, plan)


def doppler_profiles(
    cube: np.ndarray, w: np.ndarray | None = None, clutter: bool = True
) -> np.ndarray:
    """Power per (Doppler, range) of a frame ``(loops, tx, rx, samples)``, summed over channels: ``(loops, samples)`` float32.

    Unwindowed range FFT; Doppler windowed by ``w`` ``(loops,)`` and shifted.
    """
    cube = check_array(cube, "doppler_profiles frame", ndim=4).astype(np.complex64, copy=False)
    L, T, R, S = cube.shape
    x = cube.reshape(L, T * R, S)
    if clutter:
        x = remove_static_clutter(x, 0)
    rd = doppler_fft(range_fft(x), w, axis=0)
    return (np.abs(rd) ** 2).sum(axis=1).astype(np.float32)


def micro_doppler(profiles: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Spectrogram rows ``(F, D)`` in dB from per-frame profiles ``(F, D, R)``: power summed over range bins ``lo:hi``."""
    profiles = check_array(profiles, "micro_doppler profiles", ndim=3, allow_zero=True)
    if not 0 <= lo < hi <= profiles.shape[2]:
        raise SensingError(
            f"micro_doppler range window: expected 0 <= lo < hi <= {profiles.shape[2]}, got {lo}:{hi}"
        )
    s = profiles[:, :, lo:hi].astype(np.float64).sum(axis=2)
    return (10 * np.log10(s + 1e-12)).astype(np.float32)
