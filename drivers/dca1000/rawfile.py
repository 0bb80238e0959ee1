"""mmWave Studio's ``adc_data_Raw_N.bin``: the DCA1000 packets as received, headers kept.

Each record is ``u32 sequence | 6-byte byte count | payload``; every payload has the configured
packet size except possibly the last. Files split at 1 GB (``_Raw_0``, ``_Raw_1``, ...) mid-packet,
so the splits are read as one stream. Frames are rebuilt by the same :class:`FrameAssembler` as
live capture (lost packets zero-filled and flagged). The ``Packet_Reorder_Zerofill`` output is a
plain ``adc_data.bin`` frame file: read it with ``drivers.adcfile.read_adc_bin``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from ..errors import DriversError
from ..source import Frame, SourceStats
from .protocol import DATA_HEADER_BYTES, DEFAULT_PAYLOAD, decode_data_header
from .reassemble import FrameAssembler

_SPLIT = re.compile(r"^(?P<stem>.*_Raw_)(?P<n>\d+)\.bin$")


def raw_splits(path: str | Path) -> list[Path]:
    """``x_Raw_0.bin`` -> [x_Raw_0.bin, x_Raw_1.bin, ...] (consecutive files that exist)."""
    p = Path(path)
    m = _SPLIT.match(p.name)
    if not m:
        return [p]
    out, n = [], int(m["n"])
    while (q := p.with_name(f"{m['stem']}{n}.bin")).is_file():
        out.append(q)
        n += 1
    return out


def infer_payload(head: bytes) -> int:
    """Packet payload size from the first two records' byte counts (default if not inferable)."""
    if len(head) < DATA_HEADER_BYTES:
        raise DriversError("DCA1000 raw file shorter than one packet header")
    s0, b0 = decode_data_header(head)
    for size in range(8, min(len(head) - DATA_HEADER_BYTES, 9000), 2):
        at = DATA_HEADER_BYTES + size
        if at + DATA_HEADER_BYTES > len(head):
            break
        s1, b1 = decode_data_header(head[at:])
        if s1 == s0 + 1 and b1 == b0 + size:
            return size
    return DEFAULT_PAYLOAD


class DcaRawFile:
    """Replayable source of ``radar_adc`` frames from ``adc_data_Raw_N.bin`` splits."""

    def __init__(
        self,
        path: str | Path,
        frame_bytes: int,
        *,
        name: str = "radar",
        payload_bytes: int | None = None,
        start_ns: int = 0,
        period_ns: int = 0,
    ) -> None:
        self.paths = raw_splits(path)
        if not self.paths or not self.paths[0].is_file():
            raise DriversError(f"{path}: file not found")
        self.name = name
        self.stats = SourceStats()
        self.assembler = FrameAssembler(frame_bytes, name, window=1 << 30, stats=self.stats)
        with self.paths[0].open("rb") as f:
            head = f.read(20000)
        self.payload_bytes = payload_bytes or infer_payload(head)
        self._start, self._period = start_ns, period_ns

    def _records(self) -> Iterator[bytes]:
        rec = DATA_HEADER_BYTES + self.payload_bytes
        rest = b""
        for p in self.paths:
            with p.open("rb") as f:
                while chunk := f.read(rec * 4096):
                    data = rest + chunk
                    whole = len(data) - len(data) % rec
                    for i in range(0, whole, rec):
                        yield data[i : i + rec]
                    rest = data[whole:]
        if rest:
            if len(rest) > DATA_HEADER_BYTES:
                yield rest  # the last, shorter packet
            else:
                self.stats.warn("file ends inside a packet header")

    def frames(self) -> Iterator[Frame]:
        def restamp(fr: Frame) -> Frame:
            return Frame(
                fr.sensor,
                fr.kind,
                self._start + fr.counter * self._period,
                fr.counter,
                fr.data,
                fr.flags,
            )

        for rec in self._records():
            for fr in self.assembler.add(rec, 0):
                yield restamp(fr)
        for fr in self.assembler.finish():
            yield restamp(fr)

    def close(self) -> None:
        pass

    def __enter__(self) -> DcaRawFile:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
