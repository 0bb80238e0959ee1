"""A DCA1000EVM on loopback UDP: answers the config protocol and streams ADC words on record start.

Binds 127.0.0.1 only. The stream is the concatenation of the given frames' int16 words, cut into
packets of ``payload_bytes`` (frames do not line up with packets), with faults applied by packet
index. Sending ends by itself after the last packet, a vanish, or ``timeout`` seconds.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

import numpy as np

from ..dca1000.protocol import (
    DEFAULT_PAYLOAD,
    Command,
    decode_command,
    encode_data_packet,
    encode_reply,
)
from ..errors import DriversError

LOOPBACK = "127.0.0.1"


@dataclass
class DcaFaults:
    """Packet indices to drop, duplicate or swap with their successor; stall or vanish."""

    drop: set[int] = field(default_factory=set)
    duplicate: set[int] = field(default_factory=set)
    swap: set[int] = field(default_factory=set)
    garbage: set[int] = field(default_factory=set)  # a 5-byte runt before packet i
    stall_before: dict[int, float] = field(default_factory=dict)
    vanish_after: int | None = None
    fail: dict[int, int] = field(default_factory=dict)  # command code -> error status


def packetize(stream: bytes, payload_bytes: int = DEFAULT_PAYLOAD) -> list[bytes]:
    """The wire packets of a byte stream: sequence from 1, byte count before each packet."""
    return [
        encode_data_packet(i + 1, off, stream[off : off + payload_bytes])
        for i, off in enumerate(range(0, len(stream), payload_bytes))
    ]


def apply_faults(packets: list[bytes], f: DcaFaults) -> list[bytes | float | None]:
    """The send order: bytes to send, a float to sleep, ``None`` to vanish."""
    out: list[bytes | float | None] = []
    i = 0
    while i < len(packets):
        order = [i, i + 1] if i in f.swap and i + 1 < len(packets) else [i]
        if len(order) == 2:
            order.reverse()
        for j in order:
            if j in f.stall_before:
                out.append(f.stall_before[j])
            if j in f.garbage:
                out.append(b"\x00" * 5)
            if j not in f.drop:
                out.append(packets[j])
                if j in f.duplicate:
                    out.append(packets[j])
            if f.vanish_after is not None and j >= f.vanish_after:
                out.append(None)
                return out
        i += len(order)
    return out


class DcaEmulator:
    """Context manager; ``config_addr`` is where DcaControl sends commands."""

    def __init__(
        self,
        frames: Sequence[np.ndarray],
        data_addr: tuple[str, int],
        faults: DcaFaults | None = None,
        *,
        payload_bytes: int = DEFAULT_PAYLOAD,
        autostart: bool = False,
        pace_every: int = 64,
        pace_s: float = 0.001,
        timeout: float = 30.0,
        version: tuple[int, int] = (2, 9),
        rate_bps: float = 0.0,
    ) -> None:
        if data_addr[0] != LOOPBACK:
            raise DriversError("the DCA1000 emulator sends to 127.0.0.1 only")
        stream = b"".join(np.ascontiguousarray(w, "<i2").tobytes() for w in frames)
        self.packets = packetize(stream, payload_bytes)
        self.faults = faults or DcaFaults()
        self.data_addr = data_addr
        self.pace_every, self.pace_s, self.timeout = pace_every, pace_s, timeout
        self.version = version
        self.rate_bps = rate_bps  # bytes per second of payload (0 = as fast as pacing allows)
        self.commands: list[int] = []
        self._cfg = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._cfg.bind((LOOPBACK, 0))
        self._cfg.settimeout(0.05)
        self.config_addr = self._cfg.getsockname()
        self._data = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._stop = threading.Event()
        self._record = threading.Event()
        if autostart:
            self._record.set()
        self.done = threading.Event()
        self._threads = [
            threading.Thread(target=self._cfg_loop, daemon=True),
            threading.Thread(target=self._data_loop, daemon=True),
        ]

    def __enter__(self) -> DcaEmulator:
        for t in self._threads:
            t.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
        self._cfg.close()
        self._data.close()

    def _cfg_loop(self) -> None:
        end = time.monotonic() + self.timeout
        while not self._stop.is_set() and time.monotonic() < end:
            try:
                msg, addr = self._cfg.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            if addr[0] != LOOPBACK:
                continue
            try:
                cmd, _ = decode_command(msg)
            except DriversError:
                continue  # the FPGA ignores malformed commands
            self.commands.append(cmd)
            status = self.faults.fail.get(cmd, 0)
            if cmd == Command.READ_FPGA_VERSION and not status:
                status = self.version[0] | (self.version[1] << 7)
            if cmd == Command.RECORD_START and not status:
                self._record.set()
            if cmd == Command.RECORD_STOP:
                self._record.clear()
            self._cfg.sendto(encode_reply(cmd, status), addr)

    def _data_loop(self) -> None:
        try:
            end = time.monotonic() + self.timeout
            while not self._record.wait(0.05):
                if self._stop.is_set() or time.monotonic() > end:
                    return
            t0, sent = time.monotonic(), 0
            for n, item in enumerate(apply_faults(self.packets, self.faults)):
                if self._stop.is_set() or not self._record.is_set():
                    return
                if item is None:
                    return
                if isinstance(item, float):
                    time.sleep(item)
                    continue
                self._data.sendto(item, self.data_addr)
                sent += len(item) - 10
                if self.rate_bps:
                    ahead = sent / self.rate_bps - (time.monotonic() - t0)
                    if ahead > 0.002:
                        time.sleep(ahead)
                    continue
                if self.pace_every and n % self.pace_every == self.pace_every - 1:
                    time.sleep(self.pace_s)
        finally:
            self.done.set()
