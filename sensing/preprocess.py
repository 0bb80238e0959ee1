"""Batch preprocessing: recordings, HuPR or RT-Pose sequence folders → the networks' inputs.

Recordings give HuPR heatmaps, point clouds, micro-Doppler or RT-Pose tensors; HuPR folders give
HuPR's heatmap files; RT-Pose folders (the MMWCAS capture) give RT-Pose's Cartesian cubes and
training tensors. Outputs are written as they are computed and resumed when interrupted: an HDF5
output keeps a ``done`` count per stream; a folder output skips frames whose ``.npy`` exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import h5py
import numpy as np

from drivers import (
    MmwcasCapture,
    RadarConfig,
    RecordingReader,
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
    if mode not in MODES:
        raise SensingError(f"unknown output {mode!r} (choose: {', '.join(MODES)})")
    if tensor not in RTPOSE_TENSORS:
        raise SensingError(f"unknown RT-Pose tensor {tensor!r} (choose: roi, f16)")
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
            fn: Callable[[np.ndarray], np.ndarray]
            if mode == "hupr":
                hm = HuprHeatmapper(radar)
                fn = hm
                ds = g.require_dataset(
                    "heatmap", (info.frames, 16, 64, 64, 8), np.complex64, chunks=(1, 16, 64, 64, 8)
                )
            elif mode == "rtpose":
                fn, shape, dtype = _rtpose_fn(radar, tensor, resampler, calibration)
                g.attrs["resampler"] = resampler
                ds = g.require_dataset(tensor, (info.frames, *shape), dtype, chunks=(1, *shape))
            elif mode == "points":
                fn = PointCloudExtractor(radar)
                if "points" not in g:
                    g.create_dataset(
                        "points",
                        (0, len(FIELDS)),
                        np.float32,
                        maxshape=(None, len(FIELDS)),
                        chunks=(4096, len(FIELDS)),
                    )
                    g.create_dataset("points_count", (info.frames,), np.int64)
                    g.attrs["fields"] = list(FIELDS)
            else:
                fn = lambda cube, r=radar: doppler_profiles(cube, r)  # noqa: E731
                ds = g.require_dataset(
                    "doppler_range",
                    (info.frames, radar.n_loops, radar.n_samples),
                    np.float32,
                    chunks=(1, radar.n_loops, radar.n_samples),
                )
            stamps = g.require_dataset("stamp_ns", (info.frames,), np.int64)
            for i, words, stamp in progress(
                _frames_of(rec, name, done), total=info.frames - done, desc=f"{name} -> {mode}"
            ):
                res = fn(cube_from_words(words, radar))
                if mode == "points":
                    pts = g["points"]
                    pts.resize(pts.shape[0] + len(res), axis=0)
                    pts[pts.shape[0] - len(res) :] = res
                    g["points_count"][i] = len(res)
                else:
                    ds[i] = res
                stamps[i] = stamp
                g.attrs["done"] = (
                    i + 1
                )  # after the data: a crash never marks an unwritten frame done
                f.flush()
            written[name] = int(g.attrs.get("done", 0))
    return written


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
