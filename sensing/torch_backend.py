"""The GPU path: HuPR heatmaps in torch, on a CUDA device when there is one (CPU otherwise).

Same pruned algorithm as :mod:`sensing.hupr`, with the constant matrices on the device. Arrays
cross from other CUDA libraries without a copy through ``__cuda_array_interface__``
(``torch.as_tensor`` accepts such objects, e.g. numba.cuda device arrays or CuPy arrays). torch is
imported only here, so the CPU path never needs it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from drivers import RadarConfig

from .errors import SensingError
from .hupr import RANGE_BINS, HuprHeatmapper


class TorchHuprHeatmapper:
    """Batched HuPR heatmaps: ``(B, 64, 3, 4, 256)`` complex → ``(B, 16, 64, 64, 8)`` complex64, on ``device``."""

    def __init__(self, radar: RadarConfig, device: str | torch.device | None = None) -> None:
        ref = HuprHeatmapper(radar)  # validates the array and builds the constant matrices once
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(a), device=self.device)

        self.row0, self.row1 = t(ref.row0), t(ref.row1)
        self.W0, self.Wmid = t(ref.W0), t(ref.Wmid)
        self.dft = t(ref.doppler_dft)
        self.w_e = t(ref.w_e)
        self.el_zero = [bool(b) for b in ref.el_is_zero]
        self.range_bins = t(RANGE_BINS)
        self.shape = radar.frame_shape

    def __call__(self, cubes: Any) -> torch.Tensor:
        x = torch.as_tensor(cubes, device=self.device)
        if x.ndim == 4:
            x = x.unsqueeze(0)
        if tuple(x.shape[1:]) != self.shape:
            raise SensingError(
                f"expected frames (B, {', '.join(map(str, self.shape))}), got {tuple(x.shape)}"
            )
        if not torch.isfinite(torch.view_as_real(x.to(torch.complex64))).all():
            raise SensingError("frames contain NaN or inf")
        B = x.shape[0]
        ch = x.to(torch.complex64).reshape(B, 64, -1, 256)
        ch = ch - ch.mean(dim=1, keepdim=True)
        rng = torch.fft.fft(ch, dim=-1).index_select(-1, self.range_bins)  # (B, 64 loops, 12, 64)
        dop = torch.einsum("lk,blcr->bkcr", self.dft, rng)  # (B, 16, 12, 64)
        r0 = dop.index_select(2, self.row0).transpose(2, 3)  # (B, 16, 64, 8)
        r1 = dop.index_select(2, self.row1).transpose(2, 3)
        p0 = r0 @ self.W0
        pmid = r0[..., 2:6] @ self.Wmid
        p1 = r1 @ self.Wmid
        planes = [(p0 + p1) if z else (pmid + self.w_e[e] * p1) for e, z in enumerate(self.el_zero)]
        return torch.stack(planes, dim=-1)
