"""Input validation shared by every processing entry point: shapes, finiteness, silence."""

from __future__ import annotations

import numpy as np

from drivers import DriversError, RadarConfig, unpack_frame

from .errors import SensingError


def cube_from_words(words: np.ndarray, radar: RadarConfig) -> np.ndarray:
    """Raw int16 words of one frame → complex64 ``(loops, tx, rx, samples)``; a size mismatch is a SensingError."""
    try:
        return unpack_frame(np.asarray(words), radar)
    except DriversError as exc:
        raise SensingError(str(exc)) from None


def check_cube(cube: np.ndarray, radar: RadarConfig) -> np.ndarray:
    """Validate a de-interleaved frame against its config: shape, dtype, NaN/inf, all-zero."""
    cube = np.asarray(cube)
    if cube.shape != radar.frame_shape:
        raise SensingError(
            f"frame shape {cube.shape} does not match radar {radar.name!r}: expected {radar.frame_shape} (loops, tx, rx, samples)"
        )
    if not np.iscomplexobj(cube):
        raise SensingError(f"expected a complex frame, got dtype {cube.dtype}")
    if not np.isfinite(cube).all():
        raise SensingError(
            f"frame contains {np.count_nonzero(~np.isfinite(cube))} NaN or inf values"
        )
    if not cube.any():
        raise SensingError(
            "frame is all zeros: the radar sent no signal (check the capture and LVDS lanes)"
        )
    return cube.astype(np.complex64, copy=False)


def check_array(
    x: np.ndarray,
    what: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple[int, ...] | None = None,
    allow_zero: bool = False,
) -> np.ndarray:
    """The kernels' input check: rank or exact shape, finite values, not all zeros (unless allowed)."""
    x = np.asarray(x)
    if shape is not None and x.shape != tuple(shape):
        raise SensingError(f"{what}: expected shape {tuple(shape)}, got {x.shape}")
    if ndim is not None:
        ok = (ndim,) if isinstance(ndim, int) else ndim
        if x.ndim not in ok:
            raise SensingError(
                f"{what}: expected {' or '.join(map(str, ok))} dimensions, got shape {x.shape}"
            )
    if x.size == 0:
        raise SensingError(f"{what}: expected a non-empty array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise SensingError(
            f"{what}: expected finite values, got {np.count_nonzero(~np.isfinite(x))} NaN or inf"
        )
    if not allow_zero and not x.any():
        raise SensingError(f"{what}: expected a signal, got all zeros")
    return x
