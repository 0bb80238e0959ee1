"""Sensor rigs: which radars, LiDARs and cameras, where they sit and how their clocks run.

A rig YAML (``configs/rigs/*.yaml``) names a reference sensor (a radar: skeletons live in its
frame) and, per sensor, its pose ``T_<reference>_<sensor>`` and clock offset. Radar profiles are
referenced by path (relative to the rig file) or by name from ``configs/radars``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from .config import bounded, from_dict, load_yaml
from .errors import ConfigError
from .radar import RadarConfig, load_radar_config
from .transforms import check_transform, from_euler

# no underscores: transform names T_<to>_<from> must split unambiguously
SENSOR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
CONFIG_ROOT = Path(__file__).resolve().parent.parent / "configs"


def find_config(name_or_path: str | Path, kind: str) -> Path:
    """Resolve a config: an existing path, else ``configs/<kind>/<name>.yaml`` of this checkout."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    for candidate in (CONFIG_ROOT / kind / f"{p.name}.yaml", CONFIG_ROOT / kind / p.name):
        if candidate.is_file():
            return candidate
    known = (
        sorted(q.stem for q in (CONFIG_ROOT / kind).glob("*.yaml"))
        if (CONFIG_ROOT / kind).is_dir()
        else []
    )
    raise ConfigError(
        f"{name_or_path}: no such file or built-in {kind[:-1]} config (built-in: {', '.join(known)})"
    )


@dataclass(frozen=True)
class Pose:
    """``T_<reference>_<sensor>``: a full 4×4 ``matrix``, or ``translation`` (m) plus ``rpy_deg``."""

    translation: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rpy_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    matrix: tuple[tuple[float, float, float, float], ...] | None = None

    def as_matrix(self) -> np.ndarray:
        if self.matrix is not None:
            return check_transform(np.asarray(self.matrix), "pose.matrix")
        return from_euler(self.rpy_deg, self.translation, degrees=True)


@dataclass(frozen=True)
class CameraConfig:
    """Pinhole camera with OpenCV distortion (k1, k2, p1, p2[, k3]); pixels, origin top-left corner."""

    width: int = bounded(gt=0)
    height: int = bounded(gt=0)
    fx: float = bounded(gt=0)
    fy: float = bounded(gt=0)
    cx: float = 0.0
    cy: float = 0.0
    distortion: tuple[float, ...] = ()
    frame_rate: float = bounded(10.0, gt=0)

    @property
    def K(self) -> np.ndarray:
        """3×3 intrinsic matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class LidarConfig:
    """A LiDAR scan pattern: a spinning multi-beam unit or a Livox-like non-repetitive rosette."""

    pattern: Literal["spinning", "livox"] = "spinning"
    channels: int = bounded(32, gt=0)
    points_per_frame: int = bounded(20000, gt=0)
    frame_rate: float = bounded(10.0, gt=0)
    h_fov_deg: float = bounded(360.0, gt=0, le=360)
    v_fov_min_deg: float = -15.0
    v_fov_max_deg: float = 15.0
    max_range: float = bounded(50.0, gt=0)
    range_noise: float = bounded(0.01, ge=0)
    dropout: float = bounded(0.02, ge=0, lt=1)


@dataclass(frozen=True)
class SensorConfig:
    """One sensor of a rig. Exactly the sub-config matching ``kind`` is set."""

    kind: Literal["radar", "lidar", "camera"]
    pose: Pose = field(default_factory=Pose)
    clock_offset: float = 0.0
    clock_jitter: float = bounded(0.0, ge=0)
    radar: str | None = None
    camera: CameraConfig | None = None
    lidar: LidarConfig | None = None
    transport: Literal["dca1000", "uart", "mmwcas", "file", "simulated"] = "simulated"
    options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        need = {"radar": self.radar, "camera": self.camera, "lidar": self.lidar}[self.kind]
        if need is None:
            raise ConfigError(f"a {self.kind} sensor needs a '{self.kind}' entry")


@dataclass(frozen=True)
class RigConfig:
    name: str
    reference: str
    sensors: dict[str, SensorConfig]
    format_version: int = 1

    def __post_init__(self) -> None:
        for n in self.sensors:
            if not SENSOR_NAME.match(n):
                raise ConfigError(
                    f"sensors.{n}: sensor names are letters, digits and '-', no '_' (e.g. radar-h)"
                )
        if self.reference not in self.sensors:
            raise ConfigError(
                f"reference: {self.reference!r} is not one of the sensors ({', '.join(self.sensors)})"
            )


@dataclass
class Rig:
    """A loaded rig: its config, the radar profiles it names, and the YAML text it came from."""

    config: RigConfig
    radars: dict[str, RadarConfig]
    source: str = ""
    text: str = ""

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def reference(self) -> str:
        return self.config.reference

    def sensors_of(self, kind: str) -> list[str]:
        return [n for n, s in self.config.sensors.items() if s.kind == kind]

    def T_ref(self, sensor: str) -> np.ndarray:
        """``T_<reference>_<sensor>`` from the rig's nominal pose."""
        return self.config.sensors[sensor].pose.as_matrix()

    def T(self, to: str, frm: str) -> np.ndarray:
        """``T_<to>_<from>`` between any two sensors of the rig."""
        from .transforms import invert

        return invert(self.T_ref(to)) @ self.T_ref(frm)


def load_rig(name_or_path: str | Path) -> Rig:
    """Load a rig by path or built-in name (``hupr``, ``rtpose``, ...) with its radar profiles."""
    path = find_config(name_or_path, "rigs")
    data = load_yaml(path)
    cfg = from_dict(RigConfig, data, source=str(path))
    radars = {}
    for sname, s in cfg.sensors.items():
        if s.kind == "radar":
            assert s.radar is not None
            rel = path.parent / s.radar
            radars[sname] = load_radar_config(
                rel if rel.is_file() else find_config(s.radar, "radars")
            )
    return Rig(config=cfg, radars=radars, source=str(path), text=path.read_text())
