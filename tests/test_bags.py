"""Recording → ROS1 / ROS2 sqlite3 / ROS2 MCAP bags, read back with rosbags' AnyReader."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from drivers import RecordingReader, load_rig
from drivers.bags import export_recording, typestore
from drivers.sim import SimConfig, Simulation, simulate_to_recording


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("bags") / "rec.h5"
    simulate_to_recording(
        Simulation("hupr", SimConfig(people=2, seconds=0.4, seed=3)), p, progress=False
    )
    return p


@pytest.mark.parametrize(
    ("ros2", "storage", "name"),
    [(False, "sqlite3", "out.bag"), (True, "sqlite3", "out_ros2"), (True, "mcap", "out_mcap")],
)
def test_round_trip_through_anyreader(
    rec: Path, tmp_path: Path, ros2: bool, storage: str, name: str
) -> None:
    from rosbags.highlevel import AnyReader

    bag = tmp_path / name
    counts = export_recording(rec, bag, ros2=ros2, storage=storage)
    ts = typestore(ros2)
    with RecordingReader(rec) as r, AnyReader([bag], default_typestore=ts) as reader:
        assert {c.topic for c in reader.connections} == set(counts)
        adc = [
            (ts_, reader.deserialize(raw, c.msgtype))
            for c, ts_, raw in reader.messages(
                [c for c in reader.connections if c.topic == "/radarpose/radar-h/adc"]
            )
        ]
        assert len(adc) == r.streams["radar-h"].frames
        for (stamp, m), frame in zip(adc, r.frames("radar-h"), strict=True):
            assert stamp == frame.stamp_ns
            assert m.header.stamp.sec * 10**9 + m.header.stamp.nanosec == frame.stamp_ns
            np.testing.assert_array_equal(m.adc, frame.data["adc"])
            assert m.layout == "dca1000_2lane" and m.frame_counter == frame.counter
        img = [
            reader.deserialize(raw, c.msgtype)
            for c, _, raw in reader.messages(
                [c for c in reader.connections if c.topic == "/radarpose/camera/image"]
            )
        ]
        np.testing.assert_array_equal(
            np.asarray(img[1].data).reshape(256, 256, 3), r.read("camera", "image", 1)
        )
        sk = [
            reader.deserialize(raw, c.msgtype)
            for c, _, raw in reader.messages(
                [c for c in reader.connections if c.topic == "/radarpose/groundtruth/skeletons"]
            )
        ]
        np.testing.assert_allclose(
            np.asarray(sk[0].joints).reshape(-1, 15, 3), r.read("groundtruth", "joints", 0)
        )
        (tf_conn,) = [c for c in reader.connections if c.topic == "/tf_static"]
        tf = reader.deserialize(next(reader.messages([tf_conn]))[2], tf_conn.msgtype)
    rig = load_rig("hupr")
    by_child = {t.child_frame_id: t for t in tf.transforms}
    t = by_child["camera"].transform
    R = Rotation.from_quat([t.rotation.x, t.rotation.y, t.rotation.z, t.rotation.w]).as_matrix()
    np.testing.assert_allclose(R, rig.T_ref("camera")[:3, :3], atol=1e-9)
    np.testing.assert_allclose(
        [t.translation.x, t.translation.y, t.translation.z], rig.T_ref("camera")[:3, 3], atol=1e-12
    )


def test_export_cli_refuses_to_overwrite(rec: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.bag"
    r = subprocess.run(
        [sys.executable, "-m", "fusion.cli", "-q", "export", str(rec), str(out)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "fusion.cli", "-q", "export", str(rec), str(out)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "already exists" in r.stderr


def test_simulate_writes_a_bag_too(tmp_path: Path) -> None:
    from rosbags.highlevel import AnyReader

    out, bag = tmp_path / "s.h5", tmp_path / "s.bag"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "fusion.cli",
            "-q",
            "simulate",
            "--seconds",
            "0.3",
            "--bag",
            str(bag),
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    with AnyReader([bag], default_typestore=typestore(False)) as reader:
        n = {c.topic: c.msgcount for c in reader.connections}
    assert n["/radarpose/radar-h/adc"] == 3 and n["/radarpose/groundtruth/markers"] == 3
