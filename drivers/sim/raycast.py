"""Ray casting against the room and the people with open3d's RaycastingScene: LiDAR and camera."""

from __future__ import annotations

import numpy as np

from ..camera import undistort_normalized
from ..errors import DriversError
from ..rig import CameraConfig, LidarConfig
from .body import body_mesh_arrays
from .scene import BOARD, PERSON_BASE, REFLECTOR, ROOM, Room

_PERSON_COLORS = np.array([[200, 90, 60], [60, 120, 200], [90, 170, 80]], dtype=np.float64)


class World:
    """A ray-casting scene for one instant: the room plus people posed by ``joints`` ``(P, 15, 3)``."""

    def __init__(self, room: Room, joints: np.ndarray) -> None:
        import open3d as o3d

        self.room = room
        self.scene = o3d.t.geometry.RaycastingScene()
        self.kind: dict[int, int] = {}
        for mesh, gid in room.meshes():
            self.kind[self.scene.add_triangles(o3d.t.geometry.TriangleMesh.from_legacy(mesh))] = gid
        for p, j in enumerate(joints):
            v, t = body_mesh_arrays(j)
            self.kind[
                self.scene.add_triangles(o3d.core.Tensor(v), o3d.core.Tensor(t.astype(np.uint32)))
            ] = PERSON_BASE + p

    def cast(
        self, origins: np.ndarray, dirs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distance ``(N,)`` (inf on a miss), geometry kind ``(N,)`` (-1 on a miss), unit normal ``(N, 3)``."""
        import open3d as o3d

        rays = np.concatenate([np.broadcast_to(origins, dirs.shape), dirs], axis=1).astype(
            np.float32
        )
        ans = self.scene.cast_rays(o3d.core.Tensor(rays))
        t = ans["t_hit"].numpy().astype(np.float64)
        gid = ans["geometry_ids"].numpy().astype(np.int64)
        lut = np.full(max(self.kind) + 2, -1)
        for g, k in self.kind.items():
            lut[g] = k
        kind = np.where(np.isfinite(t), lut[np.clip(gid, 0, len(lut) - 1)], -1)
        return t, kind, ans["primitive_normals"].numpy().astype(np.float64)


def lidar_directions(cfg: LidarConfig, frame_index: int) -> np.ndarray:
    """``(N, 3)`` unit ray directions in the LiDAR frame for one sweep."""
    v0, v1 = np.deg2rad(cfg.v_fov_min_deg), np.deg2rad(cfg.v_fov_max_deg)
    hf = np.deg2rad(cfg.h_fov_deg)
    if cfg.pattern == "spinning":
        n_az = max(1, cfg.points_per_frame // cfg.channels)
        az = np.linspace(-hf / 2, hf / 2, n_az, endpoint=hf < 2 * np.pi)
        el = np.linspace(v0, v1, cfg.channels)
        A, E = np.meshgrid(az, el)
    else:
        # Livox-like rosette: incommensurate sinusoids, shifted every frame so coverage grows over time
        t = np.arange(cfg.points_per_frame) + frame_index * cfg.points_per_frame
        A = (hf / 2) * np.sin(2 * np.pi * t / 7919.0 * 1.0007) * np.cos(2 * np.pi * t / 1013.0)
        E = (v0 + v1) / 2 + ((v1 - v0) / 2) * np.sin(2 * np.pi * t / 7919.0 * 1.0007) * np.sin(
            2 * np.pi * t / 1013.0
        )
    A, E = A.ravel(), E.ravel()
    return np.column_stack([np.cos(E) * np.cos(A), np.cos(E) * np.sin(A), np.sin(E)])


def lidar_sweep(
    world: World,
    T_world_lidar: np.ndarray,
    cfg: LidarConfig,
    frame_index: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``(M, 4)`` float32 points x, y, z, intensity in the LiDAR frame, with range noise and dropouts."""
    d_local = lidar_directions(cfg, frame_index)
    d_world = d_local @ T_world_lidar[:3, :3].T
    t, kind, normal = world.cast(T_world_lidar[:3, 3][None], d_world)
    keep = np.isfinite(t) & (t < cfg.max_range) & (rng.random(len(t)) >= cfg.dropout)
    r = t[keep] + rng.normal(0, cfg.range_noise, keep.sum())
    pts = d_local[keep] * r[:, None]
    cosi = np.abs(np.einsum("nj,nj->n", normal[keep], d_world[keep]))
    refl = np.where(kind[keep] == REFLECTOR, 1.0, np.where(kind[keep] >= PERSON_BASE, 0.4, 0.6))
    return np.column_stack([pts, refl * cosi]).astype(np.float32)


def render_camera(
    world: World, T_world_cam: np.ndarray, cam: CameraConfig, supersample: int = 1
) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB: z-buffered people over the room, Lambert shading, checkerboards.

    ``supersample`` s casts s×s rays per pixel and averages them, as a sensor integrates light
    over the pixel's area: edges get the grey levels that sub-pixel corner detection relies on."""
    if cam.width * cam.height * supersample**2 > 4_000_000:
        raise DriversError(f"camera {cam.width}x{cam.height} is too large to simulate")
    sub = (np.arange(supersample) + 0.5) / supersample
    u, v = np.meshgrid(
        (np.arange(cam.width)[:, None] + sub).ravel(),
        (np.arange(cam.height)[:, None] + sub).ravel(),
    )
    xy_d = np.stack([(u - cam.cx) / cam.fx, (v - cam.cy) / cam.fy], -1).reshape(-1, 2)
    xy = undistort_normalized(xy_d, cam)
    d_cam = np.column_stack([xy, np.ones(len(xy))])
    d_cam /= np.linalg.norm(d_cam, axis=1, keepdims=True)
    d_world = d_cam @ T_world_cam[:3, :3].T
    origin = T_world_cam[:3, 3]
    t, kind, normal = world.cast(origin[None], d_world)
    light = np.array([0.3, 0.2, 0.93])
    shade = 0.35 + 0.65 * np.abs(normal @ light)
    base = np.full((len(t), 3), 150.0)
    base[kind == ROOM] = [170, 165, 155]
    base[kind == REFLECTOR] = [220, 220, 230]
    person = kind >= PERSON_BASE
    base[person] = _PERSON_COLORS[(kind[person] - PERSON_BASE) % len(_PERSON_COLORS)]
    board = kind == BOARD
    if board.any():
        hit = origin + d_world[board] * t[board, None]
        for bd in world.room.boards:
            local = (hit - bd.T[:3, 3]) @ bd.T[:3, :3]
            inside = (
                (local[:, 0] >= 0)
                & (local[:, 0] <= bd.cols * bd.square)
                & (local[:, 1] >= 0)
                & (local[:, 1] <= bd.rows * bd.square)
            )
            sq = (np.floor(local[:, 0] / bd.square) + np.floor(local[:, 1] / bd.square)) % 2
            col = np.where(sq[:, None] == 0, 235.0, 25.0) * np.ones((1, 3))
            on = np.abs(local[:, 2]) < 0.01  # this board's face (several boards may be hit)
            idx = np.flatnonzero(board)
            base[idx[on]] = 235.0  # the white border
            base[idx[on & inside]] = col[on & inside]
        shade[board] = 1.0
    img = np.where(np.isfinite(t)[:, None], base * shade[:, None], 30.0)
    s = supersample
    img = img.reshape(cam.height, s, cam.width, s, 3).mean(axis=(1, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)
