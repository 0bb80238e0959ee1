"""``radarpose label rec.h5 --detector sim|model.pt|model.onnx|mediapipe:pose.task --lift lidar|stereo|lidar+stereo|mono -o labels.h5``."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", help="an HDF5 recording with camera (and LiDAR) streams")
    p.add_argument(
        "--detector",
        default="sim",
        help="'sim' (simulator recordings: projected truth with noise), a top-down COCO-17 "
        "model file: TorchScript .pt or ONNX .onnx (heatmap or SimCC outputs), or "
        "mediapipe:PATH to mediapipe's pose landmarker .task file (optional mediapipe package)",
    )
    p.add_argument(
        "--lift",
        choices=("lidar", "stereo", "mono", "lidar+stereo"),
        default="lidar",
        help="depth from the LiDAR, two cameras, the LiDAR with both cameras, or one camera and bone lengths alone",
    )
    p.add_argument("-o", "--out", required=True, help="labels file (.h5)")
    p.add_argument("--camera", action="append", help="camera stream(s) to use (default: the rig's)")
    p.add_argument(
        "--boxes", help="JSON {camera: [per frame [[x1, y1, x2, y2], ...]]} person boxes"
    )
    p.add_argument("--input-size", type=int, nargs=2, default=(192, 256), metavar=("W", "H"))
    p.add_argument("--bgr", action="store_true", help="the model expects BGR input")
    p.add_argument(
        "--max-people", type=int, default=4, help="people per image for the mediapipe detector"
    )
    p.add_argument("--sigma-px", type=float, default=3.0, help="2D noise of the simulated detector")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated detector")
    p.add_argument("--hupr-json", help="also write HuPR-style 2D labels (hrnet_annot form)")
    p.add_argument("--report", help="quality report JSON (default: <out>.report.json)")
    p.add_argument("--overlays", help="folder for PNG overlays of a few frames")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import numpy as np

    from drivers import RecordingReader
    from fusion.errors import FusionError
    from fusion.labels.detectors import load_detector
    from fusion.labels.landmarker import is_landmarker_spec
    from fusion.labels.report import (
        hupr_annotations,
        overlays,
        quality_report,
        save_json,
        write_labels,
    )
    from fusion.labels.run import label_recording

    options: dict[str, object]
    if args.detector == "sim":
        options = {"sigma_px": args.sigma_px, "seed": args.seed}
    elif is_landmarker_spec(args.detector):
        options = {"max_people": args.max_people}
    else:
        options = {
            "input_size": tuple(args.input_size),
            "channel_order": "bgr" if args.bgr else "rgb",
        }
    detector = load_detector(args.detector, **options)
    boxes = None
    if args.boxes:
        try:
            doc = json.loads(Path(args.boxes).read_text())
            boxes = {c: [np.asarray(b, float).reshape(-1, 4) for b in v] for c, v in doc.items()}
        except (ValueError, AttributeError) as exc:
            raise FusionError(
                f"{args.boxes}: expected {{camera: [[[x1, y1, x2, y2], ...], ...]}} ({exc})"
            ) from None
    labels = label_recording(
        args.recording,
        detector,
        lift=args.lift,
        cameras=tuple(args.camera) if args.camera else None,
        boxes=boxes,
        sigma_px=args.sigma_px if args.detector == "sim" else 3.0,
        quiet=args.quiet,
    )
    with RecordingReader(args.recording) as rec:
        rig_yaml, calib_yaml = rec.rig_yaml, rec.calibration_yaml
    out = write_labels(args.out, labels, rig_yaml, calib_yaml)
    rep = quality_report(labels, args.recording)
    report_path = save_json(rep, args.report or Path(str(out) + ".report.json"))
    if args.hupr_json:
        from fusion.labels.run import recording_rig

        cam_name = labels.info["cameras"][0]  # type: ignore[index]
        with RecordingReader(args.recording) as rec:
            cam = recording_rig(rec).config.sensors[cam_name].camera
        assert cam is not None
        save_json(
            hupr_annotations(labels, cam_name, cam.width, cam.height, Path(args.recording).stem),
            args.hupr_json,
        )
    pngs = overlays(args.recording, labels, args.overlays) if args.overlays else []
    gt = rep.get("ground_truth")
    err = (
        f", MPJPE {gt['mpjpe_cm']:.1f} cm vs ground truth"
        if isinstance(gt, dict) and "mpjpe_cm" in gt
        else ""
    )
    print(
        f"{rep['labelled_frames']}/{rep['frames']} frames labelled by {args.lift}, "
        f"mean confidence {rep['mean_confidence']:.2f}, bone spread "
        f"{rep['bone_length_spread_pct']['mean']:.1f} %{err} -> {out} (report {report_path}"  # type: ignore[index]
        + (f", {len(pngs)} overlays" if pngs else "")
        + ")"
    )
    return 0
