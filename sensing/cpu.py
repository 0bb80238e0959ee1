"""Numba CPU kernels, the same names and signatures as :mod:`sensing.reference`.

FFTs run inside ``@njit`` through rocket-fft (the ``fast`` extra), so the point-cloud chain is two
compiled calls. (1) Per channel, in one ``(loops, samples)`` block while it is in cache: the
slow-time sums (the frame read in its own order, doubling as the input check), one pass applying
DC and clutter removal, calibration and both windows (all linear and the same for every chirp, so
they commute with the FFTs), the range FFT along the contiguous rows, the Doppler FFT on real and
imaginary planes (:func:`_fft_planar`, whole rows per butterfly), and the power summed over
channels on the way back. (2) 2D CA-CFAR from prefix sums along range and circular sums down
Doppler, peaks, AoA only at the peaks. The ``*_into`` functions take preallocated buffers (used
by :class:`sensing.stream.RadarStream`); the public ones allocate their outputs.
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
        c2c(g[:n_rows], g[:n_rows], AXES_1, True, 1.0, 1)  # the azimuth FFT of every row
        best = -1.0
        bi = 0
        bj = 0
        pw = np.empty(n_az)  # |spectrum|² of one elevation row (monotone in |.|, without hypot)
        for i in range(n_el):  # in shifted order, so ties resolve as in the reference
            ke = (i - n_el // 2) % n_el
            for ka in range(n_az):
                acc = np.complex64(0)
                for r in range(n_rows):
                    acc += g[r, ka] * tw[r, ke]
                pw[ka] = np.float64(acc.real) ** 2 + np.float64(acc.imag) ** 2
            for j in range(n_az):
                v2 = pw[(j - n_az // 2) % n_az]
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


@nb.njit(cache=True)
def _window_sums(p: np.ndarray, h: int, out: np.ndarray) -> None:
    """Sums over ``[j - h, j + h]`` clipped to the row, from its prefix sums ``p`` ``(R + 1,)``."""
    R = out.shape[0]
    a = min(h, R)
    b = max(a, R - h)
    for j in range(a):
        out[j] = p[min(R, j + h + 1)] - p[0]
    for j in range(a, b):  # the interior: a plain vector loop
        out[j] = p[j + h + 1] - p[j - h]
    for j in range(b, R):
        out[j] = p[R] - p[max(0, j - h)]


@nb.njit(cache=True)
def _ca_2d_box(
    x: np.ndarray, gd: int, gr: int, td: int, tr: int, box: np.ndarray, noise: np.ndarray
) -> None:
    """CA-CFAR noise: range-window sums per row, then circular sums down columns.

    ``box`` ``(2, D, R)`` is scratch for the outer and guard range-window sums (differences of
    prefix sums). Serial: a map of a few ten thousand cells is done before a second thread would
    have started.
    """
    D, R = x.shape
    od, orr = gd + td, gr + tr
    ro, ri = box[0], box[1]
    p = np.empty(R + 1)  # prefix sums of two rows at a time: two independent chains of adds
    q = np.empty(R + 1)
    for i in range(0, D, 2):
        i2 = min(i + 1, D - 1)
        p[0] = 0.0
        q[0] = 0.0
        for j in range(R):
            p[j + 1] = p[j] + x[i, j]
            q[j + 1] = q[j] + x[i2, j]
        _window_sums(p, orr, ro[i])
        _window_sums(p, gr, ri[i])
        _window_sums(q, orr, ro[i2])
        _window_sums(q, gr, ri[i2])
    cells = np.empty(R)  # training cells of a column (the same for every row)
    for j in range(R):
        cells[j] = (2 * od + 1) * (min(R, j + orr + 1) - max(0, j - orr)) - (2 * gd + 1) * (
            min(R, j + gr + 1) - max(0, j - gr)
        )
    for i in range(D):
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
            acc[j] = acc[j] / cells[j] if cells[j] > 0 else np.inf


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
    n = 0
    for i in range(D):
        xr, nr, kr = x[i], noise[i], keep[i]
        for j in range(R):  # the threshold for the whole row first: a plain vector loop
            kr[j] = xr[j] > scale * nr[j]
        kr[: min(min_bin, R)] = False
        for j in range(min_bin, R):
            if not kr[j]:
                continue
            v = xr[j]
            for di in range(-1, 2):
                ii = (i + di) % D
                for dj in range(max(0, j - 1), min(R, j + 2)):
                    if x[ii, dj] > v:
                        kr[j] = False
            n += kr[j]
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
    ``(L, S)`` peak flags; ``grid`` ``(max_points, n_rows, n_az)`` azimuth spectra of the occupied rows; ``sums``
    ``(C, 2, 2S)`` float32 slow-time sums and energies; ``part`` ``(threads, L, S)`` float32 power
    of each thread's channels; ``planar`` ``(threads, 2, L, S)`` float32 a channel as real and
    imaginary planes for the Doppler FFT, whose bit-reversed order ``rev`` ``(L,)`` and twiddles
    ``tw`` ``(2, L)`` are here too (see :func:`_fft_plan`).
    """

    rd: np.ndarray
    power: np.ndarray
    noise: np.ndarray
    box: np.ndarray
    keep: np.ndarray
    grid: np.ndarray
    sums: np.ndarray
    part: np.ndarray
    planar: np.ndarray
    rev: np.ndarray
    tw: np.ndarray

    @classmethod
    def for_shape(
        cls, n_loops: int, n_channels: int, n_samples: int, plan: Plan | None, grid: bool = True
    ) -> Workspace:
        C, L, S = n_channels, n_loops, n_samples
        lay = plan.layout if plan is not None else None
        m = plan.params.max_points if plan is not None and grid else 0  # else sized per call
        return cls(
            np.empty((C, L, S), np.complex64),
            np.empty((L, S), np.float32),
            np.empty((L, S)),
            np.empty((2, L, S)),
            np.empty((L, S), np.bool_),
            np.empty((m, len(lay.rows) if lay else 1, lay.n_az if lay else 1), np.complex64),
            np.empty((C, 2, 2 * S), np.float32),
            np.empty((nb.config.NUMBA_NUM_THREADS, L, S), np.float32),
            np.empty((nb.config.NUMBA_NUM_THREADS, 2, L, S), np.float32),
            *_fft_plan(L),
        )

    @classmethod
    def for_plan(cls, plan: Plan, grid: bool = True) -> Workspace:
        """Buffers for ``plan``; without ``grid``, angle spectra are allocated per call, sized to the detections."""
        r = plan.radar
        return cls.for_shape(r.n_loops, r.n_virtual, r.n_samples, plan, grid)


@nb.njit(cache=True)
def _fft_planar(re: np.ndarray, im: np.ndarray, tw: np.ndarray) -> None:
    """In-place forward DFT down the rows of planar ``re``, ``im`` ``(N, M)``, N a power of two.

    Rows come in bit-reversed order; each butterfly updates whole rows, so the inner loops are
    plain vector loops over M (this is what makes it faster than a strided FFT). Radix 4 (one
    radix-2 stage first if log2 N is odd); in bit-reversed order the second and third quarter of a
    block hold the residues 2 and 1. ``tw`` ``(2, N)`` float32 is exp(-2πik/N), real and imaginary.
    """
    N, M = re.shape
    h = 1
    q = 1
    while q < N:  # a power of four
        q *= 4
    if q != N:
        for a in range(0, N, 2):
            r0, i0, r1, i1 = re[a], im[a], re[a + 1], im[a + 1]
            for v in range(M):
                xr, xi, yr, yi = r0[v], i0[v], r1[v], i1[v]
                r0[v] = xr + yr
                i0[v] = xi + yi
                r1[v] = xr - yr
                i1[v] = xi - yi
        h = 2
    while h < N:
        step = N // (4 * h)
        for start in range(0, N, 4 * h):
            for j in range(h):
                k = j * step
                w1r, w1i = tw[0, k], tw[1, k]
                w2r, w2i = tw[0, 2 * k], tw[1, 2 * k]
                w3r, w3i = tw[0, 3 * k], tw[1, 3 * k]
                p = start + j
                r0, i0 = re[p], im[p]
                r1, i1 = re[p + h], im[p + h]  # residue 2
                r2, i2 = re[p + 2 * h], im[p + 2 * h]  # residue 1
                r3, i3 = re[p + 3 * h], im[p + 3 * h]
                for v in range(M):
                    ar, ai = r0[v], i0[v]
                    br = r2[v] * w1r - i2[v] * w1i
                    bi = r2[v] * w1i + i2[v] * w1r
                    cr = r1[v] * w2r - i1[v] * w2i
                    ci = r1[v] * w2i + i1[v] * w2r
                    dr = r3[v] * w3r - i3[v] * w3i
                    di = r3[v] * w3i + i3[v] * w3r
                    s0r, s0i, s1r, s1i = ar + cr, ai + ci, ar - cr, ai - ci
                    s2r, s2i, s3r, s3i = br + dr, bi + di, br - dr, bi - di
                    r0[v] = s0r + s2r
                    i0[v] = s0i + s2i
                    r2[v] = s0r - s2r
                    i2[v] = s0i - s2i
                    r1[v] = s1r + s3i
                    i1[v] = s1i - s3r
                    r3[v] = s1r - s3i
                    i3[v] = s1i + s3r
        h *= 4


def _fft_plan(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bit-reversal order ``(n,)`` and twiddles ``(2, n)`` float32 for :func:`_fft_planar`; empty
    when ``n`` is not a power of two (the chain then uses rocket-fft along that axis)."""
    if n < 2 or n & (n - 1):
        return np.zeros(0, np.int64), np.zeros((2, 0), np.float32)
    bits = n.bit_length() - 1
    idx = np.arange(n)
    rev = np.zeros(n, np.int64)
    for b in range(bits):
        rev |= ((idx >> b) & 1) << (bits - 1 - b)
    w = np.exp(-2j * np.pi * idx / n)
    return rev, np.stack([w.real, w.imag]).astype(np.float32)


@nb.njit(cache=True, parallel=True)
def _rd_stage(
    x: np.ndarray,
    w_range: np.ndarray,
    cal: np.ndarray,
    w_doppler: np.ndarray,
    dc: bool,
    clutter: bool,
    sums: np.ndarray,
    rd: np.ndarray,
    planar: np.ndarray,
    rev: np.ndarray,
    tw: np.ndarray,
    part: np.ndarray,
    power: np.ndarray,
    groups: int,
) -> float:
    """``x`` ``(L, C, S)`` → ``rd`` ``(C, L, S)`` per-channel spectra and ``power`` ``(L, S)``.

    Every step before the FFTs is linear and the same for each chirp, so DC and clutter removal,
    calibration and both windows are applied in the time domain, in one pass after one pass for
    the sums. The range FFT runs in place on ``rd[c]`` (rocket-fft, contiguous rows), the Doppler
    FFT on the channel split into real and imaginary planes ``planar[g]`` ``(2, L, S)`` with the
    chirps in bit-reversed order ``rev`` (:func:`_fft_planar`, twiddles ``tw``; rocket-fft on
    both axes if ``rev`` is empty, L not a power of two); writing it back into ``rd[c]`` adds up
    the power. Channels are split into one group per thread (``groups``), each summing power into
    its own ``part`` ``(>= groups, L, S)`` (straight into ``power`` if one), so threads never
    write the same cell. ``cal`` is ``(C, S)`` or empty; ``sums`` ``(C, 2, 2S)`` float32 is
    scratch. Returns the frame's energy (non-finite when a sample is, zero for a silent frame,
    both only to be confirmed) for the input check.
    """
    L, C, S = x.shape
    xf = x.view(np.float32)  # (L, C, 2S): real and imaginary interleaved
    rf = rd.view(np.float32)  # (C, L, 2S)
    G = max(1, min(groups, C, part.shape[0], planar.shape[0]))
    own = rev.size > 0
    w2 = np.empty(2 * S, np.float32)  # the range window per interleaved float
    for s in range(S):
        w2[2 * s] = w_range[s]
        w2[2 * s + 1] = w_range[s]
    energy = 0.0
    h = L // 2
    for g in nb.prange(G):
        acc = power if G == 1 else part[g]  # rows Doppler shifted
        acc[:] = 0
        pre, pim = planar[g, 0], planar[g, 1]
        e = 0.0
        for c in range(g, C, G):
            sums[c] = 0
        for k in range(L):  # slow-time sums per interleaved float, the frame read in its order
            for c in range(g, C, G):
                row, mu, en = xf[k, c], sums[c, 0], sums[c, 1]
                for j in range(2 * S):
                    v = row[j]
                    mu[j] += v
                    en[j] += v * v
        for c in range(g, C, G):
            mu = sums[c, 0]  # the sums become means
            e += sums[c, 1].sum()
            # each chirp's own DC (if removed) is part of the slow-time mean: take it out once
            m_re = np.float32(mu[0::2].sum() / S) if dc else np.float32(0)
            m_im = np.float32(mu[1::2].sum() / S) if dc else np.float32(0)
            for s in range(S):
                mu[2 * s] = (mu[2 * s] - m_re) / np.float32(L) if clutter else np.float32(0)
                mu[2 * s + 1] = (mu[2 * s + 1] - m_im) / np.float32(L) if clutter else np.float32(0)
            for k in range(L):  # the windowed, cleaned chirps into rd[c], in place of the FFT
                row = xf[k, c]
                out = rf[c, k]
                wk = w_doppler[k]
                if dc:
                    a0 = 0.0
                    b0 = 0.0
                    for s in range(S):
                        a0 += row[2 * s]
                        b0 += row[2 * s + 1]
                    a = np.float32(a0 / S)
                    b = np.float32(b0 / S)
                    for s in range(S):
                        out[2 * s] = (row[2 * s] - a - mu[2 * s]) * (w2[2 * s] * wk)
                        out[2 * s + 1] = (row[2 * s + 1] - b - mu[2 * s + 1]) * (w2[2 * s] * wk)
                else:
                    for j in range(2 * S):
                        out[j] = (row[j] - mu[j]) * (w2[j] * wk)
                if cal.size:
                    tk = rd[c, k]
                    for s in range(S):
                        tk[s] *= cal[c, s]
            t = rd[c]
            if not own:
                c2c(t, t, AXES_2D, True, 1.0, 1)
                for d in range(L):
                    src = rf[c, d]
                    dst = acc[(d + h) % L]
                    for s in range(S):
                        re = src[2 * s]
                        im = src[2 * s + 1]
                        dst[s] += re * re + im * im
                continue
            c2c(t, t, AXES_1, True, 1.0, 1)  # range FFT along the contiguous rows
            for k in range(L):  # real and imaginary planes, chirps in bit-reversed order
                src = rf[c, k]
                qr, qi = pre[rev[k]], pim[rev[k]]
                for s in range(S):
                    qr[s] = src[2 * s]
                    qi[s] = src[2 * s + 1]
            _fft_planar(pre, pim, tw)
            for d in range(L):  # back into rd[c], adding up the power on the way
                out = rf[c, d]
                qr, qi = pre[d], pim[d]
                dst = acc[(d + h) % L]
                for s in range(S):
                    re, im = qr[s], qi[s]
                    out[2 * s] = re
                    out[2 * s + 1] = im
                    dst[s] += re * re + im * im
        energy += e
    if G > 1:
        for d in nb.prange(L):  # sum the groups
            dst = power[d]
            dst[:] = part[0, d]
            for g in range(1, G):
                dst += part[g, d]
    return energy


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
    energy = _rd_stage(
        x,
        w_range,
        c2,
        w_doppler,
        dc,
        clutter,
        ws.sums,
        ws.rd,
        ws.planar,
        ws.rev,
        ws.tw,
        ws.part,
        ws.power,
        nb.get_num_threads(),
    )
    # float32 sums: a huge or tiny but valid frame can overflow or underflow them, so confirm
    bad = 0 if np.isfinite(energy) else np.count_nonzero(~np.isfinite(x))
    if bad:
        raise SensingError(f"frame: expected finite values, got {bad} NaN or inf")
    if energy == 0 and not x.any():
        raise SensingError("frame: expected a signal, got all zeros")


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
    return _select(ws.power, ws.noise, plan.scale, plan.min_bin, ws.keep, p.max_points)


@nb.njit(cache=True)
def _select(
    power: np.ndarray, noise: np.ndarray, scale: float, min_bin: int, keep: np.ndarray, most: int
) -> np.ndarray:
    """Peaks above the threshold (see :func:`_peaks`), the ``most`` strongest if more: ``(M, 2)``."""
    peaks = _peaks(power, noise, scale, min_bin, keep)
    if len(peaks) <= most:
        return peaks
    v = np.empty(len(peaks), np.float32)
    for m in range(len(peaks)):
        v[m] = -power[peaks[m, 0], peaks[m, 1]]
    return peaks[np.argsort(v, kind="mergesort")[:most]]  # stable, as the reference


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


@nb.njit(cache=True)
def _tail(
    rd: np.ndarray,
    power: np.ndarray,
    noise: np.ndarray,
    box: np.ndarray,
    keep: np.ndarray,
    ca: bool,
    guard: tuple[int, int],
    train: tuple[int, int],
    scale: float,
    min_bin: int,
    most: int,
    az: np.ndarray,
    ri: np.ndarray,
    slot: np.ndarray,
    n_tx: int,
    tw: np.ndarray,
    grid: np.ndarray,
    range_res: float,
    vel_res: float,
) -> np.ndarray:
    """CA-CFAR (unless ``noise`` is already filled), peaks, AoA and points ``(M, 5)`` in one call."""
    if ca:
        _ca_2d_box(power, guard[0], guard[1], train[0], train[1], box, noise)
    peaks = _select(power, noise, scale, min_bin, keep, most)
    M = len(peaks)
    out = np.empty((M, 5), np.float32)
    if M == 0:
        return out
    if len(grid) < M:
        grid = np.empty((M, grid.shape[1], grid.shape[2]), np.complex64)
    _points(rd, power, noise, peaks, az, ri, slot, n_tx, tw, grid, range_res, vel_res, out)
    return out


def detect_points(plan: Plan, ws: Workspace) -> np.ndarray:
    """:func:`detect_into` then :func:`points_into` in one compiled call: points ``(M, 5)`` float32."""
    p, lay, r = plan.params, plan.layout, plan.radar
    ca = p.method == "ca"
    if not ca:
        g, t = p.guard, p.train
        ws.noise[:] = _os_2d(ws.power, g[0], g[1], t[0], t[1], OS_K)
    return _tail(
        ws.rd,
        ws.power,
        ws.noise,
        ws.box,
        ws.keep,
        ca,
        p.guard,
        p.train,
        plan.scale,
        plan.min_bin,
        p.max_points,
        lay.az,
        lay.row_index,
        lay.slot,
        lay.n_tx,
        lay.row_twiddles,
        ws.grid,
        r.range_resolution,
        r.velocity_resolution,
    )


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
    return detect_points(plan, ws)


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
