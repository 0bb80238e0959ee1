"""Pose metrics against known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from fusion import FusionError
from fusion.metrics import abs_mpjpe, match_people, mpjpe, oks, oks_ap, pa_mpjpe, pck, summarize

rng = np.random.default_rng(0)
GT = rng.normal(size=(20, 15, 3))


def test_translation_is_invisible_to_pelvis_aligned_mpjpe() -> None:
    pred = GT + np.array([0.3, -0.4, 0.0])  # 0.5 m shift
    assert mpjpe(pred, GT).max() == pytest.approx(0.0, abs=1e-12)
    assert abs_mpjpe(pred, GT) == pytest.approx(np.full((20, 15), 0.5))


def test_procrustes_removes_rotation_and_scale() -> None:
    R = Rotation.from_euler("xyz", [0.3, -0.2, 1.0]).as_matrix()
    pred = 1.3 * GT @ R.T + 2.0
    assert pa_mpjpe(pred, GT).max() == pytest.approx(0.0, abs=1e-9)
    assert mpjpe(pred, GT).mean() > 0.1


def test_known_joint_error_and_pck() -> None:
    pred = GT.copy()
    pred[:, 5] += [0.0, 0.12, 0.0]  # one joint off by 12 cm
    e = mpjpe(pred, GT)
    assert e[:, 5] == pytest.approx(0.12) and e[:, :5].max() == pytest.approx(0.0, abs=1e-12)
    assert pck(pred, GT, 0.1) == pytest.approx(14 / 15)
    s = summarize(pred, GT, sequence=np.repeat([0, 1], 10))
    assert s["mpjpe_mm"] == pytest.approx(120 / 15)
    assert s["per_joint_mpjpe_mm"][5] == pytest.approx(120.0)


def test_sequences_weigh_equally() -> None:
    pred = GT.copy()
    pred[:2] += [0.0, 0.0, 0.0]
    pred[:2, 1] += (
        0.15  # errors only in sequence 0, which has 2 frames; sequence 1 has 18 clean ones
    )
    s = summarize(pred, GT, sequence=np.array([0, 0] + [1] * 18))
    assert s["mpjpe_mm"] == pytest.approx((0.15 * np.sqrt(3) * 1000 / 15) / 2, rel=1e-6)


def test_matching_and_errors() -> None:
    assert match_people(
        np.array([[3, 0, 0], [1, 1, 0.0]]), np.array([[1, 1.1, 0], [3.1, 0, 0.0]])
    ) == [(0, 1), (1, 0)]
    assert match_people(np.array([[0, 0, 0.0]]), np.array([[5, 0, 0.0]])) == []
    with pytest.raises(FusionError, match="NaN"):
        mpjpe(np.full((1, 15, 3), np.nan), GT[:1])


def test_oks_ap_known_cases() -> None:
    kp = rng.uniform(50, 200, (14, 2))
    assert oks(kp, kp, 5000.0) == pytest.approx(1.0)
    gts = {1: [(kp, 5000.0)], 2: [(kp + 3, 5000.0)]}
    perfect = oks_ap([(1, kp, 0.9), (2, kp + 3, 0.8)], gts)
    assert perfect["AP"] == pytest.approx(1.0) and perfect["AR"] == pytest.approx(1.0)
    # one detection far away: half the people found at every threshold, precision falls after it
    half = oks_ap([(1, kp, 0.9), (2, kp + 200, 0.95)], gts)
    assert half["AR"] == pytest.approx(0.5)
    assert 0.2 < half["AP"] < 0.6


def test_detection_score_counts_found_missed_and_false() -> None:
    from fusion.metrics import DetectionScore

    rng = np.random.default_rng(3)
    a, b, c = rng.normal(0, 0.3, (3, 15, 3)) + [
        [[2.0, 0.5, 0.0]],
        [[4.0, -1.0, 0.0]],
        [[3.0, 1.5, 0.0]],
    ]
    score = DetectionScore()
    score.add(np.stack([a + 0.01, b + [0.0, 3.0, 0.0]]), np.stack([a, b]))  # a found; b 3 m off
    score.add(np.zeros((0, 15, 3)), c[None])  # c missed
    m = score.metrics()
    assert m["detection_recall"] == 1 / 3 and m["false_alarms_per_frame"] == 1 / 2
    assert m["abs_mpjpe_mm"] == pytest.approx(np.sqrt(3) * 10, rel=1e-6)
    assert DetectionScore().metrics() == {"detection_recall": 0.0, "false_alarms_per_frame": 0.0}
