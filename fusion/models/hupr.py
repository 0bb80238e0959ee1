"""HuPR's network (Lee et al., WACV 2023): two radars' heatmaps → 14 joint heatmaps, refined by a GCN.

Written afresh from the paper and the public code's structure; every attribute carries the name
HuPR's ``HuPRNet`` gives it, so an official ``model_best.pth`` loads without renaming
(35,542,668 parameters, 255 state_dict entries).

Inputs are HuPR's loader output per radar, ``(B, 8 frames, 8 Doppler, 2 re/im, 64 range,
64 azimuth, 8 elevation)`` for the horizontal and the vertical radar. Outputs: ``heatmap
(B, 14, 1, 64, 64)`` (sigmoid of the decoder) and ``gcn_heatmap (B, 1, 14, 64, 64)`` (after PRGCN),
both over HuPR's 64×64 grid of its 256×256 camera image (pixel = 4 × cell). With ``head_3d``, a
third output ``depth (B, 14)`` gives each joint's range (m) from the horizontal radar, predicted
as an expectation over the range axis of its range–azimuth features; :func:`lift_to_3d` combines
it with the 2D heatmaps into radar-frame skeletons.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch_geometric.nn import MessagePassing

from ..errors import FusionError

N_KEYPOINTS = 14
N_PARAMETERS = 35_542_668
N_STATE_KEYS = 255

# HuPR's joint graph (models/layers.py), rows/columns in its 14-joint order. Unnormalised, with
# self-loops and asymmetric: each shoulder row includes the neck, the neck row holds only the
# neck and head; the hips are not linked to the neck.
HUPR_ADJACENCY = np.array(
    [
        # RHip RKnee RAnk LHip LKnee LAnk Neck Head LSho LElb LWri RSho RElb RWri
        [1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # right hip
        [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # right knee
        [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # right ankle
        [1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # left hip
        [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0],  # left knee
        [0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0],  # left ankle
        [0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0],  # neck
        [0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0],  # head
        [0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0],  # left shoulder
        [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0],  # left elbow
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0],  # left wrist
        [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0],  # right shoulder
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1],  # right elbow
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1],  # right wrist
    ],
    dtype=np.float32,
)


class ChirpNet(nn.Module):
    """Per-frame Doppler front end: a stride-2 (2,1,1) convolution, then max over what remains."""

    def __init__(self, in_channels: int, out_channels: int, num_frames: int) -> None:
        super().__init__()
        k = num_frames // 2
        self.temporalConvWx1x1 = nn.Conv3d(in_channels, out_channels, (2, 1, 1), (2, 1, 1))
        self.temporalMaxpool = nn.MaxPool3d((k, 1, 1), (k, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.temporalMaxpool(self.temporalConvWx1x1(x))


def _residual(conv: type[nn.Module], bn: type[nn.Module] | None, act: type[nn.Module]) -> type:
    """A two-convolution residual block class (HuPR's BasicBlock2D/3D) for one dimensionality."""

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            main: list[nn.Module] = [conv(cin, cout, 3, 1, 1, bias=False)]
            main += [bn(cout)] if bn else []
            main += [act(), conv(cout, cout, 3, 1, 1, bias=False)]
            main += [bn(cout)] if bn else []
            self.main = nn.Sequential(*main)
            skip: list[nn.Module] = [conv(cin, cout, 3, 1, 1, bias=False)]
            self.downsample = nn.Sequential(*(skip + ([bn(cout)] if bn else [])))
            self.relu = act()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.relu(self.main(x) + self.downsample(x))

    return Block


Block3D = _residual(nn.Conv3d, nn.BatchNorm3d, nn.ReLU)
Block2D = _residual(nn.Conv2d, None, nn.PReLU)  # HuPR's decoder: no BatchNorm, PReLU


class Encoder3D(nn.Module):
    """(B, F, T, 64, 64) → features at 64², 32², 16² (64/128/256 ch), time merged by a full-length conv."""

    def __init__(self, num_filters: int, num_group_frames: int) -> None:
        super().__init__()
        f, t = num_filters, num_group_frames

        def half() -> nn.Module:
            return nn.Upsample(scale_factor=0.5, mode="trilinear", align_corners=True)

        self.layer1 = nn.Sequential(nn.Conv3d(f, 2 * f, 3, 1, 1), Block3D(2 * f, 2 * f))
        self.layer2 = nn.Sequential(half(), Block3D(2 * f, 4 * f), Block3D(4 * f, 4 * f))
        self.layer3 = nn.Sequential(half(), Block3D(4 * f, 8 * f), Block3D(8 * f, 8 * f))
        self.l1temporalMerge = nn.Conv3d(2 * f, 2 * f, (t, 1, 1), bias=False)
        self.l2temporalMerge = nn.Conv3d(4 * f, 4 * f, (t // 2, 1, 1), bias=False)
        self.temporalMerge = nn.Conv3d(8 * f, 8 * f, (t // 4, 1, 1), bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        l1 = self.layer1(x)
        l2 = self.layer2(l1)
        l3 = self.layer3(l2)
        return (
            self.l1temporalMerge(l1).squeeze(2),
            self.l2temporalMerge(l2).squeeze(2),
            self.temporalMerge(l3).squeeze(2),
        )


def spatial_attention(k: torch.Tensor, q: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """HuPR's attention: ``out[:, :, p] = Σ_s maps[:, :, s] · softmax_s(k[:, :, s] · q[:, :, p])``.

    ``k, q, maps (B, C, H, W)``; the softmax runs over the source position s (dim 1 of the
    ``(B, HW, HW)`` affinity). Returns ``(B, C, H, W)``.
    """
    b, c, h, w = maps.shape
    affinity = torch.einsum("bcs,bcp->bsp", k.reshape(b, c, h * w), q.reshape(b, c, h * w))
    out = torch.bmm(maps.reshape(b, c, h * w), F.softmax(affinity, dim=1))
    return out.view(b, c, h, w)


class GCNLayer(MessagePassing):
    """HuPR's graph layer ``W · (X A) + b`` as message passing.

    Node j sums the features of nodes i with ``A[i, j] ≠ 0`` (weighted by ``A[i, j]``), then a shared
    linear map ``weight (F_out, F_in)`` and a per-node bias ``bias (F_out, N)`` apply. Features are
    node-major ``(B, N, F)``.
    """

    def __init__(self, in_features: int, out_features: int, num_nodes: int) -> None:
        super().__init__(aggr="add", node_dim=-2)
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features, num_nodes))
        bound = in_features**-0.5  # HuPR's uniform(±1/√F_in) for both
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor
    ) -> torch.Tensor:
        agg = self.propagate(edge_index, x=x, edge_weight=edge_weight)  # (B, N, F_in)
        return agg @ self.weight.T + self.bias.T

    def message(self, x_j: torch.Tensor, edge_weight: torch.Tensor) -> torch.Tensor:
        return x_j * edge_weight.view(-1, 1)


class PRGCN(nn.Module):
    """Refines 14 joint heatmaps as a graph: nodes are the joints, features their 32×32 maps."""

    def __init__(self, heatmap_size: int, num_keypoints: int, adjacency: np.ndarray) -> None:
        super().__init__()
        self.side = heatmap_size // 2
        n = self.side * self.side
        self.L1 = GCNLayer(n, n, num_keypoints)
        self.L2 = GCNLayer(n, n, num_keypoints)
        self.L3 = GCNLayer(n, n, num_keypoints)
        a = np.asarray(adjacency, np.float32)
        src, dst = np.nonzero(a)  # A[i, j] ≠ 0: node i feeds node j
        # not in the state_dict (HuPR keeps A as a plain attribute), but moves with .to(device)
        edges = torch.as_tensor(np.stack([src, dst]), dtype=torch.long)
        self.register_buffer("edge_index", edges, persistent=False)
        self.register_buffer("edge_weight", torch.as_tensor(a[src, dst]), persistent=False)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        """``logits (B, J, S, S)`` → probabilities ``(B, 1, J, S, S)``."""
        b, j = logits.shape[:2]
        x = F.interpolate(logits, scale_factor=0.5, mode="bilinear", align_corners=True)
        x = x.reshape(b, j, -1)
        e, w = self.edge_index, self.edge_weight
        x = F.relu(self.L1(x, e, w))
        x = F.relu(self.L2(x, e, w))
        x = self.L3(x, e, w).reshape(b, j, self.side, self.side)
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True)
        return torch.sigmoid(x).unsqueeze(1)


class CrossSelfAttentionDecoder(nn.Module):
    """HuPR's multi-scale cross/self attention decoder with PRGCN (``radarDecoder``)."""

    def __init__(self, num_filters: int, heatmap_size: int, num_keypoints: int) -> None:
        super().__init__()
        f = num_filters

        def up() -> nn.Module:
            return nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=True)

        self.decoderLayer3 = nn.Sequential(Block2D(32 * f, 8 * f), Block2D(8 * f, 4 * f), up())
        self.decoderLayer2 = nn.Sequential(Block2D(20 * f, 4 * f), Block2D(4 * f, 2 * f), up())
        self.decoderLayer1 = nn.Sequential(
            Block2D(10 * f, 2 * f), Block2D(2 * f, f), nn.Conv2d(f, num_keypoints, 1, bias=False)
        )
        self.gcn = PRGCN(heatmap_size, num_keypoints, HUPR_ADJACENCY)
        widths = (8 * f, 4 * f, 2 * f)  # deepest scale first
        for name in (
            "phi_cross_hori",
            "theta_cross_hori",
            "phi_cross_vert",
            "theta_cross_vert",
            "phi_self_hori",
            "theta_self_hori",
            "phi_self_vert",
            "theta_self_vert",
        ):
            setattr(self, name, nn.ModuleList(nn.Conv2d(c, c, 1, bias=False) for c in widths))

    def _attend(self, s: int, ra: torch.Tensor, re: torch.Tensor) -> list[torch.Tensor]:
        """Scale ``s``: horizontal attends with vertical queries (+ residual), each view to itself."""
        return [
            spatial_attention(self.phi_cross_hori[s](ra), self.theta_cross_vert[s](re), ra) + ra,
            spatial_attention(self.phi_self_hori[s](ra), self.theta_self_hori[s](ra), ra),
            spatial_attention(self.phi_cross_vert[s](re), self.theta_cross_hori[s](ra), re) + re,
            spatial_attention(self.phi_self_vert[s](re), self.theta_self_vert[s](re), re),
        ]

    def forward(
        self,
        ra: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
        re: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``ra``/``re``: each view's (64², 32², 16²) features → (logits (B, J, 64, 64), GCN heatmap)."""
        maps = self.decoderLayer3(torch.cat(self._attend(0, ra[2], re[2]), 1))
        maps = self.decoderLayer2(torch.cat([maps, *self._attend(1, ra[1], re[1])], 1))
        maps = self.decoderLayer1(torch.cat([maps, *self._attend(2, ra[0], re[0])], 1))
        return maps, self.gcn(maps)


def _default_range_bins_m() -> np.ndarray:
    """Range (m) of each of HuPR's 64 range cells: cell r is range-FFT bin 94 − r of its IWR1843 profile."""
    from drivers.radar import load_radar_config
    from drivers.rig import find_config
    from sensing.hupr import RANGE_BINS

    res = load_radar_config(find_config("hupr_iwr1843", "radars")).range_resolution
    return RANGE_BINS.astype(np.float64) * res


class HuPRNet(nn.Module):
    """``forward(hori, vert) -> (heatmap (B,14,1,64,64), gcn_heatmap (B,1,14,64,64)[, depth (B,14)])``.

    ``hori``, ``vert``: ``(B, 8 frames, 8 Doppler, 2, 64 range, 64 azimuth, 8 elevation)`` float.
    ``head_3d`` adds ``depthHead`` (not in official checkpoints) predicting each joint's range.
    """

    def __init__(
        self,
        num_filters: int = 32,
        num_frames: int = 8,
        num_group_frames: int = 8,
        range_size: int = 64,
        azimuth_size: int = 64,
        heatmap_size: int = 64,
        num_keypoints: int = N_KEYPOINTS,
        head_3d: bool = False,
        range_bins_m: list[float] | None = None,
    ) -> None:
        super().__init__()
        self.num_frames, self.num_group_frames = num_frames, num_group_frames
        self.range_size, self.azimuth_size = range_size, azimuth_size
        self.RAchirpNet = ChirpNet(2, num_filters, num_frames)
        self.REchirpNet = ChirpNet(2, num_filters, num_frames)
        self.RAradarEncoder = Encoder3D(num_filters, num_group_frames)
        self.REradarEncoder = Encoder3D(num_filters, num_group_frames)
        self.radarDecoder = CrossSelfAttentionDecoder(num_filters, heatmap_size, num_keypoints)
        self.head_3d = head_3d
        if head_3d:
            bins = np.asarray(
                _default_range_bins_m() if range_bins_m is None else range_bins_m, np.float32
            )
            if bins.shape != (range_size,):
                raise FusionError(f"range_bins_m needs {range_size} values, got {bins.shape}")
            self.depthHead = nn.Conv2d(2 * num_filters, num_keypoints, 1)
            self.register_buffer("range_bins_m", torch.from_numpy(bins), persistent=False)

    def _chirp(self, net: ChirpNet, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        x = x.mean(dim=6)  # average the elevation channels
        # HuPR reinterprets (Doppler, re/im) memory as (2, Doppler) with .view, not a permute;
        # official weights learnt that channel layout, so it is kept exactly.
        x = x.view(
            b * self.num_group_frames, -1, self.num_frames, self.range_size, self.azimuth_size
        )
        x = net(x).squeeze(2)
        x = x.view(b, self.num_group_frames, -1, self.range_size, self.azimuth_size)
        return x.permute(0, 2, 1, 3, 4)

    def forward(
        self, hori: torch.Tensor, vert: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        """Either both radars, or one tensor ``(B, 2, ...)`` stacking them (horizontal first), the
        single input :class:`fusion.train.Trainer` passes."""
        if vert is None:
            if hori.ndim != 8 or hori.shape[1] != 2:
                raise FusionError(
                    f"HuPRNet: one input must stack both radars as (B, 2, 8, 8, 2, 64, 64, 8), got {tuple(hori.shape)}"
                )
            hori, vert = hori[:, 0], hori[:, 1]
        want = (self.num_group_frames, self.num_frames, 2, self.range_size, self.azimuth_size)
        for name, t in (("hori", hori), ("vert", vert)):
            if t.ndim != 7 or tuple(t.shape[1:6]) != want:
                raise FusionError(
                    f"HuPRNet {name}: expected (B, {', '.join(map(str, want))}, elevation), got {tuple(t.shape)}"
                )
        ra = self.RAradarEncoder(self._chirp(self.RAchirpNet, hori))
        re = self.REradarEncoder(self._chirp(self.REchirpNet, vert))
        logits, gcn_heatmap = self.radarDecoder(ra, re)
        heatmap = torch.sigmoid(logits).unsqueeze(2)
        if not self.head_3d:
            return heatmap, gcn_heatmap
        return heatmap, gcn_heatmap, self.depth(ra[0])

    def depth(self, ra_features: torch.Tensor) -> torch.Tensor:
        """Horizontal radar's full-resolution features ``(B, 2F, range, azimuth)`` → ranges ``(B, J)`` (m).

        A soft-argmax over the range–azimuth plane per joint, marginalised onto range: the
        expected range under the joint's softmax, differentiable for training.
        """
        d = self.depthHead(ra_features)  # (B, J, range, azimuth)
        p_range = F.softmax(d.flatten(2), -1).view_as(d).sum(-1)  # (B, J, range)
        return p_range @ self.range_bins_m


def load_hupr_checkpoint(path_or_state: Any, model: HuPRNet | None = None) -> HuPRNet:
    """Load HuPR's ``model_best.pth`` (``{'epoch', 'model_state_dict', ...}``) or a bare state_dict.

    Every official name must be present and nothing else (strict); only ``depthHead`` of a 3D
    model stays as initialised. Raises :class:`FusionError` listing missing/unexpected keys.
    """
    model = model or HuPRNet()
    from ..official_weights import read_checkpoint

    ck = read_checkpoint(path_or_state)
    sd = ck.get("model_state_dict", ck)
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    want = {k for k in model.state_dict() if not k.startswith("depthHead.")}
    missing, unexpected = sorted(want - set(sd)), sorted(set(sd) - want)
    if missing or unexpected:
        raise FusionError(
            "not a HuPR (mscsa_prgcn) checkpoint: "
            f"{len(missing)} missing keys {missing[:8]}, {len(unexpected)} unexpected keys {unexpected[:8]}"
        )
    own = model.state_dict()
    for k in want:
        if tuple(sd[k].shape) != tuple(own[k].shape):
            raise FusionError(
                f"{k}: shape {tuple(sd[k].shape)} where HuPRNet expects {tuple(own[k].shape)}"
            )
    model.load_state_dict(sd, strict=not model.head_3d)
    return model


def heatmap_peaks(
    heatmap: torch.Tensor, upsampling: float = 4.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``heatmap (B, J, H, W)`` → argmax pixels ``(B, J, 2)`` (u, v) in the image (cell × ``upsampling``)
    and peak values ``(B, J)``."""
    b, j, h, w = heatmap.shape
    v, i = heatmap.flatten(2).max(-1)
    uv = torch.stack([i % w, i // w], -1).to(heatmap.dtype) * upsampling
    return uv, v


def lift_to_3d(
    uv: np.ndarray, depth: np.ndarray, K: np.ndarray, T_radar_camera: np.ndarray
) -> np.ndarray:
    """Pixels ``uv (..., J, 2)`` and ranges ``depth (..., J)`` (m) → radar-frame points ``(..., J, 3)``.

    Each pixel's ray through the camera ``K (3, 3)`` is scaled to the predicted range (camera and
    radar assumed co-located, as in HuPR's rig) and moved by ``T_radar_camera (4, 4)``.
    """
    uv, depth = np.asarray(uv, np.float64), np.asarray(depth, np.float64)
    rays = np.concatenate([uv, np.ones(uv.shape[:-1] + (1,))], -1) @ np.linalg.inv(K).T
    p = rays / np.linalg.norm(rays, axis=-1, keepdims=True) * depth[..., None]
    T = np.asarray(T_radar_camera, np.float64)
    return p @ T[:3, :3].T + T[:3, 3]


def make_targets(
    joints_px: np.ndarray, heatmap_size: int = 64, image_size: int = 256, sigma: float = 2.0
) -> np.ndarray:
    """HuPR's training heatmaps ``(14, S, S)`` float32 from ``joints_px (14, 2)`` image pixels (u, v).

    Joint j gets an unnormalised Gaussian (peak 1, σ = 2 cells) in a (6σ+1)² patch centred on cell
    ``int(u / stride + 0.5)``, cropped at the border; a joint whose patch misses the grid stays empty.
    """
    j = np.asarray(joints_px, np.float64)
    if j.ndim != 2 or j.shape[1] != 2:
        raise FusionError(f"expected joints (J, 2) in pixels, got {j.shape}")
    out = np.zeros((len(j), heatmap_size, heatmap_size), np.float32)
    r = int(3 * sigma)
    stride = image_size / heatmap_size
    d = np.arange(-r, r + 1)
    g = np.exp(-(d[None] ** 2 + d[:, None] ** 2) / (2 * sigma**2))  # (dy, dx)
    for k, (u, v) in enumerate(j):
        cx, cy = int(u / stride + 0.5), int(v / stride + 0.5)
        x0, x1 = max(cx - r, 0), min(cx + r + 1, heatmap_size)
        y0, y1 = max(cy - r, 0), min(cy + r + 1, heatmap_size)
        if x0 >= x1 or y0 >= y1:
            continue
        out[k, y0:y1, x0:x1] = g[y0 - cy + r : y1 - cy + r, x0 - cx + r : x1 - cx + r]
    return out


def loss_fn(
    out: tuple[torch.Tensor, ...], batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """HuPR's loss: mean BCE of the decoder heatmap plus mean BCE of the PRGCN heatmap, both against
    ``batch["heatmap"] (B, 14, 64, 64)``; with a 3D head and ``batch["depth"] (B, 14)`` (m), plus the
    L1 of the per-joint range."""
    heatmap, gcn_heatmap = out[0], out[1]
    target = batch["heatmap"]
    l1 = F.binary_cross_entropy(heatmap.reshape(target.shape), target)
    l2 = F.binary_cross_entropy(gcn_heatmap.reshape(target.shape), target)
    total = l1 + l2
    parts = {"heatmap": float(l1.detach()), "gcn_heatmap": float(l2.detach())}
    if len(out) > 2 and "depth" in batch:
        l3 = (out[2] - batch["depth"]).abs().mean()
        total = total + l3
        parts["depth"] = float(l3.detach())
    return total, parts
