"""The physics-based simulator: people, room, FMCW MIMO radar, LiDAR and cameras on a rig.

It is one more source beside live boards and replay: :class:`SimulatedSource` yields the same
frames (raw ADC words in the device layout, LiDAR points, images) a real rig would, and
:func:`simulate_to_recording` writes them with ground truth into the HDF5 recording format.
"""

from .body import ScattererSet, body_mesh, make_scatterers, scatterer_positions
from .humans import MOTIONS, Body, Person, make_people
from .radar import RadarSimParams, antenna_positions, quantize, synthesize_frame
from .scene import Checkerboard, CornerReflector, MovingTarget, Room
from .simulate import GROUNDTRUTH, SimConfig, SimulatedSource, Simulation, simulate_to_recording

__all__ = [
    "GROUNDTRUTH",
    "MOTIONS",
    "Body",
    "Checkerboard",
    "CornerReflector",
    "MovingTarget",
    "Person",
    "RadarSimParams",
    "Room",
    "ScattererSet",
    "SimConfig",
    "SimulatedSource",
    "Simulation",
    "antenna_positions",
    "body_mesh",
    "make_people",
    "make_scatterers",
    "quantize",
    "scatterer_positions",
    "simulate_to_recording",
    "synthesize_frame",
]
