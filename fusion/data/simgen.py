"""Generate a training cache from the simulator: radar features plus true skeletons.

Each sample is one frame of the HuPR rig's two IWR1843s (horizontal reference and vertical)
processed to HuPR heatmaps and compacted by :func:`fusion.features.radar_features`, or of the
RT-Pose rig's cascade mapped onto the same grid (:func:`fusion.features.grid_features`), with the true joints of up to
three people in the horizontal radar's frame (NaN rows for absent people). The cache is an HDF5
file chunked one sample per chunk, so an epoch reads rather than recomputes.
"""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from drivers import load_rig
from drivers.progress import progress
from drivers.sim import MOTIONS, SimConfig, Simulation

from ..errors import FusionError

MAX_PEOPLE = 3
CACHE_VERSION = "1"


@dataclass(frozen=True)
class GenSpec:
    sequences: int = 40
    seconds: float = 12.0
    seed: int = 0
    max_people: int = 3
    rig: str = "hupr"
    # "pseudo": the joints are radarpose label's pseudo-labels of the rig's camera (simulated
    # detector at label_sigma_px, mono lift), not the truth: training on what a user would have
    labels: str = "truth"
    label_sigma_px: float = 3.0


def sequence_simulation(spec: GenSpec, k: int) -> tuple[Simulation, int]:
    """Sequence ``k``'s simulation and its number of people, from seeds fixed by ``spec`` and ``k``
    alone, so any sequence can be rebuilt (:mod:`fusion.data.relabel` does)."""
    rng = np.random.default_rng(spec.seed * 100_003 + k)
    n_people = int(rng.integers(1, spec.max_people + 1))
    motions = [str(m) for m in rng.choice(MOTIONS, n_people)]
    sim = Simulation(
        load_rig(spec.rig),
        SimConfig(
            people=n_people, seconds=spec.seconds, seed=int(rng.integers(1 << 30)), motions=motions
        ),
    )
    return sim, n_people


def pseudo_joints(sim: Simulation, times: np.ndarray, spec: GenSpec, k: int) -> np.ndarray:
    """Pseudo-label joints ``(F, MAX_PEOPLE, 15, 3)`` float32 (NaN = absent) of sequence ``k`` at
    ``times (F,)`` s: ``radarpose label`` of the rig's camera (simulated detector, mono lift)."""
    from fusion.labels.detectors import SimulatedDetector
    from fusion.labels.run import label_simulation

    det = SimulatedDetector(sigma_px=spec.label_sigma_px, seed=spec.seed * 100_003 + k)
    pseudo, _ = label_simulation(sim, times, det, lift="mono")
    out = np.full((len(times), MAX_PEOPLE, 15, 3), np.nan, np.float32)
    n = min(MAX_PEOPLE, pseudo.shape[1])
    out[:, :n] = pseudo[:, :n]
    return out


def _sequence(args: tuple[GenSpec, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    spec, k = args
    sim, n_people = sequence_simulation(spec, k)
    rig = sim.rig
    from fusion.features import RigFeatures, grid_features
    from sensing.hupr import RANGE_BINS

    feats = RigFeatures(rig)
    h, v = feats.reference, feats.other
    fh, fv, joints, seq = [], [], [], []
    times = sim.frame_times(h)
    for t in times:
        if feats.grid is not None:  # one array: synthesised straight in the range domain
            rng = sim.radar_frame(h, float(t), range_bins=RANGE_BINS)
            a, b = grid_features(*feats.grid.from_range(rng))
        else:
            a, b = feats(sim.radar_frame(h, float(t)), sim.radar_frame(v, float(t)))
        j = np.full((MAX_PEOPLE, 15, 3), np.nan, np.float32)
        j[:n_people] = sim.joints(float(t))
        fh.append(a)
        fv.append(b)
        joints.append(j)
        seq.append(k)
    joints_out = np.stack(joints)
    if spec.labels == "pseudo":
        joints_out = pseudo_joints(sim, times, spec, k)
    elif spec.labels != "truth":
        raise FusionError(f"GenSpec.labels must be 'truth' or 'pseudo', got {spec.labels!r}")
    return np.stack(fh), np.stack(fv), joints_out, np.array(seq)


def _one_thread() -> None:
    """Each worker process computes on one thread: the pool already fills the cores, and the
    simulator's Numba and BLAS pools on top of it oversubscribe them (measured on 2 cores: two
    workers with two threads each made ~1 cascade frame/s together)."""
    import numba
    from threadpoolctl import threadpool_limits

    global _LIMITS
    numba.set_num_threads(1)
    _LIMITS = threadpool_limits(1)  # kept: the limit lasts while the object lives


_LIMITS: object = None


def generate(out: str | Path, spec: GenSpec, workers: int = 2) -> Path:
    """Write the cache; sequences are seeded independently so any subset is reproducible."""
    out = Path(out)
    tmp = out.with_suffix(".partial")
    jobs = [(spec, k) for k in range(spec.sequences)]
    with h5py.File(tmp, "w") as f:
        f.attrs["cache_version"] = CACHE_VERSION
        f.attrs["spec"] = repr(spec)
        ds = {
            "fh": f.create_dataset(
                "fh", (0, 8, 64, 64), "f2", maxshape=(None, 8, 64, 64), chunks=(1, 8, 64, 64)
            ),
            "fv": f.create_dataset(
                "fv", (0, 8, 64, 16), "f2", maxshape=(None, 8, 64, 16), chunks=(1, 8, 64, 16)
            ),
            "joints": f.create_dataset(
                "joints", (0, MAX_PEOPLE, 15, 3), "f4", maxshape=(None, MAX_PEOPLE, 15, 3)
            ),
            "sequence": f.create_dataset("sequence", (0,), "i4", maxshape=(None,)),
        }
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers, initializer=_one_thread) as pool:
            for parts in progress(
                pool.imap(_sequence, jobs),
                total=len(jobs),
                desc="simulating training data",
                unit="seq",
            ):
                n = len(parts[0])
                for d, arr in zip(ds.values(), parts, strict=True):
                    d.resize(d.shape[0] + n, axis=0)
                    d[-n:] = arr
                f.flush()
    tmp.replace(out)
    return out
