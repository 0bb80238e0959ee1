"""PyTorch Datasets over the HuPR and RT-Pose benchmark trees and our HDF5 recordings.

Each dataset turns its source into model inputs once and keeps them in an HDF5 cache, so an epoch
reads rather than recomputes:

* :class:`HuprDataset`: HuPR tree → per frame both radars' heatmaps (the 8 Doppler bins HuPR's
  network reads), assembled per sample into HuPR's input ``(2 radars, 8 frames, 8 Doppler, 2,
  64, 64, 8)`` with its per-channel normalisation, plus the 14 joints in pixels and their
  64 × 64 target heatmaps;
* :class:`RtposeDataset`: RT-Pose tree → the ROI crop ``(32, 16, 64, 160)`` of the float16
  training tensor (from the tree's ``DZYX_npy_f16`` files or computed from the raw capture),
  scaled as RT-Pose's loader does, plus the 15 joints in metres and HRRadarPose's targets;
* :class:`RecordingDataset`: a radarpose recording → the input a model asks for
  (:data:`MODEL_INPUTS`) plus the ground-truth skeletons nearest in time.

Cache layout (``format = "radarpose-dataset-cache"``, version 1): root attributes ``key`` (hash
of the source files' names, sizes and mtimes and of the settings), ``kind`` and ``done`` (items
written, updated after each item's data, so an interrupted build resumes where it stopped); one
dataset per array, ``(N, ...)`` chunked one item per chunk. A cache whose key differs is rebuilt.

Several DataLoader workers may read one cache: the HDF5 file is opened lazily in each process
(and reopened after a fork), never shared.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from drivers import RecordingReader, RtposeTree
from drivers.config import dump_yaml
from drivers.hupr_tree import HuprTree
from drivers.progress import progress
from drivers.sync import match_nearest
from sensing import HuprHeatmapper
from sensing.checks import cube_from_words
from sensing.hupr import clamped_window, normalize_channels
from sensing.rtpose import CascadeCalibration, Resampler, RtposeProcessor, loader_scale, roi_slices

from ..errors import FusionError

CACHE_FORMAT = "radarpose-dataset-cache"
CACHE_VERSION = "1"
HUPR_DOPPLER = slice(4, 12)  # the Doppler bins HuPR's network reads (sensing.hupr.network_input)
HUPR_HEATMAP = (8, 64, 64, 8)  # cached per radar per frame: Doppler, range, azimuth, elevation
ROI_SHAPE = (16, 64, 160)
# the input each model trains on, for RecordingDataset
MODEL_INPUTS = {"radarpose_lite": "features", "hupr": "hupr", "hrradarpose": "rtpose"}
# the model whose input each benchmark tree gives (training config data.kind)
BENCHMARK_MODELS = {"hupr": "hupr", "rtpose": "hrradarpose"}


# -- the cache -------------------------------------------------------------------------------
def cache_key(description: dict[str, Any]) -> str:
    """sha1 of a JSON description of the source and settings (with the cache version)."""
    doc = json.dumps({"cache_version": CACHE_VERSION, **description}, sort_keys=True, default=str)
    return hashlib.sha1(doc.encode()).hexdigest()


def file_stamp(path: str | Path) -> list[object]:
    """``[path, size, mtime_ns]``: what a cache key records of a source file."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise FusionError(f"{p}: not found") from None
    return [str(p.resolve()), st.st_size, st.st_mtime_ns]


def build_cache(
    path: str | Path,
    key: str,
    n: int,
    arrays: dict[str, tuple[tuple[int, ...], Any]],
    compute: Callable[[int], dict[str, np.ndarray]],
    *,
    kind: str,
    rebuild: bool = False,
) -> int:
    """Make ``path`` hold ``compute(i)`` for i < n; returns the items computed (0 when reused).

    ``arrays`` maps each array to its per-item shape and dtype. A cache with the same ``key`` is
    reused, or resumed from its ``done`` count; any other file at ``path`` is replaced.
    """
    if n == 0:
        raise FusionError(f"{path}: nothing to cache (the source has no samples)")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.exists():
        try:
            with h5py.File(p, "r") as f:
                same = f.attrs.get("format") == CACHE_FORMAT and f.attrs.get("key") == key
                done = int(f.attrs.get("done", 0)) if same else -1
        except OSError:
            done = -1
        if rebuild or done < 0:
            p.unlink()
        elif done >= n:
            return 0
    computed = 0
    with h5py.File(p, "a") as f:
        if "key" not in f.attrs:
            for name, (shape, dtype) in arrays.items():
                f.create_dataset(name, (n, *shape), dtype, chunks=(1, *shape))
            f.attrs.update(
                format=CACHE_FORMAT, format_version=CACHE_VERSION, kind=kind, n=n, done=0
            )
            f.attrs["key"] = key  # last: a file without it is rebuilt
        start = int(f.attrs["done"])
        for i in progress(range(start, n), total=n - start, desc=f"caching {kind}", unit="sample"):
            for name, v in compute(i).items():
                f[name][i] = v
            f.attrs["done"] = i + 1  # after the data: a crash never marks an unwritten item done
            f.flush()
            computed += 1
    return computed


class CachedDataset(Dataset):
    """Base of the datasets here: the cache file is opened lazily, once per process."""

    cache_path: Path
    _f: h5py.File | None = None
    _pid: int | None = None

    def _file(self) -> h5py.File:
        if self._f is None or self._pid != os.getpid():
            self._f = h5py.File(self.cache_path, "r")
            self._pid = os.getpid()
        return self._f

    def close(self) -> None:
        """Close this process's handle (HDF5 refuses to rewrite a file open for reading)."""
        if self._f is not None:
            self._f.close()
        self._f, self._pid = None, None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_f"], state["_pid"] = None, None  # a handle never crosses a process boundary
        return state


def _window(ds: h5py.Dataset, rows: np.ndarray) -> np.ndarray:
    """Rows of ``ds`` (repeats allowed) read as one contiguous slice."""
    lo, hi = int(rows.min()), int(rows.max())
    return ds[lo : hi + 1][rows - lo]


def hupr_input(block: np.ndarray) -> np.ndarray:
    """Cached heatmaps complex ``(8 frames, 8 Doppler, 64, 64, 8)`` → HuPR's normalised input
    float32 ``(8, 8, 2, 64, 64, 8)`` (as :func:`sensing.hupr.network_input`)."""
    re, _ = normalize_channels(block.real)
    im, _ = normalize_channels(block.imag)
    return np.stack([re, im], axis=2)


# -- HuPR --------------------------------------------------------------------------------------
class HuprDataset(CachedDataset):
    """HuPR's labelled frames of one split. Items: ``input`` float32 ``(2, 8, 8, 2, 64, 64, 8)``
    (horizontal, vertical radar), ``heatmap`` ``(14, 64, 64)``, ``joints`` ``(14, 2)`` and
    ``bbox`` ``(4,)`` in 256-pixel image coordinates, ``seq``, ``frame``.

    Sequences of the split without raw data are left out and listed in ``missing``; labels of
    frames past the end of their radar data are counted in ``dropped``.
    """

    def __init__(
        self,
        tree: HuprTree | str | Path,
        split: str,
        cache: str | Path,
        *,
        splits: dict[str, tuple[int, ...]] | None = None,
        rebuild: bool = False,
    ) -> None:
        self.tree = tree if isinstance(tree, HuprTree) else HuprTree(tree, splits=splits)
        labels = self.tree.labels(split)
        present = set(self.tree.sequences())
        self.missing = [s for s in labels if s not in present]
        seqs = [s for s in labels if s in present]
        if not seqs:
            raise FusionError(
                f"{self.tree.root}: none of the {split} split's {len(labels)} sequences has raw data"
            )
        self.frames: list[tuple[int, int]] = []  # cache row -> (seq, frame)
        self.samples: list[tuple[int, int, int, int, np.ndarray, np.ndarray]] = []
        for seq in seqs:
            base, n = len(self.frames), self.tree.n_frames(seq)
            self.frames += [(seq, k) for k in range(n)]
            for lab in labels[seq]:
                if lab.frame < n:
                    self.samples.append((seq, lab.frame, base, n, lab.joints, lab.bbox))
        self.dropped = sum(len(labels[s]) for s in seqs) - len(self.samples)
        radar = self.tree.radar
        key = cache_key(
            {
                "kind": "hupr",
                "radar": dump_yaml(radar),
                "files": [
                    file_stamp(self.tree.adc_path(s, v)) for s in seqs for v in ("hori", "vert")
                ],
                "frames": len(self.frames),
            }
        )
        heatmapper = HuprHeatmapper(radar)
        words = radar.adc_words_per_frame

        def compute(i: int) -> dict[str, np.ndarray]:
            seq, k = self.frames[i]
            out = {}
            for view in ("hori", "vert"):
                w = np.memmap(self.tree.adc_path(seq, view), np.int16, "r")
                cube = cube_from_words(np.asarray(w[k * words : (k + 1) * words]), radar)
                out[view] = heatmapper(cube)[HUPR_DOPPLER]
            return out

        self.cache_path = Path(cache)
        arrays = {v: (HUPR_HEATMAP, np.complex64) for v in ("hori", "vert")}
        self.computed = build_cache(
            cache, key, len(self.frames), arrays, compute, kind="hupr", rebuild=rebuild
        )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict[str, Any]:
        from fusion.models.hupr import make_targets

        seq, frame, base, n, joints, bbox = self.samples[i]
        rows = base + clamped_window(frame, n)
        f = self._file()
        x = np.stack([hupr_input(_window(f[v], rows)) for v in ("hori", "vert")])
        return {
            "input": torch.from_numpy(x),
            "heatmap": torch.from_numpy(make_targets(joints)),
            "joints": torch.from_numpy(joints),
            "bbox": torch.from_numpy(bbox),
            "seq": seq,
            "frame": frame,
        }


# -- RT-Pose -----------------------------------------------------------------------------------
class RtposeDataset(CachedDataset):
    """RT-Pose's labelled frames of one split. Items: ``input`` float32 ``(32, 16, 64, 160)``,
    ``joints`` ``(15, 3)`` metres in the radar frame, HRRadarPose's targets ``heatmap``, ``reg``,
    ``index``, ``mask``, and ``seq``, ``frame``, ``radar_frame``.

    ``source="f16"`` crops the tree's generated ``DZYX_npy_f16`` tensors; ``"raw"`` computes the
    crop from the MMWCAS capture (radar frame id k is capture frame k − 1, as RT-Pose numbers
    them) with ``calibration`` and ``resampler``.
    """

    def __init__(
        self,
        tree: RtposeTree | str | Path,
        split: str,
        cache: str | Path,
        *,
        source: str = "f16",
        calibration: CascadeCalibration | None = None,
        resampler: Resampler = "reference",
        allow_excluded: bool = False,
        rebuild: bool = False,
    ) -> None:
        if source not in ("f16", "raw"):
            raise FusionError(f"source must be f16 or raw, got {source!r}")
        self.tree = (
            tree
            if isinstance(tree, RtposeTree)
            else RtposeTree(tree, allow_excluded=allow_excluded)
        )
        self.labels = [lab for labs in self.tree.labels(split).values() for lab in labs]
        if not self.labels:
            raise FusionError(f"{self.tree.split_path(split)}: no labelled frames")
        t = self.tree
        desc: dict[str, Any] = {"kind": "rtpose", "source": source}
        if source == "f16":
            desc["files"] = [
                file_stamp(t.tensor_path(lab.seq, lab.radar_frame)) for lab in self.labels
            ]
            crop = (slice(None), *roi_slices())

            def compute(i: int) -> dict[str, np.ndarray]:
                lab = self.labels[i]
                return {"roi": np.asarray(t.tensor(lab.seq, lab.radar_frame)[crop])}

            depth = 32
        else:
            proc = RtposeProcessor(t.radar, calibration, resampler)
            seqs = sorted({lab.seq for lab in self.labels})
            desc["files"] = [
                file_stamp(p)
                for s in seqs
                for p in sorted((t.sequence_path(s) / "radar" / "bin").glob("*"))
            ]
            desc["radar"], desc["resampler"] = dump_yaml(t.radar), resampler
            desc["calibration"] = (
                None if calibration is None else calibration.factors(t.radar).tobytes().hex()[:64]
            )
            caps: dict[str, Any] = {}

            def compute(i: int) -> dict[str, np.ndarray]:
                lab = self.labels[i]
                cap = caps.get(lab.seq) or caps.setdefault(lab.seq, t.capture(lab.seq))
                k = lab.radar_index - 1
                if not 0 <= k < len(cap):
                    raise FusionError(
                        f"sequence {lab.seq}: radar frame {lab.radar_frame} is capture frame {k}, "
                        f"the capture has {len(cap)}"
                    )
                return {"roi": proc.roi_f16(cap.frame(k))}

            depth = proc.n_doppler // 2
        self.cache_path = Path(cache)
        arrays = {"roi": ((depth, *ROI_SHAPE), np.float16)}
        self.computed = build_cache(
            cache,
            cache_key(desc),
            len(self.labels),
            arrays,
            compute,
            kind="rtpose",
            rebuild=rebuild,
        )

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        from fusion.models.hrradarpose import make_targets

        lab = self.labels[i]
        x = loader_scale(self._file()["roi"][i])
        out: dict[str, Any] = {k: torch.as_tensor(v) for k, v in make_targets(lab.pose).items()}
        out.update(
            input=torch.from_numpy(x),
            joints=torch.from_numpy(lab.pose),
            seq=lab.seq,
            frame=lab.frame,
            radar_frame=lab.radar_index,
        )
        return out


# -- recordings --------------------------------------------------------------------------------
class RecordingDataset(CachedDataset):
    """Frames of a radarpose recording with ground truth: the input of ``model`` (or ``inputs``).

    ``inputs``: ``features`` (radarpose_lite: ``input`` ``(74 + 24·context, 64, 64)`` and CenterNet
    targets, two radars; ``context`` earlier kept frames ``context_stride`` apart, clamped to the
    first), ``hupr`` (``input`` ``(2, 8, 8, 2, 64, 64, 8)``, two radars) or ``rtpose``
    (``input`` ``(32, 16, 64, 160)``, the reference radar). Every item has ``joints``
    ``(P, 15, 3)`` metres in the reference radar's frame (NaN rows for absent people) from the
    ``groundtruth`` stream. Reference frames with no ground truth (or second-radar frame) within
    ``max_skew`` seconds (default half a frame period) are left out and counted in ``dropped``;
    ``hupr``'s 8-frame window runs over the kept frames.
    """

    def __init__(
        self,
        recording: str | Path,
        cache: str | Path,
        *,
        model: str | None = None,
        inputs: str | None = None,
        groundtruth: str = "groundtruth",
        max_skew: float | None = None,
        rebuild: bool = False,
        context: int = 0,
        context_stride: int = 2,
    ) -> None:
        self.context, self.context_stride = context, context_stride
        if inputs is None:
            if model not in MODEL_INPUTS:
                raise FusionError(
                    f"model {model!r} has no known input (known: {', '.join(MODEL_INPUTS)}); pass inputs="
                )
            inputs = MODEL_INPUTS[model]
        if inputs not in ("features", "hupr", "rtpose"):
            raise FusionError(f"inputs must be features, hupr or rtpose, got {inputs!r}")
        self.inputs = inputs
        self.path = Path(recording)
        with RecordingReader(self.path) as rec:
            streams = rec.streams
            if groundtruth not in streams:
                raise FusionError(
                    f"{self.path}: no {groundtruth!r} stream (streams: {', '.join(streams)})"
                )
            radars = [n for n, s in streams.items() if s.kind == "radar_adc"]
            ref = str(rec.group(groundtruth).attrs.get("frame", radars[0] if radars else ""))
            if ref not in radars:
                raise FusionError(
                    f"{self.path}: reference radar {ref!r} has no raw radar stream (radar streams: {radars})"
                )
            names = [ref] + ([r for r in radars if r != ref][:1] if inputs != "rtpose" else [])
            if len(names) < (1 if inputs == "rtpose" else 2):
                raise FusionError(
                    f"{self.path}: inputs {inputs!r} need two radar streams, found {radars}"
                )
            self.radars = {n: rec.radar_config(n) for n in names}
            period = self.radars[ref].frame_period
            skew = int(round((period / 2 if max_skew is None else max_skew) * 1e9))
            t_ref = rec.stamps(ref)
            match = [match_nearest(rec.stamps(n), t_ref, skew) for n in names]
            gt = match_nearest(rec.stamps(groundtruth), t_ref, skew)
            keep = np.flatnonzero((gt >= 0) & np.all([m >= 0 for m in match], axis=0))
            self.dropped = len(t_ref) - len(keep)
            self.rows = {n: m[keep] for n, m in zip(names, match, strict=True)}
            self.joints = rec.read(groundtruth, "joints")[gt[keep]].astype(np.float32)
            self.stamps = t_ref[keep]
        if len(keep) == 0:
            raise FusionError(
                f"{self.path}: no radar frame of {ref!r} has ground truth within {skew} ns"
            )
        self.reference = ref
        self.names = names
        desc = {"kind": f"recording-{inputs}", "file": file_stamp(self.path), "streams": names,
                "radars": [dump_yaml(r) for r in self.radars.values()], "skew": skew}  # fmt: skip
        if inputs == "rtpose":
            proc = RtposeProcessor(self.radars[ref])
            arrays = {"roi": ((proc.n_doppler // 2, *ROI_SHAPE), np.float16)}
        elif inputs == "hupr":
            arrays = {n: (HUPR_HEATMAP, np.complex64) for n in names}
        else:
            arrays = {"fh": ((8, 64, 64), np.float16), "fv": ((8, 64, 16), np.float16)}
        mappers = (
            {n: HuprHeatmapper(r) for n, r in self.radars.items()} if inputs != "rtpose" else {}
        )
        reader: list[RecordingReader] = []

        def compute(i: int) -> dict[str, np.ndarray]:
            if not reader:
                reader.append(RecordingReader(self.path))
            rec = reader[0]
            cubes = {n: cube_from_words(rec.read(n, "adc", int(self.rows[n][i])), r)
                     for n, r in self.radars.items()}  # fmt: skip
            if inputs == "rtpose":
                return {"roi": proc.roi_f16(cubes[ref])}
            hms = {n: mappers[n](c) for n, c in cubes.items()}
            if inputs == "hupr":
                return {n: h[HUPR_DOPPLER] for n, h in hms.items()}
            from fusion.features import radar_features

            fh, fv = radar_features(hms[names[0]], hms[names[1]])
            return {"fh": fh, "fv": fv}

        self.cache_path = Path(cache)
        try:
            self.computed = build_cache(
                cache,
                cache_key(desc),
                len(keep),
                arrays,
                compute,
                kind=desc["kind"],
                rebuild=rebuild,
            )
        finally:
            for r in reader:
                r.close()

    def __len__(self) -> int:
        return len(self.stamps)

    def __getitem__(self, i: int) -> dict[str, Any]:
        f = self._file()
        j = self.joints[i]
        out: dict[str, Any] = {"joints": torch.from_numpy(j), "stamp_ns": int(self.stamps[i])}
        if self.inputs == "rtpose":
            from fusion.models.hrradarpose import make_targets

            t = make_targets(j[0])  # RT-Pose's model is single-person: the first person
            out.update({k: torch.as_tensor(v) for k, v in t.items()})
            out["input"] = torch.from_numpy(loader_scale(f["roi"][i]))
        elif self.inputs == "hupr":
            rows = clamped_window(i, len(self))
            x = np.stack([hupr_input(_window(f[n], rows)) for n in self.names])
            out["input"] = torch.from_numpy(x)
        else:
            from fusion.features import context_rows, model_input

            from .cache import targets

            rows = [i, *context_rows(i, 0, self.context, self.context_stride)]
            fh = np.stack([f["fh"][r] for r in rows]).astype(np.float32)
            fv = np.stack([f["fv"][r] for r in rows]).astype(np.float32)
            out.update(
                {k: torch.from_numpy(v) for k, v in targets(j, self.radars[self.reference]).items()}
            )
            past = (fh[1:], fv[1:]) if self.context else (None, None)
            out["input"] = torch.from_numpy(model_input(fh[0], fv[0], *past))
        return out


# -- training configs --------------------------------------------------------------------------
def benchmark_split(model: str, data: Any, split: str) -> Dataset:
    """One split of a benchmark data config (kind ``hupr`` or ``rtpose``), cached in
    ``data.cache_dir`` under the kind, the tree and the split."""
    if data.kind not in BENCHMARK_MODELS:
        raise FusionError(
            f"data kind {data.kind!r} is not a benchmark tree ({', '.join(BENCHMARK_MODELS)})"
        )
    want = BENCHMARK_MODELS[data.kind]
    if model != want:
        raise FusionError(
            f"data kind {data.kind!r} gives the input of model {want!r}; the config's model is {model!r}"
        )
    tag = hashlib.sha1(str(Path(data.root).resolve()).encode()).hexdigest()[:8]
    path = Path(data.cache_dir) / f"{data.kind}_{tag}_{split}.h5"
    if data.kind == "hupr":
        return HuprDataset(data.root, split, path, splits=data.splits)
    return RtposeDataset(data.root, split, path, source=data.rtpose_source)


def benchmark_datasets(model: str, data: Any) -> tuple[Dataset, Dataset | None, Callable]:
    """Train and validation sets of a benchmark data config (:class:`fusion.train.DataConfig` of
    kind ``hupr`` or ``rtpose``) and the model's loss. Caches go to ``data.cache_dir``, named by
    kind, tree and split."""
    train = benchmark_split(model, data, data.train_split)  # checks kind and model first
    if data.kind == "hupr":
        from fusion.models.hupr import loss_fn
    else:
        from fusion.models.hrradarpose import loss_fn
    val = benchmark_split(model, data, data.val_split) if data.val_split else None
    return train, val, loss_fn
