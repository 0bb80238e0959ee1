"""Live DCA1000 capture: a receive thread drains UDP 4098 into a queue, the consumer rebuilds frames.

The thread does nothing but ``recv`` so the kernel buffer never overflows while frames are
assembled. Ask for a large ``SO_RCVBUF`` (default 32 MiB); Linux caps it at
``net.core.rmem_max`` — raise that for full-rate capture::

    sudo sysctl -w net.core.rmem_max=67108864

The effective size is in ``DcaSource.rcvbuf``; a capped buffer is reported as a warning.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType

from ..errors import DriversError
from ..source import Frame, SourceStats
from .protocol import DATA_PORT, HOST_IP, DcaControl
from .reassemble import FrameAssembler

_END = b""


class DcaReceiver:
    """UDP socket plus receive thread; ``packets`` holds ``(stamp_ns, bytes)``, ``_END`` last."""

    def __init__(
        self, addr: tuple[str, int], rcvbuf: int = 32 << 20, idle_timeout: float = 2.0
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        # Linux reports twice the granted size (bookkeeping overhead)
        self.rcvbuf = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
        try:
            self.sock.bind(addr)
        except OSError as exc:
            self.sock.close()
            raise DriversError(f"DCA1000: cannot bind data port {addr} ({exc})") from None
        self.addr = self.sock.getsockname()
        self.sock.settimeout(0.05)
        self.idle_timeout = idle_timeout
        self.packets: queue.SimpleQueue[tuple[int, bytes]] = queue.SimpleQueue()
        self.idle = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dca1000-rx", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        recv, put, now = self.sock.recv, self.packets.put, time.time_ns
        last = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    pkt = recv(2048)
                except TimeoutError:
                    if time.monotonic() - last > self.idle_timeout:
                        self.idle = True
                        return
                    continue
                except OSError:
                    return
                put((now(), pkt))
                last = time.monotonic()
        finally:
            put((0, _END))

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.sock.close()


class DcaSource:
    """``radar_adc`` frames from a DCA1000 (or the emulator).

    ``frame_bytes`` is ``2 * words per frame`` (``RadarConfig`` × layout). With ``control``
    set (an FPGA config address), the source connects, configures and starts recording, and
    stops it on close. No packet for ``idle_timeout`` s ends the stream: normally if
    ``max_frames`` frames were delivered, else with a DriversError after flushing.
    """

    def __init__(
        self,
        frame_bytes: int,
        *,
        name: str = "radar",
        data_addr: tuple[str, int] = (HOST_IP, DATA_PORT),
        control: DcaControl | None = None,
        rcvbuf: int = 32 << 20,
        idle_timeout: float = 2.0,
        max_frames: int = 0,
        window: int = 2,
        payload_bytes: int = 1456,
    ) -> None:
        self.name = name
        self.stats = SourceStats()
        self.assembler = FrameAssembler(frame_bytes, name, window, self.stats)
        self.max_frames = max_frames
        self.receiver = DcaReceiver(data_addr, rcvbuf, idle_timeout)
        if self.receiver.rcvbuf < rcvbuf:
            self.stats.warn(
                f"socket buffer capped at {self.receiver.rcvbuf} B (asked {rcvbuf}); "
                "raise net.core.rmem_max for full-rate capture"
            )
        self.control: DcaControl | None = None
        self.payload_bytes = payload_bytes
        self.receiver.start()
        if control is not None:
            self.start_recording(control)

    def start_recording(self, control: DcaControl) -> None:
        """Connect, configure and start the FPGA (the receive thread is already listening)."""
        self.control = control
        try:
            control.setup(payload_bytes=self.payload_bytes)
            control.start()
        except BaseException:
            self.close()
            raise

    @property
    def counters(self):  # noqa: ANN201 - DcaCounters
        return self.assembler.counters

    def frames(self) -> Iterator[Frame]:
        n = 0
        get = self.receiver.packets.get
        while True:
            stamp, pkt = get()
            if pkt is _END or not pkt:
                break
            for fr in self.assembler.add(pkt, stamp):
                yield fr
                n += 1
                if self.max_frames and n >= self.max_frames:
                    return
        for fr in self.assembler.finish():
            yield fr
            n += 1
            if self.max_frames and n >= self.max_frames:
                return
        if self.receiver.idle and not (self.max_frames and n >= self.max_frames):
            raise DriversError(
                f"{self.name}: no DCA1000 data for {self.receiver.idle_timeout:g} s "
                f"after {n} frames (board stopped or link lost)"
            )

    def close(self) -> None:
        if self.control is not None:
            try:
                self.control.stop()
            except DriversError:
                pass
            self.control.close()
        self.receiver.close()

    def __enter__(self) -> DcaSource:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
