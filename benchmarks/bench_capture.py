"""Capture throughput: UART frames parsed per second and DCA1000 UDP ingest on loopback.

UART: our resynchronising parser against a naive one that trusts every length field (same run,
same bytes). UDP: DcaSource (receive thread + frame reassembly) against a bare ``recv`` loop that
only counts bytes, both fed by the same blasting sender process on 127.0.0.1.
"""

from __future__ import annotations

import multiprocessing as mp
import socket
import struct
import time

import numpy as np

from drivers.dca1000 import DcaSource
from drivers.emulate import packets_from_arrays, synthetic_points
from drivers.tiuart import UartStreamParser
from drivers.tiuart.packet import decode_tlv

from .common import Result

SECTION = "capture (UART parsing, DCA1000 UDP ingest)"
PAYLOAD = 1456
FRAME_BYTES = 2 * 64 * 3 * 4 * 256 * 2  # HuPR IWR1843 frame: 786432 B


def _stream(n: int = 2000) -> bytes:
    rng = np.random.default_rng(0)
    prof = [rng.uniform(0, 90, 256) for _ in range(n)]
    return b"".join(
        packets_from_arrays([synthetic_points(i, 64) for i in range(n)], range_profiles_db=prof)
    )


def _naive(stream: bytes) -> int:
    """Trusts the length fields: header, then TLVs, then jump by the declared total."""
    pos, n = 0, 0
    while pos + 40 <= len(stream):
        total, _, _, _, _, ntlv = struct.unpack_from("<6I", stream, pos + 12)
        p = pos + 40
        for _ in range(ntlv):
            t, ln = struct.unpack_from("<2I", stream, p)
            decode_tlv(t, memoryview(stream)[p + 8 : p + 8 + ln], 0, 3)
            p += 8 + ln
        pos += total
        n += 1
    return n


def _ours(stream: bytes) -> int:
    p = UartStreamParser()
    n = 0
    for i in range(0, len(stream), 4096):
        n += sum(1 for _ in p.feed(stream[i : i + 4096], 0))
    return n + sum(1 for _ in p.finish())


def _fps(fn, stream: bytes) -> float:  # noqa: ANN001
    fn(stream)
    t0 = time.perf_counter()
    n = fn(stream)
    return n / (time.perf_counter() - t0)


def _blast(addr: tuple[str, int], n_packets: int, start: mp.Event) -> None:  # type: ignore[valid-type]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = bytes(PAYLOAD)
    pkts = [
        struct.pack("<I", i + 1) + (i * PAYLOAD).to_bytes(6, "little") + payload
        for i in range(n_packets)
    ]
    start.wait(10)
    send = s.sendto
    for p in pkts:
        send(p, addr)
    s.close()


def _raw_ingest(n_packets: int) -> tuple[float, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    ev = mp.Event()
    proc = mp.Process(target=_blast, args=(sock.getsockname(), n_packets, ev))
    proc.start()
    ev.set()
    got, nbytes, t0, t1 = 0, 0, None, 0.0
    while True:
        try:
            b = sock.recv(2048)
        except TimeoutError:
            break
        t1 = time.perf_counter()
        t0 = t0 or t1
        got += 1
        nbytes += len(b) - 10
    proc.join()
    sock.close()
    return nbytes * 8 / max(t1 - (t0 or t1), 1e-9) / 1e6, n_packets - got


def _dca_ingest(n_packets: int) -> tuple[float, int]:
    src = DcaSource(FRAME_BYTES, data_addr=("127.0.0.1", 0), idle_timeout=0.5)
    ev = mp.Event()
    proc = mp.Process(target=_blast, args=(src.receiver.addr, n_packets, ev))
    proc.start()
    ev.set()
    t0 = time.perf_counter()
    frames = 0
    try:
        for _ in src.frames():
            frames += 1
    except Exception:  # noqa: BLE001 - the idle timeout ends the run
        pass
    proc.join()
    src.close()
    dt = time.perf_counter() - t0 - 0.5  # minus the idle timeout that ended it
    c = src.counters
    return c.packets * PAYLOAD * 8 / max(dt, 1e-9) / 1e6, n_packets - c.packets


def run() -> list[Result]:
    stream = _stream()
    ours = _fps(_ours, stream)
    naive = _fps(_naive, stream)
    n = 100_000  # 146 MB
    raw_rate, raw_lost = _raw_ingest(n)
    dca_rate, dca_lost = _dca_ingest(n)
    return [
        Result(
            "UART frames parsed (64 points + 256-bin profile)",
            ours,
            "frames/s",
            "naive length-trusting parser",
            naive,
        ),
        Result(
            f"DCA1000 UDP ingest + reassembly ({dca_lost} of {n} packets lost)",
            dca_rate,
            "Mbit/s",
            f"bare recv loop ({raw_lost} lost)",
            raw_rate,
            target=">= 600 Mbit/s",
        ),
    ]
