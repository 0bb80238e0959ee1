"""mediapipe's pose landmarker (BlazePose, 33 landmarks) as a COCO-17 :class:`Detector`.

Optional and fully offline: the user supplies the ``.task`` bundle (``pose_landmarker_lite``,
``_full`` or ``_heavy``); nothing is downloaded. mediapipe's Tasks API finds the people itself
(``num_poses`` at most), so person boxes are not used. Landmarks come normalised by the image
width and height with the origin at the image's top-left corner, so ``x·W, y·H`` are pixels in
our convention (CONVENTIONS) with no half-pixel shift. A joint's confidence is its ``visibility``
(likely in view, not occluded) times its ``presence`` (likely inside the image); a score the
runtime leaves unset counts as 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from drivers import COCO17

from ..errors import FusionError

# BlazePose landmark index (mediapipe's PoseLandmark enum) of each COCO-17 joint, by name
BLAZEPOSE_INDEX_OF = {
    "nose": 0,
    "left_eye": 2,  # 1 and 3 are the eye's inner and outer corners
    "right_eye": 5,  # 4 and 6 likewise
    "left_ear": 7,
    "right_ear": 8,
    "left_shoulder": 11,
    "right_shoulder": 12,
    "left_elbow": 13,
    "right_elbow": 14,
    "left_wrist": 15,
    "right_wrist": 16,
    "left_hip": 23,
    "right_hip": 24,
    "left_knee": 25,
    "right_knee": 26,
    "left_ankle": 27,
    "right_ankle": 28,
}
BLAZEPOSE_TO_COCO17 = np.array([BLAZEPOSE_INDEX_OF[name] for name in COCO17.joints])
N_BLAZEPOSE = 33
INSTALL_HINT = "pip install 'radarpose[mediapipe]' (or pip install mediapipe)"


def is_landmarker_spec(spec: str) -> bool:
    """Whether a ``--detector`` value names mediapipe's landmarker: ``mediapipe:PATH`` or a ``.task`` path."""
    return spec.startswith("mediapipe:") or Path(spec).suffix.lower() == ".task"


def _import_mediapipe() -> Any:
    try:
        import mediapipe
    except ImportError:
        raise FusionError(
            f"the mediapipe pose landmarker needs the optional mediapipe package: {INSTALL_HINT}"
        ) from None
    return mediapipe


def _score(value: float | None) -> float:
    return 1.0 if value is None else float(value)


def landmarks_to_coco17(
    poses: list[list[Any]], width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """mediapipe ``pose_landmarks`` (P lists of 33 normalised landmarks) → COCO-17 pixels.

    Returns keypoints ``(P, 17, 2)`` x, y in pixels of a ``width`` × ``height`` image and
    confidences ``(P, 17)`` = visibility × presence, clipped to [0, 1].
    """
    kp = np.zeros((len(poses), COCO17.n_joints, 2))
    conf = np.zeros((len(poses), COCO17.n_joints))
    for p, pose in enumerate(poses):
        if len(pose) != N_BLAZEPOSE:
            raise FusionError(
                f"mediapipe pose landmarker: expected {N_BLAZEPOSE} landmarks per person, got {len(pose)}"
            )
        for j, b in enumerate(BLAZEPOSE_TO_COCO17):
            lm = pose[b]
            kp[p, j] = lm.x * width, lm.y * height
            conf[p, j] = _score(getattr(lm, "visibility", None)) * _score(
                getattr(lm, "presence", None)
            )
    return kp, np.clip(conf, 0.0, 1.0)


@dataclass
class MediapipeDetector:
    """mediapipe's pose landmarker from the user's ``.task`` file, several people per image.

    ``max_people`` is the Tasks API's ``num_poses``; ``min_detection_confidence`` and
    ``min_presence_confidence`` its person-detector and pose-presence thresholds.
    """

    path: str | Path
    max_people: int = 4
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    uses_boxes: ClassVar[bool] = False  # finds the people itself: label_recording skips boxes
    _mp: Any = field(default=None, init=False, repr=False)
    _landmarker: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        path = Path(self.path)
        if self.max_people < 1:
            raise FusionError(f"max_people must be >= 1, got {self.max_people}")
        for name in ("min_detection_confidence", "min_presence_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise FusionError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if path.suffix.lower() != ".task":
            raise FusionError(
                f"{path}: expected a mediapipe pose landmarker bundle ending .task "
                "(e.g. pose_landmarker_full.task)"
            )
        if not path.is_file():
            raise FusionError(
                f"{path}: pose landmarker model file not found; expected a mediapipe .task bundle "
                "(e.g. pose_landmarker_full.task) on this machine: nothing is downloaded"
            )
        mp = _import_mediapipe()
        vision = mp.tasks.vision
        options = vision.PoseLandmarkerOptions(
            base_options=mp.tasks.BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.IMAGE,
            num_poses=self.max_people,
            min_pose_detection_confidence=self.min_detection_confidence,
            min_pose_presence_confidence=self.min_presence_confidence,
        )
        try:
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError, OSError) as exc:
            raise FusionError(
                f"{path}: mediapipe cannot load it as a pose landmarker ({exc})"
            ) from None
        self._mp = mp

    def __call__(
        self, image: np.ndarray, boxes: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """RGB ``(H, W, 3)`` uint8 → keypoints ``(P, 17, 2)`` px and confidences ``(P, 17)``; ``boxes`` unused."""
        img = np.asarray(image)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise FusionError(
                f"expected an RGB uint8 image (H, W, 3), got shape {img.shape} dtype {img.dtype}"
            )
        frame = self._mp.Image(
            image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(img)
        )
        result = self._landmarker.detect(frame)
        poses = list(result.pose_landmarks)[: self.max_people]
        return landmarks_to_coco17(poses, img.shape[1], img.shape[0])

    def close(self) -> None:
        """Release mediapipe's graph (also done when the process ends)."""
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None
