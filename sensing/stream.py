"""Frame-by-frame processing with everything allocated once: windows, plans and work buffers.

A :class:`RadarStream` is built once per radar config and fed frames; each frame runs the
Numba-CPU chain of :mod:`sensing.cpu` into the same :class:`sensing.cpu.Workspace` (FFTs write in
place), so a long stream allocates no large array per frame, only its points and detections. The range-Doppler power map it returns is that
buffer: copy it if you keep it past the next frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numba
import numpy as np

from drivers import RadarConfig

from . import cpu
from .plan import Calibration, Plan
from .pointcloud import PointCloudParams


class RadarStream:
    """Feed frames ``(loops, tx, rx, samples)``; get points ``(M, 5)`` and the power map ``(D, R)``.

    ``rd`` ``(C, D, R)`` holds the last frame's range-Doppler spectra per channel with Doppler
    unshifted (bin 0 = zero velocity); ``power`` and ``noise`` ``(D, R)`` are shifted (zero
    velocity at ``n_loops // 2``).
    """

    def __init__(
        self,
        radar: RadarConfig,
        params: PointCloudParams | None = None,
        calibration: Calibration | None = None,
        dc_removal: bool = False,
        threads: int | None = None,
    ) -> None:
        self.plan = Plan.build(radar, params, calibration, dc_removal)
        # Numba worker threads per frame (None: numba's setting). On a machine shared with other
        # busy processes one thread is often faster: a parallel pass waits for its slowest worker.
        self.threads = threads
        self.ws = cpu.Workspace.for_plan(self.plan)
        self.frames = 0

    @property
    def rd(self) -> np.ndarray:
        return self.ws.rd

    @property
    def power(self) -> np.ndarray:
        return self.ws.power

    @property
    def noise(self) -> np.ndarray:
        return self.ws.noise

    def range_doppler(self, cube: np.ndarray) -> np.ndarray:
        """Process a frame up to the power map ``(D, R)`` float32 (the stream's own buffer)."""
        with self._threads():
            cpu.run_stages(cube, self.plan, self.ws)
        self.frames += 1
        return self.power

    def __call__(self, cube: np.ndarray) -> np.ndarray:
        """Process a frame to its point cloud ``(M, 5)`` float32 x, y, z, v, snr_db."""
        with self._threads():
            cpu.run_stages(cube, self.plan, self.ws)
            self.frames += 1
            return cpu.detect_points(self.plan, self.ws)

    @contextmanager
    def _threads(self) -> Iterator[None]:
        before = numba.get_num_threads()
        numba.set_num_threads(self.threads or before)
        try:
            yield
        finally:
            numba.set_num_threads(before)

    def run(self, frames: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Points and power map of each frame in turn (the map is overwritten by the next)."""
        for cube in frames:
            yield self(cube), self.power
