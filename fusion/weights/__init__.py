"""Shipped checkpoints (trained on simulator recordings; see README for the command that made each)."""

from pathlib import Path

WEIGHTS = Path(__file__).resolve().parent
RADARPOSE_LITE = WEIGHTS / "radarpose_lite.pt"
RADARPOSE_LITE_CASCADE = WEIGHTS / "radarpose_lite_cascade.pt"  # the RT-Pose rig's cascade
