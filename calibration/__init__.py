"""radarpose calibration: cross-register radar, LiDAR and cameras in space and time.

Writes the calibration YAML defined in ``drivers.calibfile``. Imports ``drivers`` and ``sensing``.
"""

from .errors import CalibrationError

__all__ = ["CalibrationError"]
