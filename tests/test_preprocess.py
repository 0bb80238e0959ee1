"""radarpose preprocess: HuPR and RT-Pose folder drop-ins and recordings, with resume."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from drivers import RecordingReader, load_rig, pack_frame, unpack_frame, write_mmwcas_capture
from drivers.sim import SimConfig, Simulation, simulate_to_recording
from sensing import HuprHeatmapper, RtposeProcessor, cube_from_words, training_tensor
from sensing.preprocess import preprocess_recording, rtpose_sequence_to_npy

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


@pytest.fixture(scope="module")
def rtpose_rec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("rt") / "rec.h5"
    sim = Simulation(load_rig("rtpose"), SimConfig(people=1, seconds=0.2, seed=3))
    simulate_to_recording(sim, p, progress=False, sensors=["radar"])
    return p


def test_recording_to_rtpose_roi_resumes(rtpose_rec: Path, tmp_path: Path) -> None:
    out = tmp_path / "rt.h5"
    cmd = [sys.executable, "-m", "fusion.cli", "-q", "preprocess", str(rtpose_rec), "--to"]
    r = subprocess.run([*cmd, "rtpose", "--resampler", "physical", "--out", str(out)],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    rig = load_rig("rtpose")
    proc = RtposeProcessor(rig.radars["radar"], resampler="physical")
    with RecordingReader(rtpose_rec) as rec, h5py.File(out, "r") as f:
        assert f["radar/roi"].shape == (2, 32, 16, 64, 160) and f["radar"].attrs["done"] == 2
        want = proc.roi(cube_from_words(rec.read("radar", "adc", 1), rig.radars["radar"]))
        np.testing.assert_allclose(f["radar/roi"][1], want, rtol=2e-3)  # another process
        assert f["radar"].attrs["resampler"] == "physical"
    with h5py.File(out, "a") as f:  # emulate an interruption after frame 0
        f["radar"].attrs["done"] = 1
        f["radar/roi"][1] = 0
    assert preprocess_recording(rtpose_rec, out, "rtpose", resampler="physical") == {"radar": 2}
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(f["radar/roi"][1], want)


def test_rtpose_folder_writes_its_npy_files(tmp_path: Path) -> None:
    radar = load_rig("rtpose").radars["radar"].replace(n_loops=2)
    frames = [
        (rng.normal(0, 300, radar.frame_shape) + 1j * rng.normal(0, 300, radar.frame_shape))
        for rng in (np.random.default_rng(i) for i in range(3))
    ]
    write_mmwcas_capture(tmp_path / "seq" / "radar" / "bin", frames, radar)
    out = tmp_path / "out"
    counts = rtpose_sequence_to_npy(tmp_path / "seq", out, radar=radar)
    assert counts == {"complex": 2, "f16": 2}  # the first frame is skipped, as RT-Pose does
    names = sorted(p.name for p in (out / "DZYX_npy_f16").iterdir())
    assert names == ["000002.npy", "000003.npy"]
    cube = np.load(out / "radar" / "npy_DZYX_complex" / "000003.npy")
    assert cube.shape == (2, 32, 128, 256) and cube.dtype == np.complex64
    want = RtposeProcessor(radar).dzyx(unpack_frame(pack_frame(frames[2], radar), radar))
    np.testing.assert_array_equal(cube, want)
    np.testing.assert_array_equal(
        np.load(out / "DZYX_npy_f16" / "000003.npy"), training_tensor(want)
    )
    (out / "DZYX_npy_f16" / "000002.npy").unlink()  # resume: only the missing file is written
    assert rtpose_sequence_to_npy(tmp_path / "seq", out, radar=radar) == {"complex": 0, "f16": 1}
    # the command reads the folder with RT-Pose's 64-loop profile (1,572,864 int16 words a chip)
    r = subprocess.run(
        [sys.executable, "-m", "fusion.cli", "preprocess", str(tmp_path / "seq"), "--no-complex"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "expects 3145728 B" in r.stderr, r.stderr
