"""2D keypoint detectors: one call shape, a simulated detector and top-down model files.

Every detector is a callable ``detector(image, boxes=None) -> (keypoints, confidence)``: ``image``
is RGB ``(H, W, 3)`` uint8, ``boxes`` optional person boxes ``(P, 4)`` x1, y1, x2, y2 (px); it
returns COCO-17 ``keypoints`` ``(P, 17, 2)`` in original-image pixels (origin at the top-left
pixel's corner, CONVENTIONS) and ``confidence`` ``(P, 17)`` in [0, 1].

mediapipe's pose landmarker (:mod:`.landmarker`, the user's ``.task`` file) is the third kind.
Model files run fully offline: TorchScript (``torch.jit.load``) or ONNX (onnxruntime, an optional
dependency). Outputs are decoded as heatmaps (ViTPose / HRNet: argmax plus the quarter-pixel
shift toward the higher neighbour) or as SimCC vectors (RTMPose: per-axis bin argmax divided by
the split ratio), whichever the model returns. Crops follow mmpose's top-down convention: the box
padded by 1.25, widened or heightened to the input's aspect (3:4 for 192×256), resized without
rotation; mmpose places pixel centres at integer coordinates, so half a pixel is added back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from scipy.ndimage import map_coordinates

from drivers import COCO17, convert_skeleton

from ..errors import FusionError
from .landmarker import MediapipeDetector, is_landmarker_spec

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
# COCO-17 left/right partner of each joint (nose maps to itself)
COCO_FLIP = np.array([0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15])


class Detector(Protocol):
    def __call__(
        self, image: np.ndarray, boxes: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...


# -- simulated ---------------------------------------------------------------------------------
@dataclass
class SimulatedDetector:
    """A stand-in for a 2D network, made from the simulator's projected ground truth.

    Realistic failure modes: Gaussian pixel noise ``sigma_px`` per axis, per-joint misses (low
    confidence and a wrong position, as a network that loses a wrist) and whole-person left/right
    swaps (the commonest top-down error). Not a detector of images: :meth:`at` binds it to one
    frame's truth and returns a :class:`Detector` that ignores the pixels.
    """

    sigma_px: float = 3.0
    miss_rate: float = 0.02
    swap_rate: float = 0.02
    seed: int = 0
    rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.sigma_px < 0 or not 0 <= self.miss_rate < 1 or not 0 <= self.swap_rate < 1:
            raise FusionError(
                "SimulatedDetector: sigma_px >= 0 and rates in [0, 1) expected, got "
                f"{self.sigma_px}, {self.miss_rate}, {self.swap_rate}"
            )
        self.rng = np.random.default_rng(self.seed)

    def detect(self, joints_2d: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """True RT-Pose-15 pixels ``(P, 15, 2)`` and visibility ``(P, 15)`` → noisy COCO-17 ``(P, 17, 2)``, ``(P, 17)``."""
        j = np.asarray(joints_2d, dtype=np.float64)
        vis = np.asarray(visible).astype(bool)
        if j.ndim != 3 or j.shape[1:] != (15, 2) or vis.shape != j.shape[:2]:
            raise FusionError(
                f"SimulatedDetector: expected joints (P, 15, 2) and visibility (P, 15), got {j.shape} and {vis.shape}"
            )
        coco, cvis = convert_skeleton(j, "rtpose15", "coco17", vis.astype(np.float32))
        p = len(coco)
        kp = coco + self.rng.normal(0.0, self.sigma_px, coco.shape)
        conf = self.rng.uniform(0.7, 1.0, (p, 17))
        miss = self.rng.random((p, 17)) < self.miss_rate
        kp[miss] += self.rng.normal(0.0, 10 * self.sigma_px + 10, (int(miss.sum()), 2))
        conf[miss] = self.rng.uniform(0.0, 0.2, int(miss.sum()))
        conf[(cvis < 0.5) | ~np.isfinite(kp).all(-1)] = 0.0
        swap = self.rng.random(p) < self.swap_rate
        kp[swap] = kp[swap][:, COCO_FLIP]
        conf[swap] = conf[swap][:, COCO_FLIP]
        return np.nan_to_num(kp), conf

    def at(self, joints_2d: np.ndarray, visible: np.ndarray) -> Detector:
        """A :class:`Detector` for one frame whose truth is ``joints_2d`` ``(P, 15, 2)``, ``visible`` ``(P, 15)``."""
        out = self.detect(joints_2d, visible)
        return lambda image, boxes=None: out


# -- crops -------------------------------------------------------------------------------------
def box_center_scale(
    boxes: np.ndarray, input_size: tuple[int, int], padding: float = 1.25
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes ``(P, 4)`` x1 y1 x2 y2 → centres ``(P, 2)`` and crop sizes ``(P, 2)`` (px) at the input's aspect."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    center = (b[:, :2] + b[:, 2:]) / 2
    wh = np.abs(b[:, 2:] - b[:, :2]) * padding
    aspect = input_size[0] / input_size[1]
    w = np.maximum(wh[:, 0], wh[:, 1] * aspect)
    return center, np.stack([w, w / aspect], axis=-1)


def crop_to_image(
    xy: np.ndarray, center: np.ndarray, scale: np.ndarray, input_size: tuple[int, int]
) -> np.ndarray:
    """Crop pixels ``(P, K, 2)`` (corner origin) → original-image pixels for crops ``center``/``scale`` ``(P, 2)``."""
    size = np.asarray(input_size, dtype=np.float64)
    return center[:, None] + (xy - size / 2) * (scale / size)[:, None]


def crop(
    image: np.ndarray, center: np.ndarray, scale: np.ndarray, input_size: tuple[int, int]
) -> np.ndarray:
    """Bilinear crops ``(P, H_in, W_in, 3)`` float32 of ``image`` ``(H, W, 3)``; outside the image is 0."""
    w_in, h_in = input_size
    gx, gy = np.meshgrid(np.arange(w_in) + 0.5, np.arange(h_in) + 0.5)
    grid = np.stack([gx, gy], axis=-1).reshape(1, -1, 2)
    out = np.zeros((len(center), h_in, w_in, 3), np.float32)
    img = np.asarray(image, dtype=np.float32)
    for i, src in enumerate(
        crop_to_image(np.repeat(grid, len(center), 0), center, scale, input_size)
    ):
        rows, cols = src[:, 1] - 0.5, src[:, 0] - 0.5  # pixel centres sit at +0.5
        for c in range(3):
            out[i, ..., c] = map_coordinates(img[..., c], [rows, cols], order=1, cval=0.0).reshape(
                h_in, w_in
            )
    return out


# -- decoders ----------------------------------------------------------------------------------
def decode_heatmaps(
    heatmaps: np.ndarray, input_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps ``(P, K, h, w)`` → crop pixels ``(P, K, 2)`` (corner origin) and peak values ``(P, K)``.

    Argmax, then a quarter bin toward the larger neighbour (HRNet/ViTPose "MSRA" decoding); heatmap
    bin ``i`` is input pixel centre ``i * stride`` in mmpose's convention.
    """
    hm = np.asarray(heatmaps, dtype=np.float64)
    if hm.ndim != 4:
        raise FusionError(f"heatmap output: expected (P, K, h, w), got shape {hm.shape}")
    p, k, h, w = hm.shape
    flat = hm.reshape(p, k, -1)
    idx = flat.argmax(-1)
    val = np.take_along_axis(flat, idx[..., None], -1)[..., 0]
    y, x = np.divmod(idx, w)
    xy = np.stack([x, y], axis=-1).astype(np.float64)
    pi, ki = np.meshgrid(np.arange(p), np.arange(k), indexing="ij")
    inner_x = (x > 0) & (x < w - 1)
    inner_y = (y > 0) & (y < h - 1)
    dx = hm[pi, ki, y, np.clip(x + 1, 0, w - 1)] - hm[pi, ki, y, np.clip(x - 1, 0, w - 1)]
    dy = hm[pi, ki, np.clip(y + 1, 0, h - 1), x] - hm[pi, ki, np.clip(y - 1, 0, h - 1), x]
    xy[..., 0] += np.where(inner_x, 0.25 * np.sign(dx), 0.0)
    xy[..., 1] += np.where(inner_y, 0.25 * np.sign(dy), 0.0)
    stride = np.array([input_size[0] / w, input_size[1] / h])
    return xy * stride + 0.5, val


def decode_simcc(
    simcc_x: np.ndarray, simcc_y: np.ndarray, input_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """SimCC vectors ``(P, K, W·r)``, ``(P, K, H·r)`` → crop pixels ``(P, K, 2)`` and scores ``(P, K)``.

    The split ratio ``r`` follows from the vector length over the input size (RTMPose uses 2.0);
    the score is the smaller of the two axis maxima, as mmpose reports it.
    """
    sx, sy = np.asarray(simcc_x, np.float64), np.asarray(simcc_y, np.float64)
    if sx.ndim != 3 or sy.ndim != 3 or sx.shape[:2] != sy.shape[:2]:
        raise FusionError(
            f"SimCC output: expected (P, K, Wx) and (P, K, Hy), got {sx.shape} and {sy.shape}"
        )
    rx, ry = sx.shape[-1] / input_size[0], sy.shape[-1] / input_size[1]
    xy = np.stack([sx.argmax(-1) / rx, sy.argmax(-1) / ry], axis=-1)
    return xy + 0.5, np.minimum(sx.max(-1), sy.max(-1))


def decode_outputs(
    outputs: list[np.ndarray], input_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Pick the decoder from the output shapes: one 4-D tensor is heatmaps, two 3-D tensors SimCC."""
    shapes = [np.shape(o) for o in outputs]
    if len(outputs) >= 1 and np.ndim(outputs[0]) == 4:
        return decode_heatmaps(outputs[0], input_size)
    if len(outputs) >= 2 and np.ndim(outputs[0]) == 3 and np.ndim(outputs[1]) == 3:
        return decode_simcc(outputs[0], outputs[1], input_size)
    raise FusionError(
        f"cannot decode model outputs of shapes {shapes}: expected heatmaps (P, K, h, w) "
        "or SimCC vectors (P, K, Wx), (P, K, Hy)"
    )


# -- model files -------------------------------------------------------------------------------
def _load_runner(path: Path) -> Callable[[np.ndarray], list[np.ndarray]]:
    if not path.is_file():
        raise FusionError(f"{path}: model file not found")
    if path.suffix.lower() == ".onnx":
        try:
            import onnxruntime as ort
        except ImportError:
            raise FusionError(
                f"{path}: ONNX models need onnxruntime (pip install onnxruntime), which is not installed"
            ) from None
        try:
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise FusionError(f"{path}: onnxruntime cannot load it ({exc})") from None
        name = sess.get_inputs()[0].name
        return lambda x: [np.asarray(o) for o in sess.run(None, {name: x})]
    import torch

    try:
        module = torch.jit.load(str(path), map_location="cpu").eval()
    except (RuntimeError, ValueError) as exc:
        raise FusionError(
            f"{path}: not a TorchScript file ({str(exc).splitlines()[0]}); "
            "export with torch.jit.trace/script, or give an .onnx file"
        ) from None

    def run(x: np.ndarray) -> list[np.ndarray]:
        with torch.no_grad():
            out = module(torch.from_numpy(x))
        outs = list(out) if isinstance(out, tuple | list) else [out]
        return [o.detach().cpu().numpy() for o in outs]

    return run


@dataclass
class ModelDetector:
    """A top-down COCO-17 keypoint model from a TorchScript (``.pt``) or ONNX (``.onnx``) file.

    ``input_size`` is (width, height) of the network input; ``mean``/``std`` the per-channel
    normalisation of 0-255 pixels in ``channel_order`` (ImageNet statistics in RGB by default, as
    mmpose exports expect). Without boxes the whole image is one person box.
    """

    path: str | Path
    input_size: tuple[int, int] = (192, 256)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    channel_order: str = "rgb"
    padding: float = 1.25
    _run: Callable[[np.ndarray], list[np.ndarray]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.channel_order not in ("rgb", "bgr"):
            raise FusionError(f"channel_order must be 'rgb' or 'bgr', got {self.channel_order!r}")
        self._run = _load_runner(Path(self.path))

    def preprocess(self, crops: np.ndarray) -> np.ndarray:
        """Crops ``(P, H, W, 3)`` RGB 0-255 → network input ``(P, 3, H, W)`` float32."""
        x = crops[..., ::-1] if self.channel_order == "bgr" else crops
        x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)

    def __call__(
        self, image: np.ndarray, boxes: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        img = np.asarray(image)
        if img.ndim != 3 or img.shape[2] != 3:
            raise FusionError(f"expected an RGB image (H, W, 3), got shape {img.shape}")
        if boxes is None:
            boxes = np.array([[0.0, 0.0, img.shape[1], img.shape[0]]])
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if len(boxes) == 0:
            return np.zeros((0, 17, 2)), np.zeros((0, 17))
        center, scale = box_center_scale(boxes, self.input_size, self.padding)
        x = self.preprocess(crop(img, center, scale, self.input_size))
        assert self._run is not None
        xy, conf = decode_outputs(self._run(x), self.input_size)
        if xy.shape[1] != COCO17.n_joints:
            raise FusionError(
                f"{self.path}: the model gives {xy.shape[1]} keypoints; COCO-17 (17) expected"
            )
        return crop_to_image(xy, center, scale, self.input_size), np.clip(conf, 0.0, 1.0)


def load_detector(
    spec: str, **options: object
) -> SimulatedDetector | ModelDetector | MediapipeDetector:
    """``"sim"`` → :class:`SimulatedDetector`; ``"mediapipe:PATH"`` or a ``.task`` path →
    :class:`~fusion.labels.landmarker.MediapipeDetector`; a ``.pt``/``.onnx`` path → :class:`ModelDetector`."""
    if spec == "sim":
        return SimulatedDetector(**options)  # type: ignore[arg-type]
    if is_landmarker_spec(spec):
        return MediapipeDetector(spec.removeprefix("mediapipe:"), **options)  # type: ignore[arg-type]
    if Path(spec).suffix.lower() not in (".pt", ".pth", ".ts", ".onnx"):
        raise FusionError(
            f"--detector {spec!r}: expected 'sim' or a model file: .pt/.pth/.ts (TorchScript), "
            ".onnx, or mediapipe:PATH to a pose landmarker .task file"
        )
    return ModelDetector(spec, **options)  # type: ignore[arg-type]
