"""HuPR-exact heatmaps and network input against an independent re-statement of HuPR's steps."""

from __future__ import annotations

import numpy as np
import pytest

from drivers import find_config, load_radar_config, pack_frame
from drivers.sim import RadarSimParams, synthesize_frame
from sensing import SensingError, check_cube, cube_from_words
from sensing.hupr import HuprHeatmapper, clamped_window, network_input, normalize_channels

RADAR = load_radar_config(find_config("hupr_iwr1843", "radars"))


def reference_heatmap(frame_rx_chirp_sample: np.ndarray) -> np.ndarray:
    """HuPR's published steps, written out plainly on its own input layout (4 RX, 192 chirps, 256 samples)."""
    x = frame_rx_chirp_sample.astype(np.complex128)
    hori = np.zeros((8, 64, 256), complex)
    vert = np.zeros((4, 64, 256), complex)
    for c in range(192):
        if c % 3 == 0:
            hori[0:4, c // 3] = x[:, c]
        elif c % 3 == 1:
            vert[:, c // 3] = x[:, c]
        else:
            hori[4:8, c // 3] = x[:, c]
    hori -= hori.mean(axis=1, keepdims=True)
    vert -= vert.mean(axis=1, keepdims=True)
    hori = np.fft.fft2(hori, axes=(1, 2))
    vert = np.fft.fft2(vert, axes=(1, 2))
    merged = np.zeros((8, 64, 64, 256), complex)  # (elevation, azimuth, chirp, sample)
    merged[0, 0:8] = hori
    merged[1, 2:6] = vert
    merged[:, 2:6] = np.fft.fft(merged[:, 2:6], axis=0)  # elevation FFT on columns 2..5 only
    merged = np.fft.fft(merged, axis=1)  # azimuth FFT on every row
    out = np.zeros((16, 64, 64, 8), complex)
    ranges = list(range(94, 30, -1))
    for d_out, d in enumerate(range(24, 40)):
        for r_out, r in enumerate(ranges):
            ae = merged[:, :, :, r]  # (el, az, chirp) at this range
            spec = np.fft.fftshift(ae, axes=2)[:, :, d]  # Doppler shifted, then bin d
            spec = np.fft.fftshift(spec.T, axes=(0, 1))  # (az, el), both shifted
            out[d_out, r_out] = spec[::-1, ::-1]  # both flipped
    return out


def _frame(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pos = rng.uniform([1.5, -1.0, -0.5], [4.0, 1.0, 0.5], (30, 3))
    vel = rng.normal(0, 0.6, (30, 3))
    return synthesize_frame(
        RADAR, pos, vel, np.full(30, 0.05), params=RadarSimParams(noise_std=5.0), rng=rng
    )


def _as_hupr_input(cube: np.ndarray) -> np.ndarray:
    """(loops, tx, rx, samples) → HuPR's (rx, chirp, sample) with chirp = loop*3 + tx."""
    return cube.transpose(2, 0, 1, 3).reshape(4, 192, 256)


def test_heatmap_equals_reference_on_simulated_frames() -> None:
    hm = HuprHeatmapper(RADAR)
    for seed in (0, 1):
        cube = _frame(seed)
        ours = hm(cube)
        ref = reference_heatmap(_as_hupr_input(cube))
        assert ours.shape == (16, 64, 64, 8) and ours.dtype == np.complex64
        scale = np.abs(ref).max()
        np.testing.assert_allclose(ours, ref, atol=2e-5 * scale, rtol=0)


def test_heatmap_equals_reference_on_random_words() -> None:
    rng = np.random.default_rng(7)
    words = rng.integers(-3000, 3000, RADAR.adc_words_per_frame).astype(np.int16)
    cube = cube_from_words(words, RADAR)
    ref = reference_heatmap(_as_hupr_input(cube))
    np.testing.assert_allclose(
        HuprHeatmapper(RADAR)(cube), ref, atol=2e-5 * np.abs(ref).max(), rtol=0
    )


def test_point_target_peak_location() -> None:
    # a target at range bin 60, 0 m/s radial change, boresight: output range index 94-60, Doppler centre
    R = 60 * RADAR.range_resolution
    cube = synthesize_frame(
        RADAR,
        np.array([[R, 0.0, 0.0]]),
        np.zeros((1, 3)),
        np.ones(1),
        params=RadarSimParams(noise_std=0.0),
    )
    cube += synthesize_frame(
        RADAR,
        np.array([[R, 0.0, 0.0]]),
        np.array([[0.3, 0, 0]]),
        np.ones(1),
        params=RadarSimParams(noise_std=0.0),
    )
    hm = np.abs(HuprHeatmapper(RADAR)(cube))
    d, r, a, e = np.unravel_index(hm.argmax(), hm.shape)
    assert r == 94 - 60
    # 0.3 m/s is ~4.8 Doppler bins; the static copy is removed by clutter removal
    assert d - 8 == pytest.approx(0.3 / RADAR.velocity_resolution, abs=1)
    # boresight lands on the shifted-and-flipped zero-frequency bins: azimuth 31, elevation 3
    # (±1 in azimuth: HuPR does no TDM Doppler compensation, so motion tilts the array phase)
    assert abs(a - 31) <= 1 and e == 3


def test_loader_window_and_normalisation() -> None:
    # clamped t-4..t+3, as HuPR's index walk produces at a sequence's start and end
    assert clamped_window(0, 600).tolist() == [0, 0, 0, 0, 0, 1, 2, 3]
    assert clamped_window(1, 600).tolist() == [0, 0, 0, 0, 1, 2, 3, 4]
    assert clamped_window(599, 600).tolist() == [595, 596, 597, 598, 599, 599, 599, 599]
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 64, 8)) * 5 + 3
    out, flagged = normalize_channels(x)
    assert not flagged
    for e in range(8):
        c = x[..., e]
        n = (c - c.min()) / (c - c.min()).max()
        np.testing.assert_allclose(
            out[..., e], (n - n.mean()) / n.std(ddof=1), rtol=1e-5, atol=1e-5
        )
    heat = (
        rng.normal(size=(10, 16, 64, 64, 8)) + 1j * rng.normal(size=(10, 16, 64, 64, 8))
    ).astype(np.complex64)
    inp, flagged = network_input(heat, 0)
    assert inp.shape == (8, 8, 2, 64, 64, 8) and not flagged
    # frames 0..4 of the window are all frame 0; Doppler 4..11; channel 0 = real part
    np.testing.assert_allclose(inp[0], inp[4])
    np.testing.assert_allclose(inp[0, 0, 0], normalize_channels(heat[0, 4].real)[0], rtol=1e-6)
    zero = np.zeros_like(heat)
    _, flagged = network_input(zero, 3)
    assert flagged


def test_bad_input_errors() -> None:
    with pytest.raises(
        SensingError,
        match=r"frame shape \(64, 3, 4, 128\) does not match radar 'hupr_iwr1843': expected \(64, 3, 4, 256\)",
    ):
        check_cube(np.ones((64, 3, 4, 128), np.complex64), RADAR)
    bad = np.ones(RADAR.frame_shape, np.complex64)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(SensingError, match="1 NaN or inf values"):
        HuprHeatmapper(RADAR)(bad)
    with pytest.raises(SensingError, match="all zeros"):
        HuprHeatmapper(RADAR)(np.zeros(RADAR.frame_shape, np.complex64))
    with pytest.raises(SensingError, match="expects 393216"):
        cube_from_words(np.zeros(1000, np.int16), RADAR)
    other = load_radar_config(find_config("rtpose_mmwcas", "radars"))
    with pytest.raises(
        SensingError, match="HuPR heatmaps need 64 loops and 256 samples|not HuPR's array"
    ):
        HuprHeatmapper(other.replace(n_loops=64))
    # the layout comes from the config, so a 4-lane capture of the same board also works
    words = pack_frame(_frame(3), RADAR)
    assert cube_from_words(words, RADAR).shape == RADAR.frame_shape
