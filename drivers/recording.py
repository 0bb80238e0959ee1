"""The radarpose HDF5 recording format (documented in docs/FORMATS.md), writer and reader.

Layout, version 1.x::

    /                       attrs: format="radarpose-recording", format_version, created, rig (YAML)
    /calibration            attrs: yaml (calibration YAML)                     [optional]
    /streams/<sensor>/      attrs: kind, config (YAML text), fields, extra attributes
        stamp_ns   int64 (N,)    host receipt time, ns since the Unix epoch
        counter    int64 (N,)    device frame counter
        flags      uint8 (N,)    drivers.source.FrameFlag bits
        <key>      (N, ...)      fixed-shape per-frame arrays (adc, image, joints, ...)
        <key>      (M, C)        ragged arrays (points) concatenated over frames, with
        <key>_count int64 (N,)   the number of rows each frame contributed

Frames are appended; ``stamp_ns`` is written last, so its length is the number of complete
frames. The file is opened in SWMR mode once streams are declared and flushed at least every
``flush_interval`` seconds, so a killed capture keeps what was flushed and stays readable.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import h5py
import numpy as np

from .errors import DriversError
from .source import Frame, SourceStats

FORMAT = "radarpose-recording"
FORMAT_VERSION = "1.0"
_META = ("stamp_ns", "counter", "flags")


@dataclass
class StreamSpec:
    """Declares a stream: its kind, per-frame fixed arrays and ragged (row-appended) arrays."""

    kind: str
    fixed: dict[str, tuple[tuple[int, ...], np.dtype]] = field(default_factory=dict)
    ragged: dict[str, tuple[int, np.dtype]] = field(default_factory=dict)
    fields: tuple[str, ...] = ()
    config: str = ""
    attrs: dict[str, object] = field(default_factory=dict)
    compression: str | None = None


class RecordingWriter:
    """Append frames to a recording. Declare every stream with :meth:`add_stream` first.

    Use as a context manager; ``flush_interval`` bounds what a crash can lose.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        rig_yaml: str = "",
        calibration_yaml: str = "",
        flush_interval: float = 1.0,
        attrs: dict[str, object] | None = None,
    ) -> None:
        self.path = Path(path)
        try:
            self._f = h5py.File(self.path, "w", libver="latest")
        except OSError as exc:
            raise DriversError(f"{self.path}: cannot create recording ({exc})") from None
        self._f.attrs["format"] = FORMAT
        self._f.attrs["format_version"] = FORMAT_VERSION
        self._f.attrs["created"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        self._f.attrs["rig"] = rig_yaml
        for k, v in (attrs or {}).items():
            self._f.attrs[k] = v
        if calibration_yaml:
            self._f.create_group("calibration").attrs["yaml"] = calibration_yaml
        self._f.create_group("streams")
        self._specs: dict[str, StreamSpec] = {}
        self._counts: dict[str, int] = {}
        self._swmr = False
        self.flush_interval = flush_interval
        self._last_flush = time.monotonic()

    def add_stream(self, name: str, spec: StreamSpec) -> None:
        if self._swmr:
            raise DriversError(
                f"stream {name!r} declared after writing began; declare all streams first"
            )
        if name in self._specs:
            raise DriversError(f"stream {name!r} declared twice")
        g = self._f["streams"].create_group(name)
        g.attrs["kind"] = spec.kind
        g.attrs["config"] = spec.config
        g.attrs["fields"] = list(spec.fields)
        for k, v in spec.attrs.items():
            g.attrs[k] = v
        for key, dt in (("stamp_ns", np.int64), ("counter", np.int64), ("flags", np.uint8)):
            g.create_dataset(key, shape=(0,), maxshape=(None,), dtype=dt, chunks=(1024,))
        for key, (shape, dt) in spec.fixed.items():
            g.create_dataset(
                key,
                shape=(0, *shape),
                # HDF5 chunks cannot be empty: a zero-sized axis (no people in the scene) is
                # declared extendable so that its chunk can be 1 long
                maxshape=(None, *(d or None for d in shape)),
                dtype=dt,
                chunks=(1, *(d or 1 for d in shape)),
                compression=spec.compression,
            )
        for key, (cols, dt) in spec.ragged.items():
            g.create_dataset(
                key, shape=(0, cols), maxshape=(None, cols), dtype=dt, chunks=(4096, cols)
            )
            g.create_dataset(
                f"{key}_count", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(1024,)
            )
        self._specs[name] = spec
        self._counts[name] = 0

    @staticmethod
    def _append(ds: h5py.Dataset, values: np.ndarray) -> None:
        n = ds.shape[0]
        ds.resize(n + len(values), axis=0)
        ds[n:] = values

    def write(self, frame: Frame) -> None:
        """Append one frame to its sensor's stream; arrays must match the declared shapes."""
        spec = self._specs.get(frame.sensor)
        if spec is None:
            raise DriversError(
                f"frame from undeclared stream {frame.sensor!r} (declared: {', '.join(self._specs)})"
            )
        if not self._swmr:
            self._f.swmr_mode = True
            self._swmr = True
        g = self._f["streams"][frame.sensor]
        for key, (shape, dt) in spec.fixed.items():
            arr = frame.data.get(key)
            if arr is None or tuple(arr.shape) != shape:
                got = None if arr is None else arr.shape
                raise DriversError(f"{frame.sensor}.{key}: expected shape {shape}, got {got}")
            self._append(g[key], np.asarray(arr, dtype=dt)[None])
        for key, (cols, dt) in spec.ragged.items():
            arr = np.asarray(frame.data.get(key, np.zeros((0, cols))), dtype=dt)
            if arr.ndim != 2 or arr.shape[1] != cols:
                raise DriversError(
                    f"{frame.sensor}.{key}: expected shape (M, {cols}), got {arr.shape}"
                )
            self._append(g[key], arr)
            self._append(g[f"{key}_count"], np.array([len(arr)]))
        self._append(g["counter"], np.array([frame.counter]))
        self._append(g["flags"], np.array([frame.flags]))
        self._append(g["stamp_ns"], np.array([frame.stamp_ns]))  # last: marks the frame complete
        self._counts[frame.sensor] += 1
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def flush(self) -> None:
        self._f.flush()
        self._last_flush = time.monotonic()

    @property
    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def close(self) -> None:
        if self._f.id.valid:
            self._f.flush()
            self._f.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass
class StreamInfo:
    name: str
    kind: str
    frames: int
    config: str
    fields: tuple[str, ...]
    keys: tuple[str, ...]
    flagged: int


class RecordingReader:
    """Read a recording; tolerates a file cut short by a crash (incomplete frames are ignored)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DriversError(f"{self.path}: file not found")
        try:
            self._f = h5py.File(self.path, "r", libver="latest", swmr=True)
        except OSError as exc:
            raise DriversError(f"{self.path}: not a readable HDF5 recording ({exc})") from None
        if self._f.attrs.get("format") != FORMAT:
            self._f.close()
            raise DriversError(
                f"{self.path}: not a radarpose recording (no format={FORMAT} attribute)"
            )
        version = str(self._f.attrs.get("format_version", "0"))
        if version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
            self._f.close()
            raise DriversError(
                f"{self.path}: recording format {version} is newer than this radarpose reads ({FORMAT_VERSION}); upgrade radarpose"
            )
        self.format_version = version

    @property
    def rig_yaml(self) -> str:
        return str(self._f.attrs.get("rig", ""))

    @property
    def calibration_yaml(self) -> str:
        return str(self._f["calibration"].attrs["yaml"]) if "calibration" in self._f else ""

    @property
    def attrs(self) -> dict[str, object]:
        return dict(self._f.attrs)

    def _n(self, g: h5py.Group) -> int:
        n = g["stamp_ns"].shape[0]
        for key in g:
            if key in _META or key.endswith("_count"):
                n = min(n, g[key].shape[0])
            elif f"{key}_count" not in g:
                n = min(n, g[key].shape[0])
        return n

    @property
    def streams(self) -> dict[str, StreamInfo]:
        out = {}
        for name, g in self._f["streams"].items():
            n = self._n(g)
            out[name] = StreamInfo(
                name=name,
                kind=str(g.attrs["kind"]),
                frames=n,
                config=str(g.attrs.get("config", "")),
                fields=tuple(str(x) for x in g.attrs.get("fields", [])),
                keys=tuple(k for k in g if k not in _META and not k.endswith("_count")),
                flagged=int(np.count_nonzero(g["flags"][:n])),
            )
        return out

    def group(self, name: str) -> h5py.Group:
        if name not in self._f["streams"]:
            raise DriversError(
                f"{self.path}: no stream {name!r} (streams: {', '.join(self._f['streams'])})"
            )
        return self._f["streams"][name]

    def radar_config(self, name: str):  # noqa: ANN201 - RadarConfig (import kept local)
        """The :class:`~drivers.radar.RadarConfig` stored with radar stream ``name``."""
        import yaml

        from .config import from_dict
        from .radar import RadarConfig

        info = self.streams.get(name)
        if info is None or not info.config:
            raise DriversError(f"{self.path}: stream {name!r} stores no radar config")
        return from_dict(RadarConfig, yaml.safe_load(info.config), source=f"{self.path}:{name}")

    def camera_config(self, name: str):  # noqa: ANN201 - CameraConfig (import kept local)
        """The :class:`~drivers.rig.CameraConfig` stored with camera stream ``name``."""
        import yaml

        from .config import from_dict
        from .rig import CameraConfig

        info = self.streams.get(name)
        if info is None or not info.config:
            raise DriversError(f"{self.path}: stream {name!r} stores no camera config")
        return from_dict(CameraConfig, yaml.safe_load(info.config), source=f"{self.path}:{name}")

    def spec(self, name: str) -> StreamSpec:
        """The :class:`StreamSpec` a stream was declared with, to write its frames elsewhere."""
        g = self.group(name)
        ragged = {k[: -len("_count")] for k in g if k.endswith("_count")}
        attrs = {k: v for k, v in g.attrs.items() if k not in ("kind", "config", "fields")}
        return StreamSpec(
            kind=str(g.attrs["kind"]),
            fixed={
                k: (tuple(g[k].shape[1:]), g[k].dtype)
                for k in g
                if k not in _META and not k.endswith("_count") and k not in ragged
            },
            ragged={k: (int(g[k].shape[1]), g[k].dtype) for k in ragged},
            fields=tuple(str(x) for x in g.attrs.get("fields", [])),
            config=str(g.attrs.get("config", "")),
            attrs=attrs,
            compression=next(
                (g[k].compression for k in g if k not in _META and g[k].compression), None
            ),
        )

    def stamps(self, name: str) -> np.ndarray:
        g = self.group(name)
        return g["stamp_ns"][: self._n(g)]

    def read(self, name: str, key: str, index: int | slice = slice(None)) -> np.ndarray:
        """Fixed-shape array ``key`` of stream ``name`` for the frames in ``index``."""
        g = self.group(name)
        n = self._n(g)
        if key not in g:
            raise DriversError(f"{self.path}: stream {name!r} has no {key!r} (has: {', '.join(g)})")
        if isinstance(index, int):
            if not -n <= index < n:
                raise DriversError(f"{self.path}: {name} frame {index} out of range (0..{n - 1})")
            return g[key][index % n]
        return g[key][:n][index]

    def frames(self, name: str, start: int = 0, stop: int | None = None) -> Iterator[Frame]:
        """Frames of one stream in recorded order."""
        g = self.group(name)
        n = self._n(g)
        stop = n if stop is None else min(stop, n)
        kind = str(g.attrs["kind"])
        stamps, counters, flags = g["stamp_ns"][:n], g["counter"][:n], g["flags"][:n]
        ragged = [k[: -len("_count")] for k in g if k.endswith("_count")]
        fixed = [k for k in g if k not in _META and not k.endswith("_count") and k not in ragged]
        offsets = {k: np.concatenate([[0], np.cumsum(g[f"{k}_count"][:n])]) for k in ragged}
        for i in range(start, stop):
            data = {k: g[k][i] for k in fixed}
            for k in ragged:
                data[k] = g[k][offsets[k][i] : offsets[k][i + 1]]
            yield Frame(name, kind, int(stamps[i]), int(counters[i]), data, int(flags[i]))

    def close(self) -> None:
        if self._f.id.valid:
            self._f.close()

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class RecordingSource:
    """Replay one or more streams of a recording through the :class:`Source` interface."""

    def __init__(self, path: str | Path, streams: list[str] | None = None) -> None:
        self.reader = RecordingReader(path)
        self.names = streams or list(self.reader.streams)
        self.name = f"recording:{Path(path).name}"
        self.stats = SourceStats()

    def frames(self) -> Iterator[Frame]:
        from .source import merge_frames

        for f in merge_frames(self.reader.frames(n) for n in self.names):
            self.stats.frames += 1
            self.stats.flagged += bool(f.flags)
            yield f

    def close(self) -> None:
        self.reader.close()
