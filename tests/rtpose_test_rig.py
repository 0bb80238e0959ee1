"""The calibration tests' rig (imported by them; not a test module): the rtpose rig with a
16-loop radar to keep simulations short, the LiDAR at ``T_TRUE`` with its clock ``LIDAR_OFFSET``
late and cam-left ``CAMERA_OFFSET`` late (as a USB webcam's stamps are)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from drivers import Rig, load_rig
from drivers.transforms import from_euler

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
T_TRUE = from_euler((0.8, -1.5, 2.5), (0.05, -0.12, 0.18), degrees=True)  # T_radar_lidar
LIDAR_OFFSET = 0.040
CAMERA_OFFSET = 0.150


def write_rig(
    d: Path, *, jitter: float | None = None, small_camera: bool = False, cameras: int = 1
) -> Rig:
    """The test rig written to folder ``d`` and loaded; ``jitter`` (s) of stamp jitter on the
    LiDAR and the camera; ``small_camera``: cam-left at 320×240 (f = 250 px) instead of 640×480;
    ``cameras``: how many cameras (cam-left first) run ``CAMERA_OFFSET`` late."""
    radar = (CONFIGS / "radars" / "rtpose_mmwcas.yaml").read_text()
    (d / "radar.yaml").write_text(radar.replace("n_loops: 64", "n_loops: 16"))
    text = (CONFIGS / "rigs" / "rtpose.yaml").read_text()
    text = text.replace("../radars/rtpose_mmwcas.yaml", str(d / "radar.yaml"))
    extra = f"\n    clock_jitter: {jitter}" if jitter is not None else ""
    text = text.replace(
        "pose: {translation: [0.0, 0.0, 0.15], rpy_deg: [0.0, 0.0, 0.0]}\n    clock_offset: 0.004",
        f"pose: {{matrix: {np.round(T_TRUE, 12).tolist()}}}\n    clock_offset: {LIDAR_OFFSET}"
        + extra,
    )
    text = text.replace("clock_offset: -0.008", f"clock_offset: {CAMERA_OFFSET}{extra}", cameras)
    if small_camera:
        text = text.replace(
            "width: 640, height: 480, fx: 500.0, fy: 500.0, cx: 320.0, cy: 240.0",
            "width: 320, height: 240, fx: 250.0, fy: 250.0, cx: 160.0, cy: 120.0",
        )
    # every edit must have found its text: the rig files changing would silently undo one
    assert f"clock_offset: {LIDAR_OFFSET}" in text
    assert text.count(f"clock_offset: {CAMERA_OFFSET}") == cameras
    assert (not extra or text.count(extra) == 1 + cameras) and (
        "width: 320" in text
    ) == small_camera
    (d / "rig.yaml").write_text(text)
    return load_rig(d / "rig.yaml")
