"""``radarpose infer``: a simulated recording in, skeletons near the truth out, in three formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from drivers import RecordingReader, load_rig
from drivers.sim import GROUNDTRUTH, SimConfig, Simulation, simulate_to_recording
from fusion.cli import main
from fusion.weights import RADARPOSE_LITE, RADARPOSE_LITE_CASCADE

pytestmark = pytest.mark.skipif(not RADARPOSE_LITE.is_file(), reason="shipped weights not built")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rig = load_rig("hupr")
    sim = Simulation(rig, SimConfig(people=1, seconds=1.5, seed=21, motions=["walk"]))
    out = tmp_path_factory.mktemp("infer") / "rec.h5"
    simulate_to_recording(sim, out, progress=False, sensors=["radar-h", "radar-v", GROUNDTRUTH])
    return out


def test_infer_writes_h5_json_and_bag_that_agree(recording: Path, tmp_path: Path) -> None:
    h5, js, bag = tmp_path / "s.h5", tmp_path / "s.json", tmp_path / "s.bag"
    for out in (h5, js, bag):
        assert main(["-q", "infer", str(recording), str(out)]) == 0
    doc = json.loads(js.read_text())
    with RecordingReader(recording) as rec:
        n_pairs = rec.streams["radar-h"].frames
        truth = rec.read(GROUNDTRUTH, "joints")  # (N, 1, 15, 3) on the reference radar's clock
        t_stamps = rec.stamps(GROUNDTRUTH)
    assert len(doc["frames"]) >= n_pairs - 1
    errors = []
    for fr in doc["frames"]:
        k = int(np.argmin(np.abs(t_stamps - fr["stamp_ns"])))
        for p in fr["people"]:
            errors.append(np.linalg.norm(np.array(p["joints"])[0] - truth[k, 0, 0]))
    assert len(errors) >= len(doc["frames"]) // 2  # the walker is found in most frames
    assert np.median(errors) < 0.3  # pelvis within 30 cm (README: 105 mm held out)
    with RecordingReader(h5) as r:
        j = r.read("skeletons", "joints")
        pid = r.read("skeletons", "person_id")
    assert len(j) == len(doc["frames"])
    first = next(i for i, fr in enumerate(doc["frames"]) if fr["people"])
    np.testing.assert_allclose(j[first, 0], doc["frames"][first]["people"][0]["joints"], atol=1e-4)
    # one walker keeps one id while tracked
    ids = pid[pid >= 0]
    assert len(np.unique(ids)) <= 2
    from rosbags.highlevel import AnyReader

    with AnyReader([bag]) as reader:
        conns = [c for c in reader.connections if c.msgtype.endswith("Skeleton3D")]
        msgs = [
            reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages(connections=conns)
        ]
    assert len(msgs) == len(doc["frames"])
    m = msgs[first]
    np.testing.assert_allclose(m.joints.reshape(-1, 15, 3)[0], j[first, 0], atol=1e-6)


def test_infer_refuses_a_recording_without_the_radar_pair(
    recording: Path, tmp_path: Path, capsys
) -> None:
    only = tmp_path / "gt.h5"
    sim = Simulation(load_rig("hupr"), SimConfig(people=1, seconds=0.3, seed=1))
    simulate_to_recording(sim, only, progress=False, sensors=[GROUNDTRUTH])
    assert main(["infer", str(only), str(tmp_path / "x.json")]) == 2
    assert "radar" in capsys.readouterr().err
    assert main(["infer", str(recording), str(tmp_path / "x.txt")]) == 2
    assert "write .h5, .json or .bag" in capsys.readouterr().err


@pytest.mark.skipif(not RADARPOSE_LITE_CASCADE.is_file(), reason="cascade weights not built")
def test_infer_on_a_cascade_recording_picks_the_cascade_model(tmp_path: Path, capsys) -> None:
    sim = Simulation(load_rig("rtpose"), SimConfig(people=1, seconds=1.2, seed=4, motions=["walk"]))
    rec = tmp_path / "rt.h5"
    simulate_to_recording(sim, rec, progress=False, sensors=["radar", GROUNDTRUTH])
    js = tmp_path / "s.json"
    assert main(["-q", "infer", str(rec), str(js)]) == 0
    doc = json.loads(js.read_text())
    with RecordingReader(rec) as r:
        truth, t_stamps = r.read(GROUNDTRUTH, "joints"), r.stamps(GROUNDTRUTH)
    assert len(doc["frames"]) == len(t_stamps)  # one radar: every frame, no pairing
    errors = [
        np.linalg.norm(
            np.array(p["joints"])[0] - truth[np.argmin(np.abs(t_stamps - f["stamp_ns"])), 0, 0]
        )
        for f in doc["frames"]
        for p in f["people"]
    ]
    assert len(errors) >= len(doc["frames"]) // 2 and np.median(errors) < 0.3
    # HuPR's two-radar model on the cascade is refused with the reason, not run on wrong inputs
    args = ["infer", str(rec), str(tmp_path / "x.json"), "--weights", str(RADARPOSE_LITE)]
    assert main(args) == 2
    assert "trained on a rig with 2 radar(s); rig 'rtpose' has 1" in capsys.readouterr().err
