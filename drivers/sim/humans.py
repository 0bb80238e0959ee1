"""Procedural people: 15-joint skeletons (RT-Pose order) with realistic proportions and motions.

The world frame is the rig's reference radar frame (x forward, y left, z up) with the floor at
``z = -radar_height``. Every motion is a closed-form function of time, so any instant (a chirp,
a LiDAR sweep, a camera exposure) can be evaluated exactly and reproducibly from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import DriversError

MOTIONS = ("stand", "walk", "turn", "wave", "box", "squat", "jumping_jacks", "sit")

# segment lengths as fractions of body height (anthropometric tables, rounded)
_PROP = {
    "thigh": 0.245,
    "shank": 0.246,
    "ankle": 0.039,
    "spine": 0.288,
    "neck_head": 0.10,
    "hip_half": 0.095,
    "shoulder_half": 0.129,
    "upper_arm": 0.186,
    "forearm": 0.146,
}


@dataclass(frozen=True)
class Body:
    """Segment lengths (m) of one person."""

    height: float
    thigh: float
    shank: float
    ankle: float
    spine: float
    neck_head: float
    hip_half: float
    shoulder_half: float
    upper_arm: float
    forearm: float

    @staticmethod
    def sample(rng: np.random.Generator) -> Body:
        h = float(rng.uniform(1.55, 1.95))
        # ±4 % individual variation per segment keeps proportions plausible
        return Body(
            height=h, **{k: v * h * float(rng.uniform(0.96, 1.04)) for k, v in _PROP.items()}
        )

    @property
    def leg(self) -> float:
        return self.thigh + self.shank + self.ankle


def _rx(a: np.ndarray) -> np.ndarray:
    return Rotation.from_euler("x", a).as_matrix()


def _ry(a: np.ndarray) -> np.ndarray:
    return Rotation.from_euler("y", a).as_matrix()


def _limb(
    root: np.ndarray,
    flex: np.ndarray,
    abd: np.ndarray,
    bend: np.ndarray,
    l1: float,
    l2: float,
    down: bool,
    side: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Two-segment limb hanging (down=True) or raised from ``root``, in body coordinates.

    ``flex`` rotates forward about y (positive swings the limb forward), ``abd`` sideways away
    from the body, ``bend`` folds the second segment (knee backwards for legs, elbow forwards
    for arms). Shapes: root (T, 3), angles (T,); returns two (T, 3) joint positions.
    """
    d = np.array([0.0, 0.0, -1.0])
    R1 = _ry(-flex) @ _rx(-side * abd)  # abduction moves away from the midline (side=+1 left)
    mid = root + l1 * (R1 @ d)
    sign = 1.0 if down else -1.0
    R2 = R1 @ _ry(sign * bend)
    end = mid + l2 * (R2 @ d)
    return mid, end


@dataclass
class Person:
    """One simulated person: body, motion, and a smooth ground path."""

    body: Body
    motion: str
    phase: float
    speed: float
    waypoints: np.ndarray  # (W, 2) x, y on the floor
    start_heading: float
    radar_height: float = 1.0
    _path: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.motion not in MOTIONS:
            raise DriversError(f"unknown motion {self.motion!r} (known: {', '.join(MOTIONS)})")

    # -- ground path --------------------------------------------------------------------
    def _build_path(self, duration: float = 120.0, dt: float = 0.01, a_max: float = 0.8) -> None:
        """Integrate a path through the waypoints with bounded speed and acceleration."""
        n = int(duration / dt) + 1
        pos = np.zeros((n, 2))
        pos[0] = self.waypoints[0]
        vel = np.zeros(2)
        w = 1
        moving = self.motion in ("walk", "turn")
        for i in range(1, n):
            target = self.waypoints[w % len(self.waypoints)]
            to = target - pos[i - 1]
            dist = float(np.hypot(*to))
            if dist < 0.25:
                w += 1
            desired = (
                (to / max(dist, 1e-9)) * min(self.speed, np.sqrt(2 * a_max * dist))
                if moving
                else np.zeros(2)
            )
            dv = desired - vel
            dvn = float(np.hypot(*dv))
            if dvn > a_max * dt:
                dv *= a_max * dt / dvn
            vel = vel + dv
            pos[i] = pos[i - 1] + vel * dt
        t = np.arange(n) * dt
        sp = np.hypot(*np.gradient(pos, dt, axis=0).T)
        vel_dir = np.arctan2(*np.gradient(pos, dt, axis=0).T[::-1])
        heading = np.where(sp > 0.05, vel_dir, np.nan)
        # hold the last heading while standing, then smooth turns (no instant spins)
        last = self.start_heading
        for i in range(n):
            if np.isnan(heading[i]):
                heading[i] = last
            last = heading[i]
        heading = np.unwrap(heading)
        k = int(0.3 / dt)
        kernel = np.ones(k) / k
        heading = np.convolve(
            np.pad(heading, (k // 2, k - 1 - k // 2), mode="edge"), kernel, mode="valid"
        )
        if self.motion == "turn":
            heading = heading + 0.6 * t  # turning on the spot while drifting
        self._path = (t, pos, heading)

    def ground(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(T, 2) floor position, (T,) heading (rad, from +x toward +y), (T,) ground speed (m/s)."""
        if self._path is None:
            self._build_path()
        assert self._path is not None
        tt, pos, head = self._path
        if np.any(t > tt[-1]):
            raise DriversError(
                f"simulated people are defined for {tt[-1]:.0f} s; asked for t={float(np.max(t)):.1f} s"
            )
        x = np.interp(t, tt, pos[:, 0])
        y = np.interp(t, tt, pos[:, 1])
        h = np.interp(t, tt, head)
        sp = np.hypot(
            np.interp(t, tt, np.gradient(pos[:, 0], tt)),
            np.interp(t, tt, np.gradient(pos[:, 1], tt)),
        )
        return np.stack([x, y], -1), h, sp

    # -- pose -----------------------------------------------------------------------------
    def joints(self, t: np.ndarray | float) -> np.ndarray:
        """``(T, 15, 3)`` joint positions (m) in the world frame at times ``t`` (s), RT-Pose order."""
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))
        b = self.body
        T = len(t)
        z = np.zeros(T)
        w = 2 * np.pi * t
        hip_f = z.copy()
        knee = z.copy()
        hip_a = z.copy()
        sh_f_r, sh_f_l, sh_a_r, sh_a_l = z.copy(), z.copy(), z.copy(), z.copy()
        el_r, el_l = np.full(T, 0.15), np.full(T, 0.15)
        hip_f_l, knee_l = z.copy(), z.copy()
        lean = z.copy()
        crouch = z.copy()  # pelvis drop from knee/hip flexion is handled by foot contact
        hop = z.copy()
        ground_xy, heading, speed = self.ground(t)
        m, ph = self.motion, self.phase
        if m in ("walk", "turn"):
            # stride frequency rises with speed (about 0.9 Hz at 1.2 m/s); swing scales with speed
            f = 0.55 + 0.3 * np.clip(speed, 0, 2)
            amp = np.clip(speed / 1.2, 0, 1.2)
            phase = (
                2 * np.pi * np.cumsum(f) * (t[1] - t[0] if T > 1 else 0) + ph
                if T > 1
                else ph + 2 * np.pi * f * t
            )
            phase = np.asarray(phase)
            hip_f = 0.45 * amp * np.sin(phase)
            hip_f_l = -hip_f
            knee = 0.9 * amp * np.clip(np.sin(phase - 1.2), 0, None) + 0.08
            knee_l = 0.9 * amp * np.clip(np.sin(phase + np.pi - 1.2), 0, None) + 0.08
            sh_f_r, sh_f_l = -0.5 * amp * np.sin(phase), 0.5 * amp * np.sin(phase)
            el_r = el_l = 0.3 + 0.15 * amp
        else:
            hip_f_l = hip_f
            knee_l = knee
            sway = 0.01 * np.sin(0.4 * w + ph)
            lean = lean + sway
        if m == "wave":
            sh_f_r = np.full(T, 0.3)
            sh_a_r = np.full(T, 2.4)
            el_r = 0.9 + 0.6 * np.sin(2 * 1.5 * np.pi * t + ph)
        elif m == "box":
            punch_r = 0.5 + 0.5 * np.sin(2 * np.pi * 1.2 * t + ph)
            punch_l = 0.5 - 0.5 * np.sin(2 * np.pi * 1.2 * t + ph)
            sh_f_r, sh_f_l = 0.6 + 0.9 * punch_r, 0.6 + 0.9 * punch_l
            el_r, el_l = 2.2 * (1 - punch_r) + 0.1, 2.2 * (1 - punch_l) + 0.1
            sh_a_r = sh_a_l = np.full(T, 0.25)
        elif m == "squat":
            s = 0.5 - 0.5 * np.cos(2 * np.pi * 0.35 * t + ph)
            hip_f = hip_f_l = 1.3 * s
            knee = knee_l = 2.0 * s
            lean = 0.45 * s
            sh_f_r = sh_f_l = 1.3 * s
        elif m == "jumping_jacks":
            s = 0.5 - 0.5 * np.cos(2 * np.pi * 0.8 * t + ph)
            sh_a_r = sh_a_l = 2.7 * s
            hip_a = 0.3 * s
            hop = 0.08 * np.abs(np.sin(2 * np.pi * 0.8 * t + ph))
        elif m == "sit":
            # stand ~1.5 s, lower onto a seat over 1.5 s, then stay seated
            s = np.clip((((t + ph) % 12.0) - 1.5) / 1.5, 0, 1)
            s = s * s * (3 - 2 * s)
            hip_f = hip_f_l = 1.5 * s
            knee = knee_l = 1.55 * s
            lean = 0.2 * s
            crouch = s
        # --- forward kinematics in the body frame (x forward, y left, z up; pelvis at origin) ---
        pelvis = np.zeros((T, 3))
        up = np.stack([np.sin(lean), z, np.cos(lean)], -1)
        thorax = pelvis + b.spine * up
        head = thorax + b.neck_head * up
        r_hip = pelvis + np.array([0, -b.hip_half, 0])
        l_hip = pelvis + np.array([0, b.hip_half, 0])
        r_knee, r_ank, l_knee, l_ank = (np.zeros((T, 3)) for _ in range(4))
        r_sh = thorax + np.array([0, -b.shoulder_half, 0])
        l_sh = thorax + np.array([0, b.shoulder_half, 0])
        r_el, r_wr, l_el, l_wr = (np.zeros((T, 3)) for _ in range(4))
        for i in range(T):
            r_knee[i], r_ank[i] = (
                a[0]
                for a in _limb(
                    r_hip[i : i + 1], hip_f[i], hip_a[i], knee[i], b.thigh, b.shank, True, -1.0
                )
            )
            l_knee[i], l_ank[i] = (
                a[0]
                for a in _limb(
                    l_hip[i : i + 1], hip_f_l[i], hip_a[i], knee_l[i], b.thigh, b.shank, True, 1.0
                )
            )
            r_el[i], r_wr[i] = (
                a[0]
                for a in _limb(
                    r_sh[i : i + 1],
                    sh_f_r[i],
                    sh_a_r[i],
                    el_r[i],
                    b.upper_arm,
                    b.forearm,
                    False,
                    -1.0,
                )
            )
            l_el[i], l_wr[i] = (
                a[0]
                for a in _limb(
                    l_sh[i : i + 1],
                    sh_f_l[i],
                    sh_a_l[i],
                    el_l[i],
                    b.upper_arm,
                    b.forearm,
                    False,
                    1.0,
                )
            )
        J = np.stack(
            [
                pelvis,
                r_hip,
                r_knee,
                r_ank,
                l_hip,
                l_knee,
                l_ank,
                thorax,
                head,
                r_sh,
                r_el,
                r_wr,
                l_sh,
                l_el,
                l_wr,
            ],
            axis=1,
        )
        # --- place in the world: heading, floor position, feet on the floor ---
        c, s_ = np.cos(heading), np.sin(heading)
        Rz = np.zeros((T, 3, 3))
        Rz[:, 0, 0], Rz[:, 0, 1], Rz[:, 1, 0], Rz[:, 1, 1], Rz[:, 2, 2] = c, -s_, s_, c, 1
        J = np.einsum("tij,tkj->tki", Rz, J)
        floor = -self.radar_height
        lowest_ankle = np.minimum(J[:, 3, 2], J[:, 6, 2])
        if m == "sit":
            seat = 0.46  # chair height: pelvis rests there once seated
            stand_z = floor + b.ankle - lowest_ankle
            sit_z = floor + seat - J[:, 0, 2]
            # feet never sink below the floor; long legs make the seat a little higher
            dz = np.maximum((1 - crouch) * stand_z + crouch * sit_z, stand_z)
        else:
            dz = floor + b.ankle - lowest_ankle + hop
        J[:, :, 0] += ground_xy[:, None, 0]
        J[:, :, 1] += ground_xy[:, None, 1]
        J[:, :, 2] += dz[:, None]
        return J


def make_people(
    n: int,
    rng: np.random.Generator,
    motions: list[str] | None = None,
    area: tuple[float, float, float, float] = (1.6, 4.4, -1.4, 1.4),
    radar_height: float = 1.0,
    min_separation: float = 0.7,
    duration: float = 120.0,
) -> list[Person]:
    """``n`` people (1-3) in the area ``(x_min, x_max, y_min, y_max)`` who never come closer than ``min_separation``."""
    if not 1 <= n <= 3:
        raise DriversError(f"the simulator places 1 to 3 people, asked for {n}")
    bad = [m for m in motions or [] if m not in MOTIONS]
    if bad:
        raise DriversError(f"unknown motion {bad[0]!r} (known: {', '.join(MOTIONS)})")
    x0, x1, y0, y1 = area
    # each person keeps to a lane of the area, so paths never cross; lanes shuffle between attempts
    lane = (y1 - y0) / n
    if lane <= min_separation and n > 1:
        raise DriversError(
            f"the area is {y1 - y0:.1f} m wide: too narrow for {n} people {min_separation} m apart"
        )
    for _attempt in range(200):
        people = []
        order = rng.permutation(n)
        for i in range(n):
            motion = motions[i % len(motions)] if motions else str(rng.choice(MOTIONS))
            k = 6 if motion in ("walk", "turn") else 1
            ly0 = y0 + order[i] * lane + (min_separation / 2 if n > 1 else 0)
            ly1 = y0 + (order[i] + 1) * lane - (min_separation / 2 if n > 1 else 0)
            wp = np.column_stack([rng.uniform(x0, x1, k), rng.uniform(ly0, ly1, k)])
            people.append(
                Person(
                    body=Body.sample(rng),
                    motion=motion,
                    phase=float(rng.uniform(0, 2 * np.pi)),
                    speed=float(rng.uniform(0.6, 1.3)),
                    waypoints=wp,
                    start_heading=float(np.arctan2(-wp[0, 1], -wp[0, 0]) + rng.normal(0, 0.3)),
                    radar_height=radar_height,
                )
            )
        if n == 1:
            return people
        t = np.arange(0, duration, 0.1)
        tracks = [p.ground(t)[0] for p in people]
        ok = all(
            np.min(np.hypot(*(tracks[i] - tracks[j]).T)) >= min_separation
            for i in range(n)
            for j in range(i + 1, n)
        )
        if ok:
            return people
    raise DriversError(
        f"could not place {n} people {min_separation} m apart in the area; enlarge it"
    )
