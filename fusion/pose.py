"""From network output to skeletons in metres: decoding on the HuPR grid and batch prediction."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

from drivers import RadarConfig

from .features import grid_to_xy
from .models.realtime import decode


def person_threshold(model: nn.Module, threshold: float | None = None) -> float:
    """The caller's person-score threshold, else the model's own (chosen on validation data and
    stored in its ``model_args``), else 0.3."""
    return float(getattr(model, "threshold", 0.3)) if threshold is None else threshold


@dataclass
class Person3D:
    """One predicted person: ``joints`` ``(15, 3)`` metres in the reference radar frame, and a
    score; ``cell`` is the (row, column) of the network's output grid it was decoded at."""

    joints: np.ndarray
    score: float
    cell: tuple[int, int] | None = None


def people_from_output(
    hm: torch.Tensor,
    reg: torch.Tensor,
    radar: RadarConfig,
    threshold: float = 0.3,
    max_people: int = 3,
) -> list[list[Person3D]]:
    """Decode a batch of (heatmap logits ``(B, 1, 32, 32)``, regression ``(B, 48, 32, 32)``)."""
    out = []
    for people in decode(hm, reg, threshold, max_people):
        found = []
        for p in people:
            r, a = 2.0 * (np.asarray(p["cell"]) + np.asarray(p["offset"]))
            root = grid_to_xy(np.array(r), np.array(a), radar, p["z"])
            joints = root[None, :] + np.asarray(p["joints_rel"])
            joints[0] = root
            cell = (int(p["cell"][0]), int(p["cell"][1]))
            found.append(Person3D(joints.astype(np.float32), float(p["score"]), cell))
        out.append(found)
    return out


@torch.no_grad()
def predict(
    model: nn.Module,
    inputs: np.ndarray | torch.Tensor,
    radar: RadarConfig,
    threshold: float = 0.3,
    max_people: int = 3,
    batch_size: int = 32,
) -> list[list[Person3D]]:
    """Run the model over ``(N, C, 64, 64)`` inputs and decode; returns per sample a list of people.
    A model with a track refiner takes the inputs as one stream in time order."""
    model.eval()
    x = torch.as_tensor(inputs, dtype=torch.float32)
    device = next(model.parameters()).device
    decode = PoseDecoder(model, radar, threshold, max_people)
    res: list[list[Person3D]] = []
    for i in range(0, len(x), batch_size):
        res += decode(x[i : i + batch_size].to(device))
    return res


@dataclass
class Tracker:
    """Greedy-optimal pelvis matching frame to frame; a person unseen for ``patience`` frames is dropped."""

    gate: float = 0.6  # m of pelvis motion allowed between frames
    patience: int = 5
    _last: dict[int, tuple[np.ndarray, int]] | None = None
    _next: int = 0

    def __call__(self, people: list[Person3D]) -> list[int]:
        last = self._last if self._last is not None else {}
        ids = list(last)
        ids_out = [-1] * len(people)
        if ids and people:
            cost = np.linalg.norm(
                np.array([p.joints[0] for p in people])[:, None]
                - np.array([last[i][0] for i in ids])[None],
                axis=-1,
            )
            for a, b in zip(*linear_sum_assignment(cost), strict=True):
                if cost[a, b] <= self.gate:
                    ids_out[a] = ids[b]
        new_last = {i: (pos, age + 1) for i, (pos, age) in last.items() if age + 1 < self.patience}
        for k, p in enumerate(people):
            if ids_out[k] < 0:
                ids_out[k] = self._next
                self._next += 1
            new_last[ids_out[k]] = (p.joints[0].copy(), 0)
        self._last = new_last
        return ids_out

    @property
    def alive(self) -> set[int]:
        """Ids of the people still followed."""
        return set(self._last or {})


class TrackRefinement:
    """Live use of a model with a track refiner (:class:`fusion.models.track.RadarPoseLiteTrack`):
    follows people frame to frame and replaces each one's joint offsets by the refiner's reading
    of that person's last ``receptive_field`` frames. Call once per frame, in time order."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.tracker = Tracker()
        self.frames = int(model.track.receptive_field)  # type: ignore[union-attr]
        self._history: dict[int, deque[torch.Tensor]] = {}

    def reset(self) -> None:
        """Forget every track (a new recording or a gap in the stream)."""
        self.tracker = Tracker()
        self._history.clear()

    @torch.no_grad()
    def __call__(
        self, people: list[Person3D], features: torch.Tensor, reg: torch.Tensor
    ) -> tuple[list[Person3D], list[int]]:
        """This frame's decoded ``people`` (with cells), the frame model's feature map
        ``features (W, 32, 32)`` and regression ``reg (48, 32, 32)`` → refined people and their
        track ids."""
        from .models.track import track_inputs

        ids = self.tracker(people)
        alive = self.tracker.alive
        self._history = {i: h for i, h in self._history.items() if i in alive}
        if not people:
            return people, ids
        cells = torch.tensor([p.cell for p in people], dtype=torch.long, device=features.device)
        n = len(people)
        vec = track_inputs(features.expand(n, *features.shape), reg.expand(n, *reg.shape), cells)
        windows = []
        for i, v in zip(ids, vec, strict=True):
            h = self._history.setdefault(i, deque(maxlen=self.frames))
            h.append(v)
            windows.append(torch.stack([h[0]] * (self.frames - len(h)) + list(h)))
        rel = self.model(torch.stack(windows))[:, -1].reshape(n, 15, 3).cpu().numpy()
        out = []
        for p, r in zip(people, rel, strict=True):
            joints = (p.joints[0][None, :] + r).astype(np.float32)
            joints[0] = p.joints[0]
            out.append(Person3D(joints, p.score, p.cell))
        return out, ids


class PoseDecoder:
    """Network inputs → people, frame by frame in time order: heatmap decoding, then for a model
    with a track refiner (:class:`fusion.models.track.RadarPoseLiteTrack`) the refinement along
    each person's track. ``threshold`` None: the model's own (:func:`person_threshold`)."""

    def __init__(
        self,
        model: nn.Module,
        radar: RadarConfig,
        threshold: float | None = None,
        max_people: int = 3,
    ) -> None:
        self.model = model
        self.radar = radar
        self.threshold = person_threshold(model, threshold)
        self.max_people = max_people
        self.refine = TrackRefinement(model) if hasattr(model, "track") else None

    def reset(self) -> None:
        """Forget the people followed (a new recording or a gap in the stream)."""
        if self.refine is not None:
            self.refine.reset()

    @torch.no_grad()
    def __call__(
        self, x: torch.Tensor, new_stream: np.ndarray | None = None
    ) -> list[list[Person3D]]:
        """Inputs ``x (B, C, 64, 64)``, consecutive frames → per frame a list of people.
        ``new_stream (B,)`` bool: frame k starts another stream (a sequence of a cache), so the
        people followed so far are forgotten first."""
        if self.refine is None:
            hm, reg = self.model(x)
            return people_from_output(hm, reg, self.radar, self.threshold, self.max_people)
        hm, reg, feat = self.model.frame_outputs(x)  # type: ignore[operator]
        out = []
        for k, people in enumerate(
            people_from_output(hm, reg, self.radar, self.threshold, self.max_people)
        ):
            if new_stream is not None and new_stream[k]:
                self.refine.reset()
            out.append(self.refine(people, feat[k], reg[k])[0])
        return out
