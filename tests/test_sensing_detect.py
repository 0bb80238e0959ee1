"""CFAR kernels against plain loops; point clouds and micro-Doppler against simulated targets."""

from __future__ import annotations

import numpy as np
import pytest

from drivers import find_config, load_radar_config
from drivers.sim import RadarSimParams, synthesize_frame
from sensing import SensingError
from sensing.cfar import ca_cfar_1d, ca_cfar_2d, os_cfar_1d, os_cfar_2d
from sensing.doppler import MicroDoppler
from sensing.pointcloud import PointCloudExtractor

rng = np.random.default_rng(0)


def _train_1d(n: int, i: int, g: int, t: int) -> list[int]:
    return [j for j in range(i - g - t, i + g + t + 1) if 0 <= j < n and abs(j - i) > g]


def _train_2d(
    shape: tuple[int, int], i: int, j: int, g: tuple[int, int], t: tuple[int, int]
) -> list[tuple[int, int]]:
    out = []
    for di in range(-g[0] - t[0], g[0] + t[0] + 1):
        for dj in range(-g[1] - t[1], g[1] + t[1] + 1):
            jj = j + dj
            if 0 <= jj < shape[1] and not (abs(di) <= g[0] and abs(dj) <= g[1]):
                out.append(((i + di) % shape[0], jj))
    return out


def test_cfar_1d_equals_plain_loops() -> None:
    x = rng.exponential(1.0, 200)
    x[[50, 120]] = 60.0
    det, noise = ca_cfar_1d(x, 2, 8, 10.0)
    ref = np.array([np.mean(x[_train_1d(200, i, 2, 8)]) for i in range(200)])
    np.testing.assert_allclose(noise, ref)
    assert set(np.flatnonzero(det)) >= {50, 120}
    det_os, noise_os = os_cfar_1d(x, 2, 8, 10.0, 0.75)
    ref_os = []
    for i in range(200):
        v = np.sort(x[_train_1d(200, i, 2, 8)])
        ref_os.append(v[min(len(v) - 1, int(0.75 * len(v)))])
    np.testing.assert_allclose(noise_os, ref_os)


def test_cfar_2d_equals_plain_loops() -> None:
    x = rng.exponential(1.0, (16, 40))
    x[3, 20] = 200.0
    g, t = (1, 2), (2, 3)
    det, noise = ca_cfar_2d(x, g, t, 10.0)
    _, noise_os = os_cfar_2d(x, g, t, 10.0, 0.5)
    for i in range(16):
        for j in range(40):
            cells = np.array([x[a, b] for a, b in _train_2d(x.shape, i, j, g, t)])
            assert noise[i, j] == pytest.approx(cells.mean())
            s = np.sort(cells)
            assert noise_os[i, j] == pytest.approx(s[min(len(s) - 1, int(0.5 * len(s)))])
    assert det[3, 20]
    with pytest.raises(SensingError, match="finite, non-negative power"):
        ca_cfar_2d(np.full((4, 4), -1.0))


@pytest.mark.parametrize("profile", ["hupr_iwr1843", "iwr6843_oob", "rtpose_mmwcas"])
def test_point_cloud_finds_targets_where_they_are(profile: str) -> None:
    r = load_radar_config(find_config(profile, "radars"))
    if profile == "rtpose_mmwcas":
        r = r.replace(n_loops=16)
    targets = np.array([[2.5, 0.6, 0.3], [3.5, -0.9, -0.2]])
    v_rad = np.array([0.5, -0.4])
    vel = targets / np.linalg.norm(targets, axis=1, keepdims=True) * v_rad[:, None]
    cube = synthesize_frame(
        r,
        targets,
        vel,
        np.ones(2),
        params=RadarSimParams(noise_std=5.0),
        rng=np.random.default_rng(1),
    )
    pts = PointCloudExtractor(r)(cube)
    assert 2 <= len(pts) <= 12
    for tgt, v in zip(targets, v_rad, strict=True):
        d = np.linalg.norm(pts[:, :3] - tgt, axis=1)
        k = int(d.argmin())
        rng_t = np.linalg.norm(tgt)
        # horizontal position within range plus azimuth resolution, height within elevation resolution
        az_res = 2.0 / (r.virtual_positions[..., 0].max() + 1)
        el_res = 2.0 / (r.virtual_positions[..., 1].max() + 1)
        assert np.linalg.norm(pts[k, :2] - tgt[:2]) < r.range_resolution * 1.5 + rng_t * az_res, (
            pts[k],
            tgt,
        )
        assert abs(pts[k, 2] - tgt[2]) < rng_t * el_res / 2 + 0.05, (pts[k], tgt)
        assert pts[k, 3] == pytest.approx(v, abs=1.5 * r.velocity_resolution)
        assert pts[k, 4] > 13.0


def test_micro_doppler_tracks_target_velocity() -> None:
    r = load_radar_config(find_config("hupr_iwr1843", "radars"))
    md = MicroDoppler(r, range_window=(2.0, 3.5))
    for v in (-0.8, 0.0, 0.6):
        pos = np.array([[2.8, 0.0, 0.0]])
        cube = synthesize_frame(
            r, pos, np.array([[v, 0, 0]]), np.ones(1), params=RadarSimParams(noise_std=3.0), rng=rng
        )
        md.add(
            cube
            + synthesize_frame(
                r,
                np.array([[3.0, 0.5, 0.0]]),
                np.zeros((1, 3)),
                np.ones(1),
                params=RadarSimParams(noise_std=0.0),
            )
        )
    s = md.spectrogram()
    assert s.shape == (3, 64)
    peaks = md.velocity_axis()[s.argmax(axis=1)]
    assert peaks[0] == pytest.approx(-0.8, abs=r.velocity_resolution)
    assert peaks[2] == pytest.approx(0.6, abs=r.velocity_resolution)
    # a static target alone is removed by clutter removal: frame 2's spectrum has no strong line
    assert s[1].max() - np.median(s[1]) < s[0].max() - np.median(s[0]) - 20
