"""A pseudo-label training cache relabelled from a truth cache equals one simulated from scratch."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import h5py
import numpy as np
import pytest

from fusion.data.simgen import CACHE_VERSION, GenSpec, _sequence
from fusion.errors import FusionError

SPEC = GenSpec(sequences=1, seconds=1.0, seed=5, rig="hupr")  # one person: quick to label


def _write_cache(path: Path, spec: GenSpec, parts: tuple[np.ndarray, ...]) -> Path:
    """The layout and attributes fusion.data.simgen.generate writes."""
    with h5py.File(path, "w") as f:
        f.attrs["cache_version"] = CACHE_VERSION
        f.attrs["spec"] = repr(spec)
        for key, arr in zip(("fh", "fv", "joints", "sequence"), parts, strict=True):
            f[key] = arr
    return path


@pytest.fixture(scope="module")
def caches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("relabel")
    truth = _sequence((SPEC, 0))
    pseudo_spec = dataclasses.replace(SPEC, labels="pseudo", label_sigma_px=3.0)
    pseudo = _sequence((pseudo_spec, 0))  # the slow way: radar simulated again
    return {"truth": truth, "pseudo": pseudo, "path": _write_cache(tmp / "t.h5", SPEC, truth)}


def test_relabelled_cache_equals_a_pseudo_simulation(caches: dict, tmp_path: Path) -> None:
    from fusion.data.relabel import read_spec, relabel

    truth, pseudo = caches["truth"], caches["pseudo"]
    # the premise: the radar features do not depend on the labels
    assert np.array_equal(truth[0], pseudo[0]) and np.array_equal(truth[1], pseudo[1])
    out = relabel(caches["path"], tmp_path / "p.h5", label_sigma_px=3.0, workers=1)
    with h5py.File(out, "r") as f:
        fh, fv, joints, seq = (f[k][:] for k in ("fh", "fv", "joints", "sequence"))
    assert np.array_equal(fh, truth[0]) and np.array_equal(fv, truth[1])  # copied unchanged
    assert np.array_equal(seq, truth[3])
    np.testing.assert_allclose(joints, pseudo[2], atol=1e-6, equal_nan=True)
    # and they are labels, not the truth: a few cm off it where a person is labelled
    ok = np.isfinite(joints).all(-1) & np.isfinite(truth[2]).all(-1)
    assert ok.mean() > 0.2
    assert 0.005 < np.linalg.norm(joints[ok] - truth[2][ok], axis=-1).mean() < 1.0
    assert read_spec(out) == dataclasses.replace(SPEC, labels="pseudo")


def test_train_relabels_from_the_truth_cache(caches: dict, tmp_path: Path) -> None:
    """``radarpose train`` with ``data.truth_cache``: the pseudo cache comes from the truth cache
    (no radar simulation), and a truth cache of other sequences is refused."""
    from fusion.commands.train import ensure_caches
    from fusion.train import load_train_config

    cfg = load_train_config(
        Path(__file__).parent.parent / "configs/models/radarpose_lite_pseudo.yaml"
    )
    assert cfg.data.labels == "pseudo" and cfg.data.truth_cache
    test_cache = tmp_path / "test.h5"
    test_cache.touch()  # present: not simulated here
    data = dataclasses.replace(
        cfg.data,
        train_cache=str(tmp_path / "pseudo.h5"),
        test_cache=str(test_cache),
        truth_cache=str(caches["path"]),
        train_sequences=SPEC.sequences,
        train_seconds=SPEC.seconds,
        train_seed=SPEC.seed,
    )
    train, _ = ensure_caches(dataclasses.replace(cfg, data=data), workers=1)
    with h5py.File(train, "r") as f:
        np.testing.assert_allclose(f["joints"][:], caches["pseudo"][2], atol=1e-6, equal_nan=True)
    other = dataclasses.replace(data, train_cache=str(tmp_path / "p2.h5"), train_seed=6)
    with pytest.raises(FusionError, match="was generated as GenSpec.*seed=5"):
        ensure_caches(dataclasses.replace(cfg, data=other), workers=1)


def test_relabel_refuses_what_it_cannot_relabel(caches: dict, tmp_path: Path) -> None:
    from fusion.data.relabel import relabel

    truth = caches["truth"]
    pseudo_spec = dataclasses.replace(SPEC, labels="pseudo")
    p = _write_cache(tmp_path / "p.h5", pseudo_spec, truth)
    with pytest.raises(FusionError, match="needs a truth cache, got labels='pseudo'"):
        relabel(p, tmp_path / "x.h5", workers=1)
    short = _write_cache(tmp_path / "s.h5", SPEC, tuple(a[:-2] for a in truth))
    with pytest.raises(FusionError, match="sequence 0 holds 8 frames, its spec simulates 10"):
        relabel(short, tmp_path / "y.h5", workers=1)
    with h5py.File(tmp_path / "n.h5", "w") as f:
        f["fh"] = truth[0]
    with pytest.raises(FusionError, match="no 'spec' attribute"):
        relabel(tmp_path / "n.h5", tmp_path / "z.h5", workers=1)
