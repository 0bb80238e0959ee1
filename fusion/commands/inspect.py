"""``radarpose inspect FILE [--json]``: say what a supported file holds."""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a recording, capture, bag, config or benchmark tree")
    p.add_argument("--json", action="store_true", help="machine-readable report")


def run(args: argparse.Namespace) -> int:
    from drivers.inspect import inspect_file

    report = inspect_file(args.file)
    print(json.dumps(report.to_json(), indent=2) if args.json else report.to_text())
    return 0
