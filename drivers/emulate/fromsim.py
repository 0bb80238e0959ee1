"""Feed the board emulators from the simulator, so emulated captures carry people, not noise.

The DCA1000 emulator streams the simulated ADC words exactly as the radar's layout packs them. The
TI-demo emulator streams what the firmware would compute on chip: the simulator's ideal detections
(:meth:`drivers.sim.Simulation.radar_points`) as TLV 1, their SNR as TLV 7 and the zero-Doppler
range profile of the simulated ADC as TLV 2. Both return the truth they encoded, for tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..sim import Simulation
from ..sim.radar import quantize
from ..source import Frame, SourceStats
from ..tiuart.packet import Q9_TO_DB
from .tiboard import packets_from_arrays


def sim_adc_frames(sim: Simulation, sensor: str, n: int | None = None) -> list[np.ndarray]:
    """The first ``n`` (default all) frames of radar ``sensor`` as int16 ADC words, each
    ``(words,)`` in the radar's capture layout, one per frame period."""
    times = sim.frame_times(sensor)[:n]
    radar = sim.rig.radars[sensor]
    return [quantize(sim.radar_frame(sensor, float(t)), radar) for t in times]


def range_profile_db(cube: np.ndarray) -> np.ndarray:
    """Zero-Doppler range profile (dB) of a complex ``(loops, tx, rx, samples)`` frame: the
    loop-mean range spectrum's power summed over the virtual channels, as the demo's TLV 2."""
    spec = np.fft.fft(cube.mean(axis=0), axis=-1)  # (tx, rx, range)
    power = np.sum(np.abs(spec) ** 2, axis=(0, 1))
    return 10 * np.log10(np.maximum(power, 1e-12))


@dataclass
class TlvFeed:
    """What the emulated TI board sends, and the truth it was made from (one entry per frame)."""

    packets: list[bytes]
    points: list[np.ndarray]  # float32 (M, 4) x, y, z [m], radial velocity [m/s]
    snr_db: list[np.ndarray]  # (M,)
    range_profiles_db: list[np.ndarray]  # (samples,), quantised as the firmware does (Q9 log2)


def sim_tlv_packets(
    sim: Simulation, sensor: str, n: int | None = None, max_points: int = 64
) -> TlvFeed:
    """SDK 3.x packets for the first ``n`` frames of ``sensor``, numbered from 1."""
    pts, snr, prof = [], [], []
    for t in sim.frame_times(sensor)[:n]:
        det = sim.radar_points(sensor, float(t), max_points)
        pts.append(np.ascontiguousarray(det[:, :4]))
        # TLV 7 carries 0.1 dB steps; keep the truth at that resolution
        snr.append(np.rint(det[:, 4] * 10) / 10)
        p = range_profile_db(sim.radar_frame(sensor, float(t)))
        prof.append(np.rint(p / Q9_TO_DB) * Q9_TO_DB)
    side = [np.column_stack([s, np.zeros_like(s)]) for s in snr]
    packets = packets_from_arrays(pts, side_info_db=side, range_profiles_db=prof)
    return TlvFeed(packets, pts, snr, prof)


def through_dca1000(
    frames: Sequence[np.ndarray], name: str = "radar", payload_bytes: int = 1456
) -> tuple[list[Frame], SourceStats]:
    """Send int16 ADC frames (each ``(words,)``) through an emulated DCA1000 on loopback and the
    real receive/reassembly code; returns what arrived (stamped on arrival) and the receiver's
    counters. Lost packets show up as flagged frames and counted drops, as on a real link."""
    from ..dca1000 import DcaControl, DcaSource
    from .dca import DcaEmulator

    if not frames:
        return [], SourceStats()
    with DcaSource(
        2 * int(frames[0].size),
        name=name,
        data_addr=("127.0.0.1", 0),
        max_frames=len(frames),
        payload_bytes=payload_bytes,
    ) as src:
        with DcaEmulator(frames, src.receiver.addr, payload_bytes=payload_bytes) as emu:
            src.start_recording(DcaControl(fpga=emu.config_addr, host=("127.0.0.1", 0)))
            out = list(src.frames())
        return out, src.stats
