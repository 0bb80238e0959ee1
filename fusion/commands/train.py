"""``radarpose train configs/models/<model>.yaml``: train, simulating the data caches if missing."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drivers import RadarConfig
    from fusion.train import TrainConfig, Trainer


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="model/training YAML, e.g. configs/models/radarpose_lite.yaml")
    p.add_argument("--out", default="runs/radarpose_lite", help="folder for checkpoints and logs")
    p.add_argument("--resume", action="store_true", help="continue exactly from OUT/last.pt")
    p.add_argument("--epochs", type=int, default=None, help="override the config's epoch count")
    p.add_argument("--workers", type=int, default=2, help="processes that simulate missing caches")


def ensure_caches(cfg: object, workers: int = 2) -> tuple[Path, Path]:
    """Simulate the caches that are missing. A pseudo-label training cache with a
    ``data.truth_cache`` is relabelled from that truth cache (simulated first if missing): the
    radar features are shared, only the camera labelling runs again."""
    from fusion.data.simgen import GenSpec, generate

    d = cfg.data  # type: ignore[attr-defined]
    train, test = Path(d.train_cache), Path(d.test_cache)
    for path, n, seed, seconds, labels in (
        (train, d.train_sequences, d.train_seed, d.train_seconds or d.seconds, d.labels),
        (test, d.test_sequences, d.test_seed, d.seconds, "truth"),  # evaluate against the truth
        *(
            (p, n, seed, d.train_seconds or d.seconds, d.labels)
            for p, n, seed in d.extra_train_caches()
        ),
    ):
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            spec = GenSpec(
                sequences=n,
                seconds=seconds,
                seed=seed,
                rig=d.rig,
                labels=labels,
                label_sigma_px=d.label_sigma_px,
            )
            if labels == "pseudo" and d.truth_cache:
                _relabel_from_truth(Path(d.truth_cache), path, spec, workers)
            else:
                generate(path, spec, workers=workers)
    return train, test


def _relabel_from_truth(truth: Path, out: Path, spec: object, workers: int) -> None:
    """``out`` (pseudo ``spec``) from the truth cache with the same sequences and seeds."""
    import dataclasses

    from fusion.data.relabel import read_spec, relabel
    from fusion.data.simgen import generate
    from fusion.errors import FusionError

    want = dataclasses.replace(spec, labels="truth", label_sigma_px=3.0)  # type: ignore[type-var]
    if not truth.is_file():
        truth.parent.mkdir(parents=True, exist_ok=True)
        generate(truth, want, workers=workers)
    have = dataclasses.replace(read_spec(truth), label_sigma_px=3.0)
    if have != want:
        raise FusionError(
            f"data.truth_cache {truth} was generated as {have!r}; the pseudo-label cache needs "
            f"{want!r} (data.train_sequences, train_seconds, train_seed, rig must match it)"
        )
    relabel(truth, out, label_sigma_px=spec.label_sigma_px, workers=workers)  # type: ignore[attr-defined]


def run(args: argparse.Namespace) -> int:
    import dataclasses

    import numpy as np

    from drivers import load_rig
    from fusion.data.cache import FeatureCacheDataset
    from fusion.models import build_model
    from fusion.models.realtime import loss_fn
    from fusion.train import Trainer, load_train_config

    cfg = load_train_config(args.config)
    if args.epochs is not None:
        cfg = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, epochs=args.epochs))
    if cfg.data.kind != "simulated":
        from fusion.data.datasets import benchmark_datasets

        train_set, val_set, loss = benchmark_datasets(cfg.model, cfg.data)
        trainer = Trainer(
            cfg, build_model(cfg.model, **cfg.model_args), train_set, val_set, loss, Path(args.out)
        )
        return _fit(trainer, args)
    train_path, _ = ensure_caches(cfg, args.workers)
    rig = load_rig(cfg.data.rig)
    radar = rig.radars[rig.reference]
    if cfg.model == "radarpose_lite_track":
        return _train_track(
            cfg, args, [train_path, *(p for p, _, _ in cfg.data.extra_train_caches())], radar
        )
    full = FeatureCacheDataset(train_path, radar)
    val_seqs = _held_out(np.unique(full.sequence), cfg.data.val_fraction)
    n_val = len(val_seqs)
    is_val = np.isin(full.sequence, val_seqs)
    model = build_model(cfg.model, **cfg.model_args)
    ctx = {"context": model.context, "context_stride": model.context_stride}
    train_set = FeatureCacheDataset(
        train_path,
        radar,
        np.flatnonzero(~is_val),
        augment=cfg.data.augment,
        seed=cfg.optim.seed,
        **ctx,
    )
    val_set = (
        FeatureCacheDataset(train_path, radar, np.flatnonzero(is_val), **ctx) if n_val else None
    )
    trainer = Trainer(cfg, model, train_set, val_set, loss_fn, Path(args.out))
    return _fit(trainer, args)


def _held_out(seqs: Sequence[int], fraction: float) -> list[int]:
    """The last ``fraction`` of the sequence ids ``seqs`` (at least one when ``fraction`` > 0):
    validation on whole held-out sequences, never on frames of a training sequence."""
    n = max(1, int(round(len(seqs) * fraction))) if fraction > 0 else 0
    return list(seqs[len(seqs) - n :])


def _train_track(
    cfg: TrainConfig, args: argparse.Namespace, caches: list[Path], radar: RadarConfig
) -> int:
    """The track refiner on the frozen frame model's tracks of every training cache (and their
    mirror images with ``data.augment``); the last ``val_fraction`` of each cache's sequences
    validate, unmirrored."""
    from fusion.data.tracks import TrackWindows, cache_tracks
    from fusion.models import build_model
    from fusion.models.track import track_loss
    from fusion.train import Trainer

    model = build_model(cfg.model, **cfg.model_args)
    train_tracks, val_tracks = [], []
    for cache in caches:
        for mirror in (False, True) if cfg.data.augment else (False,):
            tracks = cache_tracks(model, cache, radar, mirror=mirror)
            val = set(_held_out(sorted({s for _, _, s in tracks}), cfg.data.val_fraction))
            train_tracks += [t for t in tracks if t[2] not in val]
            if not mirror:
                val_tracks += [t for t in tracks if t[2] in val]
    window = model.window
    train_set = TrackWindows(train_tracks, window, step=2)
    val_set = TrackWindows(val_tracks, window, step=window // 2) if val_tracks else None
    model.track.set_normalisation(*train_set.statistics())
    trainer = Trainer(cfg, model, train_set, val_set, track_loss, Path(args.out))
    return _fit(trainer, args)


def _fit(trainer: Trainer, args: argparse.Namespace) -> int:
    if args.resume:
        trainer.resume(Path(args.out) / "last.pt")
    row = trainer.fit()
    print(
        f"trained to epoch {trainer.epoch}: "
        + ", ".join(f"{k} {v:.4g}" for k, v in row.items() if isinstance(v, float))
    )
    print(f"checkpoints in {args.out} (last.pt, best.pt)")
    return 0
