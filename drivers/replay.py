"""Replay a recording or a bag through the same :class:`~drivers.source.Source` interface as live
capture, at recorded speed, N× or as fast as possible.

Pacing follows the frames' own stamps: frame ``k`` is due ``(stamp_k - stamp_0) / speed``
seconds after the first, on a monotonic clock. The clock is injectable (``now``/``sleep``) so the
schedule can be checked without waiting. A consumer slower than the schedule makes frames late;
with ``max_lag`` a frame later than that is dropped and counted, as a live board would lose it.
Frames are passed on unchanged (recorded stamps, counters, flags), so what a consumer sees, and
what it records, is exactly what the file holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from .errors import DriversError
from .recording import RecordingSource, StreamSpec
from .rig import Rig
from .source import Frame, Source, SourceStats

BAG_SUFFIXES = (".bag", ".db3", ".mcap")


@dataclass
class Clock:
    """Monotonic seconds and a sleep; tests pass a fake one."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def parse_speed(text: str | float | None) -> float | None:
    """``"max"`` (or None) → None, as fast as possible; otherwise a factor > 0 (``"2"``, ``"0.5x"``)."""
    if text is None or str(text).strip().lower() in ("max", "inf"):
        return None
    try:
        v = float(str(text).strip().lower().removesuffix("x"))
    except ValueError:
        raise DriversError(
            f"speed: expected a factor such as 1, 2, 0.5 or 'max', got {text!r}"
        ) from None
    if not 0 < v < float("inf"):
        raise DriversError(f"speed: must be a finite factor > 0 (or 'max'), got {text!r}")
    return v


def open_recorded(path: str | Path, rig: Rig | None = None, **bag_options: Any) -> Source:
    """A recording (``.h5``) as a RecordingSource, or a bag (``.bag``, ROS2 folder) as a BagSource."""
    p = Path(path)
    if not p.exists():
        raise DriversError(f"{p}: file not found")
    if p.suffix.lower() in (".h5", ".hdf5"):
        return RecordingSource(p)
    if p.suffix in BAG_SUFFIXES or p.is_dir():
        from .bagsource import BagSource

        return BagSource(p, rig, **bag_options)
    raise DriversError(f"{p}: not a recording (.h5) or a ROS bag (.bag, a ROS2 bag folder)")


def stream_specs(source: Source) -> dict[str, StreamSpec]:
    """How each stream of a file source is declared, to record what it replays."""
    from .bagimport import stream_spec
    from .bagsource import BagSource

    if isinstance(source, RecordingSource):
        return {n: source.reader.spec(n) for n in source.names}
    if isinstance(source, BagSource):
        return {n: stream_spec(b, source.reference) for n, b in source.streams.items()}
    raise DriversError(f"{source.name}: cannot describe its streams for recording")


@dataclass
class ReplayCounts:
    """Per sensor: frames delivered and frames dropped (late, or unreadable in the file)."""

    frames: dict[str, int] = field(default_factory=dict)
    late_dropped: dict[str, int] = field(default_factory=dict)
    max_lag_s: float = 0.0

    def lines(self, unreadable: dict[str, int] | None = None) -> list[str]:
        names = sorted(set(self.frames) | set(self.late_dropped) | set(unreadable or {}))
        return [
            f"  {n}: {self.frames.get(n, 0)} frames, dropped {self.late_dropped.get(n, 0)} late"
            f" and {(unreadable or {}).get(n, 0)} unreadable"
            for n in names
        ]


class ReplaySource:
    """Paced replay of another (file) source; ``speed`` None is as fast as possible."""

    wall_clock_stamps = False

    def __init__(
        self,
        source: Source,
        speed: float | None = 1.0,
        *,
        clock: Clock | None = None,
        max_lag: float | None = None,
        sensors: list[str] | None = None,
    ) -> None:
        if speed is not None and not speed > 0:
            raise DriversError(f"speed must be > 0 or None (as fast as possible), got {speed}")
        self.source, self.speed, self.max_lag = source, speed, max_lag
        self.clock = clock or Clock()
        self.sensors = set(sensors) if sensors else None
        self.name = f"replay:{source.name}"
        self.stats = SourceStats()
        self.counts = ReplayCounts()
        self.schedule: list[float] = []  # when each delivered frame was due, s after the first

    def frames(self) -> Iterator[Frame]:
        first: int | None = None
        t0 = 0.0
        for f in self.source.frames():
            if self.sensors is not None and f.sensor not in self.sensors:
                continue
            if first is None:
                first, t0 = f.stamp_ns, self.clock.now()
            due = (f.stamp_ns - first) / 1e9 / self.speed if self.speed else 0.0
            if self.speed:
                lag = self.clock.now() - t0 - due
                if lag < 0:
                    self.clock.sleep(-lag)
                elif self.max_lag is not None and lag > self.max_lag:
                    self.stats.dropped += 1
                    self.counts.late_dropped[f.sensor] = (
                        self.counts.late_dropped.get(f.sensor, 0) + 1
                    )
                    self.stats.warn(f"frames more than {self.max_lag:g} s behind schedule dropped")
                    continue
                else:
                    self.counts.max_lag_s = max(self.counts.max_lag_s, lag)
            self.schedule.append(due)
            self.counts.frames[f.sensor] = self.counts.frames.get(f.sensor, 0) + 1
            self.stats.frames += 1
            self.stats.flagged += bool(f.flags)
            yield f
        self.stats.dropped += self.source.stats.dropped
        for w in self.source.stats.warnings:
            self.stats.warn(w)

    def close(self) -> None:
        self.source.close()

    def __enter__(self) -> ReplaySource:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def file_context(source: Source) -> tuple[str, str, str]:
    """(rig YAML, calibration YAML, reference sensor) of a recording or bag source."""
    import yaml

    from .bagsource import BagSource

    if isinstance(source, RecordingSource):
        rig_yaml, cal_yaml = source.reader.rig_yaml, source.reader.calibration_yaml
        radars = [n for n in source.names if source.reader.streams[n].kind.startswith("radar")]
        ref = yaml.safe_load(rig_yaml)["reference"] if rig_yaml else (radars or source.names)[0]
        return rig_yaml, cal_yaml, ref
    if isinstance(source, BagSource):
        cal = source.calibration()
        return (
            source.rig.text if source.rig is not None else "",
            cal.to_yaml() if cal.transforms or cal.clock_offsets else "",
            source.reference,
        )
    raise DriversError(f"{source.name}: not a file source")


@dataclass
class ReplayResult:
    counts: ReplayCounts
    unreadable: dict[str, int]
    warnings: list[str]
    sync: Any = None  # drivers.sync.SyncReport when synchronising
    recorded: dict[str, int] | None = None
    error: str = ""  # why the replay stopped early (a damaged file), after its readable part


def replay_file(
    path: str | Path,
    *,
    rig: Rig | None = None,
    speed: float | None = 1.0,
    record: str | Path | None = None,
    sync_skew: float | None = None,
    clock: Clock | None = None,
    max_lag: float | None = None,
    progress: bool = False,
    consumer: Callable[[Frame], None] | None = None,
    on_streams: Callable[[dict[str, StreamSpec]], None] | None = None,
    **bag_options: Any,
) -> ReplayResult:
    """Replay a recording or bag once: pace it, optionally synchronise it (``sync_skew`` s, clock
    offsets from its calibration), record it to a new HDF5, and hand each frame to ``consumer``
    (``on_streams`` is told the streams before the first frame, e.g. to set that consumer up)."""
    from .calibfile import parse_calibration
    from .progress import progress as bar
    from .recording import RecordingWriter
    from .sync import Synchronizer

    if record is not None and Path(record).exists():
        raise DriversError(f"{record}: already exists; choose a new name")
    inner = open_recorded(path, rig, **bag_options)
    with ReplaySource(inner, speed, clock=clock, max_lag=max_lag) as src:
        rig_yaml, cal_yaml, ref = file_context(inner)
        specs = stream_specs(inner)
        if on_streams is not None:
            on_streams(specs)
        sync = None
        if sync_skew is not None:
            import yaml

            offsets = parse_calibration(yaml.safe_load(cal_yaml)).clock_offsets if cal_yaml else {}
            sync = Synchronizer(ref, list(specs), max_skew=sync_skew, clock_offsets=offsets)
        writer = None
        if record is not None:
            writer = RecordingWriter(
                record,
                rig_yaml=rig_yaml,
                calibration_yaml=cal_yaml,
                attrs={"source": f"replay of {Path(path).name}"},
            )
            for n, spec in specs.items():
                writer.add_stream(n, spec)
        error = ""
        try:
            frames = src.frames()
            total = _total(inner)
            try:
                for f in bar(frames, total=total, desc="replaying") if progress else frames:
                    if writer is not None:
                        writer.write(f)
                    if sync is not None:
                        sync.push(f)
                    if consumer is not None:
                        consumer(f)
            except DriversError as exc:  # a damaged file ends the replay after its readable part
                error = str(exc)
            if sync is not None:
                sync.flush()
        finally:
            if writer is not None:
                writer.close()
        unreadable = dict(getattr(inner, "dropped", {}))
        return ReplayResult(
            src.counts,
            unreadable,
            list(src.stats.warnings),
            sync.report if sync is not None else None,
            writer.counts if writer is not None else None,
            error,
        )


def _total(source: Source) -> int | None:
    from .bagsource import BagSource

    if isinstance(source, RecordingSource):
        return sum(source.reader.streams[n].frames for n in source.names)
    if isinstance(source, BagSource):
        return sum(b.messages for b in source.streams.values() if b.attrs.get("handler") != "scan")
    return None
