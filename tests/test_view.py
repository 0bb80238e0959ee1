"""radarpose view: panels from a recording put the skeletons where the calibration says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from drivers import Frame, RecordingWriter, StreamSpec, calibration_from_rig, load_rig
from fusion.view import panels_from_recording


def _recording(path: Path) -> np.ndarray:
    rig = load_rig("hupr")
    joints = np.zeros((1, 15, 3), np.float32)
    joints[0, :, 0] = 3.0  # 3 m straight ahead of the radar
    joints[0, :, 2] = np.linspace(-0.9, 0.7, 15)
    with RecordingWriter(
        path, rig_yaml=rig.text, calibration_yaml=calibration_from_rig(rig).to_yaml()
    ) as w:
        w.add_stream(
            "camera", StreamSpec("image", fixed={"image": ((256, 256, 3), np.dtype(np.uint8))})
        )
        w.add_stream(
            "groundtruth",
            StreamSpec(
                "skeleton",
                fixed={
                    "joints": ((1, 15, 3), np.dtype(np.float32)),
                    "confidence": ((1, 15), np.dtype(np.float32)),
                    "person_id": ((1,), np.dtype(np.int32)),
                },
            ),
        )
        for i in range(3):
            t = 10**9 + i * 10**8
            w.write(
                Frame(
                    "camera", "image", t + 1000, i, {"image": np.full((256, 256, 3), 40, np.uint8)}
                )
            )
            w.write(
                Frame(
                    "groundtruth",
                    "skeleton",
                    t,
                    i,
                    {
                        "joints": joints,
                        "confidence": np.ones((1, 15), np.float32),
                        "person_id": np.array([0], np.int32),
                    },
                )
            )
    return joints


def test_panels_project_truth_through_calibration(tmp_path: Path) -> None:
    p = tmp_path / "rec.h5"
    joints = _recording(p)
    panels = panels_from_recording(p, count=2)
    assert len(panels) == 2
    uv = panels[0].true_2d
    assert uv is not None and uv.shape == (1, 15, 2)
    # on the optical axis horizontally: u = cx = 128; camera 0.25 m above the radar, fy 220, 3 m away
    np.testing.assert_allclose(uv[0, :, 0], 128.0, atol=1e-6)
    expected_v = 128.0 + 220.0 * (0.25 - joints[0, :, 2]) / 3.0
    np.testing.assert_allclose(uv[0, :, 1], expected_v, atol=1e-4)


def test_cli_writes_strip(tmp_path: Path) -> None:
    p = tmp_path / "rec.h5"
    _recording(p)
    out = tmp_path / "view"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "fusion.cli",
            "-q",
            "view",
            str(p),
            "--out",
            str(out),
            "--count",
            "2",
            "--gif",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert (out / "strip.png").stat().st_size > 10_000 and (out / "view.gif").stat().st_size > 1_000
    r = subprocess.run(
        [sys.executable, "-m", "fusion.cli", "view", str(p), "--start", "99"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "is past the end" in r.stderr
