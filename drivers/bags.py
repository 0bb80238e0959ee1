"""ROS bags from recordings, with rosbags: ROS1 ``.bag``, ROS2 sqlite3 or MCAP.

Topics (frame_id = the sensor's name; stamps = the recording's host stamps):

* ``/radarpose/<radar>/adc`` — ``radarpose_msgs/msg/RadarAdc``: raw int16 words in the device layout
* ``/radarpose/<camera>/image`` — ``sensor_msgs/msg/Image`` (rgb8)
* ``/radarpose/<lidar or radar>/points`` — ``sensor_msgs/msg/PointCloud2`` (float32 fields)
* ``/radarpose/<skeleton stream>/skeletons`` — ``radarpose_msgs/msg/Skeleton3D`` and
  ``/radarpose/<skeleton stream>/markers`` — ``visualization_msgs/msg/MarkerArray`` (for RViz/Foxglove)
* ``/tf_static`` — the calibration as ``tf2_msgs/msg/TFMessage``, reference → every sensor
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.spatial.transform import Rotation

from .calibfile import parse_calibration
from .errors import DriversError
from .recording import RecordingReader
from .skeleton import RTPOSE15

RADAR_ADC_MSG = """std_msgs/Header header
uint32 frame_counter
uint8 flags
string layout
string config_yaml
int16[] adc
"""
SKELETON_MSG = """std_msgs/Header header
int32[] person_id
float32[] joints
float32[] confidence
"""
# ti_mmwave_rospkg's per-point message (one message per detected point; point_id restarts at 0
# with every radar frame); the package is ``ti_mmwave_rospkg`` in ROS1, ``..._msgs`` in ROS2
RADAR_SCAN_MSG = """std_msgs/Header header
uint16 point_id
float32 x
float32 y
float32 z
float32 range
float32 velocity
uint16 doppler_bin
float32 bearing
float32 intensity
"""
MSG_TYPES = {
    "radarpose_msgs/msg/RadarAdc": RADAR_ADC_MSG,
    "radarpose_msgs/msg/Skeleton3D": SKELETON_MSG,
    "ti_mmwave_rospkg/msg/RadarScan": RADAR_SCAN_MSG,
    "ti_mmwave_rospkg_msgs/msg/RadarScan": RADAR_SCAN_MSG,
}


def typestore(ros2: bool) -> Any:
    """A rosbags typestore with the standard messages, radarpose's own and ti_mmwave_rospkg's."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    ts = get_typestore(Stores.ROS2_HUMBLE if ros2 else Stores.ROS1_NOETIC)
    types: dict[str, Any] = {}
    for name, text in MSG_TYPES.items():
        types.update(get_types_from_msg(text, name))
    if (
        "tf2_msgs/msg/TFMessage" not in ts.types
    ):  # rosbags' ROS1 store lacks it; it is tf2_msgs' definition
        types.update(
            get_types_from_msg(
                "geometry_msgs/TransformStamped[] transforms\n", "tf2_msgs/msg/TFMessage"
            )
        )
    ts.register(types)
    return ts


class _Msgs:
    def __init__(self, ts: Any, ros2: bool) -> None:
        self.ts, self.ros2, self.T = ts, ros2, ts.types

    def header(self, stamp_ns: int, frame: str, seq: int = 0) -> Any:
        t = self.T["builtin_interfaces/msg/Time"](
            sec=int(stamp_ns // 1_000_000_000), nanosec=int(stamp_ns % 1_000_000_000)
        )
        H = self.T["std_msgs/msg/Header"]
        return H(stamp=t, frame_id=frame) if self.ros2 else H(seq=seq, stamp=t, frame_id=frame)

    def cloud(self, stamp_ns: int, frame: str, pts: np.ndarray, fields: tuple[str, ...]) -> Any:
        PF = self.T["sensor_msgs/msg/PointField"]
        pts = np.ascontiguousarray(pts, dtype=np.float32)
        flds = [
            PF(name=n, offset=4 * i, datatype=PF.FLOAT32, count=1) for i, n in enumerate(fields)
        ]
        return self.T["sensor_msgs/msg/PointCloud2"](
            header=self.header(stamp_ns, frame),
            height=1,
            width=len(pts),
            fields=flds,
            is_bigendian=False,
            point_step=4 * len(fields),
            row_step=4 * len(fields) * len(pts),
            data=pts.view(np.uint8).reshape(-1),
            is_dense=True,
        )

    def markers(self, stamp_ns: int, frame: str, joints: np.ndarray) -> Any:
        M, P, C = (
            self.T["visualization_msgs/msg/Marker"],
            self.T["geometry_msgs/msg/Point"],
            self.T["std_msgs/msg/ColorRGBA"],
        )
        Pose, Vec, Q = (
            self.T["geometry_msgs/msg/Pose"],
            self.T["geometry_msgs/msg/Vector3"],
            self.T["geometry_msgs/msg/Quaternion"],
        )
        Dur = self.T["builtin_interfaces/msg/Duration"]
        out = []
        for pid, person in enumerate(joints):
            pts = [
                P(x=float(person[i, 0]), y=float(person[i, 1]), z=float(person[i, 2]))
                for e in RTPOSE15.edges
                for i in e
            ]
            kw: dict[str, Any] = dict(
                header=self.header(stamp_ns, frame),
                ns="skeleton",
                id=pid,
                type=M.LINE_LIST,
                action=M.ADD,
                pose=Pose(
                    position=P(x=0.0, y=0.0, z=0.0), orientation=Q(x=0.0, y=0.0, z=0.0, w=1.0)
                ),
                scale=Vec(x=0.03, y=0.0, z=0.0),
                color=C(r=0.1, g=0.75, b=0.73, a=1.0),
                lifetime=Dur(sec=0, nanosec=200_000_000),
                frame_locked=False,
                points=pts,
                colors=[],
                text="",
                mesh_resource="",
                mesh_use_embedded_materials=False,
            )
            if self.ros2:
                kw.update(
                    texture_resource="",
                    texture=self.T["sensor_msgs/msg/CompressedImage"](
                        header=self.header(0, ""), format="", data=np.zeros(0, np.uint8)
                    ),
                    uv_coordinates=[],
                    mesh_file=self.T["visualization_msgs/msg/MeshFile"](
                        filename="", data=np.zeros(0, np.uint8)
                    ),
                )
            out.append(M(**kw))
        return self.T["visualization_msgs/msg/MarkerArray"](markers=out)

    def tf(self, stamp_ns: int, parent: str, child: str, T: np.ndarray) -> Any:
        q = Rotation.from_matrix(T[:3, :3]).as_quat()  # x, y, z, w
        V, Q = self.T["geometry_msgs/msg/Vector3"], self.T["geometry_msgs/msg/Quaternion"]
        tr = self.T["geometry_msgs/msg/Transform"](
            translation=V(x=float(T[0, 3]), y=float(T[1, 3]), z=float(T[2, 3])),
            rotation=Q(x=float(q[0]), y=float(q[1]), z=float(q[2]), w=float(q[3])),
        )
        return self.T["geometry_msgs/msg/TransformStamped"](
            header=self.header(stamp_ns, parent), child_frame_id=child, transform=tr
        )


def export_recording(
    h5_path: str | Path, bag_path: str | Path, *, ros2: bool = False, storage: str = "sqlite3"
) -> dict[str, int]:
    """Write every stream of a recording (and its calibration as tf_static) into a bag; returns messages per topic."""
    from rosbags.rosbag1 import Writer as Writer1
    from rosbags.rosbag2 import StoragePlugin
    from rosbags.rosbag2 import Writer as Writer2

    bag_path = Path(bag_path)
    if bag_path.exists():
        raise DriversError(f"{bag_path}: already exists; choose a new name")
    if storage not in ("sqlite3", "mcap"):
        raise DriversError(f"storage must be sqlite3 or mcap, got {storage!r}")
    ts = typestore(ros2)
    msgs = _Msgs(ts, ros2)
    ser = ts.serialize_cdr if ros2 else ts.serialize_ros1
    counts: dict[str, int] = {}
    with RecordingReader(h5_path) as rec:
        writer = (
            Writer2(
                bag_path,
                version=9,
                storage_plugin=StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3,
            )
            if ros2
            else Writer1(bag_path)
        )
        with writer as w:
            conns: dict[str, Any] = {}

            def put(topic: str, msgtype: str, msg: Any, stamp: int) -> None:
                if topic not in conns:
                    conns[topic] = w.add_connection(topic, msgtype, typestore=ts)
                w.write(conns[topic], stamp, ser(msg, msgtype))
                counts[topic] = counts.get(topic, 0) + 1

            first = min(
                (int(rec.stamps(n)[0]) for n in rec.streams if len(rec.stamps(n))), default=0
            )
            if rec.calibration_yaml and rec.rig_yaml:
                cal = parse_calibration(yaml.safe_load(rec.calibration_yaml))
                ref = yaml.safe_load(rec.rig_yaml)["reference"]
                tfs = []
                for name in cal.transforms:
                    to, frm = name[2:].split("_", 1)
                    if to == ref:
                        tfs.append(msgs.tf(first, to, frm, cal.transforms[name]))
                put(
                    "/tf_static",
                    "tf2_msgs/msg/TFMessage",
                    ts.types["tf2_msgs/msg/TFMessage"](transforms=tfs),
                    first,
                )
            for name, info in rec.streams.items():
                frame = (
                    name
                    if info.kind != "skeleton"
                    else (yaml.safe_load(rec.rig_yaml)["reference"] if rec.rig_yaml else "radar")
                )
                for f in rec.frames(name):
                    if info.kind == "radar_adc":
                        m = ts.types["radarpose_msgs/msg/RadarAdc"](
                            header=msgs.header(f.stamp_ns, frame, f.counter),
                            frame_counter=f.counter,
                            flags=f.flags,
                            layout=str(rec.group(name).attrs.get("layout", "")),
                            config_yaml=info.config if f.counter <= 1 else "",
                            adc=np.asarray(f.data["adc"], np.int16).reshape(-1),
                        )
                        put(f"/radarpose/{name}/adc", "radarpose_msgs/msg/RadarAdc", m, f.stamp_ns)
                    elif info.kind == "image":
                        img = np.ascontiguousarray(f.data["image"], np.uint8)
                        m = ts.types["sensor_msgs/msg/Image"](
                            header=msgs.header(f.stamp_ns, frame),
                            height=img.shape[0],
                            width=img.shape[1],
                            encoding="rgb8",
                            is_bigendian=0,
                            step=img.shape[1] * 3,
                            data=img.reshape(-1),
                        )
                        put(f"/radarpose/{name}/image", "sensor_msgs/msg/Image", m, f.stamp_ns)
                    elif info.kind in ("lidar", "radar_points"):
                        fields = info.fields or ("x", "y", "z", "intensity")
                        put(
                            f"/radarpose/{name}/points",
                            "sensor_msgs/msg/PointCloud2",
                            msgs.cloud(f.stamp_ns, frame, f.data["points"], fields),
                            f.stamp_ns,
                        )
                    elif info.kind == "skeleton":
                        j = np.asarray(f.data["joints"], np.float32)
                        pid = np.asarray(f.data.get("person_id", np.arange(len(j))), np.int32)
                        keep = pid >= 0
                        conf = np.asarray(
                            f.data.get("confidence", np.ones(j.shape[:2])), np.float32
                        )
                        m = ts.types["radarpose_msgs/msg/Skeleton3D"](
                            header=msgs.header(f.stamp_ns, frame),
                            person_id=pid[keep],
                            joints=j[keep].reshape(-1),
                            confidence=conf[keep].reshape(-1),
                        )
                        put(
                            f"/radarpose/{name}/skeletons",
                            "radarpose_msgs/msg/Skeleton3D",
                            m,
                            f.stamp_ns,
                        )
                        put(
                            f"/radarpose/{name}/markers",
                            "visualization_msgs/msg/MarkerArray",
                            msgs.markers(f.stamp_ns, frame, j[keep]),
                            f.stamp_ns,
                        )
    return counts
