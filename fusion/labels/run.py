"""A recording's camera frames → 3D pseudo-labels in the reference radar frame.

Steps: 2D keypoints per camera frame (any :class:`~fusion.labels.detectors.Detector`), people
associated across frames and left/right swaps undone, then lifted at the LiDAR's sweep times
(LiDAR depth) or the first camera's frame times (stereo), refined over the whole track (one set
of bone lengths, smooth motion), and resampled to the reference sensor's frame times. Every time
is first moved onto the reference clock with the calibration's clock offsets
(``t_reference = t_sensor - offset``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import linear_sum_assignment

from drivers import CameraConfig, RecordingReader, Rig, RigConfig, convert_skeleton
from drivers.calibfile import Calibration, calibration_from_rig, parse_calibration
from drivers.camera import backproject, project
from drivers.config import from_dict
from drivers.progress import progress
from drivers.transforms import apply, invert

from ..errors import FusionError
from .detectors import Detector, SimulatedDetector
from .lift import (
    BONE_FRACTIONS,
    BONE_SLOT,
    EDGES,
    TORSO,
    depth_hints,
    fill_with_bone_prior,
    lidar_depths,
    prior_bone_lengths,
    rays,
    refine_windowed,
    triangulate,
    undistort_pixels,
)
from .tracks import associate, fix_pair_swaps, fix_swaps, resample

METHODS = ("none", "lidar", "stereo", "bone_prior")  # codes stored per joint
MIN_CONF = 0.3
FILLED_CONF = 0.1  # confidence of a joint placed by the refinement alone
MIN_JOINTS = 6  # confident joints for a person to count as seen in a frame
# per lift: (m) the weak prior that an unmeasured limb lies across the view, and (m/s²) the
# motion prior; stereo depth is noisier (z²/(f·b) per pixel of disparity) so it leans on both
# harder. Tuned on simulator scenes (docs/LABELS.md lists the errors per motion).
REL_DEPTH_SIGMA = {"lidar": 0.15, "stereo": 0.10, "mono": 0.15, "lidar+stereo": 0.15}
ACCEL_SIGMA = {"lidar": 6.0, "stereo": 3.0, "mono": 6.0, "lidar+stereo": 6.0}
# stereo: knees and elbows swing twice as hard, ankles and wrists four times (a walker's ankle
# reaches ~35 m/s² at 10 Hz, its pelvis ~5)
LIMB_ACCEL = np.array([1, 1, 2, 4, 1, 2, 4, 1, 1, 1, 2, 4, 1, 2, 4], dtype=np.float64)
# (m) how far the bone lengths may leave the anthropometric prior: stereo's height comes from the
# bones' image lengths (trustworthy), LiDAR's from 3D bones; alone (mono) they set the scale
BONE_PRIOR_SIGMA = {"lidar": 0.05, "stereo": 0.02, "mono": 0.01, "lidar+stereo": 0.05}
# (m) how far an unmeasured ankle or wrist may leave the straight continuation of its limb
STRAIGHT_SIGMA = 0.1
# (about rad) how far the shoulder line may turn from the hip line (stereo, whose depth is too
# noisy to set the trunk's heading from the shoulders alone)
TWIST_SIGMA = {"stereo": 0.15}
# (m) how far a knee or ankle may leave the plane through its hip normal to the hip line (legs
# swing fore and aft: a hinge at the knee, little abduction); with it the legs' swing in the image
# sets the hip line's heading, which stereo depth is too noisy to set, and places the shanks the
# LiDAR does not reach (below its field of view, or hidden behind the near leg)
LEG_PLANE_SIGMA: dict[str, float] = {"stereo": 0.05, "lidar": 0.05, "lidar+stereo": 0.05}
# (m) the same for elbows and wrists about the shoulder line, while the person walks (see
# walking_weight): a walker's arms swing fore and aft; standing, boxing or waving they need not
ARM_PLANE_SIGMA: dict[str, float] = {"stereo": 0.05}
# lifts whose bone lengths never give way like outliers (stereo: its depth noise would otherwise
# shorten the shank of a squatter whose ankles no camera sees, to suit the limb priors)
HARD_LENGTHS = ("stereo",)
LIFTS = ("lidar", "stereo", "mono", "lidar+stereo")
N_CAMERAS = {"lidar": 1, "stereo": 2, "mono": 1, "lidar+stereo": 2}


@dataclass
class Tracks2D:
    """One camera's associated COCO-17 tracks: ``keypoints`` ``(T, N, 17, 2)`` px, ``confidence`` ``(T, N, 17)``."""

    camera: str
    stamps_ns: np.ndarray  # (T,) on the camera's clock
    times: np.ndarray  # (T,) s on the reference clock, from the recording's first stamp
    keypoints: np.ndarray
    confidence: np.ndarray
    swaps_fixed: int = 0


@dataclass
class Labels:
    """Pseudo-labels at the reference sensor's frames; ``N`` tracked people.

    ``joints`` ``(M, N, 15, 3)`` m in the reference radar frame (NaN = not labelled),
    ``confidence`` ``(M, N, 15)``, ``method`` ``(M, N, 15)`` uint8 codes into :data:`METHODS`,
    ``bone_lengths`` ``(N, 14)`` m as fitted.
    """

    stamps_ns: np.ndarray
    joints: np.ndarray
    confidence: np.ndarray
    method: np.ndarray
    person_id: np.ndarray
    bone_lengths: np.ndarray
    lift: str
    reference: str
    tracks: dict[str, Tracks2D] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)


def recording_rig(rec: RecordingReader) -> Rig:
    """The rig stored in a recording (poses, cameras, LiDARs; radar profiles are not needed here,
    so, unlike ``fusion.infer.recording_rig``, this stays clear of torch and sensing)."""
    if not rec.rig_yaml:
        raise FusionError(f"{rec.path}: the recording stores no rig; labels need its cameras")
    cfg = from_dict(RigConfig, yaml.safe_load(rec.rig_yaml), source=f"{rec.path}:rig")
    return Rig(config=cfg, radars={}, source=str(rec.path), text=rec.rig_yaml)


def _calibration(rec: RecordingReader, rig: Rig) -> Calibration:
    if rec.calibration_yaml:
        return parse_calibration(yaml.safe_load(rec.calibration_yaml), f"{rec.path}:calibration")
    return calibration_from_rig(rig)


def _T_ref(calib: Calibration, ref: str, sensor: str) -> np.ndarray:
    """``T_<ref>_<sensor>``."""
    return calib.get(ref, sensor)


def _times(rec: RecordingReader, stream: str, calib: Calibration, t0_ns: int) -> np.ndarray:
    off = calib.clock_offsets.get(stream, 0.0)
    return (rec.stamps(stream) - t0_ns) / 1e9 - off


def detect_camera(
    rec: RecordingReader,
    camera: str,
    detector: Detector | SimulatedDetector,
    *,
    boxes: list[np.ndarray] | None = None,
    quiet: bool = True,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """COCO-17 detections ``[(P, 17, 2), (P, 17)]`` for every frame of one camera stream.

    ``boxes`` optionally gives person boxes ``(P, 4)`` per frame for a top-down model.
    """
    info = rec.streams[camera]
    if isinstance(detector, SimulatedDetector) and "joints_2d" not in info.keys:
        raise FusionError(
            f"{rec.path}: camera {camera!r} has no simulator truth (joints_2d); "
            "the simulated detector only runs on simulator recordings: give a model file"
        )
    out = []
    frames = rec.frames(camera)
    it = frames if quiet else progress(frames, total=info.frames, desc=f"2D {camera}", unit="frame")
    for k, f in enumerate(it):
        if isinstance(detector, SimulatedDetector):
            kp, cf = detector.detect(f.data["joints_2d"], f.data["visible"])
        else:
            b = None if boxes is None else boxes[k]
            kp, cf = detector(f.data["image"], b)
        out.append((np.asarray(kp, np.float64), np.asarray(cf, np.float64)))
    return out


def lidar_person_boxes(
    points_lidar: np.ndarray, T_cam_lidar: np.ndarray, cam: CameraConfig, link: float = 0.2
) -> np.ndarray:
    """Person boxes ``(P, 4)`` px from one LiDAR sweep ``(N, >=3)``: human-sized clusters, projected.

    Clusters are connected components at ``link`` m; a person is 0.8-2.2 m tall and at most
    1.2 m across (walls, floor and furniture are not), with at least 20 points.
    """
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    pts = np.asarray(points_lidar, dtype=np.float64)[:, :3]
    if len(pts) < 20:
        return np.zeros((0, 4))
    tree = cKDTree(pts)
    pairs = tree.query_pairs(link, output_type="ndarray")
    from scipy.sparse import coo_matrix

    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(pts),) * 2)
    n, lab = connected_components(g, directed=False)
    boxes = []
    for c in range(n):
        m = lab == c
        if m.sum() < 20:
            continue
        q = pts[m]
        ext = np.ptp(q, axis=0)
        if not (0.8 <= ext[2] <= 2.2 and max(ext[0], ext[1]) <= 1.2):
            continue
        uv, z = project(apply(T_cam_lidar, q), cam)
        uv = uv[np.isfinite(uv).all(1)]
        if len(uv) < 10:
            continue
        lo, hi = uv.min(0), uv.max(0)
        boxes.append(
            [*np.clip(lo, 0, [cam.width, cam.height]), *np.clip(hi, 0, [cam.width, cam.height])]
        )
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def _to15(kp: np.ndarray, cf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO-17 tracks → canonical 15 (uncertain joints hold NaN so they never average in)."""
    kp = np.where((cf >= MIN_CONF)[..., None], kp, np.nan)
    j, c = convert_skeleton(kp, "coco17", "rtpose15", cf)
    c = np.where(np.isfinite(j).all(-1), c, 0.0)
    return j, c


def _person15(
    track: Tracks2D, person: int, times: np.ndarray, max_gap: float
) -> tuple[np.ndarray, np.ndarray]:
    """One person's COCO-17 track resampled at ``times (T,)`` s (gaps over ``max_gap`` s left
    unseen) and turned canonical: ``(T, 15, 2)`` pixels, ``(T, 15)`` confidence."""
    kp, cf = _to15(
        *resample(
            track.times,
            track.keypoints[:, person : person + 1],
            track.confidence[:, person : person + 1],
            times,
            max_gap,
            MIN_CONF,
        )
    )
    return kp[:, 0], cf[:, 0]


def _height(joints: np.ndarray, ok: np.ndarray) -> float:
    """Body height (m) from the bones of ``(T, 15, 3)`` whose ends are both ``ok`` ``(T, 15)``; else 1.75."""
    bl = np.linalg.norm(joints[:, EDGES[:, 1]] - joints[:, EDGES[:, 0]], axis=-1)
    good = ok[:, EDGES[:, 0]] & ok[:, EDGES[:, 1]]
    est = [
        np.median(bl[good[:, e], e]) / BONE_FRACTIONS[e]
        for e in range(len(EDGES))
        if good[:, e].sum() >= 3
    ]
    return float(np.clip(np.median(est), 1.4, 2.1)) if est else 1.75


def _height_from_views(
    kps: list[np.ndarray],
    cfs: list[np.ndarray],
    cams: list[CameraConfig],
    T_cam_ref: list[np.ndarray],
    joints_ref: np.ndarray,
    sigma_px: float,
    quantile: float = 0.65,
) -> float:
    """Body height (m) from how long the bones look in the images, scaled by the person's depth.

    Triangulated bones ``joints_ref`` ``(T, 15, 3)`` are far too long where depth is noisy (3 px
    of disparity noise is ~30 cm of depth at 3.5 m, and noise only ever lengthens a bone), so only
    their torso's median position (smoothed over 7 frames) is used, for the depth. A bone's image
    length times that depth, less the pixel noise's share, is its length when it lies across the
    view, shorter otherwise: per bone (left and right pooled) the ``quantile`` over frames and
    cameras (above the median: bones turn out of the view; below the top: noise), per bone a
    height by the anthropometric fractions, and their median. ``kps[c]`` ``(T, 15, 2)`` px and ``cfs[c]``
    ``(T, 15)`` per camera; 1.75 without enough support.
    """
    torso = joints_ref[:, list(TORSO)]
    ok = np.isfinite(torso).all(-1).any(-1)
    centre = np.full((len(torso), 3), np.nan)
    centre[ok] = np.nanmedian(torso[ok], axis=1)  # (T, 3)
    if ok.sum() < 3:
        return 1.75
    t = np.arange(len(centre))
    centre = np.stack([np.interp(t, t[ok], centre[ok, a]) for a in range(3)], -1)
    centre = np.stack([np.median(centre[max(0, k - 3) : k + 4], axis=0) for k in t])
    per_slot: list[list[np.ndarray]] = [[] for _ in range(int(BONE_SLOT.max()) + 1)]
    for kp, cf, cam, T in zip(kps, cfs, cams, T_cam_ref, strict=True):
        z = apply(T, centre)[:, 2]
        xy = (undistort_pixels(kp, cam) - [cam.cx, cam.cy]) / [cam.fx, cam.fy]
        seen = cf >= MIN_CONF
        for e, (a, b) in enumerate(EDGES):
            both = seen[:, a] & seen[:, b] & (z > 0)
            # pixel noise lengthens: E[l²] = l² + 4 σ² (two ends, two axes), σ in metres at z
            l2 = (np.linalg.norm(xy[both, a] - xy[both, b], axis=-1) * z[both]) ** 2
            noise = 4 * (sigma_px * z[both] / np.sqrt(cam.fx * cam.fy)) ** 2
            per_slot[BONE_SLOT[e]].append(np.sqrt(np.maximum(l2 - noise, 0.0)))
    est = []
    for k, parts in enumerate(per_slot):
        lens = np.concatenate(parts)
        if len(lens) >= 3:
            est.append(np.quantile(lens, quantile) / BONE_FRACTIONS[BONE_SLOT == k].mean())
    return float(np.clip(np.median(est), 1.4, 2.1)) if est else 1.75


def walking_weight(
    joints_ref: np.ndarray,
    times: np.ndarray,
    window: float = 1.0,
    lo: float = 0.25,
    hi: float = 0.5,
) -> np.ndarray:
    """How surely a person walks at each frame ``(T,)`` in [0, 1], from its torso's ground speed.

    ``joints_ref`` ``(T, 15, 3)`` in the reference frame (z up, CONVENTIONS), as noisy as a raw
    triangulation: the torso joints' median, then a straight line through its horizontal positions
    within ``window`` s on either side, slid inside the track at its ends (3 px of stereo noise
    is ~15 cm on that median per frame at 3.5 m, ~6 cm/s on the slope over 2 s at 10 Hz). 0 below
    ``lo`` m/s, 1 above ``hi``.
    """
    centre = np.nanmedian(joints_ref[:, list(TORSO), :2], axis=1)  # (T, 2)
    t = np.asarray(times, dtype=np.float64)
    ok = np.isfinite(centre).all(-1)
    speed = np.zeros(len(t))
    for k in range(len(t)):
        # the window slides inside the track near its ends rather than shrinking there
        start = np.clip(t[k] - window, t[0], max(t[0], t[-1] - 2 * window))
        near = ok & (t >= start - 1e-9) & (t <= start + 2 * window + 1e-9)
        if near.sum() < 3:
            continue
        tt = t[near] - t[near].mean()
        slope = (tt[:, None] * (centre[near] - centre[near].mean(0))).sum(0) / (tt**2).sum()
        speed[k] = float(np.hypot(*slope))
    return np.clip((speed - lo) / (hi - lo), 0.0, 1.0)


def label_recording(
    path: str | Path,
    detector: Detector | SimulatedDetector,
    *,
    lift: str = "lidar",
    cameras: tuple[str, ...] | None = None,
    lidar: str | None = None,
    boxes: dict[str, list[np.ndarray]] | None = None,
    sigma_px: float = 3.0,
    quiet: bool = True,
) -> Labels:
    """Pseudo-labels for a recording; see the module docstring for the steps.

    ``lift`` is ``"lidar"`` (first camera + LiDAR), ``"stereo"`` (first two cameras) or
    ``"mono"`` (first camera and the bone-length prior alone: rigs like HuPR's with one camera). Person
    boxes for a model detector come from ``boxes[camera]`` (per frame ``(P, 4)``), else from the
    LiDAR's person clusters when a LiDAR stream exists, else the whole image.
    """
    if lift not in LIFTS:
        raise FusionError(f"lift must be one of {', '.join(LIFTS)}, got {lift!r}")
    with RecordingReader(path) as rec:
        rig = recording_rig(rec)
        calib = _calibration(rec, rig)
        ref = rig.reference
        all_cams = [c for c in rig.sensors_of("camera") if c in rec.streams]
        cams = list(cameras) if cameras else all_cams
        need = N_CAMERAS[lift]
        if len(cams) < need or any(c not in rec.streams for c in cams):
            raise FusionError(
                f"{path}: --lift {lift} needs {need} camera stream(s); rig cameras with streams: {all_cams}"
            )
        cams = cams[:need]
        lidars = [s for s in rig.sensors_of("lidar") if s in rec.streams]
        lidar = lidar or (lidars[0] if lidars else None)
        if lift.startswith("lidar") and lidar is None:
            raise FusionError(
                f"{path}: --lift lidar needs a LiDAR stream (streams: {', '.join(rec.streams)}); try --lift stereo"
            )
        cam_cfg = {c: rig.config.sensors[c].camera for c in cams}
        t0 = int(min(rec.stamps(s)[0] for s in rec.streams if rec.streams[s].frames))
        T_cam_ref = {c: invert(_T_ref(calib, ref, c)) for c in cams}
        label_stream = (
            ref
            if ref in rec.streams
            else ("groundtruth" if "groundtruth" in rec.streams else cams[0])
        )
        label_t = _times(rec, label_stream, calib, t0)
        label_ns = rec.stamps(label_stream)
        if label_stream != ref:
            label_ns = label_ns - int(round(calib.clock_offsets.get(label_stream, 0.0) * 1e9))

        # -- 2D per camera -------------------------------------------------------------
        tracks: dict[str, Tracks2D] = {}
        for c in cams:
            cam_boxes = (boxes or {}).get(c)
            if (
                cam_boxes is None
                and lidar is not None
                and not isinstance(detector, SimulatedDetector)
                and getattr(detector, "uses_boxes", True)  # mediapipe finds people itself
            ):
                cam_boxes = _boxes_from_lidar(rec, c, lidar, calib, ref, t0, cam_cfg[c])
            dets = detect_camera(rec, c, detector, boxes=cam_boxes, quiet=quiet)
            kp, cf = associate(dets, min_conf=MIN_CONF)
            kp, cf, n_fix = fix_swaps(kp, cf, min_conf=MIN_CONF)
            tracks[c] = Tracks2D(c, rec.stamps(c), _times(rec, c, calib, t0), kp, cf, n_fix)

        lidar_data = None
        if lift.startswith("lidar"):
            assert lidar is not None
            lidar_data = (
                _times(rec, lidar, calib, t0),
                [f.data["points"][:, :3] for f in rec.frames(lidar)],
                T_cam_ref[cams[0]] @ _T_ref(calib, ref, lidar),
            )
    joints, conf, method, lengths = lift_tracks(
        [tracks[c] for c in cams],
        [cam_cfg[c] for c in cams],  # type: ignore[misc]
        [T_cam_ref[c] for c in cams],
        label_t,
        lift=lift,
        lidar=lidar_data,
        sigma_px=sigma_px,
    )
    n_people = joints.shape[1]
    return Labels(
        stamps_ns=np.asarray(label_ns, np.int64),
        joints=joints,
        confidence=conf,
        method=method,
        person_id=np.arange(n_people, dtype=np.int32),
        bone_lengths=lengths,
        lift=lift,
        reference=ref,
        tracks=tracks,
        info={
            "cameras": cams,
            "lidar": lidar,
            "label_stream": label_stream,
            "swaps_fixed": {c: t.swaps_fixed for c, t in tracks.items()},
        },
    )


def lift_tracks(
    tracks: list[Tracks2D],
    cams: list[CameraConfig],
    T_cam_ref: list[np.ndarray],
    label_t: np.ndarray,
    *,
    lift: str = "lidar",
    lidar: tuple[np.ndarray, list[np.ndarray], np.ndarray] | None = None,
    sigma_px: float = 3.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lift the first camera's tracks (and the second's for stereo) to 3D at ``label_t`` ``(M,)`` s.

    ``T_cam_ref`` are ``T_<camera>_<reference>``; ``lidar`` is (sweep times ``(S,)`` s, sweeps
    ``[(N, 3)]`` in the LiDAR frame, ``T_<first camera>_<lidar>``). Returns joints
    ``(M, N, 15, 3)`` (reference frame), confidence and method ``(M, N, 15)``, bone lengths ``(N, 14)``.
    """
    primary = tracks[0]
    n_people = primary.keypoints.shape[1]
    period = [float(np.median(np.diff(t.times))) if len(t.times) > 1 else 0.1 for t in tracks]
    if lift.startswith("lidar"):
        if lidar is None:
            raise FusionError("lift_tracks: lift 'lidar' needs the LiDAR's times, sweeps and pose")
        lift_t, sweeps, T_cam_lidar = lidar
    else:
        lift_t = primary.times
    if N_CAMERAS[lift] == 2:
        if len(tracks) < 2:
            raise FusionError(f"lift_tracks: lift {lift!r} needs the tracks of two cameras")
        other = tracks[1]
        match = _match_stereo(primary, other, cams[:2], T_cam_ref[:2], period[1])

    M = len(label_t)
    joints = np.full((M, n_people, 15, 3), np.nan)
    conf = np.zeros((M, n_people, 15))
    method = np.zeros((M, n_people, 15), np.uint8)
    lengths = np.full((n_people, 14), np.nan)
    cam0 = cams[0]
    for i in range(n_people):
        kp15, cf15 = _person15(primary, i, lift_t, 1.6 * period[0])
        seen = (cf15 >= MIN_CONF).sum(-1) >= MIN_JOINTS
        if seen.sum() < 2:
            continue
        idx = np.flatnonzero(seen)
        kp_s, cf_s, t_s = kp15[idx], cf15[idx], lift_t[idx]
        dirs = rays(kp_s, cam0)
        if N_CAMERAS[lift] == 2:
            j = match.get(i)
            if j is None:
                continue
            kp_o, cf_o = _person15(other, j, t_s, 1.6 * period[1])
            kp_s, cf_s, kp_o, cf_o, _ = fix_pair_swaps(kp_s, cf_s, kp_o, cf_o, min_conf=MIN_CONF)
            dirs = rays(kp_s, cam0)
        if lift.startswith("lidar"):
            depth = np.full((len(idx), 15), np.nan)
            bound = np.zeros((len(idx), 15), bool)
            for k, s in enumerate(idx):
                d, _, hid = lidar_depths(
                    kp_s[k : k + 1],
                    cf_s[k : k + 1],
                    apply(T_cam_lidar, sweeps[s].astype(np.float64)),
                    cam0,
                    min_conf=MIN_CONF,
                )
                depth[k] = d[0]
                bound[k] = hid[0] & np.isfinite(d[0])
            X_cam = backproject(np.nan_to_num(kp_s), np.nan_to_num(depth, nan=np.nan), cam0)
            X_cam[~np.isfinite(depth) | bound] = np.nan
            # a depth that may be an occluder's bounds the joint (method LiDAR) but seeds nothing
            supported = np.isfinite(depth)
            obs_uv, obs_cf, obs_cams, obs_T = [kp_s], [cf_s], [cam0], [T_cam_ref[0]]
            if lift == "lidar+stereo":  # the second view pins what the LiDAR misses
                obs_uv, obs_cf = [kp_s, kp_o], [cf_s, cf_o]
                obs_cams, obs_T = [cam0, cams[1]], [T_cam_ref[0], T_cam_ref[1]]
            good_method = 1
        elif lift == "mono":
            # one camera alone: depth only from the bone-length prior (sizes set the distance)
            depth = None
            X_cam = np.full((len(idx), 15, 3), np.nan)
            supported = np.zeros((len(idx), 15), bool)
            obs_uv, obs_cf, obs_cams, obs_T = [kp_s], [cf_s], [cam0], [T_cam_ref[0]]
            good_method = 3
        else:
            cam1 = cams[1]
            w = np.stack([cf_s >= MIN_CONF, cf_o >= MIN_CONF]).astype(float)
            X_ref = triangulate(
                np.stack([np.nan_to_num(kp_s), np.nan_to_num(kp_o)]),
                [cam0, cam1],
                np.stack([T_cam_ref[0], T_cam_ref[1]]),
                w,
            )
            X_cam = apply(T_cam_ref[0], X_ref)
            supported = np.isfinite(X_cam).all(-1)
            depth = None
            obs_uv, obs_cf = [kp_s, kp_o], [cf_s, cf_o]
            obs_cams, obs_T = [cam0, cam1], [T_cam_ref[0], T_cam_ref[1]]
            good_method = 2
        if lift == "stereo":
            height = _height_from_views(obs_uv, obs_cf, obs_cams, obs_T, X_ref, sigma_px)
        else:
            height = _height(X_cam, np.isfinite(X_cam).all(-1))
        prior_len = prior_bone_lengths(height)
        hints = depth_hints(X_cam[..., 2], kp_s, t_s, cam0)
        init_cam = np.stack(
            [fill_with_bone_prior(X_cam[k], dirs[k], prior_len, hints[k]) for k in range(len(idx))]
        )
        ok_rows = np.isfinite(init_cam).all((-1, -2))
        if ok_rows.sum() < 2:
            continue
        rows = np.flatnonzero(ok_rows)
        init = apply(invert(T_cam_ref[0]), init_cam[rows])
        X, L = refine_windowed(
            init,
            [u[rows] for u in obs_uv],
            [c[rows] for c in obs_cf],
            obs_cams,
            obs_T,
            depth=None if depth is None else depth[rows],
            depth_bound=None if depth is None else bound[rows],
            times=t_s[rows],
            sigma_px=sigma_px,
            bone_prior=prior_len,
            sigma_rel_depth=REL_DEPTH_SIGMA[lift],
            sigma_accel=ACCEL_SIGMA[lift] * (LIMB_ACCEL if lift == "stereo" else 1.0),
            sigma_straight=STRAIGHT_SIGMA,
            sigma_twist=TWIST_SIGMA.get(lift),
            sigma_prior=BONE_PRIOR_SIGMA[lift],
            sigma_leg_plane=LEG_PLANE_SIGMA.get(lift),
            sigma_arm_plane=ARM_PLANE_SIGMA.get(lift),
            arm_plane_weight=walking_weight(init, t_s[rows]),
            hard_lengths=lift in HARD_LENGTHS,
        )
        lengths[i] = L
        m_code = np.where(supported[rows], good_method, 3).astype(float)
        c_lift = np.minimum.reduce([c[rows] for c in obs_cf]) if lift == "stereo" else cf_s[rows]
        # joints the 2D missed are filled by the bones and the motion: kept, at a low confidence
        c_lift = np.where(supported[rows], c_lift, np.maximum(0.5 * c_lift, FILLED_CONF))
        step = float(np.median(np.diff(t_s[rows])))
        Xr, cr = resample(
            t_s[rows],
            X[:, None],
            np.maximum(c_lift, 0.0)[:, None],
            label_t,
            2.5 * step,
            0.0,
            extrapolate=0.6 * step,
        )
        joints[:, i] = Xr[:, 0]
        conf[:, i] = np.where(np.isfinite(Xr[:, 0]).all(-1), cr[:, 0], 0.0)
        near = m_code[np.abs(label_t[:, None] - t_s[rows][None]).argmin(1)].astype(np.uint8)
        method[:, i] = np.where(conf[:, i] > 0, near, 0)
    return joints, conf, method, lengths


def _boxes_from_lidar(
    rec: RecordingReader,
    camera: str,
    lidar: str,
    calib: Calibration,
    ref: str,
    t0: int,
    cam: CameraConfig,
) -> list[np.ndarray]:
    """Person boxes per camera frame from the LiDAR sweep nearest in time."""
    t_cam = _times(rec, camera, calib, t0)
    t_lid = _times(rec, lidar, calib, t0)
    T = invert(_T_ref(calib, ref, camera)) @ _T_ref(calib, ref, lidar)
    per_sweep = [lidar_person_boxes(f.data["points"], T, cam) for f in rec.frames(lidar)]
    near = np.abs(t_cam[:, None] - t_lid[None]).argmin(1)
    return [per_sweep[k] for k in near]


def _match_stereo(
    a: Tracks2D, b: Tracks2D, cams: list[CameraConfig], T_cam_ref: list[np.ndarray], period_b: float
) -> dict[int, int]:
    """Pair tracks of two cameras by reprojection error of their triangulation (Hungarian)."""
    na, nb = a.keypoints.shape[1], b.keypoints.shape[1]
    cost = np.full((na, nb), 1e9)
    for i in range(na):
        ka, ca = _to15(a.keypoints[:, i], a.confidence[:, i])
        for j in range(nb):
            kb, cb = _person15(b, j, a.times, 1.6 * period_b)
            w = np.stack([ca >= MIN_CONF, cb >= MIN_CONF]).astype(float)
            both = (w > 0).all(0)
            if both.sum() < 10:
                continue
            X = triangulate(
                np.stack([np.nan_to_num(ka), np.nan_to_num(kb)]), cams, np.stack(T_cam_ref), w
            )
            errs = []
            for uv, cam, T in ((ka, cams[0], T_cam_ref[0]), (kb, cams[1], T_cam_ref[1])):
                p, _ = project(apply(T, X[both]), cam)
                errs.append(np.linalg.norm(p - uv[both], axis=-1))
            e = np.concatenate(errs)
            if np.isfinite(e).any():
                cost[i, j] = float(np.median(e[np.isfinite(e)]))
    out = {}
    for i, j in zip(*linear_sum_assignment(cost), strict=True):
        if cost[i, j] < 30.0:
            out[int(i)] = int(j)
    return out


def label_simulation(
    sim: object,
    times: np.ndarray,
    detector: SimulatedDetector,
    *,
    lift: str = "mono",
    cameras: tuple[str, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-labels for a :class:`drivers.sim.Simulation` at true times ``times`` ``(M,)`` s,
    without writing a recording or rendering images (the simulated detector reads projected
    truth). ``lift`` is ``"mono"`` or ``"stereo"`` (LiDAR sweeps would need a recording).
    Returns joints ``(M, N, 15, 3)`` in the reference frame (NaN where unlabelled) and
    confidence ``(M, N, 15)``.
    """
    from drivers.camera import in_image

    if lift not in ("mono", "stereo"):
        raise FusionError(f"label_simulation lifts 'mono' or 'stereo', got {lift!r}")
    rig = sim.rig  # type: ignore[attr-defined]
    names = list(cameras or rig.sensors_of("camera"))[: 2 if lift == "stereo" else 1]
    if len(names) < (2 if lift == "stereo" else 1):
        raise FusionError(f"rig {rig.name!r} has too few cameras for lift {lift!r}")
    tracks, cams, T_cam_ref = [], [], []
    for name in names:
        cam = rig.config.sensors[name].camera
        T = invert(sim.T_ref[name])  # type: ignore[attr-defined]
        t_cam = sim.frame_times(name)  # type: ignore[attr-defined]
        dets = []
        for t in t_cam:
            uv, z = project(apply(T, sim.joints(float(t))), cam)  # type: ignore[attr-defined]
            dets.append(detector.detect(uv, in_image(uv, cam) & (z > 0)))
        kp, cf = associate(dets, min_conf=MIN_CONF)
        kp, cf, n_fix = fix_swaps(kp, cf, min_conf=MIN_CONF)
        stamps = np.round(t_cam * 1e9).astype(np.int64)
        tracks.append(Tracks2D(name, stamps, np.asarray(t_cam, float), kp, cf, n_fix))
        cams.append(cam)
        T_cam_ref.append(T)
    joints, conf, _, _ = lift_tracks(
        tracks, cams, T_cam_ref, np.asarray(times, float), lift=lift, sigma_px=detector.sigma_px
    )
    joints[conf.max(-1) <= 0] = np.nan
    return joints, conf
