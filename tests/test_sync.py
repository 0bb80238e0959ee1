"""Synchronisation on synthetic stamps with known skews, offsets, gaps and counts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from drivers import DriversError, Frame, merge_frames
from drivers.sync import (
    Synchronizer,
    interpolate_linear,
    interpolate_poses,
    interpolate_skeleton_pair,
    match_nearest,
    to_reference,
)

MS = 1_000_000
T0 = 1_700_000_000_000_000_000


def frames(sensor: str, stamps: np.ndarray, kind: str = "radar_adc") -> list[Frame]:
    return [Frame(sensor, kind, int(t), i, {"x": np.array([i])}) for i, t in enumerate(stamps)]


def test_match_nearest_with_skews_gaps_and_offset() -> None:
    ref = T0 + np.arange(20) * 100 * MS  # 10 Hz radar
    # camera at 10 Hz whose clock runs 30 ms ahead, with up to 8 ms of true skew, frames 5-7 lost
    true_skew = np.tile([0, 8, -8, 4, -4], 5)[:25] * MS
    cam = T0 + np.arange(25) * 100 * MS + true_skew + 30 * MS
    cam = np.delete(cam, [5, 6, 7])
    cam_ids = np.delete(np.arange(25), [5, 6, 7])
    # without the offset, 30 +- 8 ms is beyond a 20 ms skew: nothing matches
    assert (match_nearest(ref, cam, 20 * MS) == -1).all()
    idx = match_nearest(ref, to_reference(cam, 0.030), 20 * MS)
    want = np.array(
        [np.flatnonzero(cam_ids == i)[0] if i not in (5, 6, 7) else -1 for i in range(20)]
    )
    np.testing.assert_array_equal(idx, want)
    ok = idx >= 0
    np.testing.assert_array_equal(to_reference(cam, 0.030)[idx[ok]] - ref[ok], true_skew[:20][ok])
    with pytest.raises(DriversError, match="ascending"):
        match_nearest(ref, cam[::-1], 20 * MS)


def test_ties_go_to_the_earlier_frame_and_frames_serve_several_references() -> None:
    ref = np.array([100, 200, 300]) * MS
    cam = np.array([150, 250]) * MS  # 30 fps would serve a 10 Hz radar the same way
    np.testing.assert_array_equal(match_nearest(ref, cam, 50 * MS), [0, 0, 1])


def test_streaming_synchronizer_counts_matched_missing_unmatched() -> None:
    ref = T0 + np.arange(20) * 100 * MS
    cam = T0 + np.arange(60) * 33_333_333 + 15 * MS  # 30 Hz camera, clock 15 ms ahead
    lid = T0 + np.arange(20) * 100 * MS + 40 * MS  # LiDAR 40 ms late and no offset known
    lid = np.delete(lid, [3, 4])
    sync = Synchronizer(
        "radar",
        ["radar", "camera", "lidar"],
        max_skew=0.02,
        clock_offsets={"camera": 0.015, "lidar": 0.0},
    )
    stream = merge_frames(
        [frames("radar", ref), frames("camera", cam, "image"), frames("lidar", lid, "lidar")]
    )
    sets = list(sync.run(stream))
    assert [s.reference.counter for s in sets] == list(range(20))
    cam_idx = match_nearest(ref, to_reference(cam, 0.015), 20 * MS)
    assert [s.frames["camera"].counter for s in sets] == list(cam_idx)
    # camera frame 3k lands 3k * 33_333_333 - k * 100 ms = -k ns from radar frame k
    assert [s.skew_ns["camera"] for s in sets] == [-k for k in range(20)]
    assert all(s.frames["lidar"] is None for s in sets)  # 40 ms > 20 ms skew
    r = sync.report
    assert r.frames == {"radar": 20, "camera": 60, "lidar": 18}
    assert r.matched == {"camera": 20, "lidar": 0}
    assert r.missing == {"camera": 0, "lidar": 20}
    assert r.unmatched == {"camera": 40, "lidar": 18}
    assert "unmatched 40" in "\n".join(r.lines())


def test_streaming_equals_offline_on_jittered_streams() -> None:
    rng = np.random.default_rng(1)
    ref = T0 + np.cumsum(rng.integers(90, 110, 50)) * MS
    oth = T0 + np.cumsum(rng.integers(40, 60, 100)) * MS
    sync = Synchronizer("a", ["a", "b"], max_skew=0.012)
    sets = list(sync.run(merge_frames([frames("a", ref), frames("b", oth)])))
    got = [-1 if s.frames["b"] is None else s.frames["b"].counter for s in sets]
    want = match_nearest(ref, oth, 12 * MS)
    np.testing.assert_array_equal(got, want)
    assert sync.report.missing["b"] == int((want < 0).sum())
    assert sync.report.unmatched["b"] == 100 - len(set(want[want >= 0].tolist()))


def test_a_silent_sensor_does_not_stall_the_stream() -> None:
    sync = Synchronizer("a", ["a", "b"], max_skew=0.01, horizon=0.5)
    out = []
    for f in frames("a", T0 + np.arange(20) * 100 * MS):
        out += sync.push(f)
    # reference frames are released once the stream has run 0.5 s past them
    assert len(out) == 20 - 6 and all(s.frames["b"] is None for s in out)


def test_interpolate_linear_exact_on_a_line_and_gaps_invalid() -> None:
    t = np.array([0, 100, 200, 500]) * MS
    v = np.stack([2.0 * t / 1e9, -t / 1e9], axis=1)  # (4, 2) linear in time
    q = np.array([50, 100, 150, 300, 600, -10]) * MS
    out, ok = interpolate_linear(t, v, q, max_gap_ns=150 * MS)
    np.testing.assert_array_equal(ok, [True, True, True, False, False, False])
    np.testing.assert_allclose(out[:3], np.stack([2 * q[:3] / 1e9, -q[:3] / 1e9], axis=1))
    assert np.isnan(out[3:]).all()


def test_interpolate_poses_slerp_and_translation() -> None:
    T = np.tile(np.eye(4), (2, 1, 1))
    T[1, :3, :3] = Rotation.from_euler("z", 80, degrees=True).as_matrix()
    T[1, :3, 3] = [1.0, 2.0, 0.0]
    out, ok = interpolate_poses(np.array([0, 100]) * MS, T, np.array([25, 100, 120]) * MS, 200 * MS)
    assert ok.tolist() == [True, True, False]
    assert Rotation.from_matrix(out[0, :3, :3]).as_euler("xyz", degrees=True)[2] == pytest.approx(
        20
    )
    np.testing.assert_allclose(out[0, :3, 3], [0.25, 0.5, 0.0])
    np.testing.assert_allclose(out[1], T[1], atol=1e-12)


def test_skeletons_interpolate_by_person_id() -> None:
    ja = np.zeros((2, 15, 3), np.float32)
    ja[1] += 1.0
    a = {"joints": ja, "confidence": np.ones((2, 15), np.float32), "person_id": np.array([4, 7])}
    # in the next frame the people come in the other order, and person 4 has moved +0.4 m in x
    jb = np.stack([ja[1] + 2.0, ja[0] + [0.4, 0, 0]])
    b = {
        "joints": jb,
        "confidence": np.full((2, 15), 0.5, np.float32),
        "person_id": np.array([7, 9]),
    }
    out = interpolate_skeleton_pair(a, b, 0.25)
    assert out["person_id"].tolist() == [-1, 7]  # person 4 is not in b (id 9 is someone else)
    assert np.isnan(out["joints"][0]).all()
    np.testing.assert_allclose(out["joints"][1], 1.5)
    np.testing.assert_allclose(out["confidence"][1], 0.5)


def test_synchronizer_interpolates_skeleton_streams() -> None:
    ref = T0 + np.arange(5) * 100 * MS
    sk_t = T0 + np.arange(5) * 100 * MS + 30 * MS  # skeletons 30 ms after each radar frame
    sk = [
        Frame(
            "gt",
            "skeleton",
            int(t),
            i,
            {
                "joints": np.full((1, 15, 3), float(i), np.float32),
                "confidence": np.ones((1, 15), np.float32),
                "person_id": np.array([0], np.int32),
            },
        )
        for i, t in enumerate(sk_t)
    ]
    sync = Synchronizer("radar", ["radar", "gt"], max_skew=0.01, max_gap=0.2)
    sets = list(sync.run(merge_frames([frames("radar", ref), sk])))
    # radar frame k sits 70 % of the way from skeleton k-1 to k: joints = k - 0.3
    assert sets[0].frames["gt"] is None
    for k in range(1, 5):
        f = sets[k].frames["gt"]
        assert f is not None and f.stamp_ns == ref[k]
        np.testing.assert_allclose(f.data["joints"], k - 0.3, rtol=1e-6)
    assert sync.report.missing["gt"] == 1 and sync.report.unmatched["gt"] == 0
