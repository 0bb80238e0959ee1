"""mediapipe pose landmarker detector: our side of the boundary, against a fake ``mediapipe``.

No pose landmarker ``.task`` file is available here, so a stand-in package that mimics the Tasks
API objects the detector uses (``tasks.BaseOptions``, ``tasks.vision.PoseLandmarker`` /
``PoseLandmarkerOptions`` / ``RunningMode``, ``Image``, ``ImageFormat``) is put in
``sys.modules`` and returns landmarks at chosen normalised positions.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest

from drivers import RecordingReader
from fusion.errors import FusionError

# BlazePose's 33 landmarks in mediapipe's order (the pose landmarker docs' model table)
BLAZEPOSE = [
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
]  # fmt: skip
COCO = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip
# a person facing the camera (their left on the image's right), normalised x, y per COCO joint
FIGURE = np.array([
    [0.50, 0.20], [0.51, 0.19], [0.49, 0.19], [0.52, 0.20], [0.48, 0.20], [0.55, 0.30],
    [0.45, 0.30], [0.57, 0.40], [0.43, 0.40], [0.58, 0.50], [0.42, 0.50], [0.53, 0.52],
    [0.47, 0.52], [0.535, 0.68], [0.465, 0.68], [0.54, 0.84], [0.46, 0.84],
])  # fmt: skip
SHIFT = [-0.25, 0.2, 0.0]  # x offsets of the people the fake finds
VISIBILITY = 0.6 + 0.02 * np.arange(17)
PRESENCE = [0.9, None, 0.8]  # person 1: the runtime leaves presence unset


@dataclass
class Landmark:
    x: float
    y: float
    z: float = 0.0
    visibility: float | None = None
    presence: float | None = None


def _pose(p: int) -> list[Landmark]:
    """33 landmarks: the figure at the COCO joints, far-off low-visibility junk elsewhere."""
    pose = [Landmark(0.99, 0.01, visibility=0.05, presence=0.05) for _ in BLAZEPOSE]
    for j, name in enumerate(COCO):
        x, y = FIGURE[j]
        pose[BLAZEPOSE.index(name)] = Landmark(
            x + SHIFT[p], y, visibility=float(VISIBILITY[j]), presence=PRESENCE[p]
        )
    return pose


def _fake_mediapipe(n_found: int = 3, fail: Exception | None = None) -> types.ModuleType:
    """A ``mediapipe`` module whose landmarker finds ``n_found`` people and records its calls."""
    mp = types.ModuleType("mediapipe")
    mp.calls = {"options": [], "images": [], "closed": 0}  # type: ignore[attr-defined]

    class Landmarker:
        @classmethod
        def create_from_options(cls, options: Any) -> Landmarker:
            if fail is not None:
                raise fail
            mp.calls["options"].append(options)  # type: ignore[attr-defined]
            return cls()

        def detect(self, image: Any) -> Any:
            mp.calls["images"].append(image)  # type: ignore[attr-defined]
            return types.SimpleNamespace(pose_landmarks=[_pose(p) for p in range(n_found)])

        def close(self) -> None:
            mp.calls["closed"] += 1  # type: ignore[attr-defined]

    vision = types.SimpleNamespace(
        PoseLandmarker=Landmarker,
        PoseLandmarkerOptions=lambda **kw: types.SimpleNamespace(**kw),
        RunningMode=types.SimpleNamespace(IMAGE="IMAGE", VIDEO="VIDEO"),
    )
    mp.tasks = types.SimpleNamespace(  # type: ignore[attr-defined]
        BaseOptions=lambda **kw: types.SimpleNamespace(**kw), vision=vision
    )
    mp.ImageFormat = types.SimpleNamespace(SRGB="SRGB", SRGBA="SRGBA")  # type: ignore[attr-defined]
    mp.Image = lambda image_format, data: types.SimpleNamespace(fmt=image_format, data=data)  # type: ignore[attr-defined]
    return mp


@pytest.fixture
def task_file(tmp_path: Path) -> Path:
    path = tmp_path / "pose_landmarker_full.task"
    path.write_bytes(b"not really a bundle")
    return path


def test_landmarks_come_back_as_coco17_pixels_with_visibility(
    task_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fusion.labels.landmarker import MediapipeDetector

    mp = _fake_mediapipe(n_found=3)
    monkeypatch.setitem(sys.modules, "mediapipe", mp)
    det = MediapipeDetector(task_file, max_people=2, min_detection_confidence=0.4)
    opts = mp.calls["options"][0]
    assert opts.base_options.model_asset_path == str(task_file)
    assert opts.running_mode == "IMAGE" and opts.num_poses == 2
    assert opts.min_pose_detection_confidence == 0.4 and opts.min_pose_presence_confidence == 0.5

    h, w = 480, 640
    image = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    kp, conf = det(image, boxes=np.array([[0.0, 0.0, 10.0, 10.0]]))  # boxes are not used
    sent = mp.calls["images"][0]
    assert sent.fmt == "SRGB" and np.array_equal(sent.data, image)
    assert kp.shape == (2, 17, 2) and conf.shape == (2, 17)  # 3 found, capped at 2
    for p in range(2):
        expected = (FIGURE + [SHIFT[p], 0.0]) * [w, h]
        np.testing.assert_allclose(kp[p], expected, atol=1e-9)
    np.testing.assert_allclose(conf[0], VISIBILITY * 0.9)
    np.testing.assert_allclose(conf[1], VISIBILITY)  # presence unset: visibility alone
    # the person's left wrist is on the image's right of their right wrist, as in the figure
    assert kp[0, COCO.index("left_wrist"), 0] - kp[0, COCO.index("right_wrist"), 0] == (
        pytest.approx(0.16 * w)
    )
    det.close()
    assert mp.calls["closed"] == 1


def test_index_table_matches_the_blazepose_order() -> None:
    from fusion.labels.landmarker import BLAZEPOSE_TO_COCO17

    expected = [BLAZEPOSE.index(name) for name in COCO]
    assert expected[:5] == [0, 2, 5, 7, 8] and expected[-2:] == [27, 28]
    assert BLAZEPOSE_TO_COCO17.tolist() == expected


def test_bad_images_and_landmark_counts_are_clear(
    task_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fusion.labels.landmarker import MediapipeDetector, landmarks_to_coco17

    monkeypatch.setitem(sys.modules, "mediapipe", _fake_mediapipe())
    det = MediapipeDetector(task_file)
    with pytest.raises(FusionError, match=r"RGB uint8 image \(H, W, 3\), got shape \(4, 4\)"):
        det(np.zeros((4, 4), np.uint8))
    with pytest.raises(FusionError, match="dtype float32"):
        det(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(FusionError, match="expected 33 landmarks per person, got 17"):
        landmarks_to_coco17([_pose(0)[:17]], 640, 480)


def test_missing_package_says_how_to_install(
    task_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fusion.labels.landmarker import MediapipeDetector

    monkeypatch.setitem(sys.modules, "mediapipe", None)  # import mediapipe -> ImportError
    with pytest.raises(FusionError, match=r"pip install 'radarpose\[mediapipe\]'"):
        MediapipeDetector(task_file)


def test_model_file_errors_name_the_path(
    tmp_path: Path, task_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fusion.labels.landmarker import MediapipeDetector

    monkeypatch.setitem(sys.modules, "mediapipe", _fake_mediapipe())
    missing = tmp_path / "nowhere" / "pose_landmarker_heavy.task"
    with pytest.raises(FusionError, match=f"{missing}: pose landmarker model file not found"):
        MediapipeDetector(missing)
    tflite = tmp_path / "pose.tflite"
    tflite.write_bytes(b"x")
    with pytest.raises(FusionError, match=f"{tflite}: expected a mediapipe .* ending .task"):
        MediapipeDetector(tflite)
    monkeypatch.setitem(
        sys.modules, "mediapipe", _fake_mediapipe(fail=RuntimeError("Unable to open zip archive"))
    )
    with pytest.raises(FusionError, match="cannot load it as a pose landmarker .*zip archive"):
        MediapipeDetector(task_file)
    with pytest.raises(FusionError, match="max_people must be >= 1, got 0"):
        MediapipeDetector(task_file, max_people=0)


def test_detector_option_chooses_mediapipe(
    task_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fusion.labels.detectors import load_detector
    from fusion.labels.landmarker import MediapipeDetector

    monkeypatch.setitem(sys.modules, "mediapipe", _fake_mediapipe())
    for spec in (f"mediapipe:{task_file}", str(task_file)):
        det = load_detector(spec, max_people=3)
        assert isinstance(det, MediapipeDetector) and Path(det.path) == task_file
        assert det.max_people == 3
    with pytest.raises(FusionError, match="expected a mediapipe .* ending .task"):
        load_detector("mediapipe:model.onnx")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 s of the rtpose rig with the LiDAR and one camera (blank images: the fake reads none)."""
    from drivers.sim import SimConfig, Simulation
    from drivers.sim.simulate import simulate_to_recording

    out = tmp_path_factory.mktemp("mediapipe") / "rt.h5"
    sim = Simulation("rtpose", SimConfig(people=1, seconds=1.0, seed=1, clutter=False))
    blank = lambda world, T, cam, *_: np.zeros((cam.height, cam.width, 3), np.uint8)  # noqa: E731
    with mock.patch("drivers.sim.simulate.render_camera", blank):
        simulate_to_recording(
            sim, out, progress=False, sensors=["lidar", "cam-left", "groundtruth"]
        )
    return out


def test_label_command_runs_the_landmarker(
    recording: Path, task_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fusion.cli import main
    from fusion.labels import run

    mp = _fake_mediapipe(n_found=3)
    monkeypatch.setitem(sys.modules, "mediapipe", mp)
    out = tmp_path / "labels.h5"
    with mock.patch.object(run, "_boxes_from_lidar", side_effect=AssertionError("boxes unused")):
        rc = main(["-q", "label", str(recording), "--detector", f"mediapipe:{task_file}", "--max-people", "2", "--lift", "mono", "-o", str(out)])  # fmt: skip
    assert rc == 0
    assert mp.calls["options"][0].num_poses == 2
    with RecordingReader(recording) as src:
        n_frames = src.streams["cam-left"].frames
        cam = run.recording_rig(src).config.sensors["cam-left"].camera
    assert len(mp.calls["images"]) == n_frames > 0
    assert mp.calls["images"][0].data.shape == (cam.height, cam.width, 3)
    with RecordingReader(out) as rec:
        kp = rec.read("keypoints2d-cam-left", "keypoints")
    assert kp.shape == (n_frames, 2, 17, 2)
    # two tracks, in either order, each the fake's person at the camera's pixel scale
    people = [(FIGURE + [SHIFT[p], 0.0]) * [cam.width, cam.height] for p in range(2)]
    firsts = sorted(kp[0], key=lambda k: k[0, 0])
    for got, want in zip(firsts, sorted(people, key=lambda k: k[0, 0]), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-3)  # stored as float32
    np.testing.assert_allclose(kp, kp[:1].repeat(n_frames, 0))  # no swaps invented


def test_real_mediapipe_has_the_api_we_call() -> None:
    """Only where the real package is installed: the names and option fields the detector uses."""
    mp = pytest.importorskip("mediapipe")
    import inspect

    vision = mp.tasks.vision
    fields = inspect.signature(vision.PoseLandmarkerOptions).parameters
    assert {"base_options", "running_mode", "num_poses", "min_pose_detection_confidence", "min_pose_presence_confidence"} <= set(fields)  # fmt: skip
    assert "model_asset_path" in inspect.signature(mp.tasks.BaseOptions).parameters
    assert hasattr(vision.RunningMode, "IMAGE") and hasattr(mp.ImageFormat, "SRGB")
    assert callable(vision.PoseLandmarker.create_from_options)
    assert callable(vision.PoseLandmarker.detect)
    names = {p.name.lower(): p.value for p in vision.PoseLandmark}
    assert [names[n] for n in BLAZEPOSE] == list(range(33))
    img = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((4, 6, 3), np.uint8))
    assert (img.width, img.height) == (6, 4)
