"""Skeleton conversions both ways, and rigid-transform helpers."""

from __future__ import annotations

import numpy as np
import pytest

from drivers import COCO17, HUPR14, RTPOSE15, DriversError, convert_skeleton
from drivers.transforms import apply, check_transform, from_euler, invert, transform_error

rng = np.random.default_rng(0)


def test_joint_orders_match_conventions() -> None:
    assert (
        RTPOSE15.joints[0] == "pelvis"
        and RTPOSE15.joints[7] == "thorax"
        and RTPOSE15.joints[14] == "left_wrist"
    )
    assert (
        HUPR14.joints[6] == "neck"
        and HUPR14.joints[8] == "left_shoulder"
        and HUPR14.joints[11] == "right_shoulder"
    )
    assert len(RTPOSE15.edges) == 14 and (7, 8) in RTPOSE15.edges
    assert COCO17.n_joints == 17 and COCO17.joints[11] == "left_hip"


def test_rtpose_to_hupr_and_back() -> None:
    j = rng.normal(size=(5, 15, 3))
    h, c = convert_skeleton(j, "rtpose15", "hupr14")
    assert h.shape == (5, 14, 3) and np.all(c == 1)
    np.testing.assert_array_equal(h[:, 6], j[:, 7])  # neck = thorax
    np.testing.assert_array_equal(h[:, 8], j[:, 12])  # left shoulder
    np.testing.assert_array_equal(h[:, 13], j[:, 11])  # right wrist
    back, _ = convert_skeleton(h, "hupr14", "rtpose15")
    # all joints but the pelvis come back exactly; pelvis becomes the hip midpoint (documented rule)
    np.testing.assert_array_equal(back[:, 1:], j[:, 1:])
    np.testing.assert_allclose(back[:, 0], (j[:, 1] + j[:, 4]) / 2)


def test_coco_to_rtpose_rules_and_confidence() -> None:
    k = rng.uniform(0, 100, size=(17, 2))
    conf = np.linspace(0.1, 0.9, 17)
    r, c = convert_skeleton(k, "coco17", "rtpose15", conf)
    np.testing.assert_allclose(r[0], (k[11] + k[12]) / 2)  # pelvis = mid-hips
    np.testing.assert_allclose(r[7], (k[5] + k[6]) / 2)  # thorax = mid-shoulders
    np.testing.assert_allclose(r[8], (k[3] + k[4]) / 2)  # head = mid-ears
    np.testing.assert_allclose(r[1], k[12])  # right hip
    assert c[0] == pytest.approx(min(conf[11], conf[12]))
    back, _ = convert_skeleton(r, "rtpose15", "coco17")
    body = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
    np.testing.assert_allclose(back[body], k[body])
    np.testing.assert_allclose(back[0], r[8])  # face points take the head


def test_shape_errors() -> None:
    with pytest.raises(
        DriversError,
        match=r"expected joints of shape \(\.\.\., 15, C\) for rtpose15, got \(14, 3\)",
    ):
        convert_skeleton(np.zeros((14, 3)), "rtpose15", "hupr14")


def test_transform_inverse_and_apply() -> None:
    T = from_euler((0.3, -0.2, 1.1), (1.0, -2.0, 0.5))
    check_transform(T)
    p = rng.normal(size=(10, 3))
    np.testing.assert_allclose(apply(invert(T), apply(T, p)), p, atol=1e-12)
    np.testing.assert_allclose(invert(T) @ T, np.eye(4), atol=1e-12)
    t_err, r_err = transform_error(T @ from_euler((0, 0, 0.01)), T)
    assert r_err == pytest.approx(0.01, abs=1e-9) and t_err == pytest.approx(0.0, abs=1e-12)
    # 90 deg yaw maps x to y
    np.testing.assert_allclose(
        apply(from_euler((0, 0, 90), degrees=True), np.array([1.0, 0, 0])), [0, 1, 0], atol=1e-12
    )


def test_check_transform_rejects_non_rigid() -> None:
    bad = np.eye(4)
    bad[0, 0] = 2
    with pytest.raises(DriversError, match="not orthonormal"):
        check_transform(bad)
    with pytest.raises(DriversError, match="expected a 4x4 matrix"):
        check_transform(np.eye(3))
