"""``radarpose replay --preprocess``: a bag's radar frames through sensing's preprocessing give
what ``radarpose preprocess`` gives for the recording the bag was exported from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from drivers import RecordingReader, RecordingWriter, load_rig
from drivers.bags import export_recording
from drivers.recording import RecordingSource
from drivers.sim import SimConfig, Simulation, simulate_to_recording
from fusion.cli import main
from sensing.preprocess import preprocess_recording

RADARS = ("radar-h", "radar-v")
DATASETS = {
    "hupr": ("heatmap",),
    "points": ("points", "points_count"),
    "microdoppler": ("doppler_range",),
}


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("replaypre") / "rec.h5"
    simulate_to_recording(
        Simulation(load_rig("hupr"), SimConfig(people=1, seconds=0.3, seed=4)),
        p,
        progress=False,
        sensors=[*RADARS, "groundtruth"],
    )
    return p


@pytest.fixture(scope="module")
def bag(rec: Path) -> Path:
    out = rec.with_name("rec_bag")
    export_recording(rec, out, ros2=True)
    return out


@pytest.mark.parametrize("mode", ["hupr", "points", "microdoppler"])
def test_replayed_bag_preprocesses_as_the_recording(
    rec: Path, bag: Path, tmp_path: Path, mode: str, capsys: Any
) -> None:
    want = tmp_path / "want.h5"
    preprocess_recording(rec, want, mode)
    got = tmp_path / "got.h5"
    args = ["-q", "replay", str(bag), "--rig", "hupr", "--speed", "max"]
    assert main([*args, "--preprocess", mode, "--out", str(got)]) == 0
    with RecordingReader(rec) as r:
        n = {s: r.streams[s].frames for s in RADARS}
    assert (
        f"preprocessed ({mode}): radar-h {n['radar-h']} frames, radar-v {n['radar-v']} frames"
        in (capsys.readouterr().out)
    )
    with h5py.File(want, "r") as a, h5py.File(got, "r") as b:
        assert set(b) == set(RADARS) and b.attrs["mode"] == mode
        for s in RADARS:
            assert b[s].attrs["done"] == n[s] > 1
            np.testing.assert_array_equal(b[s]["stamp_ns"][:], a[s]["stamp_ns"][:])
            for ds in DATASETS[mode]:
                x, y = b[s][ds][:], a[s][ds][:]
                assert x.shape == y.shape and x.dtype == y.dtype
                scale = np.abs(y).max() if y.size else 1.0
                np.testing.assert_allclose(x, y, rtol=0, atol=1e-5 * scale)


def test_replay_preprocess_errors(rec: Path, bag: Path, tmp_path: Path, capsys: Any) -> None:
    args = ["-q", "replay", str(bag), "--speed", "max"]
    assert main([*args, "--out", str(tmp_path / "x.h5")]) == 2
    assert "give --preprocess with it" in capsys.readouterr().out
    (tmp_path / "old.h5").write_bytes(b"")
    assert main([*args, "--preprocess", "hupr", "--out", str(tmp_path / "old.h5")]) == 2
    assert "old.h5: already exists" in capsys.readouterr().err
    # a bag of skeletons only: nothing to preprocess, said so
    sk = tmp_path / "sk.h5"
    src = RecordingSource(rec)
    with RecordingWriter(sk, rig_yaml=src.reader.rig_yaml) as w:
        w.add_stream("groundtruth", src.reader.spec("groundtruth"))
        for f in src.frames():
            if f.sensor == "groundtruth":
                w.write(f)
    src.close()
    assert main(["-q", "replay", str(sk), "--speed", "max", "--preprocess", "points"]) == 2
    assert "no raw radar (ADC) stream to preprocess (streams: groundtruth skeleton)" in (
        capsys.readouterr().err
    )
