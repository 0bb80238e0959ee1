"""Camera intrinsics from the two YAML forms users already have: ROS ``camera_info`` files (as
``camera_calibration`` writes them) and OpenCV ``FileStorage`` files (``%YAML:1.0`` with
``!!opencv-matrix`` nodes). Both become a :class:`drivers.CameraConfig`; estimating intrinsics from
checkerboard images is :func:`calibration.board.calibrate_intrinsics`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from drivers import CameraConfig

from .errors import CalibrationError


class _OpenCvLoader(yaml.SafeLoader):
    """SafeLoader that reads ``!!opencv-matrix`` nodes as plain mappings."""


_OpenCvLoader.add_constructor(
    "tag:yaml.org,2002:opencv-matrix",
    lambda loader, node: loader.construct_mapping(node, deep=True),
)


def _matrix(doc: dict[str, Any], key: str, source: str) -> np.ndarray:
    node = doc.get(key)
    if node is None:
        raise CalibrationError(f"{source}: no {key!r}")
    try:
        data = np.asarray(node["data"], dtype=np.float64)
        return data.reshape(int(node["rows"]), int(node["cols"]))
    except (KeyError, TypeError, ValueError) as e:
        raise CalibrationError(f"{source}: {key!r} is not a rows/cols/data matrix ({e})") from e


def load_camera_yaml(path: str | Path) -> CameraConfig:
    """A :class:`CameraConfig` from a ROS camera_info YAML or an OpenCV FileStorage YAML."""
    path = Path(path)
    text = path.read_text()
    if text.startswith("%YAML:1.0"):  # OpenCV's directive is not YAML 1.1 syntax
        text = "%YAML 1.1\n---\n" + text.split("\n", 1)[1].lstrip("-\n")
    try:
        doc = yaml.load(text, Loader=_OpenCvLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        raise CalibrationError(f"{path}: not YAML ({e})") from e
    if not isinstance(doc, dict):
        raise CalibrationError(f"{path}: expected a mapping of camera parameters")
    K = _matrix(doc, "camera_matrix", str(path))
    if K.shape != (3, 3):
        raise CalibrationError(f"{path}: camera_matrix is {K.shape}, expected (3, 3)")
    dist = doc.get("distortion_coefficients")
    d = _matrix(doc, "distortion_coefficients", str(path)).ravel() if dist is not None else []
    model = doc.get("distortion_model", "plumb_bob")
    if model not in ("plumb_bob", "rational_polynomial") or len(d) > 5 and np.any(d[5:]):
        raise CalibrationError(
            f"{path}: distortion model {model!r} with {len(d)} coefficients; radarpose supports "
            "OpenCV's k1, k2, p1, p2, k3 (plumb_bob)"
        )
    try:
        w, h = int(doc["image_width"]), int(doc["image_height"])
    except (KeyError, TypeError, ValueError) as e:
        raise CalibrationError(f"{path}: image_width and image_height are required") from e
    return camera_from_opencv(K, d, w, h)


def camera_from_opencv(
    K: np.ndarray, dist: np.ndarray | list, width: int, height: int
) -> CameraConfig:
    """A :class:`CameraConfig` from OpenCV's 3×3 ``K`` and distortion (k1, k2, p1, p2[, k3]).

    OpenCV and ROS put pixel (0, 0)'s centre at (0, 0); CONVENTIONS put it at (0.5, 0.5)."""
    d = np.ravel(np.asarray(dist, dtype=np.float64))[:5]
    return CameraConfig(
        width=int(width),
        height=int(height),
        fx=float(K[0, 0]),
        fy=float(K[1, 1]),
        cx=float(K[0, 2]) + 0.5,
        cy=float(K[1, 2]) + 0.5,
        distortion=tuple(float(v) for v in d) if np.any(d) else (),
    )


def camera_info_yaml(cam: CameraConfig, name: str = "camera") -> str:
    """``cam`` as a ROS camera_info YAML document (the form ``load_camera_yaml`` reads back)."""
    K = cam.K.copy()
    K[0, 2] -= 0.5
    K[1, 2] -= 0.5
    d = list(cam.distortion) + [0.0] * (5 - len(cam.distortion))
    P = np.hstack([K, np.zeros((3, 1))])

    def m(a: np.ndarray) -> dict[str, Any]:
        return {"rows": a.shape[0], "cols": a.shape[1], "data": a.ravel().tolist()}

    doc = {
        "image_width": cam.width,
        "image_height": cam.height,
        "camera_name": name,
        "camera_matrix": m(K),
        "distortion_model": "plumb_bob",
        "distortion_coefficients": m(np.asarray([d[:5]])),
        "rectification_matrix": m(np.eye(3)),
        "projection_matrix": m(P),
    }
    return yaml.safe_dump(doc, sort_keys=False)
