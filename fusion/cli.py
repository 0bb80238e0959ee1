"""The ``radarpose`` command line.

Each subcommand lives in ``fusion/commands/<name>.py`` with ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their command runs, so ``--help`` stays fast.
A user error (one of the packages' error classes, a missing file) exits 2 with one line; the
traceback appears only with ``--verbose``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# name -> (module under fusion.commands, one-line help); add a line when a command lands
COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("config", "show a radar, rig or model config with its derived quantities"),
    "inspect": ("inspect", "say what a file holds: format, streams, frames, drops"),
    "simulate": (
        "simulate",
        "simulate people on a rig: raw radar ADC, LiDAR, cameras and ground truth",
    ),
    "preprocess": (
        "preprocess",
        "raw radar to HuPR heatmaps, point clouds, micro-Doppler or RT-Pose tensors (resumable)",
    ),
    "train": ("train", "train a pose model from a config (simulates its data when missing)"),
    "evaluate": ("evaluate", "MPJPE, PA-MPJPE, root error, PCK of a checkpoint on held-out data"),
    "live": (
        "live",
        "skeletons in real time from (emulated) boards, with latency and drop counters",
    ),
    "infer": ("infer", "skeletons with scores from a recording's radar, as HDF5, JSON or a bag"),
    "calibrate": (
        "calibrate",
        "radar-LiDAR from corner reflectors, LiDAR-camera from a checkerboard: YAML and report",
    ),
    "export": ("export", "write a recording as a ROS1 or ROS2 (sqlite3/MCAP) bag"),
    "import": ("import_bag", "read a ROS1 or ROS2 bag into an HDF5 recording (topics via the rig)"),
    "replay": ("replay", "replay a recording or bag like a live rig: 1x, Nx or max speed"),
    "view": ("view", "draw a recording's frames with skeleton overlays (PNG/GIF, or a window)"),
    "demo": ("demo", "run the main job on the built-in simulator and write a report"),
    "import-weights": ("import_weights", "convert an official HuPR or RT-Pose checkpoint to ours"),
    "capture": ("capture", "record a rig's live sensors (TI UART, DCA1000) into an HDF5 recording"),
    "label": ("label", "pseudo-labels from cameras: 2D keypoints lifted to 3D in the radar frame"),
}


def _user_errors() -> tuple[type[BaseException], ...]:
    from calibration import CalibrationError
    from drivers import DriversError
    from sensing import SensingError

    from .errors import FusionError

    return (
        DriversError,
        SensingError,
        CalibrationError,
        FusionError,
        FileNotFoundError,
        PermissionError,
        IsADirectoryError,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="radarpose",
        description="mmWave / 4D imaging radar, LiDAR and RGB to 3D human skeletons.",
    )
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars or informational output"
    )
    loud.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging and full tracebacks"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    argv = sys.argv[1:]
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        # only import the module whose arguments are needed (or all of them for bare --help)
        if name in argv or not any(a in COMMANDS for a in argv):
            importlib.import_module(f"fusion.commands.{module}").add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from drivers.progress import set_quiet

    set_quiet(args.quiet)
    module = importlib.import_module(f"fusion.commands.{args._module}")
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("radarpose: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as exc:
        if args.verbose:
            raise
        text = str(exc).strip() or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename:
            text = f"{exc.filename}: {exc.strerror}"
        print(f"radarpose {args.command}: error: {text.splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
