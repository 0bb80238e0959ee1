"""The track refiner: it reads the right cells, never looks ahead, follows each person separately,
and training it through `radarpose train` lowers its error on its own data."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from drivers import load_rig
from drivers.config import ConfigError
from fusion.errors import FusionError
from fusion.features import xy_to_grid
from fusion.models import build_model
from fusion.models.track import TrackRefiner, track_inputs
from fusion.pose import Person3D, TrackRefinement
from fusion.train import DataConfig, save_checkpoint

RADAR = load_rig("hupr").radars["radar-h"]
ROOT = np.array([2.5, 0.2, 0.0])  # the person of _tiny_cache
ROOT_CELL = xy_to_grid(ROOT, RADAR) / 2.0  # fractional output cell


@pytest.fixture()
def frame_checkpoint(tmp_path: Path) -> Path:
    """A tiny untrained RadarPoseLite with one frame of context, saved as a checkpoint."""
    torch.manual_seed(0)
    args = {"width": 8, "blocks": 1, "deep_blocks": 1, "context": 1}
    m = build_model("radarpose_lite", **args)
    # root offset and height exact for the person of _tiny_cache (and the same in training and
    # evaluation, as the refiner reads them): evaluate's matching needs the untrained model's root
    with torch.no_grad():
        m.head_reg[-1].weight[:3] = 0.0
        m.head_reg[-1].bias[:3] = torch.tensor([*(ROOT_CELL - np.floor(ROOT_CELL)), 0.0])
    path = tmp_path / "frame.pt"
    save_checkpoint(
        path,
        {
            "format": "radarpose-checkpoint",
            "format_version": "1.0",
            "model_name": "radarpose_lite",
            "model_args": args,
            "model_state_dict": m.state_dict(),
        },
    )
    return path


def test_track_inputs_read_the_3x3_cells_around_the_person() -> None:
    w = 4
    # feature value encodes (batch, channel, row, column)
    b, c, r, q = np.meshgrid(
        np.arange(2), np.arange(w), np.arange(32), np.arange(32), indexing="ij"
    )
    feat = torch.tensor(1e6 * b + 1e4 * c + 100 * r + q, dtype=torch.float64)
    reg = torch.tensor(np.random.default_rng(0).normal(size=(2, 48, 32, 32)))
    cells = torch.tensor([[5, 7], [0, 31]])
    v = track_inputs(feat, reg, cells).numpy()
    assert v.shape == (2, 9 * w + 48)
    for i, (row, col) in enumerate([(5, 7), (0, 31)]):
        patch = v[i, : 9 * w].reshape(w, 3, 3)
        for ch in range(w):
            for dy in range(3):
                for dx in range(3):
                    rr = min(max(row + dy - 1, 0), 31)  # borders repeat
                    cc = min(max(col + dx - 1, 0), 31)
                    assert patch[ch, dy, dx] == 1e6 * i + 1e4 * ch + 100 * rr + cc
        np.testing.assert_array_equal(v[i, 9 * w :], reg[i, :, row, col].numpy())


def test_refiner_is_causal_and_sees_its_receptive_field() -> None:
    torch.manual_seed(0)
    net = TrackRefiner(60, width=16, dilations=(1, 2, 4), dropout=0.0).eval()
    torch.nn.init.normal_(net.out.weight, std=0.1)  # trained-like: not the zero start
    assert net.receptive_field == 15
    x = torch.randn(1, 30, 60)
    y = net(x)
    later = x.clone()
    later[0, 20] += 5.0  # a later frame changes nothing before it
    np.testing.assert_allclose(net(later)[0, :20].detach(), y[0, :20].detach(), atol=1e-6)
    assert (net(later)[0, 20] - y[0, 20]).abs().max() > 1e-3
    inside, outside = x.clone(), x.clone()
    inside[0, 29 - 14] += 5.0  # the oldest frame the last output sees
    outside[0, 29 - 15] += 5.0  # one older: out of reach
    assert (net(inside)[0, -1] - y[0, -1]).abs().max() > 1e-3
    np.testing.assert_allclose(net(outside)[0, -1].detach(), y[0, -1].detach(), atol=1e-6)
    with pytest.raises(FusionError, match="expected"):
        net(torch.randn(2, 5, 59))


def test_untrained_refiner_keeps_the_frame_model_and_tracks_people_apart(
    frame_checkpoint: Path,
) -> None:
    model = build_model("radarpose_lite_track", frame_checkpoint=str(frame_checkpoint), width=16)
    model.eval()
    assert model.context == 1 and model.track.receptive_field == 31
    # zero-initialised correction: the refined offsets are the frame model's own
    x = torch.randn(3, 7, 9 * 8 + 48)
    np.testing.assert_array_equal(model(x).detach(), x[..., -45:])
    torch.nn.init.normal_(model.track.out.weight, std=0.1)
    refine = TrackRefinement(model)
    feat, reg = torch.randn(8, 32, 32), torch.randn(48, 32, 32)
    a = Person3D(np.zeros((15, 3), np.float32) + [2.0, 0.5, 0.0], 0.9, (10, 12))
    b = Person3D(np.zeros((15, 3), np.float32) + [3.5, -1.0, 0.0], 0.8, (20, 4))
    out, ids = refine([a, b], feat, reg)
    assert len(set(ids)) == 2
    np.testing.assert_array_equal(out[0].joints[0], a.joints[0])  # the root stays
    # the same person a frame later: its own history, unaffected by the other one's
    out2, ids2 = refine([b], feat, reg)
    assert ids2 == [ids[1]] and len(refine._history[ids[1]]) == 2
    alone = TrackRefinement(model)
    alone([b], feat, reg)
    solo, _ = alone([b], feat, reg)
    np.testing.assert_allclose(out2[0].joints, solo[0].joints, atol=1e-6)
    refine.reset()
    assert not refine._history


def test_frame_checkpoint_must_be_a_radarpose_lite(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    save_checkpoint(path, {"model_name": "hupr", "model_args": {}, "model_state_dict": {}})
    with pytest.raises(FusionError, match="not a radarpose checkpoint"):
        build_model("radarpose_lite_track", frame_checkpoint=str(path))
    fmt = {"format": "radarpose-checkpoint", "format_version": "1.0"}
    save_checkpoint(path, {**fmt, "model_name": "hupr", "model_args": {}, "model_state_dict": {}})
    with pytest.raises(FusionError, match="must be a radarpose_lite checkpoint, got 'hupr'"):
        build_model("radarpose_lite_track", frame_checkpoint=str(path))
    with pytest.raises(ConfigError, match="one sequence count per seed"):
        DataConfig(extra_train_sequences=(10, 20), extra_train_seeds=(3,))


class _PeakAt(torch.nn.Module):
    """A heatmap head with one sure peak at ``cell``."""

    def __init__(self, cell: np.ndarray) -> None:
        super().__init__()
        self.cell = (int(cell[0]), int(cell[1]))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        hm = torch.full((len(f), 1, 32, 32), -10.0)
        hm[:, 0, self.cell[0], self.cell[1]] = 10.0
        return hm


def _tiny_cache(path: Path, seed: int) -> None:
    """Two sequences of 12 frames of noise maps with one person in a fixed pose: the refiner has to
    learn the pose, which the untrained frame model does not know."""
    rng = np.random.default_rng(seed)
    n = 24
    fh = rng.normal(23, 1, (n, 8, 64, 64)).astype(np.float16)
    fv = rng.normal(24, 1, (n, 8, 64, 16)).astype(np.float16)
    joints = np.full((n, 3, 15, 3), np.nan, np.float32)
    base = rng.normal(0, 0.3, (15, 3)).astype(np.float32)
    for k in range(n):
        joints[k, 0] = base + ROOT
        joints[k, 0, 0] = ROOT
    with h5py.File(path, "w") as f:
        f["fh"], f["fv"], f["joints"] = fh, fv, joints
        f["sequence"] = np.repeat([0, 1], 12).astype(np.int32)


def test_radarpose_train_fits_the_refiner_and_evaluate_uses_it(
    tmp_path: Path, frame_checkpoint: Path
) -> None:
    """`radarpose train` on a track config: the refiner learns the people's offsets (which the
    untrained frame model gets wrong), its checkpoint loads, and evaluate's MPJPE falls."""
    import yaml

    from fusion.cli import main
    from fusion.evaluate import evaluate_cache, load_model

    train, test = tmp_path / "train.h5", tmp_path / "test.h5"
    _tiny_cache(train, 1)
    _tiny_cache(tmp_path / "sim_train_2x1.2_s5.h5", 5)
    _tiny_cache(test, 1)
    cfg = {
        "model": "radarpose_lite_track",
        "model_args": {"frame_checkpoint": str(frame_checkpoint), "width": 16, "window": 8},
        "data": {
            "train_cache": str(train),
            "test_cache": str(test),
            "train_seconds": 1.2,
            "extra_train_sequences": [2],
            "extra_train_seeds": [5],
            "augment": False,
            "val_fraction": 0.0,
        },
        "optim": {"epochs": 20, "batch_size": 8, "lr": 0.01, "weight_decay": 0.0, "seed": 0},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "run")]) == 0
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    first, last = (float(r.split(",")[2]) for r in (log[1], log[-1]))  # the mpjpe column
    assert log[0].split(",")[2] == "mpjpe" and last < 0.5 * first
    trained, ck = load_model(tmp_path / "run" / "last.pt")
    assert ck["model_name"] == "radarpose_lite_track"
    untrained = build_model(
        "radarpose_lite_track", frame_checkpoint=str(frame_checkpoint), width=16
    ).eval()
    # the untrained frame model cannot find anyone: its heatmap is made to peak at the person, so
    # that evaluate's matching, tracking and refinement run as on a trained one
    for m in (trained, untrained):
        m.frame.head_hm = _PeakAt(np.floor(ROOT_CELL).astype(int))
    before = evaluate_cache(untrained, test)
    after = evaluate_cache(trained, test)
    assert after["detection_recall"] == before["detection_recall"] == 1.0
    assert after["mpjpe_mm"] < 0.6 * before["mpjpe_mm"]


def test_predict_runs_the_refiner_over_a_stream_in_time_order(frame_checkpoint: Path) -> None:
    from fusion.features import N_CONTEXT, N_INPUT
    from fusion.pose import people_from_output, predict

    model = build_model("radarpose_lite_track", frame_checkpoint=str(frame_checkpoint), width=16)
    torch.nn.init.normal_(model.track.out.weight, std=0.1)
    model.frame.head_hm = _PeakAt(np.floor(ROOT_CELL).astype(int))
    x = torch.randn(5, N_INPUT + N_CONTEXT, 64, 64)
    got = predict(model.eval(), x, RADAR, batch_size=2)  # batches must not break the stream
    refine = TrackRefinement(model)
    with torch.no_grad():
        for k in range(5):
            hm, reg, feat = model.frame_outputs(x[k : k + 1])
            want = refine(people_from_output(hm, reg, RADAR)[0], feat[0], reg[0])[0]
            assert len(got[k]) == len(want) == 1
            np.testing.assert_allclose(got[k][0].joints, want[0].joints, atol=1e-5)
    # and the refiner changed the frame model's answer (so the check above is not vacuous)
    hm, reg, _ = model.frame_outputs(x[4:5])
    assert np.abs(people_from_output(hm, reg, RADAR)[0][0].joints - got[4][0].joints).max() > 1e-3
