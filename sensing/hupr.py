"""HuPR-exact heatmaps and network input (facts from HuPR's process_iwr1843.py and dataset.py).

The stored heatmap of one radar frame is complex ``(16 Doppler, 64 range, 64 azimuth, 8 elevation)``:
static clutter removal over the 64 loops, an unwindowed FFT over (chirp, sample), the 8 channels with
elevation 0 at azimuth 0..7 of elevation row 0 and the 4 elevated channels at azimuth 2..5 of row 1,
an 8-point elevation FFT on azimuth columns 2..5 only, a 64-point azimuth FFT on every row, range
bins 94 down to 31, the Doppler spectrum shifted with bins 24..39 kept, and azimuth and elevation
shifted then flipped.

The implementation prunes the angle FFTs: only 8 + 4 of the 512 angle inputs are non-zero, so the
whole angle step is one constant (12, 512) matrix applied after cropping range and Doppler first,
which also writes the output in its final order.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from drivers import RadarConfig

from .checks import check_cube
from .errors import SensingError
from .range_doppler import WORKERS

RANGE_BINS = np.arange(94, 30, -1)  # output range index r -> range-FFT bin 94 - r
N_DOPPLER_KEPT = 16
N_AZ, N_EL = 64, 8
ELEVATED_COLUMNS = slice(2, 6)


def _layout(radar: RadarConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flat virtual-channel indices of row 0 (azimuth order) and row 1, and their azimuth columns."""
    v = radar.virtual_positions.reshape(-1, 2)
    az, el = v[:, 0].astype(int), v[:, 1].astype(int)
    row0, row1 = np.flatnonzero(el == 0), np.flatnonzero(el == 1)
    if (
        len(row0) != 8
        or len(row1) != 4
        or sorted(az[row0]) != list(range(8))
        or sorted(az[row1]) != [2, 3, 4, 5]
    ):
        raise SensingError(
            f"radar {radar.name!r} is not HuPR's array (8 channels at azimuth 0..7 and 4 elevated at 2..5); "
            f"got azimuth {az.tolist()} elevation {el.tolist()}"
        )
    row0 = row0[np.argsort(az[row0])]
    row1 = row1[np.argsort(az[row1])]
    return row0, row1, az[row0], az[row1]


def _dft(cols: np.ndarray, n: int) -> np.ndarray:
    """``(len(cols), n)`` DFT rows: input at column c contributes exp(-2πj c k / n) to output k."""
    return np.exp(-2j * np.pi * np.outer(cols, np.arange(n)) / n)


class HuprHeatmapper:
    """Computes HuPR heatmaps for one radar config; constant matrices are built once."""

    def __init__(self, radar: RadarConfig) -> None:
        if radar.n_loops != 64 or radar.n_samples != 256:
            raise SensingError(
                f"HuPR heatmaps need 64 loops and 256 samples, radar {radar.name!r} has {radar.n_loops} and {radar.n_samples}"
            )
        self.radar = radar
        self.row0, self.row1, _, _ = _layout(radar)
        # output azimuth index a holds FFT bin (95 - a) % 64 (shift then flip); elevation e holds (11 - e) % 8
        az_bins = (95 - np.arange(N_AZ)) % N_AZ
        el_bins = (11 - np.arange(N_EL)) % N_EL
        self.W0 = _dft(np.arange(8), N_AZ)[:, az_bins].astype(np.complex64)  # (8, 64)
        self.Wmid = _dft(np.arange(2, 6), N_AZ)[:, az_bins].astype(np.complex64)  # (4, 64)
        w_e = np.exp(-2j * np.pi * el_bins / N_EL)  # elevation phase of row 1 per output elevation
        self.el_is_zero = el_bins == 0
        self.w_e = w_e.astype(np.complex64)
        # output Doppler d holds unshifted bin (56 + d) % 64
        self.doppler_bins = (56 + np.arange(N_DOPPLER_KEPT)) % 64
        self.doppler_dft = _dft(np.arange(64), 64)[:, self.doppler_bins].astype(
            np.complex64
        )  # (64, 16)
        # The whole angle step (placement, elevation FFT on columns 2..5, azimuth FFT, shifts and
        # flips) is linear in the 12 channels: one constant (12, 64·8) matrix in the output order.
        M = np.zeros((radar.n_virtual, N_AZ, N_EL), np.complex64)
        for k, ch in enumerate(self.row0):
            for e in range(N_EL):
                if self.el_is_zero[e]:
                    M[ch, :, e] = self.W0[k]
                elif 2 <= k <= 5:  # only these columns had an elevation FFT
                    M[ch, :, e] = self.Wmid[k - 2]
        for k, ch in enumerate(self.row1):
            for e in range(N_EL):
                M[ch, :, e] = self.Wmid[k] * (1 if self.el_is_zero[e] else self.w_e[e])
        self.angle = M.reshape(radar.n_virtual, N_AZ * N_EL)

    def __call__(self, cube: np.ndarray, *, check: bool = True) -> np.ndarray:
        """Frame ``(64 loops, 3 tx, 4 rx, 256 samples)`` → complex64 ``(16, 64, 64, 8)`` (Doppler, range, azimuth, elevation)."""
        if check:
            cube = check_cube(cube, self.radar)
        ch = cube.reshape(64, -1, 256)  # (loops, virtual channel, samples)
        rng = sfft.fft(ch, axis=-1, workers=WORKERS)[..., RANGE_BINS]  # (64 loops, 12, 64 range)
        rng -= rng.mean(axis=0, keepdims=True)  # clutter removal commutes with the range FFT
        # Doppler: only 16 of 64 bins survive, a (16, 64) DFT over loops is cheaper than FFT + crop
        dop = np.tensordot(self.doppler_dft.T, rng, axes=(1, 0))  # (16, 12, 64 range)
        x = dop.transpose(0, 2, 1).reshape(-1, dop.shape[1])  # (16·64, 12)
        return (x @ self.angle).reshape(N_DOPPLER_KEPT, 64, N_AZ, N_EL)


def hupr_heatmap(cube: np.ndarray, radar: RadarConfig) -> np.ndarray:
    """One-shot form of :class:`HuprHeatmapper` (build the class once for streams)."""
    return HuprHeatmapper(radar)(cube)


def clamped_window(t: int, n_frames: int, before: int = 4, after: int = 3) -> np.ndarray:
    """Frame indices t-4..t+3 clamped to 0..n_frames-1, as HuPR's loader takes them."""
    return np.clip(np.arange(t - before, t + after + 1), 0, n_frames - 1)


def normalize_channels(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """HuPR's per-elevation-channel normalisation of real ``(..., range, az, el)``: min-max then z-score.

    The standard deviation is the unbiased one (torch.std). Returns the array and whether any
    channel was constant (HuPR would produce NaN there; we return zeros and say so).
    """
    c = x.reshape(*x.shape[:-3], -1, x.shape[-1]).astype(np.float64)  # (..., r*a, el)
    lo = c.min(axis=-2, keepdims=True)
    z = c - lo
    hi = z.max(axis=-2, keepdims=True)
    degenerate = bool((hi == 0).any())
    n = z / np.where(hi == 0, 1, hi)
    mean = n.mean(axis=-2, keepdims=True)
    std = n.std(axis=-2, ddof=1, keepdims=True)
    degenerate |= bool((std == 0).any())
    out = (n - mean) / np.where(std == 0, 1, std)
    out[np.broadcast_to(std == 0, out.shape)] = 0
    return out.reshape(x.shape).astype(np.float32), degenerate


def network_input(
    heatmaps: np.ndarray, t: int, doppler: slice = slice(4, 12)
) -> tuple[np.ndarray, bool]:
    """HuPR's input for frame ``t`` of a sequence of heatmaps ``(T, 16, 64, 64, 8)`` of one radar.

    Returns float32 ``(8 frames, 8 Doppler, 2 real/imag, 64 range, 64 azimuth, 8 elevation)`` and a
    flag that is True when a channel was constant (see :func:`normalize_channels`).
    """
    if heatmaps.ndim != 5 or heatmaps.shape[1:] != (16, 64, 64, 8):
        raise SensingError(f"expected heatmaps (T, 16, 64, 64, 8), got {heatmaps.shape}")
    idx = clamped_window(t, len(heatmaps))
    sel = heatmaps[idx][:, doppler]  # (8, 8, 64, 64, 8)
    re, f1 = normalize_channels(sel.real)
    im, f2 = normalize_channels(sel.imag)
    return np.stack([re, im], axis=2), f1 or f2
