"""Turn a recording into drawable panels: nearest-stamp camera, LiDAR and skeletons per frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from drivers import DriversError, RecordingReader, load_calibration
from drivers.calibfile import Calibration, parse_calibration
from drivers.camera import project
from drivers.config import from_dict
from drivers.rig import CameraConfig, RigConfig
from drivers.transforms import apply

from .viz import Panel


def _nearest(stamps: np.ndarray, t: int) -> int:
    i = int(np.searchsorted(stamps, t))
    if i == 0:
        return 0
    if i >= len(stamps):
        return len(stamps) - 1
    return i if stamps[i] - t < t - stamps[i - 1] else i - 1


def _calibration(r: RecordingReader, override: str | Path | None) -> Calibration | None:
    if override:
        return load_calibration(override)
    if r.calibration_yaml:
        import yaml

        return parse_calibration(yaml.safe_load(r.calibration_yaml), f"{r.path}:/calibration")
    return None


def panels_from_recording(
    path: str | Path,
    *,
    start: int = 0,
    count: int = 4,
    step: int = 1,
    camera: str | None = None,
    calibration: str | Path | None = None,
) -> list[Panel]:
    """Panels for ``count`` frames of the skeleton (else first) stream, with the other sensors matched by stamp."""
    import yaml

    with RecordingReader(path) as r:
        streams = r.streams
        if not streams:
            raise DriversError(f"{path}: the recording has no streams")
        rig = (
            from_dict(RigConfig, yaml.safe_load(r.rig_yaml), source=f"{path}:rig")
            if r.rig_yaml
            else None
        )
        reference = rig.reference if rig else None
        cal = _calibration(r, calibration)
        by_kind: dict[str, list[str]] = {}
        for name, s in streams.items():
            by_kind.setdefault(s.kind, []).append(name)
        skel = [n for n in by_kind.get("skeleton", [])]
        truth = next((n for n in skel if "truth" in n), skel[0] if skel else None)
        preds = [n for n in skel if n != truth]
        cams = by_kind.get("image", [])
        cam = camera or (cams[0] if cams else None)
        if cam is not None and cam not in streams:
            raise DriversError(
                f"{path}: no camera stream {cam!r} (cameras: {', '.join(cams) or 'none'})"
            )
        lidar = (by_kind.get("lidar") or [None])[0]
        ref_stream = truth or cam or next(iter(streams))
        stamps = {n: r.stamps(n) for n in streams}
        n_ref = len(stamps[ref_stream])
        idx = list(range(start, min(n_ref, start + count * step), step))
        if not idx:
            raise DriversError(
                f"{path}: stream {ref_stream} has {n_ref} frames; --start {start} is past the end"
            )
        cam_cfg = None
        if cam is not None and rig is not None and cam in rig.sensors:
            cam_cfg = rig.sensors[cam].camera
        panels = []
        for i in idx:
            t = int(stamps[ref_stream][i])
            p = Panel(title=f"frame {i}  t={(t - stamps[ref_stream][0]) / 1e9:.2f} s")
            if truth:
                p.true_3d = _people(r, truth, _nearest(stamps[truth], t))
            if preds:
                p.pred_3d = _people(r, preds[0], _nearest(stamps[preds[0]], t))
            if lidar and cal is not None and reference:
                k = _nearest(stamps[lidar], t)
                pts = next(r.frames(lidar, k, k + 1)).data["points"][:, :3]
                p.lidar = apply(cal.get(reference, lidar), pts.astype(np.float64))
            if cam:
                p.image = r.read(cam, "image", _nearest(stamps[cam], t))
                if cam_cfg is not None and cal is not None and reference:
                    p.true_2d = _project(p.true_3d, cal.get(cam, reference), cam_cfg)
                    p.pred_2d = _project(p.pred_3d, cal.get(cam, reference), cam_cfg)
            panels.append(p)
        return panels


def _people(r: RecordingReader, stream: str, i: int) -> np.ndarray:
    joints = r.read(stream, "joints", i)
    keep = (
        r.read(stream, "person_id", i) >= 0
        if "person_id" in r.streams[stream].keys
        else np.ones(len(joints), bool)
    )
    return joints[keep]


def _project(
    joints: np.ndarray | None, T_cam_ref: np.ndarray, cam: CameraConfig
) -> np.ndarray | None:
    if joints is None or not len(joints):
        return None
    return project(apply(T_cam_ref, joints.astype(np.float64)), cam)[0]
