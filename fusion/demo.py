"""``radarpose demo``: the whole chain on the built-in simulator, with numbers and pictures.

HuPR-style rig (two IWR1843s + camera): simulated boards emit raw ADC words in the DCA1000 layout →
drivers/sensing unpack them → HuPR heatmaps → the calibration pairs the radars in time and puts
skeletons into the camera → the shipped real-time model → skeletons, scored against ground truth.
RT-Pose-style rig (cascade + LiDAR + stereo): a corner-reflector session calibrates radar ↔ LiDAR
(scored against the simulation's truth), then the cascade's point cloud and the LiDAR sweep placed
with that calibration are drawn with the true skeletons (no RT-Pose model ships yet).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from drivers import Frame, load_rig
from drivers.calibfile import calibration_from_rig
from drivers.camera import project
from drivers.emulate import through_dca1000
from drivers.progress import progress
from drivers.sim import GROUNDTRUTH, SimConfig, SimulatedSource, Simulation
from drivers.transforms import apply

from .errors import FusionError
from .evaluate import load_model
from .features import xy_to_grid
from .metrics import match_people, summarize
from .pipeline import HuprPipeline
from .viz import Panel, animation, skeleton_3d, strip


def bev_heatmap(
    heat: np.ndarray, radar: object, extent: tuple[float, float, float, float]
) -> np.ndarray:
    """Resample a HuPR heatmap's power (summed over Doppler and elevation) onto a metric top view.

    ``extent`` = (y_min, y_max, x_min, x_max) m; returns ``(200, 200)`` dB with columns from +y to -y.
    """
    p = 10 * np.log10((np.abs(heat) ** 2).sum(axis=(0, 3)) + 1e-9)  # (range 64, az 64)
    y = np.linspace(extent[1], extent[0], 200)
    x = np.linspace(extent[2], extent[3], 200)
    X, Y = np.meshgrid(x, y, indexing="ij")
    g = xy_to_grid(np.stack([X, Y, np.zeros_like(X)], -1), radar)
    r = np.clip(np.round(g[..., 0]).astype(int), 0, 63)
    a = np.clip(np.round(g[..., 1]).astype(int), 0, 63)
    out = p[r, a]
    outside = (g[..., 0] < 0) | (g[..., 0] > 63) | (g[..., 1] < 0) | (g[..., 1] > 63)
    out[outside] = np.nan
    return out


def run_hupr(
    out: Path, seconds: float, seed: int, weights: Path, quiet: bool
) -> tuple[dict, list[Panel]]:
    rig = load_rig("hupr")
    calib = calibration_from_rig(rig)  # the simulation's true calibration
    model, _ = load_model(weights)
    pipe = HuprPipeline(rig, model, calib)
    sim = Simulation(rig, SimConfig(people=2, seconds=seconds, seed=seed, motions=["walk", "wave"]))
    source = SimulatedSource(sim)
    t_sim: list[float] = []
    frames, cams, truth = [], {}, {}
    it = source.frames()
    total = sim.n_frames()
    for _ in (
        progress(range(total), total=total, desc="simulating boards", unit="frame")
        if not quiet
        else range(total)
    ):
        t0 = time.perf_counter()
        f = next(it)
        t_sim.append(time.perf_counter() - t0)
        if f.sensor == GROUNDTRUTH:
            truth[f.stamp_ns] = f.data["joints"]
        elif f.kind == "image":
            cams[f.stamp_ns - int(calib.clock_offsets.get(f.sensor, 0) * 1e9)] = f.data["image"]
        else:
            frames.append(f)
    # the boards' bytes go over loopback UDP through emulated DCA1000s and the real receiver
    t0 = time.perf_counter()
    link = {"frames_sent": len(frames), "frames_received": 0, "packets_lost": 0}
    received: list[Frame] = []
    for r in (pipe.h, pipe.v):
        sent = [f for f in frames if f.sensor == r]
        got, st = through_dca1000([f.data["adc"] for f in sent], r)
        link["frames_received"] += len(got)
        link["packets_lost"] += st.dropped
        for f, g in zip(sent, got, strict=False):  # keep the board's frame stamps for pairing
            received.append(Frame(r, f.kind, f.stamp_ns, f.counter, g.data, g.flags))
    frames = sorted(received, key=lambda f: f.stamp_ns)
    t_link = time.perf_counter() - t0
    t_stamps = np.array(sorted(truth))
    cam_stamps = np.array(sorted(cams))
    preds, gts, panels, seqs = [], [], [], []
    n_true = n_found = n_false = 0
    pairs = list(pipe.pair(iter(frames)))
    T_cam = calib.get("camera", pipe.h)
    cam_cfg = rig.config.sensors["camera"].camera
    assert cam_cfg is not None
    pick = set(np.linspace(0, len(pairs) - 1, 4).round().astype(int).tolist())
    for i, (fh, fv) in enumerate(
        progress(pairs, total=len(pairs), desc="inference", unit="frame") if not quiet else pairs
    ):
        people = pipe.process(fh.data["adc"], fv.data["adc"])
        k = t_stamps[np.argmin(np.abs(t_stamps - fh.stamp_ns))]
        true = truth[k]
        n_true += len(true)
        m = match_people(np.array([p.joints[0] for p in people]).reshape(-1, 3), true[:, 0])
        n_found += len(m)
        n_false += len(people) - len(m)
        for a, b in m:
            preds.append(people[a].joints)
            gts.append(true[b])
            seqs.append(0)
        if i in pick or i % 2 == 0:
            c = cam_stamps[np.argmin(np.abs(cam_stamps - fh.stamp_ns))]
            pred3 = np.array([p.joints for p in people]) if people else None
            panel = Panel(
                title=f"HuPR rig, t = {(fh.stamp_ns - frames[0].stamp_ns) / 1e9:.1f} s",
                image=cams[c],
                true_3d=true,
                pred_3d=pred3,
                true_2d=project(apply(T_cam, true.astype(np.float64)), cam_cfg)[0],
                pred_2d=project(apply(T_cam, pred3.astype(np.float64)), cam_cfg)[0]
                if pred3 is not None
                else None,
                heatmap=bev_heatmap(pipe.last_heatmap, pipe.radar_h, (-2.5, 2.5, 0.5, 5.0))
                if pipe.last_heatmap is not None
                else None,
                heatmap_extent=(-2.5, 2.5, 0.5, 5.0),
                notes=[f"{len(people)} found / {len(true)} people"],
            )
            panel.selected = i in pick  # type: ignore[attr-defined]
            panels.append(panel)
    if not preds:
        raise FusionError(
            "the model found nobody in the demo scene; the shipped weights may be missing or damaged"
        )
    metrics = summarize(np.array(preds), np.array(gts), seqs)
    metrics["detection_recall"] = n_found / max(n_true, 1)
    metrics["false_alarms_per_frame"] = n_false / max(len(pairs), 1)
    timing = pipe.timer.summary_ms()
    timing["simulate_boards"] = {
        "mean": 1000 * float(np.mean(t_sim)),
        "p50": 1000 * float(np.median(t_sim)),
        "p99": 1000 * float(np.percentile(t_sim, 99)),
    }
    timing["dca1000_link"] = {k: 1000 * t_link / max(len(pairs), 1) for k in ("mean", "p50")}
    return {"metrics": metrics, "timing_ms": timing, "frames": len(pairs), "link": link}, panels


def calibrate_rtpose_rig(rig: object, out: Path, seed: int, placements: int = 8) -> dict:
    """The calibration step: a short simulated corner-reflector session on the cascade rig, solved
    for ``T_radar_lidar`` and scored against the simulation's truth; writes ``calib.yaml``."""
    from calibration import calibrate_reflectors, placements_from_recording
    from calibration.rigid import rotation_error_deg
    from drivers.sim.sessions import simulate_reflector_session, spread_positions

    t0 = time.perf_counter()
    session = out / "calibration_session.h5"
    session.unlink(missing_ok=True)
    pos = spread_positions(placements, seed)
    simulate_reflector_session(rig, pos, session, seconds_each=0.4, gap=1.0, seed=seed)
    found, stats = placements_from_recording(session, "radar", "lidar")
    res = calibrate_reflectors(found)
    truth = calibration_from_rig(rig).get("radar", "lidar")
    cal = calibration_from_rig(rig)
    cal.transforms["T_radar_lidar"] = res.T
    cal.method = "reflectors (demo: simulated session)"
    cal.residuals = {"T_radar_lidar": {"rms_mm": round(res.rms * 1000, 2)}}
    cal.save(out / "calib.yaml")
    return {
        "T_radar_lidar": res.T,
        "placements": len(found),
        "inliers": int(res.inliers.sum()),
        "rms_residual_mm": 1000 * res.rms,
        "rotation_error_deg": rotation_error_deg(res.T, truth),
        "translation_error_mm": 1000 * float(np.linalg.norm(res.T[:3, 3] - truth[:3, 3])),
        "lidar_frames_without_target": stats.lidar_missed,
        "seconds": time.perf_counter() - t0,
    }


def run_rtpose(out: Path, seed: int) -> dict:
    """One frame of the cascade rig: radar point cloud and LiDAR (placed with the calibration the
    demo just estimated) with the true skeletons, as a picture."""
    from sensing.pointcloud import PointCloudExtractor

    rig = load_rig("rtpose")
    calib = calibrate_rtpose_rig(rig, out, seed)
    T_radar_lidar = calib.pop("T_radar_lidar")
    sim = Simulation(rig, SimConfig(people=2, seconds=1.0, seed=seed, motions=["walk", "box"]))
    t = 0.5
    t0 = time.perf_counter()
    cube = sim.radar_frame("radar", t)
    t1 = time.perf_counter()
    pts = PointCloudExtractor(rig.radars["radar"])(cube)
    t2 = time.perf_counter()
    lidar = apply(T_radar_lidar, sim.lidar_frame("lidar", t)[:, :3].astype(np.float64))
    img, _, _ = sim.camera_frame("cam-left", t)
    truth = sim.joints(t)
    T_cam = np.linalg.inv(sim.T_ref["cam-left"])
    cam = rig.config.sensors["cam-left"].camera
    assert cam is not None
    panel = Panel(
        title="RT-Pose rig (cascade + LiDAR + camera), ground truth",
        image=img,
        true_3d=truth,
        true_2d=project(apply(T_cam, truth), cam)[0],
        lidar=np.concatenate([lidar, pts[:, :3]]) if len(pts) else lidar,
        notes=[f"{len(pts)} radar points"],
    )
    strip([panel], out / "rtpose_rig.png")
    near = 0
    if len(pts):
        d = np.linalg.norm(pts[:, None, :2] - truth[None, :, 0, :2], axis=-1).min(axis=1)
        near = int((d < 0.6).sum())
    return {
        "radar_points": len(pts),
        "radar_points_on_people": near,
        "synthesis_ms": 1000 * (t1 - t0),
        "point_cloud_ms": 1000 * (t2 - t1),
        "lidar_points": len(lidar),
        "calibration": calib,
    }


def run_demo(
    out: str | Path = "demo-report",
    seconds: float = 4.0,
    seed: int = 3,
    weights: str | Path | None = None,
    rtpose: bool = True,
    quiet: bool = False,
) -> dict:
    from .weights import RADARPOSE_LITE

    w = Path(weights) if weights else RADARPOSE_LITE
    if not w.is_file():
        raise FusionError(
            f"{w}: model weights not found (train them with: radarpose train configs/models/radarpose_lite.yaml)"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    report, panels = run_hupr(out, seconds, seed, w, quiet)
    chosen = [p for p in panels if getattr(p, "selected", False)]
    strip(chosen, out / "strip.png")
    mid = chosen[len(chosen) // 2]
    skeleton_3d(
        mid.pred_3d,
        mid.true_3d,
        out / "skeletons_3d.png",
        title="prediction (orange) vs truth (teal)",
    )
    animation(panels, out / "demo.gif", fps=5.0)
    if rtpose:
        report["rtpose_rig"] = run_rtpose(out, seed)
    report["seconds_total"] = time.perf_counter() - t0
    report["weights"] = str(w)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report
