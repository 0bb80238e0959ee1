"""Sources of ``radar_tlv`` frames: a live board on two serial ports, or a recorded byte dump."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from ..errors import DriversError
from ..source import Frame, SourceStats
from .cli import DATA_BAUD, configure, open_cli
from .stream import UartStreamParser

CHUNK = 1 << 16


class UartFileSource:
    """Replay a data-port dump (``.dat``/``.bin`` as TI's visualiser saves them) through the
    live parser. Stamps: ``start_ns + i * period_ns`` for frame ``i`` (dumps carry no times)."""

    def __init__(
        self, path: str | Path, name: str = "radar", start_ns: int = 0, period_ns: int = 0
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DriversError(f"{self.path}: file not found")
        self.name = name
        self.stats = SourceStats()
        self.parser = UartStreamParser(name, self.stats)
        self._start, self._period = start_ns, period_ns

    def frames(self) -> Iterator[Frame]:
        i = 0
        with self.path.open("rb") as f:
            while True:
                chunk = f.read(CHUNK)
                frames = self.parser.feed(chunk, 0) if chunk else self.parser.finish()
                for fr in frames:
                    stamp = self._start + i * self._period
                    i += 1
                    yield Frame(fr.sensor, fr.kind, stamp, fr.counter, fr.data, fr.flags)
                if not chunk:
                    return

    def close(self) -> None:
        pass

    def __enter__(self) -> UartFileSource:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class UartSource:
    """A live TI demo: configure over ``cli_port`` (if ``cfg`` given), then parse ``data_port``.

    Frames are stamped with ``time.time_ns()`` when their last bytes arrive. No bytes for
    ``stall_timeout`` seconds, or a port that vanishes, ends the stream with a DriversError
    after every complete frame was delivered. ``max_frames`` bounds the run (0 = unbounded).
    """

    def __init__(
        self,
        data_port: str,
        *,
        cli_port: str | None = None,
        cfg: str | Path | None = None,
        name: str = "radar",
        stall_timeout: float = 3.0,
        max_frames: int = 0,
        cli_timeout: float = 2.0,
    ) -> None:
        import serial

        self.name = name
        self.stats = SourceStats()
        self.parser = UartStreamParser(name, self.stats)
        self.stall_timeout = stall_timeout
        self.max_frames = max_frames
        self._closed = False
        # data port first: opening a port flushes its input, which would eat the first frames
        try:
            self._port = serial.Serial(data_port, DATA_BAUD, timeout=0.05)
        except serial.SerialException as exc:
            raise DriversError(f"{data_port}: cannot open data port ({exc})") from None
        if cfg is not None:
            try:
                if cli_port is None:
                    raise DriversError(f"{name}: a cfg needs a cli_port to send it to")
                cli = open_cli(cli_port)
                try:
                    configure(cli, cfg, timeout=cli_timeout)
                finally:
                    cli.close()
            except BaseException:
                self._port.close()
                raise

    def frames(self) -> Iterator[Frame]:
        import serial

        last = time.monotonic()
        n = 0
        while not self._closed:
            try:
                chunk = self._port.read(max(1, min(self._port.in_waiting, CHUNK)))
            except (serial.SerialException, OSError) as exc:
                yield from self.parser.finish()
                raise DriversError(f"{self.name}: data port vanished ({exc})") from None
            now = time.monotonic()
            if not chunk:
                if now - last > self.stall_timeout:
                    yield from self.parser.finish()
                    raise DriversError(
                        f"{self.name}: no data for {self.stall_timeout:g} s (board stalled?)"
                    )
                continue
            last = now
            for fr in self.parser.feed(chunk):
                yield fr
                n += 1
                if self.max_frames and n >= self.max_frames:
                    return

    def close(self) -> None:
        self._closed = True
        self._port.close()

    def __enter__(self) -> UartSource:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
