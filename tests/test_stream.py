"""RadarStream: same points as the one-shot chain, and flat memory over a long stream."""

from __future__ import annotations

import tracemalloc

import numba
import numpy as np

from drivers import find_config, load_radar_config
from drivers.sim import RadarSimParams, synthesize_frame
from sensing import reference as ref
from sensing.plan import Plan
from sensing.stream import RadarStream

RADAR = load_radar_config(find_config("hupr_iwr1843", "radars")).replace(n_loops=16, n_samples=64)


def _frames(n: int) -> list[np.ndarray]:
    g = np.random.default_rng(5)
    out = []
    for k in range(n):
        pos = np.array([[2.0 + 0.3 * k, 0.4 - 0.2 * k, 0.1]])
        out.append(
            synthesize_frame(
                RADAR, pos, np.array([[0.5, 0.0, 0.0]]), np.ones(1), params=RadarSimParams(), rng=g
            )
        )
    return out


def test_stream_gives_the_reference_points_frame_after_frame() -> None:
    frames = _frames(3)
    stream = RadarStream(RADAR)
    plan = Plan.build(RADAR)
    for (pts, power), cube in zip(stream.run(frames), frames, strict=True):
        np.testing.assert_allclose(pts, ref.point_cloud(cube, plan), rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(power, ref.range_doppler(cube, plan)[1], rtol=1e-4)
    assert stream.frames == 3


def test_stream_memory_stays_flat() -> None:
    frames = _frames(2)
    stream = RadarStream(RADAR)
    stream(frames[0])  # compile
    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # on a shared 2-core machine a second worker only adds waiting
    tracemalloc.start()
    peaks, current = {}, {}
    try:
        for i in range(301):
            tracemalloc.reset_peak()
            stream(frames[i % 2])
            if i in (10, 300):
                current[i], peaks[i] = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        numba.set_num_threads(threads)
    frame_bytes = frames[0].nbytes
    # no per-frame allocation the size of a frame or of the buffers (only points and detections,
    # a few kB), and nothing accumulates
    assert peaks[300] < frame_bytes / 4, peaks
    assert abs(peaks[300] - peaks[10]) < 4096, peaks
    assert current[300] - current[10] < 4096, current


def test_stream_with_loops_not_a_power_of_two_matches_the_reference() -> None:
    """12 loops: the Doppler FFT falls back from the planar radix-4 kernel to rocket-fft."""
    radar = RADAR.replace(n_loops=12)
    cube = synthesize_frame(
        radar,
        np.array([[2.5, -0.3, 0.0]]),
        np.array([[-0.4, 0.0, 0.0]]),
        np.ones(1),
        params=RadarSimParams(),
        rng=np.random.default_rng(2),
    )
    stream, plan = RadarStream(radar), Plan.build(radar)
    pts = stream(cube)
    assert len(pts) >= 1
    np.testing.assert_allclose(pts, ref.point_cloud(cube, plan), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(stream.power, ref.range_doppler(cube, plan)[1], rtol=1e-4)
