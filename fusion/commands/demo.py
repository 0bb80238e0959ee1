"""``radarpose demo``: the main job on the built-in simulator.

Until the simulator and models land, the demo prints what every built-in radar profile gives.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="demo-report", help="report folder")


def run(args: argparse.Namespace) -> int:
    from drivers import find_config, load_radar_config

    rows = [
        ("range resolution", "range_resolution_m", 100, "cm"),
        ("max range", "max_range_m", 1, "m"),
        ("velocity resolution", "velocity_resolution_m_s", 1, "m/s"),
        ("max velocity", "max_velocity_m_s", 1, "± m/s"),
        ("chirps per frame", "chirps_per_frame", 1, ""),
        ("virtual antennas", "virtual_antennas", 1, ""),
        ("active duty cycle", "duty_cycle", 100, "%"),
    ]
    names = ["hupr_iwr1843", "rtpose_mmwcas", "iwr6843_oob"]
    radars = [load_radar_config(find_config(n, "radars")) for n in names]
    print(f"{'':24}" + "".join(f"{n:>16}" for n in names))
    for label, key, scale, unit in rows:
        vals = "".join(f"{r.derived()[key] * scale:>16.4g}" for r in radars)
        print(f"{label + (' (' + unit + ')' if unit else ''):24}{vals}")
    return 0
