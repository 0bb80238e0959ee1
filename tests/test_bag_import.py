"""Bags of every flavour written with rosbags' writers, read back through drivers.bagsource."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from drivers import (
    DriversError,
    Frame,
    RecordingReader,
    RecordingWriter,
    StreamSpec,
    calibration_from_rig,
    load_rig,
)
from drivers.bagimport import import_bag
from drivers.bags import export_recording, typestore
from drivers.bagsource import SCAN_FIELDS, BagSource
from drivers.config import dump_yaml

FLAVOURS = [(False, "sqlite3", "b.bag"), (True, "sqlite3", "b_sqlite"), (True, "mcap", "b_mcap")]
T0 = 1_700_000_000_123_456_789


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hupr-rig recording as the simulator lays it out (radar ADC, camera, ground truth), with
    random content: 3 frames per stream at the sensors' clock offsets."""
    rig = load_rig("hupr")
    p = tmp_path_factory.mktemp("bagimport") / "rec.h5"
    rng = np.random.default_rng(5)
    words = rig.radars["radar-h"].adc_words_per_frame
    i16, u8, f32 = np.dtype(np.int16), np.dtype(np.uint8), np.dtype(np.float32)
    specs = {
        r: StreamSpec(
            "radar_adc",
            fixed={"adc": ((words,), i16)},
            config=dump_yaml(rig.radars[r]),
            attrs={"layout": "dca1000_2lane"},
        )
        for r in ("radar-h", "radar-v")
    }
    specs["camera"] = StreamSpec("image", fixed={"image": ((256, 256, 3), u8)})
    specs["groundtruth"] = StreamSpec(
        "skeleton",
        fixed={
            "joints": ((2, 15, 3), f32),
            "confidence": ((2, 15), f32),
            "person_id": ((2,), np.dtype(np.int32)),
        },
    )
    frames = []
    for k in range(3):
        t = T0 + k * 100_000_000
        for r, dt in (("radar-h", 0), ("radar-v", 2_000_000)):
            adc = rng.integers(-2000, 2000, words, np.int16)
            frames.append(Frame(r, "radar_adc", t + dt, k + 1, {"adc": adc}, int(k == 1)))
        img = rng.integers(0, 255, (256, 256, 3), np.uint8)
        frames.append(Frame("camera", "image", t - 15_000_000, k, {"image": img}))
        sk = {
            "joints": rng.normal(size=(2, 15, 3)).astype(np.float32),
            "confidence": rng.uniform(size=(2, 15)).astype(np.float32),
            "person_id": np.array([0, 1], np.int32),
        }
        frames.append(Frame("groundtruth", "skeleton", t, k, sk))
    with RecordingWriter(
        p, rig_yaml=rig.text, calibration_yaml=calibration_from_rig(rig).to_yaml()
    ) as w:
        for n, spec in specs.items():
            w.add_stream(n, spec)
        for f in sorted(frames, key=lambda f: f.stamp_ns):
            w.write(f)
    return p


def write_bag(path: Path, ros2: bool, storage: str, msgs: list[tuple[str, str, Any, int]]) -> None:
    """Write ``(topic, msgtype, message, log stamp ns)`` with rosbags' own writers."""
    from rosbags.rosbag1 import Writer as Writer1
    from rosbags.rosbag2 import StoragePlugin
    from rosbags.rosbag2 import Writer as Writer2

    ts = typestore(ros2)
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    w = Writer2(path, version=9, storage_plugin=plugin) if ros2 else Writer1(path)
    ser = ts.serialize_cdr if ros2 else ts.serialize_ros1
    with w:
        conns: dict[str, Any] = {}
        for topic, mt, m, t in msgs:
            if topic not in conns:
                conns[topic] = w.add_connection(topic, mt, typestore=ts)
            w.write(conns[topic], t, ser(m, mt))


class Build:
    """Messages of the standard types for one ROS version."""

    def __init__(self, ros2: bool) -> None:
        self.ros2, self.ts = ros2, typestore(ros2)
        self.T = self.ts.types

    def header(self, t: int, frame: str) -> Any:
        s = self.T["builtin_interfaces/msg/Time"](sec=t // 10**9, nanosec=t % 10**9)
        H = self.T["std_msgs/msg/Header"]
        return H(stamp=s, frame_id=frame) if self.ros2 else H(seq=0, stamp=s, frame_id=frame)

    def cloud(self, header: Any, fields: list[Any], step: int, data: np.ndarray) -> Any:
        n = len(data) // step
        return self.T["sensor_msgs/msg/PointCloud2"](
            header=header,
            height=1,
            width=n,
            fields=fields,
            is_bigendian=False,
            point_step=step,
            row_step=step * n,
            data=data,
            is_dense=True,
        )

    def ti_cloud(self, t: int, pts: np.ndarray) -> Any:
        """ti_mmwave_rospkg's cloud: PCL layout x,y,z at 0,4,8, intensity 16, velocity 20, step 32."""
        PF = self.T["sensor_msgs/msg/PointField"]
        raw = np.zeros((len(pts), 8), np.float32)
        raw[:, [0, 1, 2, 4, 5]] = pts
        fields = [
            PF(name=n, offset=o, datatype=7, count=1)
            for n, o in (("x", 0), ("y", 4), ("z", 8), ("intensity", 16), ("velocity", 20))
        ]
        return self.cloud(self.header(t, ""), fields, 32, raw.view(np.uint8).reshape(-1))

    def lidar_cloud(self, t: int, xyz: np.ndarray, intensity: np.ndarray) -> Any:
        """A LiDAR cloud with float64 x, y, z and uint16 intensity (tests datatype handling)."""
        PF = self.T["sensor_msgs/msg/PointField"]
        dt = np.dtype([("x", "<f8"), ("y", "<f8"), ("z", "<f8"), ("i", "<u2"), ("pad", "V6")])
        a = np.zeros(len(xyz), dt)
        a["x"], a["y"], a["z"], a["i"] = xyz[:, 0], xyz[:, 1], xyz[:, 2], intensity
        fields = [
            PF(name=n, offset=o, datatype=d, count=1)
            for n, o, d in (("x", 0, 8), ("y", 8, 8), ("z", 16, 8), ("intensity", 24, 4))
        ]
        return self.cloud(self.header(t, "lidar_link"), fields, 32, a.view(np.uint8).reshape(-1))

    def scan(self, t: int, i: int, row: np.ndarray) -> Any:
        name = (
            "ti_mmwave_rospkg_msgs/msg/RadarScan" if self.ros2 else "ti_mmwave_rospkg/msg/RadarScan"
        )
        x, y, z, inten, v, r, b, d = (float(a) for a in row)
        return self.T[name](
            header=self.header(t, "ti_mmwave_0"),
            point_id=i,
            x=x,
            y=y,
            z=z,
            range=r,
            velocity=v,
            doppler_bin=int(d),
            bearing=b,
            intensity=inten,
        )

    def image(self, t: int, rgb: np.ndarray, encoding: str) -> Any:
        data = rgb[:, :, ::-1] if encoding == "bgr8" else rgb
        return self.T["sensor_msgs/msg/Image"](
            header=self.header(t, "camera_optical"),
            height=rgb.shape[0],
            width=rgb.shape[1],
            encoding=encoding,
            is_bigendian=0,
            step=rgb.shape[1] * 3,
            data=np.ascontiguousarray(data).reshape(-1),
        )

    def compressed(self, t: int, rgb: np.ndarray) -> Any:
        import imageio.v3 as iio

        buf = iio.imwrite("<bytes>", rgb, extension=".png")
        return self.T["sensor_msgs/msg/CompressedImage"](
            header=self.header(t, "camera2_optical"),
            format="png",
            data=np.frombuffer(buf, np.uint8),
        )

    def info(self, t: int) -> Any:
        k = np.array([500.0, 0, 320, 0, 510.0, 240, 0, 0, 1])
        kw: dict[str, Any] = dict(
            header=self.header(t, "camera_optical"),
            height=6,
            width=8,
            distortion_model="plumb_bob",
            binning_x=0,
            binning_y=0,
            roi=self.T["sensor_msgs/msg/RegionOfInterest"](
                x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
            ),
        )
        names = ("d", "k", "r", "p") if self.ros2 else ("D", "K", "R", "P")
        kw.update(
            zip(
                names,
                (np.array([0.1, -0.05, 0.0, 0.0, 0.0]), k, np.eye(3).reshape(-1), np.zeros(12)),
                strict=True,
            )
        )
        return self.T["sensor_msgs/msg/CameraInfo"](**kw)

    def tf(self, t: int, edges: list[tuple[str, str, np.ndarray]]) -> Any:
        from drivers.bags import _Msgs

        m = _Msgs(self.ts, self.ros2)
        return self.T["tf2_msgs/msg/TFMessage"](transforms=[m.tf(t, p, c, T) for p, c, T in edges])

    def adc(self, t: int, counter: int, words: np.ndarray) -> Any:
        return self.T["radarpose_msgs/msg/RadarAdc"](
            header=self.header(t, "dca"),
            frame_counter=counter,
            flags=1 if counter == 2 else 0,
            layout="dca1000_2lane",
            config_yaml="name: test\n" if counter == 1 else "",
            adc=words,
        )


def pose(rpy_deg: tuple[float, float, float], t: tuple[float, float, float]) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("xyz", rpy_deg, degrees=True).as_matrix()
    T[:3, 3] = t
    return T


T_BASE_RADAR = pose((0, 5, 90), (0.1, 0.0, 0.8))
T_BASE_CAM = pose((-90, 0, -90), (0.1, 0.05, 0.9))
T_BASE_LIDAR = pose((0, 0, 3), (0.0, 0.0, 1.2))


def scan_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    rows = rng.normal(size=(n, 8)).round(2).astype(np.float32)
    rows[:, 7] = rng.integers(0, 16, n)  # doppler_bin is a uint16
    return rows


@pytest.fixture(scope="module")
def content() -> dict[str, Any]:
    rng = np.random.default_rng(7)
    return {
        "radar": [rng.normal(size=(n, 5)).astype(np.float32) for n in (3, 0, 5)],
        "scan": [scan_rows(rng, n) for n in (2, 4, 1)],
        "image": [rng.integers(0, 255, (6, 8, 3), np.uint8) for _ in range(3)],
        "lidar": [rng.normal(size=(7, 3)) for _ in range(2)],
        "adc": [rng.integers(-2000, 2000, 96, np.int16) for _ in range(3)],
    }


def sensor_bag(path: Path, ros2: bool, storage: str, c: dict[str, Any]) -> None:
    b = Build(ros2)
    scan_t = "ti_mmwave_rospkg_msgs/msg/RadarScan" if ros2 else "ti_mmwave_rospkg/msg/RadarScan"
    msgs: list[tuple[str, str, Any, int]] = [
        (
            "/tf_static",
            "tf2_msgs/msg/TFMessage",
            b.tf(
                T0,
                [
                    ("base_link", "ti_mmwave_0", T_BASE_RADAR),
                    ("base_link", "camera_optical", T_BASE_CAM),
                    ("base_link", "lidar_link", T_BASE_LIDAR),
                ],
            ),
            T0,
        )
    ]
    for i in range(3):
        t = T0 + i * 100_000_000
        # the log time lags the header stamp by 3 ms, as rosbag record does
        msgs.append(
            (
                "/ti_mmwave/radar_scan_pcl",
                "sensor_msgs/msg/PointCloud2",
                b.ti_cloud(t, c["radar"][i]),
                t + 3_000_000,
            )
        )
        for j, row in enumerate(c["scan"][i]):
            msgs.append(
                ("/ti_mmwave/radar_scan", scan_t, b.scan(t + 1000 * j, j, row), t + 4_000_000 + j)
            )
        msgs.append(
            (
                "/cam/image_raw",
                "sensor_msgs/msg/Image",
                b.image(t + 20_000_000, c["image"][i], "bgr8"),
                t + 21_000_000,
            )
        )
        msgs.append(
            (
                "/cam/camera_info",
                "sensor_msgs/msg/CameraInfo",
                b.info(t + 20_000_000),
                t + 21_000_000,
            )
        )
        msgs.append(
            (
                "/cam2/image/compressed",
                "sensor_msgs/msg/CompressedImage",
                b.compressed(t + 30_000_000, c["image"][i]),
                t + 31_000_000,
            )
        )
        msgs.append(
            (
                "/dca/adc",
                "radarpose_msgs/msg/RadarAdc",
                b.adc(t + 1_000_000, i + 1, c["adc"][i]),
                t + 2_000_000,
            )
        )
        if i < 2:
            msgs.append(
                (
                    "/velodyne_points",
                    "sensor_msgs/msg/PointCloud2",
                    b.lidar_cloud(t + 50_000_000, c["lidar"][i], np.arange(7) * (i + 1)),
                    t + 55_000_000,
                )
            )
    msgs.sort(key=lambda m: m[3])
    write_bag(path, ros2, storage, msgs)


def by_sensor(src: BagSource) -> dict[str, list[Any]]:
    frames = list(src.frames())
    stamps = [f.stamp_ns for f in frames]
    assert stamps == sorted(stamps)  # one time-ordered stream, as live capture delivers
    out: dict[str, list[Any]] = {}
    for f in frames:
        out.setdefault(f.sensor, []).append(f)
    return out


@pytest.mark.parametrize(("ros2", "storage", "name"), FLAVOURS)
def test_sensor_messages_read_back_equal(
    tmp_path: Path, content: dict[str, Any], ros2: bool, storage: str, name: str
) -> None:
    sensor_bag(tmp_path / name, ros2, storage, content)
    with BagSource(tmp_path / name) as src:
        kinds = {s: b.kind for s, b in src.streams.items()}
        assert kinds == {
            "ti-mmwave-radar-scan-pcl": "radar_points",
            "ti-mmwave-radar-scan": "radar_points",
            "cam-image-raw": "image",
            "cam2-image-compressed": "image",
            "dca-adc": "radar_adc",
            "velodyne-points": "lidar",
        }
        assert src.streams["ti-mmwave-radar-scan-pcl"].fields == (
            "x",
            "y",
            "z",
            "intensity",
            "velocity",
        )
        got = by_sensor(src)
        cal = src.calibration()
        cam = src.cameras["cam-image-raw"]
    t = [T0 + i * 100_000_000 for i in range(3)]
    pcl = got["ti-mmwave-radar-scan-pcl"]
    assert [f.stamp_ns for f in pcl] == t  # header stamps, not the 3 ms later log times
    for f, pts in zip(pcl, content["radar"], strict=True):
        np.testing.assert_array_equal(f.data["points"], pts)
    scans = got["ti-mmwave-radar-scan"]
    assert [f.stamp_ns for f in scans] == t  # a frame is stamped by its first point
    for f, rows in zip(scans, content["scan"], strict=True):
        assert f.data["points"].shape == (len(rows), len(SCAN_FIELDS))
        np.testing.assert_array_equal(f.data["points"], rows)
    for sensor in ("cam-image-raw", "cam2-image-compressed"):  # bgr8 and PNG, both back to RGB
        for f, img in zip(got[sensor], content["image"], strict=True):
            np.testing.assert_array_equal(f.data["image"], img)
    adc = got["dca-adc"]
    assert [f.counter for f in adc] == [1, 2, 3] and [f.flags for f in adc] == [0, 1, 0]
    assert [f.stamp_ns for f in adc] == [x + 1_000_000 for x in t]
    for f, w in zip(adc, content["adc"], strict=True):
        assert f.data["adc"].dtype == np.int16
        np.testing.assert_array_equal(f.data["adc"], w)
    lid = got["velodyne-points"]
    assert len(lid) == 2
    for i, (f, xyz) in enumerate(zip(lid, content["lidar"], strict=True)):
        np.testing.assert_allclose(f.data["points"][:, :3], xyz, rtol=1e-6)
        np.testing.assert_array_equal(f.data["points"][:, 3], np.arange(7) * (i + 1))
    assert (cam.width, cam.height, cam.fx, cam.fy, cam.cx, cam.cy) == (8, 6, 500, 510, 320, 240)
    assert cam.distortion == (0.1, -0.05, 0.0, 0.0, 0.0)
    # the radar with a frame in the tf tree is the reference; extrinsics chain through base_link
    inv = np.linalg.inv(T_BASE_RADAR)
    assert set(cal.transforms) == {
        "T_ti-mmwave-radar-scan_cam-image-raw",
        "T_ti-mmwave-radar-scan_velodyne-points",
    }
    np.testing.assert_allclose(
        cal.transforms["T_ti-mmwave-radar-scan_cam-image-raw"], inv @ T_BASE_CAM, atol=1e-9
    )
    np.testing.assert_allclose(
        cal.transforms["T_ti-mmwave-radar-scan_velodyne-points"], inv @ T_BASE_LIDAR, atol=1e-9
    )


def test_rig_maps_topics_to_sensors(tmp_path: Path, content: dict[str, Any]) -> None:
    bag = tmp_path / "b.bag"
    sensor_bag(bag, False, "sqlite3", content)
    rig_yaml = Path(load_rig("hupr").source).read_text()
    rig_yaml = rig_yaml.replace(
        "    transport: dca1000\n  radar-v:",
        "    transport: dca1000\n    options: {topic: /ti_mmwave/radar_scan_pcl}\n  radar-v:",
    ).replace(
        "    clock_offset: -0.015", "    clock_offset: -0.015\n    options: {topic: /cam/image_raw}"
    )
    rig_path = tmp_path / "rig.yaml"
    rig_path.write_text(rig_yaml.replace("../radars/hupr_iwr1843.yaml", "hupr_iwr1843"))
    rig = load_rig(rig_path)
    with BagSource(bag, rig, topics=["/ti_mmwave/radar_scan_pcl", "/cam/image_raw"]) as src:
        assert {s: b.kind for s, b in src.streams.items()} == {
            "radar-h": "radar_points",
            "camera": "image",
        }
        cal = src.calibration()
        assert "/velodyne_points" in src.ignored
    # radar-h's cloud has an empty frame_id: the rig's nominal pose stays, the camera's too
    np.testing.assert_allclose(cal.transforms["T_radar-h_camera"], rig.T_ref("camera"))
    assert cal.clock_offsets["camera"] == -0.015


def test_type_without_definition_is_named(tmp_path: Path, content: dict[str, Any]) -> None:
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import get_types_from_msg

    bag = tmp_path / "custom"
    b = Build(True)
    ts = typestore(True)
    ts.register(get_types_from_msg("float32 level\n", "acme_msgs/msg/Blob"))
    with Writer(bag, version=9) as w:
        c1 = w.add_connection("/acme/blob", "acme_msgs/msg/Blob", typestore=ts)
        c2 = w.add_connection("/dca/adc", "radarpose_msgs/msg/RadarAdc", typestore=ts)
        blob = ts.types["acme_msgs/msg/Blob"](level=1.5)
        w.write(c1, T0, ts.serialize_cdr(blob, "acme_msgs/msg/Blob"))
        m = b.adc(T0, 1, content["adc"][0])
        w.write(c2, T0, ts.serialize_cdr(m, "radarpose_msgs/msg/RadarAdc"))
    # as a Humble recorder leaves it: no stored definition for the custom type
    with sqlite3.connect(bag / "custom.db3") as db:
        db.execute("DELETE FROM message_definitions WHERE topic_type = 'acme_msgs/msg/Blob'")
    with pytest.raises(DriversError, match=r"/acme/blob has message type acme_msgs/msg/Blob"):
        BagSource(bag)
    with BagSource(bag, strict=False) as src:
        assert src.ignored == {"/acme/blob": "type acme_msgs/msg/Blob has no definition"}
        (f,) = list(src.frames())
    np.testing.assert_array_equal(f.data["adc"], content["adc"][0])


def _cut(bag: Path, frac: float) -> None:
    f = bag if bag.is_file() else next(p for p in bag.iterdir() if p.suffix in (".db3", ".mcap"))
    data = f.read_bytes()
    f.write_bytes(data[: int(len(data) * frac)])


def _read_until_error(bag: Path) -> tuple[dict[str, list[Any]], str]:
    got: dict[str, list[Any]] = {}
    with BagSource(bag) as src, pytest.raises(DriversError) as err:
        for f in src.frames():
            got.setdefault(f.sensor, []).append(f)
    return got, str(err.value)


@pytest.mark.parametrize(("ros2", "storage", "name"), FLAVOURS[::2])
def test_truncated_bag_replays_its_readable_part_then_errs(
    tmp_path: Path, content: dict[str, Any], ros2: bool, storage: str, name: str
) -> None:
    whole, cut = tmp_path / "whole" / name, tmp_path / "cut" / name
    for p in (whole, cut):
        p.parent.mkdir()
        sensor_bag(p, ros2, storage, content)
    with BagSource(whole) as src:
        full = by_sensor(src)
    _cut(cut, 0.3)
    got, err = _read_until_error(cut)
    assert f"{name}: damaged bag, replayed up to the damage" in err and "cut short" in err
    assert 0 < sum(len(v) for v in got.values()) < sum(len(v) for v in full.values())
    for sensor, frames in got.items():
        want = full[sensor][: len(frames)]
        for a, b in zip(frames, want, strict=True):
            assert (a.stamp_ns, a.counter) == (b.stamp_ns, b.counter)
            for k, v in a.data.items():
                if (
                    sensor == "ti-mmwave-radar-scan"
                ):  # the frame being read may lose its last points
                    np.testing.assert_array_equal(v, b.data[k][: len(v)])
                else:
                    np.testing.assert_array_equal(v, b.data[k])


def test_truncated_sqlite_bag_replays_its_readable_part(
    tmp_path: Path, content: dict[str, Any]
) -> None:
    """(tests/test_sqlite_salvage.py tries many cuts and corruptions on a bigger bag.)"""
    whole, cut = tmp_path / "whole" / "b_sqlite", tmp_path / "cut" / "b_sqlite"
    for p in (whole, cut):
        p.parent.mkdir()
        sensor_bag(p, True, "sqlite3", content)
    with BagSource(whole) as src:
        full = by_sensor(src)
    _cut(cut, 0.95)  # the messages are on the last two of its 11 pages
    got, err = _read_until_error(cut)
    assert "b_sqlite: damaged bag, replayed up to the damage" in err and "b_sqlite.db3: " in err
    assert 0 < sum(len(v) for v in got.values()) < sum(len(v) for v in full.values())
    for sensor, frames in got.items():
        if sensor == "ti-mmwave-radar-scan":  # a scan frame's points may end at the damage
            frames = frames[:-1]
        for a, b in zip(frames, full[sensor][: len(frames)], strict=True):
            assert (a.stamp_ns, a.counter) == (b.stamp_ns, b.counter)
            for k, v in a.data.items():
                np.testing.assert_array_equal(v, b.data[k])


def test_garbage_inside_a_bag_is_a_clear_error(tmp_path: Path, content: dict[str, Any]) -> None:
    bag = tmp_path / "g.bag"
    sensor_bag(bag, False, "sqlite3", content)
    data = bytearray(bag.read_bytes())
    data[5000:5400] = b"\xff" * 400  # inside the chunk, whose index at the end is intact
    bag.write_bytes(bytes(data))
    with pytest.raises(DriversError, match="g.bag: "):
        with BagSource(bag) as src:
            list(src.frames())


def test_import_cli_round_trip_and_errors(rec: Path, tmp_path: Path, capsys: Any) -> None:
    from fusion.cli import main

    bag, out = tmp_path / "r.bag", tmp_path / "back.h5"
    export_recording(rec, bag)
    assert main(["-q", "import", str(bag), str(out), "--rig", "hupr"]) == 0
    with RecordingReader(out) as r:
        assert set(r.streams) == {"radar-h", "radar-v", "camera", "groundtruth"}
    assert main(["-q", "import", str(bag), str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    _cut(bag, 0.5)  # the first half is imported, then the damage is reported
    assert main(["-q", "import", str(bag), str(tmp_path / "half.h5")]) == 2
    err = capsys.readouterr().err
    assert "damaged bag, replayed up to the damage" in err and "frames kept in" in err
    with RecordingReader(tmp_path / "half.h5") as h, RecordingReader(rec) as a:
        n = sum(s.frames for s in h.streams.values())
        assert 0 < n < sum(s.frames for s in a.streams.values())
    bag.write_bytes(bag.read_bytes()[:5000])
    assert main(["-q", "import", str(bag), str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("radarpose import: error:") and "not a readable ROS bag" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(("ros2", "storage", "name"), FLAVOURS)
def test_recording_bag_recording_round_trip(
    rec: Path, tmp_path: Path, ros2: bool, storage: str, name: str
) -> None:
    bag, out = tmp_path / name, tmp_path / "back.h5"
    export_recording(rec, bag, ros2=ros2, storage=storage)
    counts, src = import_bag(bag, out, load_rig("hupr"), progress=False)
    assert src.stats.dropped == 0
    with RecordingReader(rec) as a, RecordingReader(out) as b:
        assert counts == {n: s.frames for n, s in a.streams.items()}
        assert b.rig_yaml == a.rig_yaml
        ta = yaml_transforms(a.calibration_yaml)
        tb = yaml_transforms(b.calibration_yaml)
        assert set(tb) == set(ta)
        for k in ta:
            np.testing.assert_allclose(tb[k], ta[k], atol=1e-9)
        for n, info in a.streams.items():
            assert b.streams[n].kind == info.kind
            if info.kind == "radar_adc":
                assert b.streams[n].config == info.config
                assert b.group(n).attrs["layout"] == a.group(n).attrs["layout"]
            keys = {"image"} if info.kind == "image" else set(info.keys)
            for fa, fb in zip(a.frames(n), b.frames(n), strict=True):
                assert (fb.stamp_ns, fb.counter, fb.flags) == (fa.stamp_ns, fa.counter, fa.flags)
                for k in keys:
                    np.testing.assert_array_equal(fb.data[k], fa.data[k])


def yaml_transforms(text: str) -> dict[str, np.ndarray]:
    import yaml

    return {k: np.asarray(v) for k, v in yaml.safe_load(text)["transforms"].items()}


def test_unreadable_streams_are_listed_and_rig_kinds_checked(
    tmp_path: Path, content: dict[str, Any]
) -> None:
    b = Build(False)
    depth = b.image(T0, content["image"][0], "rgb8")
    depth.encoding, depth.step = "16UC1", 16  # a depth camera: 8 x 6 uint16 in the same bytes
    bag = tmp_path / "d.bag"
    write_bag(
        bag,
        False,
        "sqlite3",
        [
            ("/depth/image", "sensor_msgs/msg/Image", depth, T0),
            ("/rgb/image", "sensor_msgs/msg/Image", b.image(T0, content["image"][0], "rgb8"), T0),
        ],
    )
    with BagSource(bag) as src:
        assert list(src.streams) == ["rgb-image"]
        assert "image encoding '16UC1' not supported" in src.ignored["/depth/image"]
    rig_path = tmp_path / "rig.yaml"
    rig_path.write_text(
        Path(load_rig("hupr").source)
        .read_text()
        .replace("../radars/hupr_iwr1843.yaml", "hupr_iwr1843")
        .replace(
            "    transport: dca1000\n  radar-v:",
            "    transport: dca1000\n    options: {topic: /rgb/image}\n  radar-v:",
        )
    )
    with pytest.raises(DriversError, match=r"/rgb/image .* maps to radar 'radar-h' .* holds image"):
        BagSource(bag, load_rig(rig_path))


def test_compressed_images_kept_as_bytes_without_a_decoder(
    tmp_path: Path, content: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import drivers.rosmsgs

    monkeypatch.setattr(drivers.rosmsgs, "can_decode", lambda: False)
    b = Build(True)
    msgs = [b.compressed(T0 + k, img) for k, img in enumerate(content["image"])]
    bag = tmp_path / "c"
    write_bag(
        bag,
        True,
        "mcap",
        [
            ("/cam/compressed", "sensor_msgs/msg/CompressedImage", m, T0 + k)
            for k, m in enumerate(msgs)
        ],
    )
    with BagSource(bag) as src:
        frames = list(src.frames())
        assert any("compressed images kept as bytes" in w for w in src.stats.warnings)
    for f, m in zip(frames, msgs, strict=True):
        np.testing.assert_array_equal(f.data["compressed"], m.data)
    counts, _ = import_bag(bag, tmp_path / "c.h5", progress=False)
    assert counts == {"cam-compressed": 3}
    with RecordingReader(tmp_path / "c.h5") as r:
        f = next(r.frames("cam-compressed", 1))
    np.testing.assert_array_equal(f.data["compressed"].reshape(-1), msgs[1].data)


def test_log_stamps_on_request(tmp_path: Path, content: dict[str, Any]) -> None:
    sensor_bag(tmp_path / "b.bag", False, "sqlite3", content)
    with BagSource(tmp_path / "b.bag", stamps="log", topics=["/ti_mmwave/radar_scan_pcl"]) as src:
        stamps = [f.stamp_ns for f in src.frames()]
    assert stamps == [T0 + i * 100_000_000 + 3_000_000 for i in range(3)]  # rosbag's receipt time


def test_the_bags_own_definition_wins(tmp_path: Path) -> None:
    """A fork's RadarScan with an extra field mid-message: only its stored definition reads it."""
    from rosbags.rosbag1 import Writer
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    from drivers.bags import RADAR_SCAN_MSG

    name = "ti_mmwave_rospkg/msg/RadarScan"
    ts = get_typestore(Stores.ROS1_NOETIC)
    ts.register(
        get_types_from_msg(
            RADAR_SCAN_MSG.replace("float32 range", "float32 snr\nfloat32 range"), name
        )
    )
    b = Build(False)
    bag = tmp_path / "fork.bag"
    with Writer(bag) as w:
        c = w.add_connection("/ti_mmwave/radar_scan", name, typestore=ts)
        for j in range(3):
            m = ts.types[name](
                header=b.header(T0, "ti_mmwave_0"), point_id=j, x=1.0 + j, y=2.0, z=3.0, snr=99.0,
                range=4.0, velocity=-0.5, doppler_bin=7, bearing=12.5, intensity=30.0,
            )  # fmt: skip
            w.write(c, T0 + j, ts.serialize_ros1(m, name))
    with BagSource(bag) as src:
        (f,) = list(src.frames())
    np.testing.assert_array_equal(
        f.data["points"],
        [[1.0 + j, 2.0, 3.0, 30.0, -0.5, 4.0, 12.5, 7] for j in range(3)],
    )
