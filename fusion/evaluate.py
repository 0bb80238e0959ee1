"""Evaluate a checkpoint on a simulator feature cache: match people, then RT-Pose's metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from drivers import DriversError, load_rig
from drivers.progress import progress

from .data.cache import FeatureCacheDataset
from .errors import FusionError
from .metrics import match_people, summarize
from .models import build_model
from .pose import TrackRefinement, people_from_output, person_threshold
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
    thr = person_threshold(model, threshold)
    ds = FeatureCacheDataset(
        cache,
        radar,
        context=getattr(model, "context", 0),
        context_stride=getattr(model, "context_stride", 2),
    )
    preds, gts, seqs = [], [], []
    n_true = n_found = n_false = 0
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size)
    refine = TrackRefinement(model) if hasattr(model, "track") else None
    last_seq = None
    for batch in progress(loader, total=len(loader), desc="evaluating", unit="batch"):
        if refine is not None:
            hm, reg, feat = model.frame_outputs(batch["input"])  # type: ignore[operator]
        else:
            hm, reg = model(batch["input"])
        for k, (people, joints, seq) in enumerate(
            zip(
                people_from_output(hm, reg, radar, thr),
                batch["joints"].numpy(),
                batch["sequence"].numpy(),
                strict=True,
            )
        ):
            if refine is not None:
                if seq != last_seq:
                    refine.reset()
                    last_seq = seq
                people = refine(people, feat[k], reg[k])[0]
            true = joints[np.isfinite(joints).all(axis=(1, 2))]
            n_true += len(true)
            pairs = match_people(np.array([p.joints[0] for p in people]).reshape(-1, 3), true[:, 0])
            n_found += len(pairs)
            n_false += len(people) - len(pairs)
            for i, j in pairs:
                preds.append(people[i].joints)
                gts.append(true[j])
                seqs.append(int(seq))
    out: dict[str, float | list[float]] = (
        summarize(np.array(preds), np.array(gts), seqs) if preds else {}
    )
    out["detection_recall"] = n_found / max(n_true, 1)
    out["false_alarms_per_frame"] = n_false / max(len(ds), 1)
    return out


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
