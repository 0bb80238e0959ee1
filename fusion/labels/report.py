"""What a labelling run leaves behind: the labels file, HuPR-style 2D labels, a quality report, overlays.

Labels file (a radarpose recording, docs/FORMATS.md): stream ``labels`` (kind ``skeleton``, the
layout of the simulator's ``groundtruth`` stream plus ``method``) at the reference sensor's
stamps, and per camera a stream ``keypoints2d-<camera>`` with the COCO-17 tracks it was made from.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from drivers import Frame, RecordingReader, RecordingWriter, StreamSpec, convert_skeleton
from drivers.camera import project
from drivers.skeleton import RTPOSE15
from drivers.transforms import apply, invert

from ..metrics import abs_mpjpe, match_people, mpjpe, pa_mpjpe
from .run import METHODS, Labels

LABEL_STREAM = "labels"


def write_labels(out: str | Path, labels: Labels, rig_yaml: str = "", calib_yaml: str = "") -> Path:
    """Write ``labels`` as a recording (see the module docstring); returns the path."""
    out = Path(out)
    n = labels.joints.shape[1]
    with RecordingWriter(out, rig_yaml=rig_yaml, calibration_yaml=calib_yaml) as w:
        w.add_stream(
            LABEL_STREAM,
            StreamSpec(
                "skeleton",
                fixed={
                    "joints": ((n, 15, 3), np.dtype(np.float32)),
                    "confidence": ((n, 15), np.dtype(np.float32)),
                    "person_id": ((n,), np.dtype(np.int32)),
                    "method": ((n, 15), np.dtype(np.uint8)),
                },
                fields=("RT-Pose 15 joints (m) in the reference radar frame; NaN = not labelled",),
                attrs={
                    "frame": labels.reference,
                    "lift": labels.lift,
                    "methods": list(METHODS),
                    "source": "radarpose label",
                },
            ),
        )
        for cam, tr in labels.tracks.items():
            w.add_stream(
                f"keypoints2d-{cam}",
                StreamSpec(
                    "keypoints2d",
                    fixed={
                        "keypoints": ((tr.keypoints.shape[1], 17, 2), np.dtype(np.float32)),
                        "confidence": ((tr.keypoints.shape[1], 17), np.dtype(np.float32)),
                    },
                    fields=("COCO-17 pixels of the camera image, tracked people in order",),
                    attrs={"camera": cam},
                ),
            )
        for k, stamp in enumerate(labels.stamps_ns):
            data = {
                "joints": labels.joints[k].astype(np.float32),
                "confidence": labels.confidence[k].astype(np.float32),
                "person_id": labels.person_id,
                "method": labels.method[k],
            }
            w.write(Frame(LABEL_STREAM, "skeleton", int(stamp), k, data))
        for cam, tr in labels.tracks.items():
            for k, stamp in enumerate(tr.stamps_ns):
                data = {
                    "keypoints": np.nan_to_num(tr.keypoints[k], nan=-1).astype(np.float32),
                    "confidence": tr.confidence[k].astype(np.float32),
                }
                w.write(Frame(f"keypoints2d-{cam}", "keypoints2d", int(stamp), k, data))
    return out


def hupr_annotations(
    labels: Labels, camera: str, width: int, height: int, sequence: str, size: int = 256
) -> dict[str, list[dict[str, object]]]:
    """HuPR's ``hrnet_annot`` form: ``{sequence: [{"image", "joints": 14 x [x, y], "bbox"}]}``.

    Pixels are rescaled to HuPR's ``size`` x ``size`` images; one entry per camera frame and seen
    person, ``image`` naming the frame (``%09d``, HuPR's numbering).
    """
    tr = labels.tracks[camera]
    j14, c14 = convert_skeleton(
        np.where((tr.confidence >= 0.3)[..., None], tr.keypoints, np.nan),
        "coco17",
        "hupr14",
        tr.confidence,
    )
    scale = np.array([size / width, size / height])
    entries = []
    for k in range(len(tr.stamps_ns)):
        for i in range(j14.shape[1]):
            pts = j14[k, i] * scale
            ok = np.isfinite(pts).all(-1)
            if ok.sum() < 6:
                continue
            pts = np.where(ok[:, None], pts, pts[ok].mean(0))  # HuPR has no visibility flag
            lo, hi = pts.min(0), pts.max(0)
            entries.append(
                {
                    "image": f"{k:09d}",
                    "joints": np.round(pts, 2).tolist(),
                    "bbox": np.round([*lo, *hi], 2).tolist(),
                }
            )
    return {sequence: entries}


def quality_report(labels: Labels, recording: str | Path | None = None) -> dict[str, object]:
    """Confidence, methods, bone-length stability and, when the recording has ground truth, errors.

    Bone stability is each bone's length spread (std / mean, %) over the labelled frames: a rigid
    body gives 0. Errors (cm) compare labels with the ``groundtruth`` stream at equal stamps,
    people paired by pelvis distance.
    """
    conf = labels.confidence
    seen = conf > 0
    bl = np.linalg.norm(
        labels.joints[..., np.asarray(RTPOSE15.edges)[:, 1], :]
        - labels.joints[..., np.asarray(RTPOSE15.edges)[:, 0], :],
        axis=-1,
    )
    ok = np.isfinite(bl)
    spread = [
        float(np.std(bl[..., e][ok[..., e]]) / np.mean(bl[..., e][ok[..., e]]) * 100)
        for e in range(bl.shape[-1])
        if ok[..., e].sum() > 1
    ]
    rep: dict[str, object] = {
        "lift": labels.lift,
        "frames": int(len(labels.stamps_ns)),
        "people": int(labels.joints.shape[1]),
        "labelled_frames": int(seen.any((-1, -2)).sum()) if seen.size else 0,
        "mean_confidence": float(conf[seen].mean()) if seen.any() else 0.0,
        "confidence_per_joint": {
            RTPOSE15.joints[j]: round(float(conf[..., j][seen[..., j]].mean()), 3)
            if seen[..., j].any()
            else 0.0
            for j in range(15)
        },
        "method_fraction": {
            m: round(float((labels.method[seen] == c).mean()), 3) if seen.any() else 0.0
            for c, m in enumerate(METHODS)
            if c
        },
        "bone_length_spread_pct": {"mean": float(np.mean(spread)) if spread else None},
        "bone_lengths_m": np.round(labels.bone_lengths, 3).tolist(),
        "swaps_fixed": labels.info.get("swaps_fixed", {}),
    }
    if recording is not None:
        with RecordingReader(recording) as rec:
            if "groundtruth" in rec.streams:
                gt = rec.read("groundtruth", "joints")
                stamps = rec.stamps("groundtruth")
                rep["ground_truth"] = _errors(labels, gt, stamps)
    return rep


def _errors(labels: Labels, gt: np.ndarray, gt_stamps: np.ndarray) -> dict[str, object]:
    pos = {int(s): k for k, s in enumerate(gt_stamps)}
    pred, true = [], []
    for k, s in enumerate(labels.stamps_ns):
        g = pos.get(int(s))
        if g is None:
            continue
        have = [i for i in range(labels.joints.shape[1]) if (labels.confidence[k, i] > 0).any()]
        have = [i for i in have if np.isfinite(labels.joints[k, i]).all()]
        if not have or len(gt[g]) == 0:
            continue
        pairs = match_people(labels.joints[k, have, 0], gt[g][:, 0], max_distance=1.0)
        for a, b in pairs:
            pred.append(labels.joints[k, have[a]])
            true.append(gt[g][b])
    if not pred:
        return {"matched": 0}
    P, G = np.asarray(pred), np.asarray(true)
    per_joint = mpjpe(P, G).mean(0) * 100
    return {
        "matched": len(P),
        "mpjpe_cm": round(float(mpjpe(P, G).mean() * 100), 2),
        "abs_mpjpe_cm": round(float(abs_mpjpe(P, G).mean() * 100), 2),
        "pa_mpjpe_cm": round(float(pa_mpjpe(P, G).mean() * 100), 2),
        "mpjpe_per_joint_cm": {
            RTPOSE15.joints[j]: round(float(per_joint[j]), 2) for j in range(15)
        },
    }


def overlays(
    recording: str | Path, labels: Labels, out_dir: str | Path, count: int = 4
) -> list[Path]:
    """PNGs of ``count`` frames of the first camera: 2D detections (dots) and the 3D labels
    projected back (lines). Returns the files; none when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    from .run import _calibration, recording_rig

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cam_name = labels.info["cameras"][0]  # type: ignore[index]
    tr = labels.tracks[cam_name]
    files = []
    with RecordingReader(recording) as rec:
        rig = recording_rig(rec)
        calib = _calibration(rec, rig)
        cam = rig.config.sensors[cam_name].camera
        assert cam is not None
        T_cam_ref = invert(calib.get(rig.reference, cam_name))
        off = calib.clock_offsets.get(cam_name, 0.0)
        n = len(tr.stamps_ns)
        for k in np.linspace(0, n - 1, min(count, n)).astype(int):
            img = rec.read(cam_name, "image", int(k))
            t_ref = tr.stamps_ns[k] - int(round(off * 1e9))
            m = int(np.abs(labels.stamps_ns - t_ref).argmin())
            fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
            ax.imshow(img)
            for i in range(tr.keypoints.shape[1]):
                good = tr.confidence[k, i] >= 0.3
                ax.scatter(*tr.keypoints[k, i, good].T, s=12, c="yellow")
                if (labels.confidence[m, i] > 0).any():
                    uv, _ = project(apply(T_cam_ref, labels.joints[m, i]), cam)
                    for a, b in RTPOSE15.edges:
                        ax.plot(*uv[[a, b]].T, c="cyan", lw=1.5)
            ax.set_axis_off()
            ax.set_title(f"{cam_name} frame {k}: 2D (dots), 3D labels projected (lines)")
            path = out_dir / f"labels_{cam_name}_{k:05d}.png"
            fig.savefig(path, bbox_inches="tight")
            plt.close(fig)
            files.append(path)
    return files


def save_json(doc: object, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(doc, indent=1))
    return path
