"""Live inference: a board (or its emulator) streams frames; skeletons come out with latency and drop counts.

A reader thread takes frames from the source as they arrive and puts them on a bounded queue; the
inference loop takes the newest pair. When inference falls behind, the oldest frames are dropped
and counted (never silently), so latency stays bounded. The emulated board replays frames
synthesised beforehand at the radar's frame rate, so the run measures the pipeline, not the
simulator.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drivers import DriversError, Frame, RecordingWriter, Source, SourceStats, StreamSpec
from drivers.sim import SimConfig, Simulation

from .pipeline import PosePipeline
from .pose import Person3D


class EmulatedBoard:
    """Pre-synthesised radar frames of a rig replayed at their stamps' pace (a Source)."""

    def __init__(
        self,
        sim: Simulation,
        sensors: list[str],
        vanish_after: float | None = None,
        repeat_for: float | None = None,
    ) -> None:
        self.name = f"emulated:{sim.rig.name}"
        self.stats = SourceStats()
        self.frames_ = list(sim.frames(sensors))
        self.vanish_after = vanish_after
        self.repeat_for = repeat_for  # loop the clip, with fresh stamps and counters, this long (s)
        self.clip_ns = int(round(sim.cfg.seconds * 1e9))

    def _schedule(self) -> Iterator[Frame]:
        if self.repeat_for is None:
            yield from self.frames_
            return
        first = self.frames_[0].stamp_ns
        for loop in range(1_000_000):
            for f in self.frames_:
                shift = loop * self.clip_ns
                if (f.stamp_ns + shift - first) / 1e9 > self.repeat_for:
                    return
                counter = f.counter + loop * len(self.frames_)
                yield Frame(f.sensor, f.kind, f.stamp_ns + shift, counter, f.data, f.flags)

    def frames(self) -> Iterator[Frame]:
        t0 = time.monotonic()
        first = self.frames_[0].stamp_ns if self.frames_ else 0
        for f in self._schedule():
            due = (f.stamp_ns - first) / 1e9
            if self.vanish_after is not None and due > self.vanish_after:
                raise DriversError(
                    f"{self.name}: the board stopped sending; check its power and cable"
                )
            wait = due - (time.monotonic() - t0)
            if wait > 0:
                time.sleep(wait)
            self.stats.frames += 1
            yield f

    def close(self) -> None:
        pass


@dataclass
class LiveStats:
    processed: int = 0
    dropped: int = 0
    max_backlog: int = 0
    latency_s: list[float] = field(default_factory=list)
    pair_wait_s: list[float] = field(default_factory=list)
    error: str = ""


def run_live(
    pipe: PosePipeline,
    source: Source,
    *,
    record: Path | None = None,
    status: bool = True,
    queue_size: int = 8,
    view: object | None = None,
) -> LiveStats:
    """Run until the source ends or fails; returns counts and per-frame latency (arrival → skeletons).

    ``view``: a :class:`fusion.liveview.LiveView` that draws each frame's skeletons.

    Arrival is the frame's stamp when the source stamps host wall-clock time on arrival
    (``wall_clock_stamps``, e.g. DCA1000 frames stamped at their last UDP packet), so latency is
    bytes in → skeletons out; otherwise the moment the reader thread received the frame.
    """
    wall = bool(getattr(source, "wall_clock_stamps", False))
    q: queue.Queue[tuple[Frame, float] | None] = queue.Queue()
    stats = LiveStats()
    stop = threading.Event()

    def reader() -> None:
        try:
            for f in source.frames():
                if stop.is_set():
                    break
                q.put((f, f.stamp_ns / 1e9 if wall else time.time()))
                while q.qsize() > queue_size:  # inference is behind: drop the oldest, count it
                    try:
                        q.get_nowait()
                        stats.dropped += 1
                    except queue.Empty:
                        break
        except DriversError as exc:
            stats.error = str(exc)
        finally:
            q.put(None)

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    writer = None
    if record is not None:
        writer = RecordingWriter(record, rig_yaml=pipe.rig.text)
        writer.add_stream(
            "skeletons",
            StreamSpec(
                "skeleton",
                ragged={"joints": (15 * 3 + 1, np.dtype(np.float32))},
                fields=("15x3 joints (m) then score",),
            ),
        )
    pending: dict[str, tuple[Frame, float]] = {}
    last_print = time.monotonic()
    try:
        while True:
            item = q.get()
            if item is None:
                break
            stats.max_backlog = max(stats.max_backlog, q.qsize())
            f, arrived = item
            if f.kind != "radar_adc":
                continue
            pending[f.sensor] = (f, arrived)
            if pipe.h not in pending or (pipe.v is not None and pipe.v not in pending):
                continue
            fh, ah = pending.pop(pipe.h)
            fv, av = pending.pop(pipe.v) if pipe.v is not None else (None, ah)
            people: list[Person3D] = pipe.process(
                fh.data["adc"], fv.data["adc"] if fv is not None else None
            )
            # from the frame that completes the pair; the wait for the other radar is the rig's own
            # frame offset between its unsynchronised radars, reported separately
            stats.latency_s.append(time.time() - max(ah, av))
            stats.pair_wait_s.append(abs(ah - av))
            stats.processed += 1
            if writer is not None:
                rows = np.array(
                    [np.append(p.joints.reshape(-1), p.score) for p in people], np.float32
                ).reshape(-1, 46)
                writer.write(
                    Frame("skeletons", "skeleton", fh.stamp_ns, fh.counter, {"joints": rows})
                )
            if view is not None:  # a fusion.liveview.LiveView; it throttles its own drawing
                view.update([p.joints for p in people], f"frame {stats.processed}")  # type: ignore[attr-defined]
            if status and time.monotonic() - last_print > 1.0:
                last_print = time.monotonic()
                lat = 1000 * np.array(stats.latency_s[-20:])
                t = pipe.timer.summary_ms()
                sys.stderr.write(
                    f"\rframes {stats.processed}  people {len(people)}  latency p50 {np.median(lat):.0f} ms  "
                    f"heatmaps {t['heatmaps']['mean']:.0f} ms  model {t['model']['mean']:.0f} ms  dropped {stats.dropped}  "
                    f"lost in transport {source.stats.dropped}  backlog {q.qsize()}   "
                )
    finally:
        stop.set()
        if writer is not None:
            writer.close()
        if status:
            sys.stderr.write("\n")
    return stats


def emulated_board(
    rig_name: str,
    seconds: float,
    seed: int = 0,
    people: int = 2,
    vanish_after: float | None = None,
    repeat_for: float | None = None,
) -> tuple[Simulation, EmulatedBoard]:
    from drivers import load_rig

    rig = load_rig(rig_name)
    sim = Simulation(
        rig, SimConfig(people=people, seconds=seconds, seed=seed, motions=["walk", "wave"])
    )
    return sim, EmulatedBoard(sim, rig.sensors_of("radar"), vanish_after, repeat_for)
