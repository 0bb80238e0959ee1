"""LiDAR ↔ camera from a checkerboard both see, and camera intrinsics from checkerboard images.

Per placement the camera gives the board's pose by PnP on its inner corners (a homography start,
then reprojection refinement with the camera's distortion); the LiDAR gives the returns on the
board's plane. ``T_cam_lidar`` is then the transform that puts every LiDAR return on the plane
the camera saw (point-to-plane least squares, robust loss). Boards tilted differently fix all six
parameters: each plane fixes the translation along its normal and two rotation angles, so the
normals must span three directions. The board's 180° symmetry (corner order reversed) leaves its
plane unchanged, so either corner order works here.

Corner detection uses OpenCV (the ``opencv`` extra); everything else is numpy/scipy/open3d.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from drivers import CameraConfig, RecordingReader
from drivers.camera import project, undistort_normalized

from .errors import CalibrationError
from .intrinsics import camera_from_opencv
from .rigid import RigidResult, _covariance, _from_T, _to_T, apply_T

MIN_NORMAL_SPREAD = 0.15  # smallest singular value of the stacked unit normals (≈ sin of spread)


@dataclass(frozen=True)
class BoardSpec:
    """A checkerboard of ``rows`` × ``cols`` squares of ``square`` m; its frame has x along the
    columns, y along the rows, z the normal, the origin at the outer corner (as the simulator's)."""

    rows: int = 6
    cols: int = 8
    square: float = 0.08
    margin: float = 0.0  # border around the pattern (m): the board's edges are this far out

    def outline(self) -> tuple[float, float, float, float]:
        """The board's edges (x_min, x_max, y_min, y_max) in its frame (m)."""
        m = self.margin
        return (-m, self.cols * self.square + m, -m, self.rows * self.square + m)

    @property
    def pattern(self) -> tuple[int, int]:
        """Inner corners per row and per column, as OpenCV names a pattern."""
        return (self.cols - 1, self.rows - 1)

    def corners(self) -> np.ndarray:
        """``((rows-1)·(cols-1), 3)`` inner corners in the board frame, row-major (OpenCV order)."""
        ii, jj = np.meshgrid(np.arange(1, self.rows), np.arange(1, self.cols), indexing="ij")
        return np.column_stack([jj.ravel(), ii.ravel(), np.zeros(ii.size)]) * self.square


def _cv2():  # noqa: ANN202 - the optional module
    try:
        import cv2
    except ImportError as e:
        raise CalibrationError(
            "checkerboard corner detection needs OpenCV: pip install 'radarpose[opencv]'"
        ) from e
    return cv2


def detect_corners(image: np.ndarray, board: BoardSpec) -> np.ndarray | None:
    """Inner corners ``(N, 2)`` px (sub-pixel) of ``board`` in an ``(H, W, 3)`` RGB or ``(H, W)``
    grey uint8 image, in :meth:`BoardSpec.corners` order (or reversed); ``None`` if not found."""
    cv2 = _cv2()
    img = np.asarray(image)
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
    ok, c = cv2.findChessboardCorners(grey, board.pattern, flags=flags)
    if not ok:
        return None
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3)
    c = cv2.cornerSubPix(grey, c, (5, 5), (-1, -1), crit)
    # OpenCV's (0, 0) is the first pixel's centre; CONVENTIONS put it at the pixel's corner
    return c.reshape(-1, 2).astype(np.float64) + 0.5


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """DLT homography ``dst ~ H src`` from ``(N, 2)`` point pairs (N ≥ 4)."""
    rows = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    return np.linalg.svd(np.asarray(rows))[2][-1].reshape(3, 3)


def board_pose(
    corners_px: np.ndarray, board: BoardSpec, cam: CameraConfig
) -> tuple[np.ndarray, float]:
    """``T_cam_board`` from detected inner corners ``(N, 2)`` px; returns it and the RMS
    reprojection error (px)."""
    obj = board.corners()
    uv = np.asarray(corners_px, dtype=np.float64)
    if uv.shape != (len(obj), 2):
        raise CalibrationError(f"expected ({len(obj)}, 2) board corners, got {uv.shape}")
    xy = undistort_normalized(
        np.column_stack([(uv[:, 0] - cam.cx) / cam.fx, (uv[:, 1] - cam.cy) / cam.fy]), cam
    )
    H = _homography(obj[:, :2], xy)
    H /= np.linalg.norm(H[:, 0])
    if H[2, 2] < 0:  # the board is in front of the camera
        H = -H
    r1, r2 = H[:, 0], H[:, 1] / np.linalg.norm(H[:, 1])
    R0 = np.column_stack([r1, r2, np.cross(r1, r2)])
    U, _, Vt = np.linalg.svd(R0)
    T0 = np.eye(4)
    T0[:3, :3], T0[:3, 3] = U @ Vt, H[:, 2]

    def f(x: np.ndarray) -> np.ndarray:
        return (project(apply_T(_to_T(x), obj), cam)[0] - uv).ravel()

    res = least_squares(f, _from_T(T0))
    return _to_T(res.x), float(np.sqrt(np.mean(res.fun**2) * 2))


def board_points_in_lidar(
    points: np.ndarray,
    T_cam_board: np.ndarray,
    T_cam_lidar_guess: np.ndarray,
    board: BoardSpec,
    *,
    margin: float = 0.25,
    distance: float = 0.05,
) -> np.ndarray:
    """LiDAR returns ``(K, 3)`` m on the board, from ``(M, ≥3)`` points: those near where the
    nominal extrinsics put the board, then the dominant plane among them (open3d RANSAC)."""
    import open3d as o3d

    p = np.asarray(points, dtype=np.float64)[:, :3]
    T_board_lidar = np.linalg.inv(T_cam_board) @ T_cam_lidar_guess
    q = apply_T(T_board_lidar, p)
    w, h = board.cols * board.square, board.rows * board.square
    near = (
        (q[:, 0] > -margin)
        & (q[:, 0] < w + margin)
        & (q[:, 1] > -margin)
        & (q[:, 1] < h + margin)
        & (np.abs(q[:, 2]) < margin)
    )
    if near.sum() < 30:
        return np.zeros((0, 3))
    pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(p[near]))
    _, idx = pc.segment_plane(distance_threshold=distance, ransac_n=3, num_iterations=200)
    return p[near][np.asarray(idx)]


@dataclass
class BoardObservation:
    """One placement: the camera's ``T_cam_board`` (4×4) and the LiDAR's board returns (K, 3) m."""

    T_cam_board: np.ndarray
    lidar_points: np.ndarray
    reprojection_px: float = float("nan")


def _plane(T_cam_board: np.ndarray) -> tuple[np.ndarray, float]:
    n = T_cam_board[:3, 2]
    return n, float(n @ T_cam_board[:3, 3])


def calibrate_lidar_camera(
    obs: list[BoardObservation],
    board: BoardSpec | None = None,
    *,
    noise: float = 0.02,
    max_points: int = 5000,
    seed: int = 0,
) -> RigidResult:
    """``T_cam_lidar`` from board placements; ``residuals`` are per-placement RMS point-to-plane
    distances (m). Refuses fewer than 3 placements or normals that do not span three directions.

    Boards all face the sensors, so their normals differ by tens of degrees only and the planes
    alone fix the roll about the viewing direction and the in-plane shifts weakly. With ``board``
    given, its edges add that: returns that fall outside the board's outline are pulled in."""
    obs = [o for o in obs if len(o.lidar_points) >= 10]
    if len(obs) < 3:
        raise CalibrationError(
            f"{len(obs)} board placements seen by both sensors; at least 3 with differently "
            "tilted boards are needed (6 or more recommended)"
        )
    n_cam = np.array([_plane(o.T_cam_board)[0] for o in obs])
    s = np.linalg.svd(n_cam, compute_uv=False)
    if s[-1] / np.sqrt(len(obs)) < MIN_NORMAL_SPREAD:
        raise CalibrationError(
            f"the {len(obs)} boards are nearly parallel (normal spread {s[-1] / np.sqrt(len(obs)):.3f}"
            f" < {MIN_NORMAL_SPREAD}): the translation along them is unobservable; tilt the "
            "board left/right and up/down between placements"
        )
    # start: rotation from the plane normals, translation from the plane offsets
    n_lid, d_lid = [], []
    for o in obs:
        c = o.lidar_points.mean(axis=0)
        n = np.linalg.svd(o.lidar_points - c)[2][-1]
        n_lid.append(n)
        d_lid.append(float(n @ c))
    n_lid, d_lid = np.array(n_lid), np.array(d_lid)
    d_cam = np.array([_plane(o.T_cam_board)[1] for o in obs])
    # orient the LiDAR normals like the camera's (the board is metres away, both sensors are on
    # the same side of it, so the plane offsets share their sign)
    sign = np.where(d_lid * d_cam < 0, -1.0, 1.0)
    n_lid, d_lid = n_lid * sign[:, None], d_lid * sign
    U, _, Vt = np.linalg.svd(n_cam.T @ n_lid)
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))])
    R = U @ D @ Vt
    t = np.linalg.lstsq(n_cam, d_cam - d_lid, rcond=None)[0]
    T0 = np.eye(4)
    T0[:3, :3], T0[:3, 3] = R, t

    rng = np.random.default_rng(seed)
    pts = [
        o.lidar_points[rng.choice(len(o.lidar_points), max_points, replace=False)]
        if len(o.lidar_points) > max_points
        else o.lidar_points
        for o in obs
    ]
    planes = [_plane(o.T_cam_board) for o in obs]

    T_board_cam = [np.linalg.inv(o.T_cam_board) for o in obs]
    x0, x1, y0, y1 = board.outline() if board is not None else (0.0, 0.0, 0.0, 0.0)

    def f(x: np.ndarray) -> np.ndarray:
        T = _to_T(x)
        out = []
        for p, Tb in zip(pts, T_board_cam, strict=True):
            q = apply_T(Tb @ T, p)
            out.append(q[:, 2])  # distance from the board's plane
            if board is not None:
                out.append(np.maximum(q[:, 0] - x1, 0) + np.maximum(x0 - q[:, 0], 0))
                out.append(np.maximum(q[:, 1] - y1, 0) + np.maximum(y0 - q[:, 1], 0))
        return np.concatenate(out)

    res = least_squares(f, _from_T(T0), loss="soft_l1", f_scale=noise)
    T = _to_T(res.x)
    dist = [apply_T(T, o.lidar_points) @ n - d for o, (n, d) in zip(obs, planes, strict=True)]
    per = np.array([np.sqrt(np.mean(r**2)) for r in dist])
    # The covariance of the fit counts LiDAR noise only, which thousands of returns average away;
    # the camera's error in each board's plane does not average within a board. Each board's mean
    # offset from its plane shows that error: the covariance grows by how much those offsets
    # exceed what LiDAR noise alone would leave.
    spread = np.array([np.mean(r) ** 2 / (np.var(r) / len(r)) for r in dist])
    cov = _covariance(res, len(res.fun)) * max(1.0, float(np.mean(spread)))
    return RigidResult(T, per, per < 3 * noise, cov)


def calibrate_intrinsics(
    images: list[np.ndarray], board: BoardSpec, *, distortion: bool = True
) -> tuple[CameraConfig, float, int]:
    """A :class:`CameraConfig` from checkerboard images (OpenCV), its RMS reprojection error (px)
    and the number of images the board was found in. Refuses fewer than 3 usable images."""
    cv2 = _cv2()
    found = [c for c in (detect_corners(im, board) for im in images) if c is not None]
    if len(found) < 3:
        raise CalibrationError(
            f"the board was found in {len(found)} of {len(images)} images; at least 3 are needed"
        )
    h, w = np.asarray(images[0]).shape[:2]
    obj = [board.corners().astype(np.float32)] * len(found)
    img = [(c - 0.5).astype(np.float32) for c in found]  # back to OpenCV's pixel-centre origin
    # k3 is left at zero, as usual for non-fisheye lenses: a few board views cannot separate it
    # from k1 and k2, and a free k3 runs away
    flags = cv2.CALIB_FIX_K3
    if not distortion:
        flags |= cv2.CALIB_FIX_K1 | cv2.CALIB_FIX_K2 | cv2.CALIB_ZERO_TANGENT_DIST
    rms, K, dist, _, _ = cv2.calibrateCamera(obj, img, (w, h), None, None, flags=flags)
    cam = camera_from_opencv(K, dist if distortion else [], w, h)
    return cam, float(rms), len(found)


def observations_from_recording(
    path: str | Path,
    lidar: str,
    camera: str,
    board: BoardSpec,
    T_cam_lidar_guess: np.ndarray,
    *,
    max_skew: float = 0.1,
) -> tuple[list[BoardObservation], dict[str, int]]:
    """Board observations from a recording: each camera frame where the board is found, with the
    LiDAR frame nearest in time (within ``max_skew`` s). Returns them and counts of frames used,
    frames without the board, and frames without a LiDAR partner or without board returns."""
    stats = {"camera_frames": 0, "board_not_found": 0, "no_lidar": 0, "used": 0}
    out: list[BoardObservation] = []
    with RecordingReader(path) as rec:
        for name in (lidar, camera):
            if name not in rec.streams:
                raise CalibrationError(
                    f"{path}: no stream {name!r} (has: {', '.join(rec.streams)})"
                )
        cam = rec.camera_config(camera)
        l_stamps = rec.stamps(lidar)
        if not len(l_stamps):
            raise CalibrationError(f"{path}: stream {lidar!r} has no frames")
        for f in rec.frames(camera):
            stats["camera_frames"] += 1
            c = detect_corners(f.data["image"], board)
            if c is None:
                stats["board_not_found"] += 1
                continue
            k = int(np.argmin(np.abs(l_stamps - f.stamp_ns)))
            if abs(int(l_stamps[k]) - f.stamp_ns) > max_skew * 1e9:
                stats["no_lidar"] += 1
                continue
            T_cb, rms = board_pose(c, board, cam)
            lf = next(rec.frames(lidar, k, k + 1))
            pts = board_points_in_lidar(lf.data["points"], T_cb, T_cam_lidar_guess, board)
            if len(pts) < 10:
                stats["no_lidar"] += 1
                continue
            out.append(BoardObservation(T_cb, pts, rms))
            stats["used"] += 1
    return out, stats
