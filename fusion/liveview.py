"""A live view of skeletons for ``radarpose live``: top and side views, updated as frames arrive.

With a display (``DISPLAY``/``WAYLAND_DISPLAY`` set and an interactive matplotlib backend) it is a
window; without one it redraws a PNG file at most once per ``interval``, which a browser or an
image viewer can reload. Drawing is throttled so that it never slows the pipeline below the
radar's frame rate.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from drivers.skeleton import RTPOSE15

from .errors import FusionError


def display_available() -> bool:
    """Whether a window can be opened (an X or Wayland display is set)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class LiveView:
    """Top view (x forward, y left) and side view (x, z) of ``(15, 3)`` skeletons in metres."""

    def __init__(
        self,
        png: str | Path | None = None,
        *,
        interval: float = 0.1,
        extent: tuple[float, float] = (0.0, 8.0),
    ) -> None:
        try:
            import matplotlib

            if png is not None or not display_available():
                matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise FusionError("the live view needs matplotlib: pip install 'radarpose[viz]'") from e
        self.plt = plt
        self.png = Path(png) if png is not None else None
        if self.png is None and not display_available():
            raise FusionError("no display for a live view window; give a PNG path to draw into")
        self.interval = interval
        self.last = 0.0
        self.frames = 0
        self.fig, (self.top, self.side) = plt.subplots(1, 2, figsize=(9, 4))
        for ax, ylab, ylim in (
            (self.top, "y (m, left)", (-4, 4)),
            (self.side, "z (m)", (-1.5, 1.5)),
        ):
            ax.set_xlim(*extent)
            ax.set_ylim(*ylim)
            ax.set_xlabel("x (m, forward)")
            ax.set_ylabel(ylab)
            ax.set_aspect("equal")
            ax.grid(alpha=0.3)
        self.top.invert_yaxis()  # left is up on the page when looking down with x to the right
        self.lines: list[tuple[object, object]] = []
        self.title = self.fig.suptitle("")
        if self.png is None:
            plt.ion()
            plt.show(block=False)

    def _segments(self, joints: np.ndarray, a: int, b: int) -> np.ndarray:
        """``(3 * E, 2)`` polyline of the skeleton's edges in axes ``a``, ``b``, NaN-separated."""
        e = np.asarray(RTPOSE15.edges)
        seg = np.full((len(e), 3, 2), np.nan)
        seg[:, 0] = joints[e[:, 0]][:, [a, b]]
        seg[:, 1] = joints[e[:, 1]][:, [a, b]]
        return seg.reshape(-1, 2)

    def update(self, people: Sequence[np.ndarray], note: str = "", force: bool = False) -> bool:
        """Draw ``people`` (each ``(15, 3)`` m, radar frame); returns whether it drew (throttled)."""
        now = time.monotonic()
        self.frames += 1
        if not force and now - self.last < self.interval:
            return False
        self.last = now
        while len(self.lines) < len(people):
            self.lines.append(
                (self.top.plot([], [], "-o", ms=2)[0], self.side.plot([], [], "-o", ms=2)[0])
            )
        for k, (lt, ls) in enumerate(self.lines):
            if k < len(people):
                j = np.asarray(people[k], dtype=np.float64).reshape(15, 3)
                top, side = self._segments(j, 0, 1), self._segments(j, 0, 2)
                lt.set_data(top[:, 0], top[:, 1])
                ls.set_data(side[:, 0], side[:, 1])
            else:
                lt.set_data([], [])
                ls.set_data([], [])
        self.title.set_text(f"{len(people)} people  {note}")
        if self.png is not None:
            self.fig.savefig(self.png)
        else:
            self.fig.canvas.draw_idle()
            self.plt.pause(0.001)
        return True

    def close(self) -> None:
        self.plt.close(self.fig)
