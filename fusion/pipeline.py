"""The live/replay inference chain: raw ADC words → heatmaps → features → skeletons.

For HuPR's rig (two IWR1843s, paired by stamp) and for one array with elevation (the RT-Pose
cascade, mapped onto the same grid by :mod:`sensing.grid`). One :class:`PosePipeline` per rig and
model; it keeps per-stage timings so ``demo``, ``live`` and
the latency benchmark report the same numbers.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from drivers import Frame, Rig
from drivers.calibfile import Calibration
from sensing import cube_from_words

from .errors import FusionError
from .features import RigFeatures, model_input
from .pose import Person3D, PoseDecoder


@dataclass
class StageTimer:
    """Wall time per named stage, in seconds, over every call."""

    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, stage: str, seconds: float) -> None:
        self.samples[stage].append(seconds)

    def summary_ms(self) -> dict[str, dict[str, float]]:
        return {
            k: {
                "mean": 1000 * float(np.mean(v)),
                "p50": 1000 * float(np.percentile(v, 50)),
                "p99": 1000 * float(np.percentile(v, 99)),
            }
            for k, v in self.samples.items()
            if v
        }


class PosePipeline:
    """Rig inference with the real-time model. ``h`` = the reference radar; ``v`` = HuPR's
    vertical radar, or None for a one-radar rig."""

    def __init__(
        self,
        rig: Rig,
        model: torch.nn.Module,
        calibration: Calibration | None = None,
        threshold: float | None = None,
        torch_threads: int | None = 1,
        blas_threads: int | None = 1,
    ) -> None:
        """``torch_threads`` sets torch's intra-op threads (process-wide): at batch 1 one thread is
        4x faster here than two, whose OpenMP pool contends with the FFT and Numba workers.
        ``blas_threads`` caps OpenBLAS (process-wide): its idle workers busy-wait ~0.1 s after each
        call, so at 10 frames/s the small angle-matrix products kept a core spinning (measured:
        17 s CPU per 15 s of live run, 2 s with one BLAS thread)."""
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)
        if blas_threads is not None:
            from threadpoolctl import threadpool_limits

            self._blas_limit = threadpool_limits(blas_threads, user_api="blas")
        self.rig = rig
        self.features = RigFeatures(rig)
        trained = getattr(model, "trained_radars", None)
        if trained is not None and trained != len(self.features.radars):
            raise FusionError(
                f"the model was trained on a rig with {trained} radar(s); rig {rig.name!r} has "
                f"{len(self.features.radars)} (the shipped models: fusion/weights/"
                "radarpose_lite_track.pt for HuPR's pair, radarpose_lite_cascade.pt for one array)"
            )
        self.h, self.v = self.features.reference, self.features.other
        self.radar_h = rig.radars[self.h]
        self.radar_v = rig.radars[self.v] if self.v is not None else None
        self.model = model.eval()
        self.decode = PoseDecoder(model, self.radar_h, threshold)
        self.threshold = self.decode.threshold
        self.calibration = calibration
        self.timer = StageTimer()
        # earlier frames' features for a model with temporal context, newest last
        self.context = int(getattr(model, "context", 0))
        self.context_stride = int(getattr(model, "context_stride", 2))
        self._history: deque[tuple[np.ndarray, np.ndarray]] = deque(
            maxlen=self.context * self.context_stride
        )

    def _offset_ns(self, sensor: str) -> int:
        off = self.calibration.clock_offsets.get(sensor, 0.0) if self.calibration else 0.0
        return int(round(off * 1e9))

    def pair(
        self, frames: Iterator[Frame], max_skew: float = 0.05
    ) -> Iterator[tuple[Frame, Frame | None]]:
        """Pair horizontal and vertical radar frames by reference-clock stamp (clock offsets
        removed); a one-radar rig's frames come alone, as ``(frame, None)``."""
        pending: dict[str, Frame] = {}
        for f in frames:
            if f.sensor not in (self.h, self.v) or f.kind != "radar_adc":
                continue
            if self.v is None:
                yield f, None
                continue
            pending[f.sensor] = f
            if self.h in pending and self.v in pending:
                th = pending[self.h].stamp_ns - self._offset_ns(self.h)
                tv = pending[self.v].stamp_ns - self._offset_ns(self.v)
                if abs(th - tv) <= max_skew * 1e9:
                    yield pending.pop(self.h), pending.pop(self.v)
                else:  # drop the older one; its partner never came
                    pending.pop(self.h if th < tv else self.v)

    @property
    def last_heatmap(self) -> np.ndarray | None:
        """The last frame's reference-radar power ``(64 range, 64 azimuth)`` on HuPR's grid."""
        return self.features.last_heatmap

    def _input(self, fh: np.ndarray, fv: np.ndarray) -> np.ndarray:
        """Model input for this frame's features, with the earlier frames the model asks for (the
        first frame stands in for history not seen yet, as in training)."""
        if not self.context:
            return model_input(fh, fv)
        hist = list(self._history) or [(fh, fv)]
        # frame k·stride back, clamped to the oldest seen (as context_rows clamps in training)
        past = [
            hist[max(len(hist) - self.context_stride * k, 0)] for k in range(1, self.context + 1)
        ]
        self._history.append((fh, fv))
        return model_input(fh, fv, np.stack([p[0] for p in past]), np.stack([p[1] for p in past]))

    def reset(self) -> None:
        """Forget the temporal context (a new recording or a gap in the stream)."""
        self._history.clear()
        self.decode.reset()  # and the people a track refiner followed

    @torch.no_grad()
    def process(self, words_h: np.ndarray, words_v: np.ndarray | None = None) -> list[Person3D]:
        """One frame's ADC words (and the vertical radar's for HuPR's pair) → people."""
        if (words_v is None) != (self.v is None):
            raise FusionError(
                f"rig {self.rig.name!r} needs {'two radar frames' if self.v else 'one radar frame'} "
                "per step"
            )
        t0 = time.perf_counter()
        cube_h = cube_from_words(words_h, self.radar_h)
        cube_v = (
            cube_from_words(words_v, self.radar_v)
            if words_v is not None and self.radar_v is not None
            else None
        )
        t1 = time.perf_counter()
        fh, fv = self.features(cube_h, cube_v)
        t2 = time.perf_counter()
        x = torch.from_numpy(self._input(fh, fv)).unsqueeze(0)
        t3 = time.perf_counter()
        people = self.decode(x)[0]
        t4 = time.perf_counter()
        for k, a, b in (
            ("adc_unpack", t0, t1),
            ("heatmaps", t1, t2),
            ("features", t2, t3),
            ("model", t3, t4),
            ("total", t0, t4),
        ):
            self.timer.add(k, b - a)
        return people
