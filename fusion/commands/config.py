"""``radarpose config show FILE``: print a config with its derived quantities."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = sub.add_parser(
        "show", help="print a radar profile (.yaml/.cfg) or rig with derived quantities"
    )
    show.add_argument(
        "file", help="path, or a built-in name such as hupr_iwr1843, rtpose_mmwcas, hupr, rtpose"
    )
    show.add_argument(
        "--device",
        default="iwr1843",
        help="device of a TI .cfg file (iwr1443, iwr1642, iwr1843, iwr6843)",
    )
    show.add_argument("--json", action="store_true", help="machine-readable output")


def _radar_summary(r: object) -> dict[str, object]:
    from drivers.config import to_dict

    return {"config": to_dict(r), "derived": r.derived()}  # type: ignore[attr-defined]


def run(args: argparse.Namespace) -> int:
    from drivers import (
        ConfigError,
        find_config,
        load_radar_config,
        load_rig,
        load_yaml,
        read_ti_cfg,
    )

    path = Path(args.file)
    if path.suffix == ".cfg":
        out = _radar_summary(read_ti_cfg(path, device=args.device).radar)
    else:
        if not path.is_file():
            for kind in ("radars", "rigs"):
                try:
                    path = find_config(args.file, kind)
                    break
                except ConfigError:
                    continue
            else:
                raise ConfigError(f"{args.file}: no such file or built-in radar/rig config")
        doc = load_yaml(path)
        if isinstance(doc, dict) and "sensors" in doc:
            rig = load_rig(path)
            out = {"rig": doc, "radars": {n: _radar_summary(r) for n, r in rig.radars.items()}}
        else:
            out = _radar_summary(load_radar_config(path))
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    else:
        print(yaml.safe_dump(out, sort_keys=False, default_flow_style=None), end="")
    return 0
