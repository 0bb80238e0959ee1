"""Model registry: build any model from its config name and arguments; one model per module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ..errors import FusionError

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register(name: str, builder: Callable[..., nn.Module]) -> None:
    _REGISTRY[name] = builder


def build_model(name: str, **kwargs: Any) -> nn.Module:
    if name not in _REGISTRY:
        raise FusionError(f"unknown model {name!r} (known: {', '.join(sorted(_REGISTRY))})")
    try:
        return _REGISTRY[name](**kwargs)
    except TypeError as exc:
        raise FusionError(f"model {name!r}: {exc}") from None


def _hrradarpose(**kwargs: Any) -> nn.Module:
    from .hrradarpose import HRRadarPose

    return HRRadarPose(**kwargs)


def _hupr(**kwargs: Any) -> nn.Module:
    from .hupr import HuPRNet  # imports torch-geometric: only when asked for

    return HuPRNet(**kwargs)


def _track(**kwargs: Any) -> nn.Module:
    from .track import RadarPoseLiteTrack

    return RadarPoseLiteTrack(**kwargs)


def _register_builtin() -> None:
    from .realtime import RadarPoseLite

    register("radarpose_lite", RadarPoseLite)
    register("hrradarpose", _hrradarpose)
    register("hupr", _hupr)
    register("radarpose_lite_track", _track)


_register_builtin()
