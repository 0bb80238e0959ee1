"""RT-Pose's MMWCAS chain against plain implementations of the published steps, physics and files.

The expected values here are written from RT-Pose's published processing (TI's cascade MATLAB
scripts and 4Dradar2xyz.py) and TI's file formats, not taken from the code under test.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
import scipy.io as sio

from drivers import (
    DriversError,
    MmwcasCapture,
    find_config,
    load_radar_config,
    write_mmwcas_capture,
)
from drivers.radar import RadarConfig
from drivers.sim import RadarSimParams, synthesize_frame
from sensing import SensingError
from sensing.rtpose import (
    CascadeCalibration,
    RtposeProcessor,
    angle_fft,
    aperture_layout,
    physical_taps,
    range_doppler,
    reference_taps,
    resample,
    roi_slices,
    roi_tensor,
    to_aperture,
    training_tensor,
)

rng = np.random.default_rng(7)
# TI's cascade RX processing order (hardware_param.m TI_Cascade_RX_ID, 1-based device RX)
TI_RX_ID = [13, 14, 15, 16, 1, 2, 3, 4, 9, 10, 11, 12, 5, 6, 7, 8]


def _radar(loops: int) -> RadarConfig:
    return load_radar_config(find_config("rtpose_mmwcas", "radars")).replace(n_loops=loops)


@pytest.fixture(scope="module")
def radar8() -> RadarConfig:
    return _radar(8)


@pytest.fixture(scope="module")
def calib_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A calibration file as MATLAB writes it: integer RangeMat stored as uint16, complex PeakValMat."""
    rm = rng.integers(513, 518, (12, 16))
    rm[11, 0] = 516  # the reference (first TX fired = TX12, RX1); some entries lie below it
    pv = rng.normal(size=(12, 16)) + 1j * rng.normal(size=(12, 16))
    path = tmp_path_factory.mktemp("cal") / "calibrateResults_high.mat"
    sio.savemat(
        path,
        {
            "calibResult": {"RangeMat": rm.astype(np.uint16), "PeakValMat": pv},
            "params": {"Slope_MHzperus": 78.986, "Sampling_Rate_sps": 8e6},
        },
    )
    return str(path)


@pytest.fixture(scope="module")
def procs(radar8: RadarConfig) -> dict[str, RtposeProcessor]:
    return {m: RtposeProcessor(radar8, resampler=m) for m in ("reference", "physical")}  # type: ignore[arg-type]


def _frame(radar: RadarConfig) -> np.ndarray:
    s = radar.frame_shape
    return (rng.normal(0, 200, s) + 1j * rng.normal(0, 200, s)).astype(np.complex64)


def _plain_calibration(path: str, radar: RadarConfig) -> np.ndarray:
    """datapath.m: per chirp slot and device RX, exp(-j w n) times the unit phase ratio."""
    m = sio.loadmat(path)["calibResult"][0, 0]
    rm, pv = m["RangeMat"].astype(float), m["PeakValMat"]
    t_ref = radar.tx_order[0]
    out = np.zeros((radar.n_tx, 16, radar.n_samples), complex)
    for k, t in enumerate(radar.tx_order):
        for r in range(16):
            f = (rm[t, r] - rm[t_ref, 0]) * 8e6 / 5e6 * 64.985e12 / 78.986e12
            w = 2 * math.pi * f / (256 * 5)
            ph = pv[t_ref, 0] / pv[t, r]
            out[k, r] = np.exp(-1j * w * np.arange(256)) * ph / abs(ph)
    return out


def _plain_range_doppler(frame: np.ndarray) -> np.ndarray:
    """rangeProcCascade + DopplerProcClutterRemove per channel: (D, R, tx, rx)."""
    L, T, R, S = frame.shape
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1, S + 1) / (S + 1))  # MATLAB hanning(256)
    out = np.zeros((L, 256, T, R), complex)
    for t in range(T):
        for r in range(R):
            x = frame[:, t, r, :].astype(complex)
            x = x - x.mean(axis=1, keepdims=True)
            rng_fft = np.fft.fft(x * win, 256, axis=1)
            out[:, :, t, r] = np.fft.fftshift(np.fft.fft(rng_fft, L, axis=0), axes=0)
    return out


def _plain_aperture(rd: np.ndarray, radar: RadarConfig) -> np.ndarray:
    """Process_4DRT.m with hardware_param.m's D table: channels TX-major, RX in TI_RX_ID order."""
    assert radar.antenna is not None
    tx = [radar.antenna.tx_positions[t] for t in radar.tx_order]
    rx_az = [radar.antenna.rx_positions[i - 1][0] for i in TI_RX_ID]
    D, R = rd.shape[:2]
    out = np.zeros((D, R, 86, 7), complex)
    taken = set()
    for k, (taz, tel) in enumerate(tx):
        for m, rid in enumerate(TI_RX_ID):
            pos = (int(taz + rx_az[m]), int(tel))
            if pos not in taken:  # MATLAB unique: the first channel with a position wins
                taken.add(pos)
                out[:, :, pos[0], pos[1]] = rd[:, :, k, rid - 1]
    return out


def _plain_polar(frame: np.ndarray, radar: RadarConfig) -> np.ndarray:
    ap = _plain_aperture(_plain_range_doppler(frame), radar)
    a = np.fft.fftshift(np.fft.fft(ap, 128, axis=2), axes=2)
    return np.fft.fftshift(np.fft.fft(a, 32, axis=3), axes=3)


# -- calibration and the polar chain, step by step ---------------------------------------------
def test_calibration_factors_follow_ti_datapath(calib_path: str, radar8: RadarConfig) -> None:
    cal = CascadeCalibration.load(calib_path)
    assert cal.slope_calib == pytest.approx(78.986e12) and cal.fs_calib == 8e6
    got = cal.factors(radar8)
    want = _plain_calibration(calib_path, radar8)
    np.testing.assert_allclose(got, want, atol=2e-5)
    # entries below the reference bin turn the other way (uint16 arithmetic would wrap instead)
    slope = np.angle(got[:, :, 1] / got[:, :, 0])
    assert (slope > 1e-4).any() and (slope < -1e-4).any()


def test_range_doppler_equals_per_channel_loops(radar8: RadarConfig) -> None:
    f = _frame(radar8)
    np.testing.assert_allclose(
        range_doppler(f, radar8), _plain_range_doppler(f), atol=1e-4 * 200 * 256 * 8
    )


def test_aperture_uses_matlab_channel_order_and_first_occurrence(radar8: RadarConfig) -> None:
    ap = aperture_layout(radar8)
    assert ap.shape == (86, 7) and len(ap.channel) == 134  # 134 unique positions (REFERENCES)
    rd = (rng.normal(size=(2, 3, 12, 16)) + 1j * rng.normal(size=(2, 3, 12, 16))).astype(
        np.complex64
    )
    np.testing.assert_array_equal(to_aperture(rd, ap), _plain_aperture(rd, radar8))


def test_angle_fft_is_padded_shifted_fft() -> None:
    g = rng.normal(size=(2, 3, 86, 7)) + 1j * rng.normal(size=(2, 3, 86, 7))
    want = np.fft.fftshift(np.fft.fft(g, 128, axis=2), axes=2)
    want = np.fft.fftshift(np.fft.fft(want, 32, axis=3), axes=3)
    np.testing.assert_allclose(angle_fft(g), want, atol=1e-4 * np.abs(want).max())


def test_processor_polar_equals_the_plain_chain(calib_path: str, radar8: RadarConfig) -> None:
    f = _frame(radar8)
    p = RtposeProcessor(radar8, CascadeCalibration.load(calib_path))
    want = _plain_polar(f * _plain_calibration(calib_path, radar8)[None], radar8)
    got = p.polar(f)
    assert got.shape == (8, 256, 128, 32) and got.dtype == np.complex64
    np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max())


# -- a point target ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def target() -> tuple[RtposeProcessor, np.ndarray, np.ndarray, float]:
    """A quiet 16-loop frame of one reflector on voxel (18, 72, 165), moving one Doppler bin away.

    It is 7.6 m out: the simulator's virtual array spans 4 cm beside the origin, so nearer
    targets are seen measurably off their direction from the origin (near field).
    """
    radar = _radar(16)
    pos = np.array([165 * 11.6 / 256, -10.05 + 72 * 20.1 / 128, -5.8 + 18 * 11.6 / 32])
    v = radar.velocity_resolution
    f = synthesize_frame(
        radar, pos[None], (v * pos / np.linalg.norm(pos))[None], np.array([1.0]),
        params=RadarSimParams(noise_std=0.0),
    )  # fmt: skip
    return RtposeProcessor(radar, resampler="physical"), f, pos, v


def test_point_target_lands_at_its_polar_bins(target: tuple) -> None:
    p, f, pos, v = target
    radar = p.radar
    cube = np.abs(p.polar(f))
    d, r, a, e = np.unravel_index(int(cube.argmax()), cube.shape)
    R = np.linalg.norm(pos)
    assert abs(r - R / radar.range_resolution) <= 1
    assert d - 8 == round(v / radar.velocity_resolution)
    # sim model: azimuth index grows toward +y, elevation toward +z, carrier phase +2πfτ
    assert abs(a - (64 - 64 * pos[1] / R)) <= 1
    assert abs(e - (16 - 16 * pos[2] / R)) <= 1


def test_physical_resampler_puts_target_in_its_voxel(target: tuple) -> None:
    p, f, pos, _ = target
    vol = np.abs(p.dzyx(f)).sum(axis=0)
    k, j, i = np.unravel_index(int(vol.argmax()), vol.shape)
    assert abs(i - 165) <= 1 and abs(j - 72) <= 1 and abs(k - 18) <= 1


def test_physical_elevation_sign_option(radar8: RadarConfig) -> None:
    """A polar cube lit only at elevation bin 24 (above the centre bin 16): down by default, up when asked."""
    polar = np.zeros((32, 128, 256, 2), np.complex64)  # (E, A, R, D)
    polar[24, 64, 100] = 1e6  # far above the 1+0j of out-of-view voxels
    for up, sign in ((False, -1), (True, 1)):
        vol = np.abs(resample(polar, physical_taps(radar8, up))).sum(axis=0)
        k, j, i = np.unravel_index(int(vol.argmax()), vol.shape)
        z, r = -5.8 + k * 11.6 / 32, 100 * radar8.range_resolution
        assert np.sign(z) == sign and abs(abs(z) / r - 0.5) < 0.1  # |sin| = (24 - 16) / 16


# -- the reference resampler, by hand ---------------------------------------------------------
def _find_index(value: float, arr: np.ndarray) -> tuple[int, int]:
    """4Dradar2xyz.findIndexForBiInt, as published: the bracket one bin low."""
    i0 = i1 = -1
    for i in range(len(arr) - 1):
        if value < arr[i + 1]:
            i0, i1 = i, i + 1
            break
    return i0 - 1, i1 - 1


def _reference_voxel(polar_drae: np.ndarray, k: int, j: int, i: int) -> np.ndarray:
    """One output voxel (after the y flip) computed as 4Dradar2xyz.py does: (D,) complex."""
    deg = math.pi / 180.0
    x = np.arange(0, 11.6, 11.6 / 256)[i]
    y = np.arange(-10.05, 10.05, 20.1 / 128)[127 - j]
    z = np.arange(-5.8, 5.8, 11.6 / 32)[k]
    r = math.sqrt(x**2 + y**2 + z**2)
    a = math.pi / 2 if y == 0.0 else math.atan(x / y)
    if a < 0:
        a += math.pi
    e = math.pi / 2 if x**2 + y**2 == 0 else math.atan(z / math.sqrt(x**2 + y**2))
    e, a = e + 30 * deg, 150 * deg - a
    if not (0 <= r <= 11.6 and 0 <= e <= 60 * deg and 0 <= a <= 120 * deg):
        return np.ones(polar_drae.shape[0], complex)
    arr_r = np.arange(0, 11.6, 11.6 / 256)
    arr_e = np.arange(0, 60, 60 / 32) * deg
    arr_a = np.arange(0, 120, 120 / 128) * deg
    (r0, r1), (e0, e1), (a0, a1) = (
        _find_index(r, arr_r), _find_index(e, arr_e), _find_index(a, arr_a),
    )  # fmt: skip
    if min(r0, r1, e0, e1, a0, a1) < 0:
        return np.ones(polar_drae.shape[0], complex)
    rea = polar_drae.transpose(0, 1, 3, 2)  # (D, R, E, A)
    val = 0
    for ri, wr in ((r0, arr_r[r1] - r), (r1, r - arr_r[r0])):
        for ei, we in ((e0, arr_e[e1] - e), (e1, e - arr_e[e0])):
            for ai, wa in ((a0, arr_a[a1] - a), (a1, a - arr_a[a0])):
                val = val + rea[:, ri, ei, ai] * (wr * we * wa)
    return val / ((arr_r[r1] - arr_r[r0]) * (arr_e[e1] - arr_e[e0]) * (arr_a[a1] - arr_a[a0]))


def test_reference_resampler_matches_the_published_formula() -> None:
    polar = (rng.normal(size=(2, 256, 128, 32)) + 1j * rng.normal(size=(2, 256, 128, 32))).astype(
        np.complex64
    )
    out = resample(np.ascontiguousarray(polar.transpose(3, 2, 1, 0)), reference_taps())
    assert out.shape == (2, 32, 128, 256)
    # in view, straight ahead, left/right/up/down, at the view's edge, at x = 0, beyond 11.6 m
    voxels = [(16, 63, 100), (20, 50, 120), (10, 90, 200), (25, 70, 30), (16, 63, 1),
              (16, 10, 0), (31, 0, 255), (16, 127, 12), (5, 64, 60)]  # fmt: skip
    in_view = 0
    for k, j, i in voxels:
        want = _reference_voxel(polar.astype(complex), k, j, i)
        in_view += not np.all(want == 1)
        np.testing.assert_allclose(out[:, k, j, i], want, rtol=1e-5, atol=1e-5)
    assert 3 <= in_view < len(voxels)


# -- training tensor and ROI ------------------------------------------------------------------
def test_training_tensor_and_roi_follow_the_loader() -> None:
    dzyx = (rng.normal(size=(4, 32, 128, 256)) + 1j * rng.normal(size=(4, 32, 128, 256))) * 3e7
    dzyx[:, 0, 0, 0] = 1.0
    f16 = training_tensor(dzyx.astype(np.complex64))
    m = np.abs(dzyx.astype(np.complex64))
    want = np.clip((np.maximum(m[0::2], m[1::2]) - 1) / (1e8 - 1), 0, None).astype(np.float16)
    np.testing.assert_array_equal(f16, want)
    assert f16[:, 0, 0, 0].tolist() == [0, 0]
    assert roi_slices() == (slice(13, 29), slice(32, 96), slice(17, 177))
    roi = roi_tensor(f16)
    assert roi.shape == (2, 16, 64, 160) and roi.dtype == np.float32
    np.testing.assert_array_equal(roi, f16[:, 13:29, 32:96, 17:177].astype(np.float32) / 10)


def test_processor_tensor_and_roi_agree_with_its_cube(
    radar8: RadarConfig, procs: dict[str, RtposeProcessor]
) -> None:
    f = _frame(radar8) * 1e3
    for p in procs.values():  # the physical one's taps are the cheaper to build
        if p.resampler == "reference":
            continue
        t = p.tensor(f)
        assert t.shape == (4, 32, 128, 256) and t.dtype == np.float16
        np.testing.assert_allclose(t, training_tensor(p.dzyx(f)), rtol=2e-3, atol=1e-7)
        np.testing.assert_array_equal(p.roi(f), roi_tensor(t))


def test_bad_inputs_name_expected_and_actual(
    radar8: RadarConfig, procs: dict[str, RtposeProcessor], tmp_path: pytest.TempPathFactory
) -> None:
    p = procs["physical"]
    with pytest.raises(SensingError, match=r"\(8, 12, 16, 128\).*\(8, 12, 16, 256\)"):
        p.roi(np.ones((8, 12, 16, 128), np.complex64))
    bad = tmp_path / "cal.mat"  # type: ignore[operator]
    sio.savemat(
        bad, {"calibResult": {"RangeMat": np.zeros((11, 16)), "PeakValMat": np.ones((11, 16))}}
    )
    with pytest.raises(SensingError, match=r"\(11, 16\).*\(12, 16\)"):
        RtposeProcessor(radar8, CascadeCalibration.load(bad))
    with pytest.raises(SensingError, match=r"even D.*\(3, 32, 128, 256\)"):
        training_tensor(np.ones((3, 32, 128, 256), np.complex64))
    with pytest.raises(SensingError, match=r"\(2, 16, 64, 160\)"):
        roi_tensor(np.ones((2, 16, 64, 160), np.float16))


# -- TDA2 capture files -----------------------------------------------------------------------
def _int_frames(radar: RadarConfig, n: int) -> list[np.ndarray]:
    s = radar.frame_shape
    return [
        (rng.integers(-3000, 3000, s) + 1j * rng.integers(-3000, 3000, s)).astype(np.complex64)
        for _ in range(n)
    ]


def test_tda2_capture_round_trip_and_index_layout(tmp_path: pytest.TempPathFactory) -> None:
    radar = _radar(2)
    a, b = _int_frames(radar, 3), _int_frames(radar, 2)
    write_mmwcas_capture(tmp_path, a, radar, split=0, timestamps_ns=np.array([10, 20, 30]))
    write_mmwcas_capture(tmp_path, b, radar, split=1, timestamps_ns=np.array([40, 50]))
    cap = MmwcasCapture(tmp_path, radar)  # type: ignore[arg-type]
    assert len(cap) == 5 and cap.timestamps_ns.tolist() == [10, 20, 30, 40, 50]
    for got, want in zip(cap, a + b, strict=True):
        np.testing.assert_array_equal(got, want)
    per_chip = 2 * 12 * 256 * 4 * 2 * 2  # loops x chirps x samples x 4 RX x IQ x int16
    raw = (tmp_path / "master_0000_idx.bin").read_bytes()  # type: ignore[operator]
    assert len(raw) == 24 + 3 * 48
    assert struct.unpack_from("<IIIIQ", raw, 0)[3:] == (3, 3 * per_chip)
    entry = struct.unpack_from("<HHIHH4IIQQ", raw, 24 + 48)  # frame 1
    assert entry[-3:] == (per_chip, 20, per_chip)  # size, timestamp, offset
    # chip 2 (slave1) holds RX 4-7: its first words are loop 0, chirp 0, sample 0, RX 4..7 as I, Q
    s1 = np.fromfile(tmp_path / "slave1_0000_data.bin", np.int16, 8)  # type: ignore[operator]
    want = np.stack([a[0][0, 0, 4:8, 0].real, a[0][0, 0, 4:8, 0].imag], axis=1).reshape(-1)
    np.testing.assert_array_equal(s1, want)


def test_tda2_bad_captures_say_which_file(tmp_path: pytest.TempPathFactory) -> None:
    radar = _radar(2)
    d = tmp_path
    write_mmwcas_capture(d, _int_frames(radar, 3), radar)
    per_chip = radar.adc_bytes_per_frame // 4
    with pytest.raises(DriversError, match=rf"{per_chip} B per chip.*expects {per_chip // 2} B"):
        MmwcasCapture(d, _radar(1))  # type: ignore[arg-type]  # config expects half the bytes
    p = d / "slave2_0000_data.bin"  # type: ignore[operator]
    p.write_bytes(p.read_bytes()[: per_chip * 2 + 100])
    with pytest.raises(
        DriversError, match=rf"slave2_0000_data.bin.*{per_chip * 2 + 100} B.*{per_chip * 3} B"
    ):
        MmwcasCapture(d, radar)  # type: ignore[arg-type]
    with pytest.warns(UserWarning, match="2 complete frames"):
        assert len(MmwcasCapture(d, radar, allow_truncated=True)) == 2  # type: ignore[arg-type]
    (d / "slave3_0000_data.bin").unlink()  # type: ignore[operator]
    with pytest.raises(DriversError, match="slave3_0000_data.bin"):
        MmwcasCapture(d, radar)  # type: ignore[arg-type]
