"""The real-time model: targets decode back to the true skeletons; training resumes exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from drivers import load_rig
from fusion.data.cache import targets
from fusion.features import N_INPUT, grid_to_xy, xy_to_grid
from fusion.models import build_model
from fusion.pose import people_from_output
from fusion.train import DataConfig, OptimConfig, TrainConfig, Trainer

RADAR = load_rig("hupr").radars["radar-h"]


def _people() -> np.ndarray:
    j = np.full((3, 15, 3), np.nan, np.float32)
    rng = np.random.default_rng(0)
    for p, (x, y) in enumerate([(2.5, 0.4), (3.6, -0.7)]):
        j[p] = np.array([x, y, -0.1]) + rng.normal(0, 0.3, (15, 3))
        j[p, 0] = [x, y, -0.1]
    return j


def test_grid_round_trip() -> None:
    p = np.array([[2.7, 0.5, 0.3], [3.9, -1.1, -0.4]])
    g = xy_to_grid(p, RADAR)
    np.testing.assert_allclose(grid_to_xy(g[:, 0], g[:, 1], RADAR, p[:, 2]), p, atol=1e-9)


def test_targets_decode_to_the_true_people() -> None:
    j = _people()
    t = targets(j, RADAR)
    assert t["mask"].sum() == 2
    logits = torch.from_numpy(np.where(t["heatmap"] == 1, 10.0, -10.0)).unsqueeze(0)
    people = people_from_output(logits, torch.from_numpy(t["reg"]).unsqueeze(0), RADAR)[0]
    assert len(people) == 2
    got = sorted((p.joints for p in people), key=lambda a: a[0, 0])
    for g, true in zip(got, j[:2], strict=True):
        np.testing.assert_allclose(g, true, atol=1e-4)


def test_model_shapes_and_speed_class() -> None:
    m = build_model("radarpose_lite")
    hm, reg = m(torch.zeros(2, N_INPUT, 64, 64))
    assert hm.shape == (2, 1, 32, 32) and reg.shape == (2, 48, 32, 32)
    n = sum(p.numel() for p in m.parameters())
    assert n < 1_000_000  # ships in the repo: a few MB at most


class _Toy(torch.utils.data.Dataset):
    def __init__(self) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(24, N_INPUT, 64, 64, generator=g)
        self.t = [targets(_people(), RADAR) for _ in range(24)]

    def __len__(self) -> int:
        return 24

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input": self.x[i], **{k: torch.from_numpy(v) for k, v in self.t[i].items()}}


def test_resume_after_one_epoch_equals_uninterrupted(tmp_path: Path) -> None:
    from fusion.models.realtime import loss_fn
    from fusion.train import seed_everything

    def model() -> torch.nn.Module:
        seed_everything(cfg.optim.seed)  # the same initial weights, as radarpose train does
        return build_model(cfg.model, **cfg.model_args)

    cfg = TrainConfig(
        "radarpose_lite",
        {"width": 8, "blocks": 1, "deep_blocks": 1},
        DataConfig(),
        OptimConfig(epochs=2, batch_size=8, lr=1e-3),
    )
    a = Trainer(cfg, model(), _Toy(), None, loss_fn, tmp_path / "a")
    a.fit()
    b = Trainer(cfg, model(), _Toy(), None, loss_fn, tmp_path / "b")
    b.fit(stop_after=1)
    torch.manual_seed(12345)  # disturb the global RNG: resume must restore it
    c = Trainer(cfg, model(), _Toy(), None, loss_fn, tmp_path / "b")
    c.resume(tmp_path / "b" / "last.pt")
    c.fit()
    assert c.epoch == 2
    for (k, va), vc in zip(
        a.model.state_dict().items(), c.model.state_dict().values(), strict=True
    ):
        assert torch.equal(va, vc), k
    assert (tmp_path / "a" / "log.csv").read_text().count("\n") == 3


def test_mirror_augmentation_is_consistent_with_the_grid() -> None:
    from fusion.data.cache import MIRROR, augment
    from fusion.features import xy_to_grid

    j = _people()
    fh = np.zeros((8, 64, 64), np.float32)
    g = xy_to_grid(j[0, 0], RADAR)
    fh[:, int(round(g[0])), int(round(g[1]))] = 10.0  # a bright cell at the first person's root
    rng = np.random.default_rng(0)
    while True:  # draw until the mirror branch is taken
        fh2, _, j2 = augment(fh, np.zeros((8, 64, 16), np.float32), j, rng)
        if j2[0, 0, 1] == -j[0, 0, 1]:
            break
    g2 = xy_to_grid(j2[0, 0], RADAR)
    cell = np.unravel_index(np.argmax(fh2[0]), fh2[0].shape)
    assert cell == (int(round(g2[0])), int(round(g2[1])))
    np.testing.assert_allclose(j2[0, 1], j[0, 4] * [1, -1, 1])  # right hip = mirrored left hip
    assert sorted(MIRROR.tolist()) == list(range(15))


def test_temporal_context_is_the_same_in_training_and_live(tmp_path: Path) -> None:
    """The cache dataset and the live pipeline give the model the same earlier frames, clamped to
    the start of a sequence (or stream), in the layout model_input documents."""
    import h5py

    from fusion.features import N_CONTEXT
    from fusion.pipeline import PosePipeline

    rng = np.random.default_rng(1)
    n = 14  # two sequences: rows 0-5 and 6-13
    fh = rng.normal(23, 3, (n, 8, 64, 64)).astype(np.float16)
    fv = rng.normal(24, 3, (n, 8, 64, 16)).astype(np.float16)
    path = tmp_path / "c.h5"
    with h5py.File(path, "w") as f:
        f["fh"], f["fv"] = fh, fv
        f["joints"] = np.full((n, 3, 15, 3), np.nan, np.float32)
        f["sequence"] = np.array([0] * 6 + [1] * 8, np.int32)
    from fusion.data.cache import FeatureCacheDataset

    ds = FeatureCacheDataset(path, RADAR, context=3, context_stride=2)
    model = build_model("radarpose_lite", width=8, blocks=1, deep_blocks=1, context=3)
    pipe = PosePipeline(load_rig("hupr"), model)
    for i in range(6, n):
        x = ds[i]["input"].numpy()
        assert x.shape == (N_INPUT + 3 * N_CONTEXT, 64, 64)
        np.testing.assert_array_equal(x, pipe._input(fh[i], fv[i]))
        for m in (1, 2, 3):  # earlier frame m: rows i-2m, never before the sequence's row 6
            row = max(i - 2 * m, 6)
            got = x[N_INPUT + 8 * (m - 1) : N_INPUT + 8 * m]
            np.testing.assert_allclose(got, (fh[row].astype(np.float32) - 23) / 3.3, rtol=1e-6)
            hv = x[N_INPUT + 24 + 16 * (m - 1), 5]  # height bin 0 of range row 5, across azimuth
            np.testing.assert_allclose(
                hv, (fv[row, :, 5, 0].astype(np.float32).mean() - 24.5) / 3.3, rtol=1e-5
            )
    pipe.reset()
    first = pipe._input(fh[0], fv[0])
    np.testing.assert_allclose(
        first[N_INPUT : N_INPUT + 8], (fh[0].astype(np.float32) - 23) / 3.3, rtol=1e-6
    )


def test_the_person_threshold_travels_with_the_checkpoint(tmp_path: Path) -> None:
    """A trained model's threshold (chosen on validation data) is what decoding uses unless the
    caller overrides it; the shipped weights carry theirs."""
    from fusion.evaluate import load_model
    from fusion.pipeline import PosePipeline
    from fusion.weights import RADARPOSE_LITE

    model = build_model("radarpose_lite", width=8, blocks=1, deep_blocks=1, threshold=0.7)
    assert PosePipeline(load_rig("hupr"), model).threshold == 0.7
    assert PosePipeline(load_rig("hupr"), model, threshold=0.2).threshold == 0.2
    assert build_model("radarpose_lite", width=8, blocks=1, deep_blocks=1).threshold == 0.3
    if RADARPOSE_LITE.is_file():
        shipped, ck = load_model(RADARPOSE_LITE)
        assert shipped.threshold == ck["model_args"]["threshold"] == 0.5


def test_model_input_refuses_mismatched_earlier_frames() -> None:
    from fusion.errors import FusionError
    from fusion.features import model_input

    fh, fv = np.zeros((8, 64, 64)), np.zeros((8, 64, 16))
    with pytest.raises(FusionError, match="both past_fh and past_fv"):
        model_input(fh, fv, np.zeros((3, 8, 64, 64)))
    with pytest.raises(FusionError, match=r"got \(2, 8, 64, 16\)"):
        model_input(fh, fv, np.zeros((3, 8, 64, 64)), np.zeros((2, 8, 64, 16)))
