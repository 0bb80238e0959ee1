"""The radarpose CLI: exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from drivers import Frame, RecordingWriter, StreamSpec


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fusion.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_user_error_exits_2_with_one_line() -> None:
    r = _run("config", "show", "does-not-exist.yaml")
    assert r.returncode == 2
    assert (
        r.stderr.strip()
        == "radarpose config: error: does-not-exist.yaml: no such file or built-in radar/rig config"
    )
    assert "Traceback" not in r.stderr


def test_config_show_json_has_derived() -> None:
    r = _run("config", "show", "rtpose_mmwcas", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)["derived"]
    assert abs(d["range_resolution_m"] - 0.04505) < 1e-4


def test_inspect_recording_json(tmp_path: Path) -> None:
    p = tmp_path / "r.h5"
    with RecordingWriter(p) as w:
        w.add_stream("radar", StreamSpec("radar_adc", fixed={"adc": ((4,), np.dtype(np.int16))}))
        for i in range(3):
            w.write(Frame("radar", "radar_adc", int(1e9) * i, i, {"adc": np.zeros(4, np.int16)}))
    r = _run("inspect", str(p), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["format"] == "radarpose-recording"
    (s,) = d["streams"]
    assert (s["name"], s["kind"], s["frames"], s["dropped"]) == ("radar", "radar_adc", 3, 0)
    assert s["end_ns"] - s["start_ns"] == 2_000_000_000
    assert d["warnings"] == []


def test_inspect_unknown_file(tmp_path: Path) -> None:
    p = tmp_path / "x.xyz"
    p.write_text("hello")
    r = _run("inspect", str(p))
    assert r.returncode == 2 and "not a format radarpose reads" in r.stderr
