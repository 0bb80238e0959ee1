"""Official HuPR and RT-Pose checkpoints → radarpose checkpoints (``radarpose import-weights``).

HuPR's trainer saves ``{'epoch', 'model_state_dict', 'optimizer_state_dict', 'accuracy'}`` with
``HuPRNet``'s names (ours are the same); RT-Pose's det3d trainer saves ``{'meta', 'state_dict',
'optimizer'}`` with ``RadarPoseNet``'s names (mapped by :func:`fusion.models.hrradarpose.official_key`).
The result has our checkpoint layout (see :mod:`fusion.train`) without optimiser state: it
evaluates and infers, and fine-tunes from epoch 0, but does not ``--resume``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from .errors import FusionError
from .train import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, TrainConfig, read_torch_file

Source = Literal["hupr", "rtpose"]
MODEL_OF_SOURCE: dict[str, str] = {"hupr": "hupr", "rtpose": "hrradarpose"}
# accepted spellings of --model/--from
SOURCE_ALIASES: dict[str, Source] = {
    "hupr": "hupr",
    "rtpose": "rtpose",
    "rt-pose": "rtpose",
    "hrradarpose": "rtpose",
}


def read_checkpoint(path_or_state: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    """A checkpoint dict, read from a file unless it is one already."""
    if isinstance(path_or_state, Mapping):
        return path_or_state
    # official files pickle numpy/meta objects, so they are unpickled fully: import only
    # checkpoints you trust
    ck = read_torch_file(path_or_state)
    if not isinstance(ck, Mapping):
        raise FusionError(f"{path_or_state}: holds a {type(ck).__name__}, not a checkpoint dict")
    return ck


def detect_source(ck: Mapping[str, Any]) -> Source:
    """Which benchmark saved ``ck``; a :class:`FusionError` saying why when it is neither."""
    if ck.get("format") == CHECKPOINT_FORMAT:
        raise FusionError("already a radarpose checkpoint; nothing to import")
    hupr = ck.get("model_state_dict")
    if isinstance(hupr, Mapping) and any(
        k.removeprefix("module.").startswith("radarDecoder.") for k in hupr
    ):
        return "hupr"
    det3d = ck.get("state_dict")
    if isinstance(det3d, Mapping) and any(
        k.removeprefix("module.").startswith("backbone.backbone.") for k in det3d
    ):
        return "rtpose"
    keys = sorted(map(str, ck))[:6]
    raise FusionError(
        "neither a HuPR checkpoint ('model_state_dict' with 'radarDecoder.*' weights) nor an "
        f"RT-Pose one ('state_dict' with 'backbone.backbone.*' weights); top-level keys: {keys}"
    )


def import_official(path: str | Path, source: str | None = None) -> dict[str, Any]:
    """Read an official checkpoint and return it as a radarpose checkpoint dict (not yet saved)."""
    ck = read_checkpoint(path)
    found = detect_source(ck)
    if source is not None:
        want = SOURCE_ALIASES.get(source.lower())
        if want is None:
            raise FusionError(
                f"unknown source {source!r} (expected one of {sorted(SOURCE_ALIASES)})"
            )
        if want != found:
            raise FusionError(f"{path}: this is a {found} checkpoint, not {want}")
    if found == "hupr":
        from .models.hupr import load_hupr_checkpoint

        model = load_hupr_checkpoint(ck)
    else:
        from .models.hrradarpose import load_official_checkpoint

        model = load_official_checkpoint(ck)
    name = MODEL_OF_SOURCE[found]
    meta = ck.get("meta")
    epoch = ck.get("epoch", meta.get("epoch") if isinstance(meta, Mapping) else None)
    accuracy = ck.get("accuracy")
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "config": asdict(TrainConfig(model=name)),
        "model_name": name,
        "model_args": {},
        "model_state_dict": model.state_dict(),
        "epoch": 0,
        "best": math.inf,
        "imported_from": {
            "source": found,
            "file": str(path),
            "epoch": int(epoch) if isinstance(epoch, int | float) else None,
            "accuracy": float(accuracy) if isinstance(accuracy, int | float) else None,
        },
    }
