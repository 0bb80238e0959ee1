"""TI mmWave SDK CLI ``.cfg`` files: read into :class:`RadarConfig`, write back.

The CLI speaks in the firmware's units (GHz, µs, MHz/µs, ksps, ms); this module is the only
place those units appear. Commands the radar config does not model are kept verbatim, in order,
so a file round-trips.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .radar import DEVICES, AdcConfig, RadarConfig

# argument counts the firmware requires for the commands modelled here
_ARITY = {
    "profileCfg": 14,
    "chirpCfg": 8,
    "frameCfg": 7,
    "channelCfg": 3,
    "adcCfg": 2,
    "adcbufCfg": 5,
}
_GUI_FIELDS = (
    "detected_objects",
    "log_mag_range",
    "noise_profile",
    "range_azimuth_heatmap",
    "range_doppler_heatmap",
    "stats_info",
)


@dataclass
class TiCfg:
    """A parsed ``.cfg``: the radar config plus the output settings and untouched commands."""

    radar: RadarConfig
    gui_monitor: dict[str, int] = field(default_factory=dict)
    low_power: tuple[int, int] | None = None
    dfe_output_mode: int = 1
    other: list[str] = field(default_factory=list)

    def to_text(self) -> str:
        return write_ti_cfg(self)


def _bits(mask: int) -> list[int]:
    return [i for i in range(32) if mask >> i & 1]


def _num(text: str, source: str, line_no: int, cmd: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{source}:{line_no}: {cmd}: {text!r} is not a number") from None


def parse_ti_cfg(
    text: str, *, device: str = "iwr1843", source: str = "<cfg>", name: str | None = None
) -> TiCfg:
    """Parse CLI text. ``device`` supplies what the file does not say: antenna geometry and limits."""
    if device not in DEVICES:
        raise ConfigError(f"{source}: unknown device {device!r} (known: {', '.join(DEVICES)})")
    cmds: dict[str, list[tuple[int, list[float]]]] = {}
    other: list[str] = []
    gui: dict[str, int] = {}
    low_power = None
    dfe_mode = 1
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("%", 1)[0].strip()
        if not line:
            continue
        cmd, *args = line.split()
        if cmd in ("sensorStop", "sensorStart", "flushCfg"):
            continue
        if cmd in _ARITY:
            if len(args) != _ARITY[cmd]:
                raise ConfigError(
                    f"{source}:{line_no}: {cmd} takes {_ARITY[cmd]} arguments, got {len(args)}"
                )
            cmds.setdefault(cmd, []).append(
                (line_no, [_num(a, source, line_no, cmd) for a in args])
            )
        elif cmd == "guiMonitor":
            vals = [int(_num(a, source, line_no, cmd)) for a in args]
            # SDK 2.x+ has a leading subFrameIdx; SDK 1.x does not
            flags = vals[1:] if len(vals) == 7 else vals
            gui = dict(zip(_GUI_FIELDS, flags, strict=False))
            if len(vals) == 7:
                gui["subframe"] = vals[0]
        elif cmd == "lowPower" and len(args) == 2:
            low_power = (
                int(_num(args[0], source, line_no, cmd)),
                int(_num(args[1], source, line_no, cmd)),
            )
        elif cmd == "dfeDataOutputMode" and len(args) == 1:
            dfe_mode = int(_num(args[0], source, line_no, cmd))
        else:
            other.append(line)
    for required in ("profileCfg", "chirpCfg", "frameCfg", "channelCfg"):
        if required not in cmds:
            raise ConfigError(f"{source}: missing {required} line")
    if len(cmds["profileCfg"]) > 1:
        raise ConfigError(
            f"{source}:{cmds['profileCfg'][1][0]}: several profiles are not supported; use one profileCfg"
        )
    p_line, p = cmds["profileCfg"][0]
    f_line, f = cmds["frameCfg"][0]
    c_line, ch = cmds["channelCfg"][0]
    rx_channels = tuple(_bits(int(ch[0])))
    tx_enabled = set(_bits(int(ch[1])))

    chirp_tx: dict[int, int] = {}
    for line_no, c in cmds["chirpCfg"]:
        tx = _bits(int(c[7]))
        if len(tx) != 1:
            raise ConfigError(
                f"{source}:{line_no}: chirpCfg txMask {int(c[7])} fires {len(tx)} transmitters; "
                "TDM-MIMO needs exactly one per chirp"
            )
        if tx[0] not in tx_enabled:
            raise ConfigError(
                f"{source}:{line_no}: chirpCfg fires TX{tx[0]}, which channelCfg txMask {int(ch[1])} does not enable"
            )
        for idx in range(int(c[0]), int(c[1]) + 1):
            chirp_tx[idx] = tx[0]
    start, end = int(f[0]), int(f[1])
    missing = [i for i in range(start, end + 1) if i not in chirp_tx]
    if missing:
        raise ConfigError(
            f"{source}:{f_line}: frameCfg uses chirp {missing[0]}, which no chirpCfg defines"
        )
    tx_order = tuple(chirp_tx[i] for i in range(start, end + 1))

    adc = AdcConfig(layout=DEVICES[device].adc_layout)
    if "adcCfg" in cmds:
        _, a = cmds["adcCfg"][0]
        bits = {0: 12, 1: 14, 2: 16}.get(int(a[0]))
        if bits is None:
            raise ConfigError(f"{source}: adcCfg numADCBits must be 0, 1 or 2, got {int(a[0])}")
        adc = AdcConfig(layout=adc.layout, complex=int(a[1]) != 0, bits=bits)
    if "adcbufCfg" in cmds:
        _, b = cmds["adcbufCfg"][0]
        adc = AdcConfig(
            layout=adc.layout, complex=int(b[1]) == 0, bits=adc.bits, iq_swap=int(b[2]) == 1
        )

    try:
        radar = RadarConfig(
            name=name or Path(source).stem,
            device=device,
            start_frequency=p[1] * 1e9,
            idle_time=p[2] * 1e-6,
            adc_start_time=p[3] * 1e-6,
            ramp_end_time=p[4] * 1e-6,
            tx_power_backoff_db=p[5],
            tx_phase_shifter=int(p[6]),
            slope=p[7] * 1e12,
            tx_start_time=p[8] * 1e-6,
            n_samples=int(p[9]),
            sample_rate=p[10] * 1e3,
            hpf1_code=int(p[11]),
            hpf2_code=int(p[12]),
            rx_gain_db=p[13],
            n_loops=int(f[2]),
            n_frames=int(f[3]),
            frame_period=f[4] * 1e-3,
            tx_order=tx_order,
            rx_channels=rx_channels,
            adc=adc,
        )
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    if not radar.n_samples > 0 or not radar.n_loops > 0:
        raise ConfigError(f"{source}:{p_line}: numAdcSamples and loops must be positive")
    return TiCfg(
        radar=radar, gui_monitor=gui, low_power=low_power, dfe_output_mode=dfe_mode, other=other
    )


def read_ti_cfg(path: str | Path, *, device: str = "iwr1843") -> TiCfg:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: file not found")
    return parse_ti_cfg(p.read_text(errors="replace"), device=device, source=str(p), name=p.stem)


def _g(x: float) -> str:
    return f"{x:.6g}"


def cli_lines(cfg: TiCfg) -> list[str]:
    """The configuration commands in the order the firmware accepts them (no stop/flush/start)."""
    r = cfg.radar
    rx_mask = sum(1 << i for i in r.rx_channels)
    tx_mask = sum(1 << i for i in set(r.tx_order))
    adc_fmt = 1 if r.adc.complex else 0
    lines = [
        f"dfeDataOutputMode {cfg.dfe_output_mode}",
        f"channelCfg {rx_mask} {tx_mask} 0",
        f"adcCfg {({12: 0, 14: 1, 16: 2})[r.adc.bits]} {adc_fmt}",
        f"adcbufCfg -1 {0 if r.adc.complex else 1} {1 if r.adc.iq_swap else 0} 1 1",
        "profileCfg 0 "
        + " ".join(
            [
                _g(r.start_frequency / 1e9),
                _g(r.idle_time * 1e6),
                _g(r.adc_start_time * 1e6),
                _g(r.ramp_end_time * 1e6),
                _g(r.tx_power_backoff_db),
                str(r.tx_phase_shifter),
                _g(r.slope / 1e12),
                _g(r.tx_start_time * 1e6),
                str(r.n_samples),
                _g(r.sample_rate / 1e3),
                str(r.hpf1_code),
                str(r.hpf2_code),
                _g(r.rx_gain_db),
            ]
        ),
    ]
    lines += [f"chirpCfg {i} {i} 0 0 0 0 0 {1 << tx}" for i, tx in enumerate(r.tx_order)]
    lines.append(f"frameCfg 0 {r.n_tx - 1} {r.n_loops} {r.n_frames} {_g(r.frame_period * 1e3)} 1 0")
    if cfg.low_power is not None:
        lines.append(f"lowPower {cfg.low_power[0]} {cfg.low_power[1]}")
    if cfg.gui_monitor:
        sub = [str(cfg.gui_monitor["subframe"])] if "subframe" in cfg.gui_monitor else []
        lines.append(
            "guiMonitor " + " ".join(sub + [str(cfg.gui_monitor.get(k, 0)) for k in _GUI_FIELDS])
        )
    lines += cfg.other
    return lines


def write_ti_cfg(cfg: TiCfg) -> str:
    """Full CLI text: ``sensorStop`` and ``flushCfg`` first, ``sensorStart`` last."""
    return "\n".join(["sensorStop", "flushCfg", *cli_lines(cfg), "sensorStart"]) + "\n"
