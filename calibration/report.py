"""Calibration report pictures (PNG, with matplotlib from the ``viz`` extra): residuals per target,
and LiDAR returns drawn over the camera image through the estimated transform."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from drivers import CameraConfig
from drivers.camera import in_image, project_from

from .errors import CalibrationError


def _plt():  # noqa: ANN202 - the optional module
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise CalibrationError(
            "the report's pictures need matplotlib: pip install 'radarpose[viz]'"
        ) from e
    return plt


def residual_bars(
    residuals_m: np.ndarray, inliers: np.ndarray, title: str, out: str | Path
) -> Path:
    """Bar chart of ``(N,)`` per-target residuals (drawn in mm), outliers in red."""
    plt = _plt()
    r = np.asarray(residuals_m) * 1000
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    ax.bar(np.arange(len(r)), r, color=np.where(inliers, "tab:blue", "tab:red"))
    ax.set_xlabel("placement")
    ax.set_ylabel("residual (mm)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return Path(out)


def points_on_image(
    image: np.ndarray,
    points: np.ndarray,
    T_cam_from: np.ndarray,
    cam: CameraConfig,
    out: str | Path,
    *,
    title: str = "",
    max_range: float = 8.0,
    markers: np.ndarray | None = None,
    T_cam_markers: np.ndarray | None = None,
) -> Path:
    """``(H, W, 3)`` image with ``(M, ≥3)`` points (another sensor's frame) drawn over it through
    ``T_cam_from``, coloured by depth: a wrong extrinsic shows as edges that do not meet.
    ``markers`` ``(K, 3)`` (e.g. radar detections, in a third frame) are drawn as crosses through
    ``T_cam_markers``."""
    plt = _plt()
    uv, z = project_from(np.asarray(points)[:, :3], T_cam_from, cam)
    ok = in_image(uv, cam) & (z > 0) & (z < max_range)
    fig, ax = plt.subplots(figsize=(cam.width / 100, cam.height / 100), dpi=100)
    ax.imshow(image, extent=(0, cam.width, cam.height, 0))
    ax.scatter(uv[ok, 0], uv[ok, 1], c=z[ok], s=1, cmap="turbo", vmin=0, vmax=max_range)
    if markers is not None and len(markers):
        T_m = T_cam_from if T_cam_markers is None else T_cam_markers
        muv, mz = project_from(np.asarray(markers, dtype=np.float64)[:, :3], T_m, cam)
        keep = in_image(muv, cam) & (mz > 0)
        ax.scatter(muv[keep, 0], muv[keep, 1], marker="x", s=60, c="white", linewidths=2)
    ax.set_axis_off()
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return Path(out)
