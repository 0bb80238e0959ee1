"""Training data for the track refiner (fusion.models.track): per-person feature tracks of simulator caches.

The frozen frame model runs once over every frame of a cache (and over its mirror image, the
same augmentation the frame model trained with); each true person's track input is read at the
person's true output cell. Windows of ``window`` frames end at every ``step``-th frame of a track;
the frames before a track's start repeat its first frame, as a live track does.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from drivers import RadarConfig
from drivers.progress import progress

from ..errors import FusionError
from ..features import context_rows, model_input, sequence_starts, xy_to_grid
from .cache import OUT
from .cache import mirror as mirror_maps


@torch.no_grad()
def cache_tracks(
    model: torch.nn.Module,
    cache: str | Path,
    radar: RadarConfig,
    mirror: bool = False,
    batch_size: int = 32,
) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Tracks of a cache: per person and unbroken stretch of frames, ``(inputs (T, C), target
    (T, 45) joint offsets from the root in metres, sequence id)``. ``model`` is a
    :class:`fusion.models.track.RadarPoseLiteTrack`; ``mirror`` reflects the radar maps and the
    people about the radar's x-z plane first."""
    from ..models.track import track_inputs

    path = Path(cache)
    if not path.is_file():
        raise FusionError(f"{path}: feature cache not found (radarpose train simulates it)")
    with h5py.File(path, "r") as f:
        fh, fv, joints, seq = f["fh"][:], f["fv"][:], f["joints"][:], f["sequence"][:]
    if mirror:
        fh, joints = mirror_maps(fh, joints)
    first = sequence_starts(seq)
    n, people = len(seq), joints.shape[1]
    present = np.isfinite(joints).all(axis=(2, 3))  # (N, P)
    inputs: np.ndarray | None = None
    for s in progress(
        range(0, n, batch_size), total=-(-n // batch_size), desc=f"tracks {path.name}", unit="batch"
    ):
        rows = np.arange(s, min(n, s + batch_size))
        past = [context_rows(k, int(first[k]), model.context, model.context_stride) for k in rows]
        x = np.stack(
            [model_input(fh[k], fv[k], fh[c], fv[c]) for k, c in zip(rows, past, strict=True)]
        )
        _, reg, feat = model.frame_outputs(torch.from_numpy(x))
        for p in range(people):
            ok = present[rows, p]
            if not ok.any():
                continue
            g = xy_to_grid(joints[rows[ok], p, 0], radar) / 2.0
            cells = torch.from_numpy(np.clip(np.floor(g), 0, OUT - 1).astype(np.int64))
            v = track_inputs(feat[ok], reg[ok], cells).numpy()
            if inputs is None:
                inputs = np.zeros((n, people, v.shape[1]), np.float32)
            inputs[rows[ok], p] = v
    out = []
    if inputs is None:
        return out
    for sid in np.unique(seq):
        rows = np.flatnonzero(seq == sid)
        for p in range(people):
            r = rows[present[rows, p]]
            for run in np.split(r, np.flatnonzero(np.diff(r) != 1) + 1):
                if len(run):
                    rel = joints[run, p] - joints[run, p, :1]
                    out.append((inputs[run, p], rel.reshape(len(run), 45), int(sid)))
    return out


class TrackWindows(Dataset):
    """Windows over tracks: ``input (window, C)``, ``target (window, 45)``, oldest frame first."""

    def __init__(
        self, tracks: list[tuple[np.ndarray, np.ndarray, int]], window: int, step: int = 1
    ) -> None:
        if not tracks:
            raise FusionError("no tracks to train on (the caches hold no people)")
        self.window = window
        pad = window - 1
        self.x = [np.concatenate([np.repeat(x[:1], pad, 0), x]) for x, _, _ in tracks]
        self.y = [np.concatenate([np.repeat(y[:1], pad, 0), y]) for _, y, _ in tracks]
        self.index = [(t, e) for t, (x, _, _) in enumerate(tracks) for e in range(0, len(x), step)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        t, e = self.index[i]
        sl = slice(e, e + self.window)
        return {
            "input": torch.from_numpy(self.x[t][sl]),
            "target": torch.from_numpy(self.y[t][sl].astype(np.float32)),
        }

    def statistics(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation ``(C,)`` of the inputs over all track frames."""
        allx = np.concatenate([x[self.window - 1 :] for x in self.x])
        return torch.from_numpy(allx.mean(0)), torch.from_numpy(allx.std(0))
