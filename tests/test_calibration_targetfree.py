"""calibration.targetfree: person-based, ICP and temporal radar-LiDAR calibration without targets.

The solvers are checked on synthetic tracks and clouds with a known answer; the track extraction
and the whole chain on a short simulated recording (rtpose rig with a 16-loop radar to keep the
simulation short, the LiDAR rotated and shifted, its clock 40 ms late). Where the chain misses the
issue's accuracy on that recording, the miss is an xfail naming the measured numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rtpose_test_rig import CAMERA_OFFSET, LIDAR_OFFSET, T_TRUE, write_rig

from calibration import CalibrationError
from calibration.person import (
    ImageTrack,
    Track,
    camera_person_track,
    lidar_person_track,
    radar_person_track,
    radar_static_cloud,
)
from calibration.rigid import rotation_error_deg
from calibration.targetfree import (
    calibrate_icp,
    calibrate_person,
    estimate_camera_offset,
    estimate_lidar_offset,
)
from drivers import Calibration, RecordingReader, load_rig
from drivers.sim import SimConfig, Simulation
from drivers.sim.simulate import simulate_to_recording
from drivers.transforms import apply, from_euler, invert

PERTURB = from_euler((0.0, 0.0, 3.0), (0.08, -0.06, 0.0), degrees=True)  # yaw 3°, 10 cm


def _yaw_deg(T: np.ndarray) -> float:
    return float(np.degrees(np.arctan2(T[1, 0], T[0, 0])))


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("tf")
    rig = write_rig(d, cameras=2)  # both cameras 150 ms late
    sim = Simulation(
        rig,
        SimConfig(seconds=8.0, seed=1, motions=["walk"], scatterers_per_person=100),
    )
    path = d / "walk.h5"
    simulate_to_recording(
        sim, path, progress=False, sensors=["radar", "lidar", "cam-left", "groundtruth"]
    )
    lt, background = lidar_person_track(path, "lidar")
    rt = radar_person_track(path, "radar")
    ct = camera_person_track(path, "cam-left")
    with RecordingReader(path) as rec:
        gt = np.array([f.data["joints"][0] for f in rec.frames("groundtruth")])
        gt_ns = rec.stamps("groundtruth")
        cam = rec.camera_config("cam-left")
    T_cam_radar = invert(rig.T_ref("cam-left"))
    return {
        "path": path,
        "lidar": lt,
        "background": background,
        "radar": rt,
        "camera": (ct, T_cam_radar, cam),
        "gt": (gt_ns, gt),
    }


def _torso_at(walk: dict, stamps_ns: np.ndarray, offset: float) -> np.ndarray:
    gt_ns, gt = walk["gt"]
    t = (stamps_ns - gt_ns[0]) / 1e9 - offset
    torso = gt[:, [0, 7]].mean(axis=1)
    tg = (gt_ns - gt_ns[0]) / 1e9
    return np.column_stack([np.interp(t, tg, torso[:, k]) for k in range(3)])


def test_person_tracks_follow_the_walking_person(walk: dict) -> None:
    lt, rt = walk["lidar"], walk["radar"]
    assert lt.frames == 80 and sum(lt.dropped.values()) <= 4
    assert rt.frames == 80 and len(rt.stamps_ns) >= 60
    # LiDAR: the cluster of the surface facing the rig, ~9 cm in front of the torso axis
    e = apply(T_TRUE, lt.centroids) - _torso_at(walk, lt.stamps_ns, LIDAR_OFFSET)
    assert np.median(np.linalg.norm(e[:, :2], axis=1)) < 0.15
    # radar: range of the strongest moving reflector and the moving cluster's direction
    e = rt.centroids - _torso_at(walk, rt.stamps_ns, 0.0)
    assert np.median(np.linalg.norm(e[:, :2], axis=1)) < 0.2
    assert np.median(np.abs(rt.ranges - np.linalg.norm(rt.centroids, axis=1))) < 1e-6


def _synthetic_tracks(bias: float, noise: float, seed: int = 0) -> tuple[Track, Track, np.ndarray]:
    """A person walking 2-5 m out across ±30° for 20 s at 10 Hz: radar and LiDAR tracks, truth."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, 20, 0.1)
    r = 3.5 + 1.5 * np.sin(0.4 * t)
    az = np.radians(30) * np.sin(0.27 * t + 0.5)
    p = np.column_stack([r * np.cos(az), r * np.sin(az), np.full(len(t), 0.1)])
    u = p[:, :2] / np.linalg.norm(p[:, :2], axis=1, keepdims=True)
    radar = p.copy()
    radar[:, :2] += bias * u + rng.normal(0, noise, (len(t), 2))
    radar[:, 2] += rng.normal(0, 0.3, len(t))  # elevation is poor
    radar[::17, :2] += 0.8  # wrong clusters
    lidar = apply(invert(T_TRUE), p + rng.normal(0, 0.01, p.shape))
    ns = (t * 1e9).astype(np.int64)
    n = np.full(len(t), 50)
    return Track(ns, radar, n, len(t)), Track(ns, lidar, n, len(t)), p


def test_person_solver_recovers_yaw_position_and_radial_bias() -> None:
    radar, lidar, _ = _synthetic_tracks(bias=0.08, noise=0.05)
    res = calibrate_person(radar, lidar, PERTURB @ T_TRUE, radial_bias=True)
    assert abs(_yaw_deg(invert(T_TRUE) @ res.T)) < 0.3
    assert np.linalg.norm(res.T[:2, 3] - T_TRUE[:2, 3]) < 0.02
    # across ±30° a radial offset differs from an x shift by at most 13 %: known to ~2 cm
    assert res.radial_bias == pytest.approx(0.08, abs=0.025)
    assert res.dropped["RANSAC outliers"] >= 10  # the wrong clusters
    # roll, pitch and height are not touched: they come from the starting calibration
    np.testing.assert_allclose(res.T[2, :3], (PERTURB @ T_TRUE)[2, :3], atol=1e-9)


def test_person_solver_refusals() -> None:
    radar, lidar, _ = _synthetic_tracks(bias=0.0, noise=0.02)
    still = Track(
        lidar.stamps_ns, np.tile(lidar.centroids[0], (len(lidar.stamps_ns), 1)), lidar.points
    )
    with pytest.raises(CalibrationError, match="moved only 0.00 m"):
        calibrate_person(radar, still, T_TRUE)
    with pytest.raises(CalibrationError, match="do not overlap in time"):
        calibrate_person(radar, lidar, T_TRUE, lidar_offset=100.0)
    # an arc at one distance: a yaw looks like a sideways shift, so the yaw stays uncertain
    t = np.arange(0, 3, 0.1)
    az = np.radians(np.linspace(-25, 25, len(t)))
    p = np.column_stack([3.5 * np.cos(az), 3.5 * np.sin(az), np.full(len(t), 0.1)])
    ns, n = (t * 1e9).astype(np.int64), np.full(len(t), 50)
    noisy = p + np.column_stack([np.random.default_rng(0).normal(0, 0.12, (len(t), 2)), 0 * t])
    with pytest.raises(CalibrationError, match=r"yaw uncertain by 1\.\d deg"):
        calibrate_person(Track(ns, noisy, n), Track(ns, apply(invert(T_TRUE), p), n), T_TRUE)
    empty = Track(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros(0, np.int64), 40)
    with pytest.raises(CalibrationError, match="found in 0 radar"):
        calibrate_person(empty, lidar, T_TRUE)


def test_person_refinement_on_recording(walk: dict) -> None:
    # this 8 s walk spans 2.3 m of range and 28° of azimuth; measured: yaw 0.19°, x +5.4 cm,
    # y -4.0 cm from a 3° / 10 cm start (12 s walk, another seed: 0.13°, 9 cm; 5 s: 0.04°-2.1°)
    start = PERTURB @ T_TRUE
    res = calibrate_person(walk["radar"], walk["lidar"], start, lidar_offset=LIDAR_OFFSET)
    assert abs(_yaw_deg(invert(T_TRUE) @ res.T)) < 0.5
    assert np.linalg.norm(res.T[:2, 3] - T_TRUE[:2, 3]) < 0.08
    assert res.sigma_yaw_deg < 1.0 and res.pairs >= 60
    # the first 2.5 s are a nearly straight stretch: refused, no rotation about it is observable
    cut = walk["radar"].stamps_ns[0] + int(2.5e9)
    short = [
        Track(t.stamps_ns[k], t.centroids[k], t.points[k], t.frames)
        for t in (walk["radar"], walk["lidar"])
        for k in [t.stamps_ns < cut]
    ]
    with pytest.raises(CalibrationError, match="person positions .* are collinear"):
        calibrate_person(*short, start, lidar_offset=LIDAR_OFFSET)


@pytest.mark.xfail(
    strict=True,
    reason="measured 6.7 cm horizontal error on this walk: the radar's per-frame direction "
    "(median of 2-8 CFAR points of the moving cluster) is off by 5-9 cm (median) across range, "
    "varying with the walking direction as arms and legs swing",
)
def test_person_refinement_on_recording_within_2_cm(walk: dict) -> None:
    res = calibrate_person(
        walk["radar"], walk["lidar"], PERTURB @ T_TRUE, lidar_offset=LIDAR_OFFSET
    )
    assert np.linalg.norm(res.T[:2, 3] - T_TRUE[:2, 3]) < 0.02


def _room_cloud(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(n, 3)`` points on a 7 × 7 × 2.8 m room's floor, walls and two boxes (radar frame)."""
    faces = [
        lambda k: np.column_stack(
            [rng.uniform(1, 7, k), rng.uniform(-3.5, 3.5, k), np.full(k, -1.0)]
        ),
        lambda k: np.column_stack(
            [np.full(k, 7.0), rng.uniform(-3.5, 3.5, k), rng.uniform(-1, 1.8, k)]
        ),
        lambda k: np.column_stack([rng.uniform(1, 7, k), np.full(k, 3.5), rng.uniform(-1, 1.8, k)]),
        lambda k: np.column_stack(
            [rng.uniform(1, 7, k), np.full(k, -3.5), rng.uniform(-1, 1.8, k)]
        ),
        lambda k: np.column_stack(
            [np.full(k, 5.2), rng.uniform(-2.6, -1.4, k), rng.uniform(-1, -0.25, k)]
        ),
        lambda k: np.column_stack(
            [rng.uniform(5.2, 6.0, k), np.full(k, -1.4), rng.uniform(-1, -0.25, k)]
        ),
    ]
    return np.concatenate([f(n // len(faces)) for f in faces])


def test_icp_recovers_a_perturbed_calibration_from_room_scatterers() -> None:
    rng = np.random.default_rng(2)
    lidar = apply(invert(T_TRUE), _room_cloud(rng, 60_000)) + rng.normal(0, 0.01, (60_000, 3))
    radar = _room_cloud(rng, 60) + rng.normal(0, 0.02, (60, 3))
    start = PERTURB @ from_euler((1.5, -1.0, 0.0), (0.0, 0.0, 0.03), degrees=True) @ T_TRUE
    res = calibrate_icp(radar, lidar, start)
    assert rotation_error_deg(res.T, T_TRUE) < 0.5
    assert np.linalg.norm(res.T[:3, 3] - T_TRUE[:3, 3]) < 0.03
    # correspondences are nearest LiDAR points: 2 cm per axis of radar noise is ~3.5 cm apart
    assert res.fitness > 0.9 and res.inlier_rmse < 0.05
    with pytest.raises(CalibrationError, match="at least 6"):
        calibrate_icp(radar[:4], lidar, start)


def test_icp_refuses_a_room_whose_radar_returns_all_face_the_rig() -> None:
    # the back wall and the furniture fronts only: they fix x, yaw and pitch, not y, z, roll
    rng = np.random.default_rng(3)
    lidar = apply(invert(T_TRUE), _room_cloud(rng, 60_000)) + rng.normal(0, 0.01, (60_000, 3))
    radar = _room_cloud(rng, 600)
    radar = radar[np.isclose(radar[:, 0], 7.0) | np.isclose(radar[:, 0], 5.2)]  # x-facing faces
    radar = radar[rng.choice(len(radar), 40, replace=False)] + rng.normal(0, 0.02, (40, 3))
    with pytest.raises(CalibrationError, match="ICP cannot fix all six") as e:
        calibrate_icp(radar, lidar, PERTURB @ T_TRUE)
    # from the 3°/10 cm start 7 of the 40 pair with edge-adjacent faces and lend y and z some
    # support; roll stays unfixed (from the true start: roll, y and z are named)
    assert "rotation about x (roll)" in str(e.value)
    with pytest.raises(CalibrationError, match="translation along y, translation along z"):
        calibrate_icp(radar, lidar, T_TRUE)


def test_icp_on_recording_is_refused_with_the_reason(walk: dict) -> None:
    # measured: 36 distinct static radar points (the simulated clutter is fixed, so more frames
    # add none), 7 of them within 5 cm of a LiDAR surface at the true calibration, on the back
    # wall and the furniture fronts; the others lie on the floor and side walls nearer than the
    # LiDAR's ±12.6° field reaches (x < 4 m). Those 7 leave y, z, roll and pitch to 0.44 m
    # 1-sigma, so ICP (which diverged from a 3°/10 cm start) is refused before it runs.
    pts, n = radar_static_cloud(walk["path"], "radar", every=5)
    assert n == 16
    with pytest.raises(CalibrationError, match=r"7 static radar points near LiDAR") as e:
        calibrate_icp(pts, walk["background"], PERTURB @ T_TRUE)
    assert "translation along y" in str(e.value)


def test_lidar_clock_offset_from_the_walk(walk: dict) -> None:
    r = estimate_lidar_offset(walk["radar"], walk["lidar"], T_TRUE)
    # measured -6.2 ms here (xy tracks), with a reported 1-sigma of 11.7 ms: the error bar is
    # about right (seeds 2 and 3, 10 s walks: +7.9 / -28.9 ms, 1-sigma 16.1 / 11.9 ms)
    assert r.offset == pytest.approx(LIDAR_OFFSET, abs=0.010)
    assert abs(r.offset - LIDAR_OFFSET) < 2 * r.sigma < 0.05


@pytest.mark.xfail(
    strict=True,
    reason="noise-limited, not a biased estimator: -6.2 ms here with a reported 1-sigma of "
    "11.7 ms; on 10 s walks (seeds 2, 3) +7.9 and -28.9 ms (1-sigma 16.1, 11.9 ms). The "
    "estimator is exact on noise-free tracks; the radar track's per-frame errors (2.5 deg of "
    "bearing, 3-5 cm of range, smooth over frames) against ~1 m/s of walking for 8-10 s at 10 Hz "
    "allow 10-20 ms; 5 ms needs ~10x the walk (sigma falls as 1/sqrt(duration))",
)
def test_lidar_clock_offset_within_5_ms(walk: dict) -> None:
    r = estimate_lidar_offset(walk["radar"], walk["lidar"], T_TRUE)
    assert r.offset == pytest.approx(LIDAR_OFFSET, abs=0.005)


def test_camera_clock_offset_from_the_walk(walk: dict) -> None:
    ct, T_cam_radar, cam = walk["camera"]
    assert ct.frames == 80 and len(ct.u) >= 76
    r = estimate_camera_offset(walk["radar"], ct, T_cam_radar, cam)
    # measured -28.9 ms, 1-sigma 47 ms: the 150 ms lag is found to within half a frame period
    # (10 fps), which pairs every image with the right radar frame; the error bar covers it
    assert abs(r.offset - CAMERA_OFFSET) < 0.05
    assert abs(r.offset - CAMERA_OFFSET) < 2 * r.sigma


def test_camera_clock_offset_refusals() -> None:
    radar, _, _ = _synthetic_tracks(bias=0.0, noise=0.02)
    cam = load_rig("rtpose").config.sensors["cam-left"].camera
    T_cam_radar = invert(load_rig("rtpose").T_ref("cam-left"))
    none = ImageTrack(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64), 80)
    with pytest.raises(CalibrationError, match="found in 200 reference and 0 camera frames"):
        estimate_camera_offset(radar, none, T_cam_radar, cam)
    # a person seen 2 s after the radar track ends: no common time
    late = ImageTrack(
        radar.stamps_ns + int(22e9),
        np.full(len(radar.stamps_ns), 320.0),
        np.ones(len(radar.stamps_ns), np.int64),
    )
    with pytest.raises(CalibrationError, match="overlap"):
        estimate_camera_offset(radar, late, T_cam_radar, cam)


@pytest.mark.xfail(
    strict=True,
    reason="measured -28.9 ms (1-sigma 47 ms) here; -27, +109, -37 ms on seeds 1-3: the radar "
    "track's bearing (~2.5 deg, 22 px at f = 500 px, smooth over frames) against the person's "
    "slow bearing change limits a camera-radar alignment to tens of ms on 8-10 s walks",
)
def test_camera_clock_offset_within_5_ms(walk: dict) -> None:
    ct, T_cam_radar, cam = walk["camera"]
    r = estimate_camera_offset(walk["radar"], ct, T_cam_radar, cam)
    assert abs(r.offset - CAMERA_OFFSET) < 0.005


def test_calibrate_command_person(walk: dict, tmp_path: Path) -> None:
    from drivers.calibfile import load_calibration
    from fusion.cli import main

    base = tmp_path / "base.yaml"
    Calibration({"T_radar_lidar": PERTURB @ T_TRUE}, {"radar": 0.0, "lidar": LIDAR_OFFSET}).save(
        base
    )
    out, rep = tmp_path / "calib.yaml", tmp_path / "report"
    args = ["calibrate", str(walk["path"]), "--method", "person", "--base", str(base)]
    assert main([*args, "-o", str(out), "--report", str(rep)]) == 0
    cal = load_calibration(out)
    assert abs(_yaw_deg(invert(T_TRUE) @ cal.transforms["T_radar_lidar"])) < 0.5
    r = cal.residuals["T_radar_lidar"]
    assert r["method"] == "person" and r["solved"] == ["yaw", "x", "y"]
    assert len(r["per_pair_mm"]) == len(r["inliers"]) >= 60
    assert r["error_vs_simulation_truth"]["translation_mm"] < 80
    assert (rep / "residuals.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_calibrate_command_temporal_writes_lidar_and_camera_offsets(
    walk: dict, tmp_path: Path
) -> None:
    from drivers.calibfile import load_calibration
    from fusion.cli import main

    _, T_cam_radar, _ = walk["camera"]
    base = tmp_path / "base.yaml"
    zero = {"radar": 0.0, "lidar": 0.0, "cam-left": 0.0}
    Calibration({"T_radar_lidar": T_TRUE, "T_cam-left_radar": T_cam_radar}, zero).save(base)
    out = tmp_path / "calib.yaml"
    args = ["calibrate", str(walk["path"]), "--method", "temporal", "--base", str(base)]
    assert main([*args, "-o", str(out)]) == 0
    cal = load_calibration(out)
    assert cal.clock_offsets["lidar"] == pytest.approx(LIDAR_OFFSET, abs=0.010)
    assert cal.clock_offsets["cam-left"] == pytest.approx(CAMERA_OFFSET, abs=0.05)
    r = cal.residuals["clock_offset_cam-left"]
    assert r["offset_s"] == pytest.approx(cal.clock_offsets["cam-left"], abs=1e-6)
    assert r["sigma_ms"] > 0 and r["samples"] >= 50  # radar frames 0.5 s from either end
    err = (cal.clock_offsets["cam-left"] - CAMERA_OFFSET) * 1000
    assert r["error_vs_simulation_truth_ms"] == pytest.approx(err, abs=0.01)
