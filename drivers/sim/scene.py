"""The static room: walls, floor, furniture and calibration targets, as meshes and radar clutter.

World frame = the rig's reference radar frame; the floor is at ``z = -radar_height``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# geometry ids used by the ray caster to colour and classify hits
ROOM, FURNITURE, REFLECTOR, BOARD = 0, 1, 2, 3
PERSON_BASE = 10


@dataclass(frozen=True)
class CornerReflector:
    """A trihedral corner reflector: a strong point scatterer at ``position`` (m, world)."""

    position: tuple[float, float, float]
    rcs: float = 5.0  # m²; a 10 cm trihedral at 77 GHz is ~10 m²
    size: float = 0.1


@dataclass(frozen=True)
class Checkerboard:
    """A planar checkerboard: ``pose`` T_world_board (board x/y in its plane, z its normal)."""

    pose: tuple[tuple[float, ...], ...]
    rows: int = 6
    cols: int = 8
    square: float = 0.08
    margin: float = 0.0  # white border around the pattern (m); corner detectors want one

    @property
    def T(self) -> np.ndarray:
        return np.asarray(self.pose, dtype=np.float64)

    def inner_corners(self) -> np.ndarray:
        """``((rows-1)*(cols-1), 3)`` inner corner positions in the world, row-major."""
        ii, jj = np.meshgrid(np.arange(1, self.rows), np.arange(1, self.cols), indexing="ij")
        local = np.column_stack(
            [
                jj.ravel() * self.square,
                ii.ravel() * self.square,
                np.zeros(ii.size),
                np.ones(ii.size),
            ]
        )
        return (local @ self.T.T)[:, :3]


@dataclass
class Room:
    """A box room in front of the radar with optional furniture and targets."""

    depth: float = 7.0  # back wall at x = depth
    half_width: float = 3.5
    height: float = 2.8
    radar_height: float = 1.0
    furniture: bool = True
    reflectors: list[CornerReflector] = field(default_factory=list)
    boards: list[Checkerboard] = field(default_factory=list)

    @property
    def floor(self) -> float:
        return -self.radar_height

    def boxes(self) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """Furniture as axis-aligned boxes (min corner, max corner, geometry id)."""
        if not self.furniture:
            return []
        f = self.floor
        return [
            (np.array([5.2, -2.6, f]), np.array([6.0, -1.4, f + 0.75]), FURNITURE),  # table
            (np.array([5.6, 1.8, f]), np.array([6.1, 2.4, f + 1.9]), FURNITURE),  # cabinet
        ]

    def meshes(self) -> list[tuple[object, int]]:
        """open3d triangle meshes with their geometry ids (room shell inward-facing)."""
        import open3d as o3d

        out = []
        shell = o3d.geometry.TriangleMesh.create_box(
            self.depth + 1.0, 2 * self.half_width, self.height
        )
        shell.translate((-1.0, -self.half_width, self.floor))
        out.append((shell, ROOM))
        for lo, hi, gid in self.boxes():
            b = o3d.geometry.TriangleMesh.create_box(*(hi - lo))
            b.translate(lo)
            out.append((b, gid))
        for r in self.reflectors:
            b = o3d.geometry.TriangleMesh.create_box(r.size, r.size, r.size)
            b.translate(np.asarray(r.position) - r.size / 2)
            out.append((b, REFLECTOR))
        for bd in self.boards:
            w, h = bd.cols * bd.square, bd.rows * bd.square
            b = o3d.geometry.TriangleMesh.create_box(w + 2 * bd.margin, h + 2 * bd.margin, 0.005)
            b.translate((-bd.margin, -bd.margin, -0.005))
            b.transform(bd.T)
            out.append((b, BOARD))
        return out

    def clutter(
        self, rng: np.random.Generator, n: int = 240
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Static radar scatterers on walls, floor and furniture: positions, normals ``(n, 3)``, RCS ``(n,)``."""
        f, d, hw = self.floor, self.depth, self.half_width
        k = n // 4
        back = np.column_stack(
            [np.full(k, d), rng.uniform(-hw, hw, k), rng.uniform(f, f + self.height, k)]
        )
        side = np.column_stack(
            [
                rng.uniform(1, d, k),
                np.where(rng.random(k) < 0.5, -hw, hw),
                rng.uniform(f, f + self.height, k),
            ]
        )
        floor = np.column_stack([rng.uniform(1, d, k), rng.uniform(-hw, hw, k), np.full(k, f)])
        parts, normals = (
            [back, side, floor],
            [
                np.tile([-1.0, 0, 0], (k, 1)),
                np.column_stack([np.zeros(k), -np.sign(side[:, 1]), np.zeros(k)]),
                np.tile([0, 0, 1.0], (k, 1)),
            ],
        )
        for lo, hi, _ in self.boxes():
            m = k // 2
            pts = rng.uniform(lo, hi, (m, 3))
            pts[:, 0] = lo[0]  # front face toward the radar
            parts.append(pts)
            normals.append(np.tile([-1.0, 0, 0], (m, 1)))
        pos = np.concatenate(parts)
        rcs = rng.exponential(0.02, len(pos))
        for r in self.reflectors:
            pos = np.vstack([pos, r.position])
            rcs = np.append(rcs, r.rcs)
            normals.append(np.array([[-1.0, 0, 0]]))
        return pos, np.concatenate(normals), rcs


@dataclass(frozen=True)
class MovingTarget:
    """A calibration target carried through the scene: a corner reflector on a pole with a
    checkerboard ``board_height`` m above it, the board facing the rig (its normal horizontal,
    toward the world origin) and kept upright, as someone carries it.

    ``waypoints`` rows are ``(t, x, y, z)``: true time (s) and the reflector's centre (m, world);
    the path through them is a cubic spline with zero velocity at both ends, so the target moves
    smoothly, speeding up and slowing down, and changes direction at every waypoint.
    ``wobble_deg`` turns the board about the vertical by that amplitude (0.4 Hz), as a hand does.
    """

    waypoints: tuple[tuple[float, float, float, float], ...]
    rcs: float = 5.0
    size: float = 0.1
    board_height: float = 0.45  # board centre above the reflector centre (m)
    rows: int = 6
    cols: int = 8
    square: float = 0.08
    margin: float = 0.08
    wobble_deg: float = 0.0

    def _spline(self):  # noqa: ANN202 - scipy CubicSpline
        from scipy.interpolate import CubicSpline

        w = np.asarray(self.waypoints, dtype=np.float64)
        return CubicSpline(w[:, 0], w[:, 1:], bc_type="clamped")

    def position(self, t: float | np.ndarray) -> np.ndarray:
        """Reflector centre ``(3,)`` (or ``(N, 3)`` for ``t`` (N,)) m, world, at true time ``t``
        (held at the ends outside the waypoints' span)."""
        w = self.waypoints
        return self._spline()(np.clip(t, w[0][0], w[-1][0]))

    def velocity(self, t: float) -> np.ndarray:
        """``(3,)`` m/s at true time ``t`` (zero outside the waypoints' span)."""
        w = self.waypoints
        if not w[0][0] <= t <= w[-1][0]:
            return np.zeros(3)
        return self._spline().derivative()(t)

    def reflector(self, t: float) -> CornerReflector:
        return CornerReflector(tuple(float(v) for v in self.position(t)), self.rcs, self.size)

    def board(self, t: float) -> Checkerboard:
        """The checkerboard at true time ``t``: centre ``board_height`` above the reflector."""
        c = self.position(t) + [0.0, 0.0, self.board_height]
        yaw = np.arctan2(-c[1], -c[0]) + np.radians(self.wobble_deg) * np.sin(2 * np.pi * 0.4 * t)
        z = np.array([np.cos(yaw), np.sin(yaw), 0.0])  # the printed side faces the rig
        x = np.cross([0.0, 0.0, 1.0], z)
        y = np.cross(z, x)
        T = np.eye(4)
        T[:3, :3] = np.column_stack([x, y, z])
        T[:3, 3] = c - x * self.cols * self.square / 2 - y * self.rows * self.square / 2
        return Checkerboard(
            tuple(map(tuple, T)), self.rows, self.cols, self.square, margin=self.margin
        )
