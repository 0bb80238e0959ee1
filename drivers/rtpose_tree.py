"""The RT-Pose benchmark's folder tree: MMWCAS captures, LiDAR clouds, 3D labels, calibration, tensors.

Layout (facts from ipl-uw/RT-POSE's loader ``det3d/datasets/cruw_pose/cruw_pose.py`` and configs,
and the processing scripts of wshanmu/RT-POSE ``data_processing/``)::

    file_meta.txt                         one line per sequence: ``<seq id>,<seq name>``
    calib.json                            radar.extrinsic (16 floats, LiDAR -> radar),
                                          left_cam.extrinsic (16, LiDAR -> left camera),
                                          left_cam.intrinsic (12, a 3 x 4 projection)
    Train.json, Test.json [, Val.json]    {seq id: {frame: [{"Radar_frameID": id, "pose": 15 x [x, y, z]}]}}
    Keypoints_meta.txt                    joint names (drivers.skeleton.RTPOSE15 order)
    sequences/<seq id>/
        camera/left/, camera/right/       stereo images (named by frame)
        lidar/NNNNNN.pcd                  Livox clouds, x y z intensity
        radar/bin/                        the MMWCAS capture (drivers.adcfile)
        radar/npy_DZYX_complex/NNNNNN.npy complex64 (64, 32, 128, 256), generated
        DZYX_npy_f16/NNNNNN.npy           float16 (32, 32, 128, 256) training tensor, generated

``root`` may hold these paths directly or in an ``RT-Pose/`` folder. Poses are metres in the
radar frame (x forward, y left, z up), one person per frame. Tensor files are named by the
label's ``Radar_frameID`` (RT-Pose's tooling numbers them from the 1-based capture index with
the first frame skipped, as :func:`sensing.preprocess.rtpose_sequence_to_npy` does).

RT-Pose's loader drops four sequences by name (:data:`SKIPPED`), and its processing scripts
mark the raw radar data of four sequence ids as damaged (:data:`DAMAGED`). This reader refuses
both with a message saying why, unless ``allow_excluded=True``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .adcfile import MmwcasCapture
from .calibfile import Calibration
from .config import load_json
from .errors import DriversError
from .radar import RadarConfig, load_radar_config
from .rig import CameraConfig, find_config
from .source import Frame
from .transforms import check_transform

N_JOINTS = 15
SKIPPED = ("2023_0718_1642", "2023_0726_1602", "2023_0726_1619", "2023_0726_1620")
DAMAGED = ("44", "68", "107", "155")
SPLIT_FILES = {"train": "Train.json", "val": "Val.json", "test": "Test.json"}
TENSORS = {  # kind -> (folder under the sequence, shape, dtype)
    "f16": ("DZYX_npy_f16", (32, 32, 128, 256), np.dtype(np.float16)),
    "complex": ("radar/npy_DZYX_complex", (64, 32, 128, 256), np.dtype(np.complex64)),
}
# sensor names of the built-in rtpose rig
RADAR, LIDAR, CAM_LEFT = "radar", "lidar", "cam-left"


@dataclass(frozen=True)
class RtposeLabel:
    """One labelled frame: ``pose`` float32 ``(15, 3)`` metres in the radar frame."""

    seq: str
    frame: str
    radar_frame: str  # the label's Radar_frameID as written
    pose: np.ndarray

    @property
    def radar_index(self) -> int:
        return int(self.radar_frame)


# -- PCD ------------------------------------------------------------------------------------
_PCD_TYPES = {("F", 4): "f4", ("F", 8): "f8", ("U", 1): "u1", ("U", 2): "u2", ("U", 4): "u4",
              ("U", 8): "u8", ("I", 1): "i1", ("I", 2): "i2", ("I", 4): "i4", ("I", 8): "i8"}  # fmt: skip


def read_pcd(path: str | Path) -> np.ndarray:
    """A PCD file (``DATA ascii`` or ``binary``) → float32 ``(N, 4)`` x, y, z, intensity.

    Clouds without an ``intensity`` field get intensity 0. ``binary_compressed`` (LZF) is refused
    with a message: convert it with ``pcl_convert_pcd_ascii_binary`` first.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise DriversError(f"{p}: not found") from None
    head: dict[str, list[str]] = {}
    pos = 0
    while "DATA" not in head:
        end = raw.find(b"\n", pos)
        if end < 0:
            raise DriversError(f"{p}: PCD header ends before its DATA line")
        line = raw[pos:end].decode("ascii", "replace").strip()
        pos = end + 1
        if line and not line.startswith("#"):
            key, *vals = line.split()
            head[key.upper()] = vals
    for key in ("FIELDS", "SIZE", "TYPE"):
        if key not in head:
            raise DriversError(f"{p}: PCD header has no {key} line")
    fields = head["FIELDS"]
    count = [int(c) for c in head.get("COUNT", ["1"] * len(fields))]
    sizes, types = [int(s) for s in head["SIZE"]], head["TYPE"]
    if not len(fields) == len(sizes) == len(types) == len(count):
        raise DriversError(
            f"{p}: PCD header lists {len(fields)} fields, {len(sizes)} sizes, {len(types)} types, {len(count)} counts"
        )
    missing = [f for f in ("x", "y", "z") if f not in fields]
    if missing:
        raise DriversError(
            f"{p}: PCD has no {', '.join(missing)} field (fields: {' '.join(fields)})"
        )
    n = int(head.get("POINTS", [0])[0]) if "POINTS" in head else 0
    if "POINTS" not in head:
        w, h = head.get("WIDTH", ["0"]), head.get("HEIGHT", ["1"])
        n = int(w[0]) * int(h[0])
    mode = head["DATA"][0].lower() if head["DATA"] else ""
    dtype = []
    for i, (f, s, t, c) in enumerate(zip(fields, sizes, types, count, strict=True)):
        code = _PCD_TYPES.get((t.upper(), s))
        if code is None:
            raise DriversError(f"{p}: PCD field {f!r} has unknown TYPE {t} SIZE {s}")
        dtype.append((f"{f}_{i}" if f == "_" else f, "<" + code, (c,) if c > 1 else ()))
    rec = np.dtype(dtype)
    if mode == "binary":
        body = raw[pos:]
        if len(body) < n * rec.itemsize:
            raise DriversError(
                f"{p}: PCD says {n} points of {rec.itemsize} B = {n * rec.itemsize} B, the file holds {len(body)} B"
            )
        data = np.frombuffer(body, rec, count=n)
        cols = [data[k].astype(np.float32) for k in ("x", "y", "z")]
        inten = data["intensity"].astype(np.float32) if "intensity" in fields else None
    elif mode == "ascii":
        text = raw[pos:].decode("ascii", "replace").split()
        width = sum(count)
        if len(text) < n * width:
            raise DriversError(
                f"{p}: PCD says {n} points of {width} values, found {len(text)} values"
            )
        table = np.asarray(text[: n * width], np.float64).reshape(n, width)
        start = np.cumsum([0, *count])
        col = {f: table[:, start[i]] for i, f in enumerate(fields)}
        cols = [col[k].astype(np.float32) for k in ("x", "y", "z")]
        inten = col["intensity"].astype(np.float32) if "intensity" in col else None
    else:
        raise DriversError(
            f"{p}: PCD DATA {mode!r} is not supported (ascii or binary; convert binary_compressed first)"
        )
    out = np.zeros((n, 4), np.float32)
    out[:, 0], out[:, 1], out[:, 2] = cols
    if inten is not None:
        out[:, 3] = inten
    return out


# -- the tree -------------------------------------------------------------------------------
def _frame_name(frame: str | int) -> str:
    s = str(frame)
    return f"{int(s):06d}" if s.isdigit() else s


class RtposeTree:
    """Read an RT-Pose tree; ``allow_excluded`` lets the skipped and damaged sequences through."""

    def __init__(
        self,
        root: str | Path,
        *,
        radar: RadarConfig | None = None,
        allow_excluded: bool = False,
        start_ns: int = 0,
    ) -> None:
        r = Path(root)
        if not r.is_dir():
            raise DriversError(f"{r}: not a folder")
        self.root = next(
            (
                c
                for c in (r, r / "RT-Pose")
                if (c / "sequences").is_dir() or (c / "file_meta.txt").is_file()
            ),
            r,
        )
        self.seq_dir = self.root / "sequences"
        self.radar = radar or load_radar_config(find_config("rtpose_mmwcas", "radars"))
        self.allow_excluded = allow_excluded
        self.start_ns = start_ns
        self.names = self._read_meta()

    def _read_meta(self) -> dict[str, str]:
        p = self.root / "file_meta.txt"
        if not p.is_file():
            return {}
        out = {}
        for k, line in enumerate(p.read_text().splitlines(), 1):
            if not line.strip():
                continue
            parts = [s.strip() for s in line.split(",")]
            if len(parts) != 2 or not parts[0]:
                raise DriversError(f"{p}: line {k}: expected '<seq id>,<seq name>', got {line!r}")
            out[parts[0]] = parts[1]
        return out

    # -- sequences ------------------------------------------------------------------------
    def sequences(self, *, include_excluded: bool = False) -> list[str]:
        """Sequence ids with a folder under ``sequences/``, numerically sorted."""
        if not self.seq_dir.is_dir():
            return []
        ids = [d.name for d in self.seq_dir.iterdir() if d.is_dir()]
        if not include_excluded:
            ids = [s for s in ids if self.excluded_reason(s) is None]
        return sorted(ids, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))

    def excluded_reason(self, seq: str | int) -> str | None:
        """Why RT-Pose leaves a sequence out, or None."""
        s = str(seq)
        name = self.names.get(s, s)
        if name in SKIPPED:
            return f"sequence {s} ({name}) is one RT-Pose's loader skips"
        if s in DAMAGED:
            return f"sequence {s} has raw radar data RT-Pose's processing marks as damaged"
        return None

    def excluded(self) -> dict[str, str]:
        """Every skipped or damaged sequence named by the tree (folders, file_meta.txt), with the reason."""
        ids = set(self.sequences(include_excluded=True)) | set(self.names)
        return {s: r for s in sorted(ids) if (r := self.excluded_reason(s)) is not None}

    def _check(self, seq: str | int) -> str:
        s = str(seq)
        reason = self.excluded_reason(s)
        if reason is not None and not self.allow_excluded:
            raise DriversError(f"{reason}; pass allow_excluded=True to read it anyway")
        return s

    def sequence_path(self, seq: str | int) -> Path:
        return self.seq_dir / self._check(seq)

    # -- calibration ----------------------------------------------------------------------
    def _calib_doc(self) -> dict:
        p = self.root / "calib.json"
        doc = load_json(p)
        if not isinstance(doc, dict):
            raise DriversError(f"{p}: expected an object of sensors, got {type(doc).__name__}")
        return doc

    @staticmethod
    def _matrix(doc: dict, sensor: str, key: str, size: int, source: Path) -> np.ndarray:
        try:
            v = np.asarray(doc[sensor][key], np.float64).reshape(-1)
        except (KeyError, TypeError):
            raise DriversError(f"{source}: no {sensor}.{key}") from None
        if v.size != size:
            raise DriversError(f"{source}: {sensor}.{key} has {v.size} numbers, expected {size}")
        return v

    def calibration(self) -> Calibration:
        """``T_radar_lidar`` and ``T_cam-left_lidar`` from ``calib.json``.

        A projection whose fourth column is not zero (``P = K [I | t]``) has ``t`` folded into the
        camera's extrinsic, so ``K`` alone is the camera's intrinsic matrix.
        """
        p = self.root / "calib.json"
        doc = self._calib_doc()
        tf = {}
        try:
            tf[f"T_{RADAR}_{LIDAR}"] = check_transform(
                self._matrix(doc, "radar", "extrinsic", 16, p).reshape(4, 4),
                "radar.extrinsic",
                tol=1e-3,
            )
            if "left_cam" in doc:
                T = self._matrix(doc, "left_cam", "extrinsic", 16, p).reshape(4, 4)
                P = self._matrix(doc, "left_cam", "intrinsic", 12, p).reshape(3, 4)
                shift = np.eye(4)
                shift[:3, 3] = np.linalg.solve(P[:, :3], P[:, 3])
                tf[f"T_{CAM_LEFT}_{LIDAR}"] = check_transform(
                    shift @ T, "left_cam.extrinsic", tol=1e-3
                )
        except (ValueError, DriversError) as exc:  # LinAlgError is a ValueError
            raise DriversError(f"{p}: {exc}") from None
        return Calibration(tf, method="RT-Pose calib.json")

    def camera(self, width: int, height: int) -> CameraConfig:
        """The left camera from ``left_cam.intrinsic`` (no distortion; the images are rectified)."""
        P = self._matrix(self._calib_doc(), "left_cam", "intrinsic", 12, self.root / "calib.json")
        K = P.reshape(3, 4)[:, :3]
        return CameraConfig(
            width, height, float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
        )

    # -- labels ---------------------------------------------------------------------------
    def split_path(self, split: str) -> Path:
        if split not in SPLIT_FILES:
            raise DriversError(f"split must be one of {', '.join(SPLIT_FILES)}, got {split!r}")
        return self.root / SPLIT_FILES[split]

    def splits(self) -> list[str]:
        """The splits whose label file is present."""
        return [s for s in SPLIT_FILES if self.split_path(s).is_file()]

    def labels(self, split: str) -> dict[str, list[RtposeLabel]]:
        """Labels by sequence id (file order), excluded sequences left out unless allowed."""
        path = self.split_path(split)
        doc = load_json(path, f"splits present: {', '.join(self.splits()) or 'none'}")
        if not isinstance(doc, dict):
            raise DriversError(
                f"{path}: expected {{seq: {{frame: [...]}}}}, got {type(doc).__name__}"
            )
        out: dict[str, list[RtposeLabel]] = {}
        for seq, frames in doc.items():
            if self.excluded_reason(seq) is not None and not self.allow_excluded:
                continue
            if not isinstance(frames, dict):
                raise DriversError(f"{path}: sequence {seq}: expected {{frame: [...]}}")
            labs = out.setdefault(str(seq), [])
            for frame, objs in frames.items():
                for i, obj in enumerate(objs if isinstance(objs, list) else [objs]):
                    labs.append(self._label(path, str(seq), str(frame), i, obj))
        return out

    @staticmethod
    def _label(path: Path, seq: str, frame: str, i: int, obj: object) -> RtposeLabel:
        where = f"{path}: sequence {seq}, frame {frame}, entry {i}"
        if not isinstance(obj, dict) or not {"Radar_frameID", "pose"} <= set(obj):
            raise DriversError(f"{where}: expected keys Radar_frameID and pose")
        rid = str(obj["Radar_frameID"])
        if not rid.isdigit():
            raise DriversError(f"{where}: Radar_frameID {rid!r} is not a frame number")
        pose = np.asarray(obj["pose"], np.float32)
        if pose.shape != (N_JOINTS, 3):
            raise DriversError(f"{where}: expected pose (15, 3) metres, got {pose.shape}")
        return RtposeLabel(seq, frame, rid, pose)

    # -- radar ----------------------------------------------------------------------------
    def capture(self, seq: str | int, *, allow_truncated: bool = False) -> MmwcasCapture:
        """The sequence's MMWCAS capture (``radar/bin``)."""
        d = self.sequence_path(seq) / "radar" / "bin"
        if not d.is_dir():
            raise DriversError(f"{d}: not found (sequence {seq} has no raw radar capture)")
        return MmwcasCapture(d, self.radar, allow_truncated=allow_truncated)

    def radar_frames(self, seq: str | int) -> Iterator[Frame]:
        """``radar_adc`` frames ``{"adc": int16 (4, W/4)}`` with the capture card's stamps, counter = index."""
        cap = self.capture(seq)
        for k in range(len(cap)):
            stamp = self.start_ns + int(cap.timestamps_ns[k])
            yield Frame(RADAR, "radar_adc", stamp, k, {"adc": cap.words(k)})

    def tensor_path(self, seq: str | int, radar_frame: str | int, kind: str = "f16") -> Path:
        """The generated tensor file of a radar frame (``%06d.npy``, else the id as written)."""
        if kind not in TENSORS:
            raise DriversError(f"tensor kind must be one of {', '.join(TENSORS)}, got {kind!r}")
        d = self.sequence_path(seq) / TENSORS[kind][0]
        p = d / f"{_frame_name(radar_frame)}.npy"
        alt = d / f"{radar_frame}.npy"
        return alt if not p.is_file() and alt.is_file() else p

    def tensor_frames(self, seq: str | int, kind: str = "f16") -> list[int]:
        """Radar frame ids with a tensor file of ``kind``, ascending."""
        d = self.tensor_path(seq, 0, kind).parent
        return (
            sorted(int(p.stem) for p in d.glob("*.npy") if p.stem.isdigit()) if d.is_dir() else []
        )

    def tensor(self, seq: str | int, radar_frame: str | int, kind: str = "f16") -> np.ndarray:
        """float16 ``(32, 32, 128, 256)`` (``f16``) or complex64 ``(64, 32, 128, 256)`` (``complex``), memory-mapped."""
        p = self.tensor_path(seq, radar_frame, kind)
        if not p.is_file():
            raise DriversError(
                f"{p}: not found (generate it with radarpose preprocess --to rtpose)"
            )
        try:
            a = np.load(p, mmap_mode="r")
        except ValueError as exc:
            raise DriversError(f"{p}: not a .npy array ({exc})") from None
        _, shape, dtype = TENSORS[kind]
        if a.shape != shape or a.dtype != dtype:
            raise DriversError(f"{p}: expected {dtype} {shape}, got {a.dtype} {a.shape}")
        return a

    # -- LiDAR and cameras ----------------------------------------------------------------
    def lidar_path(self, seq: str | int, frame: str | int) -> Path:
        return self.sequence_path(seq) / "lidar" / f"{_frame_name(frame)}.pcd"

    def lidar(self, seq: str | int, frame: str | int) -> np.ndarray:
        """float32 ``(N, 4)`` x, y, z, intensity in the LiDAR frame."""
        return read_pcd(self.lidar_path(seq, frame))

    def lidar_frames(self, seq: str | int) -> Iterator[Frame]:
        """``lidar`` frames ``{"points": (N, 4)}`` in file order, stamped at the radar frame period."""
        d = self.sequence_path(seq) / "lidar"
        files = sorted(d.glob("*.pcd"), key=lambda q: (len(q.stem), q.stem)) if d.is_dir() else []
        period = int(round(self.radar.frame_period * 1e9))
        for k, p in enumerate(files):
            counter = int(p.stem) if p.stem.isdigit() else k
            yield Frame(
                LIDAR, "lidar", self.start_ns + k * period, counter, {"points": read_pcd(p)}
            )

    def image_path(self, seq: str | int, frame: str | int, side: str = "left") -> Path | None:
        """The camera image of a frame (any extension), or None."""
        if side not in ("left", "right"):
            raise DriversError(f"side must be left or right, got {side!r}")
        d = self.sequence_path(seq) / "camera" / side
        for stem in dict.fromkeys((_frame_name(frame), str(frame))):
            hits = sorted(d.glob(f"{stem}.*")) if d.is_dir() else []
            if hits:
                return hits[0]
        return None
