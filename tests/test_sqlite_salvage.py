"""Cut-short and corrupted ROS2 sqlite3 bags: the rows before the damage are replayed exactly,
never a zero-filled or half-written one, then an error names the file and where reading stopped."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_bag_import import T0, Build, write_bag

from drivers import DriversError
from drivers.bagsource import BagSource

PAGE = 4096


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~50 messages on three topics: radar clouds and ADC frames fit in a B-tree page, images
    (6 kB) spill onto overflow pages; the last message is an image."""
    b = Build(True)
    rng = np.random.default_rng(3)
    msgs: list[tuple[str, str, Any, int]] = []
    for i in range(25):
        t = T0 + i * 50_000_000
        pts = rng.normal(size=(20, 5)).astype(np.float32)
        msgs.append(
            (
                "/ti_mmwave/radar_scan_pcl",
                "sensor_msgs/msg/PointCloud2",
                b.ti_cloud(t, pts),
                t + 1000,
            )
        )
        if i % 2 == 0:
            adc = rng.integers(-2000, 2000, 300, np.int16)
            msgs.append(
                ("/dca/adc", "radarpose_msgs/msg/RadarAdc", b.adc(t + 5, i + 1, adc), t + 2000)
            )
        if i % 3 == 0 or i == 24:
            img = rng.integers(1, 255, (40, 50, 3), np.uint8)
            msgs.append(
                ("/cam/image_raw", "sensor_msgs/msg/Image", b.image(t + 7, img, "rgb8"), t + 3000)
            )
    path = tmp_path_factory.mktemp("sqlite") / "rec"
    write_bag(path, True, "sqlite3", msgs)
    return path


def frames_of(path: Path) -> tuple[list[Any], str]:
    got: list[Any] = []
    try:
        with BagSource(path) as src:
            got.extend(src.frames())
    except DriversError as exc:
        return got, str(exc)
    return got, ""


@pytest.fixture(scope="module")
def full(bag: Path) -> list[Any]:
    frames, err = frames_of(bag)
    assert err == "" and len(frames) == 25 + 13 + 9
    return frames


def damaged(bag: Path, tmp_path: Path, edit: Any) -> Path:
    out = tmp_path / bag.name
    tmp_path.mkdir(exist_ok=True)
    shutil.copytree(bag, out)
    db = out / "rec.db3"
    db.write_bytes(edit(bytearray(db.read_bytes())))
    return out


def assert_prefix(got: list[Any], full: list[Any]) -> None:
    """Per sensor, the frames are the whole bag's first ones: same stamps, counters, arrays."""
    assert 0 < len(got) < len(full)
    for sensor in {f.sensor for f in full}:
        a = [f for f in got if f.sensor == sensor]
        b = [f for f in full if f.sensor == sensor][: len(a)]
        for x, y in zip(a, b, strict=True):
            assert (x.stamp_ns, x.counter) == (y.stamp_ns, y.counter)
            assert x.data.keys() == y.data.keys()
            for k, v in x.data.items():
                assert v.any()  # never a zero-filled frame
                np.testing.assert_array_equal(v, y.data[k])


@pytest.mark.parametrize("frac", [0.6, 0.85])
def test_cut_short_bag_replays_its_rows_before_the_cut(
    bag: Path, full: list[Any], tmp_path: Path, frac: float
) -> None:
    cut = damaged(bag, tmp_path, lambda d: d[: int(len(d) * frac)])
    got, err = frames_of(cut)
    assert_prefix(got, full)
    assert f"{cut}: damaged bag, replayed up to the damage" in err
    assert "rec.db3: " in err and f"after {len(got)} good messages" in err
    # nothing readable lost beyond the page being written: the cut keeps frac of the file
    assert len(got) > frac * len(full) - 10


def test_no_half_written_message_passes_at_any_cut(
    bag: Path, full: list[Any], tmp_path: Path
) -> None:
    """Cut inside every page that holds messages: what SQLite reads past the cut (the padding)
    comes back without an error as the tail of a message; such a message must not pass."""
    with sqlite3.connect(bag / "rec.db3") as db:
        pages = [p for (p,) in db.execute("SELECT pageno FROM dbstat WHERE name = 'messages'")]
    reasons = []
    for page in sorted(pages)[3:]:  # from the second leaf on (before it, no message is left)
        for at in (PAGE - 8,):
            cut = damaged(bag, tmp_path / f"{page}-{at}", lambda d, n=(page - 1) * PAGE + at: d[:n])
            got, err = frames_of(cut)
            assert_prefix(got, full)
            assert f"after {len(got)} good messages" in err
            reasons.append(err.rsplit("rec.db3: ", 1)[1])
    assert any("runs past the end of the file" in r for r in reasons)


@pytest.mark.parametrize("fill", ["random", "zeros"])
def test_corrupted_page_stops_the_replay_there(
    bag: Path, full: list[Any], tmp_path: Path, fill: str
) -> None:
    with sqlite3.connect(bag / "rec.db3") as db:
        leaves = [
            p
            for (p,) in db.execute(
                "SELECT pageno FROM dbstat WHERE name = 'messages' AND pagetype = 'leaf' ORDER BY pageno"
            )
        ]
    page = leaves[len(leaves) // 2]
    junk = np.random.default_rng(1).integers(0, 256, PAGE, np.uint8).tobytes()

    def corrupt(d: bytearray) -> bytearray:
        d[(page - 1) * PAGE : page * PAGE] = junk if fill == "random" else bytes(PAGE)
        return d

    got, err = frames_of(damaged(bag, tmp_path, corrupt))
    assert_prefix(got, full)
    assert "rec.db3: " in err and f"after {len(got)} good messages" in err


def test_cdr_header_overwritten_in_a_row_is_damage(
    bag: Path, full: list[Any], tmp_path: Path
) -> None:
    with sqlite3.connect(bag / "rec.db3") as db:
        (blob,) = db.execute("SELECT data FROM messages WHERE id = 30").fetchone()

    def corrupt(d: bytearray) -> bytearray:
        i = bytes(d).index(blob[:200])
        d[i : i + 4] = b"\xff\xff\x00\x00"
        return d

    got, err = frames_of(damaged(bag, tmp_path, corrupt))
    # the page structure is intact: rosbags reads the bag and fails on that row
    assert len(got) == 29 and "rec: bag damaged, reading stopped after 29 messages" in err
    assert "CDR encapsulation" in err
    assert_prefix(got, full)


@pytest.mark.parametrize("meta", ["missing", "corrupt", "db3 alone"])
def test_bag_without_a_readable_metadata_yaml_is_read_from_its_db3(
    bag: Path, full: list[Any], tmp_path: Path, meta: str
) -> None:
    out = tmp_path / "rec"
    shutil.copytree(bag, out)
    if meta == "corrupt":
        (out / "metadata.yaml").write_text("rosbag2_bagfile_information: [\n")
    else:
        (out / "metadata.yaml").unlink()
    with BagSource(out / "rec.db3" if meta == "db3 alone" else out) as src:
        got = list(src.frames())
        # rosbags reads a lone .db3 itself; a folder without metadata.yaml is read row by row
        salvaged = any("no damage found" in w for w in src.stats.warnings)
        assert salvaged == (meta != "db3 alone")
    assert len(got) == len(full)
    for x, y in zip(got, full, strict=True):
        assert (x.sensor, x.stamp_ns, x.counter) == (y.sensor, y.stamp_ns, y.counter)
        for k, v in x.data.items():
            np.testing.assert_array_equal(v, y.data[k])


def test_import_keeps_the_readable_part_and_replay_reports_it(
    bag: Path, full: list[Any], tmp_path: Path, capsys: Any
) -> None:
    from drivers import RecordingReader
    from fusion.cli import main

    cut = damaged(bag, tmp_path, lambda d: d[: int(len(d) * 0.7)])
    n = len(frames_of(cut)[0])
    assert main(["-q", "import", str(cut), str(tmp_path / "half.h5")]) == 2
    with RecordingReader(tmp_path / "half.h5") as r:
        assert sum(s.frames for s in r.streams.values()) == n
    capsys.readouterr()
    assert main(["-q", "replay", str(cut), "--speed", "max"]) == 1
    out = capsys.readouterr().out
    assert "stopped: " in out and "rec.db3: " in out


def test_db3_without_a_whole_sqlite_header_is_a_clear_error(bag: Path, tmp_path: Path) -> None:
    cut = damaged(bag, tmp_path, lambda d: d[:50])
    with pytest.raises(
        DriversError, match=r"rec: not a readable ROS bag \(.*rec\.db3: not an SQLite"
    ):
        BagSource(cut)
