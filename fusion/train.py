"""Training: typed config, atomic per-epoch checkpoints with every RNG state, exact resume, logs, DDP.

Data order depends only on (seed, epoch), and each checkpoint holds model, optimiser, scheduler
and RNG states, so a run stopped after an epoch and resumed ends with the same weights as one that
never stopped. Under ``torchrun`` (``WORLD_SIZE`` set) it trains with DistributedDataParallel on
gloo (CPU) or NCCL (CUDA).
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from drivers.config import ConfigError, bounded, from_dict, load_yaml
from drivers.progress import progress

from .errors import FusionError

CHECKPOINT_FORMAT = "radarpose-checkpoint"
CHECKPOINT_VERSION = "1.0"


@dataclass(frozen=True)
class OptimConfig:
    epochs: int = bounded(30, gt=0)
    batch_size: int = bounded(16, gt=0)
    lr: float = bounded(2e-3, gt=0)
    weight_decay: float = bounded(1e-4, ge=0)
    schedule: Literal["onecycle", "cosine", "hupr", "constant"] = "onecycle"
    grad_clip: float = bounded(35.0, gt=0)
    seed: int = 0
    workers: int = bounded(0, ge=0)
    amp: bool = True  # used only where the device supports it (CUDA)


@dataclass(frozen=True)
class DataConfig:
    """Where training data comes from: ``simulated`` caches, or a benchmark tree at ``root``.

    ``hupr`` (a HuPR tree, model ``hupr``) and ``rtpose`` (an RT-Pose tree, model
    ``hrradarpose``) read ``train_split`` and ``val_split`` (None: no validation) through
    :mod:`fusion.data.datasets`, caching preprocessed inputs under ``cache_dir``.
    """

    kind: Literal["simulated", "hupr", "rtpose"] = "simulated"
    root: str = ""  # benchmark tree (kinds hupr, rtpose)
    cache_dir: str = "cache"
    train_split: str = "train"
    val_split: str | None = "val"
    rtpose_source: Literal["f16", "raw"] = "f16"  # RT-Pose: generated tensors or raw captures
    # HuPR: sequence ids per split in annotation-file order, replacing HuPR's (partial downloads)
    splits: dict[str, tuple[int, ...]] | None = None
    train_cache: str = "cache/sim_train.h5"
    test_cache: str = "cache/sim_test.h5"
    rig: str = "hupr"
    train_sequences: int = bounded(40, gt=0)
    test_sequences: int = bounded(8, gt=0)
    seconds: float = bounded(12.0, gt=0)
    # shorter training sequences buy more people, motions and places for the same simulation time
    train_seconds: float | None = None  # default: ``seconds``
    train_seed: int = 1
    # more training caches of train_seconds each: sequences and seed per cache, written as
    # <train_cache's folder>/sim_train_<sequences>x<seconds>_s<seed>.h5 (the track refiner's data)
    extra_train_sequences: tuple[int, ...] = ()
    extra_train_seeds: tuple[int, ...] = ()
    test_seed: int = 2
    val_fraction: float = bounded(0.1, ge=0, lt=1)
    augment: bool = False  # mirror and gain augmentation of training samples
    # "pseudo": train on radarpose label's pseudo-labels of the simulated camera instead of the
    # truth (docs/LABELS.md); the test cache keeps the truth, so evaluation stays honest
    labels: Literal["truth", "pseudo"] = "truth"
    label_sigma_px: float = bounded(3.0, ge=0)
    # pseudo labels: a truth cache of the same sequences and seeds (fusion.data.relabel); the
    # training cache is then relabelled from it instead of simulating the radar again
    truth_cache: str | None = None

    def __post_init__(self) -> None:
        if self.kind != "simulated" and not self.root:
            raise ConfigError(f"root: data kind {self.kind!r} needs the benchmark tree's folder")
        if len(self.extra_train_sequences) != len(self.extra_train_seeds):
            raise ConfigError(
                "extra_train_sequences and extra_train_seeds: one sequence count per seed, got "
                f"{len(self.extra_train_sequences)} and {len(self.extra_train_seeds)}"
            )

    def extra_train_caches(self) -> list[tuple[Path, int, int]]:
        """``(path, sequences, seed)`` of each extra training cache."""
        sec = self.train_seconds or self.seconds
        folder = Path(self.train_cache).parent
        return [
            (folder / f"sim_train_{n}x{sec:g}_s{seed}.h5", n, seed)
            for n, seed in zip(self.extra_train_sequences, self.extra_train_seeds, strict=True)
        ]


@dataclass(frozen=True)
class TrainConfig:
    model: str
    model_args: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    format_version: int = 1


def load_train_config(path: str | Path) -> TrainConfig:
    return from_dict(TrainConfig, load_yaml(path), source=str(path))


def _rng_state() -> dict[str, Any]:
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),  # noqa: NPY002 - global state that user transforms may draw from
        "python": random.getstate(),
    }


def _set_rng_state(s: dict[str, Any]) -> None:
    torch.set_rng_state(s["torch"])
    np.random.set_state(s["numpy"])  # noqa: NPY002
    random.setstate(s["python"])


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (1 << 32))  # noqa: NPY002
    random.seed(seed)


def make_scheduler(
    opt: torch.optim.Optimizer, cfg: OptimConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler:
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "onecycle":
        # RT-Pose's recipe: one-cycle, div 10, 40 % warm-up, momentum 0.95 -> 0.85
        return torch.optim.lr_scheduler.OneCycleLR(
            opt,
            cfg.lr,
            total_steps=total,
            pct_start=0.4,
            div_factor=10.0,
            base_momentum=0.85,
            max_momentum=0.95,
        )
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, total)
    if cfg.schedule == "hupr":
        # HuPR: lr x 0.999 at batch indices 0, 2000, 4000, ... of every epoch
        per_epoch = math.ceil(steps_per_epoch / 2000)
        return torch.optim.lr_scheduler.LambdaLR(
            opt,
            lambda s: (
                0.999 ** (s // steps_per_epoch * per_epoch + (s % steps_per_epoch) // 2000 + 1)
            ),
        )
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write atomically: a killed save never leaves a half-written checkpoint under the real name."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def read_torch_file(path: str | Path) -> Any:
    """``torch.load`` on the CPU with one-line errors. Unpickles fully: read only files you trust."""
    p = Path(path)
    if not p.is_file():
        raise FusionError(f"{p}: checkpoint not found")
    try:
        return torch.load(p, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a damaged file
        raise FusionError(
            f"{p}: not a readable checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
        ) from None


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    ck = read_torch_file(p)
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise FusionError(
            f"{p}: not a radarpose checkpoint (for official HuPR/RT-Pose weights use 'radarpose import-weights')"
        )
    if str(ck.get("format_version", "0")).split(".")[0] != CHECKPOINT_VERSION.split(".")[0]:
        raise FusionError(
            f"{p}: checkpoint format {ck.get('format_version')} is newer than this radarpose reads ({CHECKPOINT_VERSION})"
        )
    return ck


@dataclass
class Trainer:
    """One training run. ``loss_fn(model_output, batch) -> (loss, parts)``."""

    cfg: TrainConfig
    model: nn.Module
    train_set: Dataset
    val_set: Dataset | None
    loss_fn: Callable[[Any, dict[str, torch.Tensor]], tuple[torch.Tensor, dict[str, float]]]
    out_dir: Path
    device: torch.device = field(
        default_factory=lambda: torch.device("cuda" if torch.cuda.is_available() else "cpu")
    )

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
        self.rank = 0
        if self.distributed:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
            self.rank = dist.get_rank()
        o = self.cfg.optim
        seed_everything(o.seed)
        self.model.to(self.device)
        self.net: nn.Module = self.model
        if self.distributed:
            self.net = nn.parallel.DistributedDataParallel(self.model)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
        self.steps_per_epoch = self._steps()
        self.sched = make_scheduler(self.opt, o, self.steps_per_epoch)
        self.scaler = torch.amp.GradScaler("cuda", enabled=o.amp and self.device.type == "cuda")
        self.epoch = 0
        self.best = math.inf

    def _steps(self) -> int:
        n = len(self.train_set)
        if self.distributed:
            import torch.distributed as dist

            n = math.ceil(n / dist.get_world_size())
        return max(1, math.ceil(n / self.cfg.optim.batch_size))

    def _loader(self, epoch: int) -> DataLoader:
        o = self.cfg.optim
        if self.distributed:
            sampler = DistributedSampler(self.train_set, shuffle=True, seed=o.seed)
            sampler.set_epoch(epoch)
            return DataLoader(
                self.train_set, batch_size=o.batch_size, sampler=sampler, num_workers=o.workers
            )
        g = torch.Generator().manual_seed(
            o.seed * 1_000_003 + epoch
        )  # order depends on (seed, epoch) only
        return DataLoader(
            self.train_set,
            batch_size=o.batch_size,
            shuffle=True,
            generator=g,
            num_workers=o.workers,
        )

    def state(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "format_version": CHECKPOINT_VERSION,
            "config": asdict(self.cfg),
            "model_name": self.cfg.model,
            "model_args": dict(self.cfg.model_args),
            "model_state_dict": self.model.state_dict(),
            "optimizer_state_dict": self.opt.state_dict(),
            "scheduler_state_dict": self.sched.state_dict(),
            "scaler_state_dict": self.scaler.state_dict(),
            "rng": _rng_state(),
            "epoch": self.epoch,
            "best": self.best,
        }

    def resume(self, path: str | Path) -> None:
        ck = load_checkpoint(path)
        self.model.load_state_dict(ck["model_state_dict"])
        self.opt.load_state_dict(ck["optimizer_state_dict"])
        self.sched.load_state_dict(ck["scheduler_state_dict"])
        self.scaler.load_state_dict(ck["scaler_state_dict"])
        _set_rng_state(ck["rng"])
        self.epoch = int(ck["epoch"])
        self.best = float(ck["best"])

    def _batch(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in batch.items()}

    def train_epoch(self) -> dict[str, float]:
        self.net.train()
        totals: dict[str, float] = {}
        n = 0
        loader = self._loader(self.epoch)
        for batch in (
            progress(
                loader,
                total=len(loader),
                desc=f"epoch {self.epoch + 1}/{self.cfg.optim.epochs}",
                unit="batch",
            )
            if self.rank == 0
            else loader
        ):
            b = self._batch(batch)
            with torch.autocast(self.device.type, enabled=self.scaler.is_enabled()):
                out = self.net(b["input"])
                loss, parts = self.loss_fn(out, b)
            if not torch.isfinite(loss):
                raise FusionError(
                    f"loss became {float(loss)} at epoch {self.epoch + 1}; lower the learning rate or check the data for NaN"
                )
            self.opt.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.opt)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
            self.scaler.step(self.opt)
            self.scaler.update()
            self.sched.step()
            for k, v in {"loss": float(loss.detach()), **parts}.items():
                totals[k] = totals.get(k, 0.0) + v
            n += 1
        return {k: v / max(n, 1) for k, v in totals.items()}

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        if self.val_set is None or len(self.val_set) == 0:
            return {}
        self.net.eval()
        totals: dict[str, float] = {}
        n = 0
        for batch in DataLoader(self.val_set, batch_size=self.cfg.optim.batch_size):
            b = self._batch(batch)
            loss, parts = self.loss_fn(self.net(b["input"]), b)
            for k, v in {"loss": float(loss.detach()), **parts}.items():
                totals[k] = totals.get(k, 0.0) + v
            n += 1
        return {f"val_{k}": v / max(n, 1) for k, v in totals.items()}

    def fit(self, stop_after: int | None = None) -> dict[str, float]:
        """Train to the configured epochs (or ``stop_after`` more); checkpoint every epoch."""
        log_path = self.out_dir / "log.csv"
        row: dict[str, float] = {}
        done = 0
        while self.epoch < self.cfg.optim.epochs and (stop_after is None or done < stop_after):
            t0 = time.time()
            row = {"epoch": self.epoch + 1, **self.train_epoch()}
            row.update(self.validate())
            row["seconds"] = time.time() - t0
            row["lr"] = self.opt.param_groups[0]["lr"]
            self.epoch += 1
            done += 1
            if self.rank == 0:
                new = not log_path.exists()
                with log_path.open("a", newline="") as fh:
                    w = csv.DictWriter(fh, fieldnames=list(row))
                    if new:
                        w.writeheader()
                    w.writerow(row)
                metric = row.get("val_loss", row["loss"])
                if metric < self.best:
                    self.best = metric
                    save_checkpoint(self.out_dir / "best.pt", self.state())
                save_checkpoint(self.out_dir / "last.pt", self.state())
                (self.out_dir / "last.json").write_text(json.dumps(row, indent=2))
        return row
