"""Kernel backends against the numpy reference, and the chain against simulated targets.

The CUDA backend runs under numba's CUDA simulator, which conftest enables before numba is first
imported (it must be set before then); if it was not, a subprocess reruns this file with it set.
Inputs are tiny because the simulator runs every GPU thread in Python.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numba
import numpy as np
import pytest

from drivers import RadarConfig, find_config, load_radar_config
from drivers.sim import RadarSimParams, synthesize_frame
from sensing import SensingError, backend
from sensing import cfar as cfar_module
from sensing import reference as ref
from sensing.backends import KERNELS, MODULES
from sensing.plan import ArrayLayout, Calibration, Plan
from sensing.pointcloud import PointCloudExtractor, PointCloudParams

SIM = bool(numba.config.ENABLE_CUDASIM)
NAMES = ["cpu", "cuda"] if SIM else ["cpu"]
# HuPR's array (3 TX, 4 RX, an elevated TX) with a short frame: 16 loops, 64 samples
TINY = load_radar_config(find_config("hupr_iwr1843", "radars")).replace(n_loops=16, n_samples=64)


@pytest.fixture(params=NAMES)
def be(request: pytest.FixtureRequest) -> ModuleType:
    return backend(request.param)


def _host(a: object) -> np.ndarray:
    return a.copy_to_host() if hasattr(a, "copy_to_host") else np.asarray(a)


def _close(a: object, b: np.ndarray, rel: float = 1e-5) -> None:
    a = _host(a)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    np.testing.assert_allclose(a, b, rtol=0, atol=rel * np.abs(b).max())


def _noise(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    g = np.random.default_rng(seed)
    return (g.normal(size=shape) + 1j * g.normal(size=shape)).astype(np.complex64)


def _target_frame(
    radar: RadarConfig, rng_m: float, v: float, az: float, el: float, noise: float = 2.0
) -> np.ndarray:
    """One point target at range ``rng_m``, radial velocity ``v``, azimuth/elevation (rad)."""
    u = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    return synthesize_frame(
        radar,
        (rng_m * u)[None],
        (v * u)[None],
        np.ones(1),
        params=RadarSimParams(noise_std=noise),
        rng=np.random.default_rng(3),
    )


# -- same API everywhere ----------------------------------------------------------------------


def test_backends_export_the_same_kernels_with_the_same_parameters() -> None:
    mods = [__import__(m, fromlist=["_"]) for m in MODULES.values()]
    for name in KERNELS:
        params = [
            [(p.name, p.default) for p in inspect.signature(getattr(m, name)).parameters.values()]
            for m in mods
        ]
        assert params[0] == params[1] == params[2], name


def test_backend_names_and_missing_device() -> None:
    with pytest.raises(SensingError, match="unknown sensing backend 'gpu'.*numpy, cpu, cuda"):
        backend("gpu")
    assert backend("numpy") is ref
    if SIM:
        return
    from numba import cuda

    if not cuda.is_available():
        with pytest.raises(SensingError, match="needs a CUDA GPU.*NUMBA_ENABLE_CUDASIM"):
            backend("cuda")


# -- kernels on random input ------------------------------------------------------------------


def test_elementwise_and_fft_kernels_match_reference(be: ModuleType) -> None:
    x = _noise((8, 3, 4, 32))
    w = np.hanning(32).astype(np.float32)
    w8 = np.hamming(8).astype(np.float32)
    _close(be.remove_dc(x), ref.remove_dc(x))
    _close(be.apply_window(x, w, -1), ref.apply_window(x, w, -1))
    _close(be.apply_window(x, w8, 0), ref.apply_window(x, w8, 0))
    _close(be.range_fft(x, w, 64), ref.range_fft(x, w, 64))
    _close(be.range_fft(x), ref.range_fft(x))
    _close(be.remove_static_clutter(x, 0), ref.remove_static_clutter(x, 0))
    _close(be.remove_static_clutter(x, 2), ref.remove_static_clutter(x, 2))
    _close(be.doppler_fft(x, w8, 0, True), ref.doppler_fft(x, w8, 0, True))
    _close(be.doppler_fft(x, None, 0, False), ref.doppler_fft(x, None, 0, False))


def test_reference_kernels_against_definitions() -> None:
    x = _noise((8, 3, 4, 32))
    assert np.abs(ref.remove_dc(x).mean(axis=-1)).max() < 1e-5
    assert np.abs(ref.remove_static_clutter(x, 0).mean(axis=0)).max() < 1e-5
    # a tone in bin 5 of a 32-sample chirp lands in bin 10 of a 64-point FFT
    tone = np.exp(2j * np.pi * 5 * np.arange(32) / 32).astype(np.complex64)
    assert int(np.abs(ref.range_fft(tone, n=64)).argmax()) == 10
    # slow-time rotation of +2 bins of 8 lands at 8 // 2 + 2 after the shift
    rot = np.exp(2j * np.pi * 2 * np.arange(8) / 8).astype(np.complex64)[:, None]
    assert int(np.abs(ref.doppler_fft(rot, axis=0)).argmax()) == 6


def test_cfar_kernels_match_reference_and_reference_matches_loops(be: ModuleType) -> None:
    g = np.random.default_rng(1)
    p2 = g.exponential(1.0, (16, 40))
    p2[5, 20] = 300.0
    p1 = p2[5].copy()
    for name, args in [
        ("ca_cfar_2d", ((1, 2), (2, 3), 10.0)),
        ("os_cfar_2d", ((1, 2), (2, 3), 10.0, 0.5)),
    ]:
        m_ref, n_ref = getattr(ref, name)(p2, *args)
        m, n = getattr(be, name)(p2, *args)
        np.testing.assert_allclose(_host(n), n_ref, rtol=1e-9)
        assert np.array_equal(_host(m), m_ref) and m_ref[5, 20]
        # sensing.cfar is checked against plain loops in test_sensing_detect
        np.testing.assert_allclose(n_ref, getattr(cfar_module, name)(p2, *args)[1], rtol=1e-9)
    for name, args in [("ca_cfar_1d", (2, 8, 10.0)), ("os_cfar_1d", (2, 8, 10.0, 0.75))]:
        m_ref, n_ref = getattr(ref, name)(p1, *args)
        m, n = getattr(be, name)(p1, *args)
        np.testing.assert_allclose(_host(n), n_ref, rtol=1e-9)
        assert np.array_equal(_host(m), m_ref) and m_ref[20]
        np.testing.assert_allclose(n_ref, getattr(cfar_module, name)(p1, *args)[1], rtol=1e-9)
    mask = p2 > 2.5
    peaks = ref.group_peaks(p2, mask)
    assert np.array_equal(be.group_peaks(p2, mask), peaks)
    assert [5, 20] in peaks.tolist()


def test_angle_kernels_find_a_plane_wave(be: ModuleType) -> None:
    lay = ArrayLayout.from_radar(TINY)
    pos = TINY.virtual_positions.reshape(-1, 2)
    u, w = np.array([0.25, -0.5, 0.0]), np.array([0.125, 0.0, -0.25])  # on the FFT grid
    snap = np.exp(-1j * np.pi * (np.outer(u, pos[:, 0]) + np.outer(w, pos[:, 1])))
    snap = snap.astype(np.complex64)
    _close(be.angle_fft(snap, lay), ref.angle_fft(snap, lay))
    # as detections at zero Doppler (no TDM correction) of a (D, C, R) cube
    rd = np.zeros((TINY.n_loops, lay.n_channels, 3), np.complex64)
    rd[TINY.n_loops // 2] = snap.T
    peaks = np.array([[TINY.n_loops // 2, k] for k in range(3)])
    uw = be.aoa(rd, peaks, lay)
    np.testing.assert_allclose(uw, ref.aoa(rd, peaks, lay))
    np.testing.assert_allclose(uw[:, 0], u, atol=1e-9)
    np.testing.assert_allclose(uw[:, 1], w, atol=1e-9)


def test_calibration_undoes_channel_errors(be: ModuleType) -> None:
    """A cascade's per-channel beat-frequency and phase errors, measured on a boresight reflector, are removed."""
    clean = _target_frame(TINY, 8.0, 0.0, 0.0, 0.0, noise=0.0)
    g = np.random.default_rng(4)
    gain = (np.exp(1j * g.uniform(-np.pi, np.pi, (3, 4))) * g.uniform(0.7, 1.3, (3, 4))).astype(
        np.complex64
    )
    offset = g.integers(-2, 3, (3, 4)).astype(float)
    ramp = np.exp(2j * np.pi * offset[..., None] * np.arange(64) / 64)
    bad = (clean * (gain[..., None] * ramp)[None]).astype(np.complex64)
    # measure like TI's calibration: per channel, the range-FFT peak's bin and complex value
    spec = ref.range_fft(bad[0])  # (tx, rx, range)
    bins = np.abs(spec).argmax(axis=-1)
    values = np.take_along_axis(spec, bins[..., None], -1)[..., 0]
    cal = Calibration.from_reference_target(values, bins)
    np.testing.assert_array_equal(cal.range_offset, offset - offset[0, 0])
    fixed = _host(be.calibrate(bad, cal))
    _close(fixed, ref.calibrate(bad, cal))
    # equal to the clean frame up to channel (0, 0)'s own error, common to all channels
    common = gain[0, 0] * np.exp(2j * np.pi * offset[0, 0] * np.arange(64) / 64)
    # (to within the reflector's small near-field phase differences, which calibration absorbs)
    np.testing.assert_allclose(fixed, clean * common, atol=2e-2 * np.abs(clean).max())
    with pytest.raises(SensingError, match=r"needs \(n_tx, n_rx\) = \(3, 4\)"):
        be.calibrate(bad, Calibration(gain[:2], offset[:2]))


# -- the chain on a simulated target ----------------------------------------------------------


def test_chain_puts_a_target_where_it_is(be: ModuleType) -> None:
    r = TINY
    rng_m, v, az, el = 2.4, 0.6, np.deg2rad(20), np.deg2rad(12)
    cube = _target_frame(r, rng_m, v, az, el)
    plan = Plan.build(r)
    rd, power = be.range_doppler(cube, plan)
    rd_ref, power_ref = ref.range_doppler(cube, plan)
    _close(rd, rd_ref)
    _close(power, power_ref)
    d, rb = np.unravel_index(int(_host(power).argmax()), power_ref.shape)
    assert abs(rb - rng_m / r.range_resolution) <= 1
    assert abs(d - (r.n_loops // 2 + v / r.velocity_resolution)) <= 1
    pts = be.point_cloud(cube, plan)
    pts_ref = ref.point_cloud(cube, plan)
    assert pts.shape == pts_ref.shape == (1, 5)
    np.testing.assert_allclose(pts, pts_ref, rtol=1e-5, atol=1e-5)
    x, y, z, vel, snr = pts[0]
    truth = rng_m * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    lay = plan.layout
    # within a range bin plus an angle bin (u spacing 2/n_az, w spacing 2/n_el) of the truth
    assert np.linalg.norm([x, y, z] - truth) < r.range_resolution + rng_m * (
        2 / lay.n_az + 2 / lay.n_el
    )
    assert abs(vel - v) <= r.velocity_resolution
    assert snr > 20


@pytest.mark.parametrize("profile", ["iwr6843_oob", "rtpose_mmwcas"])
def test_cpu_chain_equals_reference_and_extractor_on_full_arrays(profile: str) -> None:
    """Full-size frames (the cascade's 86×7 virtual aperture too); the extractor is the public API."""
    radar = load_radar_config(find_config(profile, "radars"))
    if profile == "rtpose_mmwcas":
        radar = radar.replace(n_loops=16)
    cube = _target_frame(radar, 3.0, 0.5, np.deg2rad(-25), np.deg2rad(8))
    cube += _target_frame(radar, 5.0, -0.3, np.deg2rad(30), 0.0)
    plan = Plan.build(radar)
    pts = backend("cpu").point_cloud(cube, plan)
    assert len(pts) >= 2
    np.testing.assert_allclose(pts, ref.point_cloud(cube, plan), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(pts, PointCloudExtractor(radar)(cube), rtol=1e-5, atol=1e-4)


def test_chain_with_calibration_and_dc_removal(be: ModuleType) -> None:
    cube = _target_frame(TINY, 2.0, -0.4, np.deg2rad(-15), 0.0) + np.complex64(30 + 20j)
    cal = Calibration(
        np.exp(1j * np.linspace(0, 1, 12)).reshape(3, 4).astype(np.complex64), np.zeros((3, 4))
    )
    params = PointCloudParams(method="os", train=(2, 4))  # small: the simulator sorts in Python
    plan = Plan.build(TINY, params, calibration=cal, dc_removal=True)
    _close(be.range_doppler(cube, plan)[1], ref.range_doppler(cube, plan)[1])
    np.testing.assert_allclose(
        be.point_cloud(cube, plan), ref.point_cloud(cube, plan), rtol=1e-5, atol=1e-4
    )


def test_doppler_profiles_and_micro_doppler_follow_velocity(be: ModuleType) -> None:
    w = np.hanning(TINY.n_loops).astype(np.float32)
    profiles = []
    for v in (-0.9, 0.0, 0.5):
        cube = _target_frame(TINY, 2.5, v, 0.0, 0.0)
        prof = _host(be.doppler_profiles(cube, w))
        # float32 rounding of the removed static part: 1e-4 of what is left
        _close(prof, ref.doppler_profiles(cube, w), rel=1e-4)
        profiles.append(prof)
    p = np.stack(profiles)
    lo, hi = int(2.0 / TINY.range_resolution), int(3.0 / TINY.range_resolution) + 1
    s = _host(be.micro_doppler(p, lo, hi))
    np.testing.assert_allclose(s, ref.micro_doppler(p, lo, hi), atol=1e-3)
    vel = (s.argmax(axis=1) - TINY.n_loops // 2) * TINY.velocity_resolution
    assert vel[0] == pytest.approx(-0.9, abs=TINY.velocity_resolution)
    assert vel[2] == pytest.approx(0.5, abs=TINY.velocity_resolution)
    # the static target is removed by clutter removal: no line stands out in frame 1
    assert s[1].max() - np.median(s[1]) < s[0].max() - np.median(s[0]) - 20


# -- bad input --------------------------------------------------------------------------------


def test_bad_input_names_expected_and_actual(be: ModuleType) -> None:
    plan = Plan.build(TINY)
    good = _noise(TINY.frame_shape)
    with pytest.raises(
        SensingError, match=r"expected shape \(16, 3, 4, 64\).*got \(16, 3, 4, 32\)"
    ):
        be.point_cloud(good[..., :32], plan)
    nan = good.copy()
    nan[1, 2, 3, 4] = np.nan
    with pytest.raises(SensingError, match="expected finite values, got 1 NaN or inf"):
        be.point_cloud(nan, plan)
    with pytest.raises(SensingError, match="got 1 NaN or inf"):
        be.remove_dc(nan)
    with pytest.raises(SensingError, match="expected a signal, got all zeros"):
        be.range_doppler(np.zeros_like(good), plan)
    with pytest.raises(SensingError, match="expected 2 dimensions, got shape"):
        be.ca_cfar_2d(np.ones(8))
    with pytest.raises(SensingError, match="non-negative power"):
        be.os_cfar_1d(-np.ones(8))
    with pytest.raises(SensingError, match=r"window: expected shape \(64,\), got \(32,\)"):
        be.apply_window(good, np.ones(32), -1)
    with pytest.raises(SensingError, match="expected 0 <= lo < hi <= 64, got 10:70"):
        be.micro_doppler(np.ones((2, 16, 64), np.float32), 10, 70)


# -- the CUDA backend, in the simulator -------------------------------------------------------


@pytest.mark.skipif(SIM, reason="the simulator is on: the cuda tests ran in this process")
def test_cuda_backend_in_the_simulator() -> None:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", __file__],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    summary = res.stdout.strip().splitlines()[-1]
    assert "failed" not in summary and int(summary.split(" passed")[0].split()[-1]) >= 9, summary
