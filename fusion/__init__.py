"""radarpose fusion: pose networks, pseudo-labels, training, evaluation, inference and the CLI."""

import os

# Numba's parallel kernels (simulator, CFAR) and torch each drive an OpenMP pool; with the default
# active wait, idle Numba workers spin on the two cores torch needs, and the real-time model took
# 55 ms instead of 5 ms per frame in `radarpose live` (measured 2026-11-24). OpenMP reads this when
# its library loads, which happens after this import, so it must be set here, before torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .errors import FusionError  # noqa: E402

__all__ = ["FusionError"]
