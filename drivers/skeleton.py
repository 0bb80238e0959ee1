"""Skeleton definitions and explicit conversion tables (see docs/CONVENTIONS.md).

A conversion is a table: each target joint is the mean of one or more source joints. A joint the
source lacks is derived by the rule written in the table (pelvis = mid-hips, thorax = neck,
COCO face points = head), never filled with zeros. Confidence of a derived joint is the minimum
of the confidences it was made from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DriversError


@dataclass(frozen=True)
class SkeletonDef:
    """Joint names in order and the bones as index pairs."""

    name: str
    joints: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]

    @property
    def n_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        return self.joints.index(joint)


RTPOSE15 = SkeletonDef(
    "rtpose15",
    (
        "pelvis",
        "right_hip",
        "right_knee",
        "right_ankle",
        "left_hip",
        "left_knee",
        "left_ankle",
        "thorax",
        "head",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
    ),
    (
        (0, 1),
        (1, 2),
        (2, 3),
        (0, 4),
        (4, 5),
        (5, 6),
        (0, 7),
        (7, 8),
        (7, 9),
        (9, 10),
        (10, 11),
        (7, 12),
        (12, 13),
        (13, 14),
    ),
)

HUPR14 = SkeletonDef(
    "hupr14",
    (
        "right_hip",
        "right_knee",
        "right_ankle",
        "left_hip",
        "left_knee",
        "left_ankle",
        "neck",
        "head",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
    ),
    (
        (0, 1),
        (1, 2),
        (3, 4),
        (4, 5),
        (6, 7),
        (6, 8),
        (8, 9),
        (9, 10),
        (6, 11),
        (11, 12),
        (12, 13),
        (0, 3),
        (0, 11),
        (3, 8),
    ),
)

COCO17 = SkeletonDef(
    "coco17",
    (
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ),
    (
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
        (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
    ),
)  # fmt: skip

SKELETONS = {s.name: s for s in (RTPOSE15, HUPR14, COCO17)}

_SAME = (
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
)

# target joint name -> source joint names averaged to make it
_RULES: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("hupr14", "rtpose15"): {
        "pelvis": ("right_hip", "left_hip"),
        "thorax": ("neck",),
        "head": ("head",),
    },
    ("rtpose15", "hupr14"): {"neck": ("thorax",), "head": ("head",)},
    ("coco17", "rtpose15"): {
        "pelvis": ("right_hip", "left_hip"),
        "thorax": ("right_shoulder", "left_shoulder"),
        "head": ("left_ear", "right_ear"),
    },
    ("coco17", "hupr14"): {
        "neck": ("right_shoulder", "left_shoulder"),
        "head": ("left_ear", "right_ear"),
    },
    # face points are not observed by 3D skeletons: all of them take the head position
    ("rtpose15", "coco17"): {
        k: ("head",) for k in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
    },
    ("hupr14", "coco17"): {
        k: ("head",) for k in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
    },
}


def conversion_table(src: str, dst: str) -> list[tuple[int, ...]]:
    """For each joint of ``dst``, the indices of ``src`` joints averaged to make it."""
    if src not in SKELETONS or dst not in SKELETONS:
        raise DriversError(
            f"unknown skeleton {src if src not in SKELETONS else dst!r} (known: {', '.join(SKELETONS)})"
        )
    s, d = SKELETONS[src], SKELETONS[dst]
    if src == dst:
        return [(i,) for i in range(s.n_joints)]
    rules = _RULES[(src, dst)]
    table = []
    for joint in d.joints:
        names = rules.get(joint) or ((joint,) if joint in _SAME else None)
        if names is None:
            raise DriversError(f"no rule derives {dst} joint {joint!r} from {src}")
        table.append(tuple(s.index(n) for n in names))
    return table


def convert_skeleton(
    joints: np.ndarray, src: str, dst: str, confidence: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Convert ``(..., J_src, C)`` joints to ``(..., J_dst, C)`` and their ``(..., J)`` confidence.

    ``C`` is 2 (pixels) or 3 (metres). Without a confidence input every source joint counts as 1.
    """
    joints = np.asarray(joints)
    n_src = SKELETONS[src].n_joints if src in SKELETONS else -1
    if joints.ndim < 2 or joints.shape[-2] != n_src:
        raise DriversError(
            f"expected joints of shape (..., {n_src}, C) for {src}, got {joints.shape}"
        )
    table = conversion_table(src, dst)
    conf = (
        np.ones(joints.shape[:-1], dtype=np.float32)
        if confidence is None
        else np.asarray(confidence)
    )
    if conf.shape != joints.shape[:-1]:
        raise DriversError(
            f"confidence shape {conf.shape} does not match joints {joints.shape[:-1]}"
        )
    out = np.stack([joints[..., list(idx), :].mean(axis=-2) for idx in table], axis=-2)
    out_conf = np.stack([conf[..., list(idx)].min(axis=-1) for idx in table], axis=-1)
    return out.astype(joints.dtype, copy=False), out_conf


def bone_lengths(joints: np.ndarray, skeleton: SkeletonDef = RTPOSE15) -> np.ndarray:
    """``(..., n_edges)`` bone lengths of ``(..., J, 3)`` joints, in the input's units."""
    e = np.asarray(skeleton.edges)
    return np.linalg.norm(joints[..., e[:, 1], :] - joints[..., e[:, 0], :], axis=-1)
