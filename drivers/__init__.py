"""radarpose drivers: the shared vocabulary and every way data comes in.

Radar configs and TI ``.cfg`` files, rigs and calibration files, skeleton definitions, rigid
transforms, the source interface and the HDF5 recording format live here, so that ``sensing``,
``calibration`` and ``fusion`` can all speak them. This package imports none of the other three.
"""

from .adc import pack_frame, unpack_frame
from .adcfile import CaptureIndex, MmwcasCapture, read_idx, write_mmwcas_capture
from .calibfile import Calibration, calibration_from_rig, load_calibration
from .config import ConfigError, from_dict, load_config, load_yaml
from .errors import DriversError
from .radar import DEVICES, SPEED_OF_LIGHT, AdcConfig, AntennaConfig, RadarConfig, load_radar_config
from .recording import RecordingReader, RecordingSource, RecordingWriter, StreamSpec
from .rig import CameraConfig, LidarConfig, Rig, RigConfig, SensorConfig, find_config, load_rig
from .rtpose_tree import RtposeLabel, RtposeTree, read_pcd
from .skeleton import COCO17, HUPR14, RTPOSE15, SKELETONS, SkeletonDef, convert_skeleton
from .source import Frame, FrameFlag, Source, SourceStats, merge_frames
from .ticfg import TiCfg, parse_ti_cfg, read_ti_cfg, write_ti_cfg

__all__ = [
    "AdcConfig",
    "AntennaConfig",
    "COCO17",
    "CaptureIndex",
    "Calibration",
    "CameraConfig",
    "ConfigError",
    "DEVICES",
    "DriversError",
    "Frame",
    "FrameFlag",
    "HUPR14",
    "LidarConfig",
    "MmwcasCapture",
    "RTPOSE15",
    "RadarConfig",
    "RecordingReader",
    "RecordingSource",
    "RecordingWriter",
    "RtposeLabel",
    "RtposeTree",
    "Rig",
    "RigConfig",
    "SKELETONS",
    "SPEED_OF_LIGHT",
    "SensorConfig",
    "SkeletonDef",
    "Source",
    "SourceStats",
    "StreamSpec",
    "TiCfg",
    "calibration_from_rig",
    "convert_skeleton",
    "find_config",
    "from_dict",
    "load_calibration",
    "load_config",
    "load_radar_config",
    "load_rig",
    "load_yaml",
    "merge_frames",
    "pack_frame",
    "unpack_frame",
    "parse_ti_cfg",
    "read_idx",
    "read_pcd",
    "read_ti_cfg",
    "write_mmwcas_capture",
    "write_ti_cfg",
]
