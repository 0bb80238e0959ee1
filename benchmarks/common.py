"""Timing helpers and the RESULTS.md writer shared by the benchmark modules."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


@dataclass
class Result:
    """One measurement and the reference it is compared with, both measured in the same run."""

    name: str
    value: float
    unit: str
    reference_name: str
    reference_value: float
    target: str = ""

    @property
    def ratio(self) -> float:
        return self.value / self.reference_value if self.reference_value else float("nan")


def rate(fn: Callable[[], object], *, min_time: float = 1.0, min_calls: int = 3) -> float:
    """Calls per second of ``fn`` after one warm-up call (JIT compilation, caches)."""
    fn()
    n, t0 = 0, time.perf_counter()
    while n < min_calls or time.perf_counter() - t0 < min_time:
        fn()
        n += 1
    return n / (time.perf_counter() - t0)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_results(section: str, results: list[Result]) -> None:
    """Replace ``section`` in RESULTS.md with a table of ``results``, stamped with machine and date."""
    text = (
        RESULTS.read_text()
        if RESULTS.exists()
        else "# Benchmark results\n\nRun with `make bench` (or `python -m benchmarks NAME`).\n"
    )
    head = f"## {section}"
    body = [
        head,
        "",
        f"Machine: {machine()}. Date: {_dt.date.today().isoformat()}.",
        "",
        "| measurement | value | reference (same run) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        body.append(
            f"| {r.name} | {r.value:.4g} {r.unit} | {r.reference_name}: {r.reference_value:.4g} {r.unit} | {r.ratio:.2f}× | {r.target} |"
        )
    parts = text.split("\n## ")
    kept = [p for p in parts[1:] if not p.startswith(section + "\n")]
    RESULTS.write_text(
        "\n## ".join([parts[0].rstrip() + "\n", *kept]).rstrip() + "\n\n" + "\n".join(body) + "\n"
    )
