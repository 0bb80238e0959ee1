"""The HuPR benchmark's folder tree: raw radar frames, 2D labels, its split, its COCO GT files.

Layout (as HuPR's repository arranges it; ``root`` may be the repository, its ``preprocessing``
folder, or any folder holding these paths)::

    raw_data/iwr1843/HuPR/single_{i}/{hori,vert}/adc_data.bin   int16 DCA1000 2-lane words,
                                                                 786,432 B per frame, 10 fps
    frames/HuPR/single_{i}/processed/images/%09d.jpg             camera frames (optional)
    [data/HuPR/]hrnet_annot_{train,val,test}.json                labels

An annotation file is a list with one entry per sequence of the split, **in the split's order**
(:data:`SPLITS`, from HuPR's ``config/mscsa_prgcn.yaml``), each a list of
``{"image": "%09d.jpg", "joints": 14 x [x, y], "bbox": [x1, y1, x2, y2]}`` in 256 x 256 camera
pixels, joints in :data:`drivers.skeleton.HUPR14` order. HuPR's COCO ground truth derived from it
(:func:`coco_ground_truth`) uses ``image_id = id = seq * 100000 + frame``, visibility 2 for every
joint, ``area = w * h / 2`` and bbox ``[x, y, w, h]``.

HuPR stores no timestamps: frames are stamped ``start_ns + k * frame_period``. Heatmaps are made
from these frames by :mod:`sensing` (``sensing.preprocess.hupr_sequence_to_npy``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import load_json
from .errors import DriversError
from .radar import RadarConfig, load_radar_config
from .rig import find_config
from .source import Frame

VIEWS = {"hori": "radar-h", "vert": "radar-v"}  # HuPR view -> sensor of the built-in hupr rig
IMAGE_SIZE = 256
N_JOINTS = 14
ID_STRIDE = 100_000
# HuPR's split (config/mscsa_prgcn.yaml); the annotation lists follow this order
# fmt: off
SPLITS: dict[str, tuple[int, ...]] = {
    "train": (
        *range(2, 14), *range(18, 31), 33, 35, 36, 37, *range(43, 53), *range(58, 65), 66,
        71, *range(73, 82), 83, 84, *range(87, 98), 31, 32, 53, 54, 55, 67, 68, 69, 70, 72,
        85, 86, 100, 157, 158, 160, 167, 168, 169, 170, 177, 179, 180, 187, 188, 189, 190,
        228, 229, 230, 259, 260, 263, 264, 269, 270, 273, 274, *range(102, 111), 119,
        *range(121, 125), 133, 134, 135, 138, *range(147, 156), 162, 163, 165, 166,
        *range(171, 177), *range(182, 187), 191, 192, 193, 195, 196, 198, *range(199, 205),
        *range(206, 214), 215, 216, *range(223, 227), *range(231, 237), 258, 261, 262,
        265, 266, 267, 268, 271, 272, 275, 276,
    ),
    "val": (
        1, 14, 34, 57, 65, 98, 56, 99, 159, 178, 101, 120, 137, 156, 161, 164, 181, 194,
        197, 205, 257,
    ),
    "test": (
        15, 16, 38, 40, 41, 42, 17, 39, 244, 245, 246, 249, 250, 251, 252, 253, 254, 247,
        248, 255, 256,
    ),
}
KEYPOINT_NAMES = (
    "R_Hip", "R_Knee", "R_Ankle", "L_Hip", "L_Knee", "L_Ankle", "Neck", "Head",
    "L_Shoulder", "L_Elbow", "L_Wrist", "R_Shoulder", "R_Elbow", "R_Wrist",
)
# 1-based COCO skeleton over KEYPOINT_NAMES, as HuPR's GT files carry it
COCO_SKELETON = (
    (14, 13), (13, 12), (11, 10), (10, 9), (9, 7), (12, 9), (8, 7), (7, 1), (7, 4), (6, 5),
    (5, 4), (3, 2), (2, 1),
)
# fmt: on


@dataclass(frozen=True)
class HuprLabel:
    """One labelled camera frame: joints float32 ``(14, 2)`` and bbox float32 ``(4,)`` x1, y1, x2, y2 (px)."""

    seq: int
    frame: int
    image: str
    joints: np.ndarray
    bbox: np.ndarray


@dataclass(frozen=True)
class HuprSample:
    """Both radars' raw words int16 ``(W,)`` for one frame, and its label (None if unlabelled)."""

    seq: int
    frame: int
    hori: np.ndarray
    vert: np.ndarray
    label: HuprLabel | None


def _first_dir(candidates: list[Path], what: str) -> Path:
    for c in candidates:
        if c.is_dir():
            return c
    raise DriversError(f"no {what} folder (looked for {', '.join(str(c) for c in candidates)})")


class HuprTree:
    """Read a HuPR tree. ``splits`` replaces HuPR's split (e.g. for a partial download)."""

    def __init__(
        self,
        root: str | Path,
        *,
        splits: dict[str, tuple[int, ...]] | None = None,
        radar: RadarConfig | None = None,
        start_ns: int = 0,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DriversError(f"{self.root}: not a folder")
        self.splits = dict(splits or SPLITS)
        self.radar = radar or load_radar_config(find_config("hupr_iwr1843", "radars"))
        self.words = self.radar.adc_words_per_frame
        self.start_ns = start_ns
        bases = [self.root, self.root / "preprocessing"]
        self.raw_dir = _first_dir(
            [b / "raw_data" / "iwr1843" / "HuPR" for b in bases], "raw_data/iwr1843/HuPR"
        )
        annot = [self.root, self.root / "data" / "HuPR"]
        self.annot_dir = next((a for a in annot if any(a.glob("hrnet_annot_*.json"))), self.root)
        self.frames_dir = next(
            (b / "frames" / "HuPR" for b in bases if (b / "frames" / "HuPR").is_dir()), None
        )

    # -- radar -----------------------------------------------------------------------------
    def adc_path(self, seq: int, view: str) -> Path:
        if view not in VIEWS:
            raise DriversError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
        return self.raw_dir / f"single_{seq}" / view / "adc_data.bin"

    def sequences(self) -> list[int]:
        """Sequence numbers with raw data present, ascending."""
        out = []
        for d in self.raw_dir.glob("single_*"):
            tail = d.name.removeprefix("single_")
            if tail.isdigit() and all((d / v / "adc_data.bin").is_file() for v in VIEWS):
                out.append(int(tail))
        return sorted(out)

    def _words(self, seq: int, view: str) -> np.ndarray:
        p = self.adc_path(seq, view)
        if not p.is_file():
            raise DriversError(f"{p}: not found (sequence {seq} has no {view} radar data)")
        size = p.stat().st_size
        if size % 2:
            raise DriversError(f"{p}: odd byte count {size}; not int16 ADC words")
        return np.memmap(p, dtype=np.int16, mode="r") if size else np.zeros(0, np.int16)

    def n_frames(self, seq: int) -> int:
        """Whole frames present in both views (a partial trailing frame is not counted)."""
        return min(len(self._words(seq, v)) // self.words for v in VIEWS)

    def radar_frames(self, seq: int, view: str) -> Iterator[Frame]:
        """``radar_adc`` frames of one view, counter = frame index, stamps at the frame period."""
        w = self._words(seq, view)
        period = int(round(self.radar.frame_period * 1e9))
        for k in range(len(w) // self.words):
            words = np.array(w[k * self.words : (k + 1) * self.words])
            yield Frame(VIEWS[view], "radar_adc", self.start_ns + k * period, k, {"adc": words})

    # -- labels ----------------------------------------------------------------------------
    def annotation_path(self, split: str) -> Path:
        if split not in self.splits:
            raise DriversError(f"split must be one of {', '.join(self.splits)}, got {split!r}")
        return self.annot_dir / f"hrnet_annot_{split}.json"

    def labels(self, split: str) -> dict[int, list[HuprLabel]]:
        """The split's labels by sequence number (the file's i-th list is the split's i-th sequence)."""
        path = self.annotation_path(split)
        doc = load_json(path)
        seqs = self.splits[split]
        if not isinstance(doc, list) or len(doc) != len(seqs):
            got = len(doc) if isinstance(doc, list) else type(doc).__name__
            raise DriversError(
                f"{path}: expected a list of {len(seqs)} sequences (the {split} split), got {got}"
            )
        out: dict[int, list[HuprLabel]] = {}
        for seq, blocks in zip(seqs, doc, strict=True):
            out[seq] = [self._label(path, seq, i, b) for i, b in enumerate(blocks)]
        return out

    @staticmethod
    def _label(path: Path, seq: int, i: int, b: object) -> HuprLabel:
        where = f"{path}: sequence {seq}, entry {i}"
        if not isinstance(b, dict) or not {"image", "joints", "bbox"} <= set(b):
            raise DriversError(f"{where}: expected keys image, joints, bbox")
        stem = Path(str(b["image"])).stem
        if not stem.isdigit():
            raise DriversError(f"{where}: image {b['image']!r} is not a frame number")
        joints = np.asarray(b["joints"], np.float32)
        bbox = np.asarray(b["bbox"], np.float32)
        if joints.shape != (N_JOINTS, 2) or bbox.shape != (4,):
            raise DriversError(
                f"{where}: expected joints (14, 2) and bbox (4,), got {joints.shape} and {bbox.shape}"
            )
        return HuprLabel(seq, int(stem), str(b["image"]), joints, bbox)

    def image_path(self, seq: int, frame: int) -> Path | None:
        if self.frames_dir is None:
            return None
        p = self.frames_dir / f"single_{seq}" / "processed" / "images" / f"{frame:09d}.jpg"
        return p if p.is_file() else None

    def samples(self, split: str) -> Iterator[HuprSample]:
        """Every frame of the split's sequences with both radars' words and its label."""
        for seq, labels in self.labels(split).items():
            by_frame = {lab.frame: lab for lab in labels}
            hori, vert = self._words(seq, "hori"), self._words(seq, "vert")
            for k in range(self.n_frames(seq)):
                s = slice(k * self.words, (k + 1) * self.words)
                yield HuprSample(seq, k, np.array(hori[s]), np.array(vert[s]), by_frame.get(k))


# -- writers -------------------------------------------------------------------------------
def write_sequence(root: str | Path, seq: int, hori: np.ndarray, vert: np.ndarray) -> None:
    """Raw words int16 ``(N, W)`` (or flat) of both radars as ``single_{seq}/{view}/adc_data.bin``."""
    for view, words in (("hori", hori), ("vert", vert)):
        a = np.asarray(words)
        if a.dtype != np.int16:
            raise DriversError(f"{view}: ADC words must be int16, got {a.dtype}")
        d = Path(root) / "raw_data" / "iwr1843" / "HuPR" / f"single_{seq}" / view
        d.mkdir(parents=True, exist_ok=True)
        a.tofile(d / "adc_data.bin")


def write_annotations(
    root: str | Path, split: str, labels: dict[int, list[HuprLabel]], order: tuple[int, ...]
) -> Path:
    """``hrnet_annot_{split}.json``: one list per sequence of ``order`` (missing ones empty)."""
    doc = [
        [
            {
                "image": lab.image,
                "joints": np.asarray(lab.joints, float).tolist(),
                "bbox": np.asarray(lab.bbox, float).tolist(),
            }
            for lab in labels.get(seq, [])
        ]
        for seq in order
    ]
    path = Path(root) / f"hrnet_annot_{split}.json"
    path.write_text(json.dumps(doc))
    return path


def coco_ground_truth(labels: dict[int, list[HuprLabel]]) -> dict[str, object]:
    """HuPR's COCO-style ground truth for ``labels`` (by sequence, in the split's order)."""
    images, annotations = [], []
    for seq, labs in labels.items():
        for lab in labs:
            image_id = seq * ID_STRIDE + lab.frame
            x1, y1, x2, y2 = (float(v) for v in lab.bbox)
            kps = np.concatenate([lab.joints.astype(float), np.full((N_JOINTS, 1), 2.0)], axis=1)
            annotations.append(
                {
                    "num_keypoints": N_JOINTS,
                    "area": (x2 - x1) * (y2 - y1) / 2,
                    "iscrowd": 0,
                    "keypoints": kps.reshape(-1).tolist(),
                    "image_id": image_id,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "category_id": 1,
                    "id": image_id,
                }
            )
            images.append(
                {
                    "license": -1,
                    "file_name": lab.image,
                    "coco_url": "None",
                    "height": IMAGE_SIZE,
                    "width": IMAGE_SIZE,
                    "date_captured": "None",
                    "flickr_url": "None",
                    "id": image_id,
                }
            )
    return {
        "info": {"description": "HuPR dataset", "version": "1.0", "year": 2022},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [
            {
                "supercategory": "person",
                "id": 1,
                "name": "person",
                "keypoints": list(KEYPOINT_NAMES),
                "skeleton": [list(e) for e in COCO_SKELETON],
            }
        ],
    }


def write_coco_ground_truth(tree: HuprTree, split: str, out: str | Path | None = None) -> Path:
    """``{split}_gt.json`` beside the annotation files (or at ``out``), as HuPR's evaluation reads it."""
    path = Path(out) if out is not None else tree.annot_dir / f"{split}_gt.json"
    path.write_text(json.dumps(coco_ground_truth(tree.labels(split))))
    return path
