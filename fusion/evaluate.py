"""Evaluate a checkpoint on a simulator feature cache: match people, then RT-Pose's metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from drivers import DriversError, load_rig
from drivers.progress import progress

from .data.cache import FeatureCacheDataset
from .errors import FusionError
from .metrics import DetectionScore, summarize
from .models import build_model
from .pose import PoseDecoder
from .train import load_checkpoint


def load_model(checkpoint: str | Path) -> tuple[torch.nn.Module, dict]:
    ck = load_checkpoint(checkpoint)
    model = build_model(ck["model_name"], **ck["model_args"])
    model.load_state_dict(ck["model_state_dict"])
    model.eval()
    # the simulated training rig's radar count, so a pipeline can refuse the wrong rig's model
    rig = ((ck.get("config") or {}).get("data") or {}).get("rig")
    if ck["model_name"] in ("radarpose_lite", "radarpose_lite_track") and rig:
        try:
            model.trained_radars = len(load_rig(rig).sensors_of("radar"))
        except DriversError:  # a user's rig file that is not here: nothing to check against
            pass
    return model, ck


@torch.no_grad()
def evaluate_cache(
    model: torch.nn.Module,
    cache: str | Path,
    rig: str = "hupr",
    threshold: float | None = None,
    batch_size: int = 32,
) -> dict[str, float | list[float]]:
    """Detections are matched to true people by root distance (≤ 0.5 m); misses and false alarms
    are counted. A model with a track refiner follows the detected people through each sequence
    in time order, as live."""
    r = load_rig(rig)
    radar = r.radars[r.reference]
    ds = FeatureCacheDataset(
        cache,
        radar,
        context=getattr(model, "context", 0),
        context_stride=getattr(model, "context_stride", 2),
    )
    score = DetectionScore()
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size)
    decode = PoseDecoder(model, radar, threshold)
    last_seq = None
    for batch in progress(loader, total=len(loader), desc="evaluating", unit="batch"):
        seq = batch["sequence"].numpy()
        new_stream = np.r_[seq[0] != last_seq, seq[1:] != seq[:-1]]
        last_seq = seq[-1]
        for people, joints, s in zip(
            decode(batch["input"], new_stream), batch["joints"].numpy(), seq, strict=True
        ):
            true = joints[np.isfinite(joints).all(axis=(1, 2))]
            score.add(np.array([p.joints for p in people]), true, int(s))
    return score.metrics()


@torch.no_grad()
def evaluate_benchmark(
    model: torch.nn.Module, model_name: str, dataset: torch.utils.data.Dataset, batch_size: int = 2
) -> dict[str, float | list[float]]:
    """The benchmarks' own metrics over a :mod:`fusion.data.datasets` split.

    ``hupr``: keypoints at the argmax of the refined (PRGCN) heatmaps, in 256×256 image pixels,
    scored by COCO OKS AP/AP50/AP75/AR with HuPR's sigmas, 20 detections per image, and person
    area w·h/2 of the label's box (HuPR's rule). ``hrradarpose``: one person per frame decoded
    from the centre heatmap and offsets; RT-Pose's millimetre metrics averaged per sequence, then
    across sequences."""
    from .metrics import oks_ap
    from .models.hrradarpose import decode
    from .models.hupr import heatmap_peaks

    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    preds: list = []
    gts: dict = {}
    p3, g3, seqs = [], [], []
    for batch in progress(loader, total=len(loader), desc="evaluating", unit="batch"):
        out = model(batch["input"])
        if model_name == "hupr":
            uv, peak = heatmap_peaks(out[1][:, 0])
            for k in range(len(uv)):
                img = int(batch["seq"][k]) * 100000 + int(batch["frame"][k])
                x1, y1, x2, y2 = batch["bbox"][k].tolist()
                gts.setdefault(img, []).append(
                    (batch["joints"][k].numpy(), (x2 - x1) * (y2 - y1) / 2)
                )
                preds.append((img, uv[k].numpy(), float(peak[k].mean())))
        elif model_name == "hrradarpose":
            joints, _ = decode(*out)
            p3.append(joints.numpy())
            g3.append(batch["joints"].numpy())
            seqs += [str(s) for s in batch["seq"]]
        else:
            raise FusionError(f"no benchmark evaluation for model {model_name!r}")
    if model_name == "hupr":
        return {**oks_ap(preds, gts), "n_images": float(len(gts))}
    _, seq_ids = np.unique(np.array(seqs), return_inverse=True)
    return summarize(np.concatenate(p3), np.concatenate(g3), seq_ids)
