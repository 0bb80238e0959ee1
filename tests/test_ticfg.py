"""TI .cfg parsing, writing and refusal of impossible configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers import ConfigError, find_config, parse_ti_cfg, read_ti_cfg, write_ti_cfg

CFG = find_config("iwr6843_oob.cfg", "radars")


def test_parses_units_into_si() -> None:
    cfg = read_ti_cfg(CFG, device="iwr6843")
    r = cfg.radar
    assert r.start_frequency == 60e9
    assert r.slope == 60e12
    assert r.idle_time == pytest.approx(7e-6) and r.ramp_end_time == pytest.approx(60e-6)
    assert r.sample_rate == 5e6 and r.n_samples == 256
    assert r.tx_order == (0, 2, 1)  # txMask 1, 4, 2
    assert r.rx_channels == (0, 1, 2, 3)
    assert r.n_loops == 32 and r.frame_period == pytest.approx(0.1)
    assert r.adc.iq_swap and r.adc.complex and r.adc.bits == 16
    assert cfg.gui_monitor["detected_objects"] == 1 and cfg.gui_monitor["stats_info"] == 1
    assert cfg.low_power == (0, 0)
    assert any(line.startswith("cfarCfg -1 0") for line in cfg.other)


def test_round_trip_text_and_config() -> None:
    cfg = read_ti_cfg(CFG, device="iwr6843")
    text = write_ti_cfg(cfg)
    lines = text.splitlines()
    assert lines[0] == "sensorStop" and lines[1] == "flushCfg" and lines[-1] == "sensorStart"
    again = parse_ti_cfg(text, device="iwr6843", name=cfg.radar.name)
    assert again.radar == cfg.radar
    assert again.other == cfg.other and again.gui_monitor == cfg.gui_monitor
    assert write_ti_cfg(again) == text


def test_yaml_profile_writes_a_cfg_that_reads_back() -> None:
    from drivers import load_radar_config
    from drivers.ticfg import TiCfg

    r = load_radar_config(find_config("hupr_iwr1843", "radars"))
    back = parse_ti_cfg(TiCfg(radar=r).to_text(), device="iwr1843", name=r.name).radar
    assert back.derived() == pytest.approx(r.derived())
    assert back.tx_order == r.tx_order


def _cfg(**repl: str) -> str:
    text = CFG.read_text()
    for old, new in repl.items():
        text = text.replace(old, new)
    return text


def test_refuses_tx_mask_not_matching_chirps() -> None:
    text = _cfg(**{"channelCfg 15 7 0": "channelCfg 15 3 0"})
    with pytest.raises(
        ConfigError,
        match=r"<cfg>:10: chirpCfg fires TX2, which channelCfg txMask 3 does not enable",
    ):
        parse_ti_cfg(text, device="iwr6843")


def test_refuses_adc_window_longer_than_ramp() -> None:
    text = _cfg(**{"profileCfg 0 60 7 6 60 ": "profileCfg 0 60 7 6 40 "})
    with pytest.raises(
        ConfigError, match="ADC sampling window ends at 57.20 us, after the ramp ends at 40.00 us"
    ):
        parse_ti_cfg(text, device="iwr6843")


def test_refuses_short_frame_period() -> None:
    with pytest.raises(ConfigError, match="frame_period 5 ms is shorter than its 96 chirps"):
        parse_ti_cfg(_cfg(**{"frameCfg 0 2 32 0 100": "frameCfg 0 2 32 0 5"}), device="iwr6843")


def test_refuses_sample_rate_above_limit() -> None:
    text = _cfg(**{"256 5000 0 0 30": "256 15000 0 0 30"})
    with pytest.raises(ConfigError, match="above the iwr6843 limit"):
        parse_ti_cfg(text, device="iwr6843")


def test_malformed_lines_name_file_line_and_reason(tmp_path: Path) -> None:
    p = tmp_path / "bad.cfg"
    p.write_text("profileCfg 0 77 7 6 57\nchirpCfg 0 0 0 0 0 0 0 1\n")
    with pytest.raises(ConfigError) as exc:
        read_ti_cfg(p)
    assert str(exc.value) == f"{p}:1: profileCfg takes 14 arguments, got 5"
    p.write_text(CFG.read_text().replace("frameCfg 0 2 32", "frameCfg 0 2 x32"))
    with pytest.raises(ConfigError, match=r"bad.cfg:12: frameCfg: 'x32' is not a number"):
        read_ti_cfg(p, device="iwr6843")
    p.write_text("sensorStop\n")
    with pytest.raises(ConfigError, match="bad.cfg: missing profileCfg line"):
        read_ti_cfg(p)


def test_multi_tx_chirp_refused() -> None:
    with pytest.raises(ConfigError, match="txMask 5 fires 2 transmitters"):
        parse_ti_cfg(
            _cfg(**{"chirpCfg 0 0 0 0 0 0 0 1": "chirpCfg 0 0 0 0 0 0 0 5"}), device="iwr6843"
        )
