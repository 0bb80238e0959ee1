"""Body surfaces: a capsule per bone, radar scatterers on them, and triangle meshes.

Scatterers are fixed in each bone's local frame, so they move rigidly with the bone and their
velocity is the bone's; that is what makes limbs produce micro-Doppler.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..skeleton import RTPOSE15

# capsule radius (m) per RT-Pose edge, in RTPOSE15.edges order
_RADII = {
    (0, 1): 0.10,  # pelvis-hip: the hip mass
    (1, 2): 0.075,  # thigh
    (2, 3): 0.052,  # shank
    (0, 4): 0.10,
    (4, 5): 0.075,
    (5, 6): 0.052,
    (0, 7): 0.14,  # torso
    (7, 8): 0.095,  # neck + head
    (7, 9): 0.06,  # shoulder girdle
    (9, 10): 0.045,  # upper arm
    (10, 11): 0.036,  # forearm
    (7, 12): 0.06,
    (12, 13): 0.045,
    (13, 14): 0.036,
}
RADII = np.array([_RADII[e] for e in RTPOSE15.edges])
EDGES = np.array(RTPOSE15.edges)


@dataclass(frozen=True)
class ScattererSet:
    """Scatterers in bone-local coordinates. Shapes: bone (K,), along (K,), normal_local (K, 3)."""

    bone: np.ndarray  # index into EDGES
    along: np.ndarray  # 0..1 position along the bone axis
    normal_local: np.ndarray  # unit normal in the bone frame (axis = local z)
    radius: np.ndarray
    rcs: np.ndarray  # m², at normal incidence


def make_scatterers(
    rng: np.random.Generator, per_person: int = 400, total_rcs: float = 1.0
) -> ScattererSet:
    """Spread ``per_person`` scatterers over the capsules, density proportional to surface area."""
    length_proxy = np.array(
        [0.1, 0.42, 0.42, 0.1, 0.42, 0.42, 0.5, 0.25, 0.18, 0.3, 0.26, 0.18, 0.3, 0.26]
    )
    area = 2 * np.pi * RADII * length_proxy
    bone = rng.choice(len(EDGES), size=per_person, p=area / area.sum())
    along = rng.uniform(0, 1, per_person)
    phi = rng.uniform(0, 2 * np.pi, per_person)
    normal = np.stack([np.cos(phi), np.sin(phi), np.zeros(per_person)], -1)
    rcs = rng.exponential(total_rcs / per_person, per_person)  # Swerling-like fluctuation per point
    return ScattererSet(bone, along, normal, RADII[bone], rcs)


def _bone_frames(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bone start ``(..., B, 3)``, axis vector ``(..., B, 3)`` and a rotation ``(..., B, 3, 3)`` whose z is the axis."""
    a = joints[..., EDGES[:, 0], :]
    v = joints[..., EDGES[:, 1], :] - a
    z = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)
    ref = np.where(np.abs(z[..., 2:3]) < 0.9, np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]))
    x = np.cross(ref, z)
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    y = np.cross(z, x)
    return a, v, np.stack([x, y, z], axis=-1)


def scatterer_positions(joints: np.ndarray, s: ScattererSet) -> tuple[np.ndarray, np.ndarray]:
    """World positions ``(..., K, 3)`` and outward normals ``(..., K, 3)`` for joints ``(..., 15, 3)``."""
    a, v, R = _bone_frames(joints)
    n_world = np.einsum("...kij,kj->...ki", R[..., s.bone, :, :], s.normal_local)
    axis_pt = a[..., s.bone, :] + s.along[:, None] * v[..., s.bone, :]
    return axis_pt + s.radius[:, None] * n_world, n_world


_UNIT: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}


def _unit_primitives(resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unit cylinder (radius 1, z from 0 to 1) and unit sphere: vertices and triangles, built once."""
    if resolution not in _UNIT:
        import open3d as o3d

        cyl = o3d.geometry.TriangleMesh.create_cylinder(
            radius=1.0, height=1.0, resolution=resolution, split=1
        )
        cyl.translate((0, 0, 0.5))
        sph = o3d.geometry.TriangleMesh.create_sphere(radius=1.0, resolution=resolution // 2 + 2)
        _UNIT[resolution] = (
            np.asarray(cyl.vertices),
            np.asarray(cyl.triangles),
            np.asarray(sph.vertices),
            np.asarray(sph.triangles),
        )
    return _UNIT[resolution]


def body_mesh_arrays(joints: np.ndarray, resolution: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Capsule mesh of one person's ``(15, 3)`` joints: vertices ``(V, 3)`` float32, triangles ``(F, 3)`` int32."""
    cv, ct, sv, st = _unit_primitives(resolution)
    a, v, R = _bone_frames(joints)
    length = np.linalg.norm(v, axis=-1)
    # cylinders: scale radius in x/y and length in z, rotate onto the bone, move to its start
    cyl = (
        np.einsum("bij,bvj->bvi", R, cv[None] * np.stack([RADII, RADII, length], -1)[:, None])
        + a[:, None]
    )
    ends = np.concatenate([a, a + v])  # sphere centres (2B, 3)
    radii = np.concatenate([RADII, RADII])
    sph = sv[None] * radii[:, None, None] + ends[:, None]
    verts = np.concatenate([cyl.reshape(-1, 3), sph.reshape(-1, 3)])
    nb, ns = len(EDGES), len(ends)
    tris = [
        ct[None] + (np.arange(nb) * len(cv))[:, None, None],
        st[None] + (nb * len(cv) + np.arange(ns) * len(sv))[:, None, None],
    ]
    return verts.astype(np.float32), np.concatenate([t.reshape(-1, 3) for t in tris]).astype(
        np.int32
    )


def body_mesh(joints: np.ndarray, resolution: int = 10):  # -> open3d.geometry.TriangleMesh
    """A closed triangle mesh of the capsules for one person's ``(15, 3)`` joints (open3d legacy)."""
    import open3d as o3d

    v, t = body_mesh_arrays(joints, resolution)
    return o3d.geometry.TriangleMesh(
        o3d.utility.Vector3dVector(v.astype(np.float64)), o3d.utility.Vector3iVector(t)
    )
