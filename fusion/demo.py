"""``radarpose demo``: the whole chain on the built-in simulator, with numbers and pictures.

HuPR-style rig (two IWR1843s + camera): simulated boards emit raw ADC words in the DCA1000 layout →
drivers/sensing unpack them → HuPR heatmaps → the calibration pairs the radars in time and puts
skeletons into the camera → the shipped real-time model → skeletons, scored against ground truth.
RT-Pose-style rig (cascade + LiDAR + stereo): a corner-reflector session calibrates radar ↔ LiDAR
(scored against the simulation's truth); the cascade's ADC words → range-azimuth and
range-elevation maps on the same grid (sensing.grid) → the cascade's shipped real-time model →
skeletons, scored; drawn with the cascade's point cloud and the LiDAR placed with that calibration.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
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
from .metrics import DetectionScore
from .pipeline import PosePipeline
from .viz import Panel, animation, skeleton_3d, strip

BEV_EXTENT = (-2.5, 2.5, 0.5, 5.0)  # y_min, y_max, x_min, x_max (m) of the radar panels


def _timed(frames: Iterator[Frame], seconds: list[float]) -> Iterator[Frame]:
    """Pass ``frames`` through, appending the wall time each took to produce to ``seconds``."""
    while True:
        t0 = time.perf_counter()
        f = next(frames, None)
        if f is None:
            return
        seconds.append(time.perf_counter() - t0)
        yield f


def _ms(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {}
    return {
        "mean": 1000 * float(np.mean(seconds)),
        "p50": 1000 * float(np.median(seconds)),
        "p99": 1000 * float(np.percentile(seconds, 99)),
    }


def _metrics(score: DetectionScore) -> dict:
    if not score.preds:
        raise FusionError(
            "the model found nobody in the demo scene; the shipped weights may be missing or damaged"
        )
    return score.metrics()


def bev_heatmap(
    heat: np.ndarray, radar: object, extent: tuple[float, float, float, float]
) -> np.ndarray:
    """Resample power ``heat (64 range, 64 azimuth)`` on HuPR's grid onto a metric top view.

    ``extent`` = (y_min, y_max, x_min, x_max) m; returns ``(200, 200)`` dB with columns from +y to -y.
    """
    p = 10 * np.log10(np.asarray(heat, np.float64) + 1e-9)
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


def _panel(
    title: str,
    image: np.ndarray,
    true: np.ndarray,
    people: list,
    T_cam: np.ndarray,
    cam: object,
    pipe: PosePipeline,
) -> Panel:
    """One frame to draw: ``image (H, W, 3)``, ``true (P, 15, 3)`` and the predicted ``people`` in
    the reference radar's frame, projected with ``T_cam`` (camera ← radar) into ``cam``."""
    pred3 = np.array([p.joints for p in people]) if people else None
    return Panel(
        title=title,
        image=image,
        true_3d=true,
        pred_3d=pred3,
        true_2d=project(apply(T_cam, true.astype(np.float64)), cam)[0],  # type: ignore[arg-type]
        pred_2d=project(apply(T_cam, pred3.astype(np.float64)), cam)[0]  # type: ignore[arg-type]
        if pred3 is not None
        else None,
        heatmap=bev_heatmap(pipe.last_heatmap, pipe.radar_h, BEV_EXTENT)
        if pipe.last_heatmap is not None
        else None,
        heatmap_extent=BEV_EXTENT,
        notes=[f"{len(people)} found / {len(true)} people"],
    )


def run_hupr(
    out: Path, seconds: float, seed: int, weights: Path, quiet: bool
) -> tuple[dict, list[Panel]]:
    rig = load_rig("hupr")
    calib = calibration_from_rig(rig)  # the simulation's true calibration
    model, _ = load_model(weights)
    pipe = PosePipeline(rig, model, calib)
    sim = Simulation(rig, SimConfig(people=2, seconds=seconds, seed=seed, motions=["walk", "wave"]))
    t_sim: list[float] = []
    frames, cams, truth = [], {}, {}
    it = _timed(SimulatedSource(sim).frames(), t_sim)
    total = sim.n_frames()
    for f in progress(it, total=total, desc="simulating boards") if not quiet else it:
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
    score, panels = DetectionScore(), []
    pairs = list(pipe.pair(iter(frames)))
    T_cam = calib.get("camera", pipe.h)
    cam_cfg = rig.config.sensors["camera"].camera
    assert cam_cfg is not None
    pick = set(np.linspace(0, len(pairs) - 1, 4).round().astype(int).tolist())
    for i, (fh, fv) in enumerate(
        progress(pairs, total=len(pairs), desc="inference", unit="frame") if not quiet else pairs
    ):
        people = pipe.process(fh.data["adc"], fv.data["adc"])
        true = truth[t_stamps[np.argmin(np.abs(t_stamps - fh.stamp_ns))]]
        score.add(np.array([p.joints for p in people]), true)
        if i in pick or i % 2 == 0:
            c = cam_stamps[np.argmin(np.abs(cam_stamps - fh.stamp_ns))]
            panel = _panel(
                f"HuPR rig, t = {(fh.stamp_ns - frames[0].stamp_ns) / 1e9:.1f} s",
                cams[c],
                true,
                people,
                T_cam,
                cam_cfg,
                pipe,
            )
            panel.selected = i in pick  # type: ignore[attr-defined]
            panels.append(panel)
    metrics = _metrics(score)
    timing = pipe.timer.summary_ms()
    timing["simulate_boards"] = _ms(t_sim)
    timing["dca1000_link"] = {k: 1000 * t_link / max(len(pairs), 1) for k in ("mean", "p50")}
    return {"metrics": metrics, "timing_ms": timing, "frames": len(pairs), "link": link}, panels


def calibrate_rtpose_rig(rig: object, out: Path, seed: int, placements: int = 8) -> dict:
    """The calibration step: a short simulated corner-reflector session on the cascade rig, solved
    for ``T_radar_lidar`` and scored against the simulation's truth; writes ``calib.yaml``. The
    session (raw cascade ADC, ~400 MB) is removed once solved: ``radarpose simulate`` and
    ``radarpose calibrate`` keep one when wanted."""
    from calibration import calibrate_reflectors, placements_from_recording
    from calibration.rigid import rotation_error_deg
    from drivers.sim.sessions import simulate_reflector_session, spread_positions

    t0 = time.perf_counter()
    session = out / "calibration_session.h5"
    session.unlink(missing_ok=True)
    pos = spread_positions(placements, seed)
    simulate_reflector_session(rig, pos, session, seconds_each=0.4, gap=1.0, seed=seed)
    try:
        found, stats = placements_from_recording(session, "radar", "lidar")
    finally:
        session.unlink(missing_ok=True)
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


def run_rtpose(
    out: Path, seed: int, seconds: float = 3.0, weights: Path | None = None, quiet: bool = True
) -> tuple[dict, list[Panel]]:
    """The cascade rig: calibrate radar ↔ LiDAR from a reflector session, then run the cascade's
    real-time model (:data:`fusion.weights.RADARPOSE_LITE_CASCADE`) on simulated boards' ADC words
    for ``seconds``, scored against the truth; draws ``rtpose_rig.png`` (BEV radar power, the
    LiDAR placed with the estimated calibration, the camera with predicted and true skeletons)."""
    from sensing import cube_from_words
    from sensing.pointcloud import PointCloudExtractor

    from .weights import RADARPOSE_LITE_CASCADE

    w = weights or RADARPOSE_LITE_CASCADE
    if not w.is_file():
        raise FusionError(
            f"{w}: cascade model weights not found (train them with: radarpose train "
            "configs/models/radarpose_lite_cascade.yaml)"
        )
    rig = load_rig("rtpose")
    calib = calibrate_rtpose_rig(rig, out, seed)
    T_radar_lidar = calib.pop("T_radar_lidar")
    model, _ = load_model(w)
    pipe = PosePipeline(rig, model, calibration_from_rig(rig))
    sim = Simulation(rig, SimConfig(people=2, seconds=seconds, seed=seed, motions=["walk", "box"]))
    T_cam = np.linalg.inv(sim.T_ref["cam-left"])
    cam = rig.config.sensors["cam-left"].camera
    assert cam is not None
    sensors = ["radar", "lidar", "cam-left", GROUNDTRUTH]
    source = SimulatedSource(sim, sensors=sensors)
    score, panels, t_sim, t_points = DetectionScore(), [], [], []
    latest: dict[str, Frame] = {}
    extractor = PointCloudExtractor(rig.radars["radar"])
    frames = _timed(source.frames(), t_sim)
    for f in (
        progress(frames, total=sim.n_frames(sensors), desc="cascade rig") if not quiet else frames
    ):
        if f.kind != "radar_adc":
            latest[f.sensor] = f
            continue
        people = pipe.process(f.data["adc"])
        if GROUNDTRUTH not in latest:
            continue
        true = latest[GROUNDTRUTH].data["joints"]
        score.add(np.array([p.joints for p in people]), true)
        if f.counter % 6 != 3 or "lidar" not in latest or "cam-left" not in latest:
            continue
        t1 = time.perf_counter()
        pts = extractor(cube_from_words(f.data["adc"], pipe.radar_h))
        t_points.append(time.perf_counter() - t1)
        lidar = apply(T_radar_lidar, latest["lidar"].data["points"][:, :3].astype(np.float64))
        panel = _panel(
            f"RT-Pose rig, t = {(f.stamp_ns - sim.cfg.start_ns) / 1e9:.1f} s",
            latest["cam-left"].data["image"],
            true,
            people,
            T_cam,
            cam,
            pipe,
        )
        panel.lidar = np.concatenate([lidar, pts[:, :3]]) if len(pts) else lidar
        panel.notes.append(f"{len(pts)} CFAR pts")
        panels.append(panel)
    strip(panels[:4], out / "rtpose_rig.png")
    timing = pipe.timer.summary_ms()
    timing["simulate_boards"] = _ms(t_sim)
    timing["point_cloud"] = _ms(t_points)
    report = {"metrics": _metrics(score), "timing_ms": timing, "calibration": calib}
    return {**report, "frames": score.frames, "weights": str(w)}, panels


def run_demo(
    out: str | Path = "demo-report",
    seconds: float = 4.0,
    seed: int = 3,
    weights: str | Path | None = None,
    rtpose: bool = True,
    quiet: bool = False,
) -> dict:
    from .weights import shipped_for

    w = Path(weights) if weights else shipped_for(2)
    if not w.is_file():
        raise FusionError(
            f"{w}: model weights not found (train them with: radarpose train configs/models/"
            "radarpose_lite.yaml, then radarpose_lite_track.yaml)"
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
        report["rtpose_rig"] = run_rtpose(out, seed, quiet=quiet)[0]
    report["seconds_total"] = time.perf_counter() - t0
    report["weights"] = str(w)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report
