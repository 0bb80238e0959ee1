"""Datasets over tiny HuPR and RT-Pose trees and a simulated recording: contents, cache reuse, workers."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from drivers import RecordingReader, find_config, load_radar_config
from drivers.adcfile import write_mmwcas_capture
from drivers.hupr_tree import HuprLabel, write_annotations, write_sequence
from drivers.sim import SimConfig, Simulation, simulate_to_recording
from fusion.data.datasets import HuprDataset, RecordingDataset, RtposeDataset
from fusion.features import radar_features
from sensing import HuprHeatmapper
from sensing.checks import cube_from_words
from sensing.hupr import network_input
from sensing.rtpose import RtposeProcessor

MINI = {"train": (5,), "val": (), "test": (2, 5)}


def batches(ds: torch.utils.data.Dataset, workers: int) -> list[dict]:
    return list(DataLoader(ds, batch_size=2, shuffle=False, num_workers=workers))


def assert_same_batches(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            if torch.is_tensor(x[k]):
                torch.testing.assert_close(x[k], y[k], rtol=0, atol=0, equal_nan=True)
            else:
                assert x[k] == y[k]


@pytest.fixture(scope="module")
def hupr(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("hupr")
    rng = np.random.default_rng(0)
    radar = load_radar_config(find_config("hupr_iwr1843", "radars"))
    words = radar.adc_words_per_frame
    raw = {}
    for seq, n in ((2, 3), (5, 2)):
        h = rng.integers(-500, 500, (n, words)).astype(np.int16)
        v = rng.integers(-500, 500, (n, words)).astype(np.int16)
        write_sequence(root, seq, h, v)
        raw[seq] = (h, v)
    labels = {
        2: [HuprLabel(2, k, f"{k:09d}.jpg", rng.uniform(20, 230, (14, 2)).astype(np.float32),
                      np.float32([10, 20, 200, 240])) for k in (0, 2)],
        5: [HuprLabel(5, 1, "000000001.jpg", rng.uniform(20, 230, (14, 2)).astype(np.float32),
                      np.float32([5, 6, 100, 200]))],
    }  # fmt: skip
    past_end = HuprLabel(5, 7, "000000007.jpg", labels[5][0].joints, labels[5][0].bbox)
    write_annotations(root, "test", {2: labels[2], 5: [*labels[5], past_end]}, MINI["test"])
    write_annotations(root, "train", {5: labels[5]}, MINI["train"])
    return {"root": root, "radar": radar, "raw": raw}


def test_hupr_dataset_inputs_labels_cache_and_workers(hupr: dict, tmp_path: Path) -> None:
    cache = tmp_path / "hupr.h5"
    ds = HuprDataset(hupr["root"], "test", cache, splits=MINI)
    assert ds.computed == 5  # every frame of both sequences (windows need the unlabelled ones)
    assert len(ds) == 3 and ds.dropped == 1 and ds.missing == []  # frame 7 of 2 has no radar data
    with h5py.File(cache) as f:
        assert f["hori"].chunks == (1, 8, 64, 64, 8)
    # labels as the JSON has them, in the split's order
    doc = json.loads((hupr["root"] / "hrnet_annot_test.json").read_text())
    items = [ds[i] for i in range(3)]
    assert [(it["seq"], it["frame"]) for it in items] == [(2, 0), (2, 2), (5, 1)]
    np.testing.assert_array_equal(items[2]["joints"].numpy(), np.float32(doc[1][0]["joints"]))
    np.testing.assert_array_equal(items[1]["bbox"].numpy(), np.float32(doc[0][1]["bbox"]))
    # a target heatmap peaks (1) at the joint's 64-grid cell
    u, v = doc[0][0]["joints"][3]
    assert float(items[0]["heatmap"][3, int(v / 4 + 0.5), int(u / 4 + 0.5)]) == 1.0
    # the input equals sensing.hupr.network_input over the whole sequence's heatmaps
    radar = hupr["radar"]
    hm = HuprHeatmapper(radar)
    for k in (0, 1):  # hori, vert
        seq_hm = np.stack([hm(cube_from_words(w, radar)) for w in hupr["raw"][2][k]])
        want, _ = network_input(seq_hm, 2)
        np.testing.assert_allclose(items[1]["input"][k].numpy(), want, atol=1e-4)
    assert items[1]["input"].shape == (2, 8, 8, 2, 64, 64, 8)
    # reused: no preprocessing, file untouched
    mtime = cache.stat().st_mtime_ns
    again = HuprDataset(hupr["root"], "test", cache, splits=MINI)
    assert again.computed == 0 and cache.stat().st_mtime_ns == mtime
    # resumed: an interrupted build (done = 2) computes only the rest
    ds.close()
    with h5py.File(cache, "a") as f:
        f.attrs["done"] = 2
    assert HuprDataset(hupr["root"], "test", cache, splits=MINI).computed == 3
    # several workers read the same samples as the main process
    assert_same_batches(batches(again, 2), batches(again, 0))


@pytest.fixture(scope="module")
def rtpose(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("rtpose")
    rng = np.random.default_rng(1)
    (root / "file_meta.txt").write_text("3,2023_0801_1000\n8,2023_0718_1642\n")
    poses = (rng.normal(0, 0.3, (3, 15, 3)) + [3.0, 0.0, 0.5]).round(4)
    train = {
        "3": {"000001": [{"Radar_frameID": "000002", "pose": poses[0].tolist()}],
              "000002": [{"Radar_frameID": "000003", "pose": poses[1].tolist()}]},
        "8": {"000001": [{"Radar_frameID": "000002", "pose": poses[2].tolist()}]},  # skipped
    }  # fmt: skip
    (root / "Train.json").write_text(json.dumps(train))
    marks = {2: ((5, 13, 32, 17), 3.0), 3: ((31, 28, 95, 176), 0.5)}  # ROI corners (z, y, x)
    for s in ("3", "8"):
        d = root / "sequences" / s / "DZYX_npy_f16"
        d.mkdir(parents=True)
        for rid, ((c, z, y, x), val) in marks.items():
            a = np.lib.format.open_memmap(
                d / f"{rid:06d}.npy", "w+", np.float16, (32, 32, 128, 256)
            )
            a[c, z, y, x] = val
            a[c, 0, 0, 0] = 9.0  # outside the ROI
            del a
    # a raw capture for sequence 3: frame 0 noise, frame 1 a point target; Test.json labels id 2
    radar = load_radar_config(find_config("rtpose_mmwcas", "radars"))
    shape = (radar.n_loops, radar.n_tx, radar.n_rx, radar.n_samples)
    noise = (rng.normal(0, 30, shape) + 1j * rng.normal(0, 30, shape)).astype(np.complex64)
    tone = np.exp(2j * np.pi * 0.2 * np.arange(radar.n_samples)) * 2000
    # integer-valued complex64, as the int16 files hold them and the reader returns them
    frames = [np.round(noise), np.round(noise + tone).astype(np.complex64)]
    write_mmwcas_capture(root / "sequences/3/radar/bin", frames, radar)
    test = {"3": {"000001": [{"Radar_frameID": "000002", "pose": poses[0].tolist()}]}}
    (root / "Test.json").write_text(json.dumps(test))
    return {"root": root, "poses": poses, "marks": marks, "radar": radar, "frames": frames}


def test_rtpose_dataset_roi_labels_cache_and_workers(rtpose: dict, tmp_path: Path) -> None:
    cache = tmp_path / "rt.h5"
    ds = RtposeDataset(rtpose["root"], "train", cache)
    assert ds.computed == 2 and len(ds) == 2  # the skipped sequence 8 is left out
    it = [ds[0], ds[1]]
    for item, rid, pose in zip(it, (2, 3), rtpose["poses"][:2], strict=True):
        assert item["input"].shape == (32, 16, 64, 160) and item["input"].dtype == torch.float32
        assert item["radar_frame"] == rid and item["seq"] == "3"
        np.testing.assert_allclose(item["joints"].numpy(), pose, atol=1e-6)
    # RT-Pose's ROI is z 13..28, y 32..95, x 17..176; the loader divides by 10
    assert float(it[0]["input"][5, 0, 0, 0]) == pytest.approx(0.3, abs=1e-6)
    assert float(it[1]["input"][31, 15, 63, 159]) == pytest.approx(0.05, abs=1e-6)
    assert float(it[0]["input"].sum()) == pytest.approx(0.3, abs=1e-6)  # the voxel at 0,0,0 is cut
    assert float(it[0]["mask"]) == 1.0 and it[0]["reg"].shape == (45,)
    again = RtposeDataset(rtpose["root"], "train", cache)
    assert again.computed == 0
    assert_same_batches(batches(again, 2), batches(again, 0))


def test_rtpose_dataset_from_raw_capture(rtpose: dict, tmp_path: Path) -> None:
    ds = RtposeDataset(rtpose["root"], "test", tmp_path / "raw.h5", source="raw")
    proc = RtposeProcessor(rtpose["radar"])
    got = ds[0]["input"].numpy()
    # Radar_frameID 2 is the capture's second frame (RT-Pose numbers from 1 and skips the first)
    np.testing.assert_array_equal(got, proc.roi(rtpose["frames"][1]))
    assert not np.array_equal(got, proc.roi(rtpose["frames"][0]))


def test_recording_dataset_features_match_groundtruth(tmp_path: Path) -> None:
    rec = tmp_path / "sim.h5"
    simulate_to_recording(
        Simulation("hupr", SimConfig(people=1, seconds=0.3, seed=4)), rec, progress=False
    )
    ds = RecordingDataset(rec, tmp_path / "rec.h5", model="radarpose_lite")
    with RecordingReader(rec) as r:
        gt = r.read("groundtruth", "joints")
        h, v = r.read("radar-h", "adc"), r.read("radar-v", "adc")
        rh, rv = r.radar_config("radar-h"), r.radar_config("radar-v")
    assert ds.dropped == 0 and len(ds) == len(h) == 3 and ds.computed == 3
    item = ds[1]
    np.testing.assert_array_equal(item["joints"].numpy(), gt[1])
    assert item["input"].shape == (74, 64, 64)
    fh, _ = radar_features(
        HuprHeatmapper(rh)(cube_from_words(h[1], rh)), HuprHeatmapper(rv)(cube_from_words(v[1], rv))
    )
    with h5py.File(tmp_path / "rec.h5") as f:
        np.testing.assert_allclose(f["fh"][1].astype(np.float32), fh, rtol=2e-3, atol=2e-3)
    assert RecordingDataset(rec, tmp_path / "rec.h5", model="radarpose_lite").computed == 0
    # with temporal context: frame 2's earlier frame at stride 2 is frame 0, then clamped to 0
    ctx = RecordingDataset(rec, tmp_path / "rec.h5", model="radarpose_lite", context=2)[2]["input"]
    assert ctx.shape == (74 + 2 * 24, 64, 64)
    with h5py.File(tmp_path / "rec.h5") as f:
        first = (f["fh"][0].astype(np.float32) - 23.0) / 3.3
    np.testing.assert_allclose(ctx[74:82].numpy(), first, rtol=1e-6)
    np.testing.assert_allclose(ctx[82:90].numpy(), first, rtol=1e-6)
    # HuPR's input from the same recording: both radars, windows clamped at the ends
    hd = RecordingDataset(rec, tmp_path / "rec_hupr.h5", model="hupr")
    x = hd[0]["input"].numpy()
    assert x.shape == (2, 8, 8, 2, 64, 64, 8)
    for k, (words, cfg) in enumerate(((h, rh), (v, rv))):
        seq_hm = np.stack([HuprHeatmapper(cfg)(cube_from_words(w, cfg)) for w in words])
        np.testing.assert_allclose(x[k], network_input(seq_hm, 0)[0], atol=1e-4)


def test_train_command_runs_a_step_on_a_hupr_tree(hupr: dict, tmp_path: Path) -> None:
    import argparse

    import yaml

    from fusion.commands.train import run
    from fusion.train import load_checkpoint

    cfg = {
        "model": "hupr",
        "model_args": {"num_filters": 4},
        "data": {"kind": "hupr", "root": str(hupr["root"]), "cache_dir": str(tmp_path / "c"),
                 "train_split": "train", "val_split": None,
                 "splits": {k: list(v) for k, v in MINI.items()}},
        "optim": {"epochs": 1, "batch_size": 1, "lr": 0.001, "schedule": "constant"},
    }  # fmt: skip
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    args = argparse.Namespace(
        config=str(tmp_path / "cfg.yaml"), out=str(tmp_path / "run"), resume=False, epochs=None,
        workers=1,
    )  # fmt: skip
    assert run(args) == 0
    ck = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ck["epoch"] == 1 and ck["model_name"] == "hupr"
    row = json.loads((tmp_path / "run" / "last.json").read_text())
    assert np.isfinite(row["loss"]) and row["loss"] > 0
    assert len(list((tmp_path / "c").glob("hupr_*_train.h5"))) == 1


class _Oracle(torch.nn.Module):
    """Returns, batch by batch, outputs built from the dataset's own targets (a perfect model)."""

    def __init__(self, outputs: list[tuple[torch.Tensor, ...]]) -> None:
        super().__init__()
        self.outputs = list(outputs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.outputs.pop(0)


def test_benchmark_evaluation_scores_a_perfect_and_a_shifted_model(
    hupr: dict, rtpose: dict, tmp_path: Path
) -> None:
    from fusion.evaluate import evaluate_benchmark

    # HuPR: refined heatmaps that peak at the labels give AP 1; 40 px off gives far less
    ds = HuprDataset(hupr["root"], "test", tmp_path / "h.h5", splits=MINI)
    perfect, shifted = [], []
    for b in batches(ds, 0):
        hm = b["heatmap"]  # (B, 14, 64, 64)
        perfect.append((hm.unsqueeze(2), hm.unsqueeze(1)))
        moved = torch.roll(hm, shifts=10, dims=-1)  # 10 cells = 40 px to the right
        shifted.append((moved.unsqueeze(2), moved.unsqueeze(1)))
    good = evaluate_benchmark(_Oracle(perfect), "hupr", ds)
    bad = evaluate_benchmark(_Oracle(shifted), "hupr", ds)
    assert good["AP"] == pytest.approx(1.0) and good["n_images"] == 3
    assert bad["AP"] < 0.2 and bad["AP50"] < good["AP50"]
    # RT-Pose: the pelvis voxel and the true offsets give the labels back: MPJPE 0
    rs = RtposeDataset(rtpose["root"], "train", tmp_path / "r.h5")
    outs = []
    for b in batches(rs, 0):
        n = len(b["joints"])
        hm = b["heatmap"] * 20 - 10  # logits peaking at the pelvis voxel
        reg = torch.zeros(n, 45, *hm.shape[2:])
        for k in range(n):
            z, y, x = b["index"][k].tolist()
            reg[k, :, z, y, x] = b["reg"][k]
        outs.append((hm, reg))
    res = evaluate_benchmark(_Oracle(outs), "hrradarpose", rs)
    assert res["abs_mpjpe_mm"] < 1e-3 and res["mpjpe_mm"] < 1e-3 and res["n_poses"] == 2
