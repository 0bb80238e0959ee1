"""Batch preprocessing: recordings or HuPR sequence folders → heatmaps, point clouds, micro-Doppler.

Outputs are written as they are computed and resumed when interrupted: an HDF5 output keeps a
``done`` count per stream; a HuPR folder output skips frames whose ``.npy`` already exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import h5py
import numpy as np

from drivers import RadarConfig, RecordingReader, find_config, load_radar_config
from drivers.config import from_dict
from drivers.progress import progress

from .checks import cube_from_words
from .doppler import doppler_profiles
from .errors import SensingError
from .hupr import HuprHeatmapper
from .pointcloud import FIELDS, PointCloudExtractor

MODES = ("hupr", "points", "microdoppler")


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


def preprocess_recording(src: str | Path, out: str | Path, mode: str) -> dict[str, int]:
    """Process every radar stream of a recording into ``out`` (HDF5); returns frames written per stream."""
    if mode not in MODES:
        raise SensingError(f"unknown output {mode!r} (choose: {', '.join(MODES)})")
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
            out = hm(cube_from_words(np.asarray(words[i * per : (i + 1) * per]), radar)).astype(
                dtype
            )
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, out)
            tmp.replace(path)
        counts[view] = n
    return counts
