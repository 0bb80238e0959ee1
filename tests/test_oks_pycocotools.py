"""fusion.metrics.oks_ap agrees with pycocotools' COCOeval set up as HuPR's patched cocoeval
(its 14 sigmas, maxDets 20, one 'all' area range) on a small synthetic set."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from fusion.metrics import HUPR_SIGMAS, oks_ap

pytest.importorskip("pycocotools")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402


def _synthetic(seed: int = 0):
    """Images with 0-3 people (14 joints, 256 px); detections: noisy copies, misses, false alarms."""
    rng = np.random.default_rng(seed)
    gts: dict[int, list[tuple[np.ndarray, float]]] = {}
    preds: list[tuple[int, np.ndarray, float]] = []
    for img in range(12):
        gts[img] = []
        for _ in range(int(rng.integers(0, 4))):
            centre = rng.uniform(60, 196, 2)
            kp = centre + rng.normal(0, 25, (14, 2))
            w, h = np.ptp(kp, axis=0)
            gts[img].append((kp, float(w * h / 2)))  # HuPR's area rule: half the box
            if rng.random() < 0.85:  # detected, with an error from tiny to large
                noise = rng.choice([1.0, 3.0, 6.0, 12.0])
                preds.append((img, kp + rng.normal(0, noise, (14, 2)), float(rng.random())))
        for _ in range(int(rng.integers(0, 2))):  # false alarms
            preds.append((img, rng.uniform(0, 256, (14, 2)), float(rng.random())))
    return preds, gts


def _pycocotools(preds, gts) -> dict[str, float]:
    images, anns = [], []
    for img, people in gts.items():
        images.append({"id": img, "width": 256, "height": 256})
        for kp, area in people:
            x0, y0 = kp.min(0)
            w, h = np.ptp(kp, axis=0)
            flat = np.concatenate([kp, np.full((14, 1), 2.0)], 1).ravel().tolist()
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img,
                    "category_id": 1,
                    "keypoints": flat,
                    "num_keypoints": 14,
                    "area": area,
                    "bbox": [float(x0), float(y0), float(w), float(h)],
                    "iscrowd": 0,
                }
            )
    gt = COCO()
    gt.dataset = {
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "person", "keypoints": [str(i) for i in range(14)]}],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes(
            [
                {
                    "image_id": img,
                    "category_id": 1,
                    "keypoints": np.concatenate([kp, np.ones((14, 1))], 1).ravel().tolist(),
                    "score": s,
                }
                for img, kp, s in preds
            ]
        )
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.kpt_oks_sigmas = HUPR_SIGMAS
        ev.params.maxDets = [20]
        ev.params.areaRng = [[0, 1e10]]
        ev.params.areaRngLbl = ["all"]
        ev.evaluate()
        ev.accumulate()
    prec = ev.eval["precision"][:, :, 0, 0, 0]  # (thresholds, recall points)
    rec = ev.eval["recall"][:, 0, 0, 0]
    return {
        "AP": float(prec.mean()),
        "AP50": float(prec[0].mean()),
        "AP75": float(prec[5].mean()),
        "AR": float(rec.mean()),
    }


@pytest.mark.parametrize("seed", [0, 1])
def test_oks_ap_matches_pycocotools(seed: int) -> None:
    preds, gts = _synthetic(seed)
    ours = oks_ap(preds, gts)
    ref = _pycocotools(preds, gts)
    assert 0.05 < ref["AP"] < 0.95  # a set that exercises both matches and misses
    for k in ("AP", "AP50", "AP75", "AR"):
        assert ours[k] == pytest.approx(ref[k], abs=1e-9), k
