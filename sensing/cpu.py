"""Numba CPU kernels, the same names and signatures as :mod:`sensing.reference`.

FFTs run inside ``@njit`` through rocket-fft (the ``fast`` extra), so the point-cloud chain is a
few fused parallel passes: (1) per channel, in one ``(loops, samples)`` block: a pass for the
check and the means, a pass applying DC and clutter removal, calibration and both windows (all
linear and the same for every chirp, so they commute with the FFTs), one in-place 2D FFT;
(2) power summed over channels; (3) 2D CA-CFAR by running row sums and
circular column sums; (4) peaks; (5) AoA only at the peaks. The ``*_into`` functions take preallocated buffers (used by
:class:`sensing.stream.RadarStream`); the public ones allocate their outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from .cfar import _ca_1d, _os_1d, _os_2d
from .checks import check_array
from .errors import SensingError
from .plan import ArrayLayout, Calibration, Plan

try:  # registers np.fft / scipy.fft inside @njit; c2c writes into a given array
    from rocket_fft.lowlevel import c2c
except ImportError as exc:  # pragma: no cover - the fast extra is a dependency of this backend
    raise ImportError(
        "sensing.cpu needs rocket-fft for FFTs inside Numba: pip install 'radarpose[fast]'"
    ) from exc

NAME = "cpu"
AXES_0 = np.array([0], np.int64)  # c2c axes of a 2D array
AXES_1 = np.array([1], np.int64)
AXES_2D = np.array([0, 1], np.int64)
OS_K = 0.75  # OS-CFAR rank of the point-cloud chain, as the reference's default


def _as3(x: np.ndarray, axis: int) -> tuple[np.ndarray, tuple[int, ...], int]:
    """View ``x`` as contiguous ``(before, n, after)`` around ``axis``."""
    axis = axis % x.ndim
    shape = x.shape
    a = int(np.prod(shape[:axis], dtype=np.int64))
    b = int(np.prod(shape[axis + 1 :], dtype=np.int64))
    return np.ascontiguousarray(x, np.complex64).reshape(a, shape[axis], b), shape, axis


@nb.njit(cache=True, parallel=True)
def _window3(x: np.ndarray, w: np.ndarray, out: np.ndarray) -> None:
    A, N, B = x.shape
    for a in nb.prange(A):
        for n in range(N):
            for b in range(B):
                out[a, n, b] = x[a, n, b] * w[n]


@nb.njit(cache=True, parallel=True)
def _demean3(x: np.ndarray, out: np.ndarray) -> None:
    """Subtract the mean over the middle axis of ``(A, N, B)``."""
    A, N, B = x.shape
    for ab in nb.prange(A * B):
        a, b = ab // B, ab % B
        s = 0j
        for n in range(N):
            s += x[a, n, b]
        m = s / N
        for n in range(N):
            out[a, n, b] = x[a, n, b] - m


@nb.njit(cache=True, parallel=True)
def _fft_rows(x: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """Windowed (``w`` may be length 0 for none), zero-padded FFT of each row of ``(N, S)``."""
    N, S = x.shape
    out = np.zeros((N, n), np.complex64)
    for i in nb.prange(N):
        row = np.zeros(n, np.complex64)
        for s in range(min(S, n)):
            row[s] = x[i, s] * w[s] if w.size else x[i, s]
        out[i] = np.fft.fft(row)
    return out


def remove_dc(x: np.ndarray) -> np.ndarray:
    """Subtract each chirp's mean over fast time: ``(..., samples)`` → same."""
    x3, shape, _ = _as3(check_array(x, "remove_dc input"), -1)
    out = np.empty_like(x3)
    _demean3(x3.reshape(-1, x3.shape[1], 1), out.reshape(-1, x3.shape[1], 1))
    return out.reshape(shape)


def apply_window(x: np.ndarray, w: np.ndarray, axis: int = -1) -> np.ndarray:
    """Multiply ``x`` along ``axis`` by the real window ``w`` ``(x.shape[axis],)``."""
    x = check_array(x, "window input", allow_zero=True)
    check_array(w, "window", shape=(x.shape[axis],))
    x3, shape, _ = _as3(x, axis)
    out = np.empty_like(x3)
    _window3(x3, np.asarray(w, np.float32), out)
    return out.reshape(shape)


def range_fft(x: np.ndarray, w: np.ndarray | None = None, n: int | None = None) -> np.ndarray:
    """FFT over fast time (last axis), windowed by ``w`` ``(samples,)`` and zero-padded to ``n``."""
    x = check_array(x, "range_fft input", allow_zero=True)
    if w is not None:
        check_array(w, "window", shape=(x.shape[-1],))
    n = n or x.shape[-1]
    x2 = np.ascontiguousarray(x, np.complex64).reshape(-1, x.shape[-1])
    wv = np.zeros(0, np.float32) if w is None else np.asarray(w, np.float32)
    return _fft_rows(x2, wv, n).reshape(*x.shape[:-1], n)


def remove_static_clutter(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """Subtract the mean over slow time (``axis``): removes every return that does not move."""
    x3, shape, _ = _as3(check_array(x, "clutter removal input", allow_zero=True), axis)
    out = np.empty_like(x3)
    _demean3(x3, out)
    return out.reshape(shape)


def doppler_fft(
    x: np.ndarray, w: np.ndarray | None = None, axis: int = 0, shift: bool = True
) -> np.ndarray:
    """FFT over slow time (``axis``), windowed by ``w``; with ``shift`` zero velocity sits at ``n // 2``."""
    x = check_array(x, "doppler_fft input", allow_zero=True)
    moved = np.moveaxis(x, axis, -1)
    out = range_fft(moved, w)  # same kernel, on the slow-time axis moved last
    if shift:
        out = np.roll(out, out.shape[-1] // 2, axis=-1)
    return np.moveaxis(out, -1, axis)


@nb.njit(cache=True, parallel=True)
def _calibrate(cube: np.ndarray, f: np.ndarray, out: np.ndarray) -> None:
    L, T, R, S = cube.shape
    for lt in nb.prange(L * T):
        lo, t = lt // T, lt % T
        for r in range(R):
            for s in range(S):
                out[lo, t, r, s] = cube[lo, t, r, s] * f[t, r, s]


def calibrate(cube: np.ndarray, cal: Calibration) -> np.ndarray:
    """Cascade frequency then phase calibration of a frame ``(loops, tx, rx, samples)`` → same."""
    cube = check_array(cube, "calibrate input", ndim=4)
    want = (cube.shape[1], cube.shape[2])
    if cal.phase.shape != want or cal.range_offset.shape != want:
        raise SensingError(f"calibration is {cal.phase.shape}, frame needs (n_tx, n_rx) = {want}")
    cube = np.ascontiguousarray(cube, np.complex64)
    out = np.empty_like(cube)
    _calibrate(cube, cal.factors(cube.shape[-1]), out)
    return out


@nb.njit(cache=True, parallel=True)
def _aoa_core(
    snap: np.ndarray,
    d: np.ndarray,
    n_d: int,
    az: np.ndarray,
    ri: np.ndarray,
    slot: np.ndarray,
    n_tx: int,
    tw: np.ndarray,
    grid: np.ndarray,
    out: np.ndarray,
) -> None:
    """Direction sines ``out`` ``(M, 2)`` of snapshots ``(M, C)``: TDM Doppler correction, then the
    angle FFT pruned to the occupied rows (an azimuth FFT per row, the elevation DFT by ``tw``
    ``(n_rows, n_el)``) and its peak. ``ri`` ``(C,)`` is each channel's row; ``grid`` scratch
    ``(>= M, >= n_rows, n_az)``.
    """
    M, C = snap.shape
    n_rows, n_el = tw.shape
    n_az = grid.shape[2]
    for m in nb.prange(M):
        g = grid[m]
        g[:n_rows] = 0
        f = (d[m] - n_d // 2) / n_d
        for c in range(C):
            ph = -2.0 * np.pi * f * slot[c] / n_tx
            v = snap[m, c] * complex(np.cos(ph), np.sin(ph))
            g[ri[c], az[c]] += np.complex64(v)
        for r in range(n_rows):
            c2c(g[r], g[r], AXES_0, True, 1.0, 1)
        best = -1.0
        bi = 0
        bj = 0
        for i in range(n_el):  # in shifted order, so ties resolve as in the reference
            ke = (i - n_el // 2) % n_el
            for j in range(n_az):
                ka = (j - n_az // 2) % n_az
                acc = np.complex64(0)
                for r in range(n_rows):
                    acc += g[r, ka] * tw[r, ke]
                v2 = abs(acc)
                if v2 > best:
                    best, bi, bj = v2, i, j
        out[m, 0] = -2.0 * (bj - n_az // 2) / n_az
        out[m, 1] = -2.0 * (bi - n_el // 2) / n_el if n_el > 1 else 0.0


def _aoa_snap(
    snap: np.ndarray, d: np.ndarray, n_d: int, layout: ArrayLayout, grid: np.ndarray | None = None
) -> np.ndarray:
    M = len(snap)
    if grid is None or len(grid) < M:
        grid = np.empty((M, len(layout.rows), layout.n_az), np.complex64)
    out = np.empty((M, 2))
    _aoa_core(
        np.ascontiguousarray(snap, np.complex64),
        np.asarray(d, np.int64),
        n_d,
        layout.az,
        layout.row_index,
        layout.slot,
        layout.n_tx,
        layout.row_twiddles,
        grid,
        out,
    )
    return out


@nb.njit(cache=True, parallel=True)
def _angle_fft(snap: np.ndarray, az: np.ndarray, el: np.ndarray, out: np.ndarray) -> None:
    M, C = snap.shape
    n_el, n_az = out.shape[1], out.shape[2]
    for m in nb.prange(M):
        grid = np.zeros((n_el, n_az), np.complex64)
        for c in range(C):
            grid[el[c], az[c]] += snap[m, c]
        spec = np.fft.fft2(grid)
        for i in range(n_el):
            for j in range(n_az):
                out[m, (i + n_el // 2) % n_el, (j + n_az // 2) % n_az] = spec[i, j]


def angle_fft(snap: np.ndarray, layout: ArrayLayout) -> np.ndarray:
    """Channel snapshots ``(M, C)`` → shifted angle spectra ``(M, n_el, n_az)`` complex64."""
    snap = check_array(snap, "angle_fft input", ndim=2, allow_zero=True)
    if snap.shape[1] != layout.n_channels:
        raise SensingError(
            f"angle_fft input: expected {layout.n_channels} channels, got shape {snap.shape}"
        )
    out = np.empty((len(snap), layout.n_el, layout.n_az), np.complex64)
    _angle_fft(np.ascontiguousarray(snap, np.complex64), layout.az, layout.el, out)
    return out


def aoa(rd: np.ndarray, peaks: np.ndarray, layout: ArrayLayout) -> np.ndarray:
    """Direction sines ``(M, 2)`` (u, w) of detections ``(M, 2)`` (doppler, range) in ``rd`` ``(D, C, R)``."""
    rd = check_array(rd, "aoa cube", ndim=3, allow_zero=True)
    peaks = np.asarray(peaks, np.int64).reshape(-1, 2)
    return _aoa_snap(rd[peaks[:, 0], :, peaks[:, 1]], peaks[:, 0], rd.shape[0], layout)


# -- CFAR ---------------------------------------------------------------------------------------


@nb.njit(cache=True, parallel=True)
def _ca_2d_box(
    x: np.ndarray, gd: int, gr: int, td: int, tr: int, box: np.ndarray, noise: np.ndarray
) -> None:
    """CA-CFAR noise: range-window sums per row (running sums), then circular sums down columns.

    ``box`` ``(2, D, R)`` is scratch for the outer and guard range-window sums.
    """
    D, R = x.shape
    od, orr = gd + td, gr + tr
    ro, ri = box[0], box[1]
    for i in nb.prange(D):
        so = 0.0
        si = 0.0
        for j in range(min(R, orr)):
            so += x[i, j]
        for j in range(min(R, gr)):
            si += x[i, j]
        for j in range(R):  # windows [j - orr, j + orr] and [j - gr, j + gr], clipped
            if j + orr < R:
                so += x[i, j + orr]
            if j - orr - 1 >= 0:
                so -= x[i, j - orr - 1]
            if j + gr < R:
                si += x[i, j + gr]
            if j - gr - 1 >= 0:
                si -= x[i, j - gr - 1]
            ro[i, j] = so
            ri[i, j] = si
    for i in nb.prange(D):
        acc = noise[i]
        acc[:] = 0.0
        for di in range(-od, od + 1):
            row = ro[(i + di) % D]
            for j in range(R):
                acc[j] += row[j]
        for di in range(-gd, gd + 1):
            row = ri[(i + di) % D]
            for j in range(R):
                acc[j] -= row[j]
        for j in range(R):
            n = (2 * od + 1) * (min(R, j + orr + 1) - max(0, j - orr)) - (2 * gd + 1) * (
                min(R, j + gr + 1) - max(0, j - gr)
            )
            acc[j] = acc[j] / n if n > 0 else np.inf


def _power(x: np.ndarray, ndim: int) -> np.ndarray:
    x = check_array(x, f"CFAR {ndim}D power", ndim=ndim, allow_zero=True).astype(np.float64)
    if (x < 0).any():
        raise SensingError("CFAR input must be finite, non-negative power (linear, not dB)")
    return np.ascontiguousarray(x)


def ca_cfar_1d(
    x: np.ndarray, guard: int = 2, train: int = 8, scale: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """Cell-averaging CFAR over power ``(n,)``: (detected ``(n,)`` bool, noise ``(n,)`` float64)."""
    x = _power(x, 1)
    noise = _ca_1d(x, guard, train)
    return x > scale * noise, noise


def os_cfar_1d(
    x: np.ndarray, guard: int = 2, train: int = 8, scale: float = 10.0, k: float = 0.75
) -> tuple[np.ndarray, np.ndarray]:
    """Ordered-statistic CFAR: noise is training value ``min(n-1, int(k·n))`` in ascending order."""
    x = _power(x, 1)
    noise = _os_1d(x, guard, train, k)
    return x > scale * noise, noise


def ca_cfar_2d(
    x: np.ndarray,
    guard: tuple[int, int] = (1, 2),
    train: tuple[int, int] = (4, 8),
    scale: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """2D CA-CFAR over a ``(doppler, range)`` power map; Doppler wraps, range edges use what exists."""
    x = _power(x, 2)
    noise = np.empty_like(x)
    _ca_2d_box(x, guard[0], guard[1], train[0], train[1], np.empty((2, *x.shape)), noise)
    return x > scale * noise, noise


def os_cfar_2d(
    x: np.ndarray,
    guard: tuple[int, int] = (1, 2),
    train: tuple[int, int] = (4, 8),
    scale: float = 10.0,
    k: float = 0.75,
) -> tuple[np.ndarray, np.ndarray]:
    """2D OS-CFAR over a ``(doppler, range)`` power map."""
    x = _power(x, 2)
    noise = _os_2d(x, guard[0], guard[1], train[0], train[1], k)
    return x > scale * noise, noise


@nb.njit(cache=True)
def _peaks(
    x: np.ndarray, noise: np.ndarray, scale: float, min_bin: int, keep: np.ndarray
) -> np.ndarray:
    """Cells above ``scale·noise`` from ``min_bin`` on that are 3×3 maxima (Doppler wraps), row-major.

    ``keep`` ``(D, R)`` bool is scratch.
    """
    D, R = x.shape
    keep[:] = False
    n = 0
    for i in range(D):
        for j in range(min_bin, R):
            v = x[i, j]
            if not v > scale * noise[i, j]:
                continue
            ok = True
            for di in range(-1, 2):
                ii = (i + di) % D
                for dj in range(max(0, j - 1), min(R, j + 2)):
                    if x[ii, dj] > v:
                        ok = False
            if ok:
                keep[i, j] = True
                n += 1
    out = np.empty((n, 2), np.int64)
    k = 0
    for i in range(D):
        for j in range(R):
            if keep[i, j]:
                out[k, 0] = i
                out[k, 1] = j
                k += 1
    return out


def group_peaks(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Detections that are the maximum of their 3×3 neighbourhood (Doppler wraps): ``(M, 2)`` int64, row-major."""
    x = check_array(x, "group_peaks power", ndim=2, allow_zero=True)
    if np.shape(mask) != x.shape:
        raise SensingError(f"group_peaks mask: expected shape {x.shape}, got {np.shape(mask)}")
    # detected cells get noise -inf so they pass the threshold, the rest +inf so they never do
    noise = np.where(np.asarray(mask, bool), -np.inf, np.inf)
    return _peaks(np.ascontiguousarray(x, np.float64), noise, 1.0, 0, np.empty(x.shape, np.bool_))


# -- the fused chain ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Workspace:
    """Every buffer the point-cloud chain writes, allocated once per plan (see the module doc).

    ``rd`` ``(C, L, S)`` range-Doppler spectra per channel, Doppler unshifted; ``power`` float32 and
    ``noise`` float64 ``(L, S)`` shifted; ``box`` ``(2, L, S)`` CFAR partial sums; ``keep``
    ``(L, S)`` peak flags; ``grid`` ``(max_points, n_rows, n_az)`` azimuth spectra of the occupied rows; ``mean``
    ``(C, S)`` slow-time means.
    """

    rd: np.ndarray
    power: np.ndarray
    noise: np.ndarray
    box: np.ndarray
    keep: np.ndarray
    grid: np.ndarray
    mean: np.ndarray

    @classmethod
    def for_shape(
        cls, n_loops: int, n_channels: int, n_samples: int, plan: Plan | None
    ) -> Workspace:
        C, L, S = n_channels, n_loops, n_samples
        lay = plan.layout if plan is not None else None
        m = plan.params.max_points if plan is not None else 0  # no plan: no angle buffer
        return cls(
            np.empty((C, L, S), np.complex64),
            np.empty((L, S), np.float32),
            np.empty((L, S)),
            np.empty((2, L, S)),
            np.empty((L, S), np.bool_),
            np.empty((m, len(lay.rows) if lay else 1, lay.n_az if lay else 1), np.complex64),
            np.empty((C, S), np.complex64),
        )

    @classmethod
    def for_plan(cls, plan: Plan, grid: bool = True) -> Workspace:
        """Buffers for ``plan``; without ``grid``, angle spectra are allocated per call, sized to the detections."""
        r = plan.radar
        return cls.for_shape(r.n_loops, r.n_virtual, r.n_samples, plan if grid else None)


@nb.njit(cache=True, parallel=True)
def _rd_stage(
    x: np.ndarray,
    w_range: np.ndarray,
    cal: np.ndarray,
    w_doppler: np.ndarray,
    dc: bool,
    clutter: bool,
    mean: np.ndarray,
    rd: np.ndarray,
) -> float:
    """``x`` ``(L, C, S)`` → ``rd`` ``(C, L, S)``: range-Doppler spectra per channel, in place.

    Every step before the FFTs is linear and the same for each chirp, so DC and clutter removal,
    calibration and both windows are applied in the time domain, in one pass after one pass for
    the means, and a single 2D FFT follows. ``cal`` is ``(C, S)`` or empty; ``mean`` ``(C, S)``
    is scratch. Returns the frame's energy (non-finite when a sample is, zero for a silent frame)
    for the input check.
    """
    L, C, S = x.shape
    energy = 0.0
    for c in nb.prange(C):
        t = rd[c]
        mu = mean[c]
        mu[:] = 0
        e = 0.0
        m_all = np.complex64(0)  # sum of the chirps' DC over the loops
        for k in range(L):
            m = np.complex64(0)
            for s in range(S):
                v = x[k, c, s]
                e += np.float64(v.real) * v.real + np.float64(v.imag) * v.imag
                mu[s] += v
                m += v
            m_all += m / np.float32(S)
        energy += e
        for s in range(S):  # the slow-time mean each chirp loses (after its own DC, if removed)
            mu[s] = (mu[s] - (m_all if dc else np.complex64(0))) / np.float32(L) if clutter else 0
        for k in range(L):
            m = np.complex64(0)
            if dc:
                for s in range(S):
                    m += x[k, c, s]
                m /= np.float32(S)
            wk = w_doppler[k]
            for s in range(S):
                v = (x[k, c, s] - m - mu[s]) * (w_range[s] * wk)
                t[k, s] = v * cal[c, s] if cal.size else v
        c2c(t, t, AXES_2D, True, 1.0, 1)
    return energy


@nb.njit(cache=True, parallel=True)
def _power_stage(rd: np.ndarray, power: np.ndarray) -> None:
    """``rd`` ``(C, L, S)`` unshifted → power ``(L, S)`` summed over channels, Doppler shifted."""
    C, L, S = rd.shape
    for d in nb.prange(L):
        row = power[(d + L // 2) % L]
        row[:] = 0
        for c in range(C):
            for s in range(S):
                v = rd[c, d, s]
                row[s] += v.real * v.real + v.imag * v.imag


def _stages(
    cube: np.ndarray,
    w_range: np.ndarray,
    cal: np.ndarray | None,
    w_doppler: np.ndarray,
    dc: bool,
    clutter: bool,
    ws: Workspace,
) -> None:
    """Frame → ``ws.rd`` ``(C, L, R)`` unshifted and ``ws.power`` ``(L, R)`` shifted, checking the frame."""
    L, T, Rx, S = cube.shape
    x = np.ascontiguousarray(cube, np.complex64).reshape(L, T * Rx, S)
    c2 = _NO_CAL if cal is None else cal.reshape(T * Rx, S)
    energy = _rd_stage(x, w_range, c2, w_doppler, dc, clutter, ws.mean, ws.rd)
    if not np.isfinite(energy):
        bad = np.count_nonzero(~np.isfinite(x))
        raise SensingError(f"frame: expected finite values, got {bad} NaN or inf")
    if energy == 0:
        raise SensingError("frame: expected a signal, got all zeros")
    _power_stage(ws.rd, ws.power)


_NO_CAL = np.zeros((0, 0), np.complex64)


def _check_frame(cube: np.ndarray, plan: Plan) -> np.ndarray:
    cube = np.asarray(cube)
    if cube.shape != plan.radar.frame_shape:
        raise SensingError(
            f"frame: expected shape {plan.radar.frame_shape} (loops, tx, rx, samples), got {cube.shape}"
        )
    return cube


def run_stages(cube: np.ndarray, plan: Plan, ws: Workspace) -> None:
    """The planned range-Doppler chain of one frame into ``ws`` (no allocation)."""
    _stages(
        _check_frame(cube, plan),
        plan.w_range,
        plan.cal,
        plan.w_doppler,
        plan.dc_removal,
        plan.params.clutter_removal,
        ws,
    )


def range_doppler(cube: np.ndarray, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Frame → range-Doppler cube ``(D, C, R)`` complex64 and power ``(D, R)`` float32 (see the reference)."""
    ws = Workspace.for_plan(plan, grid=False)
    run_stages(cube, plan, ws)
    L = plan.radar.n_loops
    return np.roll(ws.rd, L // 2, axis=1).transpose(1, 0, 2).copy(), ws.power


def detect_into(plan: Plan, ws: Workspace) -> np.ndarray:
    """CFAR on ``ws.power`` (noise into ``ws.noise``), minimum range, peaks, strongest ``max_points``: ``(M, 2)``."""
    p = plan.params
    g, t = p.guard, p.train
    if p.method == "ca":
        _ca_2d_box(ws.power, g[0], g[1], t[0], t[1], ws.box, ws.noise)
    else:
        ws.noise[:] = _os_2d(ws.power, g[0], g[1], t[0], t[1], OS_K)
    peaks = _peaks(ws.power, ws.noise, plan.scale, plan.min_bin, ws.keep)
    if len(peaks) > p.max_points:
        order = np.argsort(-ws.power[peaks[:, 0], peaks[:, 1]], kind="stable")
        peaks = peaks[order[: p.max_points]]
    return peaks


def detect(power: np.ndarray, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """CFAR, minimum range, peak grouping and the ``max_points`` strongest: (peaks ``(M, 2)``, noise ``(D, R)``)."""
    power = check_array(power, "detect power", ndim=2, allow_zero=True)
    ws = Workspace.for_shape(power.shape[0], 0, power.shape[1], None)
    ws.power[:] = power
    return detect_into(plan, ws), ws.noise


@nb.njit(cache=True)
def _points(
    rd: np.ndarray,
    power: np.ndarray,
    noise: np.ndarray,
    peaks: np.ndarray,
    az: np.ndarray,
    ri: np.ndarray,
    slot: np.ndarray,
    n_tx: int,
    tw: np.ndarray,
    grid: np.ndarray,
    range_res: float,
    vel_res: float,
    out: np.ndarray,
) -> None:
    """Snapshots of ``peaks`` from ``rd`` ``(C, L, R)`` (Doppler unshifted), AoA, then x, y, z, v, SNR into ``out``."""
    M = peaks.shape[0]
    C, L, _ = rd.shape
    snap = np.empty((M, C), np.complex64)
    for m in range(M):
        du = (peaks[m, 0] - L // 2) % L
        for c in range(C):
            snap[m, c] = rd[c, du, peaks[m, 1]]
    uw = np.empty((M, 2))
    _aoa_core(snap, peaks[:, 0].copy(), L, az, ri, slot, n_tx, tw, grid, uw)
    for m in range(M):
        d, rb = peaks[m, 0], peaks[m, 1]
        u, w = uw[m, 0], uw[m, 1]
        rng = rb * range_res
        out[m, 0] = rng * np.sqrt(max(1.0 - u * u - w * w, 0.0))
        out[m, 1] = rng * u
        out[m, 2] = rng * w
        out[m, 3] = (d - L // 2) * vel_res
        out[m, 4] = 10.0 * np.log10(power[d, rb] / noise[d, rb])


def points_into(peaks: np.ndarray, plan: Plan, ws: Workspace) -> np.ndarray:
    """Points ``(M, 5)`` float32 of ``peaks`` from the workspace's spectra, power and noise."""
    lay, r = plan.layout, plan.radar
    out = np.empty((len(peaks), 5), np.float32)
    if len(peaks) == 0:
        return out
    grid = ws.grid
    if len(grid) < len(peaks):
        grid = np.empty((len(peaks), len(lay.rows), lay.n_az), np.complex64)
    _points(
        ws.rd,
        ws.power,
        ws.noise,
        peaks,
        lay.az,
        lay.row_index,
        lay.slot,
        lay.n_tx,
        lay.row_twiddles,
        grid,
        r.range_resolution,
        r.velocity_resolution,
        out,
    )
    return out


def point_cloud(cube: np.ndarray, plan: Plan) -> np.ndarray:
    """Frame ``(loops, tx, rx, samples)`` → points ``(M, 5)`` float32 x, y, z, v, snr_db (radar frame)."""
    ws = Workspace.for_plan(plan, grid=False)
    run_stages(cube, plan, ws)
    return points_into(detect_into(plan, ws), plan, ws)


def doppler_profiles(
    cube: np.ndarray, w: np.ndarray | None = None, clutter: bool = True
) -> np.ndarray:
    """Power per (Doppler, range) of a frame ``(loops, tx, rx, samples)``, summed over channels: ``(loops, samples)`` float32."""
    cube = np.asarray(cube)
    if cube.ndim != 4:
        raise SensingError(
            f"doppler_profiles frame: expected 4 dimensions (loops, tx, rx, samples), got shape {cube.shape}"
        )
    L, T, R, S = cube.shape
    if w is not None:
        check_array(w, "window", shape=(L,))
    wd = np.ones(L, np.float32) if w is None else np.asarray(w, np.float32)
    ws = Workspace.for_shape(L, T * R, S, None)
    _stages(cube, np.ones(S, np.float32), None, wd, False, clutter, ws)
    return ws.power


@nb.njit(cache=True, parallel=True)
def _micro(p: np.ndarray, lo: int, hi: int, out: np.ndarray) -> None:
    F, D, _ = p.shape
    for f in nb.prange(F):
        for d in range(D):
            s = 0.0
            for r in range(lo, hi):
                s += p[f, d, r]
            out[f, d] = 10.0 * np.log10(s + 1e-12)


def micro_doppler(profiles: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Spectrogram rows ``(F, D)`` in dB from per-frame profiles ``(F, D, R)``: power summed over range bins ``lo:hi``."""
    profiles = check_array(profiles, "micro_doppler profiles", ndim=3, allow_zero=True)
    if not 0 <= lo < hi <= profiles.shape[2]:
        raise SensingError(
            f"micro_doppler range window: expected 0 <= lo < hi <= {profiles.shape[2]}, got {lo}:{hi}"
        )
    out = np.empty(profiles.shape[:2], np.float32)
    _micro(np.ascontiguousarray(profiles, np.float32), lo, hi, out)
    return out
