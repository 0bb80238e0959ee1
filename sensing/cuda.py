"""CUDA kernels, the same names and signatures as :mod:`sensing.reference`.

Elementwise and reduction steps (checks, DC and clutter removal, windows, calibration, power,
CFAR, peaks, angle-grid placement) are ``numba.cuda`` kernels; FFTs run in ``torch.fft`` on the
same memory: device arrays cross between numba and torch without a copy through
``__cuda_array_interface__`` (``torch.as_tensor`` / ``cuda.as_cuda_array``). Inputs may be numpy
arrays (results come back as numpy) or any CUDA array (numba, torch, CuPy: results stay on the
device as numba device arrays). Detections and points are small and always returned on the host.

Under numba's simulator (``NUMBA_ENABLE_CUDASIM=1``, set before numba.cuda is first imported)
the same kernels run in Python on the CPU and the FFTs use numpy, so tests run without a GPU;
keep inputs tiny there. Kernels use grid-stride loops, so any launch size is correct.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import config as _nb_config
from numba import cuda

from . import reference as _ref
from .errors import SensingError
from .plan import ArrayLayout, Calibration, Plan

NAME = "cuda"
SIMULATOR = bool(_nb_config.ENABLE_CUDASIM)
MAX_TRAINING = 1024  # largest OS-CFAR window (cells) the per-thread sort buffer holds
_ready: bool | None = None


def require() -> None:
    """Raise a SensingError unless a CUDA device (or the simulator) is there."""
    global _ready
    if _ready is None:
        _ready = SIMULATOR or cuda.is_available()
    if not _ready:
        raise SensingError(
            "the cuda backend needs a CUDA GPU and driver (numba.cuda found none); use "
            "backend('cpu'), or set NUMBA_ENABLE_CUDASIM=1 before importing numba to simulate"
        )


def _launch(n: int) -> tuple[int, int]:
    if SIMULATOR:  # every simulated thread is a Python thread: few threads, grid-stride loops
        return 1, 8
    return min(max(1, (n + 255) // 256), 4096), 256


def _is_dev(x: Any) -> bool:
    if SIMULATOR:  # the simulator's device arrays have no __cuda_array_interface__
        return isinstance(x, cuda.simulator.cudadrv.devicearray.FakeCUDAArray)
    return hasattr(x, "__cuda_array_interface__")


def _to_dev(x: Any, what: str, dtype: Any, allow_zero: bool) -> Any:
    """A device array of ``x`` (no copy when it already is one), checked for NaN/inf and silence."""
    require()
    if _is_dev(x):
        d = x if SIMULATOR else cuda.as_cuda_array(x)
        if d.dtype != dtype:
            raise SensingError(f"{what}: expected dtype {np.dtype(dtype)}, got {d.dtype}")
    else:
        d = cuda.to_device(np.ascontiguousarray(x, dtype))
    if d.size == 0:
        raise SensingError(f"{what}: expected a non-empty array, got shape {tuple(d.shape)}")
    counts = cuda.to_device(np.zeros(2, np.int64))
    flat = d.reshape(d.size)
    b, t = _launch(d.size)
    if np.dtype(dtype).kind == "c":
        _k_check_c[b, t](flat, counts)
    else:
        _k_check_r[b, t](flat, counts)
    bad, nonzero = counts.copy_to_host()
    if bad:
        raise SensingError(f"{what}: expected finite values, got {bad} NaN or inf")
    if not allow_zero and not nonzero:
        raise SensingError(f"{what}: expected a signal, got all zeros")
    return d


def _out(d: Any, like: Any) -> Any:
    return d if _is_dev(like) else d.copy_to_host()


def _fft(d: Any, axis: int, n: int | None = None, shift: bool = False) -> Any:
    """FFT along ``axis`` of a complex64 device array, in torch.fft on the same memory."""
    if SIMULATOR:
        out = np.fft.fft(d.copy_to_host(), n=n, axis=axis)
        out = np.fft.fftshift(out, axes=axis) if shift else out
        return cuda.to_device(np.ascontiguousarray(out, np.complex64))
    import torch

    t = torch.fft.fft(torch.as_tensor(d, device="cuda"), n=n, dim=axis)
    if shift:
        t = torch.fft.fftshift(t, dim=axis)
    return cuda.as_cuda_array(t.contiguous())  # the numba array keeps the tensor alive


# -- kernels ------------------------------------------------------------------------------------


@cuda.jit
def _k_check_c(x: Any, counts: Any) -> None:
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, step):
        v = x[i]
        if not (math.isfinite(v.real) and math.isfinite(v.imag)):
            cuda.atomic.add(counts, 0, 1)
        elif v.real != 0 or v.imag != 0:
            cuda.atomic.add(counts, 1, 1)


@cuda.jit
def _k_check_r(x: Any, counts: Any) -> None:
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, step):
        v = x[i]
        if not math.isfinite(v):
            cuda.atomic.add(counts, 0, 1)
        elif v != 0:
            cuda.atomic.add(counts, 1, 1)


@cuda.jit
def _k_demean_mid(x: Any, out: Any) -> None:
    """Subtract the mean over the middle axis of ``(A, N, B)``."""
    A, N, B = x.shape
    start, step = cuda.grid(1), cuda.gridsize(1)
    for ab in range(start, A * B, step):
        a, b = ab // B, ab % B
        s = 0j
        for n in range(N):
            s += x[a, n, b]
        m = s / N
        for n in range(N):
            out[a, n, b] = x[a, n, b] - m


@cuda.jit
def _k_window_mid(x: Any, w: Any, out: Any) -> None:
    A, N, B = x.shape
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, A * N * B, step):
        a, rest = i // (N * B), i % (N * B)
        n, b = rest // B, rest % B
        out[a, n, b] = x[a, n, b] * w[n]


@cuda.jit
def _k_calibrate(x: Any, f: Any, out: Any) -> None:
    """``x`` ``(L, K, S)`` times ``f`` ``(K, S)``."""
    L, K, S = x.shape
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, L * K * S, step):
        lo, rest = i // (K * S), i % (K * S)
        k, s = rest // S, rest % S
        out[lo, k, s] = x[lo, k, s] * f[k, s]


@cuda.jit
def _k_power(rd: Any, power: Any) -> None:
    """``rd`` ``(D, C, R)`` → ``power`` ``(D, R)``: |·|² summed over channels."""
    D, C, R = rd.shape
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, D * R, step):
        d, r = i // R, i % R
        s = 0.0
        for c in range(C):
            v = rd[d, c, r]
            s += v.real * v.real + v.imag * v.imag
        power[d, r] = s


@cuda.jit
def _k_cfar2d(
    x: Any, gd: int, gr: int, td: int, tr: int, k: float, ordered: bool, noise: Any
) -> None:
    """One thread per cell: mean (CA) or rank ``int(k·n)`` (OS) of the training cells; Doppler wraps."""
    D, R = x.shape
    buf = cuda.local.array(MAX_TRAINING, np.float64)
    start, step = cuda.grid(1), cuda.gridsize(1)
    for cell in range(start, D * R, step):
        i, j = cell // R, cell % R
        s = 0.0
        c = 0
        for di in range(-gd - td, gd + td + 1):
            ii = (i + di) % D
            for dj in range(-gr - tr, gr + tr + 1):
                jj = j + dj
                if jj < 0 or jj >= R or (abs(di) <= gd and abs(dj) <= gr):
                    continue
                v = x[ii, jj]
                if ordered:  # insertion into the sorted prefix
                    p = c
                    while p > 0 and buf[p - 1] > v:
                        buf[p] = buf[p - 1]
                        p -= 1
                    buf[p] = v
                else:
                    s += v
                c += 1
        if c == 0:
            noise[i, j] = math.inf
        elif ordered:
            noise[i, j] = buf[min(c - 1, int(k * c))]
        else:
            noise[i, j] = s / c


@cuda.jit
def _k_peaks(x: Any, noise: Any, scale: float, min_bin: int, keep: Any) -> None:
    """Cells from ``min_bin`` above ``scale·noise`` that are 3×3 maxima (Doppler wraps)."""
    D, R = x.shape
    start, step = cuda.grid(1), cuda.gridsize(1)
    for cell in range(start, D * R, step):
        i, j = cell // R, cell % R
        v = x[i, j]
        ok = j >= min_bin and v > scale * noise[i, j]
        if ok:
            for di in range(-1, 2):
                ii = (i + di) % D
                for jj in range(max(0, j - 1), min(R, j + 2)):
                    if x[ii, jj] > v:
                        ok = False
        keep[i, j] = 1 if ok else 0


@cuda.jit
def _k_grid(
    rd: Any, d: Any, r: Any, az: Any, el: Any, slot: Any, n_tx: int, correct: bool, grid: Any
) -> None:
    """Snapshot of detection m (TDM-corrected when ``correct``) placed on its ``(n_el, n_az)`` grid."""
    M = d.shape[0]
    D, C, _ = rd.shape
    start, step = cuda.grid(1), cuda.gridsize(1)
    for m in range(start, M, step):
        f = (d[m] - D // 2) / D
        for c in range(C):
            v = rd[d[m], c, r[m]]
            if correct:
                ph = -2.0 * math.pi * f * slot[c] / n_tx
                v = v * complex(math.cos(ph), math.sin(ph))
            grid[m, el[c], az[c]] += v


@cuda.jit
def _k_micro(p: Any, lo: int, hi: int, out: Any) -> None:
    F, D, _ = p.shape
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, F * D, step):
        f, d = i // D, i % D
        s = 0.0
        for r in range(lo, hi):
            s += p[f, d, r]
        out[f, d] = 10.0 * math.log10(s + 1e-12)


# -- kernels as the reference's functions -------------------------------------------------------


def _run(kernel: Any, n: int, *args: Any) -> None:
    b, t = _launch(n)
    kernel[b, t](*args)


def _demean(d: Any, axis: int) -> Any:
    axis %= d.ndim
    a = int(np.prod(d.shape[:axis], dtype=np.int64))
    b = int(np.prod(d.shape[axis + 1 :], dtype=np.int64))
    x3 = d.reshape(a, d.shape[axis], b)
    out = cuda.device_array_like(x3)
    _run(_k_demean_mid, a * b, x3, out)
    return out.reshape(*d.shape)


def _window(d: Any, w: np.ndarray, axis: int) -> Any:
    axis %= d.ndim
    if np.shape(w) != (d.shape[axis],):
        raise SensingError(f"window: expected shape {(d.shape[axis],)}, got {np.shape(w)}")
    a = int(np.prod(d.shape[:axis], dtype=np.int64))
    b = int(np.prod(d.shape[axis + 1 :], dtype=np.int64))
    x3 = d.reshape(a, d.shape[axis], b)
    out = cuda.device_array_like(x3)
    _run(_k_window_mid, d.size, x3, cuda.to_device(np.asarray(w, np.float32)), out)
    return out.reshape(*d.shape)


def remove_dc(x: Any) -> Any:
    """Subtract each chirp's mean over fast time: ``(..., samples)`` → same."""
    return _out(_demean(_to_dev(x, "remove_dc input", np.complex64, False), -1), x)


def apply_window(x: Any, w: np.ndarray, axis: int = -1) -> Any:
    """Multiply ``x`` along ``axis`` by the real window ``w`` ``(x.shape[axis],)``."""
    return _out(_window(_to_dev(x, "window input", np.complex64, True), w, axis), x)


def range_fft(x: Any, w: np.ndarray | None = None, n: int | None = None) -> Any:
    """FFT over fast time (last axis), windowed by ``w`` ``(samples,)`` and zero-padded to ``n``."""
    d = _to_dev(x, "range_fft input", np.complex64, True)
    if w is not None:
        d = _window(d, w, -1)
    return _out(_fft(d, d.ndim - 1, n), x)


def remove_static_clutter(x: Any, axis: int = 0) -> Any:
    """Subtract the mean over slow time (``axis``): removes every return that does not move."""
    return _out(_demean(_to_dev(x, "clutter removal input", np.complex64, True), axis), x)


def doppler_fft(x: Any, w: np.ndarray | None = None, axis: int = 0, shift: bool = True) -> Any:
    """FFT over slow time (``axis``), windowed by ``w``; with ``shift`` zero velocity sits at ``n // 2``."""
    d = _to_dev(x, "doppler_fft input", np.complex64, True)
    if w is not None:
        d = _window(d, w, axis)
    return _out(_fft(d, axis % d.ndim, shift=shift), x)


def _calibrate(d: Any, factors: np.ndarray) -> Any:
    L, T, R, S = d.shape
    out = cuda.device_array_like(d)
    _run(
        _k_calibrate,
        d.size,
        d.reshape(L, T * R, S),
        cuda.to_device(factors.reshape(T * R, S)),
        out.reshape(L, T * R, S),
    )
    return out


def calibrate(cube: Any, cal: Calibration) -> Any:
    """Cascade frequency then phase calibration of a frame ``(loops, tx, rx, samples)`` → same."""
    d = _to_dev(cube, "calibrate input", np.complex64, False)
    if d.ndim != 4:
        raise SensingError(f"calibrate input: expected 4 dimensions, got shape {tuple(d.shape)}")
    want = (d.shape[1], d.shape[2])
    if cal.phase.shape != want or cal.range_offset.shape != want:
        raise SensingError(f"calibration is {cal.phase.shape}, frame needs (n_tx, n_rx) = {want}")
    return _out(_calibrate(d, cal.factors(d.shape[3])), cube)


def _angle_spectra(rd: Any, peaks: np.ndarray, layout: ArrayLayout, correct: bool) -> np.ndarray:
    """Shifted angle spectra ``(M, n_el, n_az)`` (host) of the detections in device ``rd`` ``(D, C, R)``."""
    M = len(peaks)
    grid = cuda.to_device(np.zeros((M, layout.n_el, layout.n_az), np.complex64))
    _run(
        _k_grid,
        M,
        rd,
        cuda.to_device(np.ascontiguousarray(peaks[:, 0])),
        cuda.to_device(np.ascontiguousarray(peaks[:, 1])),
        cuda.to_device(layout.az),
        cuda.to_device(layout.el),
        cuda.to_device(layout.slot),
        layout.n_tx,
        correct,
        grid,
    )
    spec = _fft(_fft(grid, 1, shift=True), 2, shift=True)
    return spec.copy_to_host()


def angle_fft(snap: Any, layout: ArrayLayout) -> Any:
    """Channel snapshots ``(M, C)`` → shifted angle spectra ``(M, n_el, n_az)`` complex64."""
    d = _to_dev(snap, "angle_fft input", np.complex64, True)
    if d.ndim != 2 or d.shape[1] != layout.n_channels:
        raise SensingError(
            f"angle_fft input: expected (M, {layout.n_channels}) channels, got shape {tuple(d.shape)}"
        )
    M = d.shape[0]
    # as a (M, C, 1) "cube" with detection m at (m, 0) and no TDM correction
    peaks = np.column_stack([np.arange(M), np.zeros(M, np.int64)]).astype(np.int64)
    spec = _angle_spectra(d.reshape(M, layout.n_channels, 1), peaks, layout, False)
    return spec if not _is_dev(snap) else cuda.to_device(spec)


def _uw(spec: np.ndarray, layout: ArrayLayout) -> np.ndarray:
    mag = np.abs(spec)
    ke, ka = np.unravel_index(mag.reshape(len(mag), -1).argmax(axis=1), mag.shape[1:])
    u = -2.0 * (ka - layout.n_az // 2) / layout.n_az
    w = -2.0 * (ke - layout.n_el // 2) / layout.n_el if layout.n_el > 1 else np.zeros(len(mag))
    return np.column_stack([u, w])


def aoa(rd: Any, peaks: np.ndarray, layout: ArrayLayout) -> np.ndarray:
    """Direction sines ``(M, 2)`` (u, w) of detections ``(M, 2)`` (doppler, range) in ``rd`` ``(D, C, R)``."""
    d = _to_dev(rd, "aoa cube", np.complex64, True)
    if d.ndim != 3:
        raise SensingError(f"aoa cube: expected 3 dimensions, got shape {tuple(d.shape)}")
    peaks = np.asarray(peaks, np.int64).reshape(-1, 2)
    if len(peaks) == 0:
        return np.zeros((0, 2))
    return _uw(_angle_spectra(d, peaks, layout, True), layout)


def _cfar(x: Any, ndim: int, guard: Any, train: Any, scale: float, k: float, ordered: bool) -> Any:
    d = _to_dev(x, f"CFAR {ndim}D power", np.float64, True)
    if d.ndim != ndim:
        raise SensingError(
            f"CFAR {ndim}D power: expected {ndim} dimensions, got shape {tuple(d.shape)}"
        )
    host = d.copy_to_host() if not _is_dev(x) else None
    if host is not None and (host < 0).any():
        raise SensingError("CFAR input must be finite, non-negative power (linear, not dB)")
    g = (0, guard) if ndim == 1 else guard
    t = (0, train) if ndim == 1 else train
    if ordered and (2 * (g[0] + t[0]) + 1) * (2 * (g[1] + t[1]) + 1) > MAX_TRAINING:
        raise SensingError(
            f"OS-CFAR window: expected at most {MAX_TRAINING} cells, got guard {guard} train {train}"
        )
    x2 = d.reshape(1, d.shape[0]) if ndim == 1 else d
    noise = cuda.device_array(x2.shape, np.float64)
    _run(_k_cfar2d, x2.size, x2, g[0], g[1], t[0], t[1], k, ordered, noise)
    noise_h = noise.copy_to_host().reshape(d.shape)
    xh = host if host is not None else d.copy_to_host()
    return xh > scale * noise_h, noise_h


def ca_cfar_1d(
    x: Any, guard: int = 2, train: int = 8, scale: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """Cell-averaging CFAR over power ``(n,)``: (detected ``(n,)`` bool, noise ``(n,)`` float64)."""
    return _cfar(x, 1, guard, train, scale, 0.0, False)


def os_cfar_1d(
    x: Any, guard: int = 2, train: int = 8, scale: float = 10.0, k: float = 0.75
) -> tuple[np.ndarray, np.ndarray]:
    """Ordered-statistic CFAR: noise is training value ``min(n-1, int(k·n))`` in ascending order."""
    return _cfar(x, 1, guard, train, scale, k, True)


def ca_cfar_2d(
    x: Any,
    guard: tuple[int, int] = (1, 2),
    train: tuple[int, int] = (4, 8),
    scale: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """2D CA-CFAR over a ``(doppler, range)`` power map; Doppler wraps, range edges use what exists."""
    return _cfar(x, 2, guard, train, scale, 0.0, False)


def os_cfar_2d(
    x: Any,
    guard: tuple[int, int] = (1, 2),
    train: tuple[int, int] = (4, 8),
    scale: float = 10.0,
    k: float = 0.75,
) -> tuple[np.ndarray, np.ndarray]:
    """2D OS-CFAR over a ``(doppler, range)`` power map."""
    return _cfar(x, 2, guard, train, scale, k, True)


def _peaks(power: Any, noise: Any, scale: float, min_bin: int) -> np.ndarray:
    keep = cuda.device_array(power.shape, np.uint8)
    _run(_k_peaks, power.size, power, noise, scale, min_bin, keep)
    return np.argwhere(keep.copy_to_host()).astype(np.int64)


def group_peaks(x: Any, mask: np.ndarray) -> np.ndarray:
    """Detections that are the maximum of their 3×3 neighbourhood (Doppler wraps): ``(M, 2)`` int64, row-major."""
    d = _to_dev(x, "group_peaks power", np.float64, True)
    if np.shape(mask) != tuple(d.shape):
        raise SensingError(
            f"group_peaks mask: expected shape {tuple(d.shape)}, got {np.shape(mask)}"
        )
    noise = np.where(np.asarray(mask, bool), -np.inf, np.inf)
    return _peaks(d, cuda.to_device(noise), 1.0, 0)


def _range_doppler_dev(cube: Any, plan: Plan) -> tuple[Any, Any]:
    r = plan.radar
    d = _to_dev(cube, "frame", np.complex64, False)
    if tuple(d.shape) != r.frame_shape:
        raise SensingError(
            f"frame: expected shape {r.frame_shape} (loops, tx, rx, samples), got {tuple(d.shape)}"
        )
    if plan.dc_removal:
        d = _demean(d, -1)
    if plan.cal is not None:
        d = _calibrate(d, plan.cal)
    x = d.reshape(r.n_loops, r.n_virtual, r.n_samples)
    if plan.params.clutter_removal:
        x = _demean(x, 0)
    rng = _fft(_window(x, plan.w_range, 2), 2)
    rd = _fft(_window(rng, plan.w_doppler, 0), 0, shift=True)
    power = cuda.device_array((r.n_loops, r.n_samples), np.float32)
    _run(_k_power, power.size, rd, power)
    return rd, power


def range_doppler(cube: Any, plan: Plan) -> tuple[Any, Any]:
    """Frame → range-Doppler cube ``(D, C, R)`` complex64 and power ``(D, R)`` float32 (see the reference)."""
    rd, power = _range_doppler_dev(cube, plan)
    return _out(rd, cube), _out(power, cube)


def _detect_dev(power: Any, plan: Plan) -> tuple[np.ndarray, Any]:
    p = plan.params
    g, t = p.guard, p.train
    noise = cuda.device_array(power.shape, np.float64)
    _run(_k_cfar2d, power.size, power, g[0], g[1], t[0], t[1], 0.75, p.method == "os", noise)
    peaks = _peaks(power, noise, plan.scale, plan.min_bin)
    if len(peaks) > p.max_points:
        ph = power.copy_to_host()
        order = np.argsort(-ph[peaks[:, 0], peaks[:, 1]], kind="stable")
        peaks = peaks[order[: p.max_points]]
    return peaks, noise


def detect(power: Any, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """CFAR, minimum range, peak grouping and the ``max_points`` strongest: (peaks ``(M, 2)``, noise ``(D, R)``)."""
    d = _to_dev(power, "detect power", np.float32, True)
    peaks, noise = _detect_dev(d, plan)
    return peaks, noise.copy_to_host()


def point_cloud(cube: Any, plan: Plan) -> np.ndarray:
    """Frame ``(loops, tx, rx, samples)`` → points ``(M, 5)`` float32 x, y, z, v, snr_db (radar frame)."""
    rd, power = _range_doppler_dev(cube, plan)
    peaks, noise = _detect_dev(power, plan)
    if len(peaks) == 0:
        return np.zeros((0, 5), np.float32)
    uw = _uw(_angle_spectra(rd, peaks, plan.layout, True), plan.layout)
    return _ref.points_from(peaks, uw, power.copy_to_host(), noise.copy_to_host(), plan)


def doppler_profiles(cube: Any, w: np.ndarray | None = None, clutter: bool = True) -> Any:
    """Power per (Doppler, range) of a frame ``(loops, tx, rx, samples)``, summed over channels: ``(loops, samples)`` float32."""
    d = _to_dev(cube, "doppler_profiles frame", np.complex64, False)
    if d.ndim != 4:
        raise SensingError(
            f"doppler_profiles frame: expected 4 dimensions (loops, tx, rx, samples), got shape {tuple(d.shape)}"
        )
    L, T, R, S = d.shape
    x = d.reshape(L, T * R, S)
    if clutter:
        x = _demean(x, 0)
    rng = _fft(x, 2)
    if w is not None:
        rng = _window(rng, w, 0)
    rd = _fft(rng, 0, shift=True)
    power = cuda.device_array((L, S), np.float32)
    _run(_k_power, power.size, rd, power)
    return _out(power, cube)


def micro_doppler(profiles: Any, lo: int, hi: int) -> Any:
    """Spectrogram rows ``(F, D)`` in dB from per-frame profiles ``(F, D, R)``: power summed over range bins ``lo:hi``."""
    d = _to_dev(profiles, "micro_doppler profiles", np.float32, True)
    if d.ndim != 3:
        raise SensingError(
            f"micro_doppler profiles: expected 3 dimensions, got shape {tuple(d.shape)}"
        )
    if not 0 <= lo < hi <= d.shape[2]:
        raise SensingError(
            f"micro_doppler range window: expected 0 <= lo < hi <= {d.shape[2]}, got {lo}:{hi}"
        )
    out = cuda.device_array(d.shape[:2], np.float32)
    _run(_k_micro, out.size, d, lo, hi, out)
    return _out(out, profiles)
