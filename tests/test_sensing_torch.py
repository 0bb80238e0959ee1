"""The torch (GPU) path equals the numpy path, run here on the CPU device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from drivers import find_config, load_radar_config
from sensing import SensingError
from sensing.hupr import HuprHeatmapper
from sensing.torch_backend import TorchHuprHeatmapper

RADAR = load_radar_config(find_config("hupr_iwr1843", "radars"))


def test_torch_heatmaps_equal_numpy_batch() -> None:
    rng = np.random.default_rng(2)
    cubes = (
        rng.normal(size=(3, *RADAR.frame_shape)) + 1j * rng.normal(size=(3, *RADAR.frame_shape))
    ).astype(np.complex64)
    ref = np.stack([HuprHeatmapper(RADAR)(c) for c in cubes])
    th = TorchHuprHeatmapper(RADAR, device="cpu")
    out = th(torch.from_numpy(cubes)).numpy()
    assert out.shape == (3, 16, 64, 64, 8)
    np.testing.assert_allclose(out, ref, atol=1e-5 * np.abs(ref).max(), rtol=0)


def test_torch_path_rejects_bad_frames() -> None:
    th = TorchHuprHeatmapper(RADAR, device="cpu")
    with pytest.raises(SensingError, match="expected frames"):
        th(torch.zeros(2, 64, 3, 4, 128, dtype=torch.complex64))
    bad = torch.ones(1, *RADAR.frame_shape, dtype=torch.complex64)
    bad[0, 0, 0, 0, 0] = complex("nan")
    with pytest.raises(SensingError, match="NaN"):
        th(bad)
