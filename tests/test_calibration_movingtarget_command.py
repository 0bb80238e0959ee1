"""``radarpose calibrate --method moving-target`` on a simulated session (seed 1; the rig and the
session as in test_calibration_movingtarget.py): the YAML gets both clock offsets within 5 ms."""

from __future__ import annotations

from pathlib import Path

import pytest
from rtpose_test_rig import CAMERA_OFFSET, LIDAR_OFFSET, T_TRUE
from test_calibration_movingtarget import simulate, write_rig

from drivers import Calibration, load_rig
from drivers.sim.sessions import simulate_moving_target_session
from drivers.transforms import invert


def test_calibrate_command_moving_target(tmp_path: Path) -> None:
    from drivers.calibfile import load_calibration
    from fusion.cli import main

    rig = write_rig(tmp_path)
    session = tmp_path / "target1.h5"
    simulate(rig, session, 1)
    base = tmp_path / "base.yaml"
    T_cam_radar = invert(rig.T_ref("cam-left"))
    zero = {"radar": 0.0, "lidar": 0.0, "cam-left": 0.0}
    Calibration({"T_radar_lidar": T_TRUE, "T_cam-left_radar": T_cam_radar}, zero).save(base)
    out = tmp_path / "calib.yaml"
    args = ["calibrate", str(session), "--method", "moving-target", "--base", str(base)]
    assert main([*args, "-o", str(out)]) == 0
    cal = load_calibration(out)
    assert cal.clock_offsets["lidar"] == pytest.approx(LIDAR_OFFSET, abs=0.005)
    assert cal.clock_offsets["cam-left"] == pytest.approx(CAMERA_OFFSET, abs=0.005)
    for sensor, true in (("lidar", LIDAR_OFFSET), ("cam-left", CAMERA_OFFSET)):
        r = cal.residuals[f"clock_offset_{sensor}"]
        assert r["method"] == "moving target" and 0 < r["sigma_ms"] < 2.5
        assert r["offset_s"] == pytest.approx(cal.clock_offsets[sensor], abs=1e-6)
        err = (cal.clock_offsets[sensor] - true) * 1000
        assert r["error_vs_simulation_truth_ms"] == pytest.approx(err, abs=0.01)


def test_calibrate_command_moving_target_needs_the_radar_lidar_transform(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fusion.cli import main

    base = tmp_path / "base.yaml"
    Calibration({}, {"radar": 0.0}).save(base)
    session = tmp_path / "none.h5"
    args = ["calibrate", str(session), "--method", "moving-target", "--base", str(base)]
    # a 0.3 s session of the stock rig: refused before any frame is read
    simulate_moving_target_session(
        load_rig("rtpose"), session, seconds=0.3, clutter=False, sensors=["radar", "lidar"]
    )
    assert main([*args, "-o", str(tmp_path / "c.yaml")]) == 2
    assert (
        "compares through T_radar_lidar, which the base calibration lacks"
        in capsys.readouterr().err
    )
