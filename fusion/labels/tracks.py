"""People across frames in one camera: association, left/right swap repair, resampling in time.

A track set is ``keypoints`` ``(T, N, K, 2)`` pixels and ``confidence`` ``(T, N, K)`` over a
camera's frames ``T`` and tracked people ``N`` (confidence 0 where a person is not seen).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .detectors import COCO_FLIP


def associate(
    detections: list[tuple[np.ndarray, np.ndarray]], gate_frac: float = 0.5, min_conf: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame detections ``[(P_t, K, 2), (P_t, K)]`` → tracks ``(T, N, K, 2)``, ``(T, N, K)``.

    Frame to frame, people are matched by the mean distance of their confident keypoints
    (Hungarian), gated at ``gate_frac`` of the person's box diagonal; a person unmatched starts a
    new track. Absent entries hold NaN pixels and zero confidence.
    """
    ids: list[list[int]] = []
    last: dict[int, np.ndarray] = {}
    n = 0
    for kp, cf in detections:
        cur = [-1] * len(kp)
        keys = list(last)
        if keys and len(kp):
            cost = np.full((len(kp), len(keys)), np.inf)
            for a in range(len(kp)):
                for b, key in enumerate(keys):
                    both = (cf[a] >= min_conf) & np.isfinite(last[key]).all(-1)
                    if both.sum() < 3:
                        continue
                    d = np.linalg.norm(kp[a, both] - last[key][both], axis=-1).mean()
                    span = np.ptp(kp[a, both], axis=0)
                    if d <= gate_frac * max(float(np.hypot(*span)), 20.0):
                        cost[a, b] = d
            finite = np.where(np.isfinite(cost), cost, 1e12)
            for a, b in zip(*linear_sum_assignment(finite), strict=True):
                if np.isfinite(cost[a, b]):
                    cur[a] = keys[b]
        for a in range(len(kp)):
            if cur[a] < 0:
                cur[a] = n
                n += 1
            pts = np.where((cf[a] >= min_conf)[:, None], kp[a], np.nan)
            if cur[a] in last:
                pts = np.where(np.isnan(pts), last[cur[a]], pts)
            last[cur[a]] = pts
        ids.append(cur)
    k = detections[0][0].shape[1] if detections and len(detections[0][0]) else 17
    kp_out = np.full((len(detections), n, k, 2), np.nan)
    cf_out = np.zeros((len(detections), n, k))
    for t, ((kp, cf), cur) in enumerate(zip(detections, ids, strict=True)):
        for a, i in enumerate(cur):
            kp_out[t, i], cf_out[t, i] = kp[a], cf[a]
    return kp_out, cf_out


def fix_swaps(
    keypoints: np.ndarray,
    confidence: np.ndarray,
    flip: np.ndarray = COCO_FLIP,
    min_conf: float = 0.3,
    flip_cost: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Undo left/right swaps along each track; returns repaired copies and how many frames changed.

    The mirror state of every frame is chosen at once (Viterbi over the track's seen frames): the
    cost of a path is the mean keypoint distance between consecutive frames as mirrored, plus
    ``flip_cost`` times the track's typical mirror distance (how far a frame moves when mirrored)
    for each frame it mirrors, since a detector is right more often than not. A swap in one frame
    then costs two large jumps and is undone, while a near-symmetric frame (seen side-on, left and
    right overlap; a person turning mirrors gradually) is never flipped on weak evidence, and a
    wrong first frame cannot drag the rest of the track with it. ``keypoints`` ``(T, N, K, 2)``,
    ``confidence`` ``(T, N, K)``.
    """
    kp, cf = keypoints.copy(), confidence.copy()
    changed = 0
    for i in range(kp.shape[1]):
        seen = np.flatnonzero((cf[:, i] >= min_conf).sum(-1) >= 3)
        if len(seen) < 2:
            continue
        pts = np.where((cf[seen, i] >= min_conf)[..., None], kp[seen, i], np.nan)
        states = np.stack([pts, pts[:, flip]])  # (2, S, K, 2): as detected, mirrored
        mirror = _mean_distance(states[1], states[0])
        scale = float(np.median(mirror[np.isfinite(mirror)])) if np.isfinite(mirror).any() else 0.0
        unary = np.array([0.0, flip_cost * scale])
        cost = unary.copy()
        back = np.zeros((len(seen), 2), np.int64)
        for k in range(1, len(seen)):
            # (previous state, this state) mean distance over joints confident in both
            trans = np.nan_to_num(_mean_distance(states[:, None, k - 1], states[None, :, k]))
            total = cost[:, None] + trans
            back[k] = total.argmin(0)
            cost = total.min(0) + unary
        state = np.zeros(len(seen), np.int64)
        state[-1] = int(cost.argmin())
        for k in range(len(seen) - 1, 0, -1):
            state[k - 1] = back[k, state[k]]
        t = seen[state == 1]
        kp[t, i], cf[t, i] = kp[t, i][:, flip], cf[t, i][:, flip]
        changed += len(t)
    return kp, cf, changed


# RTPOSE15 left/right partner of each joint (pelvis, thorax, head map to themselves)
RTPOSE15_FLIP = np.array([0, 4, 5, 6, 1, 2, 3, 7, 8, 12, 13, 14, 9, 10, 11])


def fix_pair_swaps(
    kp_a: np.ndarray,
    cf_a: np.ndarray,
    kp_b: np.ndarray,
    cf_b: np.ndarray,
    flip: np.ndarray = RTPOSE15_FLIP,
    min_conf: float = 0.3,
    margin: float = 0.7,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Undo swaps one view of a stereo pair has at a frame where the other has none.

    ``kp_a``, ``kp_b`` ``(T, K, 2)`` px with ``cf_a``, ``cf_b`` ``(T, K)`` are one person in two
    nearby cameras at the same times: each view then resembles the other shifted by the disparity,
    so after removing the median offset, a frame whose views agree clearly better (mean distance
    below ``margin`` times) with one of them mirrored has a swap in one view. Which one: the view
    whose mirroring brings it closer to its own neighbouring frames (neither: left as detected). Catches the swaps that a
    single view's track cannot see (a near-symmetric frame, left and right a few px apart).
    Returns repaired copies and the number of frames changed.
    """
    a, ca, b, cb = kp_a.copy(), cf_a.copy(), kp_b.copy(), cf_b.copy()

    def cross(pa: np.ndarray, pb: np.ndarray) -> float:
        d = pa - pb
        ok = np.isfinite(d).all(-1)
        if ok.sum() < 3:
            return np.nan
        d = d[ok] - np.median(d[ok], axis=0)
        return float(np.linalg.norm(d, axis=-1).mean())

    def temporal(kp: np.ndarray, t: int, pose: np.ndarray) -> float:
        near = [kp[u] for u in (t - 1, t + 1) if 0 <= u < len(kp)]
        d = [_mean_distance(pose, q) for q in near]
        d = [x for x in d if np.isfinite(x)]
        return float(np.mean(d)) if d else np.nan

    pa = np.where((ca >= min_conf)[..., None], a, np.nan)
    pb = np.where((cb >= min_conf)[..., None], b, np.nan)
    changed = 0
    for t in range(len(a)):
        same, mirrored = cross(pa[t], pb[t]), cross(pa[t], pb[t][flip])
        if not (np.isfinite(same) and np.isfinite(mirrored)) or mirrored >= margin * same:
            continue
        # mirroring a or b explains the pair equally: the views' own tracks decide
        gain_a = temporal(pa, t, pa[t][flip]) - temporal(pa, t, pa[t])
        gain_b = temporal(pb, t, pb[t][flip]) - temporal(pb, t, pb[t])
        gain_a, gain_b = np.nan_to_num(gain_a, nan=np.inf), np.nan_to_num(gain_b, nan=np.inf)
        if min(gain_a, gain_b) >= 0:  # neither view's own track agrees: leave both
            continue
        if gain_a <= gain_b:
            a[t], ca[t], pa[t] = a[t][flip], ca[t][flip], pa[t][flip]
        else:
            b[t], cb[t], pb[t] = b[t][flip], cb[t][flip], pb[t][flip]
        changed += 1
    return a, ca, b, cb, changed


def _mean_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean distance over the keypoints finite in both of ``a``, ``b`` ``(..., K, 2)``: ``(...)``, NaN for none."""
    d = np.linalg.norm(a - b, axis=-1)
    ok = np.isfinite(d)
    n = ok.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(ok, d, 0.0).sum(-1) / n, np.nan)


def resample(
    times: np.ndarray,
    keypoints: np.ndarray,
    confidence: np.ndarray,
    new_times: np.ndarray,
    max_gap: float,
    min_conf: float = 0.3,
    extrapolate: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate tracks ``(T, N, K, C)``/``(T, N, K)`` at ``times`` ``(T,)`` to ``new_times`` ``(M,)``.

    Cubic (Catmull-Rom) between the two bracketing confident samples, linear where a neighbour
    beyond them is missing; confidence is the lower of the two bracketing ones, and 0 where the
    bracketing samples are more than ``max_gap`` seconds apart or ``new_times`` lies outside
    (beyond the first or last sample by more than ``extrapolate`` s; up to that, linearly).
    """
    t = np.asarray(times, dtype=np.float64)
    out = np.full((len(new_times), *keypoints.shape[1:]), np.nan)
    conf = np.zeros((len(new_times), *confidence.shape[1:]))
    n_people, n_joints = confidence.shape[1:]
    for i in range(n_people):
        for j in range(n_joints):
            ok = (confidence[:, i, j] >= min_conf) & np.isfinite(keypoints[:, i, j]).all(-1)
            tt, yy, cc = t[ok], keypoints[ok, i, j], confidence[ok, i, j]
            if len(tt) < 2:
                continue
            k = np.clip(np.searchsorted(tt, new_times) - 1, 0, len(tt) - 2)
            t0, t1 = tt[k], tt[k + 1]
            u = (new_times - t0) / (t1 - t0)
            before = (k == 0) & (new_times < t0) & (t0 - new_times <= extrapolate)
            after = (k == len(tt) - 2) & (new_times > t1) & (new_times - t1 <= extrapolate)
            inside = (((u >= -1e-9) & (u <= 1 + 1e-9)) | before | after) & (t1 - t0 <= max_gap)
            p0, p1 = yy[k], yy[k + 1]
            # Catmull-Rom tangents from the outer neighbours when they are close in time
            km, kp = np.maximum(k - 1, 0), np.minimum(k + 2, len(tt) - 1)
            h = (t1 - t0)[:, None]
            m0 = np.where(
                ((k > 0) & (t0 - tt[km] <= max_gap))[:, None],
                (p1 - yy[km]) / np.maximum(t1 - tt[km], 1e-9)[:, None] * h,
                p1 - p0,
            )
            m1 = np.where(
                ((kp > k + 1) & (tt[kp] - t1 <= max_gap))[:, None],
                (yy[kp] - p0) / np.maximum(tt[kp] - t0, 1e-9)[:, None] * h,
                p1 - p0,
            )
            uu = u[:, None]
            h00 = 2 * uu**3 - 3 * uu**2 + 1
            h10 = uu**3 - 2 * uu**2 + uu
            h01 = -2 * uu**3 + 3 * uu**2
            h11 = uu**3 - uu**2
            val = h00 * p0 + h10 * m0 + h01 * p1 + h11 * m1
            lin = p0 + uu * (p1 - p0)
            val = np.where((before | after)[:, None], lin, val)
            out[inside, i, j] = val[inside]
            conf[inside, i, j] = np.minimum(cc[k], cc[k + 1])[inside]
    return out, conf
