"""HDF5 recording round trip, crash tolerance, version refusal; calibration YAML round trip."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from drivers import (
    Calibration,
    ConfigError,
    DriversError,
    Frame,
    FrameFlag,
    RecordingReader,
    RecordingWriter,
    StreamSpec,
    calibration_from_rig,
    load_calibration,
    load_rig,
)
from drivers.transforms import from_euler


def _write(path: Path, n: int = 5) -> list[Frame]:
    frames = []
    rng = np.random.default_rng(1)
    with RecordingWriter(path, rig_yaml="name: x\n") as w:
        w.add_stream("radar", StreamSpec("radar_adc", fixed={"adc": ((8,), np.dtype(np.int16))}))
        w.add_stream(
            "lidar",
            StreamSpec(
                "lidar", ragged={"points": (4, np.dtype(np.float32))}, fields=("x", "y", "z", "i")
            ),
        )
        for i in range(n):
            f1 = Frame(
                "radar",
                "radar_adc",
                1000 + 100 * i,
                i,
                {"adc": rng.integers(-500, 500, 8).astype(np.int16)},
                int(FrameFlag.INCOMPLETE) if i == 2 else 0,
            )
            f2 = Frame(
                "lidar",
                "lidar",
                1050 + 100 * i,
                i,
                {"points": rng.normal(size=(i + 1, 4)).astype(np.float32)},
            )
            w.write(f1)
            w.write(f2)
            frames += [f1, f2]
    return frames


def test_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "r.h5"
    written = _write(p)
    with RecordingReader(p) as r:
        s = r.streams
        assert (
            s["radar"].frames == 5
            and s["radar"].flagged == 1
            and s["lidar"].fields == ("x", "y", "z", "i")
        )
        got = list(r.frames("radar")) + list(r.frames("lidar"))
    ref = {(f.sensor, f.counter): f for f in written}
    assert len(got) == 10
    for f in got:
        w = ref[(f.sensor, f.counter)]
        assert f.stamp_ns == w.stamp_ns and f.flags == w.flags
        for k in w.data:
            np.testing.assert_array_equal(f.data[k], w.data[k])


def test_incomplete_last_frame_is_ignored(tmp_path: Path) -> None:
    p = tmp_path / "r.h5"
    _write(p)
    # emulate a crash after the data but before the stamp of a 6th frame
    with h5py.File(p, "a") as f:
        g = f["streams/radar"]
        g["adc"].resize(6, axis=0)
    with RecordingReader(p) as r:
        assert r.streams["radar"].frames == 5
        assert len(list(r.frames("radar"))) == 5


def test_refuses_newer_major_and_foreign_files(tmp_path: Path) -> None:
    p = tmp_path / "r.h5"
    _write(p)
    with h5py.File(p, "a") as f:
        f.attrs["format_version"] = "2.0"
    with pytest.raises(
        DriversError, match="recording format 2.0 is newer than this radarpose reads"
    ):
        RecordingReader(p)
    q = tmp_path / "other.h5"
    with h5py.File(q, "w") as f:
        f["x"] = 1
    with pytest.raises(DriversError, match="not a radarpose recording"):
        RecordingReader(q)
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all")
    with pytest.raises(DriversError, match="not a readable HDF5 recording"):
        RecordingReader(bad)


def test_writer_checks_shapes(tmp_path: Path) -> None:
    with RecordingWriter(tmp_path / "r.h5") as w:
        w.add_stream("radar", StreamSpec("radar_adc", fixed={"adc": ((8,), np.dtype(np.int16))}))
        with pytest.raises(DriversError, match=r"radar.adc: expected shape \(8,\), got \(7,\)"):
            w.write(Frame("radar", "radar_adc", 0, 0, {"adc": np.zeros(7, np.int16)}))
        with pytest.raises(DriversError, match="declared after writing began"):
            w.write(Frame("radar", "radar_adc", 0, 0, {"adc": np.zeros(8, np.int16)}))
            w.add_stream("late", StreamSpec("lidar"))


def test_calibration_round_trip_and_inverse(tmp_path: Path) -> None:
    T = from_euler((0.1, 0.2, 0.3), (1, 2, 3))
    cal = Calibration({"T_radar_lidar": T}, {"lidar": 0.004}, {"rmse_m": 0.01}, method="reflectors")
    p = tmp_path / "calib.yaml"
    cal.save(p)
    back = load_calibration(p)
    np.testing.assert_allclose(back.transforms["T_radar_lidar"], T, atol=1e-12)
    np.testing.assert_allclose(back.get("lidar", "radar") @ T, np.eye(4), atol=1e-12)
    assert back.clock_offsets == {"lidar": 0.004} and back.method == "reflectors"
    p.write_text(p.read_text().replace("T_radar_lidar", "Tradarlidar"))
    with pytest.raises(ConfigError, match="transforms.Tradarlidar: name must be T_<to>_<from>"):
        load_calibration(p)


def test_rig_nominal_calibration() -> None:
    rig = load_rig("hupr")
    cal = calibration_from_rig(rig)
    T = cal.get("camera", "radar-h")
    # a point 2 m in front of the radar is 2 m along the camera's optical axis (z), 0.25 m below it
    p = T @ np.array([2.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(p[:3], [0.0, 0.25, 2.0], atol=1e-12)
