"""``radarpose calibrate session.h5 --method reflectors|board|person|icp|temporal|moving-target``.

``reflectors`` and ``board`` need a target session; ``person``, ``icp`` and ``temporal`` need only a
recording with one person walking through the radar's and the LiDAR's view, and refine the base
calibration (``--base``, else the recording's own): ``person`` the radar-LiDAR yaw and horizontal
position, ``icp`` all six from the static room, ``temporal`` the clock offsets of the LiDAR and of every
camera in the recording (the person's bearing in its images against the radar track).
``moving-target`` needs a session in which a reflector with a checkerboard above it is carried back
and forth through the scene, and gives the LiDAR's and every camera's clock offset to a few ms
(:mod:`calibration.movingtarget`).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command's imports stay lazy: `radarpose --help` starts fast
    import numpy as np

    from drivers import CameraConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", help="HDF5 recording of a calibration session")
    p.add_argument(
        "--method",
        choices=["reflectors", "board", "intrinsics", "person", "icp", "temporal", "moving-target"],
        default="reflectors",
        help="reflectors: radar-LiDAR; board: LiDAR-camera (and camera-radar by composition); "
        "intrinsics: a camera's intrinsics from board images, written as ROS camera_info YAML; "
        "person, icp: target-free radar-LiDAR refinement; temporal: the LiDAR's and the cameras' "
        "clock offsets from a walking person (tens of ms); moving-target: the same from a "
        "reflector-and-board target carried back and forth (a few ms)",
    )
    p.add_argument("-o", "--out", default="calib.yaml", help="calibration YAML to write")
    p.add_argument("--report", default=None, help="folder for the report (PNGs and a summary)")
    p.add_argument("--radar", default=None, help="radar stream (default: the rig's reference)")
    p.add_argument("--lidar", default=None, help="LiDAR stream (default: the first)")
    p.add_argument("--camera", default=None, help="camera stream (default: the first)")
    p.add_argument("--size", type=float, default=0.1, help="corner reflector size (m)")
    p.add_argument(
        "--board",
        default="6x8x0.08+0.08",
        help="checkerboard ROWSxCOLSxSQUARE[+MARGIN]: squares and metres, MARGIN the white border "
        "around the pattern (default 6x8x0.08+0.08, as the simulator draws it)",
    )
    p.add_argument(
        "--base",
        default=None,
        help="calibration YAML to extend (default: the session's own); the result is composed with "
        "it, e.g. camera-radar from camera-LiDAR and radar-LiDAR",
    )
    p.add_argument(
        "--simulate",
        type=int,
        default=0,
        metavar="N",
        help="first write a simulated session with N placements (reflectors, board), N seconds "
        "of one person walking (person, icp, temporal) or N seconds of a carried target "
        "(moving-target) to SESSION (try-out and tests)",
    )
    p.add_argument("--rig", default="rtpose", help="rig for --simulate (default rtpose)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--radial-bias",
        action="store_true",
        help="person: also solve the radar-LiDAR offset along the viewing ray (needs a walk "
        "spanning a wide azimuth; otherwise it trades off against x)",
    )


def _board(text: str):  # noqa: ANN202
    from calibration.board import BoardSpec
    from drivers import ConfigError

    try:
        main, _, margin = text.partition("+")
        rows, cols, square = main.lower().split("x")
        return BoardSpec(int(rows), int(cols), float(square), float(margin or 0.0))
    except ValueError:
        raise ConfigError(
            f"--board {text!r}: expected ROWSxCOLSxSQUARE[+MARGIN], e.g. 6x8x0.08"
        ) from None


TARGET_FREE = ("person", "icp", "temporal")


def _simulate(args: argparse.Namespace) -> None:
    from drivers import DriversError, load_rig
    from drivers.sim.sessions import (
        board_poses,
        simulate_board_session,
        simulate_moving_target_session,
        simulate_reflector_session,
        spread_positions,
    )

    if Path(args.session).exists():
        raise DriversError(f"{args.session} exists; --simulate writes a new session")
    rig = load_rig(args.rig)
    if args.method in TARGET_FREE:
        from drivers.sim import SimConfig, Simulation
        from drivers.sim.simulate import simulate_to_recording

        sim = Simulation(rig, SimConfig(seconds=args.simulate, seed=args.seed, motions=["walk"]))
        names = [*rig.sensors_of("radar"), *rig.sensors_of("lidar"), "groundtruth"]
        if args.method == "temporal":  # one camera, whose clock offset is estimated too
            names += rig.sensors_of("camera")[:1]
        n = simulate_to_recording(sim, args.session, sensors=names)
    elif args.method == "moving-target":
        names = rig.sensors_of("radar") + rig.sensors_of("lidar") + rig.sensors_of("camera")[:1]
        n = simulate_moving_target_session(
            rig, args.session, seconds=args.simulate, seed=args.seed, sensors=names
        )
    elif args.method == "reflectors":
        pos = spread_positions(args.simulate, args.seed)
        # one camera too, so that the report can draw both sensors over an image
        names = rig.sensors_of("radar") + rig.sensors_of("lidar") + rig.sensors_of("camera")[:1]
        n = simulate_reflector_session(
            rig, pos, args.session, seed=args.seed, size=args.size, sensors=names
        )
    else:
        b = _board(args.board)
        boards = board_poses(args.simulate, args.seed, rows=b.rows, cols=b.cols, square=b.square)
        n = simulate_board_session(rig, boards, args.session, seed=args.seed)
    print(f"simulated {args.session}: " + ", ".join(f"{k} {v}" for k, v in n.items()))


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from calibration import CalibrationError
    from calibration.rigid import compose, rotation_error_deg
    from drivers import Calibration, RecordingReader
    from drivers.calibfile import load_calibration, parse_calibration

    if args.simulate:
        _simulate(args)
    with RecordingReader(args.session) as rec:
        reference = (_yaml(rec.rig_yaml) or {}).get("reference") if rec.rig_yaml else None
        session_cal = (
            parse_calibration(_yaml(rec.calibration_yaml)) if rec.calibration_yaml else None
        )
        kinds = {n: s.kind for n, s in rec.streams.items()}
    pick = {k: [n for n, v in kinds.items() if v == k] for k in ("radar", "lidar", "image")}
    radar = args.radar or reference or (pick["radar"] or [None])[0]
    lidar = args.lidar or (pick["lidar"] or [None])[0]
    camera = args.camera or (pick["image"] or [None])[0]
    base = load_calibration(args.base) if args.base else (session_cal or Calibration())
    truth = session_cal if session_cal and "ground truth" in session_cal.method else None
    out = Calibration(dict(base.transforms), dict(base.clock_offsets), {}, "")
    report = Path(args.report) if args.report else None
    if report:
        report.mkdir(parents=True, exist_ok=True)
    lines = []

    if args.method == "intrinsics":
        return _intrinsics(args, camera)
    if args.method == "reflectors":
        from calibration.reflectors import calibrate_reflectors, placements_from_recording

        if not (radar and lidar):
            raise CalibrationError(
                f"{args.session}: a reflector session needs a radar and a LiDAR stream"
            )
        placements, st = placements_from_recording(args.session, radar, lidar, size=args.size)
        res = calibrate_reflectors(placements, size=args.size)
        key, T, frm, to = f"T_{radar}_{lidar}", res.T, lidar, radar
        out.transforms.pop(f"T_{lidar}_{radar}", None)
        lines.append(
            f"{len(placements)} placements ({int(res.inliers.sum())} inliers); radar frames "
            f"{st.radar_frames} ({st.radar_missed} without the target, {st.radar_unassigned} between "
            f"placements); LiDAR frames {st.lidar_frames} ({st.lidar_missed} without the target); "
            f"{st.placements_dropped} placements dropped"
        )
    elif args.method in TARGET_FREE:
        key, T, resid, res = _target_free(args, radar, lidar, base, out, lines)
        frm, to = lidar, radar
    elif args.method == "moving-target":
        key, T, resid, res = _moving_target(args, radar, lidar, base, out, lines)
        frm, to = lidar, radar
    else:
        from calibration.board import calibrate_lidar_camera, observations_from_recording

        if not (camera and lidar):
            raise CalibrationError(
                f"{args.session}: a board session needs a camera and a LiDAR stream"
            )
        board = _board(args.board)
        guess = base.get(camera, lidar) if base.transforms else np.eye(4)
        obs, st = observations_from_recording(args.session, lidar, camera, board, guess)
        res = calibrate_lidar_camera(obs, board)
        key, T, frm, to = f"T_{camera}_{lidar}", res.T, lidar, camera
        out.transforms.pop(f"T_{lidar}_{camera}", None)
        lines.append(
            f"{st['used']} board views used of {st['camera_frames']} camera frames "
            f"({st['board_not_found']} without the board, {st['no_lidar']} without LiDAR returns); "
            f"corner reprojection RMS {np.sqrt(np.mean([o.reprojection_px**2 for o in obs])):.2f} px"
        )
    if args.method not in (*TARGET_FREE, "moving-target"):
        out.transforms[key] = T
        resid = {
            key: {
                "per_target_mm": (res.residuals * 1000).round(2).tolist(),
                "inliers": res.inliers.tolist(),
                "rms_mm": round(res.rms * 1000, 2),
                "sigma_rotation_deg": round(res.sigma_rotation_deg, 4),
                "sigma_translation_mm": round(res.sigma_translation * 1000, 2),
            }
        }
        lines.append(
            f"{key}: RMS residual {res.rms * 1000:.1f} mm, 1-sigma {res.sigma_rotation_deg:.3f} deg / "
            f"{res.sigma_translation * 1000:.1f} mm"
        )
    if truth is not None and T is None:  # temporal: the clock offsets against the truth
        for k in resid:
            sensor = k.removeprefix("clock_offset_")
            true = truth.clock_offsets.get(sensor, 0.0) - truth.clock_offsets.get(radar, 0.0)
            err = out.clock_offsets[sensor] - base.clock_offsets.get(radar, 0.0) - true
            resid[k]["error_vs_simulation_truth_ms"] = round(err * 1000, 2)
            lines.append(f"{k} against the simulation's truth: {err * 1000:+.1f} ms")
    elif truth is not None:
        Tt = truth.get(to, frm)
        e_r, e_t = rotation_error_deg(T, Tt), float(np.linalg.norm(T[:3, 3] - Tt[:3, 3]))
        resid[key]["error_vs_simulation_truth"] = {
            "rotation_deg": round(e_r, 4),
            "translation_mm": round(e_t * 1000, 2),
        }
        lines.append(f"{key} against the simulation's truth: {e_r:.3f} deg, {e_t * 1000:.1f} mm")
    # camera-radar by composition when the other link is known (estimated earlier, or nominal)
    if args.method == "board" and radar and radar != camera:
        try:
            T_lr = base.get(lidar, radar)
        except Exception:  # noqa: BLE001 - no radar link in the base calibration: nothing to compose
            T_lr = None
        if T_lr is not None:
            prev = (base.residuals or {}).get(f"T_{radar}_{lidar}", {})
            s_r = np.radians(prev.get("sigma_rotation_deg", 0.0)) ** 2 / 3
            s_t = (prev.get("sigma_translation_mm", 0.0) / 1000) ** 2 / 3
            T_cr, cov = compose(T, res.cov, T_lr, np.diag([s_r] * 3 + [s_t] * 3))
            out.transforms[f"T_{camera}_{radar}"] = T_cr
            out.transforms.pop(f"T_{radar}_{camera}", None)
            resid[f"T_{camera}_{radar}"] = {
                "composed_from": [key, f"T_{lidar}_{radar}"],
                "sigma_rotation_deg": round(float(np.degrees(np.sqrt(np.trace(cov[:3, :3])))), 4),
                "sigma_translation_mm": round(float(np.sqrt(np.trace(cov[3:, 3:])) * 1000), 2),
            }
    out.residuals = {**(base.residuals or {}), **resid}
    out.method = f"{args.method} ({args.session})"
    out.save(args.out)
    lines.append(f"wrote {args.out}")
    if report:
        from calibration.report import points_on_image, residual_bars

        if res is not None:
            residual_bars(res.residuals, res.inliers, key, report / "residuals.png")
        if camera and lidar and args.method == "board":
            with RecordingReader(args.session) as rec:
                img = next(rec.frames(camera)).data["image"]
                pts = next(rec.frames(lidar)).data["points"]
                cam = rec.camera_config(camera)
            points_on_image(img, pts, T, cam, report / "lidar_on_image.png", title=key)
        if camera and lidar and args.method == "reflectors":
            # LiDAR through the new radar-LiDAR transform and the radar's own reflector positions,
            # both drawn through the camera-radar transform: they meet where the two agree
            T_cam_radar = out.get(camera, radar)
            with RecordingReader(args.session) as rec:
                img = next(rec.frames(camera)).data["image"]
                pts = next(rec.frames(lidar)).data["points"]
                cam = rec.camera_config(camera)
            points_on_image(
                img,
                pts,
                T_cam_radar @ T,
                cam,
                report / "radar_lidar_on_image.png",
                title=f"LiDAR (dots) and radar reflector detections (x) in {camera}",
                markers=np.array([p.radar for p in placements]),
                T_cam_markers=T_cam_radar,
            )
        (report / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def _intrinsics(args: argparse.Namespace, camera: str | None) -> int:
    """Intrinsics from up to 40 of the camera's frames; the recording's own camera model (the
    truth, for a simulated session) is printed beside the estimate."""
    import numpy as np

    from calibration import CalibrationError, calibrate_intrinsics, camera_info_yaml
    from drivers import RecordingReader

    if camera is None:
        raise CalibrationError(f"{args.session}: no camera stream to calibrate")
    with RecordingReader(args.session) as rec:
        n = len(rec.stamps(camera))
        pick = set(np.linspace(0, n - 1, min(n, 40)).round().astype(int).tolist())
        images = [f.data["image"] for i, f in enumerate(rec.frames(camera)) if i in pick]
        stored = rec.camera_config(camera)
    cam, rms, used = calibrate_intrinsics(images, _board(args.board))
    Path(args.out).write_text(camera_info_yaml(cam, camera))
    print(
        f"{camera}: board found in {used} of {len(images)} frames, reprojection RMS {rms:.2f} px\n"
        f"  fx {cam.fx:.1f} fy {cam.fy:.1f} cx {cam.cx:.1f} cy {cam.cy:.1f} px, distortion "
        f"{', '.join(f'{d:.4f}' for d in cam.distortion) or 'none'}\n"
        f"  the recording's model: fx {stored.fx:.1f} fy {stored.fy:.1f} cx {stored.cx:.1f} "
        f"cy {stored.cy:.1f}\nwrote {args.out} (ROS camera_info)"
    )
    return 0


def _target_free(
    args: argparse.Namespace,
    radar: str | None,
    lidar: str | None,
    base: object,
    out: object,
    lines: list[str],
) -> tuple[str, object, dict, object]:
    """Run ``--method person|icp|temporal``: updates ``out`` (a Calibration) and ``lines``;
    returns the result's key, ``T_radar_lidar`` (None for temporal), residuals entry and the
    rigid fit with per-pair residuals (person) or None."""
    from calibration import CalibrationError
    from calibration.person import (
        camera_person_track,
        lidar_person_track,
        radar_person_track,
        radar_static_cloud,
    )
    from calibration.targetfree import (
        calibrate_icp,
        calibrate_person,
        estimate_camera_offset,
        estimate_lidar_offset,
    )

    if not (radar and lidar):
        raise CalibrationError(f"{args.session}: --method {args.method} needs a radar and a LiDAR")
    T0 = _base_transform(base, radar, lidar, f"--method {args.method} refines")
    offsets = base.clock_offsets  # type: ignore[attr-defined]
    off_r, off_l = offsets.get(radar, 0.0), offsets.get(lidar, 0.0)
    lt, background = lidar_person_track(args.session, lidar)
    key = f"T_{radar}_{lidar}"
    if args.method == "icp":
        pts, n = radar_static_cloud(args.session, radar)
        r = calibrate_icp(pts, background, T0)
        out.transforms.pop(f"T_{lidar}_{radar}", None)  # type: ignore[attr-defined]
        out.transforms[key] = r.T  # type: ignore[attr-defined]
        lines.append(
            f"ICP: {r.points} distinct static radar points from {n} frames onto {len(background)} "
            f"LiDAR background points; fitness {r.fitness:.2f}, inlier RMSE "
            f"{r.inlier_rmse * 1000:.1f} mm"
        )
        entry = {
            "method": "icp",
            "fitness": round(r.fitness, 4),
            "inlier_rmse_mm": round(r.inlier_rmse * 1000, 2),
            "radar_points": r.points,
        }
        return key, r.T, {key: entry}, None
    rt = radar_person_track(args.session, radar)
    lines.append(
        f"person in {len(rt.stamps_ns)} of {rt.frames} radar frames (dropped: {rt.dropped}) and "
        f"{len(lt.stamps_ns)} of {lt.frames} LiDAR frames (dropped: {lt.dropped})"
    )
    if args.method == "person":
        r = calibrate_person(
            rt, lt, T0, radar_offset=off_r, lidar_offset=off_l, radial_bias=args.radial_bias
        )
        out.transforms.pop(f"T_{lidar}_{radar}", None)  # type: ignore[attr-defined]
        out.transforms[key] = r.T  # type: ignore[attr-defined]
        lines.append(
            f"{key} ({', '.join(r.solved)} solved; roll, pitch, z kept from the base): "
            f"{r.pairs} frame pairs, RMS {r.rms * 1000:.1f} mm, radial bias "
            f"{r.radial_bias * 1000:+.1f} mm, yaw 1-sigma {r.sigma_yaw_deg:.2f} deg; "
            f"dropped {r.dropped}"
        )
        entry = {
            "method": "person",
            "solved": list(r.solved),
            "per_pair_mm": (r.fit.residuals * 1000).round(2).tolist(),
            "inliers": r.fit.inliers.tolist(),
            "rms_mm": round(r.rms * 1000, 2),
            "radial_bias_mm": round(r.radial_bias * 1000, 2),
            "sigma_yaw_deg": round(r.sigma_yaw_deg, 4),
            "dropped": r.dropped,
        }
        return key, r.T, {key: entry}, r.fit
    o = estimate_lidar_offset(rt, lt, T0, radar_offset=off_r)
    out.clock_offsets[lidar] = o.offset  # type: ignore[attr-defined]
    key = f"clock_offset_{lidar}"
    lines.append(
        f"{lidar} clock offset {o.offset * 1000:+.1f} ± {o.sigma * 1000:.1f} ms (1-sigma; was "
        f"{off_l * 1000:+.1f} ms) from {o.samples} radar frames, residual {o.rms * 1000:.1f} mm"
    )
    entry = {
        "method": "temporal",
        "offset_s": round(o.offset, 6),
        "sigma_ms": round(o.sigma * 1000, 2),
        "rms_mm": round(o.rms * 1000, 2),
        "samples": o.samples,
    }
    resid = {key: entry}
    # each camera against the radar, by the person's bearing in its images
    for c, cam, T_cr in _cameras_to(args.session, base, radar, lines):
        try:
            it = camera_person_track(args.session, c)
            oc = estimate_camera_offset(rt, it, T_cr, cam, ref_offset=off_r)
        except CalibrationError as e:  # one camera without the person spoils no other result
            lines.append(f"{c}: clock offset not estimated: {e}")
            continue
        out.clock_offsets[c] = oc.offset  # type: ignore[attr-defined]
        lines.append(
            f"{c} clock offset {oc.offset * 1000:+.1f} ± {oc.sigma * 1000:.1f} ms (1-sigma; was "
            f"{offsets.get(c, 0.0) * 1000:+.1f} ms) from the person's bearing in "
            f"{len(it.u)} of {it.frames} images, residual {oc.rms:.1f} px"
        )
        resid[f"clock_offset_{c}"] = {
            "method": "temporal (silhouette bearing against the radar track)",
            "offset_s": round(oc.offset, 6),
            "sigma_ms": round(oc.sigma * 1000, 2),
            "rms_px": round(oc.rms, 2),
            "samples": oc.samples,
        }
    return key, None, resid, None


def _moving_target(
    args: argparse.Namespace,
    radar: str | None,
    lidar: str | None,
    base: object,
    out: object,
    lines: list[str],
) -> tuple[str, None, dict, None]:
    """Run ``--method moving-target``: the LiDAR's and every camera's clock offset from the
    carried target, against the radar; updates ``out`` (a Calibration) and ``lines``; returns the
    first result's key, no transform, the residual entries and no rigid fit. A camera without a
    camera-radar transform in the base, or that never sees the board, is reported and skipped;
    the LiDAR's refusal (and a session where nothing could be estimated) stops the command."""
    from calibration import CalibrationError
    from calibration.movingtarget import (
        TargetOffset,
        TargetTrack,
        camera_offset_from_target,
        camera_target_track,
        lidar_offset_from_target,
        lidar_target_track,
        radar_target_track,
    )

    if not radar:
        raise CalibrationError(f"{args.session}: --method moving-target needs a radar stream")
    offsets = base.clock_offsets  # type: ignore[attr-defined]
    off_r = offsets.get(radar, 0.0)
    # checked first: the radar track takes a while
    T_rl = (
        _base_transform(base, radar, lidar, "--method moving-target compares through")
        if lidar
        else None
    )
    rt = radar_target_track(args.session, radar)
    lines.append(
        f"target in {len(rt.stamps_ns)} of {rt.frames} {radar} frames (dropped: {rt.dropped})"
    )
    resid: dict = {}

    def record(sensor: str, o: TargetOffset, track: TargetTrack, unit: str, scale: float) -> None:
        r = o.result
        out.clock_offsets[sensor] = r.offset  # type: ignore[attr-defined]
        lines.append(
            f"{sensor} clock offset {r.offset * 1000:+.2f} ± {r.sigma * 1000:.2f} ms (1-sigma; was "
            f"{offsets.get(sensor, 0.0) * 1000:+.1f} ms): target in {len(track.stamps_ns)} of "
            f"{track.frames} frames (dropped: {track.dropped}), {o.outliers[1]} wrong detections "
            f"dropped, residual {r.rms * scale:.2f} {unit}"
        )
        resid[f"clock_offset_{sensor}"] = {
            "method": "moving target",
            "offset_s": round(r.offset, 6),
            "sigma_ms": round(r.sigma * 1000, 3),
            f"rms_{unit}": round(r.rms * scale, 3),
            "samples": r.samples,
            "outliers_dropped": list(o.outliers),
        }

    if lidar:
        lt = lidar_target_track(args.session, lidar, size=args.size)
        o = lidar_offset_from_target(rt, lt, T_rl, radar_offset=off_r)
        record(lidar, o, lt, "mm", 1000.0)
    for c, cam, T_cr in _cameras_to(args.session, base, radar, lines):
        try:
            ct = camera_target_track(args.session, c)
            oc = camera_offset_from_target(rt, ct, T_cr, cam, radar_offset=off_r)
        except CalibrationError as e:  # one camera without the board spoils no other result
            lines.append(f"{c}: clock offset not estimated: {e}")
            continue
        record(c, oc, ct, "px", 1.0)
    if not resid:
        raise CalibrationError(
            f"{args.session}: no clock offset estimated (no LiDAR, and no camera gave one)"
        )
    return next(iter(resid)), None, resid, None


def _cameras_to(
    session: str, base: object, radar: str, lines: list[str]
) -> Iterator[tuple[str, CameraConfig, np.ndarray]]:
    """The session's cameras with their config and ``T_<camera>_<radar>`` (4×4) from the base
    calibration; a camera the base does not place is reported in ``lines`` and skipped."""
    from drivers import DriversError, RecordingReader

    with RecordingReader(session) as rec:
        cams = {n: rec.camera_config(n) for n, st in rec.streams.items() if st.kind == "image"}
    for c, cam in cams.items():
        try:
            T_cr = base.get(c, radar)  # type: ignore[attr-defined]
        except DriversError:
            lines.append(f"{c}: no camera-radar transform in the base calibration; clock skipped")
            continue
        yield c, cam, T_cr


def _base_transform(base: object, to: str, frm: str, what: str) -> object:
    """``T_<to>_<from>`` (4×4) from the base calibration, or a CalibrationError saying that
    ``what`` (e.g. "--method person refines") needs it."""
    from calibration import CalibrationError
    from drivers import DriversError

    try:
        return base.get(to, frm)  # type: ignore[attr-defined]
    except DriversError:
        raise CalibrationError(
            f"{what} T_{to}_{frm}, which the base calibration lacks: pass --base calib.yaml "
            "(reflectors or nominal)"
        ) from None


def _yaml(text: str):  # noqa: ANN202
    import yaml

    return yaml.safe_load(text)
