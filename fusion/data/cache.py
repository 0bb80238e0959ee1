"""A torch Dataset over a simulator feature cache (see fusion.data.simgen), with CenterNet targets."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from drivers import RadarConfig

from ..errors import FusionError
from ..features import context_rows, model_input, sequence_starts, xy_to_grid

OUT = 32  # output grid (stride 2 over the 64 × 64 heatmap grid)


def targets(joints: np.ndarray, radar: RadarConfig, sigma: float = 1.0) -> dict[str, np.ndarray]:
    """CenterNet targets from ``(P, 15, 3)`` joints (NaN rows = absent): heatmap ``(1, 32, 32)``,
    regression ``(48, 32, 32)`` and mask ``(32, 32)``."""
    hm = np.zeros((1, OUT, OUT), np.float32)
    reg = np.zeros((48, OUT, OUT), np.float32)
    mask = np.zeros((OUT, OUT), np.float32)
    yy, xx = np.mgrid[0:OUT, 0:OUT]
    for person in joints:
        if not np.isfinite(person).all():
            continue
        g = xy_to_grid(person[0], radar) / 2.0  # fractional output cell
        c = np.floor(g).astype(int)
        if not (0 <= c[0] < OUT and 0 <= c[1] < OUT):
            continue
        hm[0] = np.maximum(hm[0], np.exp(-((yy - c[0]) ** 2 + (xx - c[1]) ** 2) / (2 * sigma**2)))
        hm[0, c[0], c[1]] = 1.0
        reg[:2, c[0], c[1]] = g - c
        reg[2, c[0], c[1]] = person[0, 2]
        reg[3:, c[0], c[1]] = (person - person[0]).reshape(-1)
        mask[c[0], c[1]] = 1.0
    return {"heatmap": hm, "reg": reg, "mask": mask}


class FeatureCacheDataset(Dataset):
    """Samples of a cache: ``input`` ``(74 + 24·context, 64, 64)``, targets, and ``joints`` ``(3, 15, 3)``
    (NaN padded). ``context`` earlier frames of the same sequence, ``context_stride`` apart, join the
    input as :func:`fusion.features.model_input` lays them out.

    The HDF5 file is opened lazily per process, so DataLoader workers each get their own handle.
    """

    def __init__(
        self,
        path: str | Path,
        radar: RadarConfig,
        indices: np.ndarray | None = None,
        augment: bool = False,
        seed: int = 0,
        context: int = 0,
        context_stride: int = 2,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FusionError(
                f"{self.path}: feature cache not found (make it with radarpose train, which simulates it)"
            )
        with h5py.File(self.path, "r") as f:
            n = f["fh"].shape[0]
            self.sequence = f["sequence"][:]
        self.indices = np.arange(n) if indices is None else np.asarray(indices)
        self.radar = radar
        self.augment = augment
        self.seed = seed
        self.context, self.context_stride = context, context_stride
        self.first = sequence_starts(self.sequence)
        self._f: h5py.File | None = None

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if self._f is None:
            self._f = h5py.File(self.path, "r")
        k = int(self.indices[i])
        rows = [k, *context_rows(k, int(self.first[k]), self.context, self.context_stride)]
        fh = np.stack([self._f["fh"][r] for r in rows]).astype(np.float32)  # (1 + K, 8, 64, 64)
        fv = np.stack([self._f["fv"][r] for r in rows]).astype(np.float32)  # (1 + K, 8, 64, 16)
        j = self._f["joints"][k]
        if self.augment:
            fh, fv, j = augment(
                fh, fv, j, np.random.default_rng((self.seed, k, torch.initial_seed() % (1 << 31)))
            )
        x = model_input(fh[0], fv[0], fh[1:], fv[1:]) if self.context else model_input(fh[0], fv[0])
        t = targets(j, self.radar)
        out = {k2: torch.from_numpy(v) for k2, v in t.items()}
        out["input"] = torch.from_numpy(x)
        out["joints"] = torch.from_numpy(j)
        out["sequence"] = torch.tensor(int(self.sequence[k]))
        return out


# joint order after mirroring y: left and right swap (RT-Pose 15)
MIRROR = np.array([0, 4, 5, 6, 1, 2, 3, 7, 8, 12, 13, 14, 9, 10, 11])


def mirror(fh: np.ndarray, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal maps ``fh (..., 64, 64)`` and joints ``(..., 15, 3)`` mirrored about the radar's
    x-z plane (see :func:`augment`); the column no azimuth maps onto takes the maps' minimum."""
    m = np.empty_like(fh)
    m[..., :63] = fh[..., 62::-1]
    m[..., 63] = fh.min()
    return m, joints[..., MIRROR, :] * np.array([1.0, -1.0, 1.0], np.float32)


def augment(
    fh: np.ndarray, fv: np.ndarray, joints: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random mirror about the radar's x-z plane and a random receiver gain, the same for every
    frame of ``fh (..., 8, 64, 64)``, ``fv (..., 8, 64, 16)``; ``joints (P, 15, 3)``.

    Mirroring maps direction cosine u to -u: azimuth index a to 62 - a on HuPR's grid (u = (a-31)/32),
    and y to -y with left and right joints swapped; the vertical radar's height profiles are unchanged.
    The gain is an offset in log-power, as a different RCS or receiver gain would give.
    """
    if rng.random() < 0.5:
        fh, joints = mirror(fh, joints)
    g = np.float32(rng.normal(0, 0.5))
    return fh + g, fv + g, joints
