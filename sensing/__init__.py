"""radarpose sensing: raw ADC to radar cubes, heatmaps, point clouds and Doppler signatures.

Plain functions over arrays, one concern per module. Frames are complex64
``(loops, tx, rx, samples)`` (CONVENTIONS). Numba CPU kernels are the default path; the torch
path (``sensing.torch_backend``) runs on a CUDA device when there is one and is never the only
path. Imports ``drivers`` only.
"""

from .backends import backend
from .checks import check_cube, cube_from_words
from .errors import SensingError
from .hupr import HuprHeatmapper, hupr_heatmap, network_input
from .range_doppler import (
    doppler_fft,
    range_doppler_map,
    range_fft,
    remove_dc,
    remove_static_clutter,
    velocity_axis,
    window,
)

__all__ = [
    "HuprHeatmapper",
    "SensingError",
    "backend",
    "check_cube",
    "cube_from_words",
    "doppler_fft",
    "hupr_heatmap",
    "network_input",
    "range_doppler_map",
    "range_fft",
    "remove_dc",
    "remove_static_clutter",
    "velocity_axis",
    "window",
]
