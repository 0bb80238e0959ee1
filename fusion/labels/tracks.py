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
    margin: float = 0.6,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Undo left/right swaps along each track; returns repaired copies and how many frames changed.

    A frame is mirrored (by ``flip``) when that brings it clearly closer to the previous frame
    (mean distance below ``margin`` times the unmirrored one): seen side-on, left and right
    overlap and a person turning mirrors gradually, so weak evidence never flips;
    then the whole chain is mirrored if that makes fewer frames differ from the detector, since a
    detector is right more often than not. ``keypoints`` ``(T, N, K, 2)``, ``confidence`` ``(T, N, K)``.
    """
    kp, cf = keypoints.copy(), confidence.copy()
    changed = 0
    for i in range(kp.shape[1]):
        flipped = np.zeros(len(kp), bool)
        prev = None
        for t in range(len(kp)):
            ok = cf[t, i] >= min_conf
            if ok.sum() < 3:
                continue
            if prev is not None:
                a = kp[t, i]
                b = kp[t, i][flip]
                ok_b = cf[t, i][flip] >= min_conf
                both_a = ok & np.isfinite(prev).all(-1)
                both_b = ok_b & np.isfinite(prev).all(-1)
                da = (
                    np.linalg.norm(a[both_a] - prev[both_a], axis=-1).mean()
                    if both_a.any()
                    else np.inf
                )
                db = (
                    np.linalg.norm(b[both_b] - prev[both_b], axis=-1).mean()
                    if both_b.any()
                    else np.inf
                )
                flipped[t] = db < margin * da
            if flipped[t]:
                kp[t, i], cf[t, i] = kp[t, i][flip], cf[t, i][flip]
            prev = np.where((cf[t, i] >= min_conf)[:, None], kp[t, i], np.nan)
        seen = (cf[:, i] >= min_conf).sum(-1) >= 3
        if flipped[seen].mean() > 0.5 if seen.any() else False:
            kp[seen, i] = kp[seen, i][:, flip]
            cf[seen, i] = cf[seen, i][:, flip]
            flipped[seen] = ~flipped[seen]
        changed += int(flipped.sum())
    return kp, cf, changed


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
