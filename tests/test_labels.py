"""Pseudo-labels: model-file detectors through crop and uncrop, lifting accuracy, the command."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from drivers import RecordingReader, convert_skeleton
from fusion.labels.detectors import ModelDetector, SimulatedDetector, decode_heatmaps
from fusion.labels.tracks import fix_swaps

K = 17
W_IN, H_IN = 192, 256  # network input, 3:4
BOX = np.array([[150.0, 60.0, 270.0, 380.0]])  # x1 y1 x2 y2 in a 640 x 480 image


def _expected(x_in: np.ndarray, y_in: np.ndarray) -> np.ndarray:
    """Input-crop pixels (pixel centres at integers, as mmpose) → original image (corner origin).

    Written out from the box: padded 1.25, widened to 3:4, centred on the box centre.
    """
    bw, bh = (BOX[0, 2] - BOX[0, 0]) * 1.25, (BOX[0, 3] - BOX[0, 1]) * 1.25
    w = max(bw, bh * W_IN / H_IN)
    s = w / W_IN  # the same in y: the crop keeps the aspect
    cx, cy = (BOX[0, 0] + BOX[0, 2]) / 2, (BOX[0, 1] + BOX[0, 3]) / 2
    return np.stack([cx + (x_in + 0.5 - W_IN / 2) * s, cy + (y_in + 0.5 - H_IN / 2) * s], -1)


# chosen joint positions: heatmap bins (48 x 64 heatmap = input / 4) and SimCC bins (split 2)
HM_X = np.arange(K) * 2 + 5
HM_Y = np.arange(K) * 3 + 4


def _heatmaps() -> np.ndarray:
    """(1, 17, 64, 48) Gaussians peaked on (HM_X, HM_Y), pulled a quarter bin right for odd joints."""
    yy, xx = np.mgrid[0:64, 0:48]
    hm = np.zeros((1, K, 64, 48), np.float32)
    for k in range(K):
        x0 = HM_X[k] + (0.2 if k % 2 else 0.0)
        hm[0, k] = 0.9 * np.exp(-((xx - x0) ** 2 + (yy - HM_Y[k]) ** 2) / (2 * 1.5**2))
    return hm


def _simcc() -> tuple[np.ndarray, np.ndarray]:
    sx = np.zeros((1, K, W_IN * 2), np.float32)
    sy = np.zeros((1, K, H_IN * 2), np.float32)
    for k in range(K):
        sx[0, k, 20 + 17 * k] = 0.8
        sy[0, k, 30 + 25 * k] = 0.7
    return sx, sy


def _image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)


def _check_heatmap_detector(det: ModelDetector) -> None:
    kp, conf = det(_image(), BOX)
    x_in = 4.0 * (HM_X + np.where(np.arange(K) % 2, 0.25, 0.0))  # quarter-bin refinement
    y_in = 4.0 * HM_Y
    assert kp.shape == (1, K, 2)
    np.testing.assert_allclose(kp[0], _expected(x_in, y_in), atol=1e-6)
    np.testing.assert_allclose(conf[0], 0.9, atol=0.05)


def _check_simcc_detector(det: ModelDetector) -> None:
    kp, conf = det(_image(), BOX)
    x_in = (20 + 17 * np.arange(K)) / 2.0
    y_in = (30 + 25 * np.arange(K)) / 2.0
    np.testing.assert_allclose(kp[0], _expected(x_in, y_in), atol=1e-6)
    np.testing.assert_allclose(conf[0], 0.7, atol=1e-6)


# -- TorchScript -------------------------------------------------------------------------------
def _torchscript(tmp_path: Path, name: str, outputs: tuple[np.ndarray, ...]) -> Path:
    import torch

    class Fixed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for i, o in enumerate(outputs):
                self.register_buffer(f"o{i}", torch.from_numpy(o))

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            zero = x.mean() * 0.0  # the output does not depend on the pixels, but uses them
            return tuple(b + zero for b in self.buffers())

    path = tmp_path / name
    torch.jit.trace(Fixed(), torch.zeros(1, 3, H_IN, W_IN)).save(str(path))
    return path


def test_torchscript_heatmap_model_comes_back_in_image_pixels(tmp_path: Path) -> None:
    _check_heatmap_detector(ModelDetector(_torchscript(tmp_path, "hm.pt", (_heatmaps(),))))


def test_torchscript_simcc_model_comes_back_in_image_pixels(tmp_path: Path) -> None:
    _check_simcc_detector(ModelDetector(_torchscript(tmp_path, "simcc.pt", _simcc())))


def test_crop_carries_the_image_content(tmp_path: Path) -> None:
    """A model that finds the brightest spot: the crop must hold the pixels the box covers."""
    import torch

    class Brightest(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            hm = torch.nn.functional.avg_pool2d(x[:, :1], 4)  # red channel, stride 4
            return hm.expand(x.shape[0], 17, hm.shape[2], hm.shape[3]).contiguous()

    path = tmp_path / "bright.pt"
    torch.jit.trace(Brightest(), torch.zeros(1, 3, H_IN, W_IN)).save(str(path))
    img = np.zeros((480, 640, 3), np.uint8)
    img[200:210, 180:190, 0] = 255  # a 10 px red square centred on (185, 205), corner origin
    kp, _ = ModelDetector(path)(img, BOX)
    scale = (
        _expected(np.array([1.0]), np.array([0.0]))[0, 0]
        - _expected(np.array([0.0]), np.array([0.0]))[0, 0]
    )
    # within one heatmap bin (4 input pixels) of the square's centre, for every joint
    assert np.abs(kp[0] - [185.0, 205.0]).max() < 4 * scale


# -- ONNX --------------------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num: int, value: bytes | str | int) -> bytes:
    if isinstance(value, int):
        return _varint(num << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint((num << 3) | 2) + _varint(len(data)) + data


def _tensor_type(shape: tuple[int | str, ...]) -> bytes:
    dims = b"".join(_field(1, _field(2, d) if isinstance(d, str) else _field(1, d)) for d in shape)
    return _field(1, _field(1, 1) + _field(2, dims))  # elem_type FLOAT, shape


def _onnx_model(outputs: tuple[np.ndarray, ...]) -> bytes:
    """A hand-encoded ONNX protobuf (the ``onnx`` package is not a dependency): each output is a
    constant tensor plus 0 x the input's mean, so it runs on any input and gives known values."""
    graph = b""
    graph += _field(1, _field(1, "input") + _field(2, "mean") + _field(4, "ReduceMean")
                    + _field(5, _field(1, "keepdims") + _field(3, 0) + _field(20, 2)))  # fmt: skip
    graph += _field(1, _field(1, "mean") + _field(1, "zero") + _field(2, "nil") + _field(4, "Mul"))
    for i in range(len(outputs)):
        graph += _field(
            1, _field(1, f"c{i}") + _field(1, "nil") + _field(2, f"out{i}") + _field(4, "Add")
        )
    graph += _field(2, "fixed")
    zero = _field(2, 1) + _field(8, "zero") + _field(9, struct.pack("<f", 0.0))
    graph += _field(5, zero)
    for i, o in enumerate(outputs):
        dims = b"".join(_field(1, d) for d in o.shape)
        graph += _field(
            5, dims + _field(2, 1) + _field(8, f"c{i}") + _field(9, o.astype("<f4").tobytes())
        )
    graph += _field(11, _field(1, "input") + _field(2, _tensor_type(("n", 3, H_IN, W_IN))))
    for i, o in enumerate(outputs):
        graph += _field(12, _field(1, f"out{i}") + _field(2, _tensor_type(o.shape)))
    return _field(1, 8) + _field(8, _field(1, "") + _field(2, 17)) + _field(7, graph)


def _onnx(tmp_path: Path, name: str, outputs: tuple[np.ndarray, ...]) -> Path:
    pytest.importorskip("onnxruntime", reason="ONNX models need the optional onnxruntime")
    path = tmp_path / name
    path.write_bytes(_onnx_model(outputs))
    return path


def test_onnx_heatmap_model_comes_back_in_image_pixels(tmp_path: Path) -> None:
    _check_heatmap_detector(ModelDetector(_onnx(tmp_path, "hm.onnx", (_heatmaps(),))))


def test_onnx_simcc_model_comes_back_in_image_pixels(tmp_path: Path) -> None:
    _check_simcc_detector(ModelDetector(_onnx(tmp_path, "simcc.onnx", _simcc())))


def test_model_file_errors_are_clear(tmp_path: Path) -> None:
    from fusion.errors import FusionError

    bad = tmp_path / "junk.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(FusionError, match="not a TorchScript file"):
        ModelDetector(bad)
    with pytest.raises(FusionError, match="model file not found"):
        ModelDetector(tmp_path / "missing.onnx")
    with pytest.raises(FusionError, match="expected heatmaps"):
        from fusion.labels.detectors import decode_outputs

        decode_outputs([np.zeros((1, 17))], (W_IN, H_IN))


def test_quarter_offset_decoding() -> None:
    hm = np.zeros((1, 1, 8, 8))
    hm[0, 0, 3, 4] = 1.0
    hm[0, 0, 3, 5] = 0.5  # right neighbour higher than the left: +0.25 in x
    hm[0, 0, 2, 4] = 0.2  # upper neighbour higher: -0.25 in y
    xy, val = decode_heatmaps(hm, (32, 32))
    np.testing.assert_allclose(xy[0, 0], [4 * 4.25 + 0.5, 4 * 2.75 + 0.5])
    assert val[0, 0] == 1.0


# -- simulated detector, swaps -----------------------------------------------------------------
def test_simulated_detector_noise_and_swap_repair() -> None:
    rng = np.random.default_rng(1)
    base = np.array([[300.0, 200.0]]) + rng.normal(0, 40, (15, 2))
    T = 60
    truth = base[None] + np.linspace(0, 60, T)[:, None, None] * np.array([1.0, 0.2])
    det = SimulatedDetector(sigma_px=3.0, miss_rate=0.0, swap_rate=0.1, seed=2)
    out = [det.detect(truth[t][None], np.ones((1, 15))) for t in range(T)]
    kp = np.stack([o[0] for o in out])
    cf = np.stack([o[1] for o in out])
    coco, _ = convert_skeleton(truth, "rtpose15", "coco17")
    err = kp[:, 0] - coco
    swapped = np.linalg.norm(err, axis=-1).mean(-1) > 15
    assert 2 <= swapped.sum() <= 15  # about 10 % of the frames came back mirrored
    clean = err[~swapped].reshape(-1, 2)
    assert np.std(clean) == pytest.approx(3.0, rel=0.15)  # sigma per axis
    fixed, _, n = fix_swaps(kp, cf)
    assert n == swapped.sum()
    assert np.linalg.norm(fixed[:, 0] - coco, axis=-1).mean(-1).max() < 10


def test_swap_repair_chooses_the_whole_track_at_once() -> None:
    """A swapped first frame and a swapped later one are undone; a frame where left and right
    nearly coincide (mirroring it moves it by under 2 px) stays as detected."""
    from fusion.labels.detectors import COCO_FLIP

    rng = np.random.default_rng(4)
    base = np.array([300.0, 200.0]) + rng.normal(0, 40, (17, 2))
    T = 12
    kp = base[None, None] + np.arange(T)[:, None, None, None] * np.array([4.0, 1.0])
    kp = kp + rng.normal(0, 1.0, kp.shape)
    kp[7, 0] = (kp[7, 0] + kp[7, 0, COCO_FLIP]) / 2 + rng.normal(0, 0.5, (17, 2))  # side-on
    truth = kp.copy()
    for t in (0, 5):
        kp[t, 0] = kp[t, 0, COCO_FLIP]
    cf = np.ones((T, 1, 17))
    fixed, _, n = fix_swaps(kp, cf)
    assert n == 2
    np.testing.assert_array_equal(fixed, truth)


def test_stereo_pair_repairs_swaps_in_either_view() -> None:
    """A frame whose views agree only once one is mirrored has a swap; it is undone in the view
    whose own neighbouring frames agree with the mirrored pose."""
    from fusion.labels.tracks import RTPOSE15_FLIP, fix_pair_swaps

    rng = np.random.default_rng(5)
    right, left = [1, 2, 3, 9, 10, 11], [4, 5, 6, 12, 13, 14]
    pose = np.zeros((15, 2))
    pose[:, 1] = 200.0 + rng.normal(0, 60, 15)
    pose[left, 1] = pose[right, 1]  # partners at the same height, 6 px apart (seen from behind)
    pose[:, 0] = 300.0
    pose[right, 0] += 3.0
    pose[left, 0] -= 3.0
    T = 10
    a = pose[None] + np.arange(T)[:, None, None] * [2.0, 0.5] + rng.normal(0, 0.3, (T, 15, 2))
    b = a - [40.0, 0.0] + rng.normal(0, 0.3, (T, 15, 2))  # the second camera: disparity 40 px
    truth_a, truth_b = a.copy(), b.copy()
    a[3] = a[3, RTPOSE15_FLIP]
    b[6] = b[6, RTPOSE15_FLIP]
    cf = np.ones((T, 15))
    fa, _, fb, _, n = fix_pair_swaps(a, cf, b, cf)
    assert n == 2
    np.testing.assert_array_equal(fa, truth_a)
    np.testing.assert_array_equal(fb, truth_b)


# -- lifting on a simulated recording ----------------------------------------------------------
SCENE = {"motion": "stand", "seed": 1}  # see the module docstring of fusion.labels.run for others
# the accuracy targets hold on a moving person: walking, about 3-4 m from the cameras
# (its ankles below the LiDAR's field of view, its far arm swinging behind the body)
WALK = {"motion": "walk", "seed": 1}


def _simulate(out: Path, scene: dict[str, object]) -> Path:
    from drivers.sim import SimConfig, Simulation
    from drivers.sim.simulate import simulate_to_recording

    sim = Simulation(
        "rtpose",
        SimConfig(
            people=1, seconds=2.0, seed=scene["seed"], motions=[scene["motion"]], clutter=False
        ),
    )
    # the simulated detector reads the projected truth, not the pixels: skip rendering them
    blank = lambda world, T, cam, *_: np.zeros((cam.height, cam.width, 3), np.uint8)  # noqa: E731
    with mock.patch("drivers.sim.simulate.render_camera", blank):
        simulate_to_recording(
            sim, out, progress=False, sensors=["lidar", "cam-left", "cam-right", "groundtruth"]
        )
    return out


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _simulate(tmp_path_factory.mktemp("labels") / "rt.h5", SCENE)


@pytest.fixture(scope="module")
def walking(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _simulate(tmp_path_factory.mktemp("labels") / "walk.h5", WALK)


def _mpjpe_vs_truth(labels: object, recording: Path) -> tuple[float, int]:
    from fusion.metrics import mpjpe

    with RecordingReader(recording) as rec:
        gt = rec.read("groundtruth", "joints")
        gt_stamps = rec.stamps("groundtruth")
    assert np.array_equal(labels.stamps_ns, gt_stamps)  # labels sit on the reference frames
    ok = (labels.confidence[:, 0] > 0).any(-1) & np.isfinite(labels.joints[:, 0]).all((-1, -2))
    return float(mpjpe(labels.joints[ok, 0], gt[ok, 0]).mean()), int(ok.sum())


def test_lidar_lifted_labels_within_5cm_on_a_walker(walking: Path) -> None:
    from fusion.labels.run import label_recording

    labels = label_recording(walking, SimulatedDetector(sigma_px=3.0, seed=0), lift="lidar")
    err, n = _mpjpe_vs_truth(labels, walking)
    assert n >= 16  # of 20 reference frames
    assert err < 0.05  # measured 3.6 cm, 4.7 before the legs' swing plane (docs/LABELS.md)
    assert (labels.method[labels.confidence > 0] == 1).mean() > 0.5  # mostly LiDAR depth


def test_lidar_with_both_cameras_within_5cm_on_a_walker(walking: Path) -> None:
    from fusion.labels.run import label_recording

    det = SimulatedDetector(sigma_px=3.0, seed=0)
    labels = label_recording(walking, det, lift="lidar+stereo")
    err, n = _mpjpe_vs_truth(labels, walking)
    assert n >= 16
    assert err < 0.05  # measured 3.2 cm, 4.5 before the legs' swing plane


def test_stereo_labels_within_4cm(recording: Path) -> None:
    from fusion.labels.run import label_recording

    labels = label_recording(recording, SimulatedDetector(sigma_px=3.0, seed=0), lift="stereo")
    err, n = _mpjpe_vs_truth(labels, recording)
    assert n >= 16
    assert err < 0.04
    assert (labels.method[labels.confidence > 0] == 2).mean() > 0.5


def test_stereo_labels_within_4cm_on_a_walker(walking: Path) -> None:
    """The issue's 4 cm on a walker 3.2-4 m from the cameras, where 3 px of noise is ~30 cm of
    depth per joint and frame (measured 3.7 cm; 4.8 before the legs' and a walker's arms' swing
    planes, 5.5 before issue #9's stereo changes: docs/LABELS.md)."""
    from fusion.labels.run import label_recording

    labels = label_recording(walking, SimulatedDetector(sigma_px=3.0, seed=0), lift="stereo")
    err, n = _mpjpe_vs_truth(labels, walking)
    assert n >= 16
    assert err < 0.04


def test_stereo_labels_over_refinement_windows() -> None:
    """A 5 s walk is refined in two overlapping 40-frame windows, each with its share of the
    per-frame walking weights (measured 4.5 cm, 5.0 before the swing planes; the labels sit at
    the true times here, without the recording's clock offsets)."""
    from drivers.sim import SimConfig, Simulation
    from fusion.labels.run import label_simulation
    from fusion.metrics import mpjpe

    sim = Simulation(
        "rtpose", SimConfig(people=1, seconds=5.0, seed=1, motions=["walk"], clutter=False)
    )
    times = np.arange(5, 50) * 0.1
    joints, _ = label_simulation(sim, times, SimulatedDetector(sigma_px=3.0, seed=0), lift="stereo")
    truth = np.stack([sim.joints(float(t)) for t in times])
    ok = np.isfinite(joints[:, 0]).all((-1, -2))
    assert ok.sum() >= 40
    assert mpjpe(joints[ok, 0], truth[ok, 0]).mean() < 0.05


def test_walking_weight_tells_a_walker_from_a_noisy_stander() -> None:
    """Torso ground speed through the noise of a raw stereo triangulation (~14 cm per frame on
    the torso's median): a 1 m/s walker weighs 1, a standing person 0."""
    from fusion.labels.run import walking_weight

    rng = np.random.default_rng(0)
    t = np.arange(20) * 0.1
    base = rng.normal(0.0, 0.3, (15, 3))
    walk = base + np.stack([3.0 + 1.0 * t, 0.2 * t, 0 * t], -1)[:, None]  # 1.02 m/s, +x and +y
    still = base + np.array([3.0, 0.0, 0.0])
    noise = rng.normal(0.0, 0.14 * np.sqrt(6), (2, 20, 15, 3))  # per joint: median of 6 ~ 14 cm
    np.testing.assert_array_equal(walking_weight(walk + noise[0], t), 1.0)
    np.testing.assert_array_equal(walking_weight(still[None] + noise[1], t), 0.0)
    # vertical motion (a squat) is not walking
    squat = still + np.stack([0 * t, 0 * t, 0.4 * np.sin(2 * t)], -1)[:, None]
    np.testing.assert_array_equal(walking_weight(squat, t), 0.0)


def test_hard_lengths_cost_their_square_under_the_robust_loss() -> None:
    """soft_l1 of the warped residual is the plain square: ρ(z) = 2(√(1+z) - 1), cost f²ρ((r'/f)²)."""
    from fusion.labels.lift import _unrobust

    r = np.array([-30.0, -3.0, 0.0, 0.5, 2.5, 16.0])
    f = 2.5
    warped = _unrobust(r, f)
    cost = f**2 * 2 * (np.sqrt(1 + (warped / f) ** 2) - 1)
    np.testing.assert_allclose(cost, r**2, rtol=1e-9, atol=1e-12)
    assert np.all(np.sign(warped) == np.sign(r))


def test_label_command_writes_labels_report_and_hupr_json(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fusion.cli import main
    from fusion.labels.report import LABEL_STREAM

    out = tmp_path / "labels.h5"
    hupr = tmp_path / "hupr.json"
    rc = main(["-q", "label", str(recording), "--detector", "sim", "--lift", "lidar", "-o", str(out), "--hupr-json", str(hupr)])  # fmt: skip
    assert rc == 0
    assert "MPJPE" in capsys.readouterr().out
    with RecordingReader(out) as rec, RecordingReader(recording) as src:
        j = rec.read(LABEL_STREAM, "joints")
        assert j.shape == (20, 1, 15, 3)
        assert np.array_equal(rec.stamps(LABEL_STREAM), src.stamps("groundtruth"))
        method = rec.read(LABEL_STREAM, "method")
        assert set(np.unique(method)) <= {0, 1, 3}  # none, LiDAR, bone prior: no stereo here
        gt = src.read("groundtruth", "joints")
        assert rec.read("keypoints2d-cam-left", "keypoints").shape == (20, 1, 17, 2)
    report = json.loads(Path(str(out) + ".report.json").read_text())
    ok = np.isfinite(j[:, 0]).all((-1, -2))
    pelvis_aligned = (j[ok, 0] - j[ok, 0, :1]) - (gt[ok, 0] - gt[ok, 0, :1])
    expected = np.linalg.norm(pelvis_aligned, axis=-1).mean() * 100
    assert report["ground_truth"]["mpjpe_cm"] == pytest.approx(expected, abs=0.01)
    assert 0 <= report["bone_length_spread_pct"]["mean"] < 2  # one set of bones per person
    doc = json.loads(hupr.read_text())
    entries = doc[recording.stem]
    assert len(entries) >= 18
    pts = np.array([e["joints"] for e in entries])
    assert pts.shape[1:] == (14, 2) and (pts >= 0).all() and (pts <= 256).all()


def test_label_command_errors(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fusion.cli import main

    rc = main(["label", str(recording), "--lift", "stereo", "--camera", "cam-left", "-o", str(tmp_path / "x.h5")])  # fmt: skip
    assert rc == 2
    assert "--lift stereo needs 2 camera stream(s)" in capsys.readouterr().err
    rc = main(["label", str(recording), "--detector", "model.bin", "-o", str(tmp_path / "x.h5")])
    assert rc == 2
    assert "expected 'sim' or a model file" in capsys.readouterr().err


def test_lidar_person_boxes_hold_the_person(recording: Path) -> None:
    from drivers.camera import project
    from drivers.transforms import apply, invert
    from fusion.labels.run import _calibration, lidar_person_boxes, recording_rig

    with RecordingReader(recording) as rec:
        rig = recording_rig(rec)
        calib = _calibration(rec, rig)
        sweep = next(rec.frames("lidar", 5, 6)).data["points"]
        gt = rec.read("groundtruth", "joints", 5)
    cam = rig.config.sensors["cam-left"].camera
    T = invert(calib.get("radar", "cam-left")) @ calib.get("radar", "lidar")
    boxes = lidar_person_boxes(sweep, T, cam)
    assert len(boxes) == 1  # the walls, floor and furniture are not people
    uv, _ = project(apply(invert(calib.get("radar", "cam-left")), gt[0].astype(float)), cam)
    torso = uv[[0, 1, 4, 7, 9, 12]]  # the LiDAR sees the trunk (its FOV misses the feet)
    x1, y1, x2, y2 = boxes[0]
    assert (torso[:, 0] > x1).all() and (torso[:, 0] < x2).all()
    assert (torso[:, 1] > y1).all() and (torso[:, 1] < y2).all()


def test_association_keeps_two_people_apart() -> None:
    from fusion.labels.tracks import associate

    rng = np.random.default_rng(3)
    a0 = np.array([100.0, 100.0]) + rng.normal(0, 30, (17, 2))
    b0 = np.array([400.0, 120.0]) + rng.normal(0, 30, (17, 2))
    dets = []
    for t in range(10):
        a, b = a0 + [5.0 * t, 0], b0 - [5.0 * t, 0]
        people = [a, b] if t % 2 == 0 else [b, a]  # the detector's order changes
        if t == 4:
            people = [b]  # person a missed for a frame
        dets.append((np.stack(people), np.ones((len(people), 17))))
    kp, cf = associate(dets)
    assert kp.shape[:2] == (10, 2)
    first = kp[0, :, 0, 0].argmin()  # the track that started on the left
    assert np.all(np.diff(kp[cf[:, first, 0] > 0, first, 0, 0]) > 0)  # moves right throughout
    assert cf[4, first].max() == 0  # its missed frame stays empty


def test_mono_labels_from_bone_lengths_alone(recording: Path) -> None:
    """One camera, no depth sensor: the bone-length prior sets the distance (a coarser label)."""
    from fusion.labels.run import label_recording
    from fusion.metrics import abs_mpjpe

    labels = label_recording(recording, SimulatedDetector(sigma_px=3.0, seed=0), lift="mono")
    err, n = _mpjpe_vs_truth(labels, recording)
    assert n >= 16 and err < 0.10
    with RecordingReader(recording) as rec:
        gt = rec.read("groundtruth", "joints")
    ok = np.isfinite(labels.joints[:, 0]).all((-1, -2))
    # the person's height is a prior (1.75 m): distance errors of a few tens of cm are expected
    assert abs_mpjpe(labels.joints[ok, 0], gt[ok, 0]).mean() < 0.35
    assert set(np.unique(labels.method[labels.confidence > 0])) == {3}


def test_pseudo_label_training_config_runs_a_step(tmp_path: Path) -> None:
    """configs/models/radarpose_lite_pseudo.yaml: its training joints are pseudo-labels (close to,
    but not, the truth) and the real-time model trains on them."""
    import dataclasses

    import h5py
    import torch

    import fusion.labels.run as run
    from drivers import load_rig
    from fusion.data.cache import FeatureCacheDataset
    from fusion.data.simgen import GenSpec, _sequence
    from fusion.metrics import mpjpe
    from fusion.models import build_model
    from fusion.models.realtime import loss_fn
    from fusion.train import Trainer, load_train_config, seed_everything

    cfg = load_train_config(
        Path(__file__).parent.parent / "configs/models/radarpose_lite_pseudo.yaml"
    )
    assert cfg.data.labels == "pseudo" and cfg.data.label_sigma_px == 3.0
    spec = GenSpec(sequences=1, seconds=1.0, seed=cfg.data.train_seed, rig=cfg.data.rig,
                   labels=cfg.data.labels, label_sigma_px=cfg.data.label_sigma_px)  # fmt: skip
    seen = {}
    real = run.label_simulation

    def spy(sim: object, times: np.ndarray, *a: object, **k: object) -> object:
        seen["truth"] = np.stack([sim.joints(float(t)) for t in times])  # type: ignore[attr-defined]
        return real(sim, times, *a, **k)  # type: ignore[arg-type]

    with mock.patch.object(run, "label_simulation", spy):
        fh, fv, joints, seq = _sequence((spec, 0))
    truth = seen["truth"]
    n = truth.shape[1]
    ok = np.isfinite(joints[:, :n]).all((-1, -2))
    assert ok.mean() > 0.8
    err = [float(mpjpe(joints[ok[:, p], p], truth[ok[:, p], p]).mean()) for p in range(n)]
    assert all(0.005 < e < 0.25 for e in err)  # labels: near the truth, never equal to it

    cache = tmp_path / "pseudo.h5"
    with h5py.File(cache, "w") as f:  # the layout fusion.data.simgen.generate writes
        for key, arr in (("fh", fh), ("fv", fv), ("joints", joints), ("sequence", seq)):
            f[key] = arr
    radar = load_rig(cfg.data.rig).radars[load_rig(cfg.data.rig).reference]
    tiny = dataclasses.replace(
        cfg,
        model_args={"width": 8, "blocks": 1, "deep_blocks": 1},
        optim=dataclasses.replace(cfg.optim, epochs=1, batch_size=5),
    )
    seed_everything(0)
    model = build_model(tiny.model, **tiny.model_args)
    before = [p.detach().clone() for p in model.parameters()]
    trainer = Trainer(
        tiny, model, FeatureCacheDataset(cache, radar), None, loss_fn, tmp_path / "run"
    )
    row = trainer.fit()
    assert np.isfinite(row["loss"])
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
