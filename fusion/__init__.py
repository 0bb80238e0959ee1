"""radarpose fusion: pose networks, pseudo-labels, training, evaluation, inference and the CLI."""

from .errors import FusionError

__all__ = ["FusionError"]
