"""Record every sensor of a rig into one HDF5 recording, live, crash-safe.

One reader thread per sensor pulls frames from its :class:`~drivers.source.Source` into a queue;
the calling thread is the only HDF5 writer (h5py is not thread-safe) and flushes at least once a
second, so a killed capture loses at most its last second. Sensors are opened from the rig's
``transport`` and ``options`` (all option values are strings in the rig YAML):

``transport: uart`` (TI demo): ``cli_port`` (``/dev/ttyACM0``), ``data_port`` (``/dev/ttyACM1``),
``cfg`` (a .cfg sent before capture, path relative to the rig file; omit if already configured),
``stall_timeout`` (s, default 3).

``transport: dca1000``: ``host`` (local IP, default 192.168.33.30), ``data_port`` (4098),
``config_port`` (4096), ``fpga_ip`` (192.168.33.180), ``payload_bytes`` (1456),
``idle_timeout`` (s, default 2), ``rcvbuf`` (bytes, default 33554432; see net.core.rmem_max).

``transport: file`` (LiDAR, camera; stamped when each frame is read): ``path`` (LiDAR: a folder
of .pcd/.ply, one per frame; camera: an image folder or a video file) or, for a camera,
``device`` (an OpenCV camera index or URL; needs the ``opencv`` extra). Images must match the
rig's camera ``width``/``height``.

Radar transports: ``emulated: "true"`` starts a built-in board emulator (pty TI board or loopback
DCA1000) instead of opening hardware, with ``emulated_frames`` (default 100) frames at the
radar's frame rate — for demos and tests without hardware; the stream ends after them.
``emulated_fault: vanish`` makes the emulated board disappear halfway. The emulated boards replay
the simulator (``emulated_people``, default 2, ``emulated_seed``, default 0): a DCA1000 streams the
simulated ADC words, a TI board the simulated on-chip detections and range profile;
``emulated_source: synthetic`` sends cheap fixed stand-in data instead.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DriversError
from .recording import RecordingWriter, StreamSpec
from .rig import Rig, SensorConfig
from .source import Frame, Source, SourceStats


@dataclass
class OpenSensor:
    name: str
    source: Source
    spec: StreamSpec
    cleanup: list[Callable[[], None]] = field(default_factory=list)
    error: str | None = None
    ended: bool = False


def _opt(s: SensorConfig, key: str, default: str) -> str:
    return s.options.get(key, default)


def _flag(s: SensorConfig, key: str) -> bool:
    return s.options.get(key, "false").strip().lower() in ("1", "true", "yes")


_SIMS: dict[tuple[str, int, int, float], object] = {}
_FEEDS: dict[tuple[int, str], list] = {}


def _emulated_feed(rig: Rig, name: str, n: int) -> list:
    """The simulated ADC frames (DCA1000) or TLV packets (TI demo) an emulated radar sends,
    synthesised once; :func:`open_sensors` makes them all before any board starts streaming."""
    key = (id(rig), name)
    if key not in _FEEDS:
        from .emulate import sim_adc_frames, sim_tlv_packets

        s = rig.config.sensors[name]
        sim = _emulation_sim(rig, s, n)
        _FEEDS[key] = (
            sim_adc_frames(sim, name, n)
            if s.transport == "dca1000"
            else sim_tlv_packets(sim, name, n).packets
        )
    return _FEEDS[key]


def _emulation_sim(rig: Rig, s: SensorConfig, n: int):  # noqa: ANN202 - drivers.sim.Simulation
    """One simulation per rig and seed, shared by its emulated boards so they see the same people."""
    from .sim import SimConfig, Simulation

    people, seed = int(_opt(s, "emulated_people", "2")), int(_opt(s, "emulated_seed", "0"))
    # long enough for every emulated radar of the rig, so all of them share this one simulation
    longest = max(
        int(_opt(rig.config.sensors[r], "emulated_frames", "100")) for r in rig.sensors_of("radar")
    )
    seconds = max(rig.radars[r].frame_period for r in rig.sensors_of("radar")) * (
        max(n, longest) + 1
    )
    key = (rig.text, people, seed, seconds)
    if key not in _SIMS:
        _SIMS.clear()  # one rig at a time; frames hold no reference back
        _SIMS[key] = Simulation(rig, SimConfig(people=people, seconds=seconds, seed=seed))
    return _SIMS[key]


def _uart(name: str, s: SensorConfig, rig: Rig) -> OpenSensor:
    from .tiuart import UartSource

    cleanup: list[Callable[[], None]] = []
    cfg = s.options.get("cfg")
    cfg_path = None
    if cfg:
        cfg_path = Path(cfg) if Path(cfg).is_absolute() else Path(rig.source).parent / cfg
        if not cfg_path.is_file():
            raise DriversError(f"sensors.{name}.options.cfg: {cfg_path} not found")
    if _flag(s, "emulated"):
        from .emulate import TiBoardEmulator, UartFaults, packets_from_arrays, synthetic_points

        n = int(_opt(s, "emulated_frames", "100"))
        period = rig.radars[name].frame_period
        vanish = n // 2 if _opt(s, "emulated_fault", "") == "vanish" else None
        if _opt(s, "emulated_source", "sim") == "sim":
            packets = _emulated_feed(rig, name, n)
        else:
            packets = packets_from_arrays([synthetic_points(i) for i in range(n)])
        emu = TiBoardEmulator(
            packets,
            UartFaults(vanish_after=vanish),
            rate_hz=1.0 / period,
            timeout=n * period + 30,
        ).__enter__()
        cleanup.append(emu.close)
        cli, data = emu.cli_path, emu.data_path
        cfg_path = (
            cfg_path or Path(__file__).resolve().parent.parent / "configs/radars/iwr6843_oob.cfg"
        )
    else:
        cli, data = _opt(s, "cli_port", "/dev/ttyACM0"), _opt(s, "data_port", "/dev/ttyACM1")
    try:
        src = UartSource(
            data,
            cli_port=cli,
            cfg=cfg_path,
            name=name,
            stall_timeout=float(_opt(s, "stall_timeout", "3")),
            max_frames=int(_opt(s, "emulated_frames", "100")) if _flag(s, "emulated") else 0,
        )
    except BaseException:
        for c in cleanup:
            c()
        raise
    spec = StreamSpec(
        "radar_tlv",
        ragged={"points": (4, np.dtype(np.float32)), "packet": (1, np.dtype(np.uint8))},
        fields=("x", "y", "z", "velocity"),
        attrs={"transport": "uart"},
    )
    return OpenSensor(name, src, spec, [src.close, *cleanup])


def _dca(name: str, s: SensorConfig, rig: Rig) -> OpenSensor:
    from .dca1000 import DcaControl, DcaSource

    radar = rig.radars[name]
    words = int(np.prod(radar.frame_shape)) * (2 if radar.adc.complex else 1)
    emulated = _flag(s, "emulated")
    host = "127.0.0.1" if emulated else _opt(s, "host", "192.168.33.30")
    payload = int(_opt(s, "payload_bytes", "1456"))
    src = DcaSource(
        2 * words,
        name=name,
        data_addr=(host, 0 if emulated else int(_opt(s, "data_port", "4098"))),
        rcvbuf=int(_opt(s, "rcvbuf", str(32 << 20))),
        idle_timeout=float(_opt(s, "idle_timeout", "2")),
        payload_bytes=payload,
        max_frames=int(_opt(s, "emulated_frames", "100")) if emulated else 0,
    )
    cleanup: list[Callable[[], None]] = [src.close]
    try:
        if emulated:
            from .emulate import DcaEmulator

            n = int(_opt(s, "emulated_frames", "100"))
            if _opt(s, "emulated_source", "sim") == "sim":
                frames = _emulated_feed(rig, name, n)
            else:  # fixed pseudo-random words: cheap, for protocol tests
                rng = np.random.default_rng(0)
                frames = [rng.integers(-2000, 2000, words, np.int16) for _ in range(min(n, 4))]
                frames = [frames[i % len(frames)] for i in range(n)]
            emu = DcaEmulator(
                frames,
                src.receiver.addr,
                payload_bytes=payload,
                rate_bps=2 * words / radar.frame_period,
                timeout=n * radar.frame_period + 30,
            ).__enter__()
            cleanup.append(emu.close)
            ctl = DcaControl(fpga=emu.config_addr, host=("127.0.0.1", 0))
        else:
            ctl = DcaControl(
                fpga=(_opt(s, "fpga_ip", "192.168.33.180"), int(_opt(s, "config_port", "4096"))),
                host=(host, int(_opt(s, "config_port", "4096"))),
            )
        src.start_recording(ctl)
    except BaseException:
        for c in cleanup:
            c()
        raise
    spec = StreamSpec(
        "radar_adc", fixed={"adc": ((words,), np.dtype(np.int16))}, attrs={"transport": "dca1000"}
    )
    return OpenSensor(name, src, spec, cleanup)


def _file(name: str, s: SensorConfig, rig: Rig) -> OpenSensor:
    from .filesources import ImageFolder, OpenCVCamera, PointCloudFolder, VideoFile

    path = s.options.get("path")
    if path is not None and not Path(path).is_absolute():
        path = str(Path(rig.source).parent / path)
    src: Source
    if s.kind == "lidar":
        if path is None:
            raise DriversError(
                f"sensors.{name}.options.path: a folder of .pcd/.ply files is needed"
            )
        src = PointCloudFolder(path, name)
        spec = StreamSpec(
            "lidar",
            ragged={"points": (4, np.dtype(np.float32))},
            fields=("x", "y", "z", "intensity"),
        )
    elif s.kind == "camera":
        assert s.camera is not None
        if "device" in s.options:
            dev = s.options["device"]
            src = OpenCVCamera(int(dev) if dev.isdigit() else dev, name)
        elif path is None:
            raise DriversError(f"sensors.{name}.options: give 'path' (images or video) or 'device'")
        elif Path(path).is_dir():
            src = ImageFolder(path, name)
        else:
            src = VideoFile(path, name)
        shape = (s.camera.height, s.camera.width, 3)
        spec = StreamSpec("image", fixed={"image": (shape, np.dtype(np.uint8))})
    else:
        raise DriversError(f"sensors.{name}: transport 'file' for radars is replay, not capture")
    spec.attrs["transport"] = "file"
    return OpenSensor(name, src, spec, [src.close])


OPENERS: dict[str, Callable[[str, SensorConfig, Rig], OpenSensor]] = {
    "uart": _uart,
    "dca1000": _dca,
    "file": _file,
}


def open_sensors(rig: Rig, only: list[str] | None = None) -> list[OpenSensor]:
    """Open every capturable sensor of ``rig`` (or those named in ``only``)."""
    out: list[OpenSensor] = []
    emulated = [
        n
        for n, s in rig.config.sensors.items()
        if s.kind == "radar"
        and s.transport in ("dca1000", "uart")
        and _flag(s, "emulated")
        and _opt(s, "emulated_source", "sim") == "sim"
        and (not only or n in only)
    ]
    for n in emulated:  # synthesise first, so no board streams while another is being made
        _emulated_feed(rig, n, int(_opt(rig.config.sensors[n], "emulated_frames", "100")))
    try:
        for name, s in rig.config.sensors.items():
            if only and name not in only:
                continue
            opener = OPENERS.get(s.transport)
            if s.kind == "radar" and s.transport == "file":
                opener = None
            if opener is None:
                if only:
                    raise DriversError(
                        f"sensors.{name}: transport {s.transport!r} cannot be captured live "
                        f"(capturable: {', '.join(OPENERS)})"
                    )
                continue
            out.append(opener(name, s, rig))
    except BaseException:
        for o in out:
            for c in o.cleanup:
                c()
        raise
    finally:
        _FEEDS.clear()
    if not out:
        raise DriversError(
            f"rig {rig.name!r} has no sensor with a live transport ({', '.join(OPENERS)})"
        )
    return out


class LiveSensors:
    """Every opened sensor of a rig as one :class:`~drivers.source.Source`, frames in arrival order.

    One reader thread per sensor, as :func:`capture` does. Frame stamps are host wall-clock
    arrival times (``time.time_ns``), so ``wall_clock_stamps`` is true. A sensor that fails ends
    the stream with a DriversError naming it; sensors that end normally just stop contributing.
    """

    wall_clock_stamps = True

    def __init__(self, rig: Rig, sensors: list[str] | None = None, queue_size: int = 256) -> None:
        self.name = f"live:{rig.name}"
        self.stats = SourceStats()
        self.opened = open_sensors(rig, sensors)
        self._q: queue.Queue[tuple[str, Frame | None, str | None]] = queue.Queue(queue_size)
        self._stop = threading.Event()

    def _pump(self, o: OpenSensor) -> None:
        try:
            for fr in o.source.frames():
                while not self._stop.is_set():
                    try:
                        self._q.put((o.name, fr, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._q.put((o.name, None, None))
        except Exception as exc:  # noqa: BLE001 - becomes the stream's end reason
            self._q.put((o.name, None, str(exc) or type(exc).__name__))

    def frames(self) -> Iterator[Frame]:
        for o in self.opened:
            threading.Thread(target=self._pump, args=(o,), daemon=True).start()
        by_name = {o.name: o for o in self.opened}
        while not all(o.ended for o in self.opened):
            name, fr, err = self._q.get()
            if fr is None:
                by_name[name].ended = True
                if err:
                    raise DriversError(err if err.startswith(f"{name}:") else f"{name}: {err}")
                continue
            self.stats.frames += 1
            yield fr

    def close(self) -> None:
        self._stop.set()
        for o in self.opened:
            for c in o.cleanup:
                with contextlib.suppress(Exception):
                    c()
        for o in self.opened:
            self.stats.dropped += o.source.stats.dropped
            self.stats.flagged += o.source.stats.flagged

    def __enter__(self) -> LiveSensors:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _store(frame: Frame) -> Frame:
    if frame.kind == "radar_tlv":
        data = {
            "points": frame.data["points"],
            "packet": frame.data["packet"].reshape(-1, 1),
        }
        return Frame(frame.sensor, frame.kind, frame.stamp_ns, frame.counter, data, frame.flags)
    return frame


def _status(sensors: list[OpenSensor], counts: dict[str, int], t0: float) -> str:
    dt = max(time.monotonic() - t0, 1e-9)
    parts = []
    for o in sensors:
        st = o.source.stats
        parts.append(
            f"{o.name}: {counts[o.name]} fr {counts[o.name] / dt:.1f}/s "
            f"drop {st.dropped} flag {st.flagged}" + (" END" if o.ended else "")
        )
    return f"[{dt:6.1f} s] " + " | ".join(parts)


def capture(
    rig: Rig,
    out: str | Path,
    *,
    duration: float = 0.0,
    sensors: list[str] | None = None,
    status: bool = True,
    flush_interval: float = 1.0,
) -> dict[str, dict[str, object]]:
    """Record until ``duration`` s (0 = until every source ends or Ctrl-C). Returns per-sensor
    counts. A source that fails (vanished board) ends the capture: the file is closed valid and
    a DriversError names the sensor and reason."""
    opened = open_sensors(rig, sensors)
    q: queue.Queue[tuple[str, Frame | None, str | None]] = queue.Queue(maxsize=4096)
    stop = threading.Event()

    def pump(o: OpenSensor) -> None:
        try:
            for fr in o.source.frames():
                while not stop.is_set():
                    try:
                        q.put((o.name, fr, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((o.name, None, None))
        except Exception as exc:  # noqa: BLE001 - reported as the capture's end reason
            q.put((o.name, None, str(exc) or type(exc).__name__))

    counts = {o.name: 0 for o in opened}
    t0 = time.monotonic()
    error: str | None = None
    interrupted = False
    writer = RecordingWriter(out, rig_yaml=rig.text, flush_interval=flush_interval)
    try:
        for o in opened:
            writer.add_stream(o.name, o.spec)
        threads = [threading.Thread(target=pump, args=(o,), daemon=True) for o in opened]
        for t in threads:
            t.start()
        by_name = {o.name: o for o in opened}
        last_status = 0.0
        while not all(o.ended for o in opened):
            if duration and time.monotonic() - t0 >= duration:
                break
            try:
                name, fr, err = q.get(timeout=0.2)
            except queue.Empty:
                continue
            if fr is None:
                by_name[name].ended = True
                if err:
                    by_name[name].error = err
                    error = err if err.startswith(f"{name}:") else f"{name}: {err}"
                    break
                continue
            writer.write(_store(fr))
            counts[name] += 1
            if status and time.monotonic() - last_status > 0.5:
                last_status = time.monotonic()
                print("\r" + _status(opened, counts, t0), end="", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stop.set()
        for o in opened:
            for c in o.cleanup:
                with contextlib.suppress(Exception):
                    c()
        # frames already queued are kept
        while True:
            try:
                name, fr, _ = q.get_nowait()
            except queue.Empty:
                break
            if fr is not None:
                writer.write(_store(fr))
                counts[name] += 1
        writer.close()
        if status:
            print("\r" + _status(opened, counts, t0), file=sys.stderr, flush=True)
    result = {
        o.name: {
            "frames": counts[o.name],
            "dropped": o.source.stats.dropped,
            "flagged": o.source.stats.flagged,
            "warnings": list(o.source.stats.warnings),
        }
        for o in opened
    }
    if interrupted:
        raise KeyboardInterrupt
    if error:
        raise DriversError(f"capture ended: {error}; {sum(counts.values())} frames kept in {out}")
    return result
