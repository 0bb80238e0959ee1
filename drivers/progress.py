"""Progress bars that every package shares, silenced by ``radarpose --quiet``."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
_QUIET = False


def set_quiet(quiet: bool) -> None:
    global _QUIET
    _QUIET = quiet


def progress(
    items: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "frame"
) -> Iterator[T]:
    """Wrap an iterable in a progress bar on stderr (none when quiet or not a terminal in CI)."""
    return iter(
        tqdm(
            items,
            total=total,
            desc=desc,
            unit=unit,
            disable=_QUIET,
            file=sys.stderr,
            dynamic_ncols=True,
            mininterval=0.5,
        )
    )
