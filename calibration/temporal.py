"""Clock offsets between sensors from motion both see, and clock drift over a recording.

Two sensors observing the same moving person give the same trajectory (once both are in one frame
through the spatial calibration) on two clocks. The offset is the shift that makes them agree:
the other sensor's samples are interpolated onto the reference stamps shifted by ``δ``, the mean
squared difference is scanned over ``δ`` on a fine grid and the minimum refined by a parabola, so the
precision is well below one frame period. Any per-sample signal works (positions, speeds, motion
energy); constant differences between the signals are removed, so ranges from two radars a few
centimetres apart, or a position seen with a small bias, align on their motion alone.

Convention (``drivers.calibfile``): offset = sensor stamp − reference stamp for the same instant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import make_smoothing_spline

from .errors import CalibrationError


@dataclass
class OffsetResult:
    offset: float  # s, other − reference
    rms: float  # residual of the aligned signals, in their unit
    samples: int  # reference samples inside the overlap
    motion: float  # standard deviation of the reference signal: how much there was to align on
    sigma: float = float("nan")  # s, 1-sigma of the offset (see :func:`offset_sigma`)


def _prep(t: np.ndarray, x: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).reshape(len(t), -1)
    ok = np.isfinite(t) & np.isfinite(x).all(axis=1)
    t, x = t[ok], x[ok]
    if len(t) < 5:
        raise CalibrationError(f"{name}: {len(t)} usable samples; at least 5 are needed")
    order = np.argsort(t)
    return t[order], x[order]


def estimate_offset(
    t_ref: np.ndarray,
    x_ref: np.ndarray,
    t_other: np.ndarray,
    x_other: np.ndarray,
    *,
    max_lag: float = 0.3,
    step: float = 0.0005,
    min_overlap: float = 2.0,
    min_motion: float = 1e-3,
) -> OffsetResult:
    """Offset (s) of the other clock from stamps ``t_*`` (N,)/(M,) s and signals ``x_*`` (N, D)/(M, D)."""
    tr, xr = _prep(t_ref, x_ref, "reference signal")
    to, xo = _prep(t_other, x_other, "other signal")
    if xr.shape[1] != xo.shape[1]:
        raise CalibrationError(f"signals differ in width: {xr.shape[1]} vs {xo.shape[1]}")
    overlap = min(tr[-1], to[-1] - max_lag) - max(tr[0], to[0] + max_lag)
    if overlap < min_overlap:
        raise CalibrationError(
            f"the two streams overlap for {max(overlap, 0):.2f} s (need {min_overlap:g} s plus the "
            f"±{max_lag:g} s search): no common time to align on"
        )
    motion = float(np.sqrt(xr.var(axis=0).sum()))
    if motion < min_motion:
        raise CalibrationError(
            f"the reference signal barely changes (std {motion:.2g}): without motion there is "
            "nothing to align; record someone walking through the overlap"
        )
    # only the other stream's samples that can meet the reference matter (and smoothing-spline
    # GCV costs grow with the samples)
    near = (to >= tr[0] - 2 * max_lag) & (to <= tr[-1] + 2 * max_lag)
    to, xo = to[near], xo[near]
    lags = np.arange(-max_lag, max_lag + step / 2, step)
    inside = (tr >= to[0] + max_lag) & (tr <= to[-1] - max_lag)
    # Both signals become smoothing splines (smoothness chosen by GCV) compared on a fine common
    # grid: interpolating raw noisy samples would average noise away only between samples and
    # pull the minimum toward half-sample shifts.
    fr = [make_smoothing_spline(tr, xr[:, j]) for j in range(xr.shape[1])]
    fo = [make_smoothing_spline(to, xo[:, j]) for j in range(xo.shape[1])]
    t_in = np.arange(tr[inside][0], tr[inside][-1], 0.005)
    x_in = np.column_stack([f(t_in) for f in fr])

    def cost(d: float) -> float:
        y = np.column_stack([f(t_in + d) for f in fo])
        diff = y - x_in
        # a constant difference (sensors a few cm apart, a range bias) would otherwise pass for a
        # time shift of a moving target; only the varying part aligns the clocks
        diff -= diff.mean(axis=0)
        return float(np.mean(np.sum(diff**2, axis=1)))

    # coarse scan over the whole search, then the fine grid around the coarse minimum
    coarse = lags[::10]
    k = int(np.argmin([cost(d) for d in coarse]))
    if k in (0, len(coarse) - 1):
        raise CalibrationError(
            f"the best alignment is at the edge of the ±{max_lag:g} s search; widen max_lag "
            "or check that both streams see the same motion"
        )
    lags = lags[(lags >= coarse[k - 1]) & (lags <= coarse[k + 1])]
    c = np.array([cost(d) for d in lags])
    k = int(np.clip(np.argmin(c), 1, len(lags) - 2))
    a, b, cc = c[k - 1 : k + 2]
    frac = 0.5 * (a - cc) / (a - 2 * b + cc) if (a - 2 * b + cc) > 0 else 0.0
    d = lags[k] + frac * step
    sigma = offset_sigma(tr[inside], xr[inside], fo, d)
    return OffsetResult(
        float(d), float(np.sqrt(max(cost(d), 0.0))), int(inside.sum()), motion, sigma
    )


def offset_sigma(t: np.ndarray, x: np.ndarray, fo: list, d: float) -> float:
    """1-sigma (s) of an offset ``d`` from the reference samples ``t`` (N,) s, ``x`` (N, D) and the
    other signal's splines ``fo`` (D callables): the Gauss-Newton variance, residual variance over
    the signal's squared slope, ``σ² = s_e² / Σ|ẏ|²``, times ``(1 + ρ) / (1 − ρ)`` for residuals
    correlated from sample to sample (lag-1 autocorrelation ``ρ``, clipped to [0, 0.9]): the
    errors of person tracks are smooth biases (what each sensor sees of the body), not white noise,
    and white-noise error bars came out 2-3 times too small on simulated walks."""
    y = np.column_stack([f(t + d) for f in fo])
    e = y - x
    e -= e.mean(axis=0)
    dy = np.column_stack([f.derivative()(t + d) for f in fo])
    slope2 = float(np.sum(dy**2))
    if len(t) < 3 or slope2 <= 0:
        return float("inf")
    flat = e.ravel(order="F")
    rho = float(np.sum(e[1:] * e[:-1]) / max(np.sum(e**2), 1e-300))
    rho = float(np.clip(rho, 0.0, 0.9))
    s2 = float(np.sum(flat**2)) / (flat.size - x.shape[1])
    return float(np.sqrt(s2 / slope2 * (1 + rho) / (1 - rho)))


def estimate_drift(
    t_ref: np.ndarray,
    x_ref: np.ndarray,
    t_other: np.ndarray,
    x_other: np.ndarray,
    *,
    window: float = 10.0,
    max_lag: float = 0.3,
) -> tuple[float, float, np.ndarray]:
    """Linear clock drift: offsets in consecutive ``window`` s windows fitted by a line.
    Returns (offset at t_ref[0] s, drift s/s, per-window ``(K, 2)`` [window centre, offset])."""
    tr, xr = _prep(t_ref, x_ref, "reference signal")
    rows = []
    start = tr[0]
    while start + window <= tr[-1] + 1e-9:
        sel = (tr >= start) & (tr < start + window)
        try:
            r = estimate_offset(
                tr[sel], xr[sel], t_other, x_other, max_lag=max_lag, min_overlap=window / 2
            )
            rows.append((start + window / 2, r.offset))
        except CalibrationError:
            pass  # a window without motion says nothing about drift
        start += window
    if len(rows) < 2:
        raise CalibrationError(
            f"drift needs offsets in 2 or more {window:g} s windows with motion; got {len(rows)}"
        )
    w = np.array(rows)
    slope, icpt = np.polyfit(w[:, 0] - tr[0], w[:, 1], 1)
    return float(icpt), float(slope), w


def moving_range(
    cube: np.ndarray, radar: object, *, min_range: float = 0.5, half_width: int = 6
) -> float:
    """Range (m) of the strongest moving reflector in a complex ``(loops, tx, rx, samples)`` frame:
    static clutter removed, power summed over chirps and channels, then the power-weighted centroid
    of the bins around the peak. Dominated by the torso, it is a smooth motion signal per frame."""
    x = np.asarray(cube)
    x = x - x.mean(axis=0, keepdims=True)
    n = x.shape[-1]
    p = (np.abs(np.fft.fft(x * np.hanning(n), axis=-1)) ** 2).reshape(-1, n).sum(axis=0)[: n // 2]
    res = radar.range_resolution  # type: ignore[attr-defined]
    p[: int(np.ceil(min_range / res))] = 0
    k = int(np.argmax(p))
    sl = slice(max(k - half_width, 0), k + half_width + 1)
    bins = np.arange(n // 2)[sl]
    return float((bins * p[sl]).sum() / p[sl].sum() * res)
