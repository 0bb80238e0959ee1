"""LiDAR folders (PCD/PLY through open3d) and image folders/videos as Sources."""

from __future__ import annotations

import numpy as np
import pytest

from drivers import DriversError
from drivers.filesources import ImageFolder, PointCloudFolder, VideoFile


def _write_pcd(path, pts):
    """ASCII PCD written by hand, x y z intensity."""
    head = (
        "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\n"
        f"COUNT 1 1 1 1\nWIDTH {len(pts)}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\n"
        f"POINTS {len(pts)}\nDATA ascii\n"
    )
    path.write_text(head + "".join(" ".join(f"{v:.6g}" for v in p) + "\n" for p in pts))


def test_point_cloud_folder(tmp_path):
    rng = np.random.default_rng(0)
    clouds = [np.round(rng.normal(size=(n, 4)), 4).astype(np.float32) for n in (5, 9, 3)]
    for i, c in enumerate(clouds):
        _write_pcd(tmp_path / f"{i:04d}.pcd", c)
    (tmp_path / "0003.ply").write_text(
        "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
        "property float z\nend_header\n1 2 3\n-1 0.5 4\n"
    )
    (tmp_path / "0004.pcd").write_text("garbage")
    with PointCloudFolder(tmp_path, period_ns=100) as src:
        out = list(src.frames())
    assert [f.counter for f in out] == [0, 1, 2, 3] and out[2].stamp_ns == 200
    for f, c in zip(out, clouds, strict=False):
        np.testing.assert_allclose(f.data["points"], c, atol=1e-6)
    np.testing.assert_array_equal(out[3].data["points"], [[1, 2, 3, 0], [-1, 0.5, 4, 0]])
    assert src.stats.dropped == 1 and "0004.pcd" in src.stats.warnings[0]


def test_image_folder_and_video(tmp_path):
    import imageio.v3 as iio

    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 256, (8, 10, 3), dtype=np.uint8) for _ in range(3)]
    for i, im in enumerate(imgs):
        iio.imwrite(tmp_path / f"{i}.png", im)
    iio.imwrite(tmp_path / "3.png", imgs[0][:, :, 0])  # grey becomes RGB
    with ImageFolder(tmp_path) as src:
        out = list(src.frames())
    assert len(out) == 4 and all(f.stamp_ns > 0 for f in out)
    for f, im in zip(out, imgs, strict=False):
        np.testing.assert_array_equal(f.data["image"], im)
    np.testing.assert_array_equal(out[3].data["image"][:, :, 2], imgs[0][:, :, 0])
    with pytest.raises(DriversError, match="not found"):
        VideoFile(tmp_path / "missing.mp4")
    with pytest.raises(DriversError, match="no .pcd/.ply files"):
        PointCloudFolder(tmp_path)
