"""Model inputs and targets on HuPR's heatmap grid (two IWR1843s: horizontal and vertical).

Grid geometry of a HuPR heatmap (see sensing.hupr): range index ``r`` is range-FFT bin ``94 - r``;
azimuth index ``a`` is the direction cosine ``u = (a - 31) / 32`` toward +y of that radar. The
vertical radar is rolled 90° about boresight, so its azimuth axis measures height (world z).
"""

from __future__ import annotations

import numpy as np

from drivers import RadarConfig, Rig
from sensing.grid import N_DOPPLER_GROUPS, N_HEIGHT  # the grid maps' layout is the features'

from .errors import FusionError


def grid_to_xy(
    r: np.ndarray, a: np.ndarray, radar: RadarConfig, z: np.ndarray | float = 0.0
) -> np.ndarray:
    """Fractional grid cells ``(...)`` (range index, azimuth index) and height z → ``(..., 3)`` radar-frame points."""
    rng = (94.0 - np.asarray(r, dtype=np.float64)) * radar.range_resolution
    u = (np.asarray(a, dtype=np.float64) - 31.0) / 32.0
    z = np.broadcast_to(np.asarray(z, dtype=np.float64), rng.shape)
    y = rng * u
    x = np.sqrt(np.clip(rng**2 - y**2 - z**2, 0.0, None))
    return np.stack([x, y, z], axis=-1)


def xy_to_grid(points: np.ndarray, radar: RadarConfig) -> np.ndarray:
    """``(..., 3)`` radar-frame points → ``(..., 2)`` fractional (range index, azimuth index)."""
    p = np.asarray(points, dtype=np.float64)
    rng = np.linalg.norm(p, axis=-1)
    u = p[..., 1] / np.maximum(rng, 1e-9)
    return np.stack([94.0 - rng / radar.range_resolution, 31.0 + 32.0 * u], axis=-1)


def radar_features(heat_h: np.ndarray, heat_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compact per-frame features from the two radars' complex heatmaps ``(16, 64, 64, 8)``.

    Returns float16 ``(8, 64, 64)`` horizontal log-power per Doppler pair (range, azimuth) and
    float16 ``(8, 64, 16)`` vertical log-power per Doppler pair (range, height bins).
    """
    ph = (np.abs(heat_h) ** 2).sum(axis=-1).reshape(N_DOPPLER_GROUPS, 2, 64, 64).sum(axis=1)
    pv = (
        (np.abs(heat_v) ** 2)
        .sum(axis=-1)
        .reshape(N_DOPPLER_GROUPS, 2, 64, N_HEIGHT, 4)
        .sum(axis=(1, 4))
    )
    return np.log1p(ph).astype(np.float16), np.log1p(pv).astype(np.float16)


# The cascade's vertical map sums 16 azimuth columns × 4 rows of beams: its log-power sits 5.7
# above the HuPR vertical radar's (measured on simulated frames: 30.2 vs 24.5; horizontal 22.5
# vs 23, left as is), so it is scaled down to share model_input's fixed normalisation.
GRID_VERTICAL_GAIN = float(np.exp(-5.7))


def grid_features(ph: np.ndarray, pv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same features from one array's grid power maps (:class:`sensing.grid.GridMapper`):
    ``ph (8, 64, 64)``, ``pv (8, 64, 16)`` → float16 log-powers of the same shapes."""
    ph, pv = np.asarray(ph, np.float32), np.asarray(pv, np.float32)
    if ph.shape != (N_DOPPLER_GROUPS, 64, 64) or pv.shape != (N_DOPPLER_GROUPS, 64, N_HEIGHT):
        raise FusionError(
            f"grid_features: expected (8, 64, 64) and (8, 64, 16) power maps, got {ph.shape} "
            f"and {pv.shape}"
        )
    return np.log1p(ph).astype(np.float16), np.log1p(pv * GRID_VERTICAL_GAIN).astype(np.float16)


class RigFeatures:
    """Per-frame features for a rig: HuPR's two radars (horizontal = reference, vertical) or one
    array with elevation (the RT-Pose cascade) on the same grid."""

    def __init__(self, rig: Rig) -> None:
        from sensing import HuprHeatmapper
        from sensing.grid import GridMapper

        self.radars = list(rig.sensors_of("radar"))
        self.reference = rig.reference
        self.radar = rig.radars[rig.reference]
        if len(self.radars) == 2:
            self.other = next(r for r in self.radars if r != rig.reference)
            self._h = HuprHeatmapper(self.radar)
            self._v = HuprHeatmapper(rig.radars[self.other])
            self.grid = None
        elif len(self.radars) == 1:
            self.other = None
            self.grid = GridMapper(self.radar)
        else:
            raise FusionError(
                f"rig {rig.name!r} has {len(self.radars)} radars; the real-time model reads "
                "HuPR's pair or one array with elevation"
            )
        # the last frame's reference-radar map, kept as computed: only views turn it into power
        self._last: np.ndarray | None = None

    def __call__(
        self, cube: np.ndarray, cube_v: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Reference radar's frame ``(loops, tx, rx, samples)`` (and the vertical radar's for
        HuPR's pair) → ``fh (8, 64, 64)``, ``fv (8, 64, 16)`` float16."""
        if self.grid is not None:
            ph, pv = self.grid(cube)
            self._last = ph
            return grid_features(ph, pv)
        if cube_v is None:
            raise FusionError(f"HuPR's pair needs the {self.other!r} frame too")
        heat_h = self._h(cube)
        self._last = heat_h
        return radar_features(heat_h, self._v(cube_v))

    @property
    def last_heatmap(self) -> np.ndarray | None:
        """The last frame's reference-radar power ``(64 range, 64 azimuth)`` on HuPR's grid,
        computed when asked (a view's work, not every frame's)."""
        if self._last is None:
            return None
        if self.grid is not None:
            return self._last.sum(axis=0)  # (8 Doppler groups, 64, 64) power
        return (np.abs(self._last) ** 2).sum(axis=(0, 3))  # complex (16, 64, 64, 8)


def model_input(
    fh: np.ndarray,
    fv: np.ndarray,
    past_fh: np.ndarray | None = None,
    past_fv: np.ndarray | None = None,
) -> np.ndarray:
    """Network input ``(..., N_INPUT + K·N_CONTEXT, 64, 64)``, float32.

    The current frame ``fh (..., 8, 64, 64)``, ``fv (..., 8, 64, 16)`` gives horizontal maps,
    vertical height profiles broadcast across azimuth (grouped to 64 channels) and two coordinate
    channels. Optional earlier frames ``past_fh (..., K, 8, 64, 64)``, ``past_fv (..., K, 8, 64, 16)``
    (nearest first) add, each, the horizontal maps and the Doppler-summed height profile: where a
    person moved and how the body's height changed is what tells heading and the phase of a motion.
    """
    fh = np.asarray(fh, dtype=np.float32)
    fv = np.asarray(fv, dtype=np.float32)
    lead = fh.shape[:-3]
    v = fv.reshape(*lead, N_DOPPLER_GROUPS // 2, 2, 64, N_HEIGHT).mean(axis=-3)  # (…, 4, 64, 16)
    v = np.moveaxis(v, -1, -3).reshape(*lead, -1, 64, 1)  # (…, 64 channels, range, 1)
    v = np.broadcast_to(v, (*lead, v.shape[-3], 64, 64))
    rr, aa = np.meshgrid(np.linspace(-1, 1, 64), np.linspace(-1, 1, 64), indexing="ij")
    coords = np.broadcast_to(np.stack([rr, aa]).astype(np.float32), (*lead, 2, 64, 64))
    # fixed scale measured on simulator caches: log-power mean ≈ 23, std ≈ 3.3 for both radars
    parts = [(fh - 23.0) / 3.3, (v - 24.5) / 3.3, coords]
    if (past_fh is None) != (past_fv is None):
        raise FusionError("model_input: earlier frames need both past_fh and past_fv, got one")
    if past_fh is not None and past_fv is not None:
        ph = np.asarray(past_fh, dtype=np.float32)
        k = ph.shape[-4]
        if np.shape(past_fv)[-4:] != (k, N_DOPPLER_GROUPS, 64, N_HEIGHT):
            raise FusionError(
                f"model_input: past_fv must be (..., {k}, {N_DOPPLER_GROUPS}, 64, {N_HEIGHT}) to "
                f"match past_fh {ph.shape}, got {np.shape(past_fv)}"
            )
        pv = np.asarray(past_fv, dtype=np.float32).mean(axis=-3)  # (…, K, 64, 16)
        pv = np.broadcast_to(np.moveaxis(pv, -1, -2)[..., None], (*lead, k, N_HEIGHT, 64, 64))
        parts.append(((ph - 23.0) / 3.3).reshape(*lead, k * N_DOPPLER_GROUPS, 64, 64))
        parts.append(((pv - 24.5) / 3.3).reshape(*lead, k * N_HEIGHT, 64, 64))
    return np.concatenate(parts, axis=-3).astype(np.float32)


def sequence_starts(sequence: np.ndarray) -> np.ndarray:
    """``(N,)`` first row of each row's sequence, for ``sequence (N,)`` ids whose rows are
    contiguous and in time order."""
    seq = np.asarray(sequence)
    new = np.r_[True, seq[1:] != seq[:-1]] if len(seq) else np.zeros(0, bool)
    return np.maximum.accumulate(np.where(new, np.arange(len(seq)), 0))


def context_rows(i: int, first: int, frames: int, stride: int) -> np.ndarray:
    """``(frames,)`` rows ``i - stride, i - 2·stride, …`` clamped to the sequence's ``first`` row, as
    a live stream repeats its first frame until it has history."""
    return np.maximum(i - stride * np.arange(1, frames + 1), first)


N_INPUT = N_DOPPLER_GROUPS + (N_DOPPLER_GROUPS // 2) * N_HEIGHT + 2
N_CONTEXT = N_DOPPLER_GROUPS + N_HEIGHT  # channels per earlier frame
