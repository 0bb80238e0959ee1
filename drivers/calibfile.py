"""The calibration YAML every part reads: transforms ``T_<to>_<from>``, clock offsets, residuals.

Clock offset convention: ``clock_offsets[s]`` is sensor ``s``'s stamp minus the reference clock
for the same instant, in seconds, so ``t_reference = t_sensor - offset``.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .config import load_yaml
from .errors import ConfigError, DriversError
from .transforms import check_transform, invert

FORMAT = "radarpose-calibration"
FORMAT_VERSION = "1.0"
# sensor names carry no underscore (see drivers.rig.SENSOR_NAME), so the split is unambiguous
_NAME = re.compile(r"^T_([A-Za-z][A-Za-z0-9-]*)_([A-Za-z][A-Za-z0-9-]*)$")


@dataclass
class Calibration:
    """Extrinsics and clock offsets of a rig; ``transforms`` keys are ``T_<to>_<from>``."""

    transforms: dict[str, np.ndarray] = field(default_factory=dict)
    clock_offsets: dict[str, float] = field(default_factory=dict)
    residuals: dict[str, Any] = field(default_factory=dict)
    method: str = "nominal"
    created: str = ""

    def get(self, to: str, frm: str) -> np.ndarray:
        """``T_<to>_<from>``, using the stored inverse if only ``T_<from>_<to>`` is present."""
        if to == frm:
            return np.eye(4)
        try:
            return self._direct(to, frm)
        except KeyError:
            pass
        # one hop through a frame both are registered to (normally the rig's reference)
        for k in self.transforms:
            a, b = _NAME.match(k).groups()  # type: ignore[union-attr]
            for mid in {a, b} - {to, frm}:
                try:
                    return self._direct(to, mid) @ self._direct(mid, frm)
                except KeyError:
                    continue
        raise DriversError(
            f"calibration has no transform between {to!r} and {frm!r} (has: {', '.join(self.transforms)})"
        )

    def _direct(self, to: str, frm: str) -> np.ndarray:
        if (k := f"T_{to}_{frm}") in self.transforms:
            return self.transforms[k]
        if (k := f"T_{frm}_{to}") in self.transforms:
            return invert(self.transforms[k])
        raise KeyError(k)

    def to_yaml(self) -> str:
        doc = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": self.created or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "method": self.method,
            "transforms": {
                k: np.asarray(v, dtype=float).round(12).tolist() for k, v in self.transforms.items()
            },
            "clock_offsets": {k: float(v) for k, v in self.clock_offsets.items()},
            "residuals": _plain(self.residuals),
        }
        return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_yaml())


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


def parse_calibration(doc: Any, source: str = "<calibration>") -> Calibration:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ConfigError(f"{source}: not a radarpose calibration file (format: {FORMAT} missing)")
    version = str(doc.get("format_version", ""))
    if version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
        raise ConfigError(
            f"{source}: format_version {version} is not supported (this radarpose reads {FORMAT_VERSION})"
        )
    transforms = {}
    for k, v in (doc.get("transforms") or {}).items():
        if not _NAME.match(k):
            raise ConfigError(f"{source}: transforms.{k}: name must be T_<to>_<from>")
        try:
            transforms[k] = check_transform(np.asarray(v, dtype=np.float64), f"transforms.{k}")
        except (DriversError, ValueError) as exc:
            raise ConfigError(f"{source}: {exc}") from None
    offsets = {}
    for k, v in (doc.get("clock_offsets") or {}).items():
        if not isinstance(v, int | float):
            raise ConfigError(
                f"{source}: clock_offsets.{k}: expected seconds as a number, got {v!r}"
            )
        offsets[k] = float(v)
    return Calibration(
        transforms,
        offsets,
        doc.get("residuals") or {},
        str(doc.get("method", "")),
        str(doc.get("created", "")),
    )


def load_calibration(path: str | Path) -> Calibration:
    return parse_calibration(load_yaml(path), str(path))


def calibration_from_rig(rig: Any) -> Calibration:
    """Nominal calibration from a rig's poses: ``T_<reference>_<sensor>`` for every sensor."""
    ref = rig.reference
    tf = {f"T_{ref}_{s}": rig.T_ref(s) for s in rig.config.sensors if s != ref}
    offsets = {s: cfg.clock_offset for s, cfg in rig.config.sensors.items()}
    return Calibration(tf, offsets, method="nominal (rig)")
