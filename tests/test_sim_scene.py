"""Simulator scenes: LiDAR on surfaces, rendered bodies, walking micro-Doppler, the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from drivers import RecordingReader, load_rig, unpack_frame
from drivers.sim import SimConfig, Simulation
from drivers.sim.body import body_mesh
from drivers.sim.humans import Body, Person
from drivers.transforms import apply


def test_lidar_points_lie_on_surfaces() -> None:
    import open3d as o3d

    sim = Simulation("rtpose", SimConfig(people=2, seconds=1.0, seed=3, motions=["walk", "box"]))
    t = 0.5
    cfg = sim.rig.config.sensors["lidar"].lidar
    assert cfg is not None
    pts = sim.lidar_frame("lidar", t)
    assert len(pts) > 0.9 * cfg.points_per_frame * (1 - cfg.dropout) * 0.5
    world = apply(sim.T_ref["lidar"], pts[:, :3].astype(np.float64))
    scene = o3d.t.geometry.RaycastingScene()
    for mesh, _ in sim.room.meshes():
        scene.add_triangles(o3d.t.geometry.TriangleMesh.from_legacy(mesh))
    for j in sim.joints(t):
        scene.add_triangles(o3d.t.geometry.TriangleMesh.from_legacy(body_mesh(j)))
    d = scene.compute_distance(o3d.core.Tensor(world.astype(np.float32))).numpy()
    # range noise is along the ray; distance to the surface is at most that
    assert np.quantile(d, 0.99) < 4 * cfg.range_noise + 0.01
    # some returns come from the people
    people = np.concatenate([sim.joints(t)[:, :, :2].reshape(-1, 2)])
    near = np.min(np.linalg.norm(world[:, None, :2] - people[None], axis=-1), axis=1) < 0.3
    assert near.sum() > 50


def test_rendered_body_covers_projected_joints() -> None:
    sim = Simulation("hupr", SimConfig(people=1, seconds=1.0, seed=2, motions=["stand"]))
    img, uv, vis = sim.camera_frame("camera", 0.3)
    empty = Simulation("hupr", SimConfig(people=1, seconds=1.0, seed=2, empty=True))
    bg, _, _ = empty.camera_frame("camera", 0.3)
    torso = [0, 7, 1, 4]  # pelvis, thorax, hips: inside the body silhouette
    assert vis[0, torso].all()
    for j in torso:
        u, v = np.floor(uv[0, j]).astype(int)
        assert np.abs(img[v, u].astype(int) - bg[v, u].astype(int)).sum() > 30, (
            f"joint {j} not covered"
        )
    changed = np.abs(img.astype(int) - bg.astype(int)).sum(-1) > 30
    x0, y0 = uv[0, :, 0].min(), uv[0, :, 1].min()
    x1, y1 = uv[0, :, 0].max(), uv[0, :, 1].max()
    ys, xs = np.nonzero(changed)
    # the silhouette sits around the projected skeleton
    assert xs.min() > x0 - 25 and xs.max() < x1 + 25 and ys.min() > y0 - 30 and ys.max() < y1 + 30


def test_walking_micro_doppler_shows_torso_and_gait() -> None:
    rig = load_rig("hupr")
    sim = Simulation(rig, SimConfig(people=1, seconds=8.0, seed=4, clutter=False, motions=["walk"]))
    # walk straight away from the radar and back, at a steady speed
    body = Body.sample(np.random.default_rng(0))
    p = Person(body, "walk", 0.0, 1.0, np.array([[1.5, 0.0], [9.0, 0.0]]), 0.0)
    sim.people = [p]
    radar = rig.radars["radar-h"]
    times = np.arange(1.5, 7.5, radar.frame_period)
    spread, centroid, torso_v = [], [], []
    vel_axis = (np.arange(radar.n_loops) - radar.n_loops // 2) * radar.velocity_resolution
    for t in times:
        f = sim.radar_frame("radar-h", float(t))
        rd = np.fft.fft(f - f.mean(axis=0), axis=-1)
        R = np.linalg.norm(sim.joints(float(t))[0, 0])
        b = int(round(R / radar.range_resolution))
        spec = (
            np.abs(np.fft.fftshift(np.fft.fft(rd[..., b - 6 : b + 7], axis=0), axes=0)) ** 2
        ).sum(axis=(1, 2, 3))
        w = spec / spec.sum()
        c = (w * vel_axis).sum()
        centroid.append(c)
        spread.append(np.sqrt((w * (vel_axis - c) ** 2).sum()))
        j0, j1 = sim.joints(float(t)), sim.joints(float(t) + 0.01)
        torso_v.append((np.linalg.norm(j1[0, 0]) - np.linalg.norm(j0[0, 0])) / 0.01)
    # torso line: the spectrum's centroid follows the torso's radial speed
    assert np.median(np.abs(np.array(centroid) - np.array(torso_v))) < 3 * radar.velocity_resolution
    # limbs: the Doppler spread oscillates at twice the stride frequency (one swing per leg)
    s = np.array(spread) - np.mean(spread)
    freqs = np.fft.rfftfreq(len(s), radar.frame_period)
    peak = freqs[np.argmax(np.abs(np.fft.rfft(s))[1:]) + 1]
    stride = 0.55 + 0.3 * 1.0
    assert peak == pytest.approx(2 * stride, abs=0.25)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fusion.cli", "-q", "simulate", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_cli_hupr_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "hupr.h5"
    r = _cli("--rig", "hupr", "--people", "1", "--seconds", "1", str(out))
    assert r.returncode == 0, r.stderr
    rig = load_rig("hupr")
    with RecordingReader(out) as rec:
        s = rec.streams
        assert {k: v.frames for k, v in s.items()} == {
            "radar-h": 10,
            "radar-v": 10,
            "camera": 10,
            "groundtruth": 10,
        }
        words = rec.read("radar-h", "adc", 0)
        frame = unpack_frame(words, rig.radars["radar-h"])
        assert frame.shape == (64, 3, 4, 256)
        j = rec.read("groundtruth", "joints", 3)
        assert j.shape == (1, 15, 3) and np.isfinite(j).all()
        st = rec.stamps("radar-h")
        assert np.allclose(np.diff(st), 100_000_000, atol=1)
        assert rec.calibration_yaml and rec.rig_yaml
    r = _cli("--rig", "hupr", "--people", "5", str(tmp_path / "x.h5"))
    assert r.returncode == 2 and "1 to 3 people" in r.stderr


def test_cli_rtpose_short(tmp_path: Path) -> None:
    out = tmp_path / "rt.h5"
    r = _cli(
        "--rig",
        "rtpose",
        "--people",
        "2",
        "--seconds",
        "0.25",
        "--motion",
        "walk",
        "--motion",
        "squat",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    with RecordingReader(out) as rec:
        assert set(rec.streams) == {"radar", "lidar", "cam-left", "cam-right", "groundtruth"}
        assert rec.read("radar", "adc", 0).shape == (4, 1_572_864)
        assert rec.read("groundtruth", "joints", 0).shape == (2, 15, 3)
