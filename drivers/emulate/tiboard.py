"""A TI mmWave demo board behind two pseudo-terminals, for tests and demos without hardware.

pyserial opens ``cli_path`` and ``data_path`` exactly like ``/dev/ttyACM0``/``1``. The CLI answers
like the firmware: echo, ``Done`` or an error text, then the ``mmwDemo:/>`` prompt. After
``sensorStart`` (or at once with ``autostart``) the data port streams the given packets, with the
faults of a :class:`UartFaults` plan applied. Every loop is bounded and stops by itself.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

import numpy as np

from ..tiuart.packet import (
    build_packet,
    encode_complex,
    encode_db,
    encode_points,
)

PROMPT = b"mmwDemo:/>"
KNOWN_COMMANDS = frozenset(
    "sensorStop flushCfg dfeDataOutputMode channelCfg adcCfg adcbufCfg profileCfg chirpCfg "
    "frameCfg lowPower guiMonitor cfarCfg multiObjBeamForming calibDcRangeSig clutterRemoval "
    "aoaFovCfg cfarFovCfg compRangeBiasAndRxChanPhase measureRangeBiasAndRxChanPhase "
    "extendedMaxVelocity CQRxSatMonitor CQSigImgMonitor analogMonitor lvdsStreamCfg bpmCfg "
    "calibData sensorStart sensorStop advFrameCfg subFrameCfg".split()
)


@dataclass
class UartFaults:
    """Which packets (by index into the stream) to damage, and how."""

    garbage: dict[int, bytes] = field(default_factory=dict)  # bytes sent before packet i
    truncate: dict[int, int] = field(default_factory=dict)  # send only the first n bytes
    corrupt: set[int] = field(default_factory=set)  # first TLV length made huge
    drop: set[int] = field(default_factory=set)  # never sent (a frame-number gap)
    stall_before: dict[int, float] = field(default_factory=dict)  # pause seconds before i
    vanish_after: int | None = None  # close the ports after sending packet i
    reject: dict[str, str] = field(default_factory=dict)  # CLI command -> error text


def packets_from_arrays(
    points: Sequence[np.ndarray],
    *,
    range_profiles_db: Sequence[np.ndarray] | None = None,
    noise_profiles_db: Sequence[np.ndarray] | None = None,
    azimuth_heatmaps: Sequence[np.ndarray] | None = None,
    range_doppler_db: Sequence[np.ndarray] | None = None,
    side_info_db: Sequence[np.ndarray] | None = None,
    extra_tlvs: Sequence[list[tuple[int, bytes]]] | None = None,
    first_frame: int = 1,
) -> list[bytes]:
    """SDK 3.x packets: per frame points float (M, 4) plus the optional arrays per frame
    (profiles (R,) dB, heatmaps complex (R*V,), range-Doppler (R*D,) dB, side info (M, 2) dB)."""
    out = []
    for i, pts in enumerate(points):
        tlvs = [(1, encode_points(pts))]
        if side_info_db is not None:
            tlvs.append((7, np.rint(np.asarray(side_info_db[i]) * 10).astype("<i2").tobytes()))
        for t, seq in ((2, range_profiles_db), (3, noise_profiles_db), (5, range_doppler_db)):
            if seq is not None:
                tlvs.append((t, encode_db(seq[i])))
        if azimuth_heatmaps is not None:
            tlvs.append((4, encode_complex(azimuth_heatmaps[i])))
        if extra_tlvs is not None:
            tlvs += extra_tlvs[i]
        out.append(build_packet(first_frame + i, tlvs, n_objects=len(pts)))
    return out


def _raw_pty() -> tuple[int, str, int]:
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    return master, path, slave


class TiBoardEmulator:
    """Context manager: ``cli_path``/``data_path`` are live while inside."""

    def __init__(
        self,
        packets: Sequence[bytes],
        faults: UartFaults | None = None,
        *,
        autostart: bool = False,
        chunk: int = 4096,
        rate_hz: float = 0.0,
        timeout: float = 30.0,
    ) -> None:
        self.packets = list(packets)
        self.faults = faults or UartFaults()
        self.chunk, self.rate_hz, self.timeout = chunk, rate_hz, timeout
        self.received: list[str] = []
        self._started = threading.Event()
        if autostart:
            self._started.set()
        self._stop = threading.Event()
        self.done = threading.Event()
        self._cli_m, self.cli_path, self._cli_s = _raw_pty()
        self._dat_m, self.data_path, self._dat_s = _raw_pty()
        self._threads = [
            threading.Thread(target=self._cli_loop, daemon=True),
            threading.Thread(target=self._data_loop, daemon=True),
        ]

    def __enter__(self) -> TiBoardEmulator:
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
            if t.is_alive() and t is not threading.current_thread():
                t.join(timeout=2)
        self._close_fds()

    def _close_fds(self) -> None:
        for attr in ("_cli_m", "_dat_m", "_cli_s", "_dat_s"):
            fd = getattr(self, attr)
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, attr, -1)

    def _answer(self, line: str) -> bytes:
        words = line.split()
        out = line.encode() + b"\r\n"
        if not words:
            return out + PROMPT + b" "
        cmd = words[0]
        if cmd in self.faults.reject:
            out += self.faults.reject[cmd].encode() + b"\r\n"
        elif cmd not in KNOWN_COMMANDS:
            out += f"'{cmd}' is not recognized as a CLI command\r\n".encode()
        else:
            out += b"Done\r\n"
            if cmd == "sensorStart":
                self._started.set()
        return out + PROMPT + b" "

    def _cli_loop(self) -> None:
        buf = b""
        end = time.monotonic() + self.timeout
        while not self._stop.is_set() and time.monotonic() < end:
            r, _, _ = select.select([self._cli_m], [], [], 0.05)
            if not r:
                continue
            try:
                data = os.read(self._cli_m, 1024)
            except OSError:
                return
            buf += data
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode("ascii", "replace").strip()
                self.received.append(line)
                try:
                    os.write(self._cli_m, self._answer(line))
                except OSError:
                    return

    def _send(self, data: bytes) -> bool:
        view = memoryview(data)
        while view:
            if self._stop.is_set():
                return False
            _, w, _ = select.select([], [self._dat_m], [], 0.05)
            if not w:
                continue
            try:
                n = os.write(self._dat_m, view[: self.chunk])
            except OSError:
                return False
            view = view[n:]
        return True

    def _data_loop(self) -> None:
        f = self.faults
        try:
            end = time.monotonic() + self.timeout
            while not self._started.wait(0.05):
                if self._stop.is_set() or time.monotonic() > end:
                    return
            for i, pkt in enumerate(self.packets):
                if self._stop.is_set():
                    return
                if i in f.stall_before:
                    time.sleep(f.stall_before[i])
                if i in f.garbage and not self._send(f.garbage[i]):
                    return
                if i not in f.drop:
                    if i in f.corrupt:
                        pkt = pkt[:44] + b"\xff\xff\xff\x7f" + pkt[48:]
                    if i in f.truncate:
                        pkt = pkt[: f.truncate[i]]
                    if not self._send(pkt):
                        return
                if self.rate_hz:
                    time.sleep(1.0 / self.rate_hz)
                if f.vanish_after is not None and i >= f.vanish_after:
                    time.sleep(0.2)  # let the reader drain what was sent
                    self._close_fds()
                    return
        finally:
            self.done.set()


def synthetic_points(i: int, n: int = 16) -> np.ndarray:
    """Deterministic stand-in point cloud for frame ``i`` (float32 (n, 4) x, y, z [m], v [m/s]):
    a person-sized blob walking across 3 m in front of the radar."""
    rng = np.random.default_rng(i)
    c = np.array([3.0, -1.0 + 0.02 * (i % 100), 0.0])
    pts = np.empty((n, 4), np.float32)
    pts[:, :3] = c + rng.normal(size=(n, 3)) * [0.15, 0.15, 0.5]
    pts[:, 3] = rng.normal(0.5, 0.1, n)
    return pts
