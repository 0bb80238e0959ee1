"""Offline inference: a recording's radar frames → skeletons with scores, as HDF5, JSON or a bag.

Works on any recording of a HuPR-style two-radar rig (captures, simulations, imported bags): the
radar profiles come from the streams' stored configs, the pose between the radars and the clock
offsets from the recording's calibration (else the rig's nominal poses). People are tracked across
frames by nearest pelvis, so ``person_id`` is stable while someone stays in view.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import yaml

from drivers import Frame, RadarConfig, RecordingReader, RecordingWriter, Rig, RigConfig, StreamSpec
from drivers.calibfile import calibration_from_rig, parse_calibration
from drivers.config import from_dict
from drivers.progress import progress

from .errors import FusionError
from .pipeline import PosePipeline
from .pose import Person3D, Tracker

MAX_PEOPLE = 3
SKELETON_STREAM = "skeletons"


def recording_rig(rec: RecordingReader) -> Rig:
    """The rig a recording was made with, its radar profiles taken from the stored streams."""
    if not rec.rig_yaml:
        raise FusionError(
            f"{rec.path}: the recording stores no rig; it cannot be paired for inference"
        )
    cfg = from_dict(RigConfig, yaml.safe_load(rec.rig_yaml), source=f"{rec.path}:rig")
    radars = {}
    for name, s in cfg.sensors.items():
        if s.kind == "radar" and name in rec.streams and rec.streams[name].config:
            radars[name] = from_dict(
                RadarConfig, yaml.safe_load(rec.streams[name].config), source=f"{rec.path}:{name}"
            )
    return Rig(config=cfg, radars=radars, source=str(rec.path), text=rec.rig_yaml)


def _skeleton_spec(frame: str) -> StreamSpec:
    return StreamSpec(
        "skeleton",
        fixed={
            "joints": ((MAX_PEOPLE, 15, 3), np.dtype(np.float32)),
            "confidence": ((MAX_PEOPLE, 15), np.dtype(np.float32)),
            "person_id": ((MAX_PEOPLE,), np.dtype(np.int32)),
        },
        fields=("RT-Pose 15 joints (m) in the reference radar frame; NaN rows and id -1 = nobody",),
        attrs={"frame": frame, "source": "radarpose infer"},
    )


def infer_recording(
    path: str | Path,
    model: object | None,
    out: str | Path,
    *,
    threshold: float | None = None,
    ros2: bool = False,
    storage: str = "sqlite3",
    quiet: bool = False,
) -> dict[str, object]:
    """Run the model over every radar pair of ``path``; write ``out`` by its suffix (``.h5``,
    ``.json``, ``.bag``, or a ROS2 bag folder with ``ros2=True``). ``model`` None: the shipped
    real-time model for the recording's rig. Returns counts."""
    out = Path(out)
    with RecordingReader(path) as rec:
        rig = recording_rig(rec)
        missing = [r for r in rig.sensors_of("radar") if r not in rig.radars]
        if missing:
            raise FusionError(
                f"{path}: no radar stream {missing[0]!r} (streams: {', '.join(rec.streams)}); "
                "inference needs both radars of the rig"
            )
        calib = (
            parse_calibration(yaml.safe_load(rec.calibration_yaml), f"{path}:calibration")
            if rec.calibration_yaml
            else calibration_from_rig(rig)
        )
        if model is None:
            from .evaluate import load_model
            from .weights import shipped_for

            model = load_model(shipped_for(len(rig.sensors_of("radar"))))[0]
        pipe = PosePipeline(rig, model, calib, threshold=threshold)  # type: ignore[arg-type]
        radars = [pipe.h] if pipe.v is None else [pipe.h, pipe.v]
        n_pairs = min(rec.streams[r].frames for r in radars)
        from drivers.source import merge_frames

        frames = merge_frames([rec.frames(r) for r in radars])
        track = Tracker()
        results: list[tuple[Frame, list[Person3D], list[int]]] = []
        pairs = pipe.pair(frames)
        for fh, fv in (
            progress(pairs, total=n_pairs, desc="inference", unit="frame") if not quiet else pairs
        ):
            adc_v = fv.data["adc"] if fv is not None else None
            people = pipe.process(fh.data["adc"], adc_v)[:MAX_PEOPLE]
            results.append((fh, people, track(people)))
        calib_yaml = rec.calibration_yaml
    if not results:
        raise FusionError(f"{path}: no radar frames of {' and '.join(radars)} to run on")
    suffix = out.suffix.lower()
    if suffix == ".json":
        doc = {
            "source": str(path),
            "frame": pipe.h,
            "joints": "RT-Pose 15, metres, reference radar frame",
            "frames": [
                {
                    "stamp_ns": int(f.stamp_ns),
                    "counter": int(f.counter),
                    "people": [
                        {
                            "id": i,
                            "score": round(p.score, 4),
                            "joints": np.round(p.joints, 4).tolist(),
                        }
                        for p, i in zip(people, ids, strict=True)
                    ],
                }
                for f, people, ids in results
            ],
        }
        out.write_text(json.dumps(doc))
    elif suffix in (".h5", ".hdf5"):
        _write_h5(out, results, pipe.h, rig.text, calib_yaml)
    elif suffix == ".bag" or ros2:
        from drivers.bags import export_recording

        with tempfile.TemporaryDirectory() as tmp:
            h5 = Path(tmp) / "skeletons.h5"
            _write_h5(h5, results, pipe.h, rig.text, calib_yaml)
            export_recording(h5, out, ros2=ros2, storage=storage)
    else:
        raise FusionError(f"{out}: write .h5, .json or .bag (or a ROS2 bag folder with --ros2)")
    found = sum(len(p) for _, p, _ in results)
    return {
        "frames": len(results),
        "people": found,
        "out": str(out),
        "timing_ms": pipe.timer.summary_ms(),
    }


def _write_h5(
    out: Path,
    results: list[tuple[Frame, list[Person3D], list[int]]],
    frame: str,
    rig_yaml: str,
    calib_yaml: str,
) -> None:
    with RecordingWriter(out, rig_yaml=rig_yaml, calibration_yaml=calib_yaml) as w:
        w.add_stream(SKELETON_STREAM, _skeleton_spec(frame))
        for f, people, ids in results:
            j = np.full((MAX_PEOPLE, 15, 3), np.nan, np.float32)
            c = np.zeros((MAX_PEOPLE, 15), np.float32)
            pid = np.full(MAX_PEOPLE, -1, np.int32)
            for k, (p, i) in enumerate(zip(people, ids, strict=True)):
                j[k], c[k], pid[k] = p.joints, p.score, i
            w.write(
                Frame(
                    SKELETON_STREAM,
                    "skeleton",
                    f.stamp_ns,
                    f.counter,
                    {"joints": j, "confidence": c, "person_id": pid},
                )
            )
