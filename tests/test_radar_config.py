"""Derived radar quantities against values worked out by hand from FMCW physics."""

from __future__ import annotations

import numpy as np
import pytest

from drivers import ConfigError, find_config, load_radar_config
from drivers.radar import SPEED_OF_LIGHT, RadarConfig

C = SPEED_OF_LIGHT


def test_issue_example_70mhz_us_256_samples_5209ksps() -> None:
    # B = 70e12 Hz/s * 256 / 5.209e6 s = 3.440 GHz -> c/2B = 4.36 cm (0.044 m as quoted)
    r = load_radar_config(find_config("hupr_iwr1843", "radars"))
    assert r.bandwidth == pytest.approx(70e12 * 256 / 5.209e6)
    assert r.range_resolution == pytest.approx(0.0436, abs=5e-4)
    assert round(r.range_resolution, 3) == 0.044


def test_rtpose_profile_matches_published_numbers() -> None:
    r = load_radar_config(find_config("rtpose_mmwcas", "radars"))
    assert r.range_resolution == pytest.approx(0.0451, abs=1e-4)  # 4.51 cm
    assert r.max_range == pytest.approx(11.54, abs=0.01)
    assert r.velocity_resolution == pytest.approx(0.038, abs=5e-4)
    assert r.max_velocity == pytest.approx(1.22, abs=0.01)
    assert r.chirps_per_frame == 768 and r.n_virtual == 192
    # 86-element azimuth line + three 16-element rows at elevations 1, 4, 6
    pos = r.virtual_positions.reshape(-1, 2)
    uniq = {tuple(p) for p in pos.tolist()}
    assert len(uniq) == 134
    line = sorted(a for a, e in uniq if e == 0)
    assert line == list(np.arange(86.0))
    for el in (1, 4, 6):
        assert sum(1 for a, e in uniq if e == el) == 16
    # per chip 256 samples x 12 TX x 64 loops x 4 RX x (I, Q) = 1,572,864 int16 words (TI's reader counts
    # words); four chips at 2 bytes a word
    assert r.adc_words_per_frame == 4 * 1_572_864
    assert r.adc_bytes_per_frame == 2 * 4 * 1_572_864


def test_hupr_profile_array_and_frame_size() -> None:
    r = load_radar_config(find_config("hupr_iwr1843", "radars"))
    assert r.chirps_per_frame == 192
    assert r.adc_bytes_per_frame == 786_432  # 2 B * IQ * 256 samples * 4 RX * 192 chirps
    v = r.virtual_positions  # (tx in firing order, rx, 2)
    assert v[0, :, 0].tolist() == [0, 1, 2, 3] and v[0, :, 1].tolist() == [0] * 4  # TX0
    assert v[1, :, 0].tolist() == [2, 3, 4, 5] and v[1, :, 1].tolist() == [1] * 4  # TX1 elevated
    assert v[2, :, 0].tolist() == [4, 5, 6, 7]  # TX2


def test_iwr6843_yaml_and_cfg_agree_and_physics() -> None:
    from drivers import read_ti_cfg

    y = load_radar_config(find_config("iwr6843_oob", "radars"))
    c = read_ti_cfg(find_config("iwr6843_oob.cfg", "radars"), device="iwr6843").radar
    for k, v in y.derived().items():
        assert c.derived()[k] == pytest.approx(v), k
    # hand-worked: Tc = 67 us, 3 TX -> T_loop 201 us; f_c = 60 GHz + 60e12*(6us + 25.6us)
    fc = 60e9 + 60e12 * (6e-6 + 256 / 5e6 / 2)
    lam = C / fc
    assert y.max_velocity == pytest.approx(lam / (4 * 3 * 67e-6))
    assert y.velocity_resolution == pytest.approx(lam / (2 * 32 * 3 * 67e-6))
    assert y.max_range == pytest.approx(5e6 * C / (2 * 60e12))
    assert y.duty_cycle == pytest.approx(96 * 67e-6 / 0.1)


def _base(**kw: object) -> dict[str, object]:
    d: dict[str, object] = dict(
        name="t",
        device="iwr1843",
        start_frequency=77e9,
        slope=70e12,
        idle_time=7e-6,
        adc_start_time=6e-6,
        ramp_end_time=57e-6,
        n_samples=256,
        sample_rate=5.209e6,
        n_loops=64,
        frame_period=0.1,
        tx_order=(0, 1, 2),
    )
    d.update(kw)
    return d


def test_refuses_adc_window_longer_than_ramp() -> None:
    with pytest.raises(
        ConfigError, match="ADC sampling window ends at 55.15 us, after the ramp ends at 50.00 us"
    ):
        RadarConfig(**_base(ramp_end_time=50e-6))


def test_refuses_sample_rate_above_device_limit() -> None:
    with pytest.raises(ConfigError, match="above the iwr1843 limit of 12.5 Msps"):
        RadarConfig(**_base(sample_rate=20e6, n_samples=512))


def test_refuses_frame_period_shorter_than_chirps() -> None:
    with pytest.raises(
        ConfigError, match=r"frame_period 10 ms is shorter than its 192 chirps \(12\.288 ms\)"
    ):
        RadarConfig(**_base(frame_period=0.01))


def test_refuses_unknown_tx() -> None:
    with pytest.raises(ConfigError, match="TX 5 does not exist on iwr1843"):
        RadarConfig(**_base(tx_order=(0, 5)))
