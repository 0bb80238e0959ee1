"""calibration: rigid solvers, reflector sessions on a simulated rig, clock offsets from motion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calibration import CalibrationError
from calibration.board import (
    BoardObservation,
    BoardSpec,
    calibrate_intrinsics,
    calibrate_lidar_camera,
    observations_from_recording,
)
from calibration.intrinsics import camera_info_yaml, load_camera_yaml
from calibration.reflectors import calibrate_reflectors, placements_from_recording
from calibration.rigid import (
    check_geometry,
    compose,
    rotation_error_deg,
    solve_rigid,
    solve_rigid_no_elevation,
)
from calibration.temporal import estimate_drift, estimate_offset
from drivers import RecordingReader, load_rig
from drivers.sim.sessions import (
    board_poses,
    simulate_board_session,
    simulate_reflector_session,
    spread_positions,
)
from drivers.transforms import apply, from_euler, invert

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
T_TRUE = from_euler((0.8, -1.5, 2.5), (0.05, -0.12, 0.18), degrees=True)  # T_radar_lidar


def _pairs(n: int, seed: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    radar = spread_positions(n, seed)
    lidar = apply(invert(T_TRUE), radar) + rng.normal(0, noise, (n, 3))
    return lidar, radar


def test_ransac_and_refinement_ignore_gross_outliers() -> None:
    lidar, radar = _pairs(12, 1, 0.004)
    radar[[2, 7, 9]] += [[0.4, 0, 0], [0, -0.3, 0.2], [0.25, 0.25, 0]]  # wrong associations
    res = solve_rigid(lidar, radar)
    assert rotation_error_deg(res.T, T_TRUE) < 0.3
    assert np.linalg.norm(res.T[:3, 3] - T_TRUE[:3, 3]) < 0.01
    assert not res.inliers[[2, 7, 9]].any() and res.inliers.sum() == 9
    # the reported uncertainty is of the size of the error it describes (4 mm noise, 9 points)
    assert 0.001 < res.sigma_translation < 0.02


@pytest.mark.parametrize(
    ("points", "reason"),
    [
        (np.array([[1.0, 0, 0], [2, 0, 0]]), "at least 3"),
        (np.column_stack([np.linspace(2, 5, 6), np.linspace(0, 1, 6), np.zeros(6)]), "collinear"),
    ],
)
def test_degenerate_placements_are_refused(points: np.ndarray, reason: str) -> None:
    with pytest.raises(CalibrationError, match=reason):
        check_geometry(points)
    with pytest.raises(CalibrationError, match=reason):
        solve_rigid(points, points + 0.1)


def test_radar_without_elevation_solves_yaw_and_position() -> None:
    # targets all at one height: roll, pitch and z are unobservable and come from the mounting
    rng = np.random.default_rng(3)
    T = from_euler((0.0, 0.0, 3.0), (0.1, -0.05, 0.0), degrees=True)
    radar = spread_positions(8, 3)
    radar[:, 2] = 0.0
    lidar = apply(invert(T), radar)
    rho_xy = np.linalg.norm(radar, axis=1)[:, None] * (
        radar[:, :2] / np.linalg.norm(radar[:, :2], axis=1)[:, None]
    )
    rho_xy += rng.normal(0, 0.003, rho_xy.shape)
    nominal = from_euler((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), degrees=True)
    res, solved = solve_rigid_no_elevation(lidar, rho_xy, nominal)
    assert solved == ["yaw", "x", "y"]
    assert rotation_error_deg(res.T, T) < 0.2
    assert np.linalg.norm(res.T[:2, 3] - T[:2, 3]) < 0.01
    # with height spread, all six parameters become observable
    radar3 = spread_positions(8, 4)
    lidar3 = apply(invert(T), radar3)
    rho3 = np.linalg.norm(radar3, axis=1)[:, None] * (
        radar3[:, :2] / np.linalg.norm(radar3[:, :2], axis=1)[:, None]
    )
    _, solved3 = solve_rigid_no_elevation(lidar3, rho3, nominal, min_height_spread=0.3)
    assert solved3 == ["roll", "pitch", "yaw", "x", "y", "z"]


def test_composed_uncertainty_grows_from_both_links() -> None:
    A = from_euler((1, 2, 3), (0.1, 0.2, 0.3), degrees=True)
    B = from_euler((-2, 0.5, 10), (1.0, -0.2, 0.0), degrees=True)
    ca = np.diag([1e-6] * 3 + [1e-4] * 3)
    cb = np.diag([4e-6] * 3 + [4e-4] * 3)
    T, c = compose(A, ca, B, cb)
    np.testing.assert_allclose(T, A @ B, atol=1e-12)
    # translation variance at least the sum of both links' (rotation of A adds lever-arm terms)
    assert np.trace(c[3:, 3:]) >= np.trace(ca[3:, 3:]) + np.trace(cb[3:, 3:]) - 1e-12
    assert np.trace(c[:3, :3]) == pytest.approx(
        np.trace(ca[:3, :3]) + np.trace(cb[:3, :3]), rel=0.01
    )


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cascade radar and a Livox-like LiDAR mounted with a known small rotation and offset."""
    text = (CONFIGS / "rigs" / "rtpose.yaml").read_text()
    text = text.replace("../radars/", f"{CONFIGS / 'radars'}/")
    text = text.replace(
        "pose: {translation: [0.0, 0.0, 0.15], rpy_deg: [0.0, 0.0, 0.0]}",
        f"pose: {{matrix: {np.round(T_TRUE, 12).tolist()}}}",  # pose = T_radar_lidar
    )
    d = tmp_path_factory.mktemp("cal")
    (d / "rig.yaml").write_text(text)
    rig = load_rig(d / "rig.yaml")
    out = d / "session.h5"
    simulate_reflector_session(rig, spread_positions(7, 7), out, seconds_each=0.2, gap=1.0, seed=7)
    return out


def test_reflector_session_recovers_radar_lidar(session: Path) -> None:
    placements, stats = placements_from_recording(session, "radar", "lidar")
    assert len(placements) >= 6 and stats.radar_frames > 0
    # a placement whose radar detection locked onto something else is rejected, not averaged in
    placements[1].radar = placements[1].radar + np.array([0.3, -0.2, 0.1])
    res = calibrate_reflectors(placements)
    assert not res.inliers[1]
    assert rotation_error_deg(res.T, T_TRUE) < 0.5
    assert np.linalg.norm(res.T[:3, 3] - T_TRUE[:3, 3]) < 0.02


def test_too_few_placements_are_refused(session: Path) -> None:
    placements, _ = placements_from_recording(session, "radar", "lidar")
    with pytest.raises(CalibrationError, match="at least 3"):
        calibrate_reflectors(placements[:2])


def _walk(t: np.ndarray) -> np.ndarray:
    """A person walking back and forth with a wandering path: (N, 3) m."""
    return np.column_stack(
        [
            3.5 + 1.5 * np.sin(0.5 * t),
            0.8 * np.sin(0.31 * t + 1),
            0.05 * np.sin(2 * np.pi * 0.9 * t),
        ]
    )


def test_clock_offset_from_motion_within_5_ms() -> None:
    rng = np.random.default_rng(0)
    t_ref = np.arange(0, 30, 0.1)  # radar, 10 Hz
    t_lidar = np.arange(0.023, 30, 0.1)  # LiDAR, 10 Hz, not in phase
    offset = 0.037  # the LiDAR's stamps are 37 ms late
    x_ref = _walk(t_ref) + rng.normal(0, 0.02, (len(t_ref), 3))
    x_lidar = _walk(t_lidar) + [0.03, -0.02, 0.01] + rng.normal(0, 0.01, (len(t_lidar), 3))
    r = estimate_offset(t_ref, x_ref, t_lidar + offset, x_lidar)
    assert r.offset == pytest.approx(offset, abs=0.005)
    # a clock running 200 ppm fast is seen as drift
    t_long = np.arange(0, 60, 0.1)
    off0, slope, _ = estimate_drift(
        t_long,
        _walk(t_long),
        np.arange(0.023, 60, 0.1) * (1 + 2e-4) + offset,
        _walk(np.arange(0.023, 60, 0.1)),
    )
    assert slope == pytest.approx(2e-4, abs=5e-5) and off0 == pytest.approx(offset, abs=0.005)


def test_clock_offset_sigma_matches_the_spread_over_recordings() -> None:
    # 10 ten-second walks with 4 cm of smooth track error (AR(1), ρ = 0.7, as body-part biases
    # are): the reported 1-sigma must match the spread of the estimates (measured 18.8 vs 18.5 ms
    # over 16 walks; white errors: 10.0 vs 8.4 ms). 10 walks know the spread to ~25 %.
    rng = np.random.default_rng(1)
    rho = 0.7
    errs, sigmas = [], []
    for _ in range(10):
        t = np.arange(0, 10, 0.1)
        e = rng.normal(0, 0.04, (len(t), 3))
        for k in range(1, len(t)):
            e[k] = rho * e[k - 1] + np.sqrt(1 - rho**2) * e[k]
        r = estimate_offset(t, _walk(t) + e, t + 0.02, _walk(t) + rng.normal(0, 0.005, e.shape))
        errs.append(r.offset - 0.02)
        sigmas.append(r.sigma)
    spread = float(np.sqrt(np.mean(np.square(errs))))
    assert np.median(sigmas) == pytest.approx(spread, rel=0.5)


def test_clock_offset_refusals() -> None:
    t = np.arange(0, 10, 0.1)
    with pytest.raises(CalibrationError, match="overlap"):
        estimate_offset(t, _walk(t), t + 20, _walk(t))
    still = np.tile([3.0, 0.0, 0.0], (len(t), 1))
    with pytest.raises(CalibrationError, match="without motion"):
        estimate_offset(t, still, t, still)


@pytest.fixture(scope="module")
def board_session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    rig = load_rig("rtpose")
    boards = board_poses(8, 3, near=1.3, far=2.2)
    out = tmp_path_factory.mktemp("board") / "board.h5"
    simulate_board_session(
        rig, boards, out, seconds_each=0.2, gap=1.0, sensors=["lidar", "cam-left"]
    )
    return out, boards


def test_lidar_camera_from_board_session(board_session: tuple[Path, list]) -> None:
    path, boards = board_session
    rig = load_rig("rtpose")
    T_true = invert(rig.T_ref("cam-left")) @ rig.T_ref("lidar")
    guess = T_true @ from_euler((2.0, -2.0, 3.0), (0.05, 0.05, -0.05), degrees=True)
    spec = BoardSpec(boards[0].rows, boards[0].cols, boards[0].square, boards[0].margin)
    obs, stats = observations_from_recording(path, "lidar", "cam-left", spec, guess)
    assert stats["used"] == len(obs) >= 14 and stats["camera_frames"] == 16
    assert max(o.reprojection_px for o in obs) < 0.5
    res = calibrate_lidar_camera(obs, spec)
    assert rotation_error_deg(res.T, T_true) < 0.3
    assert np.linalg.norm(res.T[:3, 3] - T_true[:3, 3]) < 0.01
    # every board return lies on the plane the camera saw, to the LiDAR's 2 cm range noise
    assert res.residuals.max() < 0.025
    # boards held the same way every time leave the translation along their normal unfixed
    same = [BoardObservation(obs[0].T_cam_board, o.lidar_points) for o in obs]
    with pytest.raises(CalibrationError, match="parallel"):
        calibrate_lidar_camera(same, spec)
    with pytest.raises(CalibrationError, match="at least 3"):
        calibrate_lidar_camera(obs[:2], spec)


def test_intrinsics_from_board_images_and_yaml_round_trip(
    board_session: tuple[Path, list], tmp_path: Path
) -> None:
    path, boards = board_session
    cam_true = load_rig("rtpose").config.sensors["cam-left"].camera
    with RecordingReader(path) as r:
        images = [f.data["image"] for f in r.frames("cam-left")]
    spec = BoardSpec(boards[0].rows, boards[0].cols, boards[0].square, boards[0].margin)
    cam, rms, n = calibrate_intrinsics(images, spec, distortion=False)
    assert n == 16 and rms < 0.5
    assert cam.fx == pytest.approx(cam_true.fx, rel=0.01)
    assert cam.fy == pytest.approx(cam_true.fy, rel=0.01)
    assert abs(cam.cx - cam_true.cx) < 3 and abs(cam.cy - cam_true.cy) < 3
    # the command estimates distortion too (k3 fixed) and writes ROS camera_info
    from fusion.cli import main

    board = f"{spec.rows}x{spec.cols}x{spec.square}+{spec.margin}"
    args = ["calibrate", str(path), "--method", "intrinsics", "--board", board]
    assert main([*args, "-o", str(tmp_path / "cam-left.yaml")]) == 0
    est = load_camera_yaml(tmp_path / "cam-left.yaml")
    assert est.fx == pytest.approx(cam_true.fx, rel=0.02) and abs(est.cx - cam_true.cx) < 8
    assert max(abs(d) for d in est.distortion) < 0.05  # the simulated lens has none
    # ROS camera_info YAML round trip, and OpenCV's FileStorage form of the same camera
    p = tmp_path / "cam.yaml"
    p.write_text(camera_info_yaml(cam_true))
    assert load_camera_yaml(p) == cam_true
    (tmp_path / "cv.yaml").write_text(
        "%YAML:1.0\n---\nimage_width: 640\nimage_height: 480\n"
        "camera_matrix: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: d\n"
        "   data: [ 500., 0., 319.5, 0., 500., 239.5, 0., 0., 1. ]\n"
        "distortion_coefficients: !!opencv-matrix\n   rows: 1\n   cols: 5\n   dt: d\n"
        "   data: [ -0.1, 0.01, 0., 0., 0. ]\n"
    )
    cv = load_camera_yaml(tmp_path / "cv.yaml")
    assert (cv.cx, cv.cy, cv.distortion[:2]) == (320.0, 240.0, (-0.1, 0.01))
    (tmp_path / "bad.yaml").write_text(
        "image_width: 640\ncamera_matrix: {rows: 2, cols: 2, data: [1, 0, 0, 1]}\n"
    )
    with pytest.raises(CalibrationError, match=r"camera_matrix is \(2, 2\)"):
        load_camera_yaml(tmp_path / "bad.yaml")


def test_calibrate_command_writes_yaml_and_report(session: Path, tmp_path: Path) -> None:
    from drivers.calibfile import load_calibration
    from fusion.cli import main

    out, rep = tmp_path / "calib.yaml", tmp_path / "report"
    assert main(["calibrate", str(session), "-o", str(out), "--report", str(rep)]) == 0
    cal = load_calibration(out)
    T = cal.transforms["T_radar_lidar"]
    assert rotation_error_deg(T, T_TRUE) < 0.5 and np.linalg.norm(T[:3, 3] - T_TRUE[:3, 3]) < 0.02
    r = cal.residuals["T_radar_lidar"]
    assert len(r["per_target_mm"]) == len(r["inliers"]) >= 6 and r["rms_mm"] < 20
    assert r["error_vs_simulation_truth"]["translation_mm"] < 20
    assert cal.method.startswith("reflectors")
    png = (rep / "residuals.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "placements" in (rep / "summary.txt").read_text()
