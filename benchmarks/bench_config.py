"""TI .cfg parsing speed against PyYAML loading the equivalent YAML profile (same run)."""

from __future__ import annotations

from drivers import find_config, load_radar_config, read_ti_cfg

from .common import Result, rate

SECTION = "config parsing"


def run() -> list[Result]:
    cfg = find_config("iwr6843_oob.cfg", "radars")
    yml = find_config("iwr6843_oob", "radars")
    ours = rate(lambda: read_ti_cfg(cfg, device="iwr6843"), min_time=0.5)
    ref = rate(lambda: load_radar_config(yml), min_time=0.5)
    return [Result("TI .cfg parse", ours, "files/s", "typed YAML profile load", ref)]
