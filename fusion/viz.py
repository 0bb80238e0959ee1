"""Pictures of skeletons over radar heatmaps, LiDAR points and camera images (matplotlib, Agg).

Used by ``radarpose demo``, ``radarpose view`` and the reports. Inputs are plain arrays so any
chain can draw: skeletons ``(P, 15, 3)`` metres in the radar frame (x forward, y left, z up),
2D skeletons ``(P, 15, 2)`` pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from drivers.skeleton import RTPOSE15  # noqa: E402

PRED_COLOR = "#e4572e"
TRUE_COLOR = "#17bebb"


@dataclass
class Panel:
    """One time step to draw. Every field is optional; missing ones leave their axis out."""

    title: str = ""
    image: np.ndarray | None = None  # (H, W, 3) uint8
    pred_2d: np.ndarray | None = None  # (P, 15, 2) pixels
    true_2d: np.ndarray | None = None  # (P, 15, 2) pixels
    heatmap: np.ndarray | None = None  # (range, azimuth) power; columns run from +y (left) to -y
    heatmap_extent: tuple[float, float, float, float] | None = (
        None  # y_min, y_max, x_min, x_max (m)
    )
    lidar: np.ndarray | None = None  # (N, 3) points in the radar frame
    pred_3d: np.ndarray | None = None  # (P, 15, 3)
    true_3d: np.ndarray | None = None  # (P, 15, 3)
    notes: list[str] = field(default_factory=list)


def _draw_2d(
    ax: plt.Axes, joints: np.ndarray | None, color: str, xy: tuple[int, int] = (0, 1)
) -> None:
    if joints is None:
        return
    for person in np.asarray(joints):
        if not np.isfinite(person).all():
            continue
        for a, b in RTPOSE15.edges:
            ax.plot(person[[a, b], xy[0]], person[[a, b], xy[1]], color=color, lw=2)
        ax.scatter(person[:, xy[0]], person[:, xy[1]], s=8, color=color, zorder=3)


def _bev(ax: plt.Axes, p: Panel) -> None:
    """Bird's-eye view: radar heatmap and LiDAR points with skeletons, y (left) horizontal, x forward up."""
    if p.heatmap is not None:
        ext = p.heatmap_extent or (-1.0, 1.0, 0.0, float(p.heatmap.shape[0]))
        ax.imshow(
            p.heatmap,
            origin="lower",
            extent=(ext[1], ext[0], ext[2], ext[3]),
            aspect="auto",
            cmap="magma",
        )
    if p.lidar is not None and len(p.lidar):
        ax.scatter(p.lidar[:, 1], p.lidar[:, 0], s=0.5, c="#9ad1ff", alpha=0.6)
    _draw_2d(ax, p.true_3d, TRUE_COLOR, xy=(1, 0))
    _draw_2d(ax, p.pred_3d, PRED_COLOR, xy=(1, 0))
    ax.set_xlabel("y (m, left)")
    ax.set_ylabel("x (m, forward)")
    lo, hi = ax.get_xlim()
    if lo < hi:  # +y (left) drawn on the left, as seen from behind the radar
        ax.invert_xaxis()


def strip(panels: Sequence[Panel], path: str | Path) -> Path:
    """A row per panel: camera with 2D skeletons, bird's-eye radar/LiDAR view, side view."""
    n = len(panels)
    fig, axes = plt.subplots(n, 3, figsize=(12, 3.6 * n), squeeze=False)
    for row, p in zip(axes, panels, strict=True):
        cam, bev, side = row
        if p.image is not None:
            cam.imshow(p.image)
        _draw_2d(cam, p.true_2d, TRUE_COLOR)
        _draw_2d(cam, p.pred_2d, PRED_COLOR)
        cam.set_title(p.title or "camera")
        cam.axis("off")
        _bev(bev, p)
        bev.set_title("radar + LiDAR, top view")
        _draw_2d(side, p.true_3d, TRUE_COLOR, xy=(0, 2))
        _draw_2d(side, p.pred_3d, PRED_COLOR, xy=(0, 2))
        side.set_xlabel("x (m, forward)")
        side.set_ylabel("z (m, up)")
        side.set_aspect("equal", adjustable="datalim")
        side.set_title("side view   " + "  ".join(p.notes))
    fig.legend(
        handles=[
            plt.Line2D([], [], color=TRUE_COLOR, lw=2),
            plt.Line2D([], [], color=PRED_COLOR, lw=2),
        ],
        labels=["ground truth", "prediction"],
        loc="upper center",
        ncol=2,
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / (3.6 * n)))  # a strip above the rows for the legend
    out = Path(path)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def skeleton_3d(
    pred: np.ndarray | None, true: np.ndarray | None, path: str | Path, title: str = ""
) -> Path:
    """3D plot of predicted and true ``(P, 15, 3)`` skeletons in the radar frame."""
    fig = plt.figure(figsize=(6, 6))
    ax = fig.add_subplot(projection="3d")
    for joints, color in ((true, TRUE_COLOR), (pred, PRED_COLOR)):
        if joints is None:
            continue
        for person in np.asarray(joints):
            for a, b in RTPOSE15.edges:
                ax.plot(person[[a, b], 0], person[[a, b], 1], person[[a, b], 2], color=color, lw=2)
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_zlabel("z (m)")
    ax.set_title(title)
    pts = np.concatenate([np.asarray(j).reshape(-1, 3) for j in (pred, true) if j is not None])
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts):
        c, r = pts.mean(axis=0), max(np.ptp(pts, axis=0).max() / 2, 0.5)
        ax.set_xlim(c[0] - r, c[0] + r)
        ax.set_ylim(c[1] - r, c[1] + r)
        ax.set_zlim(c[2] - r, c[2] + r)
    out = Path(path)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def render_panel(p: Panel, size: tuple[float, float] = (8.0, 3.6)) -> np.ndarray:
    """One panel as an RGB ``(H, W, 3)`` uint8 image, for animations."""
    fig, (cam, bev) = plt.subplots(1, 2, figsize=size)
    if p.image is not None:
        cam.imshow(p.image)
    _draw_2d(cam, p.true_2d, TRUE_COLOR)
    _draw_2d(cam, p.pred_2d, PRED_COLOR)
    cam.axis("off")
    cam.set_title(p.title)
    _bev(bev, p)
    fig.tight_layout()
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return img


def animation(panels: Sequence[Panel], path: str | Path, fps: float = 5.0) -> Path:
    """Animated GIF of the panels."""
    import imageio.v3 as iio

    frames = [render_panel(p) for p in panels]
    out = Path(path)
    iio.imwrite(out, np.stack(frames), duration=1000.0 / fps, loop=0)
    return out
