"""``radarpose inspect``: what a file holds, for every format the project reads.

Each reader module registers a detector with :func:`register`. A detector returns ``None`` when
the file is not its format, else a :class:`Report`. Detectors are tried in registration order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import DriversError


@dataclass
class StreamReport:
    name: str
    kind: str
    frames: int
    dropped: int = 0
    start_ns: int | None = None
    end_ns: int | None = None
    details: dict[str, object] = field(default_factory=dict)


@dataclass
class Report:
    format: str
    path: str
    streams: list[StreamReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def to_text(self) -> str:
        lines = [f"{self.path}: {self.format}"]
        for k, v in self.details.items():
            lines.append(f"  {k}: {v}")
        for s in self.streams:
            span = ""
            if s.start_ns is not None and s.end_ns is not None:
                span = f", {(s.end_ns - s.start_ns) / 1e9:.2f} s"
            lines.append(f"  {s.name} [{s.kind}]: {s.frames} frames, {s.dropped} dropped{span}")
            for k, v in s.details.items():
                lines.append(f"    {k}: {v}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


Detector = Callable[[Path], Report | None]
_DETECTORS: list[tuple[str, Detector]] = []


def register(name: str, detector: Detector) -> None:
    if name not in [n for n, _ in _DETECTORS]:
        _DETECTORS.append((name, detector))


def inspect_file(path: str | Path) -> Report:
    p = Path(path)
    if not p.exists():
        raise DriversError(f"{p}: file not found")
    _load_builtin()
    for _, det in _DETECTORS:
        rep = det(p)
        if rep is not None:
            return rep
    raise DriversError(
        f"{p}: not a format radarpose reads (tried: {', '.join(n for n, _ in _DETECTORS)})"
    )


def _recording(p: Path) -> Report | None:
    if p.is_dir() or p.suffix.lower() not in (".h5", ".hdf5"):
        return None
    from .recording import RecordingReader

    with RecordingReader(p) as r:
        rep = Report("radarpose-recording", str(p), details={"format_version": r.format_version})
        for name, s in r.streams.items():
            st = r.stamps(name)
            rep.streams.append(
                StreamReport(
                    name,
                    s.kind,
                    s.frames,
                    dropped=0,
                    start_ns=int(st[0]) if len(st) else None,
                    end_ns=int(st[-1]) if len(st) else None,
                    details={"flagged": s.flagged} if s.flagged else {},
                )
            )
            if s.flagged:
                rep.warnings.append(f"{name}: {s.flagged} frames flagged as damaged")
        return rep


def _radar_config(p: Path) -> Report | None:
    if p.suffix.lower() not in (".cfg",):
        return None
    from .ticfg import read_ti_cfg

    cfg = read_ti_cfg(p)
    return Report(
        "ti-mmwave-cfg", str(p), details={k: round(v, 6) for k, v in cfg.radar.derived().items()}
    )


def _ti_uart_dump(p: Path) -> Report | None:
    if p.is_dir() or p.suffix.lower() not in (".dat", ".bin"):
        return None
    from .tiuart.packet import MAGIC

    with p.open("rb") as f:
        if MAGIC not in f.read(1 << 16):
            return None
    from .tiuart.source import UartFileSource

    with UartFileSource(p) as src:
        first = last = None
        for fr in src.frames():
            first = fr.counter if first is None else first
            last = fr.counter
        c = src.parser.counters
    details: dict[str, object] = {k: v for k, v in c.as_dict().items() if v}
    if first is not None:
        details["frame_numbers"] = f"{first}..{last}"
    rep = Report("ti-mmwave-uart-dump", str(p), details={"bytes": src.stats.bytes})
    rep.streams.append(
        StreamReport("radar", "radar_tlv", src.stats.frames, src.stats.dropped, details=details)
    )
    rep.warnings += src.stats.warnings
    return rep


def _dca_raw(p: Path) -> Report | None:
    import re

    if p.is_dir() or not re.search(r"_Raw_\d+\.bin$", p.name):
        return None
    from .dca1000.protocol import decode_data_header
    from .dca1000.rawfile import DcaRawFile

    # the frame size is not in the file: report packets, losses and the byte total
    src = DcaRawFile(p, frame_bytes=2)
    seqs = [decode_data_header(r)[0] for r in src._records()]
    uniq = set(seqs)
    lost = (max(uniq) - min(uniq) + 1 - len(uniq)) if uniq else 0
    rep = Report(
        "dca1000-raw",
        str(p),
        details={
            "files": len(src.paths),
            "packets": len(seqs),
            "payload_bytes": src.payload_bytes,
            "lost_packets": lost,
            "duplicate_packets": len(seqs) - len(uniq),
        },
    )
    if lost:
        rep.warnings.append(f"{lost} packets lost: the frames they touch will be zero-filled")
    return rep


def _load_builtin() -> None:
    register("hdf5-recording", _recording)
    register("ti-cfg", _radar_config)
    register("dca1000-raw", _dca_raw)
    register("ti-uart-dump", _ti_uart_dump)
