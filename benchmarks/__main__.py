"""Run benchmarks: ``python -m benchmarks [NAME ...]`` (NAME = bench module without ``bench_``)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from .common import write_results


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    names = sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )
    chosen = argv or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r} (have: {', '.join(names)})", file=sys.stderr)
        return 2
    for name in chosen:
        mod = importlib.import_module(f"benchmarks.bench_{name}")
        out = mod.run()  # a list of results, or {section: results} for several sections
        sections = out if isinstance(out, dict) else {getattr(mod, "SECTION", name): out}
        for section, results in sections.items():
            write_results(section, results)
            for r in results:
                print(
                    f"{r.name}: {r.value:.4g} {r.unit} ({r.ratio:.2f}x {r.reference_name}) {r.target}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
