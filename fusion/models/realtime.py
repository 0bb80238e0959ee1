"""RadarPoseLite: a one-branch, large-kernel network for live 3D pose on a CPU.

Input: :func:`fusion.features.model_input` of the HuPR rig's two radars, ``(B, 74 + 24·K, 64, 64)``
over the horizontal radar's (range, azimuth) grid, K earlier frames optional. Output on a ``32 × 32`` bird's-eye grid: a root (pelvis)
heatmap and, per cell, 48 regression channels — sub-cell range/azimuth offset (2), root height z (1)
and the 15 joints' offsets from the root in metres (45). Decoding finds heatmap peaks, so several
people come out of one pass (CenterNet's idea on the radar's own grid).

Following Lite Pose: a single high-resolution branch with 7×7 depthwise convolutions, no
multi-branch fusion, so latency stays low on CPUs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..features import N_CONTEXT, N_INPUT

N_REG = 2 + 1 + 45


class _Block(nn.Module):
    """Inverted residual with a large depthwise kernel."""

    def __init__(self, ch: int, kernel: int, expand: int = 2) -> None:
        super().__init__()
        self.dw = nn.Conv2d(ch, ch, kernel, padding=kernel // 2, groups=ch, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.pw1 = nn.Conv2d(ch, ch * expand, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch * expand)
        self.pw2 = nn.Conv2d(ch * expand, ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn1(self.dw(x))
        y = F.relu(self.bn2(self.pw1(y)))
        return x + self.bn3(self.pw2(y))


class RadarPoseLite(nn.Module):
    """``forward(x (B, C, 64, 64)) -> (heatmap logits (B, 1, 32, 32), regression (B, 48, 32, 32))``."""

    def __init__(
        self,
        in_channels: int | None = None,
        width: int = 48,
        blocks: int = 4,
        deep_blocks: int = 3,
        kernel: int = 7,
        context: int = 0,
        context_stride: int = 2,
        threshold: float = 0.3,
    ) -> None:
        """``context`` earlier frames, ``context_stride`` frames apart, join the input (see
        :func:`fusion.features.model_input`); callers read both attributes to assemble it.
        ``threshold`` is the person score this model's decoding uses unless told otherwise (chosen
        on validation data for a trained model, so it travels with the checkpoint)."""
        super().__init__()
        self.context = context
        self.context_stride = context_stride
        self.threshold = threshold
        if in_channels is None:
            in_channels = N_INPUT + context * N_CONTEXT
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        self.stage1 = nn.Sequential(*[_Block(width, kernel) for _ in range(blocks)])
        self.down = nn.Sequential(
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(inplace=True),
        )
        self.stage2 = nn.Sequential(*[_Block(2 * width, kernel) for _ in range(deep_blocks)])
        self.up = nn.Conv2d(2 * width, width, 1)
        self.head_hm = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(width, 1, 1)
        )
        self.head_reg = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(width, N_REG, 1)
        )
        nn.init.constant_(self.head_hm[-1].bias, -2.19)  # prior 0.1 on the heatmap, as CenterNet

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The fused feature map ``(B, width, 32, 32)`` both heads read."""
        a = self.stage1(self.stem(x))
        b = self.stage2(self.down(a))
        return a + F.interpolate(
            self.up(b), size=a.shape[-2:], mode="bilinear", align_corners=False
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)
        return self.head_hm(f), self.head_reg(f)


def focal_loss(
    logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0
) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss over Gaussian targets, normalised by the number of peaks."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    pos_loss = -torch.log(p) * (1 - p) ** alpha * pos
    neg_loss = -torch.log(1 - p) * p**alpha * (1 - target) ** beta * (1 - pos)
    return (pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1)


def loss_fn(
    out: tuple[torch.Tensor, torch.Tensor], batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    hm, reg = out
    l_hm = focal_loss(hm, batch["heatmap"])
    m = batch["mask"].unsqueeze(1)  # (B, 1, H, W)
    n = m.sum().clamp(min=1)
    err = (reg - batch["reg"]).abs() * m
    l_off = err[:, :2].sum() / n
    l_z = err[:, 2].sum() / n
    l_pose = err[:, 3:].sum() / n / 15
    total = l_hm + l_off + 2.0 * l_z + 5.0 * l_pose
    return total, {
        "heatmap": float(l_hm.detach()),
        "offset": float(l_off.detach()),
        "z": float(l_z.detach()),
        "pose": float(l_pose.detach()),
    }


@torch.no_grad()
def decode(
    hm: torch.Tensor, reg: torch.Tensor, threshold: float = 0.3, max_people: int = 3
) -> list[list[dict[str, np.ndarray | float]]]:
    """Peaks of the heatmap → per batch item a list of people: grid cell, sub-cell offset, z, joint offsets, score."""
    p = torch.sigmoid(hm)
    keep = F.max_pool2d(p, 3, stride=1, padding=1) == p
    p = p * keep
    out = []
    B, _, H, W = p.shape
    for b in range(B):
        flat = p[b, 0].flatten()
        scores, idx = flat.topk(max_people)
        people = []
        for s, i in zip(scores.tolist(), idx.tolist(), strict=True):
            if s < threshold:
                continue
            cy, cx = divmod(i, W)
            r = reg[b, :, cy, cx].cpu().numpy()
            people.append(
                {
                    "cell": np.array([cy, cx], float),
                    "offset": r[:2],
                    "z": float(r[2]),
                    "joints_rel": r[3:].reshape(15, 3),
                    "score": s,
                }
            )
        out.append(people)
    return out
