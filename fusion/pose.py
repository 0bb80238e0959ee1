"""From network output to skeletons in metres: decoding on the HuPR grid and batch prediction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
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
    """One predicted person: ``joints`` ``(15, 3)`` metres in the reference radar frame, and a score."""

    joints: np.ndarray
    score: float


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
            found.append(Person3D(joints.astype(np.float32), float(p["score"])))
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
    """Run the model over ``(N, C, 64, 64)`` inputs and decode; returns per sample a list of people."""
    model.eval()
    x = torch.as_tensor(inputs, dtype=torch.float32)
    device = next(model.parameters()).device
    res: list[list[Person3D]] = []
    for i in range(0, len(x), batch_size):
        hm, reg = model(x[i : i + batch_size].to(device))
        res += people_from_output(hm, reg, radar, threshold, max_people)
    return res
