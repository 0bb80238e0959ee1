"""Batch preprocessing: recordings, HuPR or RT-Pose sequence folders → the networks' inputs.

Recordings give HuPR heatmaps, point clouds, micro-Doppler or RT-Pose tensors; HuPR folders give
HuPR's heatmap files; RT-Pose folders (the MMWCAS capture) give RT-Pose's Cartesian cubes and
training tensors. Outputs are written as they are computed and resumed when interrupted: an HDF5
output keeps a ``done`` count per stream; a folder output skips frames whose ``.npy`` exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import h5py
import numpy as np

from drivers import (
    MmwcasCapture,
    RadarConfig,
    RecordingReader,
    Rig,
    StreamSpec,
    find_config,
    load_radar_config,
)
from drivers.config import from_dict
from drivers.progress import progress

from .checks import cube_from_words
from .doppler import doppler_profiles
from .errors import SensingError
from .hupr import HuprHeatmapper
from .pointcloud import FIELDS, PointCloudExtractor
from .rtpose import CascadeCalibration, Resampler, RtposeProcessor, training_tensor

MODES = ("hupr", "points", "microdoppler", "rtpose")
RTPOSE_TENSORS = ("roi", "f16")


def _radar_of(info_config: str, source: str) -> RadarConfig:
    import yaml

    return from_dict(RadarConfig, yaml.safe_load(info_config), source=source)


def _frames_of(
    rec: RecordingReader, stream: str, start: int
) -> Iterator[tuple[int, np.ndarray, int]]:
    g = rec.group(stream)
    n = rec.streams[stream].frames
    stamps = rec.stamps(stream)
    for i in range(start, n):
        yield i, g["adc"][i], int(stamps[i])


def _rtpose_fn(
    radar: RadarConfig,
    tensor: str,
    resampler: Resampler,
    calibration: CascadeCalibration | None,
) -> tuple[Callable[[np.ndarray], np.ndarray], tuple[int, ...], type]:
    """The per-frame function, its output shape and dtype for ``--to rtpose``."""
    proc = RtposeProcessor(radar, calibration, resampler)
    half = proc.n_doppler // 2
    if tensor == "roi":
        return proc.roi, (half, 16, 64, 160), np.float32
    return proc.tensor, (half, 32, 128, 256), np.float16


def _check_mode(mode: str, tensor: str) -> None:
    if mode not in MODES:
        raise SensingError(f"unknown output {mode!r} (choose: {', '.join(MODES)})")
    if tensor not in RTPOSE_TENSORS:
        raise SensingError(f"unknown RT-Pose tensor {tensor!r} (choose: roi, f16)")


def _mode_fn(
    radar: RadarConfig,
    mode: str,
    tensor: str,
    resampler: Resampler,
    calibration: CascadeCalibration | None,
) -> tuple[Callable[[np.ndarray], np.ndarray], str, tuple[int, ...], type]:
    """``mode``'s function of one radar cube, its dataset name, per-frame shape and dtype
    (``points`` gives ``(n, len(FIELDS))`` rows a frame, appended to one dataset)."""
    if mode == "hupr":
        return HuprHeatmapper(radar), "heatmap", (16, 64, 64, 8), np.complex64
    if mode == "rtpose":
        fn, shape, dtype = _rtpose_fn(radar, tensor, resampler, calibration)
        return fn, tensor, shape, dtype
    if mode == "points":
        return PointCloudExtractor(radar), "points", (len(FIELDS),), np.float32
    return (
        lambda cube: doppler_profiles(cube, radar),
        "doppler_range",
        (radar.n_loops, radar.n_samples),
        np.float32,
    )


def _datasets(
    g: h5py.Group, name: str, shape: tuple[int, ...], dtype: type, frames: int | None
) -> None:
    """A stream's output datasets: ``frames`` long, or growing as frames come when None."""
    n = frames or 0
    grow = frames is None
    if name == "points":
        if "points" not in g:
            g.create_dataset(
                "points", (0, *shape), np.float32, maxshape=(None, *shape), chunks=(4096, *shape)
            )
            g.create_dataset("points_count", (n,), np.int64, maxshape=(None,) if grow else None)
            g.attrs["fields"] = list(FIELDS)
    elif grow:
        g.create_dataset(name, (0, *shape), dtype, maxshape=(None, *shape), chunks=(1, *shape))
    else:
        g.require_dataset(name, (n, *shape), dtype, chunks=(1, *shape))
    if grow:
        g.create_dataset("stamp_ns", (0,), np.int64, maxshape=(None,))
    else:
        g.require_dataset("stamp_ns", (n,), np.int64)


def _store(g: h5py.Group, name: str, i: int, res: np.ndarray, stamp: int) -> None:
    """Frame ``i``'s result and stamp; ``done`` is set after the data, so a crash never marks an
    unwritten frame done."""
    if name == "points":
        pts = g["points"]
        pts.resize(pts.shape[0] + len(res), axis=0)
        pts[pts.shape[0] - len(res) :] = res
        per_frame = g["points_count"]
        res = np.int64(len(res))
    else:
        per_frame = g[name]
    for ds in (per_frame, g["stamp_ns"]):
        if ds.shape[0] <= i:
            ds.resize(i + 1, axis=0)
    per_frame[i] = res
    g["stamp_ns"][i] = stamp
    g.attrs["done"] = i + 1


def preprocess_recording(
    src: str | Path,
    out: str | Path,
    mode: str,
    *,
    tensor: str = "roi",
    resampler: Resampler = "reference",
    calibration: CascadeCalibration | None = None,
) -> dict[str, int]:
    """Process every radar stream of a recording into ``out`` (HDF5); returns frames written per stream.

    ``mode`` ``rtpose`` writes per stream ``roi`` float32 ``(frames, 32, 16, 64, 160)`` (the
    network input) or ``f16`` float16 ``(frames, 32, 32, 128, 256)`` (``tensor``), using the
    ``resampler`` and optional cascade ``calibration``.
    """
    _check_mode(mode, tensor)
    written: dict[str, int] = {}
    with RecordingReader(src) as rec, h5py.File(out, "a") as f:
        radars = [n for n, s in rec.streams.items() if s.kind == "radar_adc"]
        if not radars:
            raise SensingError(f"{src}: the recording has no raw radar streams")
        f.attrs["source"] = str(Path(src).resolve())
        f.attrs["mode"] = mode
        for name in radars:
            info = rec.streams[name]
            radar = _radar_of(info.config, f"{src}:{name}")
            g = f.require_group(name)
            done = int(g.attrs.get("done", 0))
            fn, ds, shape, dtype = _mode_fn(radar, mode, tensor, resampler, calibration)
            if mode == "rtpose":
                g.attrs["resampler"] = resampler
            _datasets(g, ds, shape, dtype, info.frames)
            for i, words, stamp in progress(
                _frames_of(rec, name, done), total=info.frames - done, desc=f"{name} -> {mode}"
            ):
                _store(g, ds, i, fn(cube_from_words(words, radar)), stamp)
                f.flush()
            written[name] = int(g.attrs.get("done", 0))
    return written


def stream_radars(
    specs: Mapping[str, StreamSpec], rig: Rig | None = None, source: str = ""
) -> dict[str, RadarConfig]:
    """The config of every raw radar stream of a file source: its own recorded YAML, else the
    rig's radar of that name."""
    out: dict[str, RadarConfig] = {}
    for name, spec in specs.items():
        if spec.kind != "radar_adc":
            continue
        if spec.config:
            out[name] = _radar_of(spec.config, f"{source}:{name}")
        elif rig is not None and name in rig.radars:
            out[name] = rig.radars[name]
        else:
            raise SensingError(
                f"{source}: radar stream {name!r} carries no radar config and "
                + ("the rig has no radar of that name" if rig else "no rig was given (--rig)")
            )
    if not out:
        raise SensingError(
            f"{source}: no raw radar (ADC) stream to preprocess "
            f"(streams: {', '.join(f'{n} {s.kind}' for n, s in specs.items()) or 'none'})"
        )
    return out


class FramePreprocessor:
    """``mode`` over radar ADC frames as they come (a replay), each radar's results appended to
    ``out`` (a new HDF5 file, laid out as :func:`preprocess_recording` writes it) when given."""

    def __init__(
        self,
        radars: Mapping[str, RadarConfig],
        mode: str,
        out: str | Path | None = None,
        *,
        tensor: str = "roi",
        resampler: Resampler = "reference",
        calibration: CascadeCalibration | None = None,
        source: str = "",
    ) -> None:
        _check_mode(mode, tensor)
        if out is not None and Path(out).exists():
            raise SensingError(f"{out}: already exists; choose a new name")
        self.radars, self.mode = dict(radars), mode
        self._fns = {
            n: _mode_fn(r, mode, tensor, resampler, calibration) for n, r in self.radars.items()
        }
        self.counts = dict.fromkeys(self.radars, 0)
        self._file: h5py.File | None = None
        if out is not None:
            self._file = h5py.File(out, "w")
            self._file.attrs["source"] = source
            self._file.attrs["mode"] = mode
            for n, (_, ds, shape, dtype) in self._fns.items():
                g = self._file.create_group(n)
                if mode == "rtpose":
                    g.attrs["resampler"] = resampler
                _datasets(g, ds, shape, dtype, None)

    def __call__(self, sensor: str, words: np.ndarray, stamp_ns: int) -> np.ndarray | None:
        """The result for one frame's int16 ADC words ``(words,)`` of ``sensor`` (shape as
        :func:`preprocess_recording` stores a frame); None for a radar not being processed."""
        if sensor not in self._fns:
            return None
        fn, ds, _, _ = self._fns[sensor]
        res = fn(cube_from_words(words, self.radars[sensor]))
        if self._file is not None:
            _store(self._file[sensor], ds, self.counts[sensor], res, stamp_ns)
        self.counts[sensor] += 1
        return res

    def close(self) -> None:
        if self._file is not None and self._file.id.valid:
            self._file.close()

    def __enter__(self) -> FramePreprocessor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def hupr_sequence_to_npy(
    seq_dir: str | Path,
    out_dir: str | Path,
    radar: RadarConfig | None = None,
    dtype: str = "complex64",
) -> dict[str, int]:
    """HuPR drop-in: ``seq_dir/{hori,vert}/adc_data.bin`` → ``out_dir/{hori,vert}/%09d.npy`` heatmaps.

    The files have HuPR's stored layout ``(16, 64, 64, 8)``; HuPR's own loader reads them unchanged.
    A file length that is not a whole number of frames is reported, and the partial frame skipped.
    """
    radar = radar or load_radar_config(find_config("hupr_iwr1843", "radars"))
    hm = HuprHeatmapper(radar)
    counts = {}
    for view in ("hori", "vert"):
        src = Path(seq_dir) / view / "adc_data.bin"
        if not src.is_file():
            raise SensingError(
                f"{src}: not found (a HuPR sequence folder has hori/ and vert/ with adc_data.bin)"
            )
        words = np.memmap(src, dtype=np.int16, mode="r")
        per = radar.adc_words_per_frame
        n, rest = divmod(len(words), per)
        if rest:
            import warnings

            warnings.warn(
                f"{src}: {rest * 2} trailing bytes are not a whole frame and were skipped",
                stacklevel=2,
            )
        dst = Path(out_dir) / view
        dst.mkdir(parents=True, exist_ok=True)
        for i in progress(range(n), total=n, desc=f"{view} heatmaps"):
            path = dst / f"{i:09d}.npy"
            if path.exists():
                continue
            out = hm(cube_from_words(np.asarray(words[i * per : (i + 1) * per]), radar))
            _save(path, out.astype(dtype))
        counts[view] = n
    return counts


def rtpose_capture_folder(seq_dir: str | Path) -> Path:
    """The folder holding a sequence's MMWCAS chip files: ``radar/bin``, ``radar`` or the folder itself."""
    d = Path(seq_dir)
    for c in (d / "radar" / "bin", d / "radar", d):
        if any(c.glob("master_*_data.bin")):
            return c
    raise SensingError(
        f"{d}: no MMWCAS capture found in radar/bin/, radar/ or the folder itself "
        "(expected master_0000_data.bin, slave1_0000_data.bin, ... with _idx.bin files)"
    )


def rtpose_sequence_to_npy(
    seq_dir: str | Path,
    out_dir: str | Path,
    *,
    radar: RadarConfig | None = None,
    calibration: CascadeCalibration | None = None,
    resampler: Resampler = "reference",
    write_complex: bool = True,
) -> dict[str, int]:
    """RT-Pose drop-in: an MMWCAS capture → ``out_dir/radar/npy_DZYX_complex/`` and ``out_dir/DZYX_npy_f16/``.

    As RT-Pose's tooling: the first frame of a capture is skipped (TDA2), frames are named by their
    1-based index in the capture, ``%06d.npy`` (so the first file is ``000002.npy``); the complex
    cube is complex64 ``(64, 32, 128, 256)`` (``4Dradar2xyz.py``, 512 MiB a frame), the training
    tensor float16 ``(32, 32, 128, 256)``, which RT-Pose's loader reads by its radar frame id.
    Splits after the first continue the numbering (RT-Pose's MATLAB restarts it per split).
    """
    radar = radar or load_radar_config(find_config("rtpose_mmwcas", "radars"))
    cap = MmwcasCapture(rtpose_capture_folder(seq_dir), radar)
    proc = RtposeProcessor(radar, calibration, resampler)
    cplx_dir = Path(out_dir) / "radar" / "npy_DZYX_complex"
    f16_dir = Path(out_dir) / "DZYX_npy_f16"
    for d in (cplx_dir, f16_dir) if write_complex else (f16_dir,):
        d.mkdir(parents=True, exist_ok=True)
    written = {"complex": 0, "f16": 0}
    n = len(cap)
    for i in progress(range(1, n), total=max(n - 1, 0), desc="RT-Pose tensors"):
        name = f"{i + 1:06d}.npy"
        want_c = write_complex and not (cplx_dir / name).exists()
        if not want_c and (f16_dir / name).exists():
            continue
        frame = cap.frame(i)
        if want_c:
            cube = proc.dzyx(frame)
            _save(cplx_dir / name, cube)
            written["complex"] += 1
            f16 = training_tensor(cube)
        else:
            f16 = proc.tensor(frame)
        if not (f16_dir / name).exists():
            _save(f16_dir / name, f16)
            written["f16"] += 1
    return written


def _save(path: Path, arr: np.ndarray) -> None:
    """np.save through a temporary name, so an interrupted write never looks finished."""
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, arr)
    tmp.replace(path)
