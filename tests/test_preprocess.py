"""radarpose preprocess: HuPR folder drop-in and recordings, with resume."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from drivers import RecordingReader, load_rig
from drivers.sim import SimConfig, Simulation, simulate_to_recording
from sensing import HuprHeatmapper, cube_from_words
from sensing.preprocess import preprocess_recording

RIG = load_rig("hupr")


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("pre") / "rec.h5"
    simulate_to_recording(
        Simulation(RIG, SimConfig(people=1, seconds=0.3, seed=9)),
        p,
        progress=False,
        sensors=["radar-h", "radar-v", "groundtruth"],
    )
    return p


def test_hupr_folder_drop_in(rec: Path, tmp_path: Path) -> None:
    seq = tmp_path / "single_1"
    with RecordingReader(rec) as r:
        for view, stream in (("hori", "radar-h"), ("vert", "radar-v")):
            (seq / view).mkdir(parents=True)
            words = r.read(stream, "adc")
            # a capture cut short leaves a partial frame at the end
            np.concatenate([words.reshape(-1), np.ones(100, np.int16)]).tofile(
                seq / view / "adc_data.bin"
            )
        expect = HuprHeatmapper(RIG.radars["radar-h"])(
            cube_from_words(r.read("radar-h", "adc", 2), RIG.radars["radar-h"])
        )
    out = tmp_path / "data" / "single_1"
    cmd = [sys.executable, "-m", "fusion.cli", "-q", "preprocess", str(seq), "--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "200 trailing bytes are not a whole frame" in p.stderr
    files = sorted((out / "hori").glob("*.npy"))
    assert [f.name for f in files] == ["000000000.npy", "000000001.npy", "000000002.npy"]
    got = np.load(out / "hori" / "000000002.npy")
    assert got.shape == (16, 64, 64, 8)
    # float32 matrix products round differently with the BLAS thread count of each process
    np.testing.assert_allclose(got, expect, rtol=0, atol=1e-5 * np.abs(expect).max())
    # resume: a deleted frame is recomputed, the others are left alone
    (out / "vert" / "000000001.npy").unlink()
    mtime = (out / "hori" / "000000000.npy").stat().st_mtime_ns
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0
    assert (out / "vert" / "000000001.npy").exists() and (
        out / "hori" / "000000000.npy"
    ).stat().st_mtime_ns == mtime


def test_recording_to_heatmaps_and_points_resumes(rec: Path, tmp_path: Path) -> None:
    out = tmp_path / "hm.h5"
    assert preprocess_recording(rec, out, "hupr") == {"radar-h": 3, "radar-v": 3}
    with h5py.File(out, "r") as f:
        ref = f["radar-h/heatmap"][1]
    with h5py.File(out, "a") as f:  # emulate an interruption after frame 0
        f["radar-h"].attrs["done"] = 1
        f["radar-h/heatmap"][1:] = 0
    preprocess_recording(rec, out, "hupr")
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(f["radar-h/heatmap"][1], ref)
    pts = tmp_path / "pts.h5"
    preprocess_recording(rec, pts, "points")
    with h5py.File(pts, "r") as f:
        n = f["radar-h/points_count"][:]
        assert len(n) == 3 and n.sum() == len(f["radar-h/points"]) > 0
        assert list(f["radar-h"].attrs["fields"]) == ["x", "y", "z", "velocity", "snr_db"]


def test_bad_inputs(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "fusion.cli", "preprocess", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "adc_data.bin: not found" in r.stderr
