"""Rebuild DCA1000 frames from data packets by their byte count, whatever order they come in.

Frames do not line up with packets: a packet may end one frame and begin the next. Each
packet's payload is copied to ``byte_count`` in the stream; frame ``k`` is bytes
``[k*F, (k+1)*F)``. A frame is emitted when all its bytes arrived, or — zero-filled where
packets were lost and flagged INCOMPLETE — once packets ``window`` frames later have arrived
(late packets are then counted, not used). Duplicates (same sequence number) are counted and
ignored. Frames come out in order as ``radar_adc`` Frames with int16 words.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import DriversError
from ..source import Frame, FrameFlag, SourceStats
from .protocol import DATA_HEADER_BYTES, decode_data_header


@dataclass
class DcaCounters:
    packets: int = 0
    duplicates: int = 0
    reordered: int = 0
    late: int = 0
    lost_packets: int = 0
    zero_filled_bytes: int = 0
    bad_packets: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class _Pending:
    __slots__ = ("buf", "filled", "stamp")

    def __init__(self, n: int, stamp: int) -> None:
        self.buf = bytearray(n)
        self.filled = 0
        self.stamp = stamp


class FrameAssembler:
    """Packets in (``add``), complete or flagged frames out, in frame order."""

    def __init__(
        self,
        frame_bytes: int,
        sensor: str = "radar",
        window: int = 2,
        stats: SourceStats | None = None,
    ) -> None:
        if frame_bytes <= 0 or frame_bytes % 2:
            raise DriversError(
                f"DCA1000 frame size must be a positive even byte count, got {frame_bytes}"
            )
        self.frame_bytes, self.sensor, self.window = frame_bytes, sensor, window
        self.stats = stats if stats is not None else SourceStats()
        self.counters = DcaCounters()
        self._pending: dict[int, _Pending] = {}
        self._next: int | None = None  # next frame index to emit
        self._seen: set[int] = set()
        self._max_seq = 0
        self._min_seq: int | None = None
        self._newest = -1

    def add(self, pkt: bytes | memoryview, stamp_ns: int | None = None) -> Iterator[Frame]:
        if len(pkt) < DATA_HEADER_BYTES:
            self.counters.bad_packets += 1
            self.stats.warn("runt data packets ignored")
            return
        stamp = time.time_ns() if stamp_ns is None else stamp_ns
        seq, offset = decode_data_header(pkt)
        c = self.counters
        if seq in self._seen:
            c.duplicates += 1
            self.stats.warn("duplicate packets ignored")
            return
        c.packets += 1
        self.stats.bytes += len(pkt)
        self._seen.add(seq)
        if seq < self._max_seq:
            c.reordered += 1
        self._max_seq = max(self._max_seq, seq)
        self._min_seq = seq if self._min_seq is None else min(self._min_seq, seq)
        if len(self._seen) > 1 << 17:  # forget sequence numbers far behind
            floor = self._max_seq - (1 << 16)
            self._seen = {s for s in self._seen if s > floor}
        payload = memoryview(pkt)[DATA_HEADER_BYTES:]
        F = self.frame_bytes
        first = offset // F
        if self._next is None:
            self._next = first
        pos, end = offset, offset + len(payload)
        while pos < end:
            k = pos // F
            stop = min(end, (k + 1) * F)
            if k < self._next:
                c.late += 1
                self.stats.warn("packets arrived after their frame was emitted (zero-filled)")
            else:
                p = self._pending.get(k)
                if p is None:
                    p = self._pending[k] = _Pending(F, stamp)
                p.buf[pos - k * F : stop - k * F] = payload[pos - offset : stop - offset]
                p.filled += stop - pos
                p.stamp = max(p.stamp, stamp)
                self._newest = max(self._newest, k)
            pos = stop
        yield from self._emit(final=False)

    def finish(self) -> Iterator[Frame]:
        """End of stream: emit every pending frame, zero-filled where needed."""
        yield from self._emit(final=True)

    def lost_packets(self) -> int:
        """Sequence numbers never seen between the first and the newest packet."""
        if self._min_seq is None:
            return 0
        return self._max_seq - self._min_seq + 1 - self.counters.packets

    def _emit(self, final: bool) -> Iterator[Frame]:
        while self._next is not None and (self._pending or not final):
            k = self._next
            p = self._pending.get(k)
            done = p is not None and p.filled >= self.frame_bytes
            if not done and not final and self._newest - k < self.window:
                return
            if p is None:
                if final:
                    return
                p = _Pending(self.frame_bytes, time.time_ns())
            self._pending.pop(k, None)
            self._next = k + 1
            flags = FrameFlag.NONE
            if p.filled < self.frame_bytes:
                flags |= FrameFlag.INCOMPLETE
                self.counters.zero_filled_bytes += self.frame_bytes - p.filled
                self.stats.flagged += 1
                self.stats.warn("lost packets: frames zero-filled and flagged INCOMPLETE")
            self.counters.lost_packets = self.lost_packets()
            self.stats.frames += 1
            words = np.frombuffer(bytes(p.buf), "<i2")
            yield Frame(self.sensor, "radar_adc", p.stamp, k, {"adc": words}, int(flags))
