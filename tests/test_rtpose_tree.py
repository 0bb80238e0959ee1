"""A miniature RT-Pose tree written here in RT-Pose's formats (JSON, calib, PCD, TDA2 capture), read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from drivers import DriversError, RtposeTree, load_radar_config, pack_frame, read_pcd
from drivers.adcfile import write_mmwcas_capture
from drivers.rig import find_config
from drivers.rtpose_tree import SKIPPED

RADAR = load_radar_config(find_config("rtpose_mmwcas", "radars"))
META = {"0": "2023_0801_1000", "7": "2023_0801_1010", "44": "2023_0801_1100", "9": SKIPPED[0]}


def rot_z(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def pcd_header(fields: str, size: str, typ: str, count: str, n: int, data: str) -> bytes:
    return (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
        f"FIELDS {fields}\nSIZE {size}\nTYPE {typ}\nCOUNT {count}\n"
        f"WIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA {data}\n"
    ).encode()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("rtpose") / "RT-Pose"
    rng = np.random.default_rng(3)
    (root / "sequences").mkdir(parents=True)
    for s in META:
        (root / "sequences" / s).mkdir()
    (root / "file_meta.txt").write_text("".join(f"{k},{v}\n" for k, v in META.items()))
    # calib.json: LiDAR -> radar, LiDAR -> left camera, and a 3x4 projection K [I | t]
    T_rl = np.eye(4)
    T_rl[:3, :3], T_rl[:3, 3] = rot_z(90), [0.1, -0.2, 0.3]
    T_cl = np.eye(4)
    T_cl[:3, :3] = [[0, -1, 0], [0, 0, -1], [1, 0, 0]]
    T_cl[:3, 3] = [0.0, 0.3048, 0.0]
    K = np.array([[900.0, 0, 640], [0, 910, 360], [0, 0, 1]])
    t_baseline = np.array([-0.12, 0.0, 0.0])
    P = np.c_[K, K @ t_baseline]
    calib = {
        "radar": {"extrinsic": T_rl.reshape(-1).tolist()},
        "left_cam": {"extrinsic": T_cl.reshape(-1).tolist(), "intrinsic": P.reshape(-1).tolist()},
    }
    (root / "calib.json").write_text(json.dumps(calib))
    poses = rng.normal(0, 0.3, (5, 15, 3)) + [3.0, 0.0, 0.5]
    train = {
        "0": {"000010": [{"Radar_frameID": "000002", "pose": poses[0].tolist()}],
              "000011": [{"Radar_frameID": "000003", "pose": poses[1].tolist()}]},
        "9": {"000001": [{"Radar_frameID": "000002", "pose": poses[2].tolist()}]},
    }  # fmt: skip
    test = {"7": {"000004": [{"Radar_frameID": 5, "pose": poses[3].tolist()}]}}
    (root / "Train.json").write_text(json.dumps(train))
    (root / "Test.json").write_text(json.dumps(test))
    # radar: two frames of a TDA2 capture
    shape = (RADAR.n_loops, RADAR.n_tx, RADAR.n_rx, RADAR.n_samples)
    frames = [
        (rng.integers(-900, 900, shape) + 1j * rng.integers(-900, 900, shape)).astype(np.complex64)
        for _ in range(2)
    ]
    write_mmwcas_capture(
        root / "sequences/0/radar/bin", frames, RADAR, timestamps_ns=np.array([1000, 101000])
    )
    # LiDAR: a binary cloud with an extra padded field and an ascii one
    pts = rng.normal(0, 2, (6, 4)).astype(np.float32)
    rec = np.zeros(6, [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("intensity", "<f4"),
                       ("tag", "u1"), ("line", "u1")])  # fmt: skip
    for k, f in enumerate(("x", "y", "z", "intensity")):
        rec[f] = pts[:, k]
    lid = root / "sequences/0/lidar"
    lid.mkdir()
    (lid / "000010.pcd").write_bytes(
        pcd_header(
            "x y z intensity tag line", "4 4 4 4 1 1", "F F F F U U", "1 1 1 1 1 1", 6, "binary"
        )
        + rec.tobytes()
    )
    ascii_rows = "\n".join(" ".join(f"{v:.6f}" for v in p) for p in pts[:3]) + "\n"
    (lid / "000011.pcd").write_bytes(
        pcd_header("x y z intensity", "4 4 4 4", "F F F F", "1 1 1 1", 3, "ascii")
        + ascii_rows.encode()
    )
    # one generated training tensor (sparse file: only the marked voxel is written)
    f16 = root / "sequences/0/DZYX_npy_f16"
    f16.mkdir()
    a = np.lib.format.open_memmap(f16 / "000002.npy", "w+", np.float16, (32, 32, 128, 256))
    a[3, 20, 64, 100] = 7.5
    del a
    np.save(f16 / "000003.npy", np.zeros((32, 16, 64, 160), np.float16))  # wrong shape
    return {"root": root, "T_rl": T_rl, "T_cl": T_cl, "K": K, "t": t_baseline, "poses": poses,
            "frames": frames, "pts": pts}  # fmt: skip


def test_labels_meta_and_exclusions(tree: dict) -> None:
    t = RtposeTree(tree["root"].parent)  # finds the RT-Pose/ folder
    assert t.names["9"] == SKIPPED[0]
    assert t.sequences() == ["0", "7"]
    assert t.sequences(include_excluded=True) == ["0", "7", "9", "44"]
    assert set(t.excluded()) == {"9", "44"}
    assert t.splits() == ["train", "test"]
    labels = t.labels("train")
    assert list(labels) == ["0"]  # the skipped sequence 9 is left out, as RT-Pose's loader does
    assert [(lab.frame, lab.radar_index) for lab in labels["0"]] == [("000010", 2), ("000011", 3)]
    np.testing.assert_allclose(labels["0"][1].pose, tree["poses"][1], atol=1e-6)
    test = t.labels("test")["7"][0]
    assert test.radar_index == 5 and test.pose.shape == (15, 3)
    with pytest.raises(DriversError, match=r"2023_0718_1642.*allow_excluded=True"):
        t.capture("9")
    with pytest.raises(DriversError, match="damaged"):
        t.lidar("44", 0)
    assert "9" in RtposeTree(tree["root"], allow_excluded=True).labels("train")
    with pytest.raises(DriversError, match=r"Val.json: not found \(splits present: train, test\)"):
        t.labels("val")


def test_calibration_and_camera(tree: dict) -> None:
    t = RtposeTree(tree["root"])
    cal = t.calibration()
    np.testing.assert_allclose(cal.get("radar", "lidar"), tree["T_rl"], atol=1e-12)
    # the projection's fourth column is folded into the camera extrinsic: K [R | t' ] X == P T X
    p_lidar = np.array([4.0, 0.5, 0.2, 1.0])
    P = np.c_[tree["K"], tree["K"] @ tree["t"]]
    uvw = P @ tree["T_cl"] @ p_lidar
    cam = t.camera(1280, 720)
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == (900.0, 910.0, 640.0, 360.0)
    uvw2 = cam.K @ (cal.get("cam-left", "lidar") @ p_lidar)[:3]
    np.testing.assert_allclose(uvw2[:2] / uvw2[2], uvw[:2] / uvw[2], atol=1e-9)
    # radar -> camera goes through the LiDAR
    p_radar = tree["T_rl"] @ p_lidar
    np.testing.assert_allclose(
        cal.get("cam-left", "radar") @ p_radar, cal.get("cam-left", "lidar") @ p_lidar
    )


def test_radar_frames_tensors_and_lidar(tree: dict) -> None:
    t = RtposeTree(tree["root"], start_ns=10)
    frames = list(t.radar_frames("0"))
    assert [(f.counter, f.stamp_ns) for f in frames] == [(0, 1010), (1, 101010)]
    assert frames[0].data["adc"].shape == (
        4,
        1_572_864,
    )  # a chip frame: 1,572,864 words, 3,145,728 B
    np.testing.assert_array_equal(frames[1].data["adc"], pack_frame(tree["frames"][1], RADAR))
    assert t.tensor_frames("0") == [2, 3]
    a = t.tensor("0", "000002")
    assert a.dtype == np.float16 and a[3, 20, 64, 100] == 7.5 and float(a.sum()) == 7.5
    with pytest.raises(
        DriversError,
        match=r"expected float16 \(32, 32, 128, 256\), got float16 \(32, 16, 64, 160\)",
    ):
        t.tensor("0", 3)
    with pytest.raises(DriversError, match="preprocess --to rtpose"):
        t.tensor("0", 2, "complex")
    np.testing.assert_array_equal(t.lidar("0", 10), tree["pts"])
    np.testing.assert_allclose(t.lidar("0", "000011"), tree["pts"][:3], atol=1e-6)
    lf = list(t.lidar_frames("0"))
    assert [(f.counter, f.stamp_ns) for f in lf] == [(10, 10), (11, 100_000_010)]


def test_pcd_errors(tmp_path: Path) -> None:
    p = tmp_path / "c.pcd"
    p.write_bytes(pcd_header("x y intensity", "4 4 4", "F F F", "1 1 1", 1, "ascii") + b"1 2 3\n")
    with pytest.raises(DriversError, match="no z field"):
        read_pcd(p)
    p.write_bytes(pcd_header("x y z", "4 4 4", "F F F", "1 1 1", 2, "binary") + b"\0" * 12)
    with pytest.raises(DriversError, match="2 points of 12 B = 24 B, the file holds 12 B"):
        read_pcd(p)
    p.write_bytes(
        pcd_header("x y z", "4 4 4", "F F F", "1 1 1", 1, "binary_compressed") + b"\0" * 12
    )
    with pytest.raises(DriversError, match="binary_compressed"):
        read_pcd(p)
    p.write_bytes(
        pcd_header("x y z", "4 4 4", "F F F", "1 1 1", 1, "binary")
        + np.float32([1, 2, 3]).tobytes()
    )
    np.testing.assert_array_equal(read_pcd(p), [[1, 2, 3, 0]])  # no intensity field: 0


def test_tree_written_from_the_simulator_reads_back(tmp_path: Path) -> None:
    """A two-frame RT-Pose tree from a simulated rtpose-rig recording: radar words, LiDAR, labels
    and calibration come back as the simulator wrote them."""
    from drivers import RecordingReader, load_rig, unpack_frame
    from drivers.sim import SimConfig, Simulation, simulate_to_recording

    rig = load_rig("rtpose")
    rec = tmp_path / "sim.h5"
    sim = Simulation(rig, SimConfig(people=1, seconds=0.2, seed=4, motions=["walk"]))
    simulate_to_recording(sim, rec, progress=False, sensors=["radar", "lidar", "groundtruth"])
    root = tmp_path / "RT-Pose"
    seq = root / "sequences" / "0"
    (seq / "lidar").mkdir(parents=True)
    (root / "file_meta.txt").write_text("0,2023_0801_1000\n")
    with RecordingReader(rec) as r:
        radar = r.radar_config("radar")
        words = r.read("radar", "adc")
        stamps = r.stamps("radar")
        joints = r.read("groundtruth", "joints")[:, 0]  # (frames, 15, 3), radar frame
        clouds = [f.data["points"] for f in r.frames("lidar")]
    frames = [unpack_frame(w, radar) for w in words]
    write_mmwcas_capture(seq / "radar/bin", frames, radar, timestamps_ns=stamps)
    for k, pts in enumerate(clouds):
        (seq / "lidar" / f"{k:06d}.pcd").write_bytes(
            pcd_header("x y z intensity", "4 4 4 4", "F F F F", "1 1 1 1", len(pts), "binary")
            + np.ascontiguousarray(pts, "<f4").tobytes()
        )
    # RT-Pose numbers labels by camera frame and points them at radar frame ids (capture frame k
    # is id k + 1)
    train = {"0": {f"{k:06d}": [{"Radar_frameID": f"{k + 1:06d}", "pose": j.tolist()}]
                   for k, j in enumerate(joints)}}  # fmt: skip
    (root / "Train.json").write_text(json.dumps(train))
    T_rl = rig.T_ref("lidar")
    T_cl = np.linalg.inv(rig.T_ref("cam-left")) @ T_rl
    K = rig.config.sensors["cam-left"].camera.K
    calib = {
        "radar": {"extrinsic": T_rl.reshape(-1).tolist()},
        "left_cam": {"extrinsic": T_cl.reshape(-1).tolist(), "intrinsic": np.c_[K, np.zeros(3)].reshape(-1).tolist()},
    }  # fmt: skip
    (root / "calib.json").write_text(json.dumps(calib))

    t = RtposeTree(root)
    got = list(t.radar_frames("0"))
    assert len(got) == len(frames) == 2
    for f, want, st in zip(got, frames, stamps, strict=True):
        np.testing.assert_array_equal(unpack_frame(f.data["adc"], radar), want)  # per-chip words
        assert f.stamp_ns == st
    labels = t.labels("train")["0"]
    for lab, j in zip(labels, joints, strict=True):
        np.testing.assert_allclose(lab.pose, j, atol=1e-6)
        # the label's radar frame is the capture frame it was simulated with
        assert lab.radar_index - 1 in (0, 1)
    np.testing.assert_array_equal(t.lidar("0", 1)[:, :3], clouds[1][:, :3])
    cal = t.calibration()
    np.testing.assert_allclose(cal.get("radar", "lidar"), T_rl, atol=1e-12)
    np.testing.assert_allclose(
        cal.get("cam-left", "radar"), np.linalg.inv(rig.T_ref("cam-left")), atol=1e-9
    )
