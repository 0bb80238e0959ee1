"""Shipped checkpoints (trained on simulator recordings; see README for the command that made each)."""

from pathlib import Path

WEIGHTS = Path(__file__).resolve().parent
RADARPOSE_LITE = WEIGHTS / "radarpose_lite.pt"
RADARPOSE_LITE_CASCADE = WEIGHTS / "radarpose_lite_cascade.pt"  # the RT-Pose rig's cascade
# HuPR's pair: RadarPoseLite with the track refiner (its frame model is RADARPOSE_LITE)
RADARPOSE_LITE_TRACK = WEIGHTS / "radarpose_lite_track.pt"


def shipped_for(n_radars: int) -> Path:
    """The shipped real-time model for a rig with ``n_radars`` radars: HuPR's pair or one array."""
    return RADARPOSE_LITE_CASCADE if n_radars == 1 else RADARPOSE_LITE_TRACK
