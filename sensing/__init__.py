"""radarpose sensing: raw ADC to radar cubes, heatmaps, point clouds and Doppler signatures.

Plain functions over arrays, one concern per module. Frames are complex64
``(loops, tx, rx, samples)`` (CONVENTIONS). Numba CPU kernels are the default path; the torch
path (``sensing.torch_backend``) runs on a CUDA device when there is one and is never the only
path. Imports ``drivers`` only.
"""

import os

# Idle Numba OpenMP workers spin by default and take the cores the rest of the frame needs: on
# the shared 2-core machine the 2-thread point-cloud chain ran 10x slower than 1 thread, and
# everything interleaved with it slowed too (measured 2026-12-01). OpenMP reads this when its
# library loads, at the first parallel kernel, so set it before any runs (as fusion does).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .backends import backend  # noqa: E402
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
from .rtpose import (
    CascadeCalibration,
    RtposeProcessor,
    polar_cube,
    roi_tensor,
    training_tensor,
)

__all__ = [
    "CascadeCalibration",
    "RtposeProcessor",
    "HuprHeatmapper",
    "SensingError",
    "backend",
    "check_cube",
    "cube_from_words",
    "doppler_fft",
    "hupr_heatmap",
    "network_input",
    "polar_cube",
    "range_doppler_map",
    "range_fft",
    "remove_dc",
    "remove_static_clutter",
    "roi_tensor",
    "training_tensor",
    "velocity_axis",
    "window",
]
