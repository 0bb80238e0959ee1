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
