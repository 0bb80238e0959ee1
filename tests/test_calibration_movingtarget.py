"""calibration.movingtarget: clock offsets from a reflector-and-board target carried through the scene.

Two simulated 8 s sessions (seeds 1 and 2) on the rtpose rig with a 16-loop radar, a rotated and
shifted LiDAR whose clock is 40 ms late and a 320×240 camera 150 ms late, both with 0.5 ms of stamp
jitter; every sensor frame misses the target with probability 0.08 and sees a spurious one (a second
reflector for radar and LiDAR, a glare patch for the camera) with probability 0.06; the camera
image carries pixel noise. Seed 2 goes through the library here, seed 1 through ``radarpose
calibrate`` in test_calibration_movingtarget_command.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rtpose_test_rig import CAMERA_OFFSET, LIDAR_OFFSET, T_TRUE
from rtpose_test_rig import write_rig as rtpose_rig

from calibration import CalibrationError
from calibration.movingtarget import (
    BOARD_ABOVE_REFLECTOR,
    TargetTrack,
    board_centre,
    camera_offset_from_target,
    camera_target_track,
    check_motion,
    lidar_offset_from_target,
    lidar_target_track,
    radar_target_track,
)
from drivers import RecordingReader, Rig
from drivers.camera import project
from drivers.sim.sessions import carried_path, simulate_moving_target_session
from drivers.transforms import apply, invert

SECONDS = 8.0
START_NS = 1_700_000_000_000_000_000  # the simulator's t = 0


def write_rig(d: Path) -> Rig:
    """The test rig in folder ``d``: 320×240 camera, 0.5 ms of stamp jitter on LiDAR and camera."""
    return rtpose_rig(d, jitter=0.0005, small_camera=True)


def simulate(rig: Rig, path: Path, seed: int) -> None:
    """An 8 s session: misses 8 %, spurious targets 6 % of the sensor frames, pixel noise."""
    n = simulate_moving_target_session(
        rig,
        path,
        seconds=SECONDS,
        seed=seed,
        miss=0.08,
        ghost=0.06,
        camera_noise=3.0,
        clutter=False,  # the room's static scatterers only slow the radar simulation down
        sensors=["radar", "lidar", "cam-left"],
    )
    assert n == {"radar": 80, "lidar": 80, "cam-left": 80}


@pytest.fixture(scope="module")
def tracks(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("mt")
    rig = write_rig(d)
    path = d / "target2.h5"
    simulate(rig, path, 2)
    with RecordingReader(path) as rec:
        cam = rec.camera_config("cam-left")
    return {
        "radar": radar_target_track(path, "radar"),
        "lidar": lidar_target_track(path, "lidar"),
        "camera": camera_target_track(path, "cam-left"),
        "cam": cam,
        "T_cam_radar": invert(rig.T_ref("cam-left")),
        "truth": carried_path(SECONDS, 2),
    }


def test_tracks_follow_the_target_at_their_sample_instants(tracks: dict) -> None:
    truth = tracks["truth"]
    # radar: positions hold at the frame's middle (6.2 ms after the stamp, which marks the start);
    # at ~0.8 m/s, stamping at the start instead would put them 5 mm off
    rt = tracks["radar"]
    e = np.linalg.norm(rt.positions - truth.position((rt.stamps_ns - START_NS) / 1e9), axis=1)
    assert rt.frames == 80 and np.median(e) < 0.002
    # frames without the target are counted, not tracked (a static spurious reflector rarely
    # outshines the moving one in the range-Doppler map: none did here)
    assert rt.dropped == {"no target 15 dB above the median": 8} and np.sum(e > 0.05) <= 4
    # LiDAR: face-extent centres, in the radar frame by the true transform, 40 ms late
    lt = tracks["lidar"]
    t = (lt.stamps_ns - START_NS) / 1e9 - LIDAR_OFFSET
    e = apply(T_TRUE, lt.positions) - truth.position(t)
    ok = np.linalg.norm(e, axis=1) < 0.05
    assert ok.sum() >= 60 and lt.dropped["no bright compact cluster"] >= 2
    assert np.all(np.median(np.abs(e[ok, :2]), axis=0) < 0.004)
    # camera: the outline's diagonals cross at the image of the board's centre
    ct = tracks["camera"]
    t = (ct.stamps_ns - START_NS) / 1e9 - CAMERA_OFFSET
    centre = truth.position(t) + np.asarray(BOARD_ABOVE_REFLECTOR)
    uv, _ = project(apply(tracks["T_cam_radar"], centre), tracks["cam"])
    e = np.linalg.norm(ct.positions - uv, axis=1)
    assert len(e) + sum(ct.dropped.values()) == 80 and len(e) >= 60
    assert np.median(e) < 0.4


def test_lidar_and_camera_offsets_within_5_ms(tracks: dict) -> None:
    lo = lidar_offset_from_target(tracks["radar"], tracks["lidar"], T_TRUE)
    co = camera_offset_from_target(
        tracks["radar"], tracks["camera"], tracks["T_cam_radar"], tracks["cam"]
    )
    for o, true in ((lo, LIDAR_OFFSET), (co, CAMERA_OFFSET)):
        r = o.result
        assert abs(r.offset - true) < 0.005
        assert 0 < r.sigma < 0.0025 and abs(r.offset - true) < 3 * r.sigma + 0.001
        assert o.outliers[1] >= 1  # spurious LiDAR clusters and glare patches were despiked


def test_board_centre_of_a_drawn_board() -> None:
    # a 100 x 60 px white rectangle with dark squares inside, its centre at (150.5, 80.5) px
    img = np.full((160, 300), 90, np.uint8)
    img[50:111, 100:201] = 235
    img[60:70, 110:120] = img[80:90, 130:140] = 20
    c, why = board_centre(img)
    assert why == "" and np.allclose(c, [150.5, 80.5], atol=0.05)
    img[50:111, 0:60] = 240  # a bright patch reaching the image edge is smaller: ignored
    assert np.allclose(board_centre(img)[0], [150.5, 80.5], atol=0.05)
    img[100:140, 180:240] = 250  # glare overlapping the board's corner: no longer a quadrilateral
    c, why = board_centre(img)
    assert c is None and why.startswith("board outline")
    img[:, :] = 90
    img[0:40, 100:200] = 235
    assert board_centre(img) == (None, "board cut by the image edge")
    assert board_centre(np.full((50, 50), 90, np.uint8)) == (None, "no bright region")


def _synthetic(t: np.ndarray, p: np.ndarray) -> TargetTrack:
    return TargetTrack((t * 1e9).astype(np.int64), p, len(t))


def test_degenerate_sessions_are_refused() -> None:
    t = np.arange(0, 10, 0.1)
    back_and_forth = np.column_stack([2.5 + 0.6 * np.sin(1.3 * t), 0.4 * np.cos(0.9 * t), 0 * t])
    radar = _synthetic(t, back_and_forth)
    lidar = _synthetic(t + 0.02, apply(invert(T_TRUE), back_and_forth))
    assert lidar_offset_from_target(radar, lidar, T_TRUE).result.offset == pytest.approx(
        0.02, abs=0.001
    )
    still = _synthetic(t, np.tile([2.5, 0.0, 0.0], (len(t), 1)))
    with pytest.raises(CalibrationError, match="radar target track: the target moved only 0.00 m"):
        lidar_offset_from_target(still, lidar, T_TRUE)
    # a standing target with three spurious detections 1 m off: they do not pass for motion
    spurious = still.positions.copy()
    spurious[[10, 40, 70]] += [0.0, 1.0, 0.0]
    with pytest.raises(CalibrationError, match="moved only 0.00 m"):
        lidar_offset_from_target(_synthetic(t, spurious), lidar, T_TRUE)
    steady = _synthetic(t, np.column_stack([1.5 + 0.2 * t, 0 * t, 0 * t]))
    with pytest.raises(CalibrationError, match="moved at constant velocity"):
        check_motion(steady, "radar target track")
    few = _synthetic(t[:12], back_and_forth[:12])
    with pytest.raises(CalibrationError, match="found in 12 of 12 frames .need 20"):
        lidar_offset_from_target(radar, few, T_TRUE)
    late = _synthetic(t + 30.0, lidar.positions)
    with pytest.raises(CalibrationError, match="overlap for 0.00 s"):
        lidar_offset_from_target(radar, late, T_TRUE)
