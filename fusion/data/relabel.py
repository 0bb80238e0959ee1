"""A pseudo-label training cache from an existing truth cache, without simulating radar again.

:mod:`fusion.data.simgen` with ``GenSpec(labels="pseudo")`` simulates every radar frame again
only to change the joints. The radar features do not depend on the labels, so this module
rebuilds each sequence's simulation from the same seeds, runs only the camera labelling on it
(simulated detector, no images, no radar frames or heatmaps) and writes a cache whose ``fh``,
``fv`` and ``sequence`` are copied from the truth cache and whose ``joints`` are the
pseudo-labels: the same file ``simgen.generate`` would write for the pseudo spec, in a small
fraction of the time.
"""

from __future__ import annotations

import ast
import dataclasses
import multiprocessing as mp
from pathlib import Path

import h5py
import numpy as np

from drivers.progress import progress

from ..errors import FusionError
from .simgen import CACHE_VERSION, GenSpec, pseudo_joints, sequence_simulation


def read_spec(path: str | Path) -> GenSpec:
    """The :class:`GenSpec` a cache was generated with (its ``spec`` attribute, a ``repr``)."""
    with h5py.File(path, "r") as f:
        text = f.attrs.get("spec")
    if text is None:
        raise FusionError(f"{path}: no 'spec' attribute; not a cache written by fusion.data.simgen")
    try:
        call = ast.parse(str(text), mode="eval").body
        if not (isinstance(call, ast.Call) and getattr(call.func, "id", "") == "GenSpec"):
            raise ValueError("not a GenSpec(...) call")
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        return GenSpec(**kwargs)  # type: ignore[arg-type]
    except (SyntaxError, ValueError, TypeError) as e:
        raise FusionError(
            f"{path}: cannot read its spec {text!r}: expected GenSpec(key=value, ...) ({e})"
        ) from e


def _sequence_labels(args: tuple[GenSpec, int]) -> np.ndarray:
    """Sequence ``k``'s pseudo-labels at its reference radar frames, without its radar frames."""
    spec, k = args
    sim, _ = sequence_simulation(spec, k)
    return pseudo_joints(sim, sim.frame_times(sim.rig.reference), spec, k)


def relabel(
    truth_cache: str | Path, out: str | Path, label_sigma_px: float = 3.0, workers: int = 2
) -> Path:
    """Write ``out``: ``truth_cache`` with its joints replaced by pseudo-labels.

    The truth cache's spec (``labels="truth"``) gives the seeds; the result's spec is the same
    with ``labels="pseudo"`` and ``label_sigma_px``. ``workers`` > 1 labels sequences in
    parallel processes. Refuses a cache whose frames per sequence differ from its spec's.
    """
    truth_cache, out = Path(truth_cache), Path(out)
    spec = read_spec(truth_cache)
    if spec.labels != "truth":
        raise FusionError(f"{truth_cache}: relabel needs a truth cache, got labels={spec.labels!r}")
    pseudo = dataclasses.replace(spec, labels="pseudo", label_sigma_px=label_sigma_px)
    with h5py.File(truth_cache, "r") as src:
        sequence = src["sequence"][:]
    seqs, starts, counts = np.unique(sequence, return_index=True, return_counts=True)
    jobs = [(pseudo, int(k)) for k in seqs]
    for (_, k), start, count in zip(jobs, starts, counts, strict=True):
        sim = sequence_simulation(pseudo, k)[0]
        n_frames = len(sim.frame_times(sim.rig.reference))
        if n_frames != count:
            raise FusionError(
                f"{truth_cache}: sequence {k} holds {count} frames, its spec simulates "
                f"{n_frames}; the cache does not match its spec {spec!r}"
            )
        if not (sequence[start : start + count] == k).all():
            raise FusionError(f"{truth_cache}: sequence {k}'s frames are not contiguous")
    tmp = out.with_suffix(".partial")
    with h5py.File(truth_cache, "r") as src, h5py.File(tmp, "w") as dst:
        for key in ("fh", "fv", "sequence"):
            src.copy(src[key], dst, name=key)
        dst.attrs["cache_version"] = CACHE_VERSION
        dst.attrs["spec"] = repr(pseudo)
        dst.attrs["relabelled_from"] = str(truth_cache)
        joints = dst.create_dataset("joints", src["joints"].shape, "f4")
        if workers > 1:
            pool = mp.get_context("spawn").Pool(workers)
            parts = pool.imap(_sequence_labels, jobs)
        else:
            pool, parts = None, map(_sequence_labels, jobs)
        try:
            it = progress(parts, total=len(jobs), desc="pseudo-labelling", unit="seq")
            for start, count, j in zip(starts, counts, it, strict=True):
                joints[start : start + count] = j
        finally:
            if pool is not None:
                pool.terminate()
    tmp.replace(out)
    return out
