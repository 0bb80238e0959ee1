"""CFAR detectors (cell-averaging and ordered-statistic, 1D and 2D) as Numba kernels, and peak grouping.

Inputs are power (linear, not dB). A cell is detected when its power exceeds ``scale`` times the
noise estimated from its training cells (guard cells excluded). Range edges use the cells that
exist; the Doppler axis of 2D maps wraps around, as the spectrum is periodic.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .errors import SensingError


@nb.njit(cache=True)
def _ca_1d(x: np.ndarray, guard: int, train: int) -> np.ndarray:
    n = x.shape[0]
    noise = np.empty(n)
    for i in range(n):
        s = 0.0
        c = 0
        for j in range(i - guard - train, i - guard):
            if 0 <= j < n:
                s += x[j]
                c += 1
        for j in range(i + guard + 1, i + guard + train + 1):
            if 0 <= j < n:
                s += x[j]
                c += 1
        noise[i] = s / c if c > 0 else np.inf
    return noise


@nb.njit(cache=True)
def _os_1d(x: np.ndarray, guard: int, train: int, k: float) -> np.ndarray:
    n = x.shape[0]
    noise = np.empty(n)
    buf = np.empty(2 * train)
    for i in range(n):
        c = 0
        for j in range(i - guard - train, i - guard):
            if 0 <= j < n:
                buf[c] = x[j]
                c += 1
        for j in range(i + guard + 1, i + guard + train + 1):
            if 0 <= j < n:
                buf[c] = x[j]
                c += 1
        if c == 0:
            noise[i] = np.inf
        else:
            srt = np.sort(buf[:c])
            noise[i] = srt[min(c - 1, int(k * c))]
    return noise


@nb.njit(cache=True, parallel=True)
def _ca_2d(x: np.ndarray, gd: int, gr: int, td: int, tr: int) -> np.ndarray:
    nd, nr = x.shape
    noise = np.empty((nd, nr))
    for i in nb.prange(nd):
        for j in range(nr):
            s = 0.0
            c = 0
            for di in range(-gd - td, gd + td + 1):
                ii = (i + di) % nd
                for dj in range(-gr - tr, gr + tr + 1):
                    jj = j + dj
                    if jj < 0 or jj >= nr:
                        continue
                    if abs(di) <= gd and abs(dj) <= gr:
                        continue
                    s += x[ii, jj]
                    c += 1
            noise[i, j] = s / c if c > 0 else np.inf
    return noise


@nb.njit(cache=True, parallel=True)
def _os_2d(x: np.ndarray, gd: int, gr: int, td: int, tr: int, k: float) -> np.ndarray:
    nd, nr = x.shape
    noise = np.empty((nd, nr))
    size = (2 * (gd + td) + 1) * (2 * (gr + tr) + 1)
    for i in nb.prange(nd):
        buf = np.empty(size)
        for j in range(nr):
            c = 0
            for di in range(-gd - td, gd + td + 1):
                ii = (i + di) % nd
                for dj in range(-gr - tr, gr + tr + 1):
                    jj = j + dj
                    if jj < 0 or jj >= nr:
                        continue
                    if abs(di) <= gd and abs(dj) <= gr:
                        continue
                    buf[c] = x[ii, jj]
                    c += 1
            srt = np.sort(buf[:c])
            noise[i, j] = srt[min(c - 1, int(k * c))] if c > 0 else np.inf
    return noise


def _check(x: np.ndarray, ndim: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != ndim:
        raise SensingError(f"CFAR expects a {ndim}D power array, got shape {x.shape}")
    if not np.isfinite(x).all() or (x < 0).any():
        raise SensingError("CFAR input must be finite, non-negative power (linear, not dB)")
    return x


def ca_cfar_1d(
    x: np.ndarray, guard: int = 2, train: int = 8, scale: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """Cell-averaging CFAR over ``(n,)`` power: (detected mask ``(n,)``, noise estimate ``(n,)``)."""
    noise = _ca_1d(_check(x, 1), guard, train)
    return np.asarray(x) > scale * noise, noise


def os_cfar_1d(
    x: np.ndarray, guard: int = 2, train: int = 8, scale: float = 10.0, k: float = 0.75
) -> tuple[np.ndarray, np.ndarray]:
    """Ordered-statistic CFAR: the noise is the ``k``-quantile of the training cells (robust to nearby targets)."""
    noise = _os_1d(_check(x, 1), guard, train, k)
    return np.asarray(x) > scale * noise, noise


def _ca_2d_sat(x: np.ndarray, gd: int, gr: int, td: int, tr: int) -> np.ndarray:
    """CA-CFAR noise by summed-area tables: O(1) per cell whatever the window size."""
    od, orr = gd + td, gr + tr
    p = np.pad(x, ((od, od), (0, 0)), mode="wrap")  # Doppler is periodic
    p = np.pad(p, ((0, 0), (orr, orr)))  # range is not: cells past the edge count as absent
    m = np.pad(np.ones((p.shape[0], x.shape[1])), ((0, 0), (orr, orr)))
    S = np.zeros((p.shape[0] + 1, p.shape[1] + 1))
    S[1:, 1:] = p.cumsum(0).cumsum(1)
    C = np.zeros_like(S)
    C[1:, 1:] = m.cumsum(0).cumsum(1)
    nd, nr = x.shape
    i = np.arange(nd)[:, None]
    j = np.arange(nr)[None, :]

    def box(
        T: np.ndarray, r0: np.ndarray, r1: np.ndarray, c0: np.ndarray, c1: np.ndarray
    ) -> np.ndarray:
        return T[r1, c1] - T[r0, c1] - T[r1, c0] + T[r0, c0]

    outer = box(S, i, i + 2 * od + 1, j, j + 2 * orr + 1)
    inner = box(S, i + td, i + td + 2 * gd + 1, j + tr, j + tr + 2 * gr + 1)
    n_out = box(C, i, i + 2 * od + 1, j, j + 2 * orr + 1)
    n_in = box(C, i + td, i + td + 2 * gd + 1, j + tr, j + tr + 2 * gr + 1)
    n = n_out - n_in
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, (outer - inner) / np.maximum(n, 1), np.inf)


def ca_cfar_2d(
    x: np.ndarray,
    guard: tuple[int, int] = (1, 2),
    train: tuple[int, int] = (4, 8),
    scale: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """2D CA-CFAR over a ``(doppler, range)`` power map; Doppler wraps around."""
    noise = _ca_2d_sat(_check(x, 2), guard[0], guard[1], train[0], train[1])
    return np.asarray(x) > scale * noise, noise


def os_cfar_2d(
    x: np.ndarray,
    guard: tuple[int, int] = (1, 2),
    train: tuple[int, int] = (4, 8),
    scale: float = 10.0,
    k: float = 0.75,
) -> tuple[np.ndarray, np.ndarray]:
    """2D OS-CFAR over a ``(doppler, range)`` power map; Doppler wraps around."""
    noise = _os_2d(_check(x, 2), guard[0], guard[1], train[0], train[1], k)
    return np.asarray(x) > scale * noise, noise


def group_peaks(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Keep detections that are the maximum of their 3×3 neighbourhood (Doppler wraps): ``(M, 2)`` indices."""
    from scipy.ndimage import maximum_filter

    local_max = maximum_filter(x, size=3, mode=("wrap", "nearest")) == x
    return np.argwhere(mask & local_max)
