"""The source interface shared by live boards, replayed files and the simulator.

A source yields :class:`Frame` objects in time order. Consumers (preprocess, infer, record)
never learn where frames came from. Every source counts what it had to drop in
:class:`SourceStats`, so loss is always reported, never silent.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

# What a frame's ``data`` holds, by kind (array shapes in the docstring of each producer):
#   radar_adc    {"adc": int16 (W,) raw words as on the wire}
#   radar_points {"points": float32 (M, C)}       columns named by the stream's ``fields``
#   radar_tlv    {"packet": uint8 (B,)} plus parsed arrays ("points", "range_profile", ...)
#   lidar        {"points": float32 (M, 4)}      x, y, z, intensity in the LiDAR frame
#   image        {"image": uint8 (H, W, 3)}      RGB
#   skeleton     {"joints": float32 (P, J, 3), "confidence": float32 (P, J), "person_id": int32 (P,)}
KINDS = ("radar_adc", "radar_points", "radar_tlv", "lidar", "image", "skeleton")


class FrameFlag(enum.IntFlag):
    """Per-frame damage marks; a flagged frame is delivered, never silently dropped."""

    NONE = 0
    INCOMPLETE = 1  # bytes were missing and zero-filled (lost UDP packets, truncated packet)
    CORRUPT = 2  # content failed a check (bad TLV, NaN)
    GAP_BEFORE = 4  # device counter jumped: frames before this one were lost
    DUPLICATE = 8


@dataclass(frozen=True, slots=True)
class Frame:
    """One sensor sample: host stamp (int64 ns since epoch), device counter, arrays by name."""

    sensor: str
    kind: str
    stamp_ns: int
    counter: int
    data: dict[str, np.ndarray]
    flags: int = 0


@dataclass
class SourceStats:
    """What a source delivered and what it lost; ``warnings`` are human-readable, one per event kind."""

    frames: int = 0
    dropped: int = 0
    flagged: int = 0
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)


@runtime_checkable
class Source(Protocol):
    """Anything that yields frames: a board driver, a file replayer, the simulator."""

    name: str
    stats: SourceStats

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


def merge_frames(streams: Iterable[Iterable[Frame]]) -> Iterator[Frame]:
    """Merge per-sensor frame iterators (each time-ordered) into one time-ordered iterator."""
    return heapq.merge(*streams, key=lambda f: f.stamp_ns)
