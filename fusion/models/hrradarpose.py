"""HRRadarPose: RT-Pose's benchmark network (config ``hr3d_one_hm_doppler``), written afresh.

Input: RT-Pose's radar region of interest, ``(B, 32 Doppler, 16 z, 64 y, 160 x)``. A 3D HRNet keeps
a full-resolution branch and adds branches at strides 2, 4 and 8 (32/32/64/64 channels); every
stage exchanges information between branches by summation (1³ convolutions plus trilinear
upsampling going up in resolution, strided 3³ convolutions going down). The four branches are
upsampled, concatenated (192 channels) and mixed to 128; a CenterNet head predicts a 1-channel
pelvis heatmap and 45 offsets (x, y, z of the 15 joints, in voxels from the pelvis voxel).
2,216,942 parameters; no BatchNorm (GroupNorm before every convolution), so batch size 1 trains.

The official det3d checkpoints name their tensors differently; :func:`official_key` maps our
names to theirs and :func:`load_official_checkpoint` loads such a file.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import FusionError
from .realtime import focal_loss

N_JOINTS = 15
IN_CHANNELS = 32
GRID_ZYX = (16, 64, 160)
BRANCH_CHANNELS = (32, 32, 64, 64)
FEATURE_CHANNELS = 128
HEAD_CHANNELS = 32
# RT-Pose's voxel size and region-of-interest corner, (x, y, z) metres in the radar frame
VOXEL_XYZ = (0.0453125, 0.15703125, 0.3625)
ROI_ORIGIN_XYZ = (0.7703125, -5.025, -1.0875)
HM_BIAS = -2.19  # sigmoid prior 0.1, as CenterNet
REG_WEIGHT = 0.5  # weight of the offset L1 beside the focal loss
GAUSS_RADIUS = 2  # voxels; RT-Pose's min_radius


class NormConv(nn.Module):
    """GroupNorm(8) → Conv3d without bias (→ ReLU): RT-Pose's pre-normalised convolution."""

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int = 1, relu: bool = False
    ) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(8, cin)
        self.conv = nn.Conv3d(cin, cout, kernel, stride, kernel // 2, bias=False)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(self.norm(x))
        return F.relu(y) if self.relu else y


class ResBlock(nn.Module):
    """``relu(x + NormConv(NormConv(x) then ReLU))`` with 3³ kernels and constant width."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.a = NormConv(ch, ch, 3, relu=True)
        self.b = NormConv(ch, ch, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.b(self.a(x)))


class HRStage(nn.Module):
    """One residual block per branch, then every output branch sums all branches at its scale.

    ``fuse["{j}to{i}"]`` carries branch j to branch i: a 1³ NormConv (then trilinear upsampling,
    corners aligned) when j is coarser, a chain of ``i - j`` strided 3³ NormConvs (ReLU between)
    when j is finer.
    """

    def __init__(self, channels: tuple[int, ...]) -> None:
        super().__init__()
        n = len(channels)
        self.blocks = nn.ModuleList(ResBlock(c) for c in channels)
        self.fuse = nn.ModuleDict()
        for i in range(n):
            for j in range(n):
                if j > i:
                    self.fuse[f"{j}to{i}"] = NormConv(channels[j], channels[i], 1)
                elif j < i:
                    self.fuse[f"{j}to{i}"] = nn.Sequential(
                        *(
                            NormConv(
                                channels[j],
                                channels[i] if k == i - j - 1 else channels[j],
                                3,
                                stride=2,
                                relu=k < i - j - 1,
                            )
                            for k in range(i - j)
                        )
                    )

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [blk(x) for blk, x in zip(self.blocks, xs, strict=True)]
        out = []
        for i, xi in enumerate(xs):
            # summation order as RT-Pose's (branch 0 first), so float results agree bit for bit
            y = xs[0] if i == 0 else self.fuse[f"0to{i}"](xs[0])
            for j, xj in enumerate(xs[1:], start=1):
                if j == i:
                    y = y + xj
                elif j > i:
                    up = self.fuse[f"{j}to{i}"](xj)
                    y = y + F.interpolate(
                        up, size=xi.shape[2:], mode="trilinear", align_corners=True
                    )
                elif j < i:
                    y = y + self.fuse[f"{j}to{i}"](xj)
            out.append(F.relu(y))
        return out


def _head(cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(FEATURE_CHANNELS, HEAD_CHANNELS, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv3d(HEAD_CHANNELS, cout, 3, padding=1),
    )


class HRRadarPose(nn.Module):
    """``forward(x (B, 32, Z, Y, X)) -> (heatmap logits (B, 1, Z, Y, X), offsets (B, 45, Z, Y, X))``.

    Z, Y, X must be multiples of 8 (the coarsest branch); the paper's grid is (16, 64, 160).
    """

    def __init__(self, in_channels: int = IN_CHANNELS) -> None:
        super().__init__()
        c = BRANCH_CHANNELS
        if in_channels != c[0]:
            raise FusionError(f"HRRadarPose: in_channels must be {c[0]} (got {in_channels})")
        self.stem = ResBlock(c[0])
        # grow[k] opens branch k+1 from the coarsest branch so far
        self.grow = nn.ModuleList(
            NormConv(c[k], c[k + 1], 3, stride=2, relu=True) for k in range(3)
        )
        self.stages = nn.ModuleList(HRStage(c[: n + 2]) for n in range(3))
        self.neck = nn.Conv3d(sum(c), FEATURE_CHANNELS, 1)
        self.head_hm = _head(1)
        self.head_reg = _head(3 * N_JOINTS)
        nn.init.constant_(self.head_hm[-1].bias, HM_BIAS)
        for m in self.head_reg:
            if isinstance(m, nn.Conv3d):  # det3d's kaiming_init of the regression head
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim != 5 or x.shape[1] != IN_CHANNELS or any(s % 8 for s in x.shape[2:]):
            raise FusionError(
                f"HRRadarPose expects (B, {IN_CHANNELS}, Z, Y, X) with Z, Y, X multiples of 8, got {tuple(x.shape)}"
            )
        xs = [self.stem(x)]
        for grow, stage in zip(self.grow, self.stages, strict=True):
            xs = stage([*xs, grow(xs[-1])])
        size = xs[0].shape[2:]
        up = [F.interpolate(t, size=size, mode="trilinear", align_corners=True) for t in xs[1:]]
        f = self.neck(torch.cat([xs[0], *up], 1))
        return self.head_hm(f), self.head_reg(f)


# ---------------------------------------------------------------- official key names


def official_key(key: str) -> str:
    """Our state_dict name → the name in a det3d ``RadarPoseNet`` checkpoint of RT-Pose.

    Correspondence: ``stem`` = ``backbone.backbone.layer1``; a block's ``a``/``b`` = its
    ``conv2``/``conv3`` (a ``SingleConv`` with ``groupnorm`` and ``conv``); ``grow.k`` =
    ``transition{k+1}.{k+1}.0``; ``stages.s`` = ``stage{s+2}.0``; ``fuse.{j}to{i}`` =
    ``fuse_layers.{i}.{j}`` (NormConv ``norm``/``conv`` = Sequential indices 0/1); ``neck`` =
    ``backbone.final_conv``; ``head_hm``/``head_reg`` = ``pose_head.tasks.0.hm``/``.reg``.
    """
    p = key.split(".")
    nc = {"norm": "0", "conv": "1"}
    blk = {"a": "conv2", "b": "conv3", "norm": "groupnorm", "conv": "conv"}
    bb = "backbone.backbone"
    try:
        if p[0] == "stem":
            return ".".join([bb, "layer1", blk[p[1]], blk[p[2]], *p[3:]])
        if p[0] == "grow":
            k = int(p[1]) + 1
            return ".".join([bb, f"transition{k}", str(k), "0", nc[p[2]], *p[3:]])
        if p[0] == "stages":
            stage = f"{bb}.stage{int(p[1]) + 2}.0"
            if p[2] == "blocks":
                return ".".join([stage, "branches", p[3], "0", blk[p[4]], blk[p[5]], *p[6:]])
            if p[2] == "fuse":
                j, i = p[3].split("to")
                rest = p[4:]
                if int(j) > int(i):
                    return ".".join([stage, "fuse_layers", i, j, nc[rest[0]], *rest[1:]])
                return ".".join([stage, "fuse_layers", i, j, rest[0], nc[rest[1]], *rest[2:]])
        if p[0] == "neck":
            return ".".join(["backbone.final_conv", *p[1:]])
        if p[0] in ("head_hm", "head_reg"):
            return ".".join(["pose_head.tasks.0", p[0][5:], *p[1:]])
    except (KeyError, IndexError, ValueError):
        pass
    raise FusionError(f"HRRadarPose: no official name for parameter {key!r}")


@functools.cache
def _official_table() -> tuple[tuple[str, str], ...]:
    return tuple((k, official_key(k)) for k in HRRadarPose().state_dict())


def official_key_table() -> dict[str, str]:
    """``{our name: official name}`` for every state_dict entry (154)."""
    return dict(_official_table())


def _state_dict_of(path_or_state: Any) -> Mapping[str, torch.Tensor]:
    from ..official_weights import read_checkpoint

    ck = read_checkpoint(path_or_state)
    sd = ck.get("state_dict", ck)
    if not isinstance(sd, Mapping):
        raise FusionError("checkpoint's 'state_dict' is not a mapping of tensors")
    # checkpoints saved from DataParallel/DDP prefix every name with 'module.'
    return {k.removeprefix("module."): v for k, v in sd.items()}


def convert_official_state_dict(path_or_state: Any) -> dict[str, torch.Tensor]:
    """An RT-Pose det3d checkpoint (path or ``{'state_dict': ...}``) → our state_dict, strictly.

    Raises :class:`FusionError` listing missing and unexpected official names.
    """
    sd = _state_dict_of(path_or_state)
    table = official_key_table()
    inverse = {v: k for k, v in table.items()}
    missing = sorted(set(inverse) - set(sd))
    unexpected = sorted(set(sd) - set(inverse))
    if missing or unexpected:
        raise FusionError(
            "not an RT-Pose HRRadarPose (hr3d_one_hm_doppler) checkpoint: "
            f"{len(missing)} missing keys {missing[:8]}, {len(unexpected)} unexpected keys {unexpected[:8]}"
        )
    ours = HRRadarPose().state_dict()
    out = {}
    for name, off in table.items():
        t = sd[off]
        if tuple(t.shape) != tuple(ours[name].shape):
            raise FusionError(
                f"{off}: shape {tuple(t.shape)} where HRRadarPose expects {tuple(ours[name].shape)}"
            )
        out[name] = t
    return out


def load_official_checkpoint(path_or_state: Any, model: HRRadarPose | None = None) -> HRRadarPose:
    """Load an official RT-Pose checkpoint into ``model`` (a new one by default) and return it."""
    model = model or HRRadarPose()
    model.load_state_dict(convert_official_state_dict(path_or_state))
    return model


# ---------------------------------------------------------------- targets, loss, decoding


def _origin_and_voxel(
    origin_xyz: tuple[float, float, float], voxel_xyz: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(origin_xyz, np.float64), np.asarray(voxel_xyz, np.float64)


def gaussian_kernel(radius: int = GAUSS_RADIUS) -> np.ndarray:
    """RT-Pose's 3D target blob ``(2r+1,)*3``: σ = (2r+1)/6 and exponent ``-d²/(2σ²)^1.5`` (sic)."""
    d = 2 * radius + 1
    sigma = d / 6
    z, y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1, -radius : radius + 1]
    return np.exp(-(x * x + y * y + z * z) / (2 * sigma * sigma) ** 1.5)


def make_targets(
    joints: np.ndarray,
    grid_zyx: tuple[int, int, int] = GRID_ZYX,
    origin_xyz: tuple[float, float, float] = ROI_ORIGIN_XYZ,
    voxel_xyz: tuple[float, float, float] = VOXEL_XYZ,
) -> dict[str, np.ndarray]:
    """Training targets of one person ``joints (15, 3)`` (m, radar frame) on the voxel grid.

    Returns ``heatmap (1, Z, Y, X)`` float32 (Gaussian blob at the pelvis voxel, peak 1),
    ``reg (45,)`` joint offsets in voxels from that voxel (x, y, z per joint), ``index (3,)`` the
    voxel (z, y, x) and ``mask ()`` 1 when the pelvis lies in the grid, else 0 (empty heatmap).
    """
    j = np.asarray(joints, np.float64)
    if j.shape != (N_JOINTS, 3):
        raise FusionError(f"expected joints ({N_JOINTS}, 3), got {j.shape}")
    origin, voxel = _origin_and_voxel(origin_xyz, voxel_xyz)
    ct = (j - origin) / voxel  # (15, 3) voxels, x y z
    ci = ct[0].astype(np.int64)  # truncation toward zero, as RT-Pose
    Z, Y, X = grid_zyx
    hm = np.zeros((1, Z, Y, X), np.float32)
    out = {
        "heatmap": hm,
        "reg": np.zeros(3 * N_JOINTS, np.float32),
        "index": np.zeros(3, np.int64),
        "mask": np.float32(0.0),
    }
    if not (0 <= ci[0] < X and 0 <= ci[1] < Y and 0 <= ci[2] < Z) or not np.isfinite(ct).all():
        return out
    r = GAUSS_RADIUS
    g = gaussian_kernel(r)
    x, y, z = ci
    lo = np.array([max(z - r, 0), max(y - r, 0), max(x - r, 0)])
    hi = np.array([min(z + r + 1, Z), min(y + r + 1, Y), min(x + r + 1, X)])
    c = np.array([z, y, x])
    gs = tuple(slice(a - cc + r, b - cc + r) for a, b, cc in zip(lo, hi, c, strict=True))
    hs = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    hm[0][hs] = np.maximum(hm[0][hs], g[gs])
    out["reg"] = (ct - ci[None].astype(np.float64)).astype(np.float32).reshape(-1)
    out["index"] = np.array([z, y, x], np.int64)
    out["mask"] = np.float32(1.0)
    return out


def loss_fn(
    out: tuple[torch.Tensor, torch.Tensor], batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """RT-Pose's loss: focal loss on the heatmap + 0.5 · L1 of the 45 offsets at the GT pelvis voxel.

    ``batch``: ``heatmap (B, 1, Z, Y, X)``, ``reg (B, 45)``, ``index (B, 3)`` (z, y, x), ``mask (B,)``.
    The L1 is, per offset channel, summed over people and divided by their count, then summed over
    the 45 channels (det3d's ``RegLoss`` with unit code weights).
    """
    hm, reg = out
    l_hm = focal_loss(hm, batch["heatmap"])
    idx = batch["index"].long()
    b = torch.arange(reg.shape[0], device=reg.device)
    pred = reg[b, :, idx[:, 0], idx[:, 1], idx[:, 2]]  # (B, 45)
    m = batch["mask"].float().unsqueeze(1)
    l_reg = ((pred - batch["reg"]).abs() * m).sum() / (m.sum() + 1e-4)
    return l_hm + REG_WEIGHT * l_reg, {
        "heatmap": float(l_hm.detach()),
        "offset": float(l_reg.detach()),
    }


@torch.no_grad()
def decode(
    hm: torch.Tensor,
    reg: torch.Tensor,
    origin_xyz: tuple[float, float, float] = ROI_ORIGIN_XYZ,
    voxel_xyz: tuple[float, float, float] = VOXEL_XYZ,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One person per sample: ``hm (B, 1, Z, Y, X)`` logits, ``reg (B, 45, Z, Y, X)`` →
    ``joints (B, 15, 3)`` metres (radar frame) and ``score (B,)``.

    Joint k = (argmax voxel (x, y, z) + offsets[3k:3k+3]) · voxel size + region origin.
    """
    B, _, Z, Y, X = hm.shape
    p = torch.sigmoid(hm.flatten(1))
    score, flat = p.max(1)
    z, rem = flat // (Y * X), flat % (Y * X)
    y, x = rem // X, rem % X
    off = reg[torch.arange(B, device=reg.device), :, z, y, x].view(B, N_JOINTS, 3)
    cell = torch.stack([x, y, z], -1).to(off.dtype)[:, None]  # (B, 1, 3)
    voxel = torch.tensor(voxel_xyz, dtype=off.dtype, device=off.device)
    origin = torch.tensor(origin_xyz, dtype=off.dtype, device=off.device)
    return (cell + off) * voxel + origin, score
