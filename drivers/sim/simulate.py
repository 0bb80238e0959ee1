"""Rig-level simulation: every sensor of a rig on its own clock, as a Source or a recording.

The world frame is the rig's reference radar frame. Each sensor runs at its rate with a random
start phase; its stamps carry the rig's clock offset (``stamp = true time + offset``, CONVENTIONS /
drivers.calibfile) plus jitter. Ground truth skeletons are stamped on the reference clock at the
reference radar's frame times.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..calibfile import calibration_from_rig
from ..camera import in_image, project
from ..config import dump_yaml
from ..errors import DriversError
from ..recording import RecordingWriter, StreamSpec
from ..rig import Rig, load_rig
from ..source import Frame, SourceStats
from ..transforms import apply, invert
from .body import make_scatterers, scatterer_positions
from .humans import Person, make_people
from .radar import RadarSimParams, quantize, synthesize_frame
from .raycast import World, lidar_sweep, render_camera
from .scene import Checkerboard, CornerReflector, MovingTarget, Room

GROUNDTRUTH = "groundtruth"


@dataclass
class SimConfig:
    """What to simulate. ``motions`` cycles over people; ``None`` draws them at random."""

    people: int = 1
    seconds: float = 10.0
    seed: int = 0
    motions: list[str] | None = None
    radar_height: float = 1.0
    scatterers_per_person: int = 400
    clutter: bool = True
    multipath: bool = False
    radar: RadarSimParams = field(default_factory=RadarSimParams)
    reflectors: list[CornerReflector] = field(default_factory=list)
    boards: list[Checkerboard] = field(default_factory=list)
    empty: bool = False  # no people (calibration scenes)
    camera_supersample: int = 1  # rays per pixel side (see raycast.render_camera)
    target: MovingTarget | None = None  # a calibration target carried through the scene
    # per sensor frame, with a target: the chance that the sensor misses it (held behind
    # something), and the chance of a spurious target (radar and LiDAR: a second bright
    # reflector somewhere in the room; camera: a bright glare patch)
    target_miss: float = 0.0
    target_ghost: float = 0.0
    camera_noise: float = 0.0  # std of Gaussian pixel noise (grey levels)
    start_ns: int = (
        1_700_000_000_000_000_000  # epoch of t = 0 (fixed so recordings are reproducible)
    )


class Simulation:
    """The simulated world for one rig; query any sensor at any true time ``t`` (s)."""

    def __init__(self, rig: Rig | str, cfg: SimConfig | None = None) -> None:
        self.rig = load_rig(rig) if isinstance(rig, str) else rig
        self.cfg = cfg or SimConfig()
        if self.cfg.seconds <= 0:
            raise DriversError(f"seconds must be positive, got {self.cfg.seconds}")
        self.rng = np.random.default_rng(self.cfg.seed)
        self.room = Room(
            radar_height=self.cfg.radar_height,
            reflectors=list(self.cfg.reflectors),
            boards=list(self.cfg.boards),
        )
        self.people: list[Person] = (
            []
            if self.cfg.empty
            else make_people(
                self.cfg.people,
                self.rng,
                self.cfg.motions,
                radar_height=self.cfg.radar_height,
                duration=self.cfg.seconds + 5,
            )
        )
        self.scatterers = [
            make_scatterers(self.rng, self.cfg.scatterers_per_person) for _ in self.people
        ]
        self.clutter = (
            self.room.clutter(self.rng)
            if self.cfg.clutter
            else (np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))
        )
        if not self.cfg.clutter and self.cfg.reflectors:
            pos = np.array([r.position for r in self.cfg.reflectors], dtype=np.float64)
            self.clutter = (
                pos,
                np.tile([-1.0, 0, 0], (len(pos), 1)),
                np.array([r.rcs for r in self.cfg.reflectors]),
            )
        self.T_ref = {s: self.rig.T_ref(s) for s in self.rig.config.sensors}
        self.phase = {s: float(self.rng.uniform(0, 1)) for s in self.rig.config.sensors}

    # -- truth ---------------------------------------------------------------------------
    def joints(self, t: float) -> np.ndarray:
        """``(P, 15, 3)`` true joints (m) in the reference radar frame at true time ``t``."""
        if not self.people:
            return np.zeros((0, 15, 3))
        return np.stack([p.joints(t)[0] for p in self.people])

    def period(self, sensor: str) -> float:
        s = self.rig.config.sensors[sensor]
        if s.kind == "radar":
            return self.rig.radars[sensor].frame_period
        sub = s.lidar if s.kind == "lidar" else s.camera
        assert sub is not None
        return 1.0 / sub.frame_rate

    def frame_times(self, sensor: str) -> np.ndarray:
        """True start times (s) of a sensor's frames within the simulated span."""
        per = self.period(sensor)
        return np.arange(self.phase[sensor] * per, self.cfg.seconds, per)

    # -- sensors -------------------------------------------------------------------------
    def radar_frame(
        self,
        sensor: str,
        t: float,
        range_bins: np.ndarray | None = None,
        *,
        target: bool = True,
        ghost: CornerReflector | None = None,
    ) -> np.ndarray:
        """Complex ``(loops, tx, rx, samples)`` frame of radar ``sensor`` starting at true time
        ``t`` (with ``range_bins``: its range FFT there, ``(loops, tx, rx, bins)``; see
        synthesize_frame). A moving target (``SimConfig.target``, unless ``target`` is False) is
        a point scatterer at its position at ``t`` moving on with its velocity at the frame's
        middle (motion during the frame); ``ghost`` adds a spurious static reflector."""
        radar = self.rig.radars[sensor]
        dt = max(radar.active_time, 1e-3)
        pos, vel, nrm, rcs = [], [], [], []
        if self.people:
            j0, j1 = self.joints(t), self.joints(t + dt)
            for p, sc in enumerate(self.scatterers):
                x0, n0 = scatterer_positions(j0[p], sc)
                x1, _ = scatterer_positions(j1[p], sc)
                pos.append(x0)
                vel.append((x1 - x0) / dt)
                nrm.append(n0)
                rcs.append(sc.rcs)
                if self.cfg.multipath:
                    # floor bounce: a mirrored, weaker copy below the floor plane
                    m = x0.copy()
                    m[:, 2] = 2 * self.room.floor - m[:, 2]
                    mv = vel[-1].copy()
                    mv[:, 2] *= -1
                    mn = n0.copy()
                    mn[:, 2] *= -1
                    pos.append(m)
                    vel.append(mv)
                    nrm.append(mn)
                    rcs.append(sc.rcs * 0.1)
        cp, cn, cr = self.clutter
        pos.append(cp)
        vel.append(np.zeros_like(cp))
        nrm.append(cn)
        rcs.append(cr)
        mt = self.cfg.target
        points = (
            [(mt.reflector(t), mt.velocity(t + radar.active_time / 2))] if mt and target else []
        )
        points += [(ghost, np.zeros(3))] if ghost is not None else []
        for r, v in points:
            pos.append(np.array([r.position]))
            vel.append(v[None])
            rcs.append(np.array([r.rcs]))
            # a trihedral's response is broad: model it as facing the rig
            nrm.append(-pos[-1] / np.linalg.norm(pos[-1]))
        T = invert(self.T_ref[sensor])  # world (= reference) -> this radar
        P = apply(T, np.concatenate(pos))
        V = np.concatenate(vel) @ T[:3, :3].T
        N = np.concatenate(nrm) @ T[:3, :3].T
        return synthesize_frame(
            radar,
            P,
            V,
            np.concatenate(rcs),
            N,
            params=self.cfg.radar,
            rng=self.rng,
            range_bins=range_bins,
        )

    def radar_points(self, sensor: str, t: float, max_points: int = 64) -> np.ndarray:
        """The people's scatterers as an on-chip detector ideally reports them: float32
        ``(M, 5)`` x, y, z (m, radar frame), radial velocity (m/s, positive away), SNR (dB).

        Stands in for the TI demo's point cloud when the UART emulator replays a simulation: only
        surfaces facing the radar, within its field of view, strongest ``max_points`` first.
        """
        radar = self.rig.radars[sensor]
        if not self.people:
            return np.zeros((0, 5), np.float32)
        dt = max(radar.active_time, 1e-3)
        j0, j1 = self.joints(t), self.joints(t + dt)
        T = invert(self.T_ref[sensor])
        rows = []
        for p, sc in enumerate(self.scatterers):
            x0, n0 = scatterer_positions(j0[p], sc)
            x1, _ = scatterer_positions(j1[p], sc)
            P, N = apply(T, x0), n0 @ T[:3, :3].T
            V = (apply(T, x1) - P) / dt
            r = np.linalg.norm(P, axis=1)
            u = P / r[:, None]
            facing = np.einsum("ij,ij->i", N, -u)
            ok = (facing > 0) & (P[:, 0] > 0) & (np.abs(np.arctan2(P[:, 1], P[:, 0])) < np.pi / 3)
            snr = 10 * np.log10(sc.rcs * np.clip(facing, 1e-6, None) / r**4) + 60.0
            vr = np.einsum("ij,ij->i", V, u)
            rows.append(np.column_stack([P, vr, snr])[ok])
        pts = np.concatenate(rows)
        return pts[np.argsort(-pts[:, 4], kind="stable")[:max_points]].astype(np.float32)

    def room_at(
        self, t: float, *, target: bool = True, ghost: CornerReflector | None = None
    ) -> Room:
        """The room at true time ``t``: the static one plus the moving target where it is then
        (unless ``target`` is False) and an optional spurious reflector ``ghost``."""
        mt = self.cfg.target
        if not ((mt and target) or ghost):
            return self.room
        refl, boards = list(self.room.reflectors), list(self.room.boards)
        if mt and target:
            refl.append(mt.reflector(t))
            boards.append(mt.board(t))
        if ghost is not None:
            refl.append(ghost)
        return replace(self.room, reflectors=refl, boards=boards)

    def world(
        self, t: float, *, target: bool = True, ghost: CornerReflector | None = None
    ) -> World:
        return World(self.room_at(t, target=target, ghost=ghost), self.joints(t))

    def lidar_frame(
        self,
        sensor: str,
        t: float,
        index: int = 0,
        *,
        target: bool = True,
        ghost: CornerReflector | None = None,
    ) -> np.ndarray:
        """``(M, 4)`` points of one sweep, taken at the instant ``t`` (no rolling scan)."""
        cfg = self.rig.config.sensors[sensor].lidar
        assert cfg is not None
        world = self.world(t, target=target, ghost=ghost)
        return lidar_sweep(world, self.T_ref[sensor], cfg, index, self.rng)

    def camera_frame(
        self, sensor: str, t: float, *, target: bool = True, glare: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """RGB ``(H, W, 3)``, true 2D joints ``(P, 15, 2)`` (px) and visibility ``(P, 15)`` (in
        image, in front); a global shutter at ``t``. ``glare`` paints a bright patch of random
        size and place (a spurious target); ``SimConfig.camera_noise`` adds pixel noise."""
        cam = self.rig.config.sensors[sensor].camera
        assert cam is not None
        world = self.world(t, target=target)
        img = render_camera(world, self.T_ref[sensor], cam, self.cfg.camera_supersample)
        if glare:
            h, w = self.rng.integers(40, 160, 2)
            v0, u0 = self.rng.integers(0, cam.height - h), self.rng.integers(0, cam.width - w)
            img[v0 : v0 + h, u0 : u0 + w] = 245
        if self.cfg.camera_noise > 0:
            noisy = img + self.rng.normal(0, self.cfg.camera_noise, img.shape)
            img = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
        j = self.joints(t)
        uv, z = project(apply(invert(self.T_ref[sensor]), j), cam)
        vis = in_image(uv, cam) & (z > 0)
        return img, uv.astype(np.float32), vis

    # -- streams -------------------------------------------------------------------------
    def _stamp(self, sensor: str, t: float) -> int:
        s = self.rig.config.sensors[sensor]
        jitter = self.rng.normal(0, s.clock_jitter) if s.clock_jitter > 0 else 0.0
        return self.cfg.start_ns + int(round((t + s.clock_offset + jitter) * 1e9))

    def stream_specs(self) -> dict[str, StreamSpec]:
        specs: dict[str, StreamSpec] = {}
        n_p = len(self.people)
        for name, s in self.rig.config.sensors.items():
            if s.kind == "radar":
                r = self.rig.radars[name]
                shape = (
                    (4, r.adc_words_per_frame // 4)
                    if r.adc.layout == "mmwcas"
                    else (r.adc_words_per_frame,)
                )
                specs[name] = StreamSpec(
                    "radar_adc",
                    fixed={"adc": (shape, np.dtype(np.int16))},
                    config=dump_yaml(r),
                    attrs={"layout": r.adc.layout},
                )
            elif s.kind == "lidar":
                specs[name] = StreamSpec(
                    "lidar",
                    ragged={"points": (4, np.dtype(np.float32))},
                    fields=("x", "y", "z", "intensity"),
                    config=dump_yaml(s.lidar),
                )
            else:
                cam = s.camera
                assert cam is not None
                specs[name] = StreamSpec(
                    "image",
                    fixed={
                        "image": ((cam.height, cam.width, 3), np.dtype(np.uint8)),
                        "joints_2d": ((n_p, 15, 2), np.dtype(np.float32)),
                        "visible": ((n_p, 15), np.dtype(np.uint8)),
                    },
                    config=dump_yaml(cam),
                    compression="lzf",
                )
        specs[GROUNDTRUTH] = StreamSpec(
            "skeleton",
            fixed={
                "joints": ((n_p, 15, 3), np.dtype(np.float32)),
                "confidence": ((n_p, 15), np.dtype(np.float32)),
                "person_id": ((n_p,), np.dtype(np.int32)),
            },
            attrs={"frame": self.rig.reference, "motions": [p.motion for p in self.people]},
        )
        return specs

    def _events(self, sensors: list[str]) -> Iterator[tuple[float, str, int]]:
        per_sensor = []
        for s in sensors:
            times = self.frame_times(self.rig.reference if s == GROUNDTRUTH else s)
            per_sensor.append([(float(t), s, i) for i, t in enumerate(times)])
        return heapq.merge(*per_sensor)

    def frames(self, sensors: list[str] | None = None) -> Iterator[Frame]:
        """Frames of the chosen sensors (default all, plus ground truth) in true-time order."""
        names = sensors or [*self.rig.config.sensors, GROUNDTRUTH]
        unknown = [n for n in names if n != GROUNDTRUTH and n not in self.rig.config.sensors]
        if unknown:
            raise DriversError(
                f"rig {self.rig.name!r} has no sensor {unknown[0]!r} (has: {', '.join(self.rig.config.sensors)})"
            )
        for t, s, i in self._events(names):
            if s == GROUNDTRUTH:
                j = self.joints(t).astype(np.float32)
                n = len(j)
                data = {
                    "joints": j,
                    "confidence": np.ones((n, 15), np.float32),
                    "person_id": np.arange(n, dtype=np.int32),
                }
                yield Frame(
                    GROUNDTRUTH, "skeleton", self.cfg.start_ns + int(round(t * 1e9)), i, data
                )
                continue
            kind = self.rig.config.sensors[s].kind
            seen, ghost = self._target_events()
            if kind == "radar":
                frame = self.radar_frame(s, t, target=seen, ghost=ghost)
                words = quantize(frame, self.rig.radars[s])
                yield Frame(s, "radar_adc", self._stamp(s, t), i + 1, {"adc": words})
            elif kind == "lidar":
                pts = self.lidar_frame(s, t, i, target=seen, ghost=ghost)
                yield Frame(s, "lidar", self._stamp(s, t), i, {"points": pts})
            else:
                img, uv, vis = self.camera_frame(s, t, target=seen, glare=ghost is not None)
                yield Frame(
                    s,
                    "image",
                    self._stamp(s, t),
                    i,
                    {"image": img, "joints_2d": uv, "visible": vis.astype(np.uint8)},
                )

    def _target_events(self) -> tuple[bool, CornerReflector | None]:
        """Per sensor frame with a moving target: whether the sensor sees it, and a spurious
        reflector (1.5-5 m out, within ±35°, 0.3-1.5 times the target's RCS) or None."""
        mt = self.cfg.target
        if mt is None:
            return True, None
        seen = bool(self.rng.random() >= self.cfg.target_miss)
        if not self.rng.random() < self.cfg.target_ghost:
            return seen, None
        r, az = self.rng.uniform(1.5, 5.0), np.radians(self.rng.uniform(-35, 35))
        pos = (r * np.cos(az), r * np.sin(az), self.rng.uniform(-0.3, 0.5))
        return seen, CornerReflector(pos, mt.rcs * self.rng.uniform(0.3, 1.5), mt.size)

    def n_frames(self, sensors: list[str] | None = None) -> int:
        names = sensors or [*self.rig.config.sensors, GROUNDTRUTH]
        return sum(
            len(self.frame_times(self.rig.reference if s == GROUNDTRUTH else s)) for s in names
        )


class SimulatedSource:
    """The simulator behind the :class:`drivers.source.Source` interface, optionally paced in real time."""

    def __init__(
        self, sim: Simulation, sensors: list[str] | None = None, realtime: bool = False
    ) -> None:
        self.sim = sim
        self.sensors = sensors
        self.realtime = realtime
        self.name = f"simulated:{sim.rig.name}"
        self.stats = SourceStats()

    def frames(self) -> Iterator[Frame]:
        t_wall0 = time.monotonic()
        first = None
        for f in self.sim.frames(self.sensors):
            if self.realtime:
                first = f.stamp_ns if first is None else first
                delay = (f.stamp_ns - first) / 1e9 - (time.monotonic() - t_wall0)
                if delay > 0:
                    time.sleep(delay)
            self.stats.frames += 1
            self.stats.bytes += sum(a.nbytes for a in f.data.values())
            yield f

    def close(self) -> None:
        pass


def simulate_to_recording(
    sim: Simulation,
    out: str | Path,
    *,
    progress: bool = True,
    sensors: list[str] | None = None,
    what: str = "",
) -> dict[str, int]:
    """Write the whole simulation into an HDF5 recording; returns frames written per stream.
    ``what`` names the kind of session in the ``source`` attribute (e.g. "moving target")."""
    from ..progress import progress as bar

    specs = sim.stream_specs()
    names = sensors or list(specs)
    truth = calibration_from_rig(sim.rig)
    truth.method = "simulation ground truth"
    with RecordingWriter(
        out,
        rig_yaml=sim.rig.text,
        calibration_yaml=truth.to_yaml(),
        attrs={
            "source": f"radarpose simulator: {what} session" if what else "radarpose simulator",
            "seed": sim.cfg.seed,
        },
    ) as w:
        for n in names:
            w.add_stream(n, specs[n])
        frames = sim.frames(names)
        for f in bar(frames, total=sim.n_frames(names), desc="simulating") if progress else frames:
            w.write(f)
        return w.counts
