"""A walking person and the static room as both radar and LiDAR see them, read from a recording.

Target-free calibration (:mod:`calibration.targetfree`) needs, per sensor, the person's position in
every frame (a *track*) and the static scene accumulated over the recording:

* LiDAR: the static background is every voxel occupied in at least ``static_fraction`` of the
  frames; what is left of a frame is clustered (DBSCAN) and the largest cluster is the person,
  its mean the frame's centroid.
* radar: a point cloud per frame (:class:`sensing.pointcloud.PointCloudExtractor` with static
  clutter removed and a CFAR that trains along range only, because a walking person's limbs smear
  the return over most Doppler bins and a Doppler-trained CFAR finds nothing); points with Doppler
  are clustered and the cluster with the most power is the person, its per-axis median the
  centroid. Static scatterers (walls, furniture, reflectors) come from the same frames without
  clutter removal, zero Doppler and high SNR.

Frames where a sensor finds no person are counted per reason, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drivers import RecordingReader
from sensing import cube_from_words
from sensing.pointcloud import PointCloudExtractor, PointCloudParams

from .errors import CalibrationError
from .temporal import moving_range

# CFAR trained along range only (see the module doc); fine angle grids for sub-bin angles
PERSON_PARAMS = PointCloudParams(
    guard=(0, 6), train=(0, 12), threshold_db=10.0, n_azimuth=256, n_elevation=64
)
STATIC_PARAMS = PointCloudParams(
    guard=(1, 4),
    train=(2, 12),
    threshold_db=10.0,
    n_azimuth=256,
    n_elevation=64,
    clutter_removal=False,
)


@dataclass
class Track:
    """One sensor's person track: ``stamps_ns`` (N,) int64 on the sensor's own clock,
    ``centroids`` (N, 3) m in the sensor's frame, ``points`` (N,) points in the person's cluster;
    ``frames`` read and ``dropped`` frames per reason; radar tracks also carry ``ranges`` (N,) m,
    the range of the strongest moving reflector (:func:`calibration.temporal.moving_range`)."""

    stamps_ns: np.ndarray
    centroids: np.ndarray
    points: np.ndarray
    frames: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    ranges: np.ndarray | None = None

    @property
    def extent(self) -> float:
        """Largest horizontal distance (m) of a centroid from the track's median: how far the
        person moved."""
        if len(self.centroids) == 0:
            return 0.0
        c = self.centroids[:, :2]
        return float(np.linalg.norm(c - np.median(c, axis=0), axis=1).max())


def _check_stream(rec: RecordingReader, name: str, kind: str, path: str | Path) -> None:
    if name not in rec.streams:
        raise CalibrationError(f"{path}: no stream {name!r} (has: {', '.join(rec.streams)})")
    if rec.streams[name].kind != kind:
        raise CalibrationError(
            f"{path}: stream {name!r} is {rec.streams[name].kind!r}, expected {kind!r}"
        )


def _voxel_keys(p: np.ndarray, size: float) -> np.ndarray:
    """One int64 key per ``(N, 3)`` point for its ``size`` m voxel (±1000 km range)."""
    k = np.floor(p / size).astype(np.int64) + (1 << 20)
    return (k[:, 0] << 42) | (k[:, 1] << 21) | k[:, 2]


def _clusters(p: np.ndarray, eps: float, min_points: int) -> np.ndarray:
    """DBSCAN labels (N,) of ``(N, 3)`` points, -1 = noise: core points have ``min_points``
    neighbours within ``eps`` m (themselves included, as open3d counts), core points within
    ``eps`` of each other share a cluster, and a border point joins a core neighbour's. A KD-tree
    and connected components: open3d's OpenMP DBSCAN took 0.7 s a frame on a loaded 2-core box."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(p)
    lab = np.full(n, -1, np.int64)
    if n == 0:
        return lab
    pairs = cKDTree(p).query_pairs(eps, output_type="ndarray")
    core = np.bincount(pairs.ravel(), minlength=n) + 1 >= min_points
    both = pairs[core[pairs[:, 0]] & core[pairs[:, 1]]]
    g = coo_matrix((np.ones(len(both)), (both[:, 0], both[:, 1])), shape=(n, n))
    comp = connected_components(g, directed=False)[1]
    lab[core] = comp[core]
    for a, b in (pairs.T, pairs.T[::-1]):  # border points: a core neighbour's cluster
        m = core[a] & ~core[b]
        lab[b[m]] = lab[a[m]]
    used = np.unique(lab[lab >= 0])
    out = np.full(n, -1, np.int64)
    out[lab >= 0] = np.searchsorted(used, lab[lab >= 0])
    return out


def _largest_cluster(p: np.ndarray, eps: float, min_points: int, grid: float) -> np.ndarray:
    """Indices of the ``(N, 3)`` points in the largest DBSCAN cluster (most points; empty if
    none). DBSCAN runs on one point per ``grid`` m voxel (``min_points`` counts voxels): a person
    2 m from a LiDAR returns ~5000 points, millions of pairs within ``eps``."""
    _, first, inv = np.unique(_voxel_keys(p, grid), return_index=True, return_inverse=True)
    if len(first) < min_points:
        return np.zeros(0, np.int64)
    lab = _clusters(p[first], eps, min_points)[inv.ravel()]
    if (lab < 0).all():
        return np.zeros(0, np.int64)
    best = np.bincount(lab[lab >= 0]).argmax()
    return np.flatnonzero(lab == best)


def lidar_person_track(
    path: str | Path,
    lidar: str,
    *,
    voxel: float = 0.2,
    static_fraction: float = 0.3,
    eps: float = 0.3,
    min_points: int = 10,
    grid: float = 0.05,
    static_points: int = 60_000,
) -> tuple[Track, np.ndarray]:
    """The person's LiDAR track and the static background: ``(M, 3)`` m points in the LiDAR frame
    (downsampled to at most ``static_points``), for ICP."""
    with RecordingReader(path) as rec:
        _check_stream(rec, lidar, "lidar", path)
        stamps = rec.stamps(lidar)
        seen: list[np.ndarray] = []
        for f in rec.frames(lidar):
            seen.append(np.unique(_voxel_keys(f.data["points"][:, :3], voxel)))
        if len(seen) < 5:
            raise CalibrationError(f"{path}: {len(seen)} LiDAR frames; at least 5 are needed")
        keys, counts = np.unique(np.concatenate(seen), return_counts=True)
        static = keys[counts >= static_fraction * len(seen)]
        cents, npts, st = [], [], []
        dropped = {"no moving cluster": 0}
        background: list[np.ndarray] = []
        for i, f in enumerate(rec.frames(lidar)):
            p = f.data["points"][:, :3].astype(np.float64)
            is_static = np.isin(_voxel_keys(p, voxel), static)
            background.append(p[is_static])
            idx = _largest_cluster(p[~is_static], eps, min_points, grid)
            if len(idx) == 0:
                dropped["no moving cluster"] += 1
                continue
            cents.append(p[~is_static][idx].mean(axis=0))
            npts.append(len(idx))
            st.append(stamps[i])
    bg = np.concatenate(background)
    if len(bg) > static_points:
        bg = bg[np.random.default_rng(0).choice(len(bg), static_points, replace=False)]
    track = Track(
        np.asarray(st, np.int64),
        np.asarray(cents, np.float64).reshape(-1, 3),
        np.asarray(npts, np.int64),
        len(seen),
        dropped,
    )
    return track, bg


def radar_person_track(
    path: str | Path,
    radar: str,
    *,
    params: PointCloudParams = PERSON_PARAMS,
    eps: float = 0.5,
    min_points: int = 2,
    measured_at: float = 0.5,
) -> Track:
    """The person's radar track: per frame the cluster of moving points with the most power. Its
    direction is the cluster's median point's (5-9 cm median cross-range error at 3-4 m on
    simulated walks; summing the azimuth spectra of all the person's cells did worse, 7-10 cm,
    as swinging arms pull it), its range the power-weighted range of the strongest moving
    reflector, steadier than the few CFAR points' ranges.

    A simulated frame's stamp marks its first chirp (live captures stamp on arrival, a latency the
    clock offset absorbs); the person is seen over all its chirps, so the track's stamps are moved
    ``measured_at`` of the chirps' duration later (the middle by default: 6.7 ms for a 16-loop
    cascade frame, 27 ms for 64 loops; without it the radar looks early by that much)."""
    with RecordingReader(path) as rec:
        _check_stream(rec, radar, "radar_adc", path)
        cfg = rec.radar_config(radar)
        ex = PointCloudExtractor(cfg, params)
        min_speed = 0.5 * cfg.velocity_resolution
        shift_ns = int(round(measured_at * cfg.active_time * 1e9))
        cents, npts, st, rngs = [], [], [], []
        dropped = {"no moving points": 0, "no cluster": 0}
        n = 0
        for f in rec.frames(radar):
            n += 1
            cube = cube_from_words(f.data["adc"], cfg)
            pc = ex(cube)
            pc = pc[np.abs(pc[:, 3]) >= min_speed]
            if len(pc) == 0:
                dropped["no moving points"] += 1
                continue
            labels = _clusters(pc[:, :3], eps, min_points)
            if (labels < 0).all():
                dropped["no cluster"] += 1
                continue
            power = 10 ** (pc[:, 4] / 10)
            best = int(np.argmax([power[labels == k].sum() for k in range(labels.max() + 1)]))
            c = pc[labels == best]
            m = np.median(c[:, :3], axis=0).astype(np.float64)
            rng = moving_range(cube, cfg)
            cents.append(m / np.linalg.norm(m) * rng)
            rngs.append(rng)
            npts.append(len(c))
            st.append(f.stamp_ns + shift_ns)
    return Track(
        np.asarray(st, np.int64),
        np.asarray(cents, np.float64).reshape(-1, 3),
        np.asarray(npts, np.int64),
        n,
        dropped,
        np.asarray(rngs, np.float64),
    )


def radar_static_cloud(
    path: str | Path,
    radar: str,
    *,
    params: PointCloudParams = STATIC_PARAMS,
    min_snr_db: float = 10.0,
    every: int = 1,
) -> tuple[np.ndarray, int]:
    """Static scatterers accumulated over the recording: ``(M, 5)`` x, y, z (m, radar frame),
    velocity, SNR (dB) of zero-Doppler points above ``min_snr_db``; and the frames used."""
    with RecordingReader(path) as rec:
        _check_stream(rec, radar, "radar_adc", path)
        cfg = rec.radar_config(radar)
        ex = PointCloudExtractor(cfg, params)
        out, n = [], 0
        for i, f in enumerate(rec.frames(radar)):
            if i % every:
                continue
            n += 1
            pc = ex(cube_from_words(f.data["adc"], cfg))
            out.append(
                pc[(np.abs(pc[:, 3]) < 0.5 * cfg.velocity_resolution) & (pc[:, 4] >= min_snr_db)]
            )
    return (np.concatenate(out) if out else np.zeros((0, 5), np.float32)), n


@dataclass
class ImageTrack:
    """One camera's person track: ``stamps_ns`` (N,) int64 on the camera's clock, ``u`` (N,) px
    the column that halves the person's silhouette, ``pixels`` (N,) silhouette pixels; ``frames``
    read and ``dropped`` frames per reason."""

    stamps_ns: np.ndarray
    u: np.ndarray
    pixels: np.ndarray
    frames: int = 0
    dropped: dict[str, int] = field(default_factory=dict)


def camera_person_track(
    path: str | Path,
    camera: str,
    *,
    threshold: float = 15.0,
    min_pixels: int = 200,
    background_frames: int = 60,
) -> ImageTrack:
    """The person's image column in every frame of a static camera: pixels whose grey level differs
    by more than ``threshold`` from the background (the per-pixel median of up to
    ``background_frames`` frames spread over the recording, which a walking person does not
    occupy for long) are the silhouette, and the column halving it is the person's bearing. The
    median column follows the torso; the centroid of frame differences (motion energy) followed
    the swinging limbs and was 20-60 ms less precise on simulated walks."""
    with RecordingReader(path) as rec:
        _check_stream(rec, camera, "image", path)
        stamps = rec.stamps(camera)
        n = len(stamps)
        if n < 5:
            raise CalibrationError(f"{path}: {n} frames of {camera!r}; at least 5 are needed")
        pick = set(np.linspace(0, n - 1, min(n, background_frames)).round().astype(int).tolist())
        grey = [
            f.data["image"].mean(axis=2).astype(np.uint8)
            for i, f in enumerate(rec.frames(camera))
            if i in pick
        ]
        bg = np.median(np.stack(grey), axis=0).astype(np.float32)
        us, px, st = [], [], []
        dropped = {"no silhouette": 0}
        for i, f in enumerate(rec.frames(camera)):
            fg = np.abs(f.data["image"].mean(axis=2, dtype=np.float32) - bg) > threshold
            cols = fg.sum(axis=0)
            total = int(cols.sum())
            if total < min_pixels:
                dropped["no silhouette"] += 1
                continue
            c = np.cumsum(cols)
            k = int(np.searchsorted(c, total / 2))
            # sub-pixel: where the cumulative count crosses half within column k (pixel centres
            # at k + 0.5, as CONVENTIONS puts the origin at the top-left pixel's corner)
            before = c[k - 1] if k > 0 else 0
            us.append(k + (total / 2 - before) / max(cols[k], 1))
            px.append(total)
            st.append(stamps[i])
    return ImageTrack(
        np.asarray(st, np.int64), np.asarray(us, np.float64), np.asarray(px, np.int64), n, dropped
    )
