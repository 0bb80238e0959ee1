"""``radarpose live --rig hupr``: skeletons in real time from boards, with latency and drop counters.

``--emulate dca1000`` (the default for the built-in rigs) starts a DCA1000 emulator per radar on
loopback UDP, streaming simulated ADC of two people at the radars' frame rate, and receives it with
the real socket and frame-reassembly code: bytes in → skeletons out. ``--emulate memory`` replays
pre-synthesised frames in-process (no sockets). ``--emulate none`` opens the rig's own transports:
real boards.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rig", default="hupr", help="rig YAML or built-in name (the HuPR-style two-radar rig)"
    )
    p.add_argument(
        "--emulate",
        choices=("dca1000", "memory", "none"),
        default=None,
        help="emulated DCA1000s on loopback, in-process frames, or the rig's real boards "
        "(default: dca1000 for built-in rigs, none for a rig file)",
    )
    p.add_argument(
        "--seconds", type=float, default=10.0, help="how long the emulated boards stream"
    )
    p.add_argument(
        "--weights", default=None, help="checkpoint (default: the shipped real-time model)"
    )
    p.add_argument(
        "--calibration",
        default=None,
        help="calibration YAML (radarpose calibrate); default: the rig's nominal poses",
    )
    p.add_argument("--record", default=None, help="also record the skeletons to this HDF5 file")
    p.add_argument(
        "--view",
        nargs="?",
        const="window",
        default=None,
        metavar="PNG",
        help="live view of the skeletons: a window when a display exists (--view), or a PNG "
        "redrawn up to 10 times a second (--view live.png)",
    )
    p.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from drivers import load_rig
    from drivers.calibfile import calibration_from_rig, load_calibration
    from drivers.capture import LiveSensors
    from fusion.evaluate import load_model
    from fusion.live import emulated_board, run_live
    from fusion.pipeline import PosePipeline
    from fusion.weights import shipped_for

    builtin = not Path(args.rig).suffix
    emulate = args.emulate or ("dca1000" if builtin else "none")
    rig = load_rig(args.rig)
    model, _ = load_model(args.weights or shipped_for(len(rig.sensors_of("radar"))))
    calib = load_calibration(args.calibration) if args.calibration else calibration_from_rig(rig)
    pipe = PosePipeline(rig, model, calib)
    radars = rig.sensors_of("radar")
    if emulate == "memory":
        print(f"emulated {rig.name} boards: synthesising {args.seconds:g} s of frames first ...")
        _, source = emulated_board(args.rig, args.seconds, args.seed)
    else:
        if emulate == "dca1000":
            n = int(args.seconds / max(rig.radars[r].frame_period for r in radars))
            for r in radars:
                s = rig.config.sensors[r]
                s.options.update(
                    emulated="true",
                    emulated_frames=str(n),
                    emulated_seed=str(args.seed),
                    emulated_source="sim",
                )
                if s.transport != "dca1000":  # a rig for the simulator: emulate its radars anyway
                    object.__setattr__(s, "transport", "dca1000")
            print(
                f"emulated DCA1000s for {', '.join(radars)} on loopback: synthesising {n} frames each ..."
            )
        source = LiveSensors(rig, radars)
    view = None
    if args.view:
        from fusion.liveview import LiveView

        view = LiveView(None if args.view == "window" else args.view)
    try:
        stats = run_live(
            pipe,
            source,
            record=Path(args.record) if args.record else None,
            status=not args.quiet,
            view=view,
        )
    finally:
        source.close()
        if view is not None:
            view.close()
    lat = 1000 * np.array(stats.latency_s)
    print(
        f"processed {stats.processed} frame pairs, skipped {stats.dropped} to keep up, "
        f"lost in transport {source.stats.dropped}, max backlog {stats.max_backlog}"
    )
    if len(lat):
        t = pipe.timer.summary_ms()
        stages = ", ".join(f"{k} {v['p50']:.1f}" for k, v in t.items() if k != "total")
        print(
            f"latency arrival -> skeletons: p50 {np.percentile(lat, 50):.1f} ms, "
            f"p99 {np.percentile(lat, 99):.1f} ms (stage p50 ms: {stages})"
        )
    if stats.error:
        print(f"stopped: {stats.error}")
        return 1
    return 0
