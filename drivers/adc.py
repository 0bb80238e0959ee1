"""Raw ADC word layouts: pack a complex frame into the device's int16 words, and unpack them.

This is the numpy reference of the layouts; ``sensing`` has the fast kernels and tests them
against it. A de-interleaved frame is complex64 ``(n_loops, n_tx, n_rx, n_samples)`` with the TX
axis in firing order (CONVENTIONS). Raw words are int16 two's complement, never unsigned.

Layouts (per frame, chirps in firing order, loop-major):

* ``dca1000_2lane`` (xWR16xx/18xx/68xx): per chirp one block per RX; inside a block the samples go
  in groups of four words ``I(n), I(n+1), Q(n), Q(n+1)``. With IQ swap the groups are
  ``Q(n), Q(n+1), I(n), I(n+1)``. Real-only ADC: per chirp, per RX, the samples in order.
* ``dca1000_4lane`` (xWR12xx/14xx): per chirp, per sample, eight words ``I(rx0..rx3), Q(rx0..rx3)``
  (``Q`` first with IQ swap); real-only: four words ``rx0..rx3``.
* ``mmwcas`` (MMWCAS cascade, per chip file): per loop, per chirp, per sample, per chip's 4 RX,
  ``I, Q``. Chips are master, slave1, slave2, slave3 and carry RX 0-3, 4-7, 8-11, 12-15.
"""

from __future__ import annotations

import numpy as np

from .errors import DriversError
from .radar import RadarConfig

N_CASCADE_CHIPS = 4


def _check_complex_frame(frame: np.ndarray, radar: RadarConfig) -> np.ndarray:
    if frame.shape != radar.frame_shape:
        raise DriversError(
            f"expected a frame of shape {radar.frame_shape} (loops, tx, rx, samples), got {frame.shape}"
        )
    return frame


def _to_int16(x: np.ndarray) -> np.ndarray:
    """Round and saturate to int16, as the ADC clips rather than wraps."""
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def pack_frame(frame: np.ndarray, radar: RadarConfig) -> np.ndarray:
    """Complex ``(loops, tx, rx, samples)`` → raw int16 words ``(W,)`` in ``radar.adc.layout``.

    For the cascade the result is ``(4 chips, W/4)``, one row per chip file. Values are rounded
    and clipped to int16. Real-only ADC keeps the real part.
    """
    _check_complex_frame(frame, radar)
    L, T, R, S = radar.frame_shape
    layout, swap, cplx = radar.adc.layout, radar.adc.iq_swap, radar.adc.complex
    i, q = _to_int16(frame.real), _to_int16(frame.imag)
    if swap:
        i, q = q, i
    if layout == "dca1000_2lane":
        if not cplx:
            return i.reshape(-1)
        if S % 2:
            raise DriversError(f"2-lane layout needs an even sample count, got {S}")
        words = np.empty((L, T, R, S // 2, 4), np.int16)
        words[..., 0], words[..., 1] = i[..., 0::2], i[..., 1::2]
        words[..., 2], words[..., 3] = q[..., 0::2], q[..., 1::2]
        return words.reshape(-1)
    if layout == "dca1000_4lane":
        if R != 4:
            raise DriversError(f"4-lane layout carries 4 receivers, the config has {R}")
        per_sample = [i.transpose(0, 1, 3, 2)] + ([q.transpose(0, 1, 3, 2)] if cplx else [])
        return np.concatenate(per_sample, axis=-1).reshape(-1)
    if layout == "mmwcas":
        if R != 4 * N_CASCADE_CHIPS or not cplx:
            raise DriversError(
                f"the cascade layout carries 16 complex receivers, the config has {R}"
            )
        iq = np.stack([i, q], axis=-1)  # (L, T, R, S, 2)
        chips = iq.reshape(L, T, N_CASCADE_CHIPS, 4, S, 2).transpose(
            2, 0, 1, 4, 3, 5
        )  # chip, L, T, S, rx, iq
        return np.ascontiguousarray(chips).reshape(N_CASCADE_CHIPS, -1)
    raise DriversError(f"unknown ADC layout {layout!r}")


def unpack_frame(words: np.ndarray, radar: RadarConfig) -> np.ndarray:
    """Raw int16 words of one frame → complex64 ``(loops, tx, rx, samples)``.

    ``words`` is ``(W,)``, or ``(4, W/4)`` chip rows for the cascade. A size that does not match
    the config is an error naming both sizes.
    """
    w = np.asarray(words)
    if w.dtype != np.int16:
        raise DriversError(f"raw ADC words must be int16 (two's complement), got {w.dtype}")
    L, T, R, S = radar.frame_shape
    if w.size != radar.adc_words_per_frame:
        raise DriversError(
            f"frame has {w.size} int16 words, the radar config {radar.name!r} expects {radar.adc_words_per_frame} "
            f"({L} loops x {T} tx x {R} rx x {S} samples{' x IQ' if radar.adc.complex else ''})"
        )
    layout, swap, cplx = radar.adc.layout, radar.adc.iq_swap, radar.adc.complex
    w = w.astype(np.float32).reshape(-1)
    if layout == "dca1000_2lane":
        if not cplx:
            return w.reshape(L, T, R, S).astype(np.complex64)
        g = w.reshape(L, T, R, S // 2, 4)
        i = np.stack([g[..., 0], g[..., 1]], axis=-1).reshape(L, T, R, S)
        q = np.stack([g[..., 2], g[..., 3]], axis=-1).reshape(L, T, R, S)
    elif layout == "dca1000_4lane":
        if not cplx:
            return w.reshape(L, T, S, R).transpose(0, 1, 3, 2).astype(np.complex64)
        g = w.reshape(L, T, S, 2, R)
        i, q = g[..., 0, :].transpose(0, 1, 3, 2), g[..., 1, :].transpose(0, 1, 3, 2)
    elif layout == "mmwcas":
        g = (
            w.reshape(N_CASCADE_CHIPS, L, T, S, 4, 2)
            .transpose(1, 2, 0, 4, 3, 5)
            .reshape(L, T, R, S, 2)
        )
        i, q = g[..., 0], g[..., 1]
    else:
        raise DriversError(f"unknown ADC layout {layout!r}")
    if swap:
        i, q = q, i
    out = np.empty((L, T, R, S), np.complex64)
    out.real, out.imag = i, q
    return out
