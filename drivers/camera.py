"""Pinhole camera model with OpenCV's distortion (k1, k2, p1, p2[, k3]).

Camera frame per CONVENTIONS: x right, y down, z forward; pixel (0, 0) is the top-left corner of
the top-left pixel, so the centre of that pixel is (0.5, 0.5) when ``cx, cy`` follow that rule.
"""

from __future__ import annotations

import numpy as np

from .errors import DriversError
from .rig import CameraConfig
from .transforms import apply


def _dist(cam: CameraConfig) -> np.ndarray:
    d = np.zeros(5)
    k = np.asarray(cam.distortion, dtype=np.float64)
    if k.size not in (0, 4, 5):
        raise DriversError(
            f"camera distortion must have 0, 4 or 5 coefficients (k1 k2 p1 p2 [k3]), got {k.size}"
        )
    d[: k.size] = k
    return d


def distort_normalized(xy: np.ndarray, cam: CameraConfig) -> np.ndarray:
    """Apply lens distortion to ``(..., 2)`` normalised image coordinates (x/z, y/z)."""
    k1, k2, p1, p2, k3 = _dist(cam)
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.stack([xd, yd], axis=-1)


def undistort_normalized(xy_d: np.ndarray, cam: CameraConfig, iterations: int = 20) -> np.ndarray:
    """Invert :func:`distort_normalized` by fixed-point iteration (exact for zero distortion)."""
    if not np.any(_dist(cam)):
        return np.asarray(xy_d, dtype=np.float64)
    xy = np.asarray(xy_d, dtype=np.float64).copy()
    for _ in range(iterations):
        xy = xy + (xy_d - distort_normalized(xy, cam))
    return xy


def project(points_cam: np.ndarray, cam: CameraConfig) -> tuple[np.ndarray, np.ndarray]:
    """Project ``(..., 3)`` camera-frame points to ``(..., 2)`` pixels; also ``(...,)`` depth z (m).

    Points at or behind the camera get NaN pixels.
    """
    p = np.asarray(points_cam, dtype=np.float64)
    if p.shape[-1] != 3:
        raise DriversError(f"expected points of shape (..., 3), got {p.shape}")
    z = p[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = p[..., :2] / z[..., None]
    xy = distort_normalized(xy, cam)
    uv = np.stack([cam.fx * xy[..., 0] + cam.cx, cam.fy * xy[..., 1] + cam.cy], axis=-1)
    uv[z <= 1e-9] = np.nan
    return uv, z


def project_from(
    points: np.ndarray, T_cam_from: np.ndarray, cam: CameraConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Project ``(..., 3)`` points given in another frame through ``T_<cam>_<from>``."""
    return project(apply(T_cam_from, np.asarray(points, dtype=np.float64)), cam)


def backproject(uv: np.ndarray, depth: np.ndarray, cam: CameraConfig) -> np.ndarray:
    """Pixels ``(..., 2)`` with depth z ``(...,)`` (m, along the optical axis) → ``(..., 3)`` camera-frame points."""
    uv = np.asarray(uv, dtype=np.float64)
    xy_d = np.stack([(uv[..., 0] - cam.cx) / cam.fx, (uv[..., 1] - cam.cy) / cam.fy], axis=-1)
    xy = undistort_normalized(xy_d, cam)
    z = np.asarray(depth, dtype=np.float64)
    return np.concatenate([xy * z[..., None], z[..., None]], axis=-1)


def in_image(uv: np.ndarray, cam: CameraConfig) -> np.ndarray:
    """``(...,)`` bool: the pixel lies inside the image."""
    return (
        (uv[..., 0] >= 0) & (uv[..., 0] < cam.width) & (uv[..., 1] >= 0) & (uv[..., 1] < cam.height)
    )
