"""Radar ↔ LiDAR calibration without targets: a walking person, the static room, motion in time.

* :func:`calibrate_person` refines ``T_radar_lidar`` from the person's centroid tracks
  (:mod:`calibration.person`). What a walking person fixes: the track lies on the floor, so the
  horizontal part (yaw, x, y) is well observed, while roll, pitch and height are observed only
  through the centroids' heights, and those are biased by what each sensor sees of the body (the
  LiDAR's ±12.6° field cuts the legs off near the rig and less of them far away; the cascade's
  sparse elevation array gives per-frame heights with tens of cm of error). So yaw, x and y are
  solved and roll, pitch, z kept from the starting calibration (use the ICP or a reflector session
  for those). Both sensors see the surface facing them, but not equally (the LiDAR only the
  front, the radar also diffuse returns from the sides and back): the difference is an offset
  along the viewing ray, optionally solved as one extra parameter ``radial_bias`` (m, positive =
  the radar centroid lies farther than the LiDAR's); left out, it ends up in x.
* :func:`calibrate_icp` registers radar static scatterers accumulated over the recording to the
  LiDAR's static background (open3d point-to-plane ICP, Tukey kernel): all six parameters, as far
  as the scatterers span the room; refused up front (:func:`check_icp_observability`) when the
  radar points near LiDAR surfaces leave a direction unfixed, as a room's walls facing the rig do.
* :func:`estimate_lidar_offset`: the LiDAR's clock offset from the two person tracks
  (:func:`calibration.temporal.estimate_offset` on the horizontal positions).
* :func:`estimate_camera_offset`: a camera's clock offset from the person's bearing in its
  images (:func:`calibration.person.camera_person_track`) against a radar or LiDAR track.

Radar tracks carry occasional wrong clusters (aliased limbs, floor bounces); RANSAC drops them in
space, and a running-median despike drops them before the time alignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from drivers.camera import project
from drivers.rig import CameraConfig
from drivers.transforms import apply, invert

from .errors import CalibrationError
from .person import ImageTrack, Track
from .rigid import RigidResult, check_geometry, solve_rigid
from .temporal import OffsetResult, estimate_offset


@dataclass
class PersonResult:
    """``T`` = ``T_radar_lidar`` (4×4); ``fit``: the horizontal RANSAC + soft-L1 fit (residuals per
    frame pair, m, before the radial bias); ``radial_bias`` m; ``rms`` m after it; ``pairs`` used,
    ``dropped`` frames per reason; ``solved`` parameter names; ``sigma_yaw_deg`` the fit's yaw
    1-sigma."""

    T: np.ndarray
    fit: RigidResult
    radial_bias: float
    rms: float
    pairs: int
    dropped: dict[str, int] = field(default_factory=dict)
    solved: tuple[str, ...] = ("yaw", "x", "y", "radial_bias")
    sigma_yaw_deg: float = float("nan")


def despike(t: np.ndarray, x: np.ndarray, *, window: int = 5, max_jump: float = 0.3) -> np.ndarray:
    """Mask (N,) of samples of ``(N, D)`` ``x`` within ``max_jump`` of the running median of
    ``window`` samples around them (``t`` (N,) only orders them)."""
    x = x[np.argsort(t)]
    n, h = len(x), window // 2
    med = np.array([np.median(x[max(i - h, 0) : i + h + 1], axis=0) for i in range(n)])
    ok = np.linalg.norm(x - med, axis=1) <= max_jump
    out = np.empty(n, bool)
    out[np.argsort(t)] = ok
    return out


def pair_tracks(
    radar: Track,
    lidar: Track,
    *,
    radar_offset: float = 0.0,
    lidar_offset: float = 0.0,
    max_gap: float = 0.25,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Radar centroids and the LiDAR track interpolated at their instants, on the reference clock
    (``t = stamp − offset``): ``(K, 3)`` radar, ``(K, 3)`` LiDAR, ``(K,)`` times (s from the first
    radar stamp), and radar samples dropped per reason."""
    if len(radar.stamps_ns) == 0 or len(lidar.stamps_ns) < 2:
        raise CalibrationError(
            f"the person was found in {len(radar.stamps_ns)} radar and {len(lidar.stamps_ns)} LiDAR "
            "frames: nothing to pair (is anyone walking in front of the rig?)"
        )
    t0 = radar.stamps_ns[0]
    tr = (radar.stamps_ns - t0) / 1e9 - radar_offset
    tl = (lidar.stamps_ns - t0) / 1e9 - lidar_offset
    o = np.argsort(tl)
    tl, cl = tl[o], lidar.centroids[o]
    k = np.searchsorted(tl, tr)
    inside = (k > 0) & (k < len(tl))
    kk = np.clip(k, 1, len(tl) - 1)
    gap_ok = (tl[kk] - tl[kk - 1]) <= max_gap
    ok = inside & gap_ok
    dropped = {
        "outside the LiDAR track in time": int((~inside).sum()),
        "LiDAR gap around it": int((inside & ~gap_ok).sum()),
    }
    if not ok.any():
        raise CalibrationError(
            f"no radar frame falls inside the LiDAR track: the streams do not overlap in time "
            f"(radar {tr[0]:.2f}..{tr[-1]:.2f} s, LiDAR {tl[0]:.2f}..{tl[-1]:.2f} s on the "
            "reference clock; check the clock offsets)"
        )
    a, b = kk[ok] - 1, kk[ok]
    w = ((tr[ok] - tl[a]) / (tl[b] - tl[a]))[:, None]
    return radar.centroids[ok], (1 - w) * cl[a] + w * cl[b], tr[ok], dropped


def _yaw_T(p: np.ndarray) -> np.ndarray:
    c, s = np.cos(p[0]), np.sin(p[0])
    T = np.eye(4)
    T[:2, :2] = [[c, -s], [s, c]]
    T[:2, 3] = p[1:3]
    return T


def calibrate_person(
    radar: Track,
    lidar: Track,
    T_nominal: np.ndarray,
    *,
    radar_offset: float = 0.0,
    lidar_offset: float = 0.0,
    threshold: float = 0.3,
    noise: float = 0.05,
    min_pairs: int = 10,
    min_extent: float = 0.5,
    radial_bias: bool = False,
    max_sigma_deg: float = 1.0,
) -> PersonResult:
    """``T_radar_lidar`` refined from person tracks, starting from ``T_nominal`` (4×4): yaw, x, y
    (and the radial bias) solved, roll, pitch, z kept (see the module doc). Offsets are the two
    sensors' clock offsets (s). ``threshold`` (m) separates inlier pairs, ``noise`` (m) is the
    soft-L1 scale. ``radial_bias`` also solves the offset along the viewing ray; it differs from an
    x shift only by ``1 − cos(azimuth)``, so it needs a walk spanning a wide azimuth (on 5 s walks
    spanning ~25° it soaked up 13-16 cm of x error, hence off by default). A walk whose fit leaves
    the yaw 1-sigma above ``max_sigma_deg`` is refused: a short walk at one distance cannot tell a
    yaw from a sideways shift."""
    r, l_c, _, dropped = pair_tracks(
        radar, lidar, radar_offset=radar_offset, lidar_offset=lidar_offset
    )
    if len(r) < min_pairs:
        raise CalibrationError(
            f"{len(r)} radar frames pair with a LiDAR person detection; at least {min_pairs} are "
            "needed (record longer, or check that both sensors see the person)"
        )
    q = apply(T_nominal, l_c)  # LiDAR centroids in the radar frame by the starting calibration
    extent = float(np.linalg.norm(q[:, :2] - np.median(q[:, :2], axis=0), axis=1).max())
    if extent < min_extent:
        raise CalibrationError(
            f"the person moved only {extent:.2f} m (need {min_extent:g} m): a standing person fixes "
            "no rotation; walk across the field of view"
        )
    flat = np.array([1.0, 1.0, 0.0])
    check_geometry(q * flat, "person positions (seen from above)")
    fit = solve_rigid(q * flat, r * flat, threshold=threshold, noise=noise)
    sigma_yaw = float(np.degrees(np.sqrt(fit.cov[2, 2])))
    if not sigma_yaw <= max_sigma_deg:
        span = np.ptp(np.linalg.norm(q[:, :2], axis=1))
        raise CalibrationError(
            f"the walk leaves the yaw uncertain by {sigma_yaw:.1f} deg (1-sigma; "
            f"limit {max_sigma_deg:g} deg): {len(r)} frame pairs over {span:.1f} m of range; "
            "walk longer, nearer and farther, and across the field of view"
        )
    inl = fit.inliers
    yaw = float(np.arctan2(fit.T[1, 0], fit.T[0, 0]))
    p0 = np.array([yaw, fit.T[0, 3], fit.T[1, 3], 0.0])

    def f(p: np.ndarray) -> np.ndarray:
        m = apply(_yaw_T(p), q[inl])[:, :2]
        u = m / np.linalg.norm(m, axis=1, keepdims=True)
        return (m + p[3] * u - r[inl, :2]).ravel()

    if radial_bias:
        p = least_squares(f, p0, loss="soft_l1", f_scale=noise).x
    else:
        p = p0
    rms = float(np.sqrt(np.mean(f(p).reshape(-1, 2) ** 2) * 2))
    dropped = {**dropped, "RANSAC outliers": int((~inl).sum())}
    return PersonResult(
        _yaw_T(p) @ T_nominal,
        fit,
        float(p[3]),
        rms,
        int(inl.sum()),
        dropped,
        ("yaw", "x", "y", "radial_bias") if radial_bias else ("yaw", "x", "y"),
        sigma_yaw,
    )


@dataclass
class IcpResult:
    """``T`` = ``T_radar_lidar``; ``fitness`` = share of radar points with a LiDAR point within
    the last ``max_distance``; ``inlier_rmse`` m over those correspondences; ``points`` distinct
    radar points registered."""

    T: np.ndarray
    fitness: float
    inlier_rmse: float
    points: int


def calibrate_icp(
    radar_points: np.ndarray,
    lidar_points: np.ndarray,
    T_init: np.ndarray,
    *,
    max_distance: tuple[float, ...] = (1.0, 0.5, 0.25),
    kernel: float = 0.1,
    min_points: int = 6,
    iterations: int = 60,
    min_fitness: float = 0.3,
    point_sigma: float = 0.05,
    max_sigma: float = 0.05,
) -> IcpResult:
    """``T_radar_lidar`` from radar static points ``(M, ≥3)`` (radar frame) and the LiDAR static
    cloud ``(K, 3)`` (LiDAR frame), starting at ``T_init`` (4×4): point-to-plane ICP of the radar
    points onto the LiDAR surfaces with a Tukey kernel of ``kernel`` m, correspondences within
    ``max_distance`` m. Refused before any iteration when the radar points near LiDAR surfaces
    cannot fix all six parameters (:func:`check_icp_observability`: radar points ``point_sigma`` m off
    the surfaces must fix every direction to ``max_sigma``)."""
    import open3d as o3d

    rp = np.unique(np.asarray(radar_points, np.float64)[:, :3], axis=0)
    lp = np.asarray(lidar_points, np.float64)[:, :3]
    if len(rp) < min_points:
        raise CalibrationError(
            f"{len(rp)} distinct static radar points; ICP needs at least {min_points} spread over "
            "walls, floor and furniture"
        )
    if len(lp) < 100:
        raise CalibrationError(f"{len(lp)} static LiDAR points; at least 100 are needed")
    src = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(rp))
    dst = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(lp))
    dst = dst.voxel_down_sample(0.03)
    dst.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=0.2, max_nn=30))
    check_icp_observability(
        apply(invert(T_init), rp),
        np.asarray(dst.points),
        np.asarray(dst.normals),
        max_distance[0],
        min_points,
        point_sigma,
        max_sigma,
    )
    reg = o3d.pipelines.registration
    est = reg.TransformationEstimationPointToPlane(reg.TukeyLoss(k=kernel))
    T = invert(T_init)  # the radar points move into the LiDAR frame: T_lidar_radar
    for dist in max_distance:
        res = reg.registration_icp(
            src, dst, dist, T, est, reg.ICPConvergenceCriteria(max_iteration=iterations)
        )
        if res.fitness == 0:
            raise CalibrationError(
                f"no radar static point lies within {dist} m of a LiDAR surface: the initial "
                "guess is too far off or the clouds show different scenes"
            )
        T = np.asarray(res.transformation)
    if res.fitness < min_fitness:
        raise CalibrationError(
            f"after ICP only {res.fitness:.0%} of the {len(rp)} static radar points lie within "
            f"{max_distance[-1]} m of a LiDAR surface (need {min_fitness:.0%}): it did not "
            "converge; too few radar scatterers on surfaces the LiDAR sees, or a poor start"
        )
    return IcpResult(invert(T), float(res.fitness), float(res.inlier_rmse), len(rp))


_DIRECTIONS = (
    "rotation about x (roll)",
    "rotation about y (pitch)",
    "rotation about z (yaw)",
    "translation along x",
    "translation along y",
    "translation along z",
)


def check_icp_observability(
    radar_in_lidar: np.ndarray,
    lidar_points: np.ndarray,
    lidar_normals: np.ndarray,
    max_distance: float,
    min_points: int,
    point_sigma: float,
    max_sigma: float,
) -> None:
    """Refuse point-to-plane ICP that cannot fix all six parameters. Radar points ``(M, 3)``
    already moved into the LiDAR frame by the starting guess are paired with their nearest LiDAR
    point ``(K, 3)`` within ``max_distance`` m and its unit normal ``(K, 3)``; each pair
    constrains ``[(p × n)ᵀ/L, nᵀ]`` (rotation scaled by the pairs' spread ``L`` so that radians
    and metres compare). Each eigenvector ``e`` of the 6×6 information matrix is known to
    ``point_sigma / sqrt(λ)`` (m; a rotation as the motion it gives at ``L``); if one exceeds
    ``max_sigma`` the poorly fixed directions are named: all surfaces facing one way (a back
    wall and furniture fronts, the usual radar view of a room) fix only the distance to them and
    two tilts, and ICP then drifts along the rest (measured on the simulated room: 7 of 36 static
    radar points near LiDAR surfaces, all facing the rig, and ICP diverged from a 3°/10 cm start)."""
    from scipy.spatial import cKDTree

    d, k = cKDTree(lidar_points).query(radar_in_lidar, distance_upper_bound=max_distance)
    ok = np.isfinite(d)
    p, n = radar_in_lidar[ok], lidar_normals[k[ok]]
    if len(p) < min_points:
        raise CalibrationError(
            f"{len(p)} of {len(radar_in_lidar)} static radar points lie within {max_distance:g} m "
            f"of a LiDAR surface (need {min_points}): the radar's static returns are where the "
            "LiDAR does not look (near floor, side walls outside its field) or the start is far off"
        )
    c = p - p.mean(axis=0)
    lever = float(np.sqrt(np.mean(np.sum(c**2, axis=1))))
    J = np.column_stack([np.cross(c, n) / max(lever, 1e-9), n])
    w, v = np.linalg.eigh(J.T @ J)
    sigma = point_sigma / np.sqrt(np.maximum(w, 1e-12))
    if sigma.max() > max_sigma:
        weak = v[:, sigma > max_sigma]
        names = sorted({_DIRECTIONS[int(np.argmax(np.abs(col)))] for col in weak.T})
        main = np.linalg.eigh(n.T @ n)[1][:, -1]
        facing = int((np.abs(n @ main) > np.cos(np.radians(20))).sum())
        raise CalibrationError(
            f"ICP cannot fix all six parameters: the {len(p)} static radar points near LiDAR "
            f"surfaces fix {len(names)} direction(s) only to {sigma.max():.2f} m 1-sigma (need "
            f"{max_sigma:g} m; {', '.join(names)}, LiDAR frame): {facing} of them lie on "
            "surfaces facing within 20 deg of one direction. "
            "Radar sees walls that face it; add returns from surfaces facing other ways (a side "
            "wall, the floor within the LiDAR's field, a box or reflector turned sideways) or "
            "use --method person and reflectors for the rest"
        )


def estimate_lidar_offset(
    radar: Track,
    lidar: Track,
    T_radar_lidar: np.ndarray,
    *,
    radar_offset: float = 0.0,
    max_lag: float = 0.3,
    signal: str = "xy",
) -> OffsetResult:
    """The LiDAR's clock offset (s, LiDAR stamp − reference clock) from the person's motion in
    both sensors, given the radar's own offset ``radar_offset`` (0 for the reference).

    ``signal="xy"``: the horizontal centroid positions, which need ``T_radar_lidar`` right (3° of
    yaw moved the estimate by 6-13 ms); ``"range"``: the person's range from the radar (the
    radar's :attr:`Track.ranges`), which no rotation about the radar changes, but the LiDAR's
    cluster centroid range lags the body by 15-20 ms on some walks (what it sees of the body
    changes with the walking direction). Measured on simulated walks of 8-10 s with the true
    ``T`` (seeds 1, 2, 3): xy −6.2, +7.9, −28.9 ms (reported 1-sigma 11.7, 16.1, 11.9 ms),
    range −15.1, −7.0, −4.8 ms (1-sigma 11.2, 11.1, 9.9 ms); on a 4 s walk both were 26-32 ms
    off. The error is the tracks' noise, not the estimator (exact on noise-free tracks): the
    radar's bearing is off by ~2.5° (1-sigma, smooth over frames) and its range by 3-5 cm, so
    ``sigma`` (:func:`calibration.temporal.offset_sigma`) is 10-20 ms on such walks and falls
    as 1/sqrt(duration)."""
    if len(radar.stamps_ns) < 5 or len(lidar.stamps_ns) < 5:
        raise CalibrationError(
            f"the person was found in {len(radar.stamps_ns)} radar and {len(lidar.stamps_ns)} "
            "LiDAR frames; at least 5 each are needed"
        )
    t0 = radar.stamps_ns[0]
    tr = (radar.stamps_ns - t0) / 1e9
    tl = (lidar.stamps_ns - t0) / 1e9
    ql = apply(T_radar_lidar, lidar.centroids)
    if signal == "range":
        xr = radar.ranges if radar.ranges is not None else np.linalg.norm(radar.centroids, axis=1)
        xr, xl = xr[:, None], np.linalg.norm(ql, axis=1)[:, None]
    elif signal == "xy":
        xr, xl = radar.centroids[:, :2], ql[:, :2]
    else:
        raise CalibrationError(f"signal {signal!r}: expected 'range' or 'xy'")
    ok = despike(tr, xr)
    res = estimate_offset(tr[ok], xr[ok], tl, xl, max_lag=max_lag)
    res.offset += radar_offset
    return res


def estimate_camera_offset(
    ref: Track,
    image: ImageTrack,
    T_cam_ref: np.ndarray,
    cam: CameraConfig,
    *,
    ref_offset: float = 0.0,
    max_lag: float = 0.5,
) -> OffsetResult:
    """A camera's clock offset (s, camera stamp − reference clock) from the person's bearing: the
    reference sensor's centroids ``ref`` (radar or LiDAR track) projected through ``T_cam_ref``
    (4×4) and ``cam`` against the silhouette's column in each image (:func:`camera_person_track`);
    ``ref_offset`` is the reference sensor's own offset. Only the column is compared: the person's
    height in the image depends on what is cut off, and radar heights are poor. The ±``max_lag``
    search is wider than for the LiDAR because webcams lag by 100-300 ms."""
    if len(ref.stamps_ns) < 5 or len(image.stamps_ns) < 5:
        raise CalibrationError(
            f"the person was found in {len(ref.stamps_ns)} reference and "
            f"{len(image.stamps_ns)} camera frames; at least 5 each are needed"
        )
    uv, z = project(apply(T_cam_ref, ref.centroids), cam)
    ok = np.isfinite(uv[:, 0]) & (z > 0)
    t0 = ref.stamps_ns[0]
    tr = (ref.stamps_ns[ok] - t0) / 1e9
    ok2 = despike(tr, ref.centroids[ok, :2])
    tc = (image.stamps_ns - t0) / 1e9
    res = estimate_offset(tr[ok2], uv[ok][ok2, :1], tc, image.u[:, None], max_lag=max_lag)
    res.offset += ref_offset
    return res
