"""Replay pacing on an injected clock, and replay → record giving back the same frames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from drivers import DriversError, Frame, RecordingReader, RecordingWriter, StreamSpec
from drivers.bags import export_recording
from drivers.recording import RecordingSource
from drivers.replay import Clock, ReplaySource, parse_speed, replay_file

MS = 1_000_000
T0 = 1_700_000_000_000_000_000


class FakeClock:
    """A clock that only moves when slept on (or pushed by a slow consumer)."""

    def __init__(self) -> None:
        self.t = 100.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s

    def clock(self) -> Clock:
        return Clock(now=self.now, sleep=self.sleep)


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """radar every 100 ms from 0, camera every 100 ms from 30 ms, LiDAR every 250 ms from 60 ms."""
    p = tmp_path_factory.mktemp("replay") / "rec.h5"
    rng = np.random.default_rng(2)
    frames = []
    for i in range(6):
        adc = rng.integers(-100, 100, 8, np.int16)
        frames.append(Frame("radar", "radar_adc", T0 + i * 100 * MS, i + 1, {"adc": adc}))
        img = rng.integers(0, 255, (2, 2, 3), np.uint8)
        frames.append(Frame("camera", "image", T0 + (30 + i * 100) * MS, i, {"image": img}))
    for i in range(3):
        pts = rng.normal(size=(i + 2, 4)).astype(np.float32)
        frames.append(Frame("lidar", "lidar", T0 + (60 + i * 250) * MS, i, {"points": pts}))
    with RecordingWriter(p) as w:
        w.add_stream(
            "radar",
            StreamSpec(
                "radar_adc", fixed={"adc": ((8,), np.dtype(np.int16))}, attrs={"layout": "x"}
            ),
        )
        w.add_stream(
            "camera", StreamSpec("image", fixed={"image": ((2, 2, 3), np.dtype(np.uint8))})
        )
        w.add_stream(
            "lidar",
            StreamSpec(
                "lidar",
                ragged={"points": (4, np.dtype(np.float32))},
                fields=("x", "y", "z", "intensity"),
            ),
        )
        for f in sorted(frames, key=lambda f: f.stamp_ns):
            w.write(f)
    return p


ALL_MS = sorted([i * 100 for i in range(6)] + [30 + i * 100 for i in range(6)] + [60, 310, 560])


@pytest.mark.parametrize("speed", [1.0, 2.0, 0.5])
def test_frames_leave_on_the_schedule_of_their_stamps(rec: Path, speed: float) -> None:
    fc = FakeClock()
    with ReplaySource(RecordingSource(rec), speed, clock=fc.clock()) as src:
        left = [(f.stamp_ns, fc.now()) for f in src.frames()]
    assert [s for s, _ in left] == [T0 + m * MS for m in ALL_MS]
    # each frame leaves (stamp - first stamp) / speed after the first, on the replay clock
    np.testing.assert_allclose([t - 100.0 for _, t in left], np.array(ALL_MS) / 1000 / speed)
    np.testing.assert_allclose(src.schedule, np.array(ALL_MS) / 1000 / speed)
    assert src.counts.frames == {"radar": 6, "camera": 6, "lidar": 3}


def test_max_speed_never_sleeps(rec: Path) -> None:
    fc = FakeClock()
    with ReplaySource(RecordingSource(rec), None, clock=fc.clock()) as src:
        n = sum(1 for _ in src.frames())
    assert n == 15 and fc.sleeps == []


def test_a_slow_consumer_loses_late_frames_and_they_are_counted(rec: Path) -> None:
    fc = FakeClock()
    with ReplaySource(
        RecordingSource(rec), 1.0, clock=fc.clock(), max_lag=0.1, sensors=["radar"]
    ) as src:
        got = []
        for f in src.frames():
            got.append(f.counter)
            fc.t += 0.27  # the consumer needs 270 ms per frame, radar frames come every 100 ms
    # counters 1..6 are due at 0, 0.1, ..., 0.5 s. 1 leaves at 0 (consumer done at 0.27), so 2 is
    # 170 ms late (dropped), 3 70 ms (kept; done at 0.54), 4 and 5 240 and 140 ms, 6 40 ms late
    assert got == [1, 3, 6]
    assert src.counts.late_dropped == {"radar": 3} and src.stats.dropped == 3
    assert src.counts.max_lag_s == pytest.approx(0.07)


def test_speed_parsing() -> None:
    assert parse_speed("max") is None and parse_speed("2") == 2.0 and parse_speed("0.5x") == 0.5
    with pytest.raises(DriversError, match="must be a finite factor > 0"):
        parse_speed("0")
    with pytest.raises(DriversError, match="expected a factor"):
        parse_speed("fast")


def frames_of(path: Path) -> dict[str, list[Frame]]:
    with RecordingReader(path) as r:
        return {n: list(r.frames(n)) for n in r.streams}


def assert_same(
    a: dict[str, list[Frame]], b: dict[str, list[Frame]], keys: dict[str, set[str]]
) -> None:
    assert set(a) == set(b)
    for n in a:
        assert len(a[n]) == len(b[n])
        for fa, fb in zip(a[n], b[n], strict=True):
            assert (fa.stamp_ns, fa.counter, fa.flags) == (fb.stamp_ns, fb.counter, fb.flags)
            for k in keys.get(n, set(fa.data)):
                np.testing.assert_array_equal(fa.data[k], fb.data[k])


def test_replay_and_record_gives_back_the_recording(rec: Path, tmp_path: Path) -> None:
    out = tmp_path / "again.h5"
    res = replay_file(rec, speed=None, record=out)
    assert res.recorded == {"radar": 6, "camera": 6, "lidar": 3}
    assert_same(frames_of(rec), frames_of(out), {})
    with RecordingReader(rec) as a, RecordingReader(out) as b:
        for n in a.streams:
            assert b.spec(n) == a.spec(n)


def test_bag_replay_records_what_the_recording_held(rec: Path, tmp_path: Path) -> None:
    bag, out = tmp_path / "r.bag", tmp_path / "from_bag.h5"
    export_recording(rec, bag)
    seen: list[Any] = []
    res = replay_file(bag, speed=None, record=out, sync_skew=0.04, consumer=seen.append)
    assert [f.stamp_ns for f in seen] == [T0 + m * MS for m in ALL_MS]
    assert_same(frames_of(rec), frames_of(out), {})
    # camera frames sit 30 ms after radar frames; LiDAR (60, 310, 560 ms) is within 40 ms of the
    # radar frames at 100 and 300 ms only
    r = res.sync
    assert r.reference == "radar" and r.matched == {"camera": 6, "lidar": 2}
    assert r.missing == {"camera": 0, "lidar": 4} and r.unmatched == {"camera": 0, "lidar": 1}


def test_replay_cli_prints_counts(rec: Path, tmp_path: Path, capsys: Any) -> None:
    from fusion.cli import main

    assert main(["-q", "replay", str(rec), "--speed", "max", "--sync", "0.04"]) == 0
    out = capsys.readouterr().out
    assert "radar: 6 frames, dropped 0 late and 0 unreadable" in out
    assert "lidar: 3 frames, matched 2 reference frames, missing for 4, unmatched 1" in out
    assert main(["-q", "replay", str(rec), "--speed", "-1"]) == 2
    assert "must be a finite factor" in capsys.readouterr().err
    assert main(["-q", "replay", str(tmp_path / "nope.bag")]) == 2
