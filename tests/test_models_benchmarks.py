"""The benchmark networks: sizes, official key names, checkpoint round trips, decoding, and the
attention, PRGCN and HRNet fusion against independent re-statements written here."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from fusion.cli import main
from fusion.errors import FusionError
from fusion.evaluate import load_model
from fusion.models import build_model
from fusion.models.hrradarpose import (
    ROI_ORIGIN_XYZ,
    VOXEL_XYZ,
    HRRadarPose,
    decode,
    load_official_checkpoint,
    loss_fn,
    make_targets,
    official_key_table,
)
from fusion.models.hupr import (
    HUPR_ADJACENCY,
    HuPRNet,
    heatmap_peaks,
    lift_to_3d,
    load_hupr_checkpoint,
    spatial_attention,
)

# names read in RT-Pose's det3d code (RadarPoseNet > HRNet3D > HighResolution3DNet, CenterHead)
RTPOSE_NAMES = {
    "backbone.backbone.layer1.conv2.conv.weight": (32, 32, 3, 3, 3),
    "backbone.backbone.layer1.conv2.groupnorm.weight": (32,),
    "backbone.backbone.layer1.conv3.conv.weight": (32, 32, 3, 3, 3),
    "backbone.backbone.transition1.1.0.1.weight": (32, 32, 3, 3, 3),
    "backbone.backbone.transition2.2.0.1.weight": (64, 32, 3, 3, 3),
    "backbone.backbone.stage2.0.branches.1.0.conv3.groupnorm.bias": (32,),
    "backbone.backbone.stage3.0.fuse_layers.0.2.1.weight": (32, 64, 1, 1, 1),
    "backbone.backbone.stage4.0.fuse_layers.3.0.2.1.weight": (64, 32, 3, 3, 3),
    "backbone.backbone.stage4.0.fuse_layers.3.0.1.0.weight": (32,),
    "backbone.final_conv.weight": (128, 192, 1, 1, 1),
    "backbone.final_conv.bias": (128,),
    "pose_head.tasks.0.reg.2.weight": (45, 32, 3, 3, 3),
    "pose_head.tasks.0.hm.0.bias": (32,),
    "pose_head.tasks.0.hm.2.bias": (1,),
}
# names read in HuPR's models/{networks,layers,chirp_networks,gcn_networks}.py
HUPR_NAMES = {
    "RAchirpNet.temporalConvWx1x1.weight": (32, 2, 2, 1, 1),
    "REradarEncoder.layer1.0.bias": (64,),
    "RAradarEncoder.layer1.1.main.1.running_var": (64,),
    "RAradarEncoder.l1temporalMerge.weight": (64, 64, 8, 1, 1),
    "REradarEncoder.temporalMerge.weight": (256, 256, 2, 1, 1),
    "radarDecoder.decoderLayer3.0.main.0.weight": (256, 1024, 3, 3),
    "radarDecoder.decoderLayer3.0.relu.weight": (1,),
    "radarDecoder.decoderLayer1.2.weight": (14, 32, 1, 1),
    "radarDecoder.gcn.L1.weight": (1024, 1024),
    "radarDecoder.gcn.L3.bias": (1024, 14),
    "radarDecoder.theta_cross_vert.2.weight": (64, 64, 1, 1),
}

SMALL = (8, 8, 8)  # a reduced HRRadarPose grid (z, y, x), multiples of 8


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small convolutions run many times faster on one thread than on two shared ones."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _perturbed(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.add_(0.05 * torch.randn(t.shape, generator=g))
    return model.eval()


# ---------------------------------------------------------------- HRRadarPose


def test_hrradarpose_size_and_official_names() -> None:
    m = build_model("hrradarpose")
    assert sum(p.numel() for p in m.parameters()) == 2_216_942
    table = official_key_table()
    assert len(table) == 154 and len(set(table.values())) == 154  # a bijection
    sd = m.state_dict()
    by_official = {v: sd[k] for k, v in table.items()}
    for name, shape in RTPOSE_NAMES.items():
        assert tuple(by_official[name].shape) == shape, name


def test_hrradarpose_paper_grid_shapes() -> None:
    """The paper's input (B, 32, 16, 64, 160), run on the meta device (shapes only, no arithmetic)."""
    with torch.device("meta"):
        hm, reg = HRRadarPose()(torch.empty(2, 32, 16, 64, 160))
    assert hm.shape == (2, 1, 16, 64, 160) and reg.shape == (2, 45, 16, 64, 160)


def test_hrradarpose_official_checkpoint_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    src = _perturbed(HRRadarPose(), 1)
    table = official_key_table()
    official = {table[k]: v.clone() for k, v in src.state_dict().items()}
    path = tmp_path / "epoch_100.pth"
    torch.save({"meta": {"epoch": 100}, "state_dict": official}, path)
    x = torch.randn(1, 32, *SMALL, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = src(x)
        got_file = load_official_checkpoint(path).eval()(x)
        ddp = {"state_dict": {f"module.{k}": v for k, v in official.items()}}
        got_ddp = load_official_checkpoint(ddp).eval()(x)
    for got in (got_file, got_ddp):
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])

    bad = dict(official)
    del bad["pose_head.tasks.0.reg.2.weight"]
    bad["pose_head.tasks.0.extra.weight"] = torch.zeros(1)
    with pytest.raises(FusionError, match=r"1 missing keys \['pose_head.tasks.0.reg.2.weight'\]"):
        load_official_checkpoint({"state_dict": bad})
    with pytest.raises(FusionError, match="unexpected keys.*extra"):
        load_official_checkpoint({"state_dict": bad})


def test_hrnet_fusion_matches_restatement() -> None:
    """Stage 3 (three branches) against HRNet's definition written with functional ops."""
    torch.manual_seed(0)
    stage = _perturbed(HRRadarPose(), 3).stages[1]
    g = torch.Generator().manual_seed(4)
    xs = [
        torch.randn(1, 32, 8, 16, 16, generator=g),
        torch.randn(1, 32, 4, 8, 8, generator=g),
        torch.randn(1, 64, 2, 4, 4, generator=g),
    ]
    P = dict(stage.named_parameters())

    def nc(x: torch.Tensor, pre: str, stride: int, pad: int) -> torch.Tensor:
        x = F.group_norm(x, 8, P[f"{pre}.norm.weight"], P[f"{pre}.norm.bias"])
        return F.conv3d(x, P[f"{pre}.conv.weight"], stride=stride, padding=pad)

    def block(x: torch.Tensor, b: int) -> torch.Tensor:
        y = F.relu(nc(x, f"blocks.{b}.a", 1, 1))
        return F.relu(x + nc(y, f"blocks.{b}.b", 1, 1))

    def up(x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        return F.interpolate(x, size=size, mode="trilinear", align_corners=True)

    with torch.no_grad():
        b = [block(x, i) for i, x in enumerate(xs)]
        want = [
            F.relu(b[0] + up(nc(b[1], "fuse.1to0", 1, 0), b[0].shape[2:]) + up(nc(b[2], "fuse.2to0", 1, 0), b[0].shape[2:])),
            F.relu(nc(b[0], "fuse.0to1.0", 2, 1) + b[1] + up(nc(b[2], "fuse.2to1", 1, 0), b[1].shape[2:])),
            F.relu(
                nc(F.relu(nc(b[0], "fuse.0to2.0", 2, 1)), "fuse.0to2.1", 2, 1)
                + nc(b[1], "fuse.1to2.0", 2, 1)
                + b[2]
            ),
        ]  # fmt: skip
        got = stage([x.clone() for x in xs])
    for gi, wi in zip(got, want, strict=True):
        torch.testing.assert_close(gi, wi, rtol=1e-5, atol=1e-5)


def test_targets_and_decode_recover_known_joints() -> None:
    origin, voxel = np.array(ROI_ORIGIN_XYZ), np.array(VOXEL_XYZ)
    rng = np.random.default_rng(0)
    joints = origin + np.array([100.5, 30.25, 6.75]) * voxel + rng.normal(0, 0.3, (15, 3))
    joints[0] = origin + np.array([100.5, 30.25, 6.75]) * voxel
    t = make_targets(joints)
    assert t["index"].tolist() == [6, 30, 100] and t["mask"] == 1
    np.testing.assert_allclose(t["reg"][:3], [0.5, 0.25, 0.75], atol=1e-5)
    hm = t["heatmap"][0]
    # RT-Pose's blob: sigma = 5/6 voxel, exponent -d^2 / (2 sigma^2)^1.5; one voxel away in x:
    assert hm[6, 30, 100] == 1.0
    assert hm[6, 30, 101] == pytest.approx(math.exp(-1 / (2 * 25 / 36) ** 1.5), rel=1e-6)
    assert hm[6, 30, 103] == 0 and (hm > 0).sum() == 125
    logits = torch.from_numpy(np.where(t["heatmap"] == 1, 8.0, -8.0))[None]
    reg = torch.zeros(1, 45, *hm.shape)
    reg[0, :, 6, 30, 100] = torch.from_numpy(t["reg"])
    got, score = decode(logits, reg)
    np.testing.assert_allclose(got[0].numpy(), joints, atol=1e-5)
    assert float(score[0]) == pytest.approx(1 / (1 + math.exp(-8)))
    outside = make_targets(joints - np.array([5.0, 0, 0]))
    assert outside["mask"] == 0 and outside["heatmap"].max() == 0


def test_hrradarpose_loss_decreases_on_a_tiny_batch() -> None:
    torch.manual_seed(0)
    m = HRRadarPose()
    rng = np.random.default_rng(1)
    origin = tuple(np.array(ROI_ORIGIN_XYZ))
    joints = [
        origin + np.array([8.0, 7.0, 3.0]) * VOXEL_XYZ + rng.normal(0, 0.1, (15, 3))
        for _ in range(2)
    ]
    ts = [make_targets(j, SMALL) for j in joints]
    batch = {k: torch.from_numpy(np.stack([t[k] for t in ts])) for k in ts[0]}
    x = torch.randn(2, 32, *SMALL, generator=torch.Generator().manual_seed(5))
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    losses = []
    for _ in range(6):
        loss, parts = loss_fn(m(x), batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert set(parts) == {"heatmap", "offset"}
    assert losses[-1] < 0.7 * losses[0]


def test_models_refuse_wrong_input() -> None:
    with pytest.raises(FusionError, match=r"multiples of 8, got \(1, 32, 8, 16, 15\)"):
        HRRadarPose()(torch.zeros(1, 32, 8, 16, 15))
    hupr = HuPRNet(num_filters=8)
    with pytest.raises(
        FusionError,
        match=r"hori: expected \(B, 8, 8, 2, 64, 64, elevation\), got \(1, 8, 8, 2, 64, 32, 8\)",
    ):
        hupr(torch.zeros(1, 8, 8, 2, 64, 32, 8), torch.zeros(1, 8, 8, 2, 64, 64, 8))
    with pytest.raises(FusionError, match="one input must stack both radars"):
        hupr(torch.zeros(1, 8, 8, 2, 64, 64, 8))


# ---------------------------------------------------------------- HuPR


def test_hupr_size_and_official_names() -> None:
    m = build_model("hupr")
    sd = m.state_dict()
    assert sum(p.numel() for p in m.parameters()) == 35_542_668
    assert len(sd) == 255
    assert sum(1 for k in sd if "running_" in k or "num_batches" in k) == 90
    for name, shape in HUPR_NAMES.items():
        assert tuple(sd[name].shape) == shape, name


def test_hupr_adjacency() -> None:
    A = HUPR_ADJACENCY
    assert A.shape == (14, 14) and int((A != 0).sum()) == 36 and (np.diag(A) == 1).all()
    # asymmetric exactly where HuPR's table is: each shoulder takes the neck, the neck neither shoulder
    rows, cols = np.nonzero(A != A.T)
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == [
        (6, 8),
        (6, 11),
        (8, 6),
        (11, 6),
    ]
    assert A[8, 6] == 1 and A[6, 8] == 0 and A[11, 6] == 1 and A[6, 11] == 0
    assert A[0, 6] == A[6, 0] == A[3, 6] == 0  # no hip-neck link
    gcn = HuPRNet(num_filters=8).radarDecoder.gcn
    edges = set(zip(*gcn.edge_index.tolist(), strict=True))
    assert edges == set(zip(*np.nonzero(A), strict=True))


def test_attention_matches_restatement() -> None:
    g = torch.Generator().manual_seed(0)
    k, q, maps = (torch.randn(2, 3, 4, 5, generator=g, dtype=torch.float64) for _ in range(3))
    got = spatial_attention(k, q, maps)
    kk, qq, mm = (t.reshape(2, 3, 20).numpy() for t in (k, q, maps))
    want = np.zeros((2, 3, 20))
    for b in range(2):
        for p in range(20):
            a = np.array([kk[b, :, s] @ qq[b, :, p] for s in range(20)])
            w = np.exp(a - a.max()) / np.exp(a - a.max()).sum()  # softmax over the source s
            want[b, :, p] = mm[b] @ w
    np.testing.assert_allclose(got.reshape(2, 3, 20).numpy(), want, rtol=1e-10)


def test_prgcn_matches_restatement() -> None:
    torch.manual_seed(0)
    gcn = HuPRNet(num_filters=8).radarDecoder.gcn.double()
    logits = torch.randn(2, 14, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        got = gcn(logits)
        A = torch.from_numpy(HUPR_ADJACENCY).double()
        x = F.interpolate(logits, scale_factor=0.5, mode="bilinear", align_corners=True)
        x = x.reshape(2, 14, 1024).transpose(1, 2)  # (B, features, nodes)
        for i, layer in enumerate((gcn.L1, gcn.L2, gcn.L3)):
            x = layer.weight @ (x @ A) + layer.bias
            x = F.relu(x) if i < 2 else x
        x = x.transpose(1, 2).reshape(2, 14, 32, 32)
        want = torch.sigmoid(
            F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True)
        )
    assert got.shape == (2, 1, 14, 64, 64)
    torch.testing.assert_close(got[:, 0], want, rtol=1e-10, atol=1e-12)


def _hupr_inputs(b: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    return tuple(torch.randn(b, 8, 8, 2, 64, 64, 8, generator=g) for _ in range(2))


def test_hupr_chirp_front_end_keeps_the_view_reshape() -> None:
    """Channel 1 of the (2, Doppler) view is the second half of the (Doppler, re/im) memory."""
    m = HuPRNet(num_filters=8)
    x = torch.zeros(1, 8, 8, 2, 64, 64, 8)
    x[:, :, 4, 0] = 1.0  # Doppler bin 4, real part -> flat index 8 -> channel 1, position 0
    with torch.no_grad():
        m.RAchirpNet.temporalConvWx1x1.weight.zero_()
        m.RAchirpNet.temporalConvWx1x1.bias.zero_()
        m.RAchirpNet.temporalConvWx1x1.weight[0, 1, 0] = 1.0  # reads channel 1, first tap
        out = m._chirp(m.RAchirpNet, x)
    assert out.shape == (1, 8, 8, 64, 64)
    assert out[0, 0].min() == 1.0 and out[0, 1:].abs().max() == 0


def test_hupr_checkpoint_round_trip_and_3d_head() -> None:
    torch.manual_seed(0)
    src = _perturbed(HuPRNet(num_filters=8), 8)
    ck = {
        "epoch": 5,
        "model_state_dict": src.state_dict(),
        "optimizer_state_dict": {},
        "accuracy": 0.4,
    }
    bins = np.linspace(4.0, 1.0, 64)
    dst = load_hupr_checkpoint(ck, HuPRNet(num_filters=8, head_3d=True, range_bins_m=bins.tolist()))
    got = dst.state_dict()
    assert set(got) - set(ck["model_state_dict"]) == {"depthHead.weight", "depthHead.bias"}
    for k, v in ck["model_state_dict"].items():
        assert torch.equal(got[k], v), k
    feats = torch.randn(2, 16, 64, 64)
    with torch.no_grad():
        dst.depthHead.weight.zero_()  # uniform over range-azimuth: depth = mean of the bins
        np.testing.assert_allclose(dst.depth(feats).numpy(), bins.mean(), rtol=1e-5)
        dst.depthHead.bias.zero_()
        dst.depthHead.weight[:, 0] = 50.0  # joints peak where channel 0 is large: range cell 10
        feats = torch.zeros(2, 16, 64, 64)
        feats[:, 0, 10, 33] = 1.0
        np.testing.assert_allclose(dst.depth(feats).numpy(), bins[10], rtol=1e-4)
    with pytest.raises(FusionError, match="not a HuPR.*missing keys"):
        load_hupr_checkpoint({"model_state_dict": {"RAchirpNet.x": torch.zeros(1)}})


def test_hupr_full_size_checkpoint_file_and_forward(tmp_path: Path) -> None:
    torch.manual_seed(0)
    src = HuPRNet().eval()
    path = tmp_path / "model_best.pth"
    torch.save(
        {
            "epoch": 199,
            "model_state_dict": src.state_dict(),
            "optimizer_state_dict": {},
            "accuracy": 0.7,
        },
        path,
    )
    out = tmp_path / "ours.pt"
    assert main(["import-weights", str(path), "-o", str(out), "--model", "hupr"]) == 0
    model, ck = load_model(out)
    assert ck["model_name"] == "hupr" and ck["imported_from"]["epoch"] == 199
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    with torch.no_grad():
        heat, gcn_heat = model(torch.stack(_hupr_inputs(), 1))  # the Trainer's single input
    assert heat.shape == (1, 14, 1, 64, 64) and gcn_heat.shape == (1, 1, 14, 64, 64)
    assert 0 < float(gcn_heat.min()) and float(gcn_heat.max()) < 1


def test_lift_to_3d_inverts_projection() -> None:
    K = np.array([[300.0, 0, 128], [0, 300.0, 128], [0, 0, 1]])
    P = np.array([[0.4, -0.3, 2.5], [-0.7, 0.2, 3.1]])  # camera frame (x right, y down, z forward)
    uvw = P @ K.T
    uv = uvw[:, :2] / uvw[:, 2:]
    T = np.eye(4)
    T[:3, :3] = [[0, 0, 1], [-1, 0, 0], [0, -1, 0]]  # camera -> radar axes (x fwd, y left, z up)
    got = lift_to_3d(uv, np.linalg.norm(P, axis=1), K, T)
    np.testing.assert_allclose(got, np.stack([P[:, 2], -P[:, 0], -P[:, 1]], 1), atol=1e-12)
    hm = torch.zeros(1, 2, 64, 64)
    hm[0, 0, 10, 20] = 1
    hm[0, 1, 63, 0] = 1
    uv_px, peak = heatmap_peaks(hm)
    assert uv_px[0].tolist() == [[80.0, 40.0], [0.0, 252.0]] and peak.min() == 1


# ---------------------------------------------------------------- import-weights


def test_import_weights_rtpose_and_refusals(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    torch.manual_seed(0)
    src = _perturbed(HRRadarPose(), 9)
    off = tmp_path / "latest.pth"
    table = official_key_table()
    torch.save(
        {
            "meta": {"epoch": 100},
            "state_dict": {table[k]: v for k, v in src.state_dict().items()},
        },
        off,
    )
    out = tmp_path / "ours.pt"
    assert main(["import-weights", str(off), str(out), "--from", "rtpose"]) == 0
    model, ck = load_model(out)
    assert ck["model_name"] == "hrradarpose" and ck["imported_from"]["epoch"] == 100
    x = torch.randn(1, 32, *SMALL)
    with torch.no_grad():
        assert torch.equal(model(x)[1], src(x)[1])
    # the wrong --model, a foreign dict, a radarpose checkpoint, a non-checkpoint
    assert main(["import-weights", str(off), str(out), "--model", "hupr"]) == 2
    assert "this is a rtpose checkpoint, not hupr" in capsys.readouterr().err
    foreign = tmp_path / "foreign.pth"
    torch.save({"net": {"conv.weight": torch.zeros(1)}}, foreign)
    assert main(["import-weights", str(foreign), str(out)]) == 2
    assert "neither a HuPR checkpoint" in capsys.readouterr().err
    assert main(["import-weights", str(out), str(tmp_path / "again.pt")]) == 2
    assert "already a radarpose checkpoint" in capsys.readouterr().err
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    assert main(["import-weights", str(text), str(out)]) == 2
    assert "not a readable checkpoint" in capsys.readouterr().err


def test_hupr_targets_and_loss() -> None:
    from fusion.models.hupr import loss_fn as hupr_loss
    from fusion.models.hupr import make_targets as hupr_targets

    joints = np.full((14, 2), 128.0)
    joints[0] = [41.9, 82.0]  # cell int(41.9/4 + 0.5) = 10, int(82/4 + 0.5) = 21
    joints[1] = [1.0, 254.0]  # cell (0, 64): patch cropped at two borders
    joints[2] = [-40.0, 128.0]  # cell -9: patch entirely outside, empty
    t = hupr_targets(joints)
    assert t.shape == (14, 64, 64) and t[0, 21, 10] == 1.0 and t[0].argmax() == 21 * 64 + 10
    assert t[0, 21, 11] == pytest.approx(math.exp(-1 / 8)) and t[0, 27, 16] == pytest.approx(
        math.exp(-72 / 8)
    )
    assert (t[0] > 0).sum() == 169 and t[0, 28, 10] == 0
    assert (t[1] > 0).sum() == 7 * 6 and t[2].max() == 0
    target = torch.from_numpy(t)[None]
    p = torch.full((1, 14, 64, 64), 0.25)
    loss, parts = hupr_loss((p.unsqueeze(2), p.unsqueeze(1)), {"heatmap": target})
    tt = t.astype(np.float64)
    bce = float(np.mean(-(tt * np.log(0.25) + (1 - tt) * np.log(0.75))))
    assert float(loss) == pytest.approx(2 * bce, rel=1e-5) and parts["heatmap"] == pytest.approx(
        bce, rel=1e-5
    )
