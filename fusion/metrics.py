"""Pose metrics: RT-Pose's MPJPE family and PCK (metres in, millimetres out where named), HuPR's OKS AP.

All 3D inputs are ``(N, 15, 3)`` metres in the RT-Pose joint order (pelvis = joint 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from .errors import FusionError


def _check(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise FusionError(f"expected matching (N, J, 3) arrays, got {pred.shape} and {gt.shape}")
    if not (np.isfinite(pred).all() and np.isfinite(gt).all()):
        raise FusionError("poses contain NaN or inf")
    return pred, gt


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Pelvis-aligned per-joint error ``(N, J)`` (m): both skeletons moved so joint 0 is the origin (RT-Pose)."""
    pred, gt = _check(pred, gt)
    return np.linalg.norm((pred - pred[:, :1]) - (gt - gt[:, :1]), axis=-1)


def abs_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-joint error ``(N, J)`` (m) without alignment."""
    pred, gt = _check(pred, gt)
    return np.linalg.norm(pred - gt, axis=-1)


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``pred`` ``(N, J, 3)`` after the similarity transform (rotation, scale, translation) best fitting ``gt``."""
    pred, gt = _check(pred, gt)
    mp, mg = pred.mean(1, keepdims=True), gt.mean(1, keepdims=True)
    p, g = pred - mp, gt - mg
    out = np.empty_like(pred)
    for i in range(len(p)):
        U, s, Vt = np.linalg.svd(p[i].T @ g[i])
        d = np.sign(np.linalg.det(U @ Vt))
        D = np.diag([1.0, 1.0, d])
        R = U @ D @ Vt
        scale = (s * np.diag(D)).sum() / max((p[i] ** 2).sum(), 1e-12)
        out[i] = scale * p[i] @ R + mg[i]
    return out


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-joint error ``(N, J)`` (m) after Procrustes alignment."""
    return np.linalg.norm(procrustes_align(pred, gt) - np.asarray(gt, dtype=np.float64), axis=-1)


def root_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Pelvis localisation error ``(N,)`` (m)."""
    pred, gt = _check(pred, gt)
    return np.linalg.norm(pred[:, 0] - gt[:, 0], axis=-1)


def pck(pred: np.ndarray, gt: np.ndarray, threshold: float = 0.1, aligned: bool = True) -> float:
    """Fraction of joints within ``threshold`` metres (pelvis-aligned by default)."""
    err = mpjpe(pred, gt) if aligned else abs_mpjpe(pred, gt)
    return float((err <= threshold).mean())


def match_people(
    pred_roots: np.ndarray, gt_roots: np.ndarray, max_distance: float = 0.5
) -> list[tuple[int, int]]:
    """Pairs (pred index, gt index) by minimum total root distance, pairs farther than ``max_distance`` dropped."""
    if len(pred_roots) == 0 or len(gt_roots) == 0:
        return []
    cost = np.linalg.norm(np.asarray(pred_roots)[:, None] - np.asarray(gt_roots)[None], axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] <= max_distance]


def summarize(
    pred: np.ndarray, gt: np.ndarray, sequence: Sequence[int] | np.ndarray | None = None
) -> dict[str, float | list[float]]:
    """RT-Pose-style report in millimetres: averaged per sequence, then across sequences."""
    pred, gt = _check(pred, gt)
    seq = np.zeros(len(pred), int) if sequence is None else np.asarray(sequence)
    per = {
        "mpjpe_mm": mpjpe(pred, gt),
        "abs_mpjpe_mm": abs_mpjpe(pred, gt),
        "pa_mpjpe_mm": pa_mpjpe(pred, gt),
    }
    out: dict[str, float | list[float]] = {}
    for name, err in per.items():
        out[name] = float(np.mean([err[seq == s].mean() for s in np.unique(seq)]) * 1000)
    out["root_error_mm"] = float(
        np.mean([root_error(pred[seq == s], gt[seq == s]).mean() for s in np.unique(seq)]) * 1000
    )
    out["per_joint_mpjpe_mm"] = (per["mpjpe_mm"].mean(axis=0) * 1000).round(1).tolist()
    for k in (0.05, 0.1, 0.15):
        out[f"pck@{int(k * 100)}cm"] = pck(pred, gt, k)
    out["n_poses"] = float(len(pred))
    return out


# HuPR's per-joint OKS sigmas (its cocoeval), in its 14-joint order
HUPR_SIGMAS = (
    np.array([1.07, 0.87, 0.89, 1.07, 0.87, 0.89, 1.0, 1.0, 0.79, 0.72, 0.62, 0.79, 0.72, 0.62])
    / 10.0
)


def oks(pred: np.ndarray, gt: np.ndarray, area: float, sigmas: np.ndarray = HUPR_SIGMAS) -> float:
    """Object keypoint similarity of one ``(J, 2)`` prediction to ``(J, 2)`` ground truth (pixels, all visible)."""
    d2 = ((np.asarray(pred) - np.asarray(gt)) ** 2).sum(-1)
    var = (2 * sigmas) ** 2
    return float(np.mean(np.exp(-d2 / var / (area + np.spacing(1)) / 2)))


def oks_ap(
    preds: Sequence[tuple[int, np.ndarray, float]],
    gts: dict[int, list[tuple[np.ndarray, float]]],
    thresholds: np.ndarray | None = None,
    max_dets: int = 20,
) -> dict[str, float]:
    """COCO keypoint AP/AR over images: ``preds`` are (image id, (J, 2) keypoints, score); ``gts`` map an
    image id to its people as ((J, 2) keypoints, area). Greedy matching by score, 101-point
    interpolated precision, as cocoeval does for keypoints with every joint visible."""
    thr = np.linspace(0.5, 0.95, 10) if thresholds is None else thresholds
    by_img: dict[int, list[tuple[np.ndarray, float]]] = {}
    for img, kp, score in preds:
        by_img.setdefault(img, []).append((kp, score))
    n_gt = sum(len(v) for v in gts.values())
    if n_gt == 0:
        raise FusionError("no ground-truth people to evaluate against")
    tps = {t: [] for t in thr}
    scores = []
    for img in set(by_img) | set(gts):
        dets = sorted(by_img.get(img, []), key=lambda d: -d[1])[:max_dets]
        g = gts.get(img, [])
        sim = np.array([[oks(d[0], gk, ga) for gk, ga in g] for d in dets]).reshape(
            len(dets), len(g)
        )
        for t in thr:
            taken = np.zeros(len(g), bool)
            for i in range(len(dets)):
                best, bj = t, -1
                for j in range(len(g)):
                    if not taken[j] and sim[i, j] >= best:
                        best, bj = sim[i, j], j
                if bj >= 0:
                    taken[bj] = True
                tps[t].append(bj >= 0)
        scores += [d[1] for d in dets]
    order = np.argsort(-np.array(scores), kind="mergesort")
    ap, ar = [], []
    for t in thr:
        tp = np.array(tps[t])[order]
        ctp, cfp = np.cumsum(tp), np.cumsum(~tp)
        rec = ctp / n_gt
        prec = ctp / np.maximum(ctp + cfp, np.spacing(1))
        prec = np.maximum.accumulate(prec[::-1])[::-1] if len(prec) else prec
        rs = np.linspace(0, 1, 101)
        idx = np.searchsorted(rec, rs, side="left")
        q = np.array([prec[i] if i < len(prec) else 0.0 for i in idx])
        ap.append(q.mean())
        ar.append(rec[-1] if len(rec) else 0.0)
    res = {"AP": float(np.mean(ap)), "AR": float(np.mean(ar))}
    res["AP50"] = float(ap[int(np.argmin(np.abs(thr - 0.5)))])
    res["AP75"] = float(ap[int(np.argmin(np.abs(thr - 0.75)))])
    return res


@dataclass
class DetectionScore:
    """Predicted people against the truth, frame by frame: matched skeletons (by root, as
    :func:`match_people`), people missed and false alarms; :meth:`metrics` reports them."""

    preds: list[np.ndarray] = field(default_factory=list)
    gts: list[np.ndarray] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    n_true: int = 0
    n_false: int = 0
    frames: int = 0

    def add(self, pred: np.ndarray, true: np.ndarray, sequence: int = 0) -> None:
        """One frame: predicted skeletons ``pred (K, 15, 3)`` against ``true (P, 15, 3)``."""
        pred = np.asarray(pred).reshape(-1, 15, 3)
        self.frames += 1
        self.n_true += len(true)
        pairs = match_people(pred[:, 0], np.asarray(true)[:, 0])
        self.n_false += len(pred) - len(pairs)
        for a, b in pairs:
            self.preds.append(pred[a])
            self.gts.append(true[b])
            self.seqs.append(sequence)

    def metrics(self) -> dict[str, float | list[float]]:
        """:func:`summarize` of the matched people (empty if none), the share of true people
        found and the false alarms per frame."""
        out: dict[str, float | list[float]] = (
            summarize(np.array(self.preds), np.array(self.gts), self.seqs) if self.preds else {}
        )
        out["detection_recall"] = len(self.preds) / max(self.n_true, 1)
        out["false_alarms_per_frame"] = self.n_false / max(self.frames, 1)
        return out
