"""Pick a kernel backend by name: ``"numpy"`` (the reference), ``"cpu"`` (Numba) or ``"cuda"``.

All three modules export the same functions with the same signatures (see :mod:`sensing.reference`),
so code written against one runs on another. Modules are imported on first use: the CUDA one only
when asked for, and it says clearly when there is no device.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import SensingError

MODULES = {"numpy": "sensing.reference", "cpu": "sensing.cpu", "cuda": "sensing.cuda"}
KERNELS = (
    "remove_dc",
    "apply_window",
    "range_fft",
    "remove_static_clutter",
    "doppler_fft",
    "calibrate",
    "angle_fft",
    "aoa",
    "ca_cfar_1d",
    "os_cfar_1d",
    "ca_cfar_2d",
    "os_cfar_2d",
    "group_peaks",
    "range_doppler",
    "detect",
    "point_cloud",
    "doppler_profiles",
    "micro_doppler",
)


def backend(name: str = "cpu") -> ModuleType:
    """The kernel module called ``name``; a SensingError names the choices or the missing device."""
    if name not in MODULES:
        raise SensingError(f"unknown sensing backend {name!r} (choose: {', '.join(MODULES)})")
    try:
        mod = importlib.import_module(MODULES[name])
    except ImportError as exc:  # the cpu backend needs rocket-fft (the fast extra)
        raise SensingError(f"sensing backend {name!r} is not installed: {exc}") from exc
    if name == "cuda":
        mod.require()
    return mod
