"""``radarpose view rec.h5``: browse a recording with overlays; PNG export when headless."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "recording", help="HDF5 recording (bags: export them first with 'radarpose export')"
    )
    p.add_argument("--out", default=None, help="folder for PNGs (default: <recording>_view)")
    p.add_argument("--start", type=int, default=0, help="first frame of the reference stream")
    p.add_argument("--count", type=int, default=4, help="how many frames to draw")
    p.add_argument("--step", type=int, default=1, help="draw every STEP-th frame")
    p.add_argument("--camera", default=None, help="camera stream to draw (default: the first)")
    p.add_argument("--gif", action="store_true", help="also write an animated GIF")
    p.add_argument(
        "--show",
        action="store_true",
        help="open a window instead of writing files (needs a display)",
    )


def run(args: argparse.Namespace) -> int:
    from drivers import DriversError

    from ..view import panels_from_recording
    from ..viz import animation, strip

    if args.count < 1 or args.step < 1:
        raise DriversError("--count and --step must be at least 1")
    panels = panels_from_recording(
        args.recording, start=args.start, count=args.count, step=args.step, camera=args.camera
    )
    if args.show:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            raise DriversError("no display to show on; drop --show to write PNGs instead")
        import matplotlib

        matplotlib.use("TkAgg", force=True)
        import matplotlib.pyplot as plt

        strip(panels, Path(args.out or ".") / "view.png")
        plt.show()
        return 0
    out = Path(args.out or Path(args.recording).with_suffix("").as_posix() + "_view")
    out.mkdir(parents=True, exist_ok=True)
    path = strip(panels, out / "strip.png")
    print(f"wrote {path}")
    if args.gif:
        print(f"wrote {animation(panels, out / 'view.gif')}")
    return 0
