"""Radar configuration: chirp profile, TDM-MIMO schedule, antenna geometry and ADC layout.

One :class:`RadarConfig` describes a TI xWR board or the MMWCAS cascade, whether it came from a
YAML profile in ``configs/radars`` or from a TI ``.cfg`` CLI file (:mod:`drivers.ticfg`). All
values are SI. Derived quantities (resolution, maximum range and velocity, virtual array) are
properties so they can never disagree with the fields they come from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from .config import bounded, from_dict, load_yaml
from .errors import ConfigError

SPEED_OF_LIGHT = 299_792_458.0

AdcLayoutName = Literal["dca1000_2lane", "dca1000_4lane", "mmwcas"]


@dataclass(frozen=True)
class DeviceInfo:
    """What a radar chip family imposes: its sample-rate limit, default ADC layout and antennas."""

    max_sample_rate: float
    adc_layout: AdcLayoutName
    tx_positions: tuple[tuple[float, float], ...]
    rx_positions: tuple[tuple[float, float], ...]


# Antenna positions are (azimuth, elevation) in half-wavelength units per physical TX/RX index.
# xWR14xx/18xx/68xx boost boards: TX0 and TX2 two wavelengths apart in azimuth, TX1 raised by
# half a wavelength and centred, so TX1's virtual row sits at azimuth 2..5, elevation 1.
_BOOST_TX = ((0.0, 0.0), (2.0, 1.0), (4.0, 0.0))
_FOUR_RX = ((0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (3.0, 0.0))
# MMWCAS-RF-EVM (TI's cascade antenna tables): TX1..TX12 and RX1..RX16 in device order
# (master RX1-4, slave1 RX5-8, slave2 RX9-12, slave3 RX13-16).
_CASCADE_TX = tuple(
    (float(a), float(e))
    for a, e in zip(
        (11, 10, 9, 32, 28, 24, 20, 16, 12, 8, 4, 0),
        (6, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        strict=True,
    )
)
_CASCADE_RX = tuple(
    (float(a), 0.0) for a in (*range(11, 15), *range(50, 54), *range(46, 50), *range(0, 4))
)

DEVICES: dict[str, DeviceInfo] = {
    "iwr1443": DeviceInfo(12.5e6, "dca1000_4lane", _BOOST_TX, _FOUR_RX),
    "iwr1642": DeviceInfo(6.25e6, "dca1000_2lane", ((0.0, 0.0), (4.0, 0.0)), _FOUR_RX),
    "iwr1843": DeviceInfo(12.5e6, "dca1000_2lane", _BOOST_TX, _FOUR_RX),
    "iwr6843": DeviceInfo(12.5e6, "dca1000_2lane", _BOOST_TX, _FOUR_RX),
    "mmwcas": DeviceInfo(22.5e6, "mmwcas", _CASCADE_TX, _CASCADE_RX),
}


@dataclass(frozen=True)
class AdcConfig:
    """How ADC samples leave the device: capture layout, I/Q order, real or complex sampling."""

    layout: AdcLayoutName = "dca1000_2lane"
    iq_swap: bool = False
    complex: bool = True
    bits: Literal[12, 14, 16] = 16


@dataclass(frozen=True)
class AntennaConfig:
    """Antenna positions as (azimuth, elevation) in half-wavelength units, per physical index."""

    tx_positions: tuple[tuple[float, float], ...]
    rx_positions: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class RadarConfig:
    """An FMCW TDM-MIMO radar's frame: one chirp profile, chirps in TX firing order, loops.

    ``tx_order[k]`` is the physical TX fired by the k-th chirp of a loop; ADC frames follow it,
    so a de-interleaved frame is ``(n_loops, len(tx_order), n_rx, n_samples)``.
    """

    name: str
    device: str
    start_frequency: float = bounded(gt=1e9)
    slope: float = bounded(gt=0)
    idle_time: float = bounded(ge=0)
    adc_start_time: float = bounded(ge=0)
    ramp_end_time: float = bounded(gt=0)
    n_samples: int = bounded(gt=0)
    sample_rate: float = bounded(gt=0)
    n_loops: int = bounded(gt=0)
    frame_period: float = bounded(gt=0)
    tx_order: tuple[int, ...] = (0,)
    rx_channels: tuple[int, ...] = (0, 1, 2, 3)
    antenna: AntennaConfig | None = None
    adc: AdcConfig = field(default_factory=AdcConfig)
    n_frames: int = bounded(0, ge=0)
    tx_start_time: float = 0.0
    tx_power_backoff_db: float = bounded(0.0, ge=0)
    rx_gain_db: float = 30.0
    tx_phase_shifter: int = 0
    hpf1_code: int = 0
    hpf2_code: int = 0
    format_version: int = 1

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ConfigError(
                f"device: unknown device {self.device!r} (known: {', '.join(DEVICES)})"
            )
        dev = DEVICES[self.device]
        if self.antenna is None:
            object.__setattr__(self, "antenna", AntennaConfig(dev.tx_positions, dev.rx_positions))
        assert self.antenna is not None
        n_tx_phys = len(self.antenna.tx_positions)
        n_rx_phys = len(self.antenna.rx_positions)
        if not self.tx_order:
            raise ConfigError("tx_order: at least one chirp per loop is needed")
        bad_tx = [t for t in self.tx_order if not 0 <= t < n_tx_phys]
        if bad_tx:
            raise ConfigError(
                f"tx_order: TX {bad_tx[0]} does not exist on {self.device} ({n_tx_phys} TX)"
            )
        bad_rx = [r for r in self.rx_channels if not 0 <= r < n_rx_phys]
        if bad_rx or not self.rx_channels:
            raise ConfigError(
                f"rx_channels: must be a non-empty subset of 0..{n_rx_phys - 1}, got {list(self.rx_channels)}"
            )
        window_end = self.adc_start_time + self.n_samples / self.sample_rate
        if window_end > self.ramp_end_time * (1 + 1e-9):
            raise ConfigError(
                f"ADC sampling window ends at {window_end * 1e6:.2f} us, after the ramp ends at "
                f"{self.ramp_end_time * 1e6:.2f} us: lower n_samples or raise sample_rate/ramp_end_time"
            )
        if self.sample_rate > dev.max_sample_rate:
            raise ConfigError(
                f"sample_rate {self.sample_rate / 1e6:g} Msps is above the {self.device} limit of "
                f"{dev.max_sample_rate / 1e6:g} Msps"
            )
        if self.active_time > self.frame_period * (1 + 1e-9):
            raise ConfigError(
                f"frame_period {self.frame_period * 1e3:g} ms is shorter than its {self.chirps_per_frame} "
                f"chirps ({self.active_time * 1e3:.3f} ms)"
            )

    # -- schedule ---------------------------------------------------------------------------
    @property
    def n_tx(self) -> int:
        """Chirps per loop, i.e. the TX axis of a de-interleaved frame."""
        return len(self.tx_order)

    @property
    def n_rx(self) -> int:
        return len(self.rx_channels)

    @property
    def chirps_per_frame(self) -> int:
        return self.n_tx * self.n_loops

    @property
    def chirp_time(self) -> float:
        """Chirp repetition interval (idle + ramp), s."""
        return self.idle_time + self.ramp_end_time

    @property
    def loop_time(self) -> float:
        """Time between two chirps of the same TX, s: the Doppler sampling interval."""
        return self.chirp_time * self.n_tx

    @property
    def active_time(self) -> float:
        return self.chirp_time * self.chirps_per_frame

    @property
    def duty_cycle(self) -> float:
        """Fraction of the frame period during which the radar chirps."""
        return self.active_time / self.frame_period

    @property
    def frame_rate(self) -> float:
        return 1.0 / self.frame_period

    # -- physics ----------------------------------------------------------------------------
    @property
    def sampling_time(self) -> float:
        return self.n_samples / self.sample_rate

    @property
    def bandwidth(self) -> float:
        """Bandwidth swept while the ADC samples, Hz: the one that sets range resolution."""
        return self.slope * self.sampling_time

    @property
    def center_frequency(self) -> float:
        """Carrier at the middle of the sampling window, Hz."""
        return self.start_frequency + self.slope * (self.adc_start_time + self.sampling_time / 2)

    @property
    def wavelength(self) -> float:
        return SPEED_OF_LIGHT / self.center_frequency

    @property
    def range_resolution(self) -> float:
        """c / 2B, m: the spacing of range-FFT bins without zero padding."""
        return SPEED_OF_LIGHT / (2 * self.bandwidth)

    @property
    def max_beat_frequency(self) -> float:
        return self.sample_rate if self.adc.complex else self.sample_rate / 2

    @property
    def max_range(self) -> float:
        """Range at the highest beat frequency the ADC resolves, m."""
        return self.max_beat_frequency * SPEED_OF_LIGHT / (2 * self.slope)

    @property
    def velocity_resolution(self) -> float:
        """λ / (2 N_loops T_loop), m/s."""
        return self.wavelength / (2 * self.n_loops * self.loop_time)

    @property
    def max_velocity(self) -> float:
        """Largest unambiguous radial speed λ / (4 T_loop), m/s (the span is ±this)."""
        return self.wavelength / (4 * self.loop_time)

    # -- array ------------------------------------------------------------------------------
    @property
    def tx_positions(self) -> np.ndarray:
        """``(n_tx, 2)`` (azimuth, elevation) half-wavelengths of the TX fired by each chirp."""
        assert self.antenna is not None
        return np.asarray(self.antenna.tx_positions, dtype=np.float64)[list(self.tx_order)]

    @property
    def rx_positions(self) -> np.ndarray:
        """``(n_rx, 2)`` (azimuth, elevation) half-wavelengths of the enabled receivers."""
        assert self.antenna is not None
        return np.asarray(self.antenna.rx_positions, dtype=np.float64)[list(self.rx_channels)]

    @property
    def virtual_positions(self) -> np.ndarray:
        """``(n_tx, n_rx, 2)`` virtual-channel (azimuth, elevation) in half-wavelengths."""
        return self.tx_positions[:, None, :] + self.rx_positions[None, :, :]

    @property
    def n_virtual(self) -> int:
        return self.n_tx * self.n_rx

    @property
    def n_unique_virtual(self) -> int:
        return len({tuple(p) for p in self.virtual_positions.reshape(-1, 2).tolist()})

    @property
    def frame_shape(self) -> tuple[int, int, int, int]:
        """``(n_loops, n_tx, n_rx, n_samples)`` of a de-interleaved complex frame."""
        return (self.n_loops, self.n_tx, self.n_rx, self.n_samples)

    @property
    def adc_words_per_frame(self) -> int:
        """int16 words per raw frame on the wire (I and Q each one word when complex)."""
        per_sample = 2 if self.adc.complex else 1
        return self.n_loops * self.n_tx * self.n_rx * self.n_samples * per_sample

    @property
    def adc_bytes_per_frame(self) -> int:
        return 2 * self.adc_words_per_frame

    def derived(self) -> dict[str, float | int]:
        """Derived quantities in SI units, for ``radarpose config show`` and the docs."""
        return {
            "bandwidth_hz": self.bandwidth,
            "center_frequency_hz": self.center_frequency,
            "wavelength_m": self.wavelength,
            "range_resolution_m": self.range_resolution,
            "max_range_m": self.max_range,
            "chirps_per_frame": self.chirps_per_frame,
            "doppler_bins": self.n_loops,
            "velocity_resolution_m_s": self.velocity_resolution,
            "max_velocity_m_s": self.max_velocity,
            "virtual_antennas": self.n_virtual,
            "unique_virtual_positions": self.n_unique_virtual,
            "duty_cycle": self.duty_cycle,
            "frame_rate_hz": self.frame_rate,
            "adc_bytes_per_frame": self.adc_bytes_per_frame,
        }

    def replace(self, **changes: object) -> RadarConfig:
        return dataclasses.replace(self, **changes)


def load_radar_config(path: str | Path) -> RadarConfig:
    """Load a radar profile from YAML (``configs/radars/*.yaml``) or a TI ``.cfg`` CLI file."""
    p = Path(path)
    if p.suffix == ".cfg":
        from .ticfg import read_ti_cfg

        return read_ti_cfg(p).radar
    data = load_yaml(p)
    return from_dict(RadarConfig, data, source=str(p))
