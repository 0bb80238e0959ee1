"""RT-Pose's MMWCAS radar chain: raw frame → polar cube → Cartesian cube → training tensor → ROI.

Facts from RT-Pose's processing (``data_processing/`` of wshanmu/RT-POSE: ``process_cas.m``,
``calibrationCascade/datapath.m``, ``rangeProcCascade``, ``DopplerProcClutterRemove``,
``Process_4DRT.m``, ``4Dradar2xyz.py``; loader ``cruw_pose.py`` of ipl-uw/RT-POSE):

* calibration per chirp slot (physical TX ``t``) and receiver ``r`` (device order): samples times
  ``exp(-1j·ω·n)`` with ``ω = 2π (RangeMat[t,r] − RangeMat[t_ref,0])·fs_cal/fs·S/S_cal / (N·interp)``
  and ``PeakValMat[t_ref,0] / PeakValMat[t,r]`` normalised to unit magnitude; ``t_ref`` is the
  first TX fired;
* range: subtract each chirp's mean, MATLAB ``hanning`` window (no zero end points), FFT to the next
  power of two (256); Doppler: FFT over loops (64), no window, no clutter removal, ``fftshift``;
* virtual channels (TX in firing order, RX in ascending azimuth position) go to an aperture of
  ``max(az)+1 × max(el)+1`` (86 × 7) by their half-wavelength positions from the radar config; where
  two channels share a position the first in that order wins (MATLAB ``unique``); zeros elsewhere;
* azimuth FFT 128 + shift, elevation FFT 32 + shift → polar ``(D64, R256, A128, E32)``;
* Cartesian voxel centres x = i·11.6/256 (256), y = −10.05 + j·20.1/128 (128), z = −5.8 + k·11.6/32
  (32), out-of-view voxels ``1+0j``, saved ``DZYX (64, 32, 128, 256)`` complex64;
* training tensor: magnitude, Doppler max over pairs (64 → 32), ``(|x| − 1)/(1e8 − 1)`` clipped at 0,
  float16; the loader crops it to the ROI, divides by 10 and clips at 0 → ``(32, 16, 64, 160)``.

Two resamplers fill the Cartesian grid by trilinear interpolation of the polar cube. ``reference``
reproduces ``4Dradar2xyz.py`` exactly, quirks included: bins bracketed one low (so it extrapolates
from the pair below), angle bins laid linearly over 120° azimuth / 60° elevation, range bins taken
as 11.6/256 m, output flipped along y. ``physical`` puts each voxel where the signal model says:
range bin ``r / Δr`` with the radar's true bin spacing, azimuth bin ``A/2 − A/2·y/r`` and elevation
bin ``E/2 − E/2·z/r`` (uniform in sin θ; signs of the simulator's model, ``drivers.sim``: carrier
phase +2π f τ, azimuth index toward +y, elevation index toward +z), y index ``j`` at the grid's y_j.
Interpolation indices and weights are computed once per processor, so a frame is gathers only.

Sign caveat (unverified on real data): RT-Pose's reference reads higher elevation bins as up and
higher azimuth bins as right (−y); the simulator's model gives down and right; TI's cascade
scripts turn their points upside down and left-right. ``up_is_high_elevation=True`` makes the
physical resampler follow RT-Pose's reading for real captures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numba as nb
import numpy as np
import scipy.fft as sfft

from drivers import RadarConfig

from .checks import check_cube
from .errors import SensingError
from .range_doppler import WORKERS

N_AZ, N_EL = 128, 32
GRID_X = np.arange(0, 11.6, 11.6 / 256)  # (256,) m, voxel centres along x (forward)
GRID_Y = np.arange(-10.05, 10.05, 20.1 / 128)  # (128,) m, along y (left)
GRID_Z = np.arange(-5.8, 5.8, 11.6 / 32)  # (32,) m, along z (up)
GRID_SHAPE = (len(GRID_Z), len(GRID_Y), len(GRID_X))
NORM_LOW, NORM_HIGH = 1.0, 1e8  # training tensor: (|x| - 1) / (1e8 - 1)
LOADER_SCALE = 10.0  # the loader's NORMALIZING_VALUE (0, 10)
ROI = {"z": (-1.0875000000000021, 4.7125), "y": (-5.0250000000000234, 5.024999999999931),
       "x": (0.7703125, 8.0203125)}  # fmt: skip  # RT-Pose's roi1, metres
Resampler = Literal["reference", "physical"]
_DEG = math.pi / 180.0


# -- calibration ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CascadeCalibration:
    """Per TX/RX frequency and phase correction of the cascade (TI's ``calibrateResults_*.mat``).

    ``range_mat`` ``(n_tx_phys, n_rx_phys)`` float64: the loop-back peak's range bin (of a range FFT
    interpolated ``interp`` times, measured with ``slope_calib`` and ``fs_calib``);
    ``peak_val_mat`` same shape complex128: the peak's value. Rows are physical TX, columns
    device-order RX.
    """

    range_mat: np.ndarray
    peak_val_mat: np.ndarray
    fs_calib: float = 8e6
    slope_calib: float = 78.986e12
    interp: int = 5
    phase_only: bool = True

    @classmethod
    def load(cls, path: str | Path) -> CascadeCalibration:
        """Read ``calibResult.RangeMat`` / ``.PeakValMat`` (and ``params`` when present) from a .mat file.

        MATLAB stores the integer-valued ``RangeMat`` compactly as uint16; it is read as float64
        (uint16 arithmetic would wrap on the subtraction).
        """
        import scipy.io as sio

        try:
            m = sio.loadmat(str(path))
        except (OSError, ValueError, NotImplementedError) as exc:
            raise SensingError(f"{path}: not a readable MATLAB calibration file ({exc})") from None
        if "calibResult" not in m:
            keys = [k for k in m if not k.startswith("__")]
            raise SensingError(f"{path}: no 'calibResult' struct (variables: {keys})")
        c = m["calibResult"][0, 0]
        for f in ("RangeMat", "PeakValMat"):
            if f not in (c.dtype.names or ()):
                raise SensingError(f"{path}: calibResult has no field {f!r} ({c.dtype.names})")
        kw: dict[str, float] = {}
        if "params" in m:
            p = m["params"][0, 0]
            names = p.dtype.names or ()
            if "Slope_MHzperus" in names:
                kw["slope_calib"] = float(p["Slope_MHzperus"].ravel()[0]) * 1e12
            if "Sampling_Rate_sps" in names:
                kw["fs_calib"] = float(p["Sampling_Rate_sps"].ravel()[0])
        return cls(
            np.asarray(c["RangeMat"], np.float64),
            np.asarray(c["PeakValMat"], np.complex128),
            **kw,  # type: ignore[arg-type]
        )

    def factors(self, radar: RadarConfig) -> np.ndarray:
        """complex64 ``(n_tx, n_rx, n_samples)`` factors for a frame of ``radar`` (TX in firing order)."""
        assert radar.antenna is not None
        want = (len(radar.antenna.tx_positions), len(radar.antenna.rx_positions))
        for name, m in (("range_mat", self.range_mat), ("peak_val_mat", self.peak_val_mat)):
            if np.shape(m) != want:
                raise SensingError(
                    f"calibration {name} has shape {np.shape(m)}, radar {radar.name!r} needs {want} (TX, RX)"
                )
        tx, rx = list(radar.tx_order), list(radar.rx_channels)
        t_ref = radar.tx_order[0]
        rm = self.range_mat[np.ix_(tx, rx)] - self.range_mat[t_ref, 0]
        f = rm * self.fs_calib / radar.sample_rate * radar.slope / self.slope_calib
        omega = 2 * np.pi * f / (radar.n_samples * self.interp)  # (n_tx, n_rx)
        freq = np.exp(-1j * omega[..., None] * np.arange(radar.n_samples))
        ph = self.peak_val_mat[t_ref, 0] / self.peak_val_mat[np.ix_(tx, rx)]
        if self.phase_only:
            ph = ph / np.abs(ph)
        return (freq * ph[..., None]).astype(np.complex64)


# -- polar chain, step by step ----------------------------------------------------------------
def next_pow2(n: int) -> int:
    return 1 << (int(n) - 1).bit_length()


def range_window(n: int) -> np.ndarray:
    """float64 ``(n,)``: MATLAB ``hanning(n)`` (0.5 − 0.5 cos(2πk/(n+1)), k = 1..n), first half mirrored."""
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1, n + 1) / (n + 1))
    half = w[: n // 2]
    out = np.ones(n)
    out[: len(half)] = half
    out[n - len(half) :] = half[::-1]
    return out


def range_doppler(
    frame: np.ndarray, radar: RadarConfig, calibration: CascadeCalibration | None = None
) -> np.ndarray:
    """Frame ``(loops, tx, rx, samples)`` → complex64 ``(D, R, tx, rx)``: calibrated range and Doppler FFTs."""
    x = check_cube(frame, radar)
    if calibration is not None:
        x = x * calibration.factors(radar)
    x = (x - x.mean(axis=-1, keepdims=True)) * range_window(radar.n_samples).astype(np.float32)
    rf = sfft.fft(x, n=next_pow2(radar.n_samples), axis=-1, workers=WORKERS)
    df = sfft.fftshift(sfft.fft(rf, n=next_pow2(radar.n_loops), axis=0, workers=WORKERS), axes=0)
    return df.transpose(0, 3, 1, 2).astype(np.complex64)


@dataclass(frozen=True)
class Aperture:
    """Where each kept virtual channel sits: flat channel ``tx_slot·n_rx + rx``, azimuth, elevation."""

    channel: np.ndarray  # (K,) int, flat virtual-channel index
    az: np.ndarray  # (K,) int, half-wavelengths
    el: np.ndarray  # (K,) int
    shape: tuple[int, int]  # (n_az, n_el) of the aperture grid


def aperture_layout(radar: RadarConfig) -> Aperture:
    """Unique aperture positions of ``radar``'s virtual array, first channel in MIMO order winning."""
    v = radar.virtual_positions  # (tx, rx, 2)
    if np.any(v < 0) or not np.allclose(v, np.rint(v)):
        raise SensingError(
            f"radar {radar.name!r}: virtual positions must be non-negative whole half-wavelengths"
        )
    vi = np.rint(v).astype(int)
    rx_order = np.argsort(radar.rx_positions[:, 0], kind="stable")
    seen: dict[tuple[int, int], int] = {}
    for k in range(radar.n_tx):
        for j in rx_order:
            seen.setdefault((int(vi[k, j, 0]), int(vi[k, j, 1])), k * radar.n_rx + int(j))
    pos = np.array(list(seen.keys()))
    shape = (int(pos[:, 0].max()) + 1, int(pos[:, 1].max()) + 1)
    return Aperture(np.array(list(seen.values())), pos[:, 0], pos[:, 1], shape)


def to_aperture(rd: np.ndarray, ap: Aperture) -> np.ndarray:
    """``(D, R, tx, rx)`` → ``(D, R, n_az, n_el)`` with each kept channel at its position, zeros elsewhere."""
    D, R = rd.shape[:2]
    flat = rd.reshape(D, R, -1)
    out = np.zeros((D, R, *ap.shape), rd.dtype)
    out[:, :, ap.az, ap.el] = flat[:, :, ap.channel]
    return out


def angle_fft(grid: np.ndarray, n_az: int = N_AZ, n_el: int = N_EL) -> np.ndarray:
    """``(D, R, n_az_in, n_el_in)`` → ``(D, R, 128, 32)``: zero-padded azimuth then elevation FFT, each shifted."""
    a = sfft.fftshift(sfft.fft(grid, n=n_az, axis=2, workers=WORKERS), axes=2)
    return sfft.fftshift(sfft.fft(a, n=n_el, axis=3, workers=WORKERS), axes=3).astype(np.complex64)


def polar_cube(
    frame: np.ndarray, radar: RadarConfig, calibration: CascadeCalibration | None = None
) -> np.ndarray:
    """The whole polar chain step by step: complex64 ``(D, R, A128, E32)`` (use the processor for speed)."""
    return angle_fft(to_aperture(range_doppler(frame, radar, calibration), aperture_layout(radar)))


# -- Cartesian resampling ---------------------------------------------------------------------
@dataclass(frozen=True)
class Taps:
    """Trilinear taps of voxels into a polar cube flattened as ``(E·A·R)`` (index ``(e·A + a)·R + r``).

    ``index`` int32 ``(V, 8)``, ``weight`` float32 ``(V, 8)``, ``valid`` bool ``(V,)``: invalid
    (out-of-view) voxels get ``1+0j``. ``shape`` is the voxel grid ``(Z, Y, X)`` (V = Z·Y·X);
    ``n_range`` the range bins of the cube they index.
    """

    index: np.ndarray
    weight: np.ndarray
    valid: np.ndarray
    shape: tuple[int, int, int]
    n_range: int

    def subset(self, z: slice, y: slice, x: slice) -> Taps:
        """The taps of a box of voxels, in the same (Z, Y, X) order."""
        ids = np.arange(self.valid.size).reshape(self.shape)[z, y, x]
        f = ids.reshape(-1)
        return Taps(self.index[f], self.weight[f], self.valid[f], ids.shape, self.n_range)  # type: ignore[arg-type]


def _ref_bracket(v: np.ndarray, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``findIndexForBiInt``: i with arr[i] ≤ v < arr[i+1], returned as (i−1, i); −1 marks not found."""
    i = np.searchsorted(arr, v, side="right") - 1
    bad = (i < 1) | (i > len(arr) - 2)
    return np.where(bad, -1, i - 1), np.where(bad, -1, i)


def _combine(
    ri: tuple[np.ndarray, np.ndarray],
    rw: tuple[np.ndarray, np.ndarray],
    ai: tuple[np.ndarray, np.ndarray],
    aw: tuple[np.ndarray, np.ndarray],
    ei: tuple[np.ndarray, np.ndarray],
    ew: tuple[np.ndarray, np.ndarray],
    valid: np.ndarray,
    n_range: int,
) -> Taps:
    idx, w = [], []
    for a in (0, 1):
        for b in (0, 1):
            for c in (0, 1):
                idx.append((ei[c] * N_AZ + ai[b]) * n_range + ri[a])
                w.append(rw[a] * aw[b] * ew[c])
    index = np.where(valid[:, None], np.stack(idx, 1), 0).astype(np.int32)
    weight = np.where(valid[:, None], np.stack(w, 1), 0).astype(np.float32)
    return Taps(index, weight, valid, GRID_SHAPE, n_range)


def reference_taps() -> Taps:
    """Taps reproducing ``4Dradar2xyz.py`` for the ``(32, 128, 256)`` grid, output already y-flipped.

    Output voxel ``(k, j, i)`` is the reference's voxel at x_i, y_{127−j}, z_k: range
    ``√(x²+y²+z²)``, azimuth ``150° − a`` with ``a = atan(x/y)`` (+π when negative, π/2 at y = 0),
    elevation ``atan(z/√(x²+y²)) + 30°``; in view when r ≤ 11.6 m, azimuth in [0°, 120°] and
    elevation in [0°, 60°] and every bracket exists. Bins are 11.6/256 m, 120/128° and 60/32°;
    the bracket ``(i−1, i)`` below the value with weights ``(b[i] − v, v − b[i−1]) / (b[i] − b[i−1])``.
    """
    arr_r = np.arange(0, 11.6, 11.6 / 256)
    arr_e = np.arange(0, 60, 60 / 32) * _DEG
    arr_a = np.arange(0, 120, 120 / 128) * _DEG
    z, y, x = np.meshgrid(GRID_Z, GRID_Y[::-1], GRID_X, indexing="ij")
    z, y, x = z.reshape(-1), y.reshape(-1), x.reshape(-1)
    r = np.sqrt(x**2 + y**2 + z**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(y == 0.0, math.pi / 2, np.arctan(x / y))
        rho2 = x**2 + y**2
        e = np.where(rho2 == 0, math.pi / 2, np.arctan(z / np.sqrt(rho2)))
    a = np.where(a < 0, a + math.pi, a)
    e = e + 30 * _DEG
    a = 150 * _DEG - a
    valid = (r >= 0) & (r <= 11.6) & (e >= 0) & (e <= 60 * _DEG) & (a >= 0) & (a <= 120 * _DEG)
    ri, ai, ei = _ref_bracket(r, arr_r), _ref_bracket(a, arr_a), _ref_bracket(e, arr_e)
    for i0, _ in (ri, ai, ei):
        valid &= i0 >= 0

    def weights(v: np.ndarray, arr: np.ndarray, i: tuple[np.ndarray, np.ndarray]) -> tuple:
        lo, hi = arr[np.maximum(i[0], 0)], arr[np.maximum(i[1], 0)]
        d = np.where(valid, hi - lo, 1.0)
        return (hi - v) / d, (v - lo) / d

    return _combine(
        ri, weights(r, arr_r, ri), ai, weights(a, arr_a, ai), ei, weights(e, arr_e, ei),
        valid, 256,
    )  # fmt: skip


def physical_taps(radar: RadarConfig, up_is_high_elevation: bool = False) -> Taps:
    """Taps placing each voxel of the ``(32, 128, 256)`` grid at its physical range and sin-angles.

    Elevation bin ``E/2 − E/2·z/r`` (the simulator's sign), or ``E/2 + E/2·z/r`` when
    ``up_is_high_elevation`` (RT-Pose's reading of real captures; see the module notes).
    """
    n_range = next_pow2(radar.n_samples)
    dr = radar.range_resolution * radar.n_samples / n_range  # metres per range-FFT bin
    z, y, x = np.meshgrid(GRID_Z, GRID_Y, GRID_X, indexing="ij")
    z, y, x = z.reshape(-1), y.reshape(-1), x.reshape(-1)
    r = np.sqrt(x**2 + y**2 + z**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ur, uz = np.where(r > 0, y / r, 0.0), np.where(r > 0, z / r, 0.0)
    el_sign = 1 if up_is_high_elevation else -1
    bins = (r / dr, N_AZ / 2 - N_AZ / 2 * ur, N_EL / 2 + el_sign * N_EL / 2 * uz)
    sizes = (n_range, N_AZ, N_EL)
    valid = x >= 0
    ids, ws = [], []
    for b, n in zip(bins, sizes, strict=True):
        valid &= (b >= 0) & (b <= n - 1)
        i0 = np.clip(np.floor(b).astype(np.int64), 0, n - 2)
        t = b - i0
        ids.append((i0, i0 + 1))
        ws.append((1 - t, t))
    return _combine(ids[0], ws[0], ids[1], ws[1], ids[2], ws[2], valid, n_range)


_CHUNK = 512  # voxels per parallel work item
# Kernels work on planar float32 (real row, imaginary row) entries: LLVM vectorises those loops,
# not loops over complex numbers.


@nb.njit(cache=True, fastmath=True)
def _interp(
    entries: np.ndarray, index: np.ndarray, weight: np.ndarray, chunk: int
) -> tuple[np.ndarray, int, int]:
    """Trilinear sums of chunk ``chunk``'s voxels v0..v1 from planar entries ``(U, 2, D)``.

    Returns ``(v1 − v0, 2, D)`` float32, v0, v1.
    """
    n_d = entries.shape[2]
    v0 = chunk * _CHUNK
    v1 = min(v0 + _CHUNK, index.shape[0])
    acc = np.zeros((v1 - v0, 2, n_d), np.float32)
    for v in range(v0, v1):
        for t in range(8):
            w = weight[v, t]
            row = index[v, t]
            for d in range(n_d):
                acc[v - v0, 0, d] += w * entries[row, 0, d]
            for d in range(n_d):
                acc[v - v0, 1, d] += w * entries[row, 1, d]
    return acc, v0, v1


@nb.njit(cache=True, parallel=True, fastmath=True)
def _gather(
    entries: np.ndarray, index: np.ndarray, weight: np.ndarray, valid: np.ndarray
) -> np.ndarray:
    """Planar entries ``(U, 2, D)`` and taps → complex64 ``(D, V)``; invalid voxels ``1+0j``."""
    n_vox, n_d = index.shape[0], entries.shape[2]
    out = np.empty((n_d, n_vox), np.complex64)
    for c in nb.prange((n_vox + _CHUNK - 1) // _CHUNK):
        acc, v0, v1 = _interp(entries, index, weight, c)
        for d in range(n_d):
            for v in range(v0, v1):
                if valid[v]:
                    out[d, v] = complex(acc[v - v0, 0, d], acc[v - v0, 1, d])
                else:
                    out[d, v] = 1.0
    return out


@nb.njit(cache=True, parallel=True)  # no fastmath: the scaling must round as numpy's does
def _gather_tensor(
    entries: np.ndarray, index: np.ndarray, weight: np.ndarray, valid: np.ndarray
) -> np.ndarray:
    """:func:`_gather` fused with :func:`training_tensor`'s magnitude, pair max and float32 scaling."""
    n_vox, half = index.shape[0], entries.shape[2] // 2
    out = np.empty((half, n_vox), np.float32)
    low, span = np.float32(NORM_LOW), np.float32(NORM_HIGH - NORM_LOW)
    for c in nb.prange((n_vox + _CHUNK - 1) // _CHUNK):
        acc, v0, v1 = _interp(entries, index, weight, c)
        for d in range(half):
            for v in range(v0, v1):
                if not valid[v]:
                    out[d, v] = 0  # |1+0j| = 1 -> (1 - 1) / (1e8 - 1)
                    continue
                ar, ai = np.float64(acc[v - v0, 0, 2 * d]), np.float64(acc[v - v0, 1, 2 * d])
                br, bi = (
                    np.float64(acc[v - v0, 0, 2 * d + 1]),
                    np.float64(acc[v - v0, 1, 2 * d + 1]),
                )
                ma = np.float32(np.sqrt(ar * ar + ai * ai))
                mb = np.float32(np.sqrt(br * br + bi * bi))
                out[d, v] = max((max(ma, mb) - low) / span, np.float32(0))
    return out


def _planar(x: np.ndarray) -> np.ndarray:
    """complex ``(N, D)`` → float32 ``(N, 2, D)`` real and imaginary rows."""
    out = np.empty((x.shape[0], 2, x.shape[1]), np.float32)
    out[:, 0], out[:, 1] = x.real, x.imag
    return out


def resample(polar_eard: np.ndarray, taps: Taps) -> np.ndarray:
    """Polar cube in ``(E, A, R, D)`` layout → complex64 ``(D, Z, Y, X)`` of ``taps.shape``."""
    E, A, R, D = polar_eard.shape
    if (E, A, R) != (N_EL, N_AZ, taps.n_range):
        raise SensingError(
            f"polar cube (E, A, R, D) = {polar_eard.shape} does not fit these taps, "
            f"which expect ({N_EL}, {N_AZ}, {taps.n_range}, D)"
        )
    flat = _planar(polar_eard.reshape(E * A * R, D))
    return _gather(flat, taps.index, taps.weight, taps.valid).reshape(D, *taps.shape)


def compact_taps(taps: Taps) -> tuple[np.ndarray, Taps]:
    """The polar entries the taps read and the taps re-indexed into them.

    Entries are keys ``(a·R + r)·E + e``, sorted, so entries sharing an azimuth-range cell are
    neighbours and :func:`_elevate` reads each cell's row spectra once.
    """
    n_ar = N_AZ * taps.n_range
    flat = taps.index.astype(np.int64)
    keys = (flat % n_ar) * N_EL + flat // n_ar
    used = np.zeros(n_ar * N_EL, bool)
    used[keys[taps.valid]] = True
    need = np.flatnonzero(used)
    rank = (np.cumsum(used) - 1).astype(np.int32)  # key -> its position in need
    index = np.where(taps.valid[:, None], rank[keys], 0).astype(np.int32)
    return need, Taps(index, taps.weight, taps.valid, taps.shape, taps.n_range)


@nb.njit(cache=True, parallel=True, fastmath=True)
def _elevate(z: np.ndarray, el: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Planar polar entries ``need`` (keys ``(a·R + r)·E + e``) from the rows' azimuth spectra.

    ``z`` planar ``(rows, A·R, 2, D)``, ``el`` ``(E, rows, 2)`` elevation DFT (real, imaginary)
    → ``(U, 2, D)``.
    """
    n_rows, n_d, n_e = z.shape[0], z.shape[3], el.shape[0]
    out = np.zeros((need.shape[0], 2, n_d), np.float32)
    for u in nb.prange(need.shape[0]):
        ar, e = need[u] // n_e, need[u] % n_e
        for k in range(n_rows):
            cr, ci = el[e, k, 0], el[e, k, 1]
            for d in range(n_d):
                out[u, 0, d] += cr * z[k, ar, 0, d] - ci * z[k, ar, 1, d]
            for d in range(n_d):
                out[u, 1, d] += cr * z[k, ar, 1, d] + ci * z[k, ar, 0, d]
    return out


# -- training tensor and region of interest ---------------------------------------------------
def training_tensor(dzyx: np.ndarray) -> np.ndarray:
    """complex ``(D, Z, Y, X)`` → float16 ``(D/2, Z, Y, X)``: |x|, max over Doppler pairs, (m−1)/(1e8−1) ≥ 0."""
    if dzyx.ndim != 4 or dzyx.shape[0] % 2:
        raise SensingError(f"expected (D, Z, Y, X) with even D, got shape {dzyx.shape}")
    m = np.abs(dzyx.astype(np.complex64, copy=False))  # float32, as numpy gives it
    pooled = np.maximum(m[0::2], m[1::2])
    out = (pooled - np.float32(NORM_LOW)) / np.float32(NORM_HIGH - NORM_LOW)
    return np.maximum(out, 0).astype(np.float16)


def _roi_range(arr: np.ndarray, lo: float, hi: float) -> tuple[int, int]:
    """The loader's ``get_arr_in_roi``: nearest indices of lo and hi; hi excluded unless beyond the grid."""
    i0, i1 = int(np.argmin(np.abs(arr - lo))), int(np.argmin(np.abs(arr - hi)))
    return (i0, i1) if hi > arr[-1] else (i0, i1 - 1)


def roi_slices() -> tuple[slice, slice, slice]:
    """(z, y, x) slices of RT-Pose's ROI: z 13..28, y 32..95, x 17..176 (inclusive) → (16, 64, 160)."""
    out = []
    for k, arr in (("z", GRID_Z), ("y", GRID_Y), ("x", GRID_X)):
        i0, i1 = _roi_range(arr, *ROI[k])
        out.append(slice(i0, i1 + 1))
    return out[0], out[1], out[2]


def roi_tensor(f16: np.ndarray) -> np.ndarray:
    """float16 ``(D2, 32, 128, 256)`` → float32 ``(D2, 16, 64, 160)`` as RT-Pose's loader: crop, /10, clip at 0."""
    if f16.ndim != 4 or f16.shape[1:] != GRID_SHAPE:
        raise SensingError(f"expected a training tensor (D2, {GRID_SHAPE}), got shape {f16.shape}")
    z, y, x = roi_slices()
    return loader_scale(f16[:, z, y, x])


def loader_scale(f16_crop: np.ndarray) -> np.ndarray:
    """The loader's scaling of a cropped training tensor: float32, divided by 10, clipped at 0."""
    a = f16_crop.astype(np.float32) / np.float32(LOADER_SCALE)
    a[a < 0] = 0
    return a


# -- the fast processor -----------------------------------------------------------------------
class RtposeProcessor:
    """RT-Pose's chain for one radar config; DFT matrices and resampling taps are built once.

    The angle step is pruned: only the aperture rows that hold channels (elevations 0, 1, 4, 6 on
    the MMWCAS) are transformed in azimuth, as matrix products, and the 32-point elevation FFT of
    those few non-zero rows is one small matrix applied only to the polar entries the resampling
    taps read (a third of the cube for the ROI). Entries are ``D``-contiguous rows, so a voxel's
    eight taps are eight contiguous Doppler vectors.
    """

    def __init__(
        self,
        radar: RadarConfig,
        calibration: CascadeCalibration | None = None,
        resampler: Resampler = "reference",
        *,
        up_is_high_elevation: bool = False,
    ) -> None:
        if resampler not in ("reference", "physical"):
            raise SensingError(f"unknown resampler {resampler!r} (choose reference or physical)")
        self.radar = radar
        self.n_range, self.n_doppler = next_pow2(radar.n_samples), next_pow2(radar.n_loops)
        if resampler == "reference" and self.n_range != 256:
            raise SensingError(
                f"the reference resampler needs 256 range bins, radar {radar.name!r} gives {self.n_range}"
            )
        self.calibration = calibration
        cal = calibration.factors(radar) if calibration is not None else None
        self._cal = cal
        self._win = range_window(radar.n_samples).astype(np.float32)
        ap = aperture_layout(radar)
        self.aperture = ap
        e_out = np.arange(N_EL) - N_EL // 2
        rows = np.unique(ap.el)
        # (row, azimuth) of each kept channel; (-1)^az puts the FFT output already shifted
        self._row_of = np.searchsorted(rows, ap.el)
        self._az_sign = np.where(ap.az % 2, -1, 1).astype(np.float32)
        dop_sign = np.where(np.arange(radar.n_loops) % 2, -1, 1).astype(np.float32)
        self._pre = self._win[None, None, None, :] * dop_sign[:, None, None, None]
        self._el = np.exp(-2j * np.pi * np.outer(e_out, rows) / N_EL).astype(np.complex64)
        self._n_rows = len(rows)
        self._el_planar = np.stack([self._el.real, self._el.imag], axis=-1).astype(np.float32)
        self.resampler = resampler
        self.up_is_high_elevation = up_is_high_elevation

    @cached_property
    def taps(self) -> Taps:
        """Resampling taps of the whole grid (built on first use: the polar cube needs none)."""
        if self.resampler == "reference":
            return reference_taps()
        return physical_taps(self.radar, self.up_is_high_elevation)

    @cached_property
    def _full(self) -> tuple[np.ndarray, Taps]:
        return compact_taps(self.taps)

    @cached_property
    def _roi(self) -> tuple[np.ndarray, Taps]:
        return compact_taps(self.taps.subset(*roi_slices()))

    def azimuth_rows(self, frame: np.ndarray, *, check: bool = True) -> np.ndarray:
        """Frame → complex64 ``(rows, A128, R, D)``: azimuth spectra of the aperture rows that hold channels."""
        x = check_cube(frame, self.radar) if check else frame
        if self._cal is not None:
            x = x * self._cal
        x = (x - x.mean(axis=-1, keepdims=True)) * self._pre  # window; (-1)^loop shifts Doppler
        rf = sfft.fft(x, n=self.n_range, axis=-1, workers=WORKERS)  # (L, T, Rx, R)
        rf = rf.reshape(rf.shape[0], -1, self.n_range).transpose(1, 2, 0)  # (C, R, L)
        df = sfft.fft(rf, n=self.n_doppler, axis=-1, workers=WORKERS)  # (C, R, D)
        R, D = self.n_range, self.n_doppler
        grid = np.zeros((self._n_rows, N_AZ, R, D), np.complex64)
        ap = self.aperture
        grid[self._row_of, ap.az] = df[ap.channel] * self._az_sign[:, None, None]
        return sfft.fft(grid, axis=1, workers=WORKERS, overwrite_x=True)

    def polar_eard(self, frame: np.ndarray) -> np.ndarray:
        """Frame → complex64 polar cube in ``(E32, A128, R, D)`` layout."""
        z = self.azimuth_rows(frame)
        out = self._el @ z.reshape(self._n_rows, -1)  # (E, rows) @ (rows, A·R·D)
        return out.reshape(N_EL, N_AZ, self.n_range, self.n_doppler)

    def polar(self, frame: np.ndarray) -> np.ndarray:
        """complex64 ``(D, R, A128, E32)``, RT-Pose's ``matr4``."""
        return np.ascontiguousarray(self.polar_eard(frame).transpose(3, 2, 1, 0))

    def _entries(self, frame: np.ndarray, need: np.ndarray, check: bool = True) -> np.ndarray:
        z = self.azimuth_rows(frame, check=check)
        zp = np.empty((z.shape[0], N_AZ * self.n_range, 2, self.n_doppler), np.float32)
        zp[:, :, 0], zp[:, :, 1] = (z.reshape(z.shape[0], -1, z.shape[-1]).real,
                                    z.reshape(z.shape[0], -1, z.shape[-1]).imag)  # fmt: skip
        return _elevate(zp, self._el_planar, need)

    def dzyx(self, frame: np.ndarray, *, check: bool = True) -> np.ndarray:
        """complex64 ``(D, 32, 128, 256)`` Cartesian cube (``npy_DZYX_complex``)."""
        need, t = self._full
        e = self._entries(frame, need, check)
        return _gather(e, t.index, t.weight, t.valid).reshape(-1, *t.shape)

    def _tensor(
        self, frame: np.ndarray, compact: tuple[np.ndarray, Taps], check: bool
    ) -> np.ndarray:
        need, t = compact
        out = _gather_tensor(self._entries(frame, need, check), t.index, t.weight, t.valid)
        return out.astype(np.float16).reshape(-1, *t.shape)

    def tensor(self, frame: np.ndarray, *, check: bool = True) -> np.ndarray:
        """float16 ``(D/2, 32, 128, 256)`` training tensor (``DZYX_npy_f16``)."""
        return self._tensor(frame, self._full, check)

    def roi_f16(self, frame: np.ndarray, *, check: bool = True) -> np.ndarray:
        """float16 ``(D/2, 16, 64, 160)``: the training tensor's ROI crop, before the loader's scaling."""
        return self._tensor(frame, self._roi, check)

    def roi(self, frame: np.ndarray, *, check: bool = True) -> np.ndarray:
        """float32 ``(D/2, 16, 64, 160)``: the network input, computing only the ROI's voxels."""
        return loader_scale(self.roi_f16(frame, check=check))
