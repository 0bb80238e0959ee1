"""Keeping sensors in step: nearest-stamp matching, interpolation, clock offsets, loss counts.

All stamps are int64 ns. A sensor's stamps are first moved onto the reference clock with the
calibration's clock offset (``t_reference = t_sensor - offset``, see :mod:`drivers.calibfile`).
Matching picks, for every reference frame, the other sensor's frame nearest in time if it lies
within ``max_skew``; a frame may serve several reference frames (a 30 Hz camera against a 10 Hz
radar), and frames no reference frame chose are counted as unmatched, never dropped silently.
Skeletons and poses are interpolated linearly (rotations by slerp) between the two samples that
bracket the reference stamp, when they are at most ``max_gap`` apart.

:func:`match_nearest` and the ``interpolate_*`` functions work on whole arrays (recordings);
:class:`Synchronizer` does the same on a live or replayed frame stream, holding a reference frame
only until every sensor has shown a frame past its matching window (or ``horizon`` has passed).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from .errors import DriversError
from .source import Frame

INTERPOLATED = ("skeleton",)


def to_reference(stamps_ns: np.ndarray, offset_s: float) -> np.ndarray:
    """int64 ``(N,)`` stamps of a sensor on the reference clock (``t - offset``)."""
    return np.asarray(stamps_ns, np.int64) - np.int64(round(offset_s * 1e9))


def match_nearest(ref_ns: np.ndarray, other_ns: np.ndarray, max_skew_ns: int) -> np.ndarray:
    """For each reference stamp ``(N,)``, the index of the nearest ``other`` stamp ``(M,)``,
    sorted ascending, within ``max_skew_ns``, else -1. int64 ``(N,)``; ties go to the earlier."""
    ref = np.asarray(ref_ns, np.int64)
    other = np.asarray(other_ns, np.int64)
    if other.size == 0:
        return np.full(ref.shape, -1, np.int64)
    if np.any(np.diff(other) < 0):
        raise DriversError("match_nearest: the other stream's stamps must be in ascending order")
    hi = np.clip(np.searchsorted(other, ref, side="left"), 0, len(other) - 1)
    lo = np.clip(hi - 1, 0, len(other) - 1)
    d_lo, d_hi = np.abs(ref - other[lo]), np.abs(other[hi] - ref)
    idx = np.where(d_lo <= d_hi, lo, hi)
    return np.where(np.minimum(d_lo, d_hi) <= max_skew_ns, idx, -1).astype(np.int64)


def _brackets(
    stamps_ns: np.ndarray, query_ns: np.ndarray, max_gap_ns: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Left/right sample indices, weight of the right one ``(M,)``, and validity."""
    t = np.asarray(stamps_ns, np.int64)
    q = np.asarray(query_ns, np.int64)
    if t.size == 0:
        z = np.zeros(q.shape, np.int64)
        return z, z, z.astype(float), np.zeros(q.shape, bool)
    if np.any(np.diff(t) <= 0):
        raise DriversError("interpolation needs strictly increasing sample stamps")
    r = np.clip(np.searchsorted(t, q, side="left"), 0, len(t) - 1)
    exact = t[r] == q
    left = np.where(exact, r, np.clip(r - 1, 0, len(t) - 1))
    span = t[r] - t[left]
    w = np.where(span > 0, (q - t[left]) / np.where(span > 0, span, 1), 0.0)
    valid = exact | ((t[left] <= q) & (q <= t[r]) & (span <= max_gap_ns))
    return left, r, w, valid


def interpolate_linear(
    stamps_ns: np.ndarray, values: np.ndarray, query_ns: np.ndarray, max_gap_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """``values (N, ...)`` sampled at ``stamps_ns (N,)`` → ``(M, ...)`` at ``query_ns (M,)``
    and a validity mask ``(M,)``: False (values NaN) outside the samples or across a gap."""
    v = np.asarray(values, np.float64)
    left, right, w, valid = _brackets(stamps_ns, query_ns, max_gap_ns)
    if len(v) == 0:
        return np.full((len(w), *v.shape[1:]), np.nan), valid
    w = w.reshape(-1, *([1] * (v.ndim - 1)))
    out = (1 - w) * v[left] + w * v[right]
    out[~valid] = np.nan
    return out, valid


def interpolate_poses(
    stamps_ns: np.ndarray, poses: np.ndarray, query_ns: np.ndarray, max_gap_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rigid transforms ``(N, 4, 4)`` → ``(M, 4, 4)``: translation linear, rotation by slerp.
    Invalid queries get NaN matrices; returns the poses and the validity mask ``(M,)``."""
    from scipy.spatial.transform import Rotation

    T = np.asarray(poses, np.float64)
    left, right, w, valid = _brackets(stamps_ns, query_ns, max_gap_ns)
    out = np.full((len(w), 4, 4), np.nan)
    if not valid.any():
        return out, valid
    a, b, s = left[valid], right[valid], w[valid]
    ra, rb = Rotation.from_matrix(T[a, :3, :3]), Rotation.from_matrix(T[b, :3, :3])
    delta = (ra.inv() * rb).as_rotvec()
    R = (ra * Rotation.from_rotvec(delta * s[:, None])).as_matrix()
    res = np.zeros((len(a), 4, 4))
    res[:, :3, :3] = R
    res[:, :3, 3] = (1 - s)[:, None] * T[a, :3, 3] + s[:, None] * T[b, :3, 3]
    res[:, 3, 3] = 1.0
    out[valid] = res
    return out, valid


def interpolate_skeleton_pair(
    a: dict[str, np.ndarray], b: dict[str, np.ndarray], w: float
) -> dict[str, np.ndarray]:
    """Skeleton frame data between ``a`` (weight 1-w) and ``b`` (weight w), people matched by
    ``person_id``. Arrays as in ``a``: joints ``(P, J, 3)``, confidence ``(P, J)``, person_id
    ``(P,)``; a person missing from ``b`` gets NaN joints, zero confidence and id -1."""
    ja, jb = np.asarray(a["joints"], np.float32), np.asarray(b["joints"], np.float32)
    ida = np.asarray(a.get("person_id", np.arange(len(ja))), np.int32)
    idb = np.asarray(b.get("person_id", np.arange(len(jb))), np.int32)
    ca = np.asarray(a.get("confidence", np.ones(ja.shape[:2])), np.float32)
    cb = np.asarray(b.get("confidence", np.ones(jb.shape[:2])), np.float32)
    joints = np.full_like(ja, np.nan)
    conf = np.zeros_like(ca)
    ids = np.full_like(ida, -1)
    where_b = {int(i): k for k, i in enumerate(idb) if i >= 0}
    for k, i in enumerate(ida):
        m = where_b.get(int(i))
        if i < 0 or m is None:
            continue
        joints[k] = (1 - w) * ja[k] + w * jb[m]
        conf[k] = np.minimum(ca[k], cb[m])
        ids[k] = i
    return {"joints": joints, "confidence": conf, "person_id": ids}


@dataclass
class SyncReport:
    """Per sensor: frames seen, reference frames it matched or missed, its frames nobody used."""

    reference: str
    max_skew_ns: int
    frames: dict[str, int] = field(default_factory=dict)
    matched: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    unmatched: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"sync on {self.reference} (max skew {self.max_skew_ns / 1e6:g} ms):"]
        for s in self.frames:
            if s == self.reference:
                out.append(f"  {s}: {self.frames[s]} reference frames")
            else:
                out.append(
                    f"  {s}: {self.frames[s]} frames, matched {self.matched.get(s, 0)} reference "
                    f"frames, missing for {self.missing.get(s, 0)}, unmatched {self.unmatched.get(s, 0)}"
                )
        return out


@dataclass
class SyncedSet:
    """One reference frame and, per other sensor, its match (None if none within the skew).

    ``stamp_ns`` and ``skew_ns`` are on the reference clock; interpolated skeletons carry the
    reference stamp (on the sensor's own clock) and counter -1."""

    stamp_ns: int
    reference: Frame
    frames: dict[str, Frame | None]
    skew_ns: dict[str, int]


class _Entry:
    __slots__ = ("t", "frame", "used")

    def __init__(self, t: int, frame: Frame) -> None:
        self.t, self.frame, self.used = t, frame, False


class Synchronizer:
    """Match a time-ordered frame stream on the fly (see the module docstring).

    ``sensors`` lists every stream to match against ``reference``; ``clock_offsets`` (seconds,
    the calibration's) move stamps onto the reference clock; streams of a kind in
    ``interpolate`` are interpolated to the reference stamp instead of matched.
    """

    def __init__(
        self,
        reference: str,
        sensors: Iterable[str],
        *,
        max_skew: float = 0.05,
        max_gap: float = 0.25,
        clock_offsets: dict[str, float] | None = None,
        interpolate: tuple[str, ...] = INTERPOLATED,
        horizon: float = 2.0,
    ) -> None:
        self.reference = reference
        self.others = [s for s in sensors if s != reference]
        self.skew, self.gap = int(round(max_skew * 1e9)), int(round(max_gap * 1e9))
        self.horizon = int(round(horizon * 1e9))
        self.offsets = {s: int(round(v * 1e9)) for s, v in (clock_offsets or {}).items() if v}
        self.interpolate = interpolate
        self._refs: deque[_Entry] = deque()
        self._bufs: dict[str, list[_Entry]] = {s: [] for s in self.others}
        self._latest = -(2**63)
        self.report = SyncReport(reference, self.skew)
        for s in [reference, *self.others]:
            self.report.frames[s] = 0
            if s != reference:
                self.report.matched[s] = self.report.missing[s] = self.report.unmatched[s] = 0

    def push(self, frame: Frame) -> list[SyncedSet]:
        """Add one frame; returns the sets that became decidable."""
        s = frame.sensor
        if s != self.reference and s not in self._bufs:
            return []  # a stream not being synchronised
        self.report.frames[s] += 1
        e = _Entry(frame.stamp_ns - self.offsets.get(s, 0), frame)
        self._latest = max(self._latest, e.t)
        if s == self.reference:
            self._refs.append(e)
        else:
            self._bufs[s].append(e)
        out = []
        while self._refs and self._ready(self._refs[0].t):
            out.append(self._emit(self._refs.popleft()))
        return out

    def flush(self) -> list[SyncedSet]:
        """At the end of the stream: decide every held reference frame, count the leftovers."""
        out = [self._emit(self._refs.popleft()) for _ in range(len(self._refs))]
        for s, buf in self._bufs.items():
            self.report.unmatched[s] += sum(not e.used for e in buf)
            buf.clear()
        return out

    def run(self, frames: Iterable[Frame]) -> Iterator[SyncedSet]:
        """All synchronised sets of a frame stream; :attr:`report` is complete afterwards."""
        for f in frames:
            yield from self.push(f)
        yield from self.flush()

    def _ready(self, t: int) -> bool:
        if self._latest > t + self.skew + self.horizon:
            return True
        return all(buf and buf[-1].t > t + max(self.skew, 0) for buf in self._bufs.values())

    def _emit(self, r: _Entry) -> SyncedSet:
        frames: dict[str, Frame | None] = {}
        skews: dict[str, int] = {}
        for s, buf in self._bufs.items():
            kind = buf[0].frame.kind if buf else ""
            got = self._interp(s, buf, r) if kind in self.interpolate else self._nearest(buf, r)
            frames[s] = got[0] if got else None
            if got:
                skews[s] = got[1]
                self.report.matched[s] += 1
            else:
                self.report.missing[s] += 1
            # frames that no later reference frame can reach are done; keep one as a bracket
            keep_from = 0
            while keep_from < len(buf) and buf[keep_from].t < r.t - self.skew:
                keep_from += 1
            if kind in self.interpolate:
                keep_from = max(0, min(keep_from, self._last_before(buf, r.t)))
            for e in buf[:keep_from]:
                self.report.unmatched[s] += not e.used
            del buf[:keep_from]
        return SyncedSet(r.t, r.frame, frames, skews)

    def _nearest(self, buf: list[_Entry], r: _Entry) -> tuple[Frame, int] | None:
        best = None
        for e in buf:
            d = e.t - r.t
            if abs(d) <= self.skew and (best is None or abs(d) < abs(best.t - r.t)):
                best = e
        if best is None:
            return None
        best.used = True
        return best.frame, best.t - r.t

    @staticmethod
    def _last_before(buf: list[_Entry], t: int) -> int:
        k = -1
        for i, e in enumerate(buf):
            if e.t <= t:
                k = i
        return k

    def _interp(self, s: str, buf: list[_Entry], r: _Entry) -> tuple[Frame, int] | None:
        i = self._last_before(buf, r.t)
        if i < 0:
            return None
        a = buf[i]
        if a.t == r.t:
            a.used = True
            return a.frame, 0
        if i + 1 >= len(buf) or buf[i + 1].t - a.t > self.gap:
            return None
        b = buf[i + 1]
        a.used = b.used = True
        w = (r.t - a.t) / (b.t - a.t)
        data = interpolate_skeleton_pair(a.frame.data, b.frame.data, w)
        stamp = r.t + self.offsets.get(s, 0)
        return Frame(s, a.frame.kind, stamp, -1, data, a.frame.flags | b.frame.flags), 0
