"""radarpose sensing: raw ADC to radar cubes, heatmaps, point clouds and Doppler signatures.

Numba CPU kernels are the default path; CUDA (numba.cuda or torch on a CUDA device) is optional
and never the only path. Imports ``drivers`` only.
"""

from .errors import SensingError

__all__ = ["SensingError"]
