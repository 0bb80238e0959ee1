"""Range–azimuth and range–elevation power maps of a 2D virtual array on HuPR's heatmap grid.

The real-time model reads HuPR's grid (see :mod:`fusion.features`): range index ``r`` is range-FFT
bin ``94 - r``; azimuth index ``a`` the direction cosine ``u = (a - 31) / 32`` toward +y. HuPR's rig
measures height with a second radar rolled 90°; an array with elevation of its own (the MMWCAS
cascade) gives both maps at once, so a model of the same shape can be trained for it:

* horizontal: the elevation-0 line (one channel per azimuth position, Hann-tapered) beamformed
  onto the 64 azimuth cosines;
* vertical: every aperture row that has elevation channels, plus the elevation-0 channels at the
  same azimuth positions, beamformed per row in azimuth (32 cosines), then across rows in
  elevation onto 64 cosines toward +z (``(e - 31) / 32``), power summed over azimuth and
  grouped 4 to 1, as the rolled radar's 64 azimuth bins become 16 height bins in the features.

Directions are those seen from the aperture's middle (a spherical wave across the MMWCAS's
line reads so): 4 cm toward +y of the radar's origin, a shift the model learns, since it is
trained against joints in the radar frame.

Doppler: static clutter removed (mean over loops), a 64-point FFT over loops, centred, the TDM
phase of each TX slot removed per Doppler bin, power summed in 8 groups of equal width spanning the whole unambiguous band. Channels are taken as
ideal (no per-channel phase calibration; the simulator's cascade has none).
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from drivers import RadarConfig

from .checks import check_cube
from .errors import SensingError
from .hupr import RANGE_BINS
from .range_doppler import WORKERS

N_GRID = 64  # azimuth and elevation cosines, as HuPR's azimuth bins
N_DOPPLER_GROUPS = 8
N_HEIGHT = 16
N_AZ_COARSE = 32  # azimuth cosines integrated over for the vertical map


def _steer(pos: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``(len(pos), len(u))`` weights that sum channels at ``pos`` half-wavelengths toward cosine ``u``.

    A channel at position p sees a target at direction cosine u with phase exp(-jπ·p·u) (it is
    nearer the target by p·λ/2·u; the simulator's convention, measured by the tests' point
    targets); the conjugate weights bring the channels in phase.
    """
    return np.exp(1j * np.pi * np.outer(pos, u))


class GridMapper:
    """Power maps on HuPR's grid for one radar whose virtual array has an elevation-0 line and
    at least two elevation rows; constant matrices are built once."""

    def __init__(self, radar: RadarConfig) -> None:
        if radar.n_samples < 95 or radar.n_loops % N_DOPPLER_GROUPS:
            raise SensingError(
                f"grid maps need ≥ 95 samples and loops divisible by {N_DOPPLER_GROUPS}; radar "
                f"{radar.name!r} has {radar.n_samples} samples and {radar.n_loops} loops"
            )
        self.radar = radar
        v = radar.virtual_positions.reshape(-1, 2)
        az, el = v[:, 0], v[:, 1]
        rows = sorted(set(el.tolist()) - {0.0})
        line = np.flatnonzero(el == 0)
        if not rows or len(line) < 8:
            raise SensingError(
                f"radar {radar.name!r} needs an elevation-0 line and elevated rows for grid maps; "
                f"its virtual elevations are {sorted(set(el.tolist()))}"
            )
        # horizontal: one channel per distinct azimuth position of the line
        _, first = np.unique(az[line], return_index=True)
        self.line = line[first]
        taper = np.hanning(len(self.line) + 2)[1:-1]
        u = (np.arange(N_GRID) - 31) / 32
        self.W_h = (taper[:, None] * _steer(az[self.line], u)).astype(np.complex64)
        # vertical: per row, the channels at that row's azimuth positions (row 0 = the line)
        self.rows: list[np.ndarray] = []
        ref = az[el == rows[0]]
        for e in [0.0, *rows]:
            idx = np.flatnonzero(el == e)
            if e == 0.0:
                idx = np.array([idx[np.flatnonzero(az[idx] == p)[0]] for p in np.sort(ref)])
            else:
                _, k = np.unique(az[idx], return_index=True)
                idx = idx[k]
            self.rows.append(idx)
        n = {len(r) for r in self.rows}
        if len(n) != 1:
            raise SensingError(f"radar {radar.name!r}: elevated rows differ in length {n}")
        # TDM-MIMO: TX slot k fires k/n_tx of a loop after slot 0, so a target moving at Doppler
        # bin d (phase 2π·d/n_loops per loop) adds 2π·d·k/(n_loops·n_tx) to that TX's channels,
        # which reads as an angle; undo it per Doppler bin (elevation rows sit on other TX)
        d = np.arange(radar.n_loops) - radar.n_loops // 2
        k = np.repeat(np.arange(radar.n_tx), radar.n_rx)
        self.tdm = np.exp(-2j * np.pi * np.outer(d, k) / (radar.n_loops * radar.n_tx)).astype(
            np.complex64
        )[:, None, :]  # (Doppler, 1, channel)
        uc = (np.arange(N_AZ_COARSE) - 15.5) / 16
        n_rows, per = len(self.rows), len(self.rows[0])
        self.row_channels = np.concatenate(self.rows)
        # every row's azimuth beams as one block-diagonal product: (rows·per, rows·32)
        self.W_az = np.zeros((n_rows * per, n_rows * N_AZ_COARSE), np.complex64)
        for i, r in enumerate(self.rows):
            self.W_az[i * per : (i + 1) * per, i * N_AZ_COARSE : (i + 1) * N_AZ_COARSE] = _steer(
                az[r], uc
            )
        W_el = _steer(np.array([0.0, *rows]), u)  # (rows, 64)
        # power of elevation beam k from the rows' covariance R: Σ_ef W_ek R_ef conj(W_fk)
        self.W_pow = np.einsum("ek,fk->efk", W_el, W_el.conj()).reshape(n_rows**2, N_GRID)
        self.W_pow = self.W_pow.astype(np.complex64)

    def __call__(self, cube: np.ndarray, *, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``(loops, tx, rx, samples)`` → float32 horizontal power ``(8, 64, 64)``
        (Doppler group, range, azimuth) and vertical power ``(8, 64, 16)`` (Doppler group, range,
        height bin)."""
        if check:
            cube = check_cube(cube, self.radar)
        ch = cube.reshape(cube.shape[0], -1, cube.shape[-1])
        rng = sfft.fft(ch, axis=-1, workers=WORKERS)[..., RANGE_BINS]
        return self.from_range(rng, check=False)  # check_cube vetted the frame

    def from_range(self, rng: np.ndarray, *, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The same maps from the range FFT already taken at :data:`sensing.hupr.RANGE_BINS`:
        complex ``(loops, tx, rx, 64)`` or ``(loops, channels, 64)``."""
        rng = np.asarray(rng, np.complex64)
        want = (self.radar.n_loops, self.radar.n_virtual, len(RANGE_BINS))
        if rng.size != np.prod(want) or rng.shape[0] != want[0] or rng.shape[-1] != want[2]:
            raise SensingError(
                f"range frame {rng.shape} does not match radar {self.radar.name!r}: expected "
                f"{want} (loops, channels, range bins)"
            )
        rng = rng.reshape(want)
        if check and not np.isfinite(rng).all():
            raise SensingError("range frame contains NaN or inf")
        rng = rng - rng.mean(axis=0, keepdims=True)
        dop = sfft.fftshift(sfft.fft(rng, axis=0, workers=WORKERS), axes=0)  # (loops, ch, 64)
        dop = dop.transpose(0, 2, 1) * self.tdm  # (Doppler, range, channel)
        flat = dop.reshape(-1, dop.shape[-1])
        g = self.radar.n_loops // N_DOPPLER_GROUPS
        ph = np.abs(flat[:, self.line] @ self.W_h) ** 2  # (D·64, 64 azimuth)
        ph = ph.reshape(N_DOPPLER_GROUPS, g, 64, N_GRID).sum(axis=1)
        # rows beamformed in azimuth, then the power summed over azimuth beams of each elevation
        # beam is w^H R w with R the rows' 4x4 covariance over azimuth beams: no 4D beam array
        a = (flat[:, self.row_channels] @ self.W_az).reshape(len(flat), len(self.rows), -1)
        cov = a @ a.conj().transpose(0, 2, 1)  # (D·64, rows, rows)
        pv = (cov.reshape(len(flat), -1) @ self.W_pow).real  # (D·64, 64 elevation)
        pv = pv.reshape(N_DOPPLER_GROUPS, g, 64, N_HEIGHT, N_GRID // N_HEIGHT).sum(axis=(1, 4))
        return ph.astype(np.float32), pv.astype(np.float32)
