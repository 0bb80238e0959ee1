"""Rigid transforms from point correspondences: closed form, RANSAC, robust refinement.

``solve_rigid(src, dst)`` finds ``T_dst_src`` with ``dst ≈ R src + t``: Kabsch/Umeyama (no scale)
inside RANSAC, then a robust nonlinear refinement (scipy ``least_squares``, soft-L1 loss) over the
rotation vector and translation, with the covariance of those six parameters from the Jacobian.

``solve_rigid_no_elevation`` handles radars that measure only range and azimuth: the measured 2D
point is ``ρ (cos θ, sin θ)`` of the true 3D point, so height, roll and pitch are observable only
from placements that vary in height; when they do not, those three are held at their nominal values
and only yaw, x and y are solved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from .errors import CalibrationError

MIN_SPREAD = 0.05  # m: second principal spread below this = collinear placements


@dataclass
class RigidResult:
    """``T`` = ``T_dst_src`` (4×4); ``residuals`` (N,) m per correspondence after the fit (NaN-free);
    ``inliers`` (N,) bool; ``cov`` (6, 6) covariance of (rotation vector rad, translation m)."""

    T: np.ndarray
    residuals: np.ndarray
    inliers: np.ndarray
    cov: np.ndarray = field(default_factory=lambda: np.full((6, 6), np.nan))

    @property
    def rms(self) -> float:
        r = self.residuals[self.inliers]
        return float(np.sqrt(np.mean(r**2))) if len(r) else float("nan")

    @property
    def sigma_rotation_deg(self) -> float:
        return float(np.degrees(np.sqrt(np.trace(self.cov[:3, :3]))))

    @property
    def sigma_translation(self) -> float:
        return float(np.sqrt(np.trace(self.cov[3:, 3:])))


def _as_points(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3:
        raise CalibrationError(f"{name}: expected (N, 3) points, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise CalibrationError(
            f"{name}: {int((~np.isfinite(a)).any(axis=1).sum())} points are NaN or inf"
        )
    return a


def check_geometry(src: np.ndarray, what: str = "placements") -> None:
    """Refuse point sets that cannot fix a rotation: fewer than 3, or all on one line."""
    if len(src) < 3:
        raise CalibrationError(f"{len(src)} {what}: at least 3 non-collinear are needed")
    s = np.linalg.svd(src - src.mean(axis=0), compute_uv=False)
    if s[1] / np.sqrt(len(src)) < MIN_SPREAD:
        raise CalibrationError(
            f"the {len(src)} {what} are collinear (spread across the line {s[1] / np.sqrt(len(src)):.3f} m "
            f"< {MIN_SPREAD} m): the rotation about that line is unobservable; move targets off the line"
        )


def kabsch(src: np.ndarray, dst: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """``T_dst_src`` minimising ``Σ w |R src + t − dst|²`` for ``(N, 3)`` points (Umeyama, no scale)."""
    w = np.ones(len(src)) if w is None else np.asarray(w, dtype=np.float64)
    w = w / w.sum()
    cs, cd = w @ src, w @ dst
    H = ((src - cs) * w[:, None]).T @ (dst - cd)
    U, _, Vt = np.linalg.svd(H)
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(Vt.T @ U.T))])  # a rotation, never a reflection
    R = Vt.T @ D @ U.T
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, cd - R @ cs
    return T


def apply_T(T: np.ndarray, p: np.ndarray) -> np.ndarray:
    return p @ T[:3, :3].T + T[:3, 3]


def ransac_rigid(
    src: np.ndarray,
    dst: np.ndarray,
    threshold: float = 0.05,
    iterations: int = 300,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``T_dst_src`` over random minimal triples, and its inlier mask (residual < threshold m)."""
    rng = np.random.default_rng(seed)
    n = len(src)
    best = np.zeros(n, bool)
    best_err = np.inf
    for _ in range(iterations if n > 3 else 1):
        idx = rng.choice(n, 3, replace=False)
        if np.linalg.svd(src[idx] - src[idx].mean(0), compute_uv=False)[1] < 1e-3:
            continue
        T = kabsch(src[idx], dst[idx])
        err = np.linalg.norm(apply_T(T, src) - dst, axis=1)
        inl = err < threshold
        score = err[inl].sum() if inl.any() else np.inf
        if inl.sum() > best.sum() or (inl.sum() == best.sum() and score < best_err):
            best, best_err = inl, score
    if best.sum() < 3:
        raise CalibrationError(
            f"no rigid transform agrees with 3 or more of the {n} correspondences within "
            f"{threshold * 100:.0f} cm: detections are wrong or associated to the wrong targets"
        )
    return kabsch(src[best], dst[best]), best


def _to_T(x: np.ndarray) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_rotvec(x[:3]).as_matrix()
    T[:3, 3] = x[3:]
    return T


def _from_T(T: np.ndarray) -> np.ndarray:
    return np.concatenate([Rotation.from_matrix(T[:3, :3]).as_rotvec(), T[:3, 3]])


def _covariance(res: object, n_obs: int) -> np.ndarray:
    J = res.jac  # type: ignore[attr-defined]
    dof = max(n_obs - J.shape[1], 1)
    s2 = 2 * res.cost / dof  # type: ignore[attr-defined]
    try:
        return np.linalg.inv(J.T @ J) * s2
    except np.linalg.LinAlgError:
        return np.full((J.shape[1], J.shape[1]), np.inf)


def solve_rigid(
    src: np.ndarray,
    dst: np.ndarray,
    *,
    threshold: float = 0.05,
    noise: float = 0.01,
    seed: int = 0,
) -> RigidResult:
    """``T_dst_src`` from ``(N, 3)`` correspondences with outliers; ``threshold`` (m) separates
    inliers, ``noise`` (m) is the soft-L1 scale of the refinement."""
    src, dst = _as_points(src, "source points"), _as_points(dst, "target points")
    if len(src) != len(dst):
        raise CalibrationError(f"{len(src)} source but {len(dst)} target points")
    check_geometry(src)
    T0, inl = ransac_rigid(src, dst, threshold, seed=seed)
    check_geometry(src[inl], "inlier placements")

    def f(x: np.ndarray) -> np.ndarray:
        return (apply_T(_to_T(x), src[inl]) - dst[inl]).ravel()

    res = least_squares(f, _from_T(T0), loss="soft_l1", f_scale=noise)
    T = _to_T(res.x)
    resid = np.linalg.norm(apply_T(T, src) - dst, axis=1)
    return RigidResult(T, resid, resid < threshold, _covariance(res, 3 * int(inl.sum())))


def _range_azimuth(p: np.ndarray) -> np.ndarray:
    """What a radar without elevation measures of ``(N, 3)`` points: ``ρ (cos θ, sin θ)``."""
    rho = np.linalg.norm(p, axis=1)
    th = np.arctan2(p[:, 1], p[:, 0])
    return np.column_stack([rho * np.cos(th), rho * np.sin(th)])


def solve_rigid_no_elevation(
    src: np.ndarray,
    radar_xy: np.ndarray,
    T_nominal: np.ndarray,
    *,
    threshold: float = 0.05,
    noise: float = 0.01,
    min_height_spread: float = 0.3,
) -> tuple[RigidResult, list[str]]:
    """``T_radar_src`` for a radar that reports ``(N, 2)`` points ``ρ (cos θ, sin θ)`` (no
    elevation). Returns the result and the parameters solved: all six when the targets span at
    least ``min_height_spread`` m in height, else yaw, x, y with roll, pitch and z from
    ``T_nominal`` (the rig's mounting)."""
    src = _as_points(src, "source points")
    m = np.asarray(radar_xy, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] != 2 or len(m) != len(src):
        raise CalibrationError(f"radar points: expected ({len(src)}, 2), got {m.shape}")
    check_geometry(np.column_stack([m, np.zeros(len(m))]), "placements (seen from above)")
    heights = apply_T(T_nominal, src)[:, 2]
    full = np.ptp(heights) >= min_height_spread
    x0 = _from_T(T_nominal)
    rpy0 = Rotation.from_matrix(T_nominal[:3, :3]).as_euler("xyz")

    def T_of(p: np.ndarray) -> np.ndarray:
        if full:
            return _to_T(p)
        T = np.eye(4)
        T[:3, :3] = Rotation.from_euler("xyz", [rpy0[0], rpy0[1], p[0]]).as_matrix()
        T[:3, 3] = [p[1], p[2], T_nominal[2, 3]]
        return T

    p0 = x0 if full else np.array([rpy0[2], T_nominal[0, 3], T_nominal[1, 3]])
    keep = np.ones(len(src), bool)
    for _ in range(3):  # refit without the correspondences the last fit rejected

        def f(p: np.ndarray, keep: np.ndarray = keep) -> np.ndarray:
            return (_range_azimuth(apply_T(T_of(p), src[keep])) - m[keep]).ravel()

        res = least_squares(f, p0, loss="soft_l1", f_scale=noise)
        p0 = res.x
        resid = np.linalg.norm(_range_azimuth(apply_T(T_of(res.x), src)) - m, axis=1)
        new = resid < threshold
        if new.sum() < 3:
            raise CalibrationError(
                f"only {int(new.sum())} of {len(src)} placements fit within {threshold * 100:.0f} cm"
            )
        if (new == keep).all():
            break
        keep = new
    cov = np.zeros((6, 6))
    c = _covariance(res, 2 * int(keep.sum()))
    if full:
        cov = c
    else:
        cov[2, 2], cov[3:5, 3:5], cov[2, 3:5], cov[3:5, 2] = c[0, 0], c[1:, 1:], c[0, 1:], c[1:, 0]
    solved = ["roll", "pitch", "yaw", "x", "y", "z"] if full else ["yaw", "x", "y"]
    return RigidResult(T_of(res.x), resid, resid < threshold, cov), solved


def rotation_error_deg(A: np.ndarray, B: np.ndarray) -> float:
    """Angle of ``A_R⁻¹ B_R`` in degrees."""
    return float(np.degrees(Rotation.from_matrix(A[:3, :3].T @ B[:3, :3]).magnitude()))


def compose(
    T_ab: np.ndarray, cov_ab: np.ndarray, T_bc: np.ndarray, cov_bc: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``T_ac = T_ab T_bc`` and its first-order covariance (rotation vector, translation) from the
    two inputs' covariances, by the numerical Jacobians of the composition."""
    xa, xb = _from_T(T_ab), _from_T(T_bc)

    def g(x: np.ndarray) -> np.ndarray:
        return _from_T(_to_T(x[:6]) @ _to_T(x[6:]))

    x = np.concatenate([xa, xb])
    y0 = g(x)
    J = np.empty((6, 12))
    for k in range(12):
        d = np.zeros(12)
        d[k] = 1e-7
        J[:, k] = (g(x + d) - y0) / 1e-7
    C = np.zeros((12, 12))
    C[:6, :6], C[6:, 6:] = cov_ab, cov_bc
    return T_ab @ T_bc, J @ C @ J.T
