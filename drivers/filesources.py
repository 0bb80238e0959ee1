"""LiDAR point clouds and camera images as Sources: file folders, video files, live cameras.

* :class:`PointCloudFolder` — one ``.pcd``/``.ply`` per frame (sorted by name), read with
  open3d's tensor API so an ``intensity`` attribute survives; ``lidar`` frames, points float32
  ``(M, 4)`` x, y, z [m], intensity (0 when the file has none).
* :class:`ImageFolder` — ``.png``/``.jpg``/... per frame via imageio; :class:`VideoFile` — a
  video via imageio; ``image`` frames, uint8 ``(H, W, 3)`` RGB.
* :class:`OpenCVCamera` — a live camera through OpenCV (optional extra ``opencv``).

Every frame is stamped with ``time.time_ns()`` when it has been read (``period_ns`` > 0 gives
synthetic stamps ``start_ns + i * period_ns`` instead, for offline files). Unreadable files are
counted as dropped with a warning, never skipped silently.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import numpy as np

from .errors import DriversError
from .source import Frame, SourceStats

POINT_EXT = (".pcd", ".ply")
IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def _files(folder: str | Path, ext: tuple[str, ...]) -> list[Path]:
    d = Path(folder)
    if not d.is_dir():
        raise DriversError(f"{d}: not a folder")
    files = sorted(p for p in d.iterdir() if p.suffix.lower() in ext)
    if not files:
        raise DriversError(f"{d}: no {'/'.join(ext)} files")
    return files


def read_point_cloud(path: str | Path) -> np.ndarray:
    """float32 (M, 4): x, y, z [m] and intensity (0 if absent) from a PCD or PLY file."""
    import open3d as o3d

    pc = o3d.t.io.read_point_cloud(str(path))
    if "positions" not in pc.point:
        raise DriversError(f"{path}: no points (unreadable or empty point cloud file)")
    xyz = pc.point["positions"].numpy().astype(np.float32).reshape(-1, 3)
    out = np.zeros((len(xyz), 4), np.float32)
    out[:, :3] = xyz
    if "intensity" in pc.point:
        out[:, 3] = pc.point["intensity"].numpy().reshape(-1)
    return out


class _Base:
    name: str
    stats: SourceStats

    def __init__(self, name: str, start_ns: int, period_ns: int) -> None:
        self.name, self.stats = name, SourceStats()
        self._start, self._period = start_ns, period_ns

    def _stamp(self, i: int) -> int:
        return self._start + i * self._period if self._period else time.time_ns()

    def close(self) -> None:
        pass

    def __enter__(self):  # noqa: ANN204
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class PointCloudFolder(_Base):
    """``lidar`` frames from a folder of PCD/PLY files, one per frame; counter = file index."""

    def __init__(
        self, folder: str | Path, name: str = "lidar", start_ns: int = 0, period_ns: int = 0
    ) -> None:
        super().__init__(name, start_ns, period_ns)
        self.files = _files(folder, POINT_EXT)

    def frames(self) -> Iterator[Frame]:
        for i, p in enumerate(self.files):
            try:
                pts = read_point_cloud(p)
            except (DriversError, RuntimeError, OSError) as exc:
                self.stats.dropped += 1
                self.stats.warn(f"unreadable point cloud files dropped (first: {p.name}: {exc})")
                continue
            self.stats.frames += 1
            yield Frame(self.name, "lidar", self._stamp(i), i, {"points": pts})


def _imageio():  # noqa: ANN202 - module
    try:
        import imageio.v3 as iio
    except ImportError:
        raise DriversError(
            "image folders and videos need imageio: pip install 'radarpose[viz]'"
        ) from None
    return iio


def _rgb(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype != np.uint8:
        raise DriversError(f"image of dtype {a.dtype}; expected 8-bit")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    return np.ascontiguousarray(a[:, :, :3])


class ImageFolder(_Base):
    """``image`` frames from a folder of image files, one per frame; counter = file index."""

    def __init__(
        self, folder: str | Path, name: str = "camera", start_ns: int = 0, period_ns: int = 0
    ) -> None:
        super().__init__(name, start_ns, period_ns)
        self.files = _files(folder, IMAGE_EXT)

    def frames(self) -> Iterator[Frame]:
        iio = _imageio()
        for i, p in enumerate(self.files):
            try:
                img = _rgb(iio.imread(p))
            except (DriversError, OSError, ValueError) as exc:
                self.stats.dropped += 1
                self.stats.warn(f"unreadable image files dropped (first: {p.name}: {exc})")
                continue
            self.stats.frames += 1
            yield Frame(self.name, "image", self._stamp(i), i, {"image": img})


class VideoFile(_Base):
    """``image`` frames from a video file (imageio); counter = frame index."""

    def __init__(
        self, path: str | Path, name: str = "camera", start_ns: int = 0, period_ns: int = 0
    ) -> None:
        super().__init__(name, start_ns, period_ns)
        self.path = Path(path)
        if not self.path.is_file():
            raise DriversError(f"{self.path}: file not found")

    def frames(self) -> Iterator[Frame]:
        iio = _imageio()
        try:
            for i, img in enumerate(iio.imiter(self.path)):
                self.stats.frames += 1
                yield Frame(self.name, "image", self._stamp(i), i, {"image": _rgb(img)})
        except (OSError, ValueError) as exc:
            raise DriversError(f"{self.path}: cannot read video ({exc})") from None


class OpenCVCamera(_Base):
    """A live camera (``device`` index or URL) through OpenCV; needs the ``opencv`` extra."""

    def __init__(self, device: int | str = 0, name: str = "camera", max_frames: int = 0) -> None:
        super().__init__(name, 0, 0)
        try:
            import cv2
        except ImportError:
            raise DriversError(
                "live cameras need OpenCV: pip install 'radarpose[opencv]'"
            ) from None
        self._cv2 = cv2
        self._cap = cv2.VideoCapture(device)
        if not self._cap.isOpened():
            raise DriversError(f"camera {device!r}: cannot open")
        self.max_frames = max_frames

    def frames(self) -> Iterator[Frame]:
        i = 0
        while not self.max_frames or i < self.max_frames:
            ok, bgr = self._cap.read()
            stamp = time.time_ns()
            if not ok:
                raise DriversError(f"{self.name}: camera stopped delivering frames after {i}")
            self.stats.frames += 1
            rgb = self._cv2.cvtColor(bgr, self._cv2.COLOR_BGR2RGB)
            yield Frame(self.name, "image", stamp, i, {"image": rgb})
            i += 1

    def close(self) -> None:
        self._cap.release()
