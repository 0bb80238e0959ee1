"""RadarPoseLiteTrack: RadarPoseLite per frame, then a causal temporal network along each person's track.

One radar frame (plus RadarPoseLite's 0.6 s of context) leaves a person's heading and the phase of
a movement ambiguous: a squat going down looks like one coming up, a walker's legs mirror each
other. Over two or three seconds both are plain (where the person went, the rhythm of the Doppler
and of the body's height). As VideoPose3D lifts 2D tracks with dilated temporal convolutions, the
refiner reads, per tracked person, the frame model's features at the person's cell over the last
31 frames and corrects the frame model's joint offsets. Its convolutions are causal so it runs live
with no look-ahead; the frame model stays frozen, so detection and root are unchanged.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import FusionError
from .realtime import N_REG, RadarPoseLite

N_JOINT_REG = 45  # the 15 joints' offsets from the root, the last 45 of RadarPoseLite's regression


def track_inputs(features: torch.Tensor, reg: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """Per-person refiner input: the frame model's feature map ``features (B, W, H, W')`` over the
    3 × 3 cells around ``cells (B, 2)`` (integer row, column; borders repeated), channel-major, then
    the regression ``reg (B, 48, H, W')`` at the cell → ``(B, 9·W + 48)``."""
    fp = F.pad(features, (1, 1, 1, 1), mode="replicate")
    b = torch.arange(len(cells), device=features.device)
    r, c = cells[:, 0].long(), cells[:, 1].long()
    dy, dx = torch.meshgrid(torch.arange(3), torch.arange(3), indexing="ij")
    dy, dx = dy.reshape(-1).to(features.device), dx.reshape(-1).to(features.device)
    patch = fp[b[:, None], :, (r[:, None] + dy), (c[:, None] + dx)]  # (B, 9, W)
    return torch.cat([patch.transpose(1, 2).reshape(len(cells), -1), reg[b, :, r, c]], dim=1)


class TrackRefiner(nn.Module):
    """``forward(x (B, T, C)) -> (B, T, 45)`` joint offsets from the root (m), frames oldest first.

    ``x`` is :func:`track_inputs` per frame, whose last 45 values are the frame model's joint
    offsets: the refiner adds a correction to them (zero at initialisation). Dilated causal
    convolutions with kernel 3 see ``receptive_field`` frames; earlier frames of a short track are
    the first frame repeated, as in training.
    """

    def __init__(
        self,
        in_channels: int,
        width: int = 128,
        dilations: tuple[int, ...] = (1, 2, 4, 8),
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.dilations = tuple(int(d) for d in dilations)
        # input standardisation, set from the training data (stable state_dict keys)
        self.register_buffer("mean", torch.zeros(in_channels))
        self.register_buffer("std", torch.ones(in_channels))
        self.inp = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_channels, width), nn.GELU())
        self.convs = nn.ModuleList(nn.Conv1d(width, width, 3, dilation=d) for d in self.dilations)
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in self.dilations)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(width, N_JOINT_REG)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def receptive_field(self) -> int:
        return 1 + 2 * sum(self.dilations)

    def set_normalisation(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Standardise inputs by ``mean (C,)`` and ``std (C,)`` of the training data."""
        self.mean.copy_(mean)
        self.std.copy_(std.clamp(min=1e-3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.mean.shape[0]:
            raise FusionError(
                f"TrackRefiner: expected (batch, frames, {self.mean.shape[0]}) inputs, got "
                f"{tuple(x.shape)}"
            )
        h = self.inp((x - self.mean) / self.std)  # (B, T, width)
        for conv, norm, d in zip(self.convs, self.norms, self.dilations, strict=True):
            past = F.pad(h.transpose(1, 2), (2 * d, 0), mode="replicate")  # causal: no look-ahead
            h = h + self.drop(F.gelu(norm(conv(past).transpose(1, 2))))
        return x[..., -N_JOINT_REG:] + self.out(h)


def _resolve(path: str) -> Path:
    """A checkpoint path as given, else relative to the repository (the shipped weights)."""
    p = Path(path)
    if not p.is_absolute() and not p.exists():
        alt = Path(__file__).resolve().parents[2] / p
        if alt.exists():
            return alt
    return p


class RadarPoseLiteTrack(nn.Module):
    """A trained RadarPoseLite (``frame``, frozen) and a :class:`TrackRefiner` (``track``).

    ``forward`` is the refiner (what training optimises); :meth:`frame_outputs` runs the frame
    model. Callers that only know RadarPoseLite read ``context``, ``context_stride`` and
    ``threshold`` from here as from the frame model.
    """

    def __init__(
        self,
        frame_checkpoint: str,
        width: int = 128,
        dilations: tuple[int, ...] = (1, 2, 4, 8),
        dropout: float = 0.2,
        window: int = 32,
    ) -> None:
        """``frame_checkpoint``: the RadarPoseLite checkpoint whose architecture (and, until a
        state_dict of this model is loaded, weights) the frame model takes. ``window``: frames per
        training sample."""
        super().__init__()
        from ..train import load_checkpoint

        ck = load_checkpoint(_resolve(frame_checkpoint))
        if ck.get("model_name") != "radarpose_lite":
            raise FusionError(
                f"{frame_checkpoint}: the frame model must be a radarpose_lite checkpoint, got "
                f"{ck.get('model_name')!r}"
            )
        self.frame = RadarPoseLite(**ck["model_args"])
        self.frame.load_state_dict(ck["model_state_dict"])
        self.frame.requires_grad_(False)
        self.frame.eval()
        self.window = int(window)
        width_frame = self.frame.up.out_channels
        self.track = TrackRefiner(9 * width_frame + N_REG, width, tuple(dilations), dropout)

    @property
    def context(self) -> int:
        return self.frame.context

    @property
    def context_stride(self) -> int:
        return self.frame.context_stride

    @property
    def threshold(self) -> float:
        return self.frame.threshold

    def train(self, mode: bool = True) -> RadarPoseLiteTrack:
        super().train(mode)
        self.frame.eval()  # frozen: its batch-norm statistics stay those it was trained with
        return self

    def frame_outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x (B, C, 64, 64)`` → heatmap logits ``(B, 1, 32, 32)``, regression ``(B, 48, 32, 32)``
        and the frame model's feature map ``(B, W, 32, 32)``."""
        f = self.frame.features(x)
        return self.frame.head_hm(f), self.frame.head_reg(f), f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, T, 9·W + 48)`` track inputs → ``(B, T, 45)`` refined joint offsets (m)."""
        return self.track(x)


def track_loss(
    out: torch.Tensor, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean per-joint distance (m) over the second half of each window (frames that have history),
    between ``out (B, T, 45)`` and ``batch["target"] (B, T, 45)``."""
    half = out.shape[1] // 2
    d = (out[:, half:] - batch["target"][:, half:]).reshape(*out[:, half:].shape[:2], 15, 3)
    loss = d.norm(dim=-1).mean()
    return loss, {"mpjpe": float(loss.detach())}
