"""radarpose calibration: cross-register radar, LiDAR and cameras in space and time.

Writes the calibration YAML defined in ``drivers.calibfile``. Imports ``drivers`` and ``sensing``.

* :mod:`.rigid`: robust rigid fits (RANSAC + refinement), the no-elevation case, composition
  with covariance.
* :mod:`.reflectors` / :mod:`.targets`: radar ↔ LiDAR from corner reflector sessions.
* :mod:`.board`: LiDAR ↔ camera from checkerboards; intrinsics from board images (OpenCV).
* :mod:`.intrinsics`: ROS and OpenCV camera YAML.
* :mod:`.temporal`: clock offsets and drift from motion both sensors see.
* :mod:`.movingtarget`: clock offsets to a few ms from a reflector-and-board target carried
  back and forth (radar, LiDAR and camera tracks of the target, aligned in time).
* :mod:`.person` / :mod:`.targetfree`: radar ↔ LiDAR without targets: a walking person's tracks
  (yaw, x, y, the LiDAR's and the cameras' clock offsets) and ICP of the static room.
"""

from .board import BoardObservation, BoardSpec, calibrate_intrinsics, calibrate_lidar_camera
from .errors import CalibrationError
from .intrinsics import camera_info_yaml, load_camera_yaml
from .movingtarget import camera_offset_from_target, lidar_offset_from_target
from .reflectors import calibrate_reflectors, placements_from_recording
from .rigid import RigidResult, compose, solve_rigid, solve_rigid_no_elevation
from .targetfree import (
    calibrate_icp,
    calibrate_person,
    estimate_camera_offset,
    estimate_lidar_offset,
)
from .temporal import estimate_drift, estimate_offset

__all__ = [
    "BoardObservation",
    "BoardSpec",
    "CalibrationError",
    "RigidResult",
    "calibrate_icp",
    "calibrate_intrinsics",
    "calibrate_person",
    "calibrate_lidar_camera",
    "calibrate_reflectors",
    "camera_info_yaml",
    "camera_offset_from_target",
    "compose",
    "estimate_camera_offset",
    "estimate_drift",
    "estimate_lidar_offset",
    "estimate_offset",
    "lidar_offset_from_target",
    "load_camera_yaml",
    "placements_from_recording",
    "solve_rigid",
    "solve_rigid_no_elevation",
]
