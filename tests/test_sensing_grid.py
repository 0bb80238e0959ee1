"""sensing.grid: the cascade's range-azimuth and range-elevation maps on HuPR's grid, checked
against point targets placed by the simulator's physics (not by the mapper's own formulas)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from drivers import load_rig
from drivers.sim.radar import synthesize_frame
from sensing import SensingError
from sensing.grid import GridMapper
from sensing.hupr import RANGE_BINS

RADAR = load_rig("rtpose").radars["radar"]


@pytest.fixture(scope="module")
def mapper() -> GridMapper:
    return GridMapper(RADAR)


def _target(p: tuple[float, float, float], speed: float) -> np.ndarray:
    """A moving point target at ``p`` (m, radar frame), moving radially at ``speed`` m/s."""
    P = np.array([p])
    V = speed * P / np.linalg.norm(P)
    return synthesize_frame(RADAR, P, V, np.array([1.0]), noise=False)


@pytest.mark.parametrize(
    "p", [(3.0, 0.8, 0.5), (2.5, -1.0, -0.6), (3.5, 0.0, 0.0), (2.0, 0.9, -0.3)]
)
@pytest.mark.parametrize("speed", [0.3, 1.0])
def test_point_target_peaks_where_it_is(mapper: GridMapper, p: tuple, speed: float) -> None:
    ph, pv = mapper(_target(p, speed))
    # the frame sees the target where it is on average: half the chirps' span later (5 cm at 1 m/s)
    r = np.linalg.norm(p) + speed * RADAR.active_time / 2
    # independent of the mapper: range bin from the chirp's beat frequency; direction cosines as
    # seen from the aperture's middle (a virtual position p is TX + RX, so the physical middle of
    # the 86-element line is p·λ/4 = 4 cm toward +y of the radar's origin; a spherical wave
    # across it reads as the direction from there)
    quarter = RADAR.wavelength / 4
    v = RADAR.virtual_positions.reshape(-1, 2)
    y0 = quarter * np.unique(v[v[:, 1] == 0, 0]).mean()
    z0 = quarter * np.mean([0.0, 1.0, 4.0, 6.0])
    beat_bin = 2 * r * RADAR.slope / 299_792_458.0 * RADAR.n_samples / RADAR.sample_rate
    want_r = 94 - beat_bin
    q = np.array(p) - [0.0, y0, z0]
    want_a = 31 + 32 * q[1] / np.linalg.norm(q)  # cosine toward +y in 1/32 steps from 31
    want_h = (31 + 32 * q[2] / np.linalg.norm(q)) / 4  # 64 cosines toward +z, 4 per height bin
    r_i, a_i = np.unravel_index(ph.sum(0).argmax(), ph.shape[1:])
    rv_i, h_i = np.unravel_index(pv.sum(0).argmax(), pv.shape[1:])
    assert abs(r_i - want_r) <= 0.6 and rv_i == r_i
    assert abs(a_i - want_a) <= 1.0  # a grid step: 1/32 in cosine, 10 cm at 3 m
    # the elevation aperture spans 6 half-wavelengths: a beam ~2 height bins wide
    assert int(want_h) - 1 <= h_i <= int(want_h)
    # Doppler groups span the centred band: approaching and receding land on opposite halves
    d = ph.sum(axis=(1, 2)).argmax()
    d_back = mapper(_target(p, -speed))[0].sum(axis=(1, 2)).argmax()
    assert (d >= 4) != (d_back >= 4)


def test_tdm_phase_is_undone_for_fast_targets(mapper: GridMapper) -> None:
    # 1 m/s moves the elevated TX's phase by ~1 rad within one loop: without the per-Doppler
    # correction the elevation peak of this target lands a bin low (measured while building)
    p = (3.0, 0.8, 0.5)
    pv = mapper(_target(p, 1.0))[1].sum(0)
    want_h = int((31 + 32 * p[2] / np.linalg.norm(p)) / 4)  # 9.02: the aperture's 1 cm is moot
    assert np.unravel_index(pv.argmax(), pv.shape)[1] == want_h
    tdm = mapper.tdm
    mapper.tdm = np.ones_like(tdm)
    try:
        wrong = mapper(_target(p, 1.0))[1].sum(0)
    finally:
        mapper.tdm = tdm
    assert np.unravel_index(wrong.argmax(), wrong.shape)[1] != want_h


def test_range_domain_synthesis_and_mapping_round_trip(mapper: GridMapper) -> None:
    rng = np.random.default_rng(0)
    P = rng.uniform([2, -1, -0.5], [4, 1, 0.5], (20, 3))
    V = rng.normal(0, 1, (20, 3))
    s = rng.uniform(0.1, 1, 20)
    cube = synthesize_frame(RADAR, P, V, s, noise=False)
    fast = synthesize_frame(RADAR, P, V, s, noise=False, range_bins=RANGE_BINS)
    slow = np.fft.fft(cube, axis=-1)[..., RANGE_BINS]
    assert np.abs(fast - slow).max() < 1e-5 * np.abs(slow).max()
    a, b = mapper(cube), mapper.from_range(fast)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-4, atol=1e-6 * a[0].max())
    np.testing.assert_allclose(a[1], b[1], rtol=1e-4, atol=1e-6 * a[1].max())
    # white noise of std σ per sample is std σ·√N per range bin
    zero = np.zeros(1)
    noise = synthesize_frame(
        RADAR, P[:1], V[:1], zero, range_bins=RANGE_BINS, rng=np.random.default_rng(1)
    )
    assert noise.real.std() == pytest.approx(6.0 * np.sqrt(RADAR.n_samples), rel=0.02)


def test_refusals(mapper: GridMapper) -> None:
    hupr = load_rig("hupr").radars["radar-h"]
    flat = dataclasses.replace(hupr, tx_order=(0, 2))  # the two azimuth TX: no elevation row
    with pytest.raises(SensingError, match=r"elevated rows .* virtual elevations are \[0.0\]"):
        GridMapper(flat)
    with pytest.raises(SensingError, match=r"expected \(64, 192, 64\)"):
        mapper.from_range(np.zeros((64, 100, 64), np.complex64))
    bad = np.zeros((64, 12, 16, 64), np.complex64)
    bad[3, 2, 1, 5] = np.nan
    with pytest.raises(SensingError, match="NaN or inf"):
        mapper.from_range(bad)
