"""Doppler extraction: micro-Doppler spectrograms over time and Doppler profiles per range bin."""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from drivers import RadarConfig

from .checks import check_cube
from .range_doppler import WORKERS


def doppler_profiles(
    cube: np.ndarray, radar: RadarConfig, clutter: bool = True, window: str = "hann"
) -> np.ndarray:
    """Power per (Doppler, range) of one frame, summed over virtual channels: ``(n_loops, n_samples)`` float32.

    Doppler is shifted (zero velocity at ``n_loops // 2``), range bins as the range FFT gives them.
    """
    cube = check_cube(cube, radar)
    x = cube.reshape(radar.n_loops, radar.n_virtual, radar.n_samples)
    if clutter:
        x = x - x.mean(axis=0, keepdims=True)
    rng = sfft.fft(x, axis=-1, workers=WORKERS)
    if window != "rect":
        from .range_doppler import window as make_window

        rng = rng * make_window(window, radar.n_loops)[:, None, None]
    dop = sfft.fftshift(sfft.fft(rng, axis=0, workers=WORKERS), axes=0)
    return (np.abs(dop) ** 2).sum(axis=1).astype(np.float32)


class MicroDoppler:
    """Accumulates one Doppler spectrum per frame over a range window into a spectrogram.

    ``spectrogram()`` is ``(n_frames, n_loops)`` in dB, time along axis 0, velocity along axis 1.
    """

    def __init__(self, radar: RadarConfig, range_window: tuple[float, float] | None = None) -> None:
        self.radar = radar
        self.range_window = range_window
        self.rows: list[np.ndarray] = []
        self.centres: list[float] = []

    def add(self, cube: np.ndarray) -> np.ndarray:
        """Add a frame; the range window follows the strongest moving return when none was given."""
        prof = doppler_profiles(cube, self.radar)
        r = self.radar
        if self.range_window is None:
            centre = int(prof.sum(axis=0)[1:].argmax()) + 1
            lo, hi = max(centre - 8, 0), centre + 9
        else:
            lo = int(self.range_window[0] / r.range_resolution)
            hi = int(np.ceil(self.range_window[1] / r.range_resolution)) + 1
            centre = (lo + hi) // 2
        row = prof[:, lo:hi].sum(axis=1)
        self.rows.append(row)
        self.centres.append(centre * r.range_resolution)
        return row

    def spectrogram(self) -> np.ndarray:
        s = np.array(self.rows, dtype=np.float64)
        return (10 * np.log10(s + 1e-12)).astype(np.float32)

    def velocity_axis(self) -> np.ndarray:
        return (
            np.arange(self.radar.n_loops) - self.radar.n_loops // 2
        ) * self.radar.velocity_resolution
