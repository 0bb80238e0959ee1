"""Configure a TI mmWave demo over its CLI port (115200 baud) the way the firmware expects.

Lines go one at a time; after each the firmware echoes it, prints ``Done`` (or an error text)
and the ``mmwDemo:/>`` prompt. Sending the next line before the prompt is what makes boards
silently ignore configs, so we wait, with a timeout, and stop at the first failure with the
firmware's own words.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from ..errors import DriversError
from ..ticfg import TiCfg, write_ti_cfg

PROMPT = b"mmwDemo:/>"
CLI_BAUD = 115200
DATA_BAUD = 921600


class _Port(Protocol):
    def write(self, data: bytes) -> int | None: ...
    def read(self, size: int = 1) -> bytes: ...
    @property
    def in_waiting(self) -> int: ...


def cfg_lines(cfg: str | Path | TiCfg | Iterable[str]) -> list[str]:
    """Command lines of a .cfg (file, text, parsed TiCfg or lines), comments and blanks removed,
    with ``sensorStop`` and ``flushCfg`` first and ``sensorStart`` last."""
    if isinstance(cfg, TiCfg):
        raw = write_ti_cfg(cfg).splitlines()
    elif isinstance(cfg, Path) or (
        isinstance(cfg, str) and "\n" not in cfg and Path(cfg).is_file()
    ):
        raw = Path(cfg).read_text().splitlines()
    elif isinstance(cfg, str):
        raw = cfg.splitlines()
    else:
        raw = list(cfg)
    lines = [ln.strip() for ln in raw]
    lines = [ln for ln in lines if ln and not ln.startswith("%")]
    body = [ln for ln in lines if ln.split()[0] not in ("sensorStop", "flushCfg", "sensorStart")]
    return ["sensorStop", "flushCfg", *body, "sensorStart"]


def send_line(port: _Port, line: str, timeout: float = 2.0) -> str:
    """Send one line and return the firmware's reply; raise DriversError on error or timeout."""
    port.write(line.encode("ascii") + b"\n")
    reply = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = port.read(max(1, port.in_waiting))
        if chunk:
            reply += chunk
            if reply.rstrip().endswith(PROMPT):
                break
    text = reply.decode("ascii", "replace")
    body = [
        ln.strip()
        for ln in text.replace(PROMPT.decode(), "\n").splitlines()
        if ln.strip() and ln.strip() != line
    ]
    if not reply.rstrip().endswith(PROMPT):
        raise DriversError(
            f"CLI: no '{PROMPT.decode()}' prompt within {timeout:g} s after {line!r}"
            + (f" (got {' | '.join(body)!r})" if body else " (is the board on the CLI port?)")
        )
    if "Done" not in body:
        why = " | ".join(body) or "no 'Done'"
        raise DriversError(f"CLI: firmware rejected {line!r}: {why}")
    return text


def configure(port: _Port, cfg: str | Path | TiCfg | Iterable[str], timeout: float = 2.0) -> int:
    """Send a whole config; returns the number of lines the firmware accepted."""
    lines = cfg_lines(cfg)
    for ln in lines:
        send_line(port, ln, timeout)
    return len(lines)


def open_cli(path: str, timeout: float = 0.05):  # noqa: ANN201 - serial.Serial
    import serial

    try:
        return serial.Serial(path, CLI_BAUD, timeout=timeout)
    except serial.SerialException as exc:
        raise DriversError(f"{path}: cannot open CLI port ({exc})") from None
