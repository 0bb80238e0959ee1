"""Lifting 2D keypoints to 3D: LiDAR depth, stereo triangulation, a bone-length prior.

All 2D inputs are canonical-15 (RT-Pose order) pixels ``(..., 15, 2)`` with confidence
``(..., 15)``; 3D results are metres in the camera frame of the camera that saw the keypoints
(OpenCV axes) unless a name says otherwise. The sequence refinement (:func:`refine_track`) then
enforces one set of bone lengths per person and smooth motion, which is what turns noisy
per-frame lifts into labels.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import lil_matrix
from scipy.spatial import cKDTree

from drivers import CameraConfig
from drivers.camera import backproject, project, undistort_normalized
from drivers.skeleton import RTPOSE15

from ..errors import FusionError

EDGES = np.asarray(RTPOSE15.edges)
# parent of each joint in the tree rooted at the pelvis (edges are listed parent -> child)
# left and right bones share one length: index of each edge's length in the shared vector
BONE_SLOT = np.array([0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 5, 6, 7])
CROSS_BONES = (0, 3, 8, 11)  # pelvis-hip and thorax-shoulder edges: across the body
PARENT = np.full(15, -1)
PARENT[EDGES[:, 1]] = EDGES[:, 0]
TORSO = (0, 1, 4, 7, 9, 12)  # pelvis, hips, thorax, shoulders: the body's bulk, LiDAR seeds
LIMB_ENDS = (3, 6, 11, 14)  # ankles and wrists
# the bend (rad) an unmeasured limb end is expected at (knees backward, elbows forward): about
# the flexion they hold when standing and walking
FLEX = np.array([0.2, 0.2, 0.2, 0.2])
LEG_PLANE = (2, 3, 5, 6)  # knees and ankles: in the plane through their hip normal to the hip line
ARM_PLANE = (10, 11, 13, 14)  # elbows and wrists: a walker's arms swing fore and aft
# each plane's joints (the first two on the line's first side) and the line its normal follows:
# the hips (1, 4) for the legs, the shoulders (9, 12) for the arms
PLANES = ((LEG_PLANE, (1, 4)), (ARM_PLANE, (9, 12)))
LIMB_JOINTS = (2, 3, 5, 6, 10, 11, 13, 14)  # knees, ankles, elbows, wrists: can hide behind
# limb radius (m) per RTPOSE15 edge (adult anthropometry): what a bone covers in the image
EDGE_RADIUS = np.array(
    [0.10, 0.075, 0.05, 0.10, 0.075, 0.05, 0.14, 0.09, 0.06, 0.045, 0.035, 0.06, 0.045, 0.035]
)
# how far a joint centre sits behind the body surface the camera sees (m): about the limb radius
# (adult anthropometry; torso joints are inside the trunk, head at its centre)
THICKNESS = np.array(
    [0.12, 0.09, 0.06, 0.045, 0.09, 0.06, 0.045, 0.12, 0.09, 0.06, 0.045, 0.035, 0.06, 0.045, 0.035]
)
# bone lengths as fractions of body height, RTPOSE15.edges order (Winter's anthropometric tables)
BONE_FRACTIONS = np.array(
    [
        0.095,
        0.245,
        0.246,
        0.095,
        0.245,
        0.246,
        0.288,
        0.10,
        0.129,
        0.186,
        0.146,
        0.129,
        0.186,
        0.146,
    ]
)


def undistort_pixels(uv: np.ndarray, cam: CameraConfig) -> np.ndarray:
    """Pixels ``(..., 2)`` as an ideal pinhole with the same ``K`` would see them (no distortion)."""
    uv = np.asarray(uv, dtype=np.float64)
    if not np.any(cam.distortion):
        return uv
    xy_d = np.stack([(uv[..., 0] - cam.cx) / cam.fx, (uv[..., 1] - cam.cy) / cam.fy], axis=-1)
    xy = undistort_normalized(xy_d, cam)
    return np.stack([xy[..., 0] * cam.fx + cam.cx, xy[..., 1] * cam.fy + cam.cy], axis=-1)


def rays(uv: np.ndarray, cam: CameraConfig) -> np.ndarray:
    """Unit viewing rays ``(..., 3)`` (camera frame) through pixels ``(..., 2)``."""
    d = backproject(uv, np.ones(np.shape(uv)[:-1]), cam)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


# -- (a) LiDAR depth ---------------------------------------------------------------------------
def person_cluster(
    uv_pts: np.ndarray,
    pts: np.ndarray,
    keypoints: np.ndarray,
    conf: np.ndarray,
    *,
    seed_px: float = 12.0,
    link: float = 0.15,
    depth_window: float = 0.7,
    min_conf: float = 0.3,
) -> np.ndarray:
    """Indices of the points on one person: grown in 3D from the points around its torso keypoints.

    ``uv_pts`` ``(N, 2)`` and ``pts`` ``(N, 3)`` are the projected and camera-frame points;
    ``keypoints`` ``(15, 2)`` and ``conf`` ``(15,)`` the person's 2D skeleton. Growth stays in the
    skeleton's box (widened 25 %) and within ``depth_window`` of the seeds' median depth, so the
    floor and the wall behind do not join through the feet.
    """
    ok = conf >= min_conf
    if ok.sum() < 3 or len(pts) == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = keypoints[ok].min(0), keypoints[ok].max(0)
    pad = 0.25 * (hi - lo) + 10
    box = np.all((uv_pts >= lo - pad) & (uv_pts <= hi + pad), axis=1)
    idx = np.flatnonzero(box)
    if len(idx) == 0:
        return idx
    tors = [j for j in TORSO if ok[j]] or list(np.flatnonzero(ok))
    d2 = ((uv_pts[idx, None] - keypoints[None, tors]) ** 2).sum(-1).min(1)
    seeds = d2 < seed_px**2
    if seeds.sum() < 3:
        return np.zeros(0, dtype=np.int64)
    z0 = np.median(pts[idx[seeds], 2])
    near = np.abs(pts[idx, 2] - z0) < depth_window
    idx, seeds = idx[near], seeds[near]
    tree = cKDTree(pts[idx])
    member = seeds.copy()
    frontier = np.flatnonzero(seeds)
    while len(frontier):
        nb = tree.query_ball_point(pts[idx[frontier]], link)
        new = np.unique(np.concatenate([np.asarray(n, dtype=np.int64) for n in nb]))
        new = new[~member[new]]
        member[new] = True
        frontier = new
    return idx[member]


def lidar_depths(
    keypoints: np.ndarray,
    conf: np.ndarray,
    points_cam: np.ndarray,
    cam: CameraConfig,
    *,
    radius_m: float = 0.05,
    min_points: int = 3,
    min_conf: float = 0.3,
    occlusion_margin: float = 0.06,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Depth z (m) of each joint centre ``(P, 15)``, its number of supporting LiDAR points, and
    whether the depth may belong to another body part ``(P, 15)`` bool.

    Per person: segment its cluster, then per keypoint take the median depth of the cluster's
    points within ``radius_m`` (converted to pixels at the person's depth) and add the joint's
    body thickness. NaN where fewer than ``min_points`` points support a joint. A limb joint whose
    keypoint lies on another bone's image (a hand beside the hip, a knee behind the other leg)
    may be hidden behind it: its depth then only says the joint is not nearer (``overlap``).
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    p = len(kp)
    depth = np.full((p, 15), np.nan)
    support = np.zeros((p, 15), dtype=np.int64)
    overlap = np.zeros((p, 15), dtype=bool)
    pts = np.asarray(points_cam, dtype=np.float64)
    front = pts[:, 2] > 0.1
    pts = pts[front]
    uv, _ = project(pts, cam)
    inside = np.isfinite(uv).all(1)
    pts, uv = pts[inside], uv[inside]
    for i in range(p):
        members = person_cluster(uv, pts, kp[i], conf[i], min_conf=min_conf)
        if len(members) < min_points:
            continue
        z_person = float(np.median(pts[members, 2]))
        r_px = max(2.0, radius_m * cam.fx / z_person)
        on_bone, along = _on_other_bones(
            kp[i], conf[i] >= min_conf, (EDGE_RADIUS + radius_m) * cam.fx / z_person
        )
        tree = cKDTree(uv[members])
        for j in range(15):
            if conf[i, j] < min_conf:
                continue
            near = tree.query_ball_point(kp[i, j], r_px)
            support[i, j] = len(near)
            if len(near) >= min_points:
                depth[i, j] = float(np.median(pts[members[near], 2])) + THICKNESS[j]
        # the bone's surface where the joint's keypoint crosses it: a joint surface clearly
        # nearer than that is the joint itself in front (a punch), otherwise it may be the bone
        surf = depth[i] - THICKNESS
        sa, sb = surf[EDGES[:, 0]], surf[EDGES[:, 1]]  # one end unmeasured: the other's
        sa, sb = np.where(np.isfinite(sa), sa, sb), np.where(np.isfinite(sb), sb, sa)
        occ = (1 - along) * sa + along * sb  # (15, 14); NaN where neither end is measured
        with np.errstate(invalid="ignore"):
            in_front = surf[:, None] < occ - occlusion_margin
        overlap[i] = (on_bone & ~in_front).any(1) & np.isfinite(depth[i])
    return depth, support, overlap


def _on_other_bones(
    kp: np.ndarray, ok: np.ndarray, reach_px: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which limb joints' keypoints ``(15, 2)`` lie within ``reach_px`` ``(14,)`` of a bone (both
    ends ``ok``) not attached to it, in the image: ``(15, 14)`` bool, and where along each bone
    (0 at its parent, 1 at its child) ``(15, 14)``."""
    out = np.zeros((15, len(EDGES)), dtype=bool)
    where = np.zeros((15, len(EDGES)))
    a, b = kp[EDGES[:, 0]], kp[EDGES[:, 1]]
    ab = b - a
    good = ok[EDGES[:, 0]] & ok[EDGES[:, 1]]
    for j in LIMB_JOINTS:
        if not ok[j]:
            continue
        t = np.clip(((kp[j] - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-9), 0, 1)
        dist = np.linalg.norm(a + t[:, None] * ab - kp[j], axis=-1)
        other = good & (EDGES[:, 0] != j) & (EDGES[:, 1] != j)
        out[j] = other & (dist < reach_px)
        where[j] = t
    return out, where


# -- (b) triangulation -------------------------------------------------------------------------
def triangulate(
    uv: np.ndarray, cams: list[CameraConfig], T_cam_world: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Weighted linear (DLT) triangulation.

    ``uv`` ``(C, ..., 2)`` pixels in ``C`` cameras, ``T_cam_world`` ``(C, 4, 4)``, ``weights``
    ``(C, ...)`` (0 drops a view). Returns ``(..., 3)`` world points; NaN where fewer than two
    views have weight.
    """
    uv = np.asarray(uv, dtype=np.float64)
    c = len(cams)
    if uv.shape[0] != c or len(T_cam_world) != c or np.shape(weights) != uv.shape[:-1]:
        raise FusionError(
            f"triangulate: {c} cameras, got pixels {uv.shape}, transforms {np.shape(T_cam_world)}, weights {np.shape(weights)}"
        )
    shape = uv.shape[1:-1]
    flat = uv.reshape(c, -1, 2)
    w = np.asarray(weights, dtype=np.float64).reshape(c, -1)
    rows = []
    for k in range(c):
        cam = cams[k]
        xy_d = np.stack([(flat[k, :, 0] - cam.cx) / cam.fx, (flat[k, :, 1] - cam.cy) / cam.fy], -1)
        xy = undistort_normalized(xy_d, cam)
        P = np.asarray(T_cam_world[k])[:3]
        wk = np.where(np.isfinite(xy).all(-1), w[k], 0.0)[:, None]
        xy = np.nan_to_num(xy)
        rows.append(wk * (xy[:, 0:1] * P[2] - P[0]))
        rows.append(wk * (xy[:, 1:2] * P[2] - P[1]))
    A = np.stack(rows, axis=1)  # (M, 2C, 4)
    _, _, vt = np.linalg.svd(A)
    X = vt[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = X[:, :3] / X[:, 3:4]
    out[(w > 0).sum(0) < 2] = np.nan
    return out.reshape(*shape, 3)


# -- (c) bone-length prior ---------------------------------------------------------------------
def prior_bone_lengths(height: float = 1.75) -> np.ndarray:
    """``(14,)`` bone lengths (m) of an average adult of ``height`` metres, RTPOSE15 edge order."""
    return BONE_FRACTIONS * height


def fill_with_bone_prior(
    joints: np.ndarray, ray_dirs: np.ndarray, lengths: np.ndarray, depth_hint: float = np.nan
) -> np.ndarray:
    """Place missing joints (NaN rows of ``(15, 3)``) from their viewing rays ``(15, 3)`` and bones.

    Walking the tree from the pelvis, a missing joint goes where its ray passes closest to its
    parent: the two points at the bone's length ``lengths`` ``(14,)`` from the parent are equally
    likely from one view, so the refinement settles the depth with the bone lengths and smooth
    motion. A joint without a ray (the 2D missed it) hangs below its parent (above, for the
    thorax and head) at its bone's length. Without any measured joint, the pelvis goes to
    ``depth_hint`` (m along the optical axis). Returns a filled copy.
    """
    out = np.array(joints, dtype=np.float64)
    if np.isnan(out[0]).any():
        known = np.isfinite(out).all(-1)
        depth = float(np.median(out[known, 2])) if known.any() else depth_hint
        seen = np.isfinite(ray_dirs).all(-1)
        if not np.isfinite(depth) or not seen.any():
            return out
        # the pelvis keypoint may be missing (a hip was): then the mean of the rays seen
        d0 = ray_dirs[0] if seen[0] else ray_dirs[seen].mean(0)
        out[0] = d0 * depth / d0[2]
    for e, (a, b) in enumerate(EDGES):
        if np.isnan(out[b]).any() and np.isfinite(out[a]).all():
            d = ray_dirs[b]
            if np.isfinite(d).all():
                out[b] = d * float(d @ out[a])
            else:
                up = -1.0 if b in (7, 8) else 1.0  # camera y points down
                out[b] = out[a] + np.array([0.0, up * lengths[e], 0.0])
    return out


def depth_hints(
    depth: np.ndarray, keypoints: np.ndarray, times: np.ndarray, cam: CameraConfig
) -> np.ndarray:
    """A person depth (m) per frame ``(T,)`` for frames without measured joints.

    The median measured joint depth ``depth`` ``(T, 15)``, interpolated in time over frames that
    have none; with none at all, the depth at which a 1.6 m head-to-ankle span fills the 2D
    skeleton's height (``keypoints`` ``(T, 15, 2)``).
    """
    with np.errstate(all="ignore"):
        med = np.array([np.nanmedian(d) if np.isfinite(d).any() else np.nan for d in depth])
    ok = np.isfinite(med)
    if ok.any():
        return np.interp(times, times[ok], med[ok])
    span = np.nanmax(keypoints[..., 1], axis=-1) - np.nanmin(keypoints[..., 1], axis=-1)
    return cam.fy * 1.6 / np.maximum(np.nan_to_num(span, nan=1.0), 1.0)


# -- sequence refinement -----------------------------------------------------------------------
def refine_track(
    init: np.ndarray,
    obs_uv: list[np.ndarray],
    obs_conf: list[np.ndarray],
    cams: list[CameraConfig],
    T_cam_world: list[np.ndarray],
    *,
    depth: np.ndarray | None = None,
    depth_cam: int = 0,
    times: np.ndarray,
    sigma_px: float = 3.0,
    sigma_depth: float = 0.04,
    sigma_behind: float = 0.25,
    sigma_bone: float = 0.01,
    sigma_accel: float | np.ndarray = 6.0,
    bone_prior: np.ndarray | None = None,
    sigma_prior: float = 0.05,
    min_conf: float = 0.3,
    loss: str = "soft_l1",
    f_scale: float = 2.5,
    max_nfev: int = 100,
    sigma_rel_depth: float | None = None,
    sigma_straight: float | None = None,
    depth_bound: np.ndarray | None = None,
    sigma_twist: float | None = None,
    sigma_leg_plane: float | None = None,
    sigma_arm_plane: float | None = None,
    arm_plane_weight: np.ndarray | None = None,
    hard_lengths: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Joint least-squares fit of one person's whole track; returns joints ``(T, 15, 3)`` and bone lengths ``(14,)``.

    Unknowns: the world-frame joints at every time and one length per bone. Residuals:
    reprojection in each camera (``obs_uv[c]`` ``(T, 15, 2)``, weighted by ``obs_conf[c]``
    ``(T, 15)`` over ``sigma_px``), optional LiDAR depth along camera ``depth_cam``'s axis
    (``depth`` ``(T, 15)``, NaN = none; ``sigma_behind`` for a joint behind it), bone lengths equal to the shared lengths, the shared
    lengths near ``bone_prior``, and acceleration (``sigma_accel`` m/s², one or ``(15,)`` per joint)
    between samples at ``times`` ``(T,)`` s. With ``sigma_rel_depth`` (m), a bone whose child has no LiDAR depth
    prefers to lie across the view (child at its parent's depth along ``depth_cam``'s axis): of
    the two depths a bone length allows from one view, the shallower. Left and right bones share a length. The robust ``loss`` (residuals in
    units of their sigma, quadratic up to ``f_scale``) keeps occluded LiDAR depths (the near side
    of the body in front of a far-side joint) and 2D outliers from dragging the fit. ``init`` ``(T, 15, 3)`` must be finite. Pixels may be distorted (they
    are undistorted here); the model is then an ideal pinhole. With ``sigma_twist`` (unit-vector
    difference, about rad) the shoulder line stays parallel to the hip line: the trunk turns as
    one, up to a few degrees of counter-rotation, so both lines' depth evidence sets its heading.
    With ``sigma_leg_plane`` (m) knees and ankles stay near the plane through their hip normal
    to the hip line (the knee is a hinge and legs swing fore and aft), so the legs' swing, seen
    in the image, sets the hip line's heading that noisy depth cannot; ``sigma_arm_plane`` does the
    same for elbows and wrists about the shoulder line, weighted per frame by
    ``arm_plane_weight`` ``(T,)`` in [0, 1] (a walker's arms swing fore and aft, a boxer's need
    not). With ``hard_lengths`` the bone-length residuals cost their square even under the robust
    loss (``soft_l1`` only): the skeleton does not give way like an outlier. With either plane
    the fit also starts from its solution without the planes and keeps the cheaper end.
    """
    X0 = np.asarray(init, dtype=np.float64)
    n_t = len(X0)
    if not np.isfinite(X0).all():
        raise FusionError("refine_track: the initial joints must be finite")
    # the swing planes couple every limb to the trunk's heading, and a start far from it can
    # settle in a worse minimum (one turner's last frames swung 24 cm out): also start from the
    # fit without them, and keep the cheaper end
    starts = [X0]
    if sigma_leg_plane is not None or sigma_arm_plane is not None:
        starts.append(
            refine_track(
                X0, obs_uv, obs_conf, cams, T_cam_world, depth=depth, depth_cam=depth_cam,
                times=times, sigma_px=sigma_px, sigma_depth=sigma_depth,
                sigma_behind=sigma_behind, sigma_bone=sigma_bone, sigma_accel=sigma_accel,
                bone_prior=bone_prior, sigma_prior=sigma_prior, min_conf=min_conf, loss=loss,
                f_scale=f_scale, max_nfev=max_nfev, sigma_rel_depth=sigma_rel_depth,
                sigma_straight=sigma_straight, depth_bound=depth_bound, sigma_twist=sigma_twist,
                hard_lengths=hard_lengths,
            )[0]
        )  # fmt: skip
    lengths0 = np.nanmedian(
        np.linalg.norm(X0[:, EDGES[:, 1]] - X0[:, EDGES[:, 0]], axis=-1), axis=0
    )
    prior14 = lengths0 if bone_prior is None else np.asarray(bone_prior, dtype=np.float64)
    n_slot = int(BONE_SLOT.max()) + 1
    lengths0 = np.array([np.nanmean(lengths0[BONE_SLOT == k]) for k in range(n_slot)])
    lengths0 = np.where(np.isfinite(lengths0), lengths0, 0.3)
    prior = np.array([prior14[BONE_SLOT == k].mean() for k in range(n_slot)])
    n_x = n_t * 45
    x0 = np.concatenate([X0.ravel(), lengths0])
    Rs = [np.asarray(T)[:3, :3] for T in T_cam_world]
    ts = [np.asarray(T)[:3, 3] for T in T_cam_world]
    K = [np.array([c.fx, c.fy]) for c in cams]
    C = [np.array([c.cx, c.cy]) for c in cams]
    w_obs = [
        np.where(np.asarray(cf) >= min_conf, np.asarray(cf), 0.0) / sigma_px for cf in obs_conf
    ]
    uv_obs = [np.nan_to_num(undistort_pixels(u, c)) for u, c in zip(obs_uv, cams, strict=True)]
    has_d = np.zeros((n_t, 15), bool) if depth is None else np.isfinite(depth)
    d_obs = np.zeros((n_t, 15)) if depth is None else np.nan_to_num(depth)
    # the weak pose prior acts on bones whose child has no depth measurement of its own
    # on limbs and spine only: hips and shoulders turn with the body, often far out of the view
    # a depth that only bounds the joint (maybe another body part's) leaves the priors on
    own_d = has_d if depth_bound is None else has_d & ~np.asarray(depth_bound, bool)
    rel_mask = ~own_d[:, EDGES[:, 1]] & ~np.isin(np.arange(len(EDGES)), CROSS_BONES)[None]
    # a limb end no camera sees (ankles below the image at close range) continues its parent
    # bone: a straight knee or elbow, the middle of what joints bend
    seen = np.zeros((n_t, 15), bool)
    for cf in obs_conf:
        seen |= np.asarray(cf) >= min_conf
    straight = ~seen[:, list(LIMB_ENDS)] | (has_d & ~own_d)[:, list(LIMB_ENDS)]
    end_edge = [int(np.flatnonzero(EDGES[:, 1] == j)[0]) for j in LIMB_ENDS]
    if hard_lengths and loss != "soft_l1":
        raise FusionError(f"refine_track: hard_lengths needs the soft_l1 loss, got {loss!r}")
    arm_w = np.ones(n_t) if arm_plane_weight is None else np.asarray(arm_plane_weight, float)
    # (sigma, joints, line, per-frame weight) of the swing-plane priors in use
    planes = [
        (sig, joints, line, w)
        for sig, (joints, line), w in zip(
            (sigma_leg_plane, sigma_arm_plane), PLANES, (None, arm_w), strict=True
        )
        if sig is not None
    ]
    dt = np.diff(times)
    sig_acc = np.broadcast_to(np.asarray(sigma_accel, dtype=np.float64), (15,))[:, None]
    # acceleration residual of triples (t-1, t, t+1), scaled to m/s² / sigma
    if n_t >= 3:
        h0, h1 = dt[:-1], dt[1:]
        ca = 2 / (h0 * (h0 + h1))
        cb = -2 / (h0 * h1)
        cc = 2 / (h1 * (h0 + h1))

    def residuals(x: np.ndarray) -> np.ndarray:
        X = x[:n_x].reshape(n_t, 15, 3)
        L = x[n_x:][BONE_SLOT]
        res = []
        for k in range(len(cams)):
            P = X @ Rs[k].T + ts[k]
            z = np.maximum(P[..., 2], 1e-3)
            uv = P[..., :2] / z[..., None] * K[k] + C[k]
            res.append(((uv - uv_obs[k]) * w_obs[k][..., None]).ravel())
        if depth is not None:
            zc = (X @ Rs[depth_cam].T + ts[depth_cam])[..., 2]
            # LiDAR sees the first surface on the ray: a joint in front of it is impossible, one
            # behind it is what occlusion by the body's near side looks like, so it costs little
            dz = zc - d_obs
            r_d = np.where(dz < 0, dz / sigma_depth, dz / sigma_behind)
            if depth_bound is not None:  # maybe another body part's surface: only a bound
                r_d = np.where(depth_bound & (dz >= 0), 0.0, r_d)
            res.append(np.where(has_d, r_d, 0.0).ravel())
        bl = np.linalg.norm(X[:, EDGES[:, 1]] - X[:, EDGES[:, 0]], axis=-1)
        r_bl = ((bl - L) / sigma_bone).ravel()
        res.append(_unrobust(r_bl, f_scale) if hard_lengths else r_bl)
        # pelvis and thorax are the midpoints of hips and shoulders (the COCO conversion's rule)
        mid = np.stack([X[:, 0] - (X[:, 1] + X[:, 4]) / 2, X[:, 7] - (X[:, 9] + X[:, 12]) / 2], 1)
        res.append((mid / 0.005).ravel())
        if sigma_rel_depth is not None:
            zr = (X @ Rs[depth_cam].T + ts[depth_cam])[..., 2]
            rel = (zr[:, EDGES[:, 1]] - zr[:, EDGES[:, 0]]) / sigma_rel_depth
            res.append(np.where(rel_mask, rel, 0.0).ravel())
        if sigma_straight is not None:
            ends = list(LIMB_ENDS)
            mid, top = PARENT[ends], PARENT[PARENT[ends]]
            up = X[:, mid] - X[:, top]
            up = up / np.maximum(np.linalg.norm(up, axis=-1, keepdims=True), 1e-6)
            # the body's forward direction: hip line (right to left) × spine
            fwd = np.cross(X[:, 4] - X[:, 1], X[:, 7] - X[:, 0])[:, None]
            fwd = fwd - (fwd * up).sum(-1, keepdims=True) * up
            fwd = fwd / np.maximum(np.linalg.norm(fwd, axis=-1, keepdims=True), 1e-6)
            # knees bend backward, elbows forward
            bend = np.array([-1.0, -1.0, 1.0, 1.0])[None, :, None] * FLEX[None, :, None]
            want = np.cos(bend) * up + np.sin(bend) * fwd
            dev = (X[:, ends] - X[:, mid] - L[end_edge][None, :, None] * want) / sigma_straight
            res.append(np.where(straight[..., None], dev, 0.0).ravel())
        if sigma_twist is not None:
            res.append(
                ((_unit(X[:, 12] - X[:, 9]) - _unit(X[:, 4] - X[:, 1])) / sigma_twist).ravel()
            )
        for sig, joints, (a, b), w in planes:
            normal = _unit(X[:, b] - X[:, a])[:, None]
            r_plane = ((X[:, list(joints)] - X[:, [a, a, b, b]]) * normal).sum(-1) / sig
            res.append((r_plane if w is None else w[:, None] * r_plane).ravel())
        r_len = (x[n_x:] - prior) / sigma_prior
        res.append(_unrobust(r_len, f_scale) if hard_lengths else r_len)
        if n_t >= 3:
            acc = (
                ca[:, None, None] * X[:-2] + cb[:, None, None] * X[1:-1] + cc[:, None, None] * X[2:]
            )
            res.append((acc / sig_acc).ravel())
        return np.concatenate(res)

    # sparsity: which unknowns each residual touches
    n_r = len(residuals(x0))
    S = lil_matrix((n_r, len(x0)), dtype=np.int8)
    r = 0
    jt = np.arange(n_t * 15).reshape(n_t, 15)
    for _ in range(len(cams)):
        for t in range(n_t):
            for j in range(15):
                S[r : r + 2, jt[t, j] * 3 : jt[t, j] * 3 + 3] = 1
                r += 2
    if depth is not None:
        for t in range(n_t):
            for j in range(15):
                S[r, jt[t, j] * 3 : jt[t, j] * 3 + 3] = 1
                r += 1
    for t in range(n_t):
        for e, (a, b) in enumerate(EDGES):
            S[r, jt[t, a] * 3 : jt[t, a] * 3 + 3] = 1
            S[r, jt[t, b] * 3 : jt[t, b] * 3 + 3] = 1
            S[r, n_x + BONE_SLOT[e]] = 1
            r += 1
    for t in range(n_t):
        for m, a, b in ((0, 1, 4), (7, 9, 12)):
            for ax in range(3):
                for q in (m, a, b):
                    S[r, jt[t, q] * 3 + ax] = 1
                r += 1
    if sigma_rel_depth is not None:
        for t in range(n_t):
            for a, b in EDGES:
                S[r, jt[t, a] * 3 : jt[t, a] * 3 + 3] = 1
                S[r, jt[t, b] * 3 : jt[t, b] * 3 + 3] = 1
                r += 1
    if sigma_straight is not None:
        for t in range(n_t):
            for k, j in enumerate(LIMB_ENDS):
                for _ax in range(3):
                    for q in (j, PARENT[j], PARENT[PARENT[j]], 0, 1, 4, 7):
                        S[r, jt[t, q] * 3 : jt[t, q] * 3 + 3] = 1
                    S[r, n_x + BONE_SLOT[end_edge[k]]] = 1
                    r += 1
    if sigma_twist is not None:
        for t in range(n_t):
            for _ax in range(3):
                for q in (1, 4, 9, 12):
                    S[r, jt[t, q] * 3 : jt[t, q] * 3 + 3] = 1
                r += 1
    for _, joints, (a, b), _ in planes:
        for t in range(n_t):
            for j in joints:
                for q in (j, a, b):
                    S[r, jt[t, q] * 3 : jt[t, q] * 3 + 3] = 1
                r += 1
    for e in range(n_slot):
        S[r, n_x + e] = 1
        r += 1
    if n_t >= 3:
        for t in range(n_t - 2):
            for j in range(15):
                for ax in range(3):
                    for q in range(3):
                        S[r, jt[t + q, j] * 3 + ax] = 1
                    r += 1
    sols = [
        least_squares(
            residuals,
            x0 if k == 0 else np.concatenate([start.ravel(), lengths0]),
            jac_sparsity=S.tocsr(),
            method="trf",
            x_scale="jac",
            loss=loss,
            f_scale=f_scale,
            max_nfev=max_nfev,
        )
        for k, start in enumerate(starts)
    ]
    sol = min(sols, key=lambda s: s.cost)
    return sol.x[:n_x].reshape(n_t, 15, 3), sol.x[n_x:][BONE_SLOT]


def _unrobust(r: np.ndarray, f_scale: float) -> np.ndarray:
    """Residuals ``r`` (any shape) warped so that soft_l1 with ``f_scale`` costs them ``r²``:
    the bone-length prior must not give way like an outlier."""
    z = r**2 / (2 * f_scale**2)
    return np.sign(r) * f_scale * np.sqrt((1 + z) ** 2 - 1)


def _unit(v: np.ndarray) -> np.ndarray:
    """``v`` ``(..., 3)`` scaled to unit length."""
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-6)


def refine_windowed(
    init: np.ndarray,
    obs_uv: list[np.ndarray],
    obs_conf: list[np.ndarray],
    cams: list[CameraConfig],
    T_cam_world: list[np.ndarray],
    *,
    times: np.ndarray,
    depth: np.ndarray | None = None,
    depth_bound: np.ndarray | None = None,
    bone_prior: np.ndarray | None = None,
    arm_plane_weight: np.ndarray | None = None,
    window: int = 40,
    overlap: int = 8,
    **options: float | str | int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`refine_track` over overlapping windows of ``window`` samples (its cost grows faster
    than the track), blended linearly where they overlap.

    Bone lengths carry over: after the first window, each window's prior is the median of the
    lengths fitted so far, held to 1 cm, so a person keeps one skeleton along the recording.
    Shapes as :func:`refine_track`; returns joints ``(T, 15, 3)`` and bone lengths ``(14,)``.
    """
    n = len(init)
    if n <= window + overlap:
        return refine_track(
            init, obs_uv, obs_conf, cams, T_cam_world, times=times, depth=depth,
            depth_bound=depth_bound, bone_prior=bone_prior, arm_plane_weight=arm_plane_weight,
            **options,  # type: ignore[arg-type]
        )  # fmt: skip
    out = np.zeros((n, 15, 3))
    weight = np.zeros(n)
    fitted: list[np.ndarray] = []
    start = 0
    while start < n:
        stop = min(n, start + window)
        if n - stop < overlap:  # fold a short tail into this window
            stop = n
        sl = slice(start, stop)
        prior = np.median(fitted, axis=0) if fitted else bone_prior
        opts = dict(options)
        if fitted:
            opts["sigma_prior"] = 0.01
        X, L = refine_track(
            init[sl], [u[sl] for u in obs_uv], [c[sl] for c in obs_conf], cams, T_cam_world,
            times=times[sl], depth=None if depth is None else depth[sl], bone_prior=prior,
            depth_bound=None if depth_bound is None else depth_bound[sl],
            arm_plane_weight=None if arm_plane_weight is None else arm_plane_weight[sl],
            **opts,  # type: ignore[arg-type]
        )  # fmt: skip
        fitted.append(L)
        w = np.ones(stop - start)
        if start > 0:
            ramp = min(overlap, stop - start)
            w[:ramp] = (np.arange(ramp) + 1) / (ramp + 1)
        if stop < n:
            ramp = min(overlap, stop - start)
            w[-ramp:] = np.minimum(w[-ramp:], (ramp - np.arange(ramp)) / (ramp + 1))
        out[sl] += X * w[:, None, None]
        weight[sl] += w
        if stop == n:
            break
        start = stop - overlap
    return out / weight[:, None, None], np.median(fitted, axis=0)
