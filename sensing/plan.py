"""What the kernel backends share: the virtual-array layout, cascade calibration and a per-config plan.

Everything here is derived once from a :class:`drivers.RadarConfig` (never from hard-coded channel
lists) and is read-only afterwards, so the numpy, Numba-CPU and CUDA backends
(:mod:`sensing.reference`, :mod:`sensing.cpu`, :mod:`sensing.cuda`) take the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from drivers import RadarConfig

from .errors import SensingError
from .pointcloud import PointCloudParams
from .range_doppler import window


@dataclass(frozen=True, eq=False)
class ArrayLayout:
    """Where each flat virtual channel ``c = tx * n_rx + rx`` sits on the angle-FFT grid.

    ``az`` and ``el`` are ``(C,)`` integer grid columns/rows (half-wavelength positions shifted to
    start at 0); ``slot`` ``(C,)`` is the TX firing slot, for the TDM-MIMO Doppler correction. The
    grid is ``(n_el, n_az)``, zero-padded to at least the requested FFT sizes; channels at the same
    position add up.
    """

    az: np.ndarray
    el: np.ndarray
    slot: np.ndarray
    n_az: int
    n_el: int
    n_tx: int

    @classmethod
    def from_radar(
        cls, radar: RadarConfig, n_azimuth: int = 64, n_elevation: int = 16
    ) -> ArrayLayout:
        pos = radar.virtual_positions.reshape(-1, 2)
        if not np.allclose(pos, pos.round()):
            raise SensingError(
                f"radar {radar.name!r}: virtual positions must be whole half-wavelengths for the angle FFT, got {pos.tolist()}"
            )
        az = (pos[:, 0] - pos[:, 0].min()).round().astype(np.int64)
        el = (pos[:, 1] - pos[:, 1].min()).round().astype(np.int64)
        n_az = max(n_azimuth, int(az.max()) + 1)
        n_el = max(n_elevation if el.max() > 0 else 1, int(el.max()) + 1)
        slot = np.repeat(np.arange(radar.n_tx), radar.n_rx).astype(np.int64)
        return cls(az, el, slot, n_az, n_el, radar.n_tx)

    @property
    def n_channels(self) -> int:
        return len(self.az)

    @cached_property
    def rows(self) -> np.ndarray:
        """``(n_rows,)`` grid rows (elevations) that hold a channel: the others are zero padding."""
        return np.unique(self.el)

    @cached_property
    def row_index(self) -> np.ndarray:
        """``(C,)`` index into :attr:`rows` of each channel's row."""
        return np.searchsorted(self.rows, self.el).astype(np.int64)

    @cached_property
    def row_twiddles(self) -> np.ndarray:
        """``(n_rows, n_el)`` complex64 elevation-DFT factors of the occupied rows."""
        return np.exp(-2j * np.pi * np.outer(self.rows, np.arange(self.n_el)) / self.n_el).astype(
            np.complex64
        )


@dataclass(frozen=True, eq=False)
class Calibration:
    """Cascade frequency and phase calibration per (TX slot, RX), as TI's MMWCAS chain applies it.

    ``range_offset`` ``(n_tx, n_rx)`` float: how many range bins (of an ``n_samples``-point FFT)
    each channel's beat frequency is too high; sample ``n`` is multiplied by
    ``exp(-2πj·offset·n/n_samples)``. ``phase`` ``(n_tx, n_rx)`` complex: then multiplied in
    (amplitude and phase equalisation).
    """

    phase: np.ndarray
    range_offset: np.ndarray

    @classmethod
    def from_reference_target(
        cls, peak_values: np.ndarray, range_bins: np.ndarray, ref: tuple[int, int] = (0, 0)
    ) -> Calibration:
        """From a corner reflector at boresight: its complex peak value and range bin per channel.

        Both ``(n_tx, n_rx)`` (RT-Pose's ``PeakValMat`` and ``RangeMat``); channels are equalised
        to channel ``ref``.
        """
        pv = np.asarray(peak_values, np.complex128)
        rb = np.asarray(range_bins, np.float64)
        if pv.shape != rb.shape or pv.ndim != 2:
            raise SensingError(
                f"peak values {pv.shape} and range bins {rb.shape} must both be (n_tx, n_rx)"
            )
        if not (np.isfinite(pv).all() and np.isfinite(rb).all()) or (pv == 0).any():
            raise SensingError("calibration peak values must be finite and non-zero")
        return cls((pv[ref] / pv).astype(np.complex64), rb - rb[ref])

    def check(self, radar: RadarConfig) -> None:
        want = (radar.n_tx, radar.n_rx)
        if self.phase.shape != want or self.range_offset.shape != want:
            raise SensingError(
                f"calibration is {self.phase.shape} phase / {self.range_offset.shape} range offset, "
                f"radar {radar.name!r} needs (n_tx, n_rx) = {want}"
            )

    def factors(self, n_samples: int) -> np.ndarray:
        """``(n_tx, n_rx, n_samples)`` complex64 multiplier applying both corrections."""
        n = np.arange(n_samples)
        ramp = np.exp(-2j * np.pi * self.range_offset[..., None] * n / n_samples)
        return (self.phase[..., None] * ramp).astype(np.complex64)


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything the point-cloud chain needs for one radar config, built once.

    ``w_range`` ``(n_samples,)`` and ``w_doppler`` ``(n_loops,)`` float32 windows; ``cal``
    ``(n_tx, n_rx, n_samples)`` complex64 calibration factors or None; ``scale`` is the linear
    CFAR threshold; ``min_bin`` the first range bin kept.
    """

    radar: RadarConfig
    params: PointCloudParams
    layout: ArrayLayout
    w_range: np.ndarray
    w_doppler: np.ndarray
    scale: float
    min_bin: int
    dc_removal: bool = False
    cal: np.ndarray | None = field(default=None)

    @classmethod
    def build(
        cls,
        radar: RadarConfig,
        params: PointCloudParams | None = None,
        calibration: Calibration | None = None,
        dc_removal: bool = False,
    ) -> Plan:
        p = params or PointCloudParams()
        if p.method not in ("ca", "os"):
            raise SensingError(f"unknown CFAR method {p.method!r} (choose: ca, os)")
        cal = None
        if calibration is not None:
            calibration.check(radar)
            cal = calibration.factors(radar.n_samples)
        return cls(
            radar,
            p,
            ArrayLayout.from_radar(radar, p.n_azimuth, p.n_elevation),
            window(p.window, radar.n_samples),
            window(p.window, radar.n_loops),
            float(10 ** (p.threshold_db / 10)),
            int(np.ceil(p.min_range / radar.range_resolution)),
            dc_removal,
            cal,
        )
