"""The one error class of the ``calibration`` package."""


class CalibrationError(Exception):
    """Calibration input that cannot give a trustworthy answer (degenerate, too few targets)."""
