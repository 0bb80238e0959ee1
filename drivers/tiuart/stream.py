"""Incremental data-port parser: bytes in, Frames out, every loss counted.

Feed it whatever the serial port (or a recorded ``.dat``/``.bin`` dump) delivers. It finds the
magic word, checks the declared packet length against the next magic word, and parses TLVs
inside the packet only. Garbage between packets is skipped and counted; a packet cut short by
the next magic word (or the end of a file) is dropped and counted as truncated; a packet whose
TLVs do not fit is dropped and counted as corrupt; a jump in the frame number marks the next
frame ``GAP_BEFORE`` and counts the missing frames as dropped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from ..source import Frame, FrameFlag, SourceStats
from .packet import HEADER_BYTES, MAGIC, MAX_PACKET_BYTES, TlvError, parse_header, parse_packet


@dataclass
class UartCounters:
    """Detail behind ``SourceStats.dropped`` for a TI data-port stream."""

    packets: int = 0
    garbage_bytes: int = 0
    truncated: int = 0
    corrupt: int = 0
    gap_frames: int = 0
    padding_bytes: int = 0
    unknown_tlvs: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class UartStreamParser:
    """Turn a byte stream into ``radar_tlv`` Frames (see :mod:`drivers.source` for kinds)."""

    def __init__(self, sensor: str = "radar", stats: SourceStats | None = None) -> None:
        self.sensor = sensor
        self.stats = stats if stats is not None else SourceStats()
        self.counters = UartCounters()
        self._buf = bytearray()
        self._last_frame: int | None = None
        self._stamp = 0

    def feed(self, data: bytes, stamp_ns: int | None = None) -> Iterator[Frame]:
        """Add bytes received at ``stamp_ns`` (default now) and yield every complete frame."""
        self._stamp = time.time_ns() if stamp_ns is None else stamp_ns
        self._buf += data
        self.stats.bytes += len(data)
        yield from self._drain(final=False)

    def finish(self) -> Iterator[Frame]:
        """End of stream: whatever is left is a truncated packet or garbage."""
        yield from self._drain(final=True)

    def _garbage(self, n: int) -> None:
        if n:
            self.counters.garbage_bytes += n
            self.stats.warn("bytes between packets skipped (garbage or lost sync)")
            del self._buf[:n]

    def _drop(self, kind: str, until: int, frame_number: int | None, final: bool = False) -> None:
        """Drop a damaged packet. With a readable frame number it counts as one lost frame now;
        without, the frame-number gap at the next good packet counts it (or now, at the end)."""
        setattr(self.counters, kind, getattr(self.counters, kind) + 1)
        self.stats.warn(f"{kind} packets dropped")
        if frame_number is not None and self._plausible(frame_number):
            self._last_frame = frame_number
            self.stats.dropped += 1
        elif final:
            self.stats.dropped += 1
        del self._buf[:until]

    def _plausible(self, fn: int) -> bool:
        return self._last_frame is None or 0 < fn - self._last_frame < 1 << 16

    def _drain(self, final: bool) -> Iterator[Frame]:
        buf = self._buf
        while True:
            i = buf.find(MAGIC)
            if i < 0:
                keep = 0 if final else min(len(buf), len(MAGIC) - 1)
                self._garbage(len(buf) - keep)
                return
            self._garbage(i)
            if len(buf) < HEADER_BYTES:
                if final and buf:
                    self._drop("truncated", len(buf), None, final=True)
                return
            h = parse_header(buf)
            nxt = buf.find(MAGIC, 8)
            # a magic word inside the declared packet is a truncation only if a header follows
            while 0 <= nxt < h.total_bytes:
                if len(buf) < nxt + HEADER_BYTES and not final:
                    return  # a magic word inside the packet: wait for what follows it
                if self._header_ok(nxt, h.version):
                    break
                nxt = buf.find(MAGIC, nxt + 8)
            bad_len = not (h.header_bytes <= h.total_bytes <= MAX_PACKET_BYTES)
            if bad_len or (0 <= nxt < h.total_bytes):
                if nxt < 0:
                    if not final:
                        return  # wait for the next magic word to bound this packet
                    nxt = len(buf)
                kind = "corrupt" if bad_len else "truncated"
                self._drop(
                    kind, nxt, None if bad_len else h.frame_number, final and nxt == len(buf)
                )
                continue
            if len(buf) < h.total_bytes:
                if final:
                    self._drop("truncated", len(buf), h.frame_number)
                return
            try:
                pkt = parse_packet(bytes(buf[: h.total_bytes]))
            except TlvError as exc:
                self.stats.warn(f"corrupt packet: {exc}")
                self._drop("corrupt", h.total_bytes, h.frame_number)
                continue
            del buf[: h.total_bytes]
            yield self._frame(pkt)

    def _header_ok(self, at: int, version: int) -> bool:
        if len(self._buf) < at + HEADER_BYTES:
            return True  # end of stream: a cut-off header still marks a new packet
        h = parse_header(self._buf, at)
        return h.version == version and h.header_bytes <= h.total_bytes <= MAX_PACKET_BYTES

    def _frame(self, pkt) -> Frame:  # noqa: ANN001 - Packet
        c = self.counters
        c.packets += 1
        c.padding_bytes += pkt.padding
        c.unknown_tlvs += len(pkt.unknown_tlvs)
        if pkt.unknown_tlvs:
            self.stats.warn(f"unknown TLV types kept raw: {sorted(set(pkt.unknown_tlvs))}")
        fn = pkt.header.frame_number
        flags = FrameFlag.NONE
        if self._last_frame is not None:
            gap = fn - self._last_frame - 1
            if gap > 0:
                flags |= FrameFlag.GAP_BEFORE
                c.gap_frames += gap
                self.stats.dropped += gap
                self.stats.warn("frame-number gaps: frames lost before reaching the host")
            elif gap < 0:
                flags |= FrameFlag.DUPLICATE if gap == -1 else FrameFlag.NONE
        self._last_frame = fn
        data = dict(pkt.data)
        data["packet"] = np.frombuffer(pkt.raw, np.uint8)
        data.setdefault("points", np.zeros((0, 4), np.float32))
        self.stats.frames += 1
        if flags:
            self.stats.flagged += 1
        return Frame(self.sensor, "radar_tlv", self._stamp, fn, data, int(flags))
