"""Range and Doppler processing over de-interleaved frames ``(loops, tx, rx, samples)``."""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft
import scipy.signal.windows as win

WORKERS = -1  # scipy.fft threads: all cores


def window(name: str, n: int) -> np.ndarray:
    """A float32 window of length ``n``: ``"rect"``, ``"hann"`` (periodic=False, as MATLAB's hann), ``"hamming"``, ``"blackman"``."""
    if name == "rect":
        return np.ones(n, np.float32)
    return win.get_window(name, n, fftbins=False).astype(np.float32)


def remove_dc(cube: np.ndarray) -> np.ndarray:
    """Subtract each chirp's mean over fast time (ADC DC offset). Same shape."""
    return cube - cube.mean(axis=-1, keepdims=True)


def remove_static_clutter(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """Subtract the mean over slow time (``axis``, the loops): removes everything that does not move."""
    return x - x.mean(axis=axis, keepdims=True)


def range_fft(cube: np.ndarray, win_name: str = "rect", n: int | None = None) -> np.ndarray:
    """FFT over fast time (last axis), optionally windowed; ``(..., samples)`` → ``(..., n)`` range bins."""
    x = cube if win_name == "rect" else cube * window(win_name, cube.shape[-1])
    return sfft.fft(x, n=n, axis=-1, workers=WORKERS)


def doppler_fft(
    x: np.ndarray, axis: int = 0, shift: bool = True, win_name: str = "rect"
) -> np.ndarray:
    """FFT over slow time (``axis``); with ``shift`` zero velocity sits at index ``n // 2``."""
    if win_name != "rect":
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        x = x * window(win_name, x.shape[axis]).reshape(shape)
    out = sfft.fft(x, axis=axis, workers=WORKERS)
    return sfft.fftshift(out, axes=axis) if shift else out


def range_doppler_map(cube: np.ndarray, clutter: bool = True) -> np.ndarray:
    """Non-coherently integrated range-Doppler power ``(doppler, range)`` of a frame ``(loops, tx, rx, samples)``."""
    x = remove_static_clutter(cube, 0) if clutter else cube
    rd = doppler_fft(range_fft(x), axis=0)
    return (np.abs(rd) ** 2).sum(axis=(1, 2))


def velocity_axis(n_loops: int, velocity_resolution: float) -> np.ndarray:
    """Radial velocity (m/s) of each shifted Doppler bin; positive = receding."""
    return (np.arange(n_loops) - n_loops // 2) * velocity_resolution
