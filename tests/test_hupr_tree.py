"""A miniature HuPR tree written from the simulator in HuPR's exact formats, read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from drivers import DriversError, RecordingReader, convert_skeleton
from drivers.hupr_tree import (
    SPLITS,
    HuprLabel,
    HuprTree,
    write_annotations,
    write_coco_ground_truth,
    write_sequence,
)
from drivers.sim import SimConfig, Simulation, simulate_to_recording

MINI = {"train": (3,), "val": (1,), "test": (16, 15)}  # test lists 16 before 15, as HuPR's does


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    d = tmp_path_factory.mktemp("hupr")
    rec = d / "sim.h5"
    simulate_to_recording(
        Simulation("hupr", SimConfig(people=1, seconds=0.3, seed=11)), rec, progress=False
    )
    with RecordingReader(rec) as r:
        hori, vert = r.read("radar-h", "adc"), r.read("radar-v", "adc")
        uv = r.read("camera", "joints_2d")[:, 0]  # (3, 15, 2) RT-Pose order, pixels
    j14, _ = convert_skeleton(uv, "rtpose15", "hupr14")
    root = d / "HuPR-repo"
    # HuPR keeps raw data under preprocessing/ and labels under data/HuPR
    pre = root / "preprocessing"
    write_sequence(pre, 15, hori, vert)
    write_sequence(pre, 16, vert[::-1], hori[::-1])  # a different sequence: swapped, reversed
    write_sequence(pre, 1, hori[:1], vert[:1])
    write_sequence(pre, 3, hori[:2], vert[:2])
    with open(pre / "raw_data/iwr1843/HuPR/single_15/vert/adc_data.bin", "ab") as f:
        f.write(b"\x01\x00" * 50)  # a partial trailing frame
    labels = {}
    for seq in (15, 16):
        j = j14 if seq == 15 else j14[::-1] + 1.0
        labels[seq] = [
            HuprLabel(seq, k, f"{k:09d}.jpg", j[k], np.r_[j[k].min(0) - 5, j[k].max(0) + 5])
            for k in range(3)
        ]
    ann = root / "data" / "HuPR"
    ann.mkdir(parents=True)
    write_annotations(ann, "test", labels, MINI["test"])
    write_annotations(ann, "val", {}, MINI["val"])
    return root, {"hori": hori, "vert": vert, "j14": j14}


def test_split_is_hupr_193_21_21_disjoint() -> None:
    assert [len(SPLITS[s]) for s in ("train", "val", "test")] == [193, 21, 21]
    ids = [i for s in SPLITS.values() for i in s]
    assert len(set(ids)) == 235 and min(ids) == 1 and max(ids) == 276


def test_radar_frames_and_labels_read_back(tree: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, sim = tree
    t = HuprTree(root, splits=MINI, start_ns=5_000)
    assert t.sequences() == [1, 3, 15, 16]
    assert t.n_frames(15) == 3  # the trailing 100 bytes are not a frame
    assert t.words == 393_216  # 786,432 B per frame
    frames = list(t.radar_frames(16, "hori"))
    assert [f.stamp_ns for f in frames] == [5_000, 100_005_000, 200_005_000]
    assert {f.sensor for f in frames} == {"radar-h"}
    np.testing.assert_array_equal(frames[0].data["adc"], sim["vert"][2])
    samples = list(t.samples("test"))
    assert [(s.seq, s.frame) for s in samples] == [
        (16, 0),
        (16, 1),
        (16, 2),
        (15, 0),
        (15, 1),
        (15, 2),
    ]
    for s in samples:
        k = s.frame if s.seq == 15 else 2 - s.frame
        np.testing.assert_array_equal(s.hori, sim["hori" if s.seq == 15 else "vert"][k])
        np.testing.assert_array_equal(s.vert, sim["vert" if s.seq == 15 else "hori"][k])
        want = sim["j14"][k] + (0.0 if s.seq == 15 else 1.0)
        assert s.label is not None and s.label.image == f"{s.frame:09d}.jpg"
        np.testing.assert_allclose(s.label.joints, want, rtol=1e-6)
    # sequence 1 (val) has one frame and no labels
    assert [(s.seq, s.frame, s.label) for s in t.samples("val")] == [(1, 0, None)]


def test_coco_ground_truth_follows_hupr(tree: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = tree
    t = HuprTree(root, splits=MINI)
    out = write_coco_ground_truth(t, "test")
    assert out == root / "data" / "HuPR" / "test_gt.json"
    gt = json.loads(out.read_text())
    labels = t.labels("test")
    ids = [a["image_id"] for a in gt["annotations"]]
    assert ids == [1_600_000, 1_600_001, 1_600_002, 1_500_000, 1_500_001, 1_500_002]
    assert [im["id"] for im in gt["images"]] == ids and [a["id"] for a in gt["annotations"]] == ids
    a, lab = gt["annotations"][4], labels[15][1]
    x1, y1, x2, y2 = (float(v) for v in lab.bbox)
    assert a["bbox"] == pytest.approx([x1, y1, x2 - x1, y2 - y1])
    assert a["area"] == pytest.approx((x2 - x1) * (y2 - y1) / 2)
    kp = np.asarray(a["keypoints"]).reshape(14, 3)
    np.testing.assert_allclose(kp[:, :2], lab.joints, rtol=1e-6)
    assert (kp[:, 2] == 2).all() and a["num_keypoints"] == 14
    assert gt["images"][0]["file_name"] == "000000000.jpg" and gt["images"][0]["width"] == 256
    assert gt["categories"][0]["keypoints"][6] == "Neck"


def test_bad_trees_are_clear_errors(
    tree: tuple[Path, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    root, _ = tree
    with pytest.raises(
        DriversError, match=r"expected a list of 21 sequences \(the test split\), got 2"
    ):
        HuprTree(root).labels("test")  # HuPR's own split has 21 test sequences
    with pytest.raises(DriversError, match="hrnet_annot_train.json: not found"):
        HuprTree(root, splits=MINI).labels("train")
    with pytest.raises(DriversError, match="no raw_data/iwr1843/HuPR folder"):
        HuprTree(tmp_path)
    with pytest.raises(DriversError, match="sequence 99 has no hori radar data"):
        list(HuprTree(root, splits=MINI).radar_frames(99, "hori"))
    bad = tmp_path / "bad"
    write_sequence(bad, 1, np.zeros(4, np.int16), np.zeros(4, np.int16))
    (bad / "hrnet_annot_val.json").write_text(
        json.dumps([[{"image": "000000000.jpg", "joints": [[0, 0]] * 13, "bbox": [0, 0, 1, 1]}]])
    )
    with pytest.raises(DriversError, match=r"entry 0: expected joints \(14, 2\).*got \(13, 2\)"):
        HuprTree(bad, splits={"val": (1,)}).labels("val")
