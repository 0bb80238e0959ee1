"""ROS bags as a :class:`~drivers.source.Source`: ROS1 ``.bag``, ROS2 sqlite3 and MCAP (rosbags).

A topic becomes a sensor stream through the rig (``sensors.<name>.options.topic``, several
topics comma-separated) or, without a rig entry, by its message type, named after its topic
(``/radarpose/<sensor>/...`` gives ``<sensor>``; ``/ti_mmwave/radar_scan`` gives
``ti-mmwave-radar-scan``):

* ``sensor_msgs/PointCloud2`` → ``radar_points`` (every scalar field, in message order: what
  ti_mmwave_rospkg publishes, x, y, z, intensity, velocity, often with an empty frame_id) when the
  rig says radar or a field is named velocity/doppler; otherwise ``lidar`` (x, y, z, intensity;
  rows with non-finite x, y, z are dropped, as organised clouds mark "no return" with NaN).
* ``ti_mmwave_rospkg/RadarScan`` (one message per point; a frame ends when ``point_id`` restarts)
  → ``radar_points`` with :data:`SCAN_FIELDS`.
* ``sensor_msgs/Image`` (rgb8, bgr8, rgba8, bgra8, mono8) and ``CompressedImage`` (decoded when
  imageio is installed; otherwise its bytes are kept as ``{"compressed": uint8 (B,)}`` and a
  warning says so) → ``image``.
* ``sensor_msgs/CameraInfo`` → :attr:`BagSource.cameras` (intrinsics, not frames).
* ``tf`` / ``tf_static`` → :meth:`BagSource.calibration` (extrinsics ``T_<reference>_<sensor>``
  between the frames the sensors' messages name; ``/tf`` is read for its first 2 s only).
* ``radarpose_msgs/RadarAdc`` → ``radar_adc`` (DCA1000 words); ``radarpose_msgs/Skeleton3D`` →
  ``skeleton``. MarkerArray topics and anything else are listed in :attr:`BagSource.ignored`.

Stamps are int64 ns: the header stamp, or the bag's log time when the header stamp is zero (or
``stamps="log"``). Frames leave in stamp order through a reorder window over the bag's log order.
Types come from the definitions stored in the bag, then from radarpose's own store (ROS
standard messages, ours, ti_mmwave_rospkg's); a topic whose type is defined nowhere is an error
naming it. A damaged bag (ROS1, MCAP, or sqlite3 with or without its ``metadata.yaml``: see
:mod:`drivers.bagsalvage`) is a :class:`~drivers.errors.DriversError` saying where reading
stopped; the frames before the damage have been delivered by then.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np

from . import rosmsgs
from .calibfile import Calibration, calibration_from_rig
from .errors import DriversError
from .rig import CameraConfig, Rig
from .rosmsgs import chain_transform, cloud_fields, cloud_points, image_rgb, stamp_ns
from .source import Frame, SourceStats

HANDLERS = {
    "sensor_msgs/msg/PointCloud2": "cloud",
    "ti_mmwave_rospkg/msg/RadarScan": "scan",
    "ti_mmwave_rospkg_msgs/msg/RadarScan": "scan",
    "sensor_msgs/msg/Image": "image",
    "sensor_msgs/msg/CompressedImage": "compressed",
    "sensor_msgs/msg/CameraInfo": "camera_info",
    "tf2_msgs/msg/TFMessage": "tf",
    "tf/msg/tfMessage": "tf",
    "radarpose_msgs/msg/RadarAdc": "adc",
    "radarpose_msgs/msg/Skeleton3D": "skeleton",
}
# RadarScan's fields as radar_points columns: metres, m/s, dB (as the driver publishes), degrees, bin
SCAN_FIELDS = ("x", "y", "z", "intensity", "velocity", "range", "bearing_deg", "doppler_bin")
LIDAR_FIELDS = ("x", "y", "z", "intensity")
TF_WINDOW_NS = 2_000_000_000


@dataclass
class BagStream:
    """One sensor stream found in a bag, described from its first message."""

    sensor: str
    kind: str
    topic: str
    msgtype: str
    messages: int
    frame_id: str = ""
    fields: tuple[str, ...] = ()
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    config: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    compressed: bool = False


def _topic_name(topic: str) -> str:
    m = re.match(r"^/radarpose/([A-Za-z][A-Za-z0-9-]*)/", topic)
    if m:
        return m[1]
    name = re.sub(r"[^A-Za-z0-9]+", "-", topic).strip("-")
    return name if name[:1].isalpha() else f"t-{name}"


def _reader_errors() -> tuple[type[BaseException], ...]:
    import sqlite3
    import struct

    from rosbags.highlevel import AnyReaderError
    from rosbags.rosbag1 import ReaderError as R1
    from rosbags.rosbag2 import ReaderError as R2

    try:
        from apsw import Error as ApswError  # rosbags' sqlite3 storage reads through apsw
    except ImportError:
        ApswError = sqlite3.Error  # noqa: N806

    return (
        ApswError,
        AnyReaderError,
        R1,
        R2,
        sqlite3.Error,
        struct.error,
        EOFError,
        OSError,
        ValueError,
        KeyError,
        IndexError,
        AssertionError,
        RuntimeError,
    )


def _bag_path(path: Path) -> Path:
    if (
        path.is_file()
        and path.suffix in (".db3", ".mcap")
        and (path.parent / "metadata.yaml").is_file()
    ):
        return path.parent
    return path


class BagSource:
    """Sensor frames from one ROS bag through the :class:`~drivers.source.Source` interface.

    ``topics`` limits the streams to those topics; ``strict=False`` skips (and lists in
    :attr:`ignored`) topics whose type has no definition instead of refusing the bag.
    """

    wall_clock_stamps = False

    def __init__(
        self,
        path: str | Path,
        rig: Rig | None = None,
        *,
        topics: list[str] | None = None,
        stamps: Literal["header", "log"] = "header",
        reorder_window: float = 1.0,
        strict: bool = True,
    ) -> None:
        from rosbags.highlevel import AnyReader

        from .bags import typestore

        self.path = _bag_path(Path(path))
        if not self.path.exists():
            raise DriversError(f"{path}: no such bag file or folder")
        self.rig, self.stamps, self.window = rig, stamps, int(reorder_window * 1e9)
        self.name = f"bag:{self.path.name}"
        self.stats = SourceStats()
        self.streams: dict[str, BagStream] = {}
        self.cameras: dict[str, CameraConfig] = {}
        self.ignored: dict[str, str] = {}
        self.dropped: dict[str, int] = {}  # unreadable messages per sensor
        self.tf_edges: dict[tuple[str, str], np.ndarray] = {}
        self._conns: dict[str, list[Any]] = {}
        self.damage = ""  # why the bag could only be salvaged up to some point, if so
        self._reader = self._open(AnyReader)
        try:
            r = self._reader
            ts = r.typestore
            have = ts.fielddefs
            ts.register({k: v for k, v in typestore(r.is2).fielddefs.items() if k not in have})
            by_topic: dict[str, list[Any]] = {}
            for c in r.connections:
                by_topic.setdefault(c.topic, []).append(c)
            unknown = {
                t: cs[0].msgtype for t, cs in by_topic.items() if cs[0].msgtype not in ts.fielddefs
            }
            wanted = set(topics) if topics else None
            if wanted and (missing := wanted - set(by_topic)):
                raise DriversError(
                    f"{self.path}: no topic {sorted(missing)[0]!r} (topics: {', '.join(sorted(by_topic))})"
                )
            bad = {t: m for t, m in unknown.items() if wanted is None or t in wanted}
            if bad and strict:
                t, m = next(iter(bad.items()))
                raise DriversError(
                    f"{self.path}: topic {t} has message type {m}, whose definition is neither in the bag "
                    f"nor known to radarpose; exclude the topic or read with strict=False (--skip-unknown)"
                    + (f" ({len(bad) - 1} more such topics)" if len(bad) > 1 else "")
                )
            for t, m in unknown.items():
                self.ignored[t] = f"type {m} has no definition"
            self._plan(by_topic, wanted)
        except BaseException:
            self._reader.close()
            raise

    # -- setup -----------------------------------------------------------------------------
    def _open(self, any_reader: Any) -> Any:
        """rosbags' reader; for a bag it cannot open (or a damaged sqlite3 one, which it might read
        as zeros), the messages before the damage, read record by record or row by row."""
        from .bagsalvage import salvage, sqlite_damage, sqlite_files

        try:
            reader = any_reader([self.path])
            reader.open()
        except _reader_errors() as exc:
            why = _why(exc)
        else:
            why = next(
                (f"{f.name}: {w}" for f in sqlite_files(self.path) if (w := sqlite_damage(f))), ""
            )
            if not why:
                return reader
            reader.close()
        try:
            rescue = salvage(self.path)
        except DriversError as exc:
            why += f"; nothing salvaged ({exc})"
            rescue = None
        except Exception as exc:  # noqa: BLE001 - a salvage attempt never hides the first error
            why += f"; nothing salvaged ({_why(exc)})"
            rescue = None
        if rescue is None:
            raise DriversError(f"{self.path}: not a readable ROS bag ({why})")
        if rescue.damage:
            self.damage = f"{why}; read record by record: {rescue.damage}"
            self.stats.warn(f"damaged bag ({self.damage})")
        else:  # e.g. no index or metadata.yaml, but every message is there
            self.stats.warn(f"bag read record by record ({why}); no damage found")
        return rescue

    def _rig_sensor(self, topic: str) -> str | None:
        if self.rig is None:
            return None
        for name, s in self.rig.config.sensors.items():
            if topic in [x.strip() for x in s.options.get("topic", "").split(",")]:
                return name
        return None

    def _first(self, conns: list[Any]) -> tuple[int, Any] | None:
        for _, t, raw in self._reader.messages(connections=conns):
            return t, self._reader.deserialize(raw, conns[0].msgtype)
        return None

    def _plan(self, by_topic: dict[str, list[Any]], wanted: set[str] | None) -> None:
        r = self._reader
        infos: list[tuple[str, list[Any]]] = []
        for topic, conns in sorted(by_topic.items()):
            if topic in self.ignored:
                continue
            handler = HANDLERS.get(conns[0].msgtype)
            if handler is None or (wanted is not None and topic not in wanted):
                self.ignored[topic] = (
                    f"{conns[0].msgtype} is not a sensor type radarpose reads"
                    if handler is None
                    else "not selected"
                )
                continue
            try:
                first = self._first(conns)
            except _reader_errors() as exc:
                raise DriversError(
                    f"{self.path}: cannot read topic {topic} ({_why(exc)})"
                ) from None
            if first is None:
                self.ignored[topic] = "no messages"
                continue
            if handler == "tf":
                self._read_tf(conns, static=topic.endswith("tf_static"))
                continue
            if handler == "camera_info":
                infos.append((topic, conns))
                continue
            sensor = self._rig_sensor(topic) or _topic_name(topic)
            if sensor in self.streams:
                raise DriversError(
                    f"{self.path}: topics {self.streams[sensor].topic} and {topic} both map to sensor {sensor!r}"
                )
            count = sum(int(c.msgcount) for c in conns)
            try:
                b = self._describe(sensor, topic, conns[0].msgtype, handler, count, first[1])
            except DriversError as exc:  # e.g. a depth image encoding: not a stream we can read
                self.ignored[topic] = str(exc)
                continue
            self._check_kind(b)
            self.streams[sensor] = b
            self._conns[sensor] = conns
        for topic, conns in infos:
            ns = topic.rsplit("/", 1)[0]
            sensor = self._rig_sensor(topic) or next(
                (
                    s.sensor
                    for s in self.streams.values()
                    if s.kind == "image" and s.topic.rsplit("/", 1)[0] == ns
                ),
                _topic_name(topic),
            )
            first = self._first(conns)
            assert first is not None
            msg = first[1]
            K = np.asarray(getattr(msg, "k", getattr(msg, "K", np.zeros(9))), float).reshape(-1)
            D = np.asarray(getattr(msg, "d", getattr(msg, "D", [])), float).reshape(-1)
            if K.size != 9 or K[0] <= 0 or K[4] <= 0 or msg.width <= 0 or msg.height <= 0:
                self.stats.warn(
                    f"{topic}: CameraInfo without a valid K or size; intrinsics not read"
                )
                continue
            n = sum(int(c.msgcount) for c in conns)
            dur = (r.end_time - r.start_time) / 1e9
            rate = round((n - 1) / dur, 3) if n > 1 and dur > 0 else 10.0
            self.cameras[sensor] = CameraConfig(
                width=int(msg.width),
                height=int(msg.height),
                fx=float(K[0]),
                fy=float(K[4]),
                cx=float(K[2]),
                cy=float(K[5]),
                distortion=tuple(float(x) for x in D),
                frame_rate=rate,
            )
            if sensor in self.streams and self.streams[sensor].kind == "image":
                from .config import dump_yaml

                self.streams[sensor].config = dump_yaml(self.cameras[sensor])

    def _check_kind(self, b: BagStream) -> None:
        if self.rig is None or b.sensor not in self.rig.config.sensors:
            return
        kind = self.rig.config.sensors[b.sensor].kind
        fits = {"radar": ("radar_points", "radar_adc"), "lidar": ("lidar",), "camera": ("image",)}
        if b.kind not in fits.get(kind, (b.kind,)):
            raise DriversError(
                f"{self.path}: topic {b.topic} ({b.msgtype}) maps to {kind} {b.sensor!r} of the rig, "
                f"but holds {b.kind} frames"
            )

    def _describe(
        self, sensor: str, topic: str, msgtype: str, handler: str, count: int, msg: Any
    ) -> BagStream:
        s = BagStream(
            sensor, "", topic, msgtype, count, frame_id=str(getattr(msg.header, "frame_id", ""))
        )
        s.attrs = {"topic": topic, "msgtype": msgtype}
        rig_kind = (
            self.rig.config.sensors[sensor].kind
            if self.rig and sensor in self.rig.config.sensors
            else None
        )
        if handler == "cloud":
            fields = cloud_fields(msg)
            radar = rig_kind == "radar" or (
                rig_kind is None and bool({"velocity", "doppler"} & set(fields))
            )
            s.kind, s.fields = ("radar_points", fields) if radar else ("lidar", LIDAR_FIELDS)
            if not {"x", "y", "z"} <= set(fields):
                raise DriversError(f"PointCloud2 without x, y, z fields (has {', '.join(fields)})")
        elif handler == "scan":
            s.kind, s.fields = "radar_points", SCAN_FIELDS
        elif handler in ("image", "compressed"):
            s.kind = "image"
            if handler == "compressed" and not rosmsgs.can_decode():
                s.compressed = True
                self.stats.warn(
                    f"{topic}: imageio is not installed, compressed images kept as bytes"
                )
            else:
                img = image_rgb(msg) if handler == "image" else rosmsgs.decode_image(msg.data)
                s.shapes = {"image": img.shape}
        elif handler == "adc":
            s.kind = "radar_adc"
            s.shapes = {"adc": (len(msg.adc),)}
            s.config = str(msg.config_yaml)
            s.attrs["layout"] = str(msg.layout)
        elif handler == "skeleton":
            s.kind = "skeleton"
            p = len(msg.person_id)
            j = len(msg.joints) // (3 * p) if p else 15
            s.shapes = {"joints": (p, j, 3), "confidence": (p, j), "person_id": (p,)}
        s.attrs["handler"] = handler
        return s

    def _read_tf(self, conns: list[Any], static: bool) -> None:
        r = self._reader
        stop = None if static else r.start_time + TF_WINDOW_NS
        try:
            for c, _, raw in r.messages(connections=conns, stop=stop):
                for t in r.deserialize(raw, c.msgtype).transforms:
                    edge = (str(t.header.frame_id).lstrip("/"), str(t.child_frame_id).lstrip("/"))
                    if static or edge not in self.tf_edges:
                        self.tf_edges[edge] = rosmsgs.tf_matrix(t.transform)
        except _reader_errors() as exc:
            self.stats.warn(f"tf read stopped early ({_why(exc)})")

    # -- results ---------------------------------------------------------------------------
    @property
    def reference(self) -> str:
        """The rig's reference sensor, else the first radar stream placed by tf, else any radar, else any."""
        if self.rig is not None:
            return self.rig.reference
        tree = {f for e in self.tf_edges for f in e}
        radars = [s for s, b in self.streams.items() if b.kind.startswith("radar")]
        placed = [s for s in radars if self.streams[s].frame_id.lstrip("/") in tree]
        return (placed or radars or list(self.streams) or ["radar"])[0]

    def calibration(self) -> Calibration:
        """Extrinsics ``T_<reference>_<sensor>`` from tf (over the rig's nominal poses, if a rig)."""
        cal = calibration_from_rig(self.rig) if self.rig is not None else Calibration()
        frames = {
            b.sensor: b.frame_id.lstrip("/")
            for b in self.streams.values()
            if b.kind != "skeleton" and b.frame_id
        }
        ref = self.reference
        found = 0
        if ref in frames:
            for s, f in frames.items():
                if s == ref:
                    continue
                T = chain_transform(self.tf_edges, frames[ref], f)
                if T is not None:
                    cal.transforms[f"T_{ref}_{s}"] = T
                    found += 1
        cal.method = f"bag tf ({found} transforms)" + (
            " over rig nominal" if self.rig is not None else ""
        )
        return cal

    # -- frames ----------------------------------------------------------------------------
    def _convert(self, b: BagStream, msg: Any) -> tuple[dict[str, np.ndarray], int, int]:
        h = b.attrs["handler"]
        if h == "cloud":
            pts = cloud_points(msg, b.fields)
            if b.kind == "lidar":
                pts = pts[np.isfinite(pts[:, :3]).all(axis=1)]
            return {"points": pts}, -1, 0
        if h == "image":
            img = image_rgb(msg)
        elif h == "compressed":
            if b.compressed:
                return {"compressed": np.asarray(msg.data, np.uint8).reshape(-1)}, -1, 0
            img = rosmsgs.decode_image(msg.data)
        elif h == "adc":
            adc = np.asarray(msg.adc, np.int16)
            if adc.shape != b.shapes["adc"]:
                raise DriversError(
                    f"ADC frame of {adc.size} words, stream has {b.shapes['adc'][0]}"
                )
            return {"adc": adc}, int(msg.frame_counter), int(msg.flags)
        else:  # skeleton
            p, j = b.shapes["joints"][:2]
            pid = np.asarray(msg.person_id, np.int32)
            n = min(len(pid), p)
            if len(pid) > p:
                self.stats.warn(
                    f"{b.sensor}: frames with more than {p} people: extra people dropped"
                )
            joints = np.full((p, j, 3), np.nan, np.float32)
            conf = np.zeros((p, j), np.float32)
            ids = np.full(p, -1, np.int32)
            joints[:n] = np.asarray(msg.joints, np.float32).reshape(-1, j, 3)[:n]
            conf[:n] = np.asarray(msg.confidence, np.float32).reshape(-1, j)[:n]
            ids[:n] = pid[:n]
            return {"joints": joints, "confidence": conf, "person_id": ids}, -1, 0
        if img.shape != b.shapes["image"]:
            raise DriversError(f"image of shape {img.shape}, stream has {b.shapes['image']}")
        return {"image": img}, -1, 0

    def _stamp(self, msg: Any, log_ns: int) -> int:
        if self.stamps == "header":
            s = stamp_ns(msg.header.stamp)
            if s > 0:
                return s
        return log_ns

    def _raw_frames(self) -> Iterator[Frame]:
        """Frames in the bag's log order (stamps may be slightly out of order across topics)."""
        r = self._reader
        by_conn = {id(c): b for b in self.streams.values() for c in self._conns[b.sensor]}
        conns = [c for cs in self._conns.values() for c in cs]
        index = dict.fromkeys(self.streams, 0)
        scans: dict[str, tuple[int, list[list[float]], int]] = {}  # sensor -> stamp, rows, last id
        done = 0
        it = r.messages(connections=conns) if conns else iter(())
        while True:
            try:
                item = next(it, None)
                if item is None:
                    break
                c, log_ns, raw = item
                b = by_conn[id(c)]
                msg = r.deserialize(raw, c.msgtype)
            except _reader_errors() as exc:
                for sensor, (st, rows, _) in scans.items():
                    yield self._scan_frame(sensor, st, rows, index)
                raise DriversError(
                    f"{self.path}: bag damaged, reading stopped after {done} messages ({_why(exc)}); "
                    "the frames before the damage were delivered"
                ) from None
            done += 1
            stamp = self._stamp(msg, log_ns)
            if b.attrs["handler"] == "scan":
                row = [
                    msg.x,
                    msg.y,
                    msg.z,
                    msg.intensity,
                    msg.velocity,
                    msg.range,
                    msg.bearing,
                    msg.doppler_bin,
                ]
                cur = scans.get(b.sensor)
                if cur is not None and int(msg.point_id) <= cur[2]:
                    yield self._scan_frame(b.sensor, cur[0], cur[1], index)
                    cur = None
                if cur is None:
                    cur = (stamp, [], -1)
                cur[1].append(row)
                scans[b.sensor] = (cur[0], cur[1], int(msg.point_id))
                continue
            try:
                data, counter, flags = self._convert(b, msg)
            except DriversError as exc:
                self.stats.dropped += 1
                self.dropped[b.sensor] = self.dropped.get(b.sensor, 0) + 1
                self.stats.warn(f"{b.topic}: unreadable messages dropped (first: {exc})")
                continue
            i = index[b.sensor]
            index[b.sensor] = i + 1
            yield Frame(b.sensor, b.kind, stamp, i if counter < 0 else counter, data, flags)
        for sensor, (st, rows, _) in scans.items():
            yield self._scan_frame(sensor, st, rows, index)

    def _scan_frame(
        self, sensor: str, stamp: int, rows: list[list[float]], index: dict[str, int]
    ) -> Frame:
        i = index[sensor]
        index[sensor] = i + 1
        return Frame(
            sensor,
            "radar_points",
            stamp,
            i,
            {"points": np.asarray(rows, np.float32).reshape(-1, len(SCAN_FIELDS))},
        )

    def frames(self) -> Iterator[Frame]:
        """Frames of every stream in stamp order (a reorder window over the bag's log order)."""
        heap: list[tuple[int, int, Frame]] = []
        last = -(2**63)
        seq = 0

        def out(f: Frame) -> Frame:
            nonlocal last
            if f.stamp_ns < last:
                self.stats.warn(
                    f"stamps out of order by more than the {self.window / 1e9:g} s reorder window"
                )
            last = max(last, f.stamp_ns)
            self.stats.frames += 1
            self.stats.flagged += bool(f.flags)
            self.stats.bytes += sum(a.nbytes for a in f.data.values())
            return f

        damage: DriversError | None = None
        try:
            for f in self._raw_frames():
                heapq.heappush(heap, (f.stamp_ns, seq, f))
                seq += 1
                while heap and heap[0][0] <= f.stamp_ns - self.window:
                    yield out(heapq.heappop(heap)[2])
        except DriversError as exc:  # a damaged bag: deliver what was read, then say so
            damage = exc
        while heap:
            yield out(heapq.heappop(heap)[2])
        if damage is None and self.damage:
            damage = DriversError(
                f"{self.path}: damaged bag, replayed up to the damage ({self.damage})"
            )
        if damage is not None:
            raise damage

    def close(self) -> None:
        if self._reader.stack is not None:
            self._reader.close()

    def __enter__(self) -> BagSource:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
