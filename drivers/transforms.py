"""Rigid transforms as 4×4 float64 matrices named ``T_<to>_<from>`` (``p_to = T @ p_from``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial.transform import Rotation

from .errors import DriversError


def make_transform(
    rotation: np.ndarray | Sequence[Sequence[float]] | None = None,
    translation: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
    """4×4 transform from a 3×3 rotation matrix and a 3-vector translation (metres)."""
    T = np.eye(4)
    if rotation is not None:
        T[:3, :3] = np.asarray(rotation, dtype=np.float64)
    if translation is not None:
        T[:3, 3] = np.asarray(translation, dtype=np.float64)
    return T


def from_euler(
    rpy: Sequence[float], translation: Sequence[float] = (0.0, 0.0, 0.0), *, degrees: bool = False
) -> np.ndarray:
    """Transform from extrinsic roll, pitch, yaw about x, y, z (radians unless ``degrees``)."""
    R = Rotation.from_euler("xyz", rpy, degrees=degrees).as_matrix()
    return make_transform(R, translation)


def check_transform(T: np.ndarray, name: str = "transform", tol: float = 1e-6) -> np.ndarray:
    """Return ``T`` as float64 4×4 after checking it is a proper rigid transform."""
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (4, 4):
        raise DriversError(f"{name}: expected a 4x4 matrix, got shape {T.shape}")
    if not np.all(np.isfinite(T)):
        raise DriversError(f"{name}: contains NaN or inf")
    R = T[:3, :3]
    if not np.allclose(R @ R.T, np.eye(3), atol=tol) or abs(np.linalg.det(R) - 1) > tol:
        raise DriversError(f"{name}: rotation part is not orthonormal with determinant +1")
    if not np.allclose(T[3], [0, 0, 0, 1], atol=tol):
        raise DriversError(f"{name}: last row must be [0, 0, 0, 1]")
    return T


def invert(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid transform (``T_a_b`` → ``T_b_a``) without a general matrix inverse."""
    R, t = T[:3, :3], T[:3, 3]
    out = np.eye(4)
    out[:3, :3] = R.T
    out[:3, 3] = -R.T @ t
    return out


def apply(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Transform ``(..., 3)`` points; returns the same shape and dtype."""
    pts = np.asarray(points)
    if pts.shape[-1] != 3:
        raise DriversError(f"expected points of shape (..., 3), got {pts.shape}")
    out = pts @ T[:3, :3].T.astype(pts.dtype, copy=False) + T[:3, 3].astype(pts.dtype, copy=False)
    return out


def rotation_angle(T: np.ndarray) -> float:
    """Angle of the rotation part, radians: the error metric between two transforms' rotations."""
    c = (np.trace(T[:3, :3]) - 1) / 2
    return float(np.arccos(np.clip(c, -1.0, 1.0)))


def transform_error(T_est: np.ndarray, T_true: np.ndarray) -> tuple[float, float]:
    """(translation error m, rotation error rad) between two transforms of the same name."""
    D = invert(T_true) @ T_est
    return float(np.linalg.norm(T_est[:3, 3] - T_true[:3, 3])), rotation_angle(D)
