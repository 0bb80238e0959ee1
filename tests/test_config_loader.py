"""Typed YAML loading: one-line errors naming file, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers import ConfigError, load_radar_config, load_rig


def _write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = Path(__file__).resolve().parent.parent / "configs" / "radars" / "hupr_iwr1843.yaml"


def test_malformed_yaml_is_one_line(tmp_path: Path) -> None:
    p = _write(tmp_path, "name: x\nslope: [1, 2\n")
    with pytest.raises(ConfigError) as exc:
        load_radar_config(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}: invalid YAML at line ")
    assert "\n" not in msg


def test_wrong_type_names_key(tmp_path: Path) -> None:
    p = _write(tmp_path, GOOD.read_text().replace("n_samples: 256", "n_samples: lots"))
    with pytest.raises(ConfigError) as exc:
        load_radar_config(p)
    assert str(exc.value) == f"{p}: n_samples: expected an integer, got 'lots'"


def test_range_limit_names_key(tmp_path: Path) -> None:
    p = _write(tmp_path, GOOD.read_text().replace("slope: 70.0e12", "slope: -3"))
    with pytest.raises(ConfigError) as exc:
        load_radar_config(p)
    assert str(exc.value) == f"{p}: slope: must be > 0, got -3.0"


def test_missing_and_unknown_keys(tmp_path: Path) -> None:
    p = _write(tmp_path, GOOD.read_text().replace("n_loops: 64\n", ""))
    with pytest.raises(ConfigError, match=r"r.yaml: n_loops: required key is missing"):
        load_radar_config(p)
    p = _write(tmp_path, GOOD.read_text() + "slop: 3\n")
    with pytest.raises(ConfigError, match=r"r.yaml: slop: unknown key \(allowed: name, device"):
        load_radar_config(p)


def test_nested_literal_error(tmp_path: Path) -> None:
    p = _write(tmp_path, GOOD.read_text().replace("layout: dca1000_2lane", "layout: 3lane"))
    with pytest.raises(
        ConfigError,
        match=r"adc.layout: must be one of 'dca1000_2lane', 'dca1000_4lane', 'mmwcas', got '3lane'",
    ):
        load_radar_config(p)


def test_rig_bad_sensor_name_and_reference(tmp_path: Path) -> None:
    rig = f"name: t\nreference: radar\nsensors:\n  radar_h: {{kind: radar, radar: {GOOD}}}\n"
    p = _write(tmp_path, rig, "rig.yaml")
    with pytest.raises(
        ConfigError, match=r"sensors.radar_h: sensor names are letters, digits and '-', no '_'"
    ):
        load_rig(p)
    p = _write(tmp_path, rig.replace("radar_h", "radar-h"), "rig.yaml")
    with pytest.raises(
        ConfigError, match=r"reference: 'radar' is not one of the sensors \(radar-h\)"
    ):
        load_rig(p)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        load_radar_config("nope.yaml")
