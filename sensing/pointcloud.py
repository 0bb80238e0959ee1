"""Point clouds from a frame: range-Doppler CFAR, TDM-MIMO Doppler compensation, angle of arrival.

Angles come from a 2D FFT over the virtual array laid out by the config's positions. With the
simulator's (and the physical) convention, channel phase is ``-π (a·u + e·w)`` for half-wavelength
positions ``(a, e)``, ``u = sin(azimuth)·cos(elevation)`` and ``w = sin(elevation)``; azimuth is
positive toward +y (left), elevation toward +z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from drivers import RadarConfig

from .cfar import ca_cfar_2d, group_peaks, os_cfar_2d
from .checks import check_cube
from .range_doppler import WORKERS, window

FIELDS = ("x", "y", "z", "velocity", "snr_db")


@dataclass(frozen=True)
class PointCloudParams:
    """CFAR and angle settings for :class:`PointCloudExtractor`."""

    method: str = "ca"  # "ca" or "os"
    guard: tuple[int, int] = (1, 2)
    train: tuple[int, int] = (4, 8)
    threshold_db: float = 13.0
    min_range: float = 0.3
    n_azimuth: int = 64
    n_elevation: int = 16
    max_points: int = 256
    clutter_removal: bool = True
    window: str = (
        "hann"  # range and Doppler windows: rectangular sidelobes (-13 dB) would be detected
    )


class PointCloudExtractor:
    """Built once per radar config; call with a frame to get ``(M, 5)`` float32 points x, y, z, v, snr_db."""

    def __init__(self, radar: RadarConfig, params: PointCloudParams | None = None) -> None:
        self.radar = radar
        self.p = params or PointCloudParams()
        pos = radar.virtual_positions.reshape(-1, 2)
        self.a = (pos[:, 0] - pos[:, 0].min()).round().astype(int)
        self.e = (pos[:, 1] - pos[:, 1].min()).round().astype(int)
        self.e0 = pos[:, 1].min()
        self.na = max(self.p.n_azimuth, int(self.a.max()) + 1)
        self.ne = max(self.p.n_elevation if self.e.max() > 0 else 1, int(self.e.max()) + 1)
        self.w_range = window(self.p.window, radar.n_samples)
        self.w_doppler = window(self.p.window, radar.n_loops)[:, None, None]
        # TX slot of each virtual channel, for the TDM Doppler phase correction
        self.slot = np.repeat(np.arange(radar.n_tx), radar.n_rx)

    def detect(self, cube: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Range-Doppler cube ``(doppler, channel, range)`` (shifted), power map ``(doppler, range)``, detections ``(M, 2)``."""
        r = self.radar
        x = cube.reshape(r.n_loops, r.n_virtual, r.n_samples)
        if self.p.clutter_removal:
            x = x - x.mean(axis=0, keepdims=True)
        rng = sfft.fft(x * self.w_range, axis=-1, workers=WORKERS)
        rd = sfft.fftshift(sfft.fft(rng * self.w_doppler, axis=0, workers=WORKERS), axes=0)
        power = (np.abs(rd) ** 2).sum(axis=1)
        cfar = ca_cfar_2d if self.p.method == "ca" else os_cfar_2d
        mask, noise = cfar(power, self.p.guard, self.p.train, 10 ** (self.p.threshold_db / 10))
        mask[:, : int(np.ceil(self.p.min_range / r.range_resolution))] = False
        peaks = group_peaks(power, mask)
        if len(peaks) > self.p.max_points:
            order = np.argsort(power[peaks[:, 0], peaks[:, 1]])[::-1]
            peaks = peaks[order[: self.p.max_points]]
        self._noise = noise
        return rd, power, peaks

    def __call__(self, cube: np.ndarray, *, check: bool = True) -> np.ndarray:
        r = self.radar
        if check:
            cube = check_cube(cube, r)
        rd, power, peaks = self.detect(cube)
        if len(peaks) == 0:
            return np.zeros((0, len(FIELDS)), np.float32)
        d, rb = peaks[:, 0], peaks[:, 1]
        f = (d - r.n_loops // 2) / r.n_loops  # Doppler in cycles per loop
        snap = rd[d, :, rb] * np.exp(
            -2j * np.pi * f[:, None] * self.slot[None, :] / r.n_tx
        )  # (M, channels)
        grid = np.zeros((len(peaks), self.ne, self.na), np.complex64)
        np.add.at(grid, (slice(None), self.e, self.a), snap)  # channels at the same position add up
        spec = np.abs(sfft.fftshift(sfft.fft2(grid, axes=(1, 2), workers=WORKERS), axes=(1, 2)))
        flat = spec.reshape(len(peaks), -1).argmax(axis=1)
        ke, ka = np.unravel_index(flat, (self.ne, self.na))
        u = -2.0 * (ka - self.na // 2) / self.na
        w = -2.0 * (ke - self.ne // 2) / self.ne if self.ne > 1 else np.zeros(len(peaks))
        # an elevation offset of the array origin adds a constant phase, which the FFT peak ignores
        horiz = np.sqrt(np.clip(1 - u**2 - w**2, 0, None))
        rng = rb * r.range_resolution
        pts = np.column_stack(
            [
                rng * horiz,
                rng * u,
                rng * w,
                (d - r.n_loops // 2) * r.velocity_resolution,
                10 * np.log10(power[d, rb] / self._noise[d, rb]),
            ]
        )
        return pts.astype(np.float32)
