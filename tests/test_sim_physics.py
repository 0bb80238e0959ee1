"""The simulator against physics: bins, 1/R^4, array phases, LiDAR surfaces, rendering, micro-Doppler."""

from __future__ import annotations

import numpy as np
import pytest

from drivers import AdcConfig, find_config, load_radar_config, pack_frame, unpack_frame
from drivers.radar import SPEED_OF_LIGHT, RadarConfig
from drivers.sim import RadarSimParams, antenna_positions, synthesize_frame

QUIET = RadarSimParams(noise_std=0.0)


def _target(R: float, az: float, el: float) -> np.ndarray:
    return np.array([[R * np.cos(el) * np.cos(az), R * np.cos(el) * np.sin(az), R * np.sin(el)]])


@pytest.mark.parametrize(
    ("profile", "layout", "loops"),
    [
        ("hupr_iwr1843", "dca1000_2lane", 64),
        ("hupr_iwr1843", "dca1000_4lane", 16),
        ("rtpose_mmwcas", "mmwcas", 8),
    ],
)
@pytest.mark.parametrize("swap", [False, True])
def test_point_target_lands_in_its_bins(profile: str, layout: str, loops: int, swap: bool) -> None:
    r: RadarConfig = load_radar_config(find_config(profile, "radars"))
    if layout == "mmwcas" and swap:
        pytest.skip("the cascade has no IQ-swap setting")
    r = r.replace(n_loops=loops, adc=AdcConfig(layout=layout, iq_swap=swap))  # type: ignore[arg-type]
    R0, v0, az, el = 3.1, 0.5, np.deg2rad(17.0), np.deg2rad(8.0)
    pos = _target(R0, az, el)
    f = synthesize_frame(r, pos, v0 * pos / R0, np.array([1.0]), params=QUIET)
    f = unpack_frame(pack_frame(f, r), r)  # through the device's real word layout
    rng_fft = np.fft.fft(f, axis=-1)
    rbin = int(np.abs(rng_fft).sum(axis=(0, 1, 2)).argmax())
    assert abs(rbin - R0 / r.range_resolution) <= 1.0
    dop = np.fft.fftshift(np.fft.fft(rng_fft[..., rbin], axis=0), axes=0)
    dbin = int(np.abs(dop).sum(axis=(1, 2)).argmax()) - loops // 2
    assert abs(dbin - v0 / r.velocity_resolution) <= 1.0
    # azimuth: FFT over the virtual channels of the elevation-0 line, ordered by position
    pos_v = r.virtual_positions.reshape(-1, 2)
    # TDM-MIMO: a moving target's phase advances between TX slots; remove it as processing must
    slot_phase = np.exp(
        -2j * np.pi * (v0 / r.velocity_resolution) / loops * np.arange(r.n_tx) / r.n_tx
    )
    snap = (dop[dbin + loops // 2] * slot_phase[:, None]).reshape(-1)
    line = pos_v[:, 1] == 0
    order = np.argsort(pos_v[line, 0])
    idx = pos_v[line, 0][order].astype(int)
    n_az = 128 if profile == "rtpose_mmwcas" else 64
    ap = np.zeros(idx.max() + 1, complex)
    ap[idx] = snap[line][order]
    abin = int(np.abs(np.fft.fftshift(np.fft.fft(ap, n_az))).argmax())
    s_az = np.sin(az) * np.cos(el)
    expected = (-s_az / 2) * n_az + n_az // 2
    assert abs(abin - expected) <= 1.0


def test_array_phases_match_geometry() -> None:
    r = load_radar_config(find_config("rtpose_mmwcas", "radars")).replace(n_loops=1)
    pos = _target(4.0, np.deg2rad(-25.0), np.deg2rad(12.0))
    f = synthesize_frame(r, pos, np.zeros((1, 3)), np.array([1.0]), params=QUIET)
    rb = int(np.abs(np.fft.fft(f[0, 0, 0])).argmax())
    ph = np.angle(np.fft.fft(f[0], axis=-1)[..., rb])  # (tx, rx)
    tx, rx = antenna_positions(r)
    path = np.linalg.norm(pos - tx, axis=1)[:, None] + np.linalg.norm(pos - rx, axis=1)[None, :]
    # relative to channel (0, 0): Δφ = 2π f_c Δτ for the carrier (fast-time term shares the bin)
    expected = 2 * np.pi * r.center_frequency * (path - path[0, 0]) / SPEED_OF_LIGHT
    err = np.angle(np.exp(1j * (ph - ph[0, 0] - expected)))
    assert np.ptp(expected) > 100  # the geometry spans many cycles, so this checks the spacing
    assert np.max(np.abs(err)) < 0.05  # radians, over all 192 channels


def test_received_power_falls_as_inverse_fourth_power() -> None:
    r = load_radar_config(find_config("hupr_iwr1843", "radars")).replace(n_loops=4)
    peaks = []
    for R0 in (46 * r.range_resolution, 92 * r.range_resolution):  # bin centres: no scalloping
        f = synthesize_frame(
            r, _target(R0, 0.0, 0.0), np.zeros((1, 3)), np.array([1.0]), params=QUIET
        )
        peaks.append(np.abs(np.fft.fft(f[0, 0, 0])).max() ** 2)
    assert peaks[0] / peaks[1] == pytest.approx(16.0, rel=0.05)


def test_noise_level_matches_setting() -> None:
    r = load_radar_config(find_config("hupr_iwr1843", "radars")).replace(n_loops=8)
    f = synthesize_frame(
        r,
        np.zeros((0, 3)),
        np.zeros((0, 3)),
        np.zeros(0),
        params=RadarSimParams(noise_std=10.0),
        rng=np.random.default_rng(0),
    )
    assert f.real.std() == pytest.approx(10.0, rel=0.03) and f.imag.std() == pytest.approx(
        10.0, rel=0.03
    )
