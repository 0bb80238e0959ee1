"""Pinhole projection, distortion and back-projection."""

from __future__ import annotations

import numpy as np
import pytest

from drivers import CameraConfig, DriversError
from drivers.camera import backproject, distort_normalized, in_image, project, undistort_normalized

CAM = CameraConfig(width=640, height=480, fx=500.0, fy=510.0, cx=320.0, cy=240.0)


def test_projection_by_hand() -> None:
    uv, z = project(np.array([[0.2, -0.1, 2.0]]), CAM)
    # u = fx x/z + cx = 500*0.1+320 = 370; v = 510*(-0.05)+240 = 214.5
    np.testing.assert_allclose(uv[0], [370.0, 214.5])
    assert z[0] == 2.0
    assert np.isnan(project(np.array([0.0, 0.0, -1.0]), CAM)[0]).all()


def test_backproject_inverts_project_with_distortion() -> None:
    cam = CameraConfig(
        width=640,
        height=480,
        fx=500.0,
        fy=500.0,
        cx=320.0,
        cy=240.0,
        distortion=(-0.2, 0.05, 0.001, -0.001, 0.0),
    )
    rng = np.random.default_rng(0)
    p = np.column_stack(
        [rng.uniform(-0.8, 0.8, 50), rng.uniform(-0.6, 0.6, 50), rng.uniform(1.5, 6, 50)]
    )
    uv, z = project(p, cam)
    np.testing.assert_allclose(backproject(uv, z, cam), p, atol=1e-8)
    xy = rng.uniform(-0.4, 0.4, (20, 2))
    np.testing.assert_allclose(
        undistort_normalized(distort_normalized(xy, cam), cam), xy, atol=1e-10
    )
    assert in_image(uv, cam).all()


def test_bad_distortion_length() -> None:
    cam = CameraConfig(width=10, height=10, fx=1.0, fy=1.0, distortion=(0.1, 0.2, 0.3))
    with pytest.raises(DriversError, match="0, 4 or 5 coefficients"):
        project(np.ones((1, 3)), cam)
