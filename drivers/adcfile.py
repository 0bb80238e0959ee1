"""MMWCAS cascade captures as the TDA2 capture card writes them, and a writer of the same files.

A capture is four chip files ``{master,slave1,slave2,slave3}_NNNN_data.bin`` with an index file
``..._NNNN_idx.bin`` beside each (``NNNN`` counts the card's file splits). A data file is the chip's
frames back to back with no header; one frame is ``n_loops x n_tx`` chirps, per chirp per sample
the chip's four receivers as int16 ``I, Q`` (layout ``mmwcas`` of :mod:`drivers.adc`). The chips
carry RX 0-3 (master), 4-7 (slave1), 8-11 (slave2), 12-15 (slave3).

An index file (facts from TI's mmWave Studio cascade scripts, ``getValidNumFrames.m``) is a
24-byte header ``u32 tag, u32 version, u32 flags, u32 num_frames, u64 data_size`` followed by one
48-byte entry per frame ``u16 tag, u16 version, u32 flags, u16 width, u16 height,
u32 meta[4], u32 size, u64 timestamp_ns, u64 offset`` (little-endian, naturally aligned):
``size`` bytes of the frame start at ``offset`` in the data file; ``timestamp_ns`` is the card's
clock. TI's and RT-Pose's readers seek to ``frame * frame_bytes``; here the entry's offset is used
and checked against that.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .adc import N_CASCADE_CHIPS, pack_frame, unpack_frame
from .errors import DriversError
from .radar import RadarConfig

CHIPS = ("master", "slave1", "slave2", "slave3")
IDX_HEADER = np.dtype(
    [
        ("tag", "<u4"),
        ("version", "<u4"),
        ("flags", "<u4"),
        ("num_frames", "<u4"),
        ("data_size", "<u8"),
    ]
)
IDX_ENTRY = np.dtype(
    [
        ("tag", "<u2"),
        ("version", "<u2"),
        ("flags", "<u4"),
        ("width", "<u2"),
        ("height", "<u2"),
        ("meta", "<u4", (4,)),
        ("size", "<u4"),
        ("timestamp_ns", "<u8"),
        ("offset", "<u8"),
    ]
)
assert IDX_HEADER.itemsize == 24 and IDX_ENTRY.itemsize == 48
_DATA_RE = re.compile(r"^(master|slave1|slave2|slave3)_(\d+)_data\.bin$")


@dataclass(frozen=True)
class CaptureIndex:
    """One ``_idx.bin``: frame count, bytes written, and per frame its size, stamp and offset."""

    num_frames: int
    data_size: int
    sizes: np.ndarray  # (num_frames,) int64 bytes
    timestamps_ns: np.ndarray  # (num_frames,) int64, the capture card's clock
    offsets: np.ndarray  # (num_frames,) int64 byte offsets into the data file


def read_idx(path: str | Path) -> CaptureIndex:
    """Parse an ``_idx.bin`` file; a file shorter than its header says is an error."""
    p = Path(path)
    raw = p.read_bytes()
    if len(raw) < IDX_HEADER.itemsize:
        raise DriversError(
            f"{p}: {len(raw)} bytes, an index file needs at least its {IDX_HEADER.itemsize}-byte header"
        )
    head = np.frombuffer(raw, IDX_HEADER, count=1)[0]
    n = int(head["num_frames"])
    have = (len(raw) - IDX_HEADER.itemsize) // IDX_ENTRY.itemsize
    if have < n:
        raise DriversError(
            f"{p}: header says {n} frames but only {have} index entries of {IDX_ENTRY.itemsize} B "
            f"follow (file {len(raw)} B, expected {IDX_HEADER.itemsize + n * IDX_ENTRY.itemsize} B)"
        )
    e = np.frombuffer(raw, IDX_ENTRY, count=n, offset=IDX_HEADER.itemsize)
    return CaptureIndex(
        n,
        int(head["data_size"]),
        e["size"].astype(np.int64),
        e["timestamp_ns"].astype(np.int64),
        e["offset"].astype(np.int64),
    )


def write_idx(
    path: str | Path, frame_bytes: int, n_frames: int, timestamps_ns: np.ndarray | None = None
) -> None:
    """Write an index file for ``n_frames`` frames of ``frame_bytes`` stored back to back."""
    head = np.zeros(1, IDX_HEADER)
    head["version"] = 1
    head["num_frames"] = n_frames
    head["data_size"] = n_frames * frame_bytes
    e = np.zeros(n_frames, IDX_ENTRY)
    e["version"] = 1
    e["size"] = frame_bytes
    e["offset"] = np.arange(n_frames, dtype=np.uint64) * np.uint64(frame_bytes)
    if timestamps_ns is not None:
        e["timestamp_ns"] = np.asarray(timestamps_ns, np.int64)
    Path(path).write_bytes(head.tobytes() + e.tobytes())


def _check_cascade(radar: RadarConfig) -> None:
    if radar.adc.layout != "mmwcas":
        raise DriversError(
            f"radar {radar.name!r} uses ADC layout {radar.adc.layout!r}; MMWCAS capture files need 'mmwcas'"
        )


def capture_indices(folder: str | Path) -> list[str]:
    """The split numbers (``'0000'``, ...) of the master data files in ``folder``, sorted numerically."""
    d = Path(folder)
    if not d.is_dir():
        raise DriversError(f"{d}: not a folder")
    found = sorted(
        {
            m.group(2)
            for p in d.iterdir()
            if (m := _DATA_RE.match(p.name)) and m.group(1) == "master"
        },
        key=int,
    )
    if not found:
        raise DriversError(
            f"{d}: no MMWCAS capture (expected master_0000_data.bin, slave1_0000_data.bin, ... with _idx.bin files)"
        )
    return found


class MmwcasCapture:
    """Frames of an MMWCAS capture folder as complex64 ``(loops, tx, rx, samples)``.

    TX is in firing order and RX in config order (RX 0-15 over the four chips), as
    :func:`drivers.adc.unpack_frame` gives them. All splits ``NNNN`` in the folder are read in
    order. The chips must agree on frame count and size, and every data file must hold the frames
    its index lists; otherwise :class:`DriversError` says which file and by how much, unless
    ``allow_truncated`` keeps the frames all four chips hold completely (with a warning).
    """

    def __init__(
        self, folder: str | Path, radar: RadarConfig, *, allow_truncated: bool = False
    ) -> None:
        _check_cascade(radar)
        self.folder = Path(folder)
        self.radar = radar
        self.frame_bytes = radar.adc_bytes_per_frame // N_CASCADE_CHIPS
        self._parts: list[tuple[list[Path], np.ndarray, int]] = []  # files, offsets, frames
        stamps = []
        for split in capture_indices(self.folder):
            files, idx = self._open_split(split, allow_truncated)
            self._parts.append((files, idx.offsets, idx.num_frames))
            stamps.append(idx.timestamps_ns)
        self.timestamps_ns = np.concatenate(stamps) if stamps else np.zeros(0, np.int64)
        self._starts = np.cumsum([0] + [n for _, _, n in self._parts])

    def _open_split(self, split: str, allow_truncated: bool) -> tuple[list[Path], CaptureIndex]:
        files = [self.folder / f"{c}_{split}_data.bin" for c in CHIPS]
        missing = [p.name for p in files if not p.is_file()]
        if missing:
            raise DriversError(
                f"{self.folder}: capture {split} lacks {', '.join(missing)} (a cascade capture has all four chip files)"
            )
        idx_path = self.folder / f"master_{split}_idx.bin"
        if not idx_path.is_file():
            raise DriversError(f"{self.folder}: {idx_path.name} is missing (the frame index)")
        idx = read_idx(idx_path)
        bad = np.flatnonzero(idx.sizes != self.frame_bytes)
        if len(bad):
            raise DriversError(
                f"{idx_path}: frame {bad[0]} has {idx.sizes[bad[0]]} B per chip, radar config "
                f"{self.radar.name!r} expects {self.frame_bytes} B ({self.radar.n_loops} loops x "
                f"{self.radar.n_tx} chirps x {self.radar.n_samples} samples x 4 RX x IQ x int16)"
            )
        expected = np.arange(idx.num_frames, dtype=np.int64) * self.frame_bytes
        if not np.array_equal(idx.offsets, expected):
            k = int(np.flatnonzero(idx.offsets != expected)[0])
            raise DriversError(
                f"{idx_path}: frame {k} starts at byte {idx.offsets[k]}, expected {expected[k]} (frames back to back)"
            )
        for c in CHIPS[1:]:
            p = self.folder / f"{c}_{split}_idx.bin"
            if p.is_file() and (n := read_idx(p).num_frames) != idx.num_frames:
                raise DriversError(
                    f"{self.folder}: chip index files disagree: master_{split}_idx.bin lists "
                    f"{idx.num_frames} frames, {p.name} lists {n}"
                )
        need = idx.num_frames * self.frame_bytes
        sizes = [p.stat().st_size for p in files]
        short = [(p, s) for p, s in zip(files, sizes, strict=True) if s < need]
        if short:
            whole = min(s for s in sizes) // self.frame_bytes
            msg = (
                f"{short[0][0]}: {short[0][1]} B, but the index lists {idx.num_frames} frames of "
                f"{self.frame_bytes} B = {need} B (truncated capture; {whole} complete frames in all chips)"
            )
            if not allow_truncated:
                raise DriversError(msg + "; pass allow_truncated=True to read those")
            warnings.warn(msg + "; reading those", stacklevel=3)
            idx = CaptureIndex(
                whole, whole * self.frame_bytes, idx.sizes[:whole], idx.timestamps_ns[:whole],
                idx.offsets[:whole],
            )  # fmt: skip
        return files, idx

    def __len__(self) -> int:
        return int(self._starts[-1])

    def words(self, i: int) -> np.ndarray:
        """Raw int16 chip rows ``(4, W/4)`` of frame ``i`` (master, slave1, slave2, slave3)."""
        n = len(self)
        if not -n <= i < n:
            raise DriversError(f"frame {i} is out of range: the capture has {n} frames")
        i %= n
        part = int(np.searchsorted(self._starts, i, side="right") - 1)
        files, offsets, _ = self._parts[part]
        off = int(offsets[i - self._starts[part]])
        count = self.frame_bytes // 2
        rows = np.empty((N_CASCADE_CHIPS, count), np.int16)
        for c, p in enumerate(files):
            with open(p, "rb") as fh:
                fh.seek(off)
                rows[c] = np.fromfile(fh, np.int16, count)
        return rows

    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` as complex64 ``(loops, tx, rx, samples)``."""
        return unpack_frame(self.words(i), self.radar)

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self.frame(i)


def write_mmwcas_capture(
    folder: str | Path,
    frames: Iterable[np.ndarray],
    radar: RadarConfig,
    *,
    split: int = 0,
    timestamps_ns: np.ndarray | None = None,
) -> int:
    """Write complex ``(loops, tx, rx, samples)`` frames as a TDA2 capture split; returns frames written.

    Produces the four ``*_NNNN_data.bin`` files and their ``_idx.bin`` files (for tests and for
    handing simulated data to tools that read real captures). Values are rounded and clipped to
    int16 as :func:`drivers.adc.pack_frame` does.
    """
    _check_cascade(radar)
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    name = f"{split:04d}"
    handles = [open(d / f"{c}_{name}_data.bin", "wb") for c in CHIPS]  # noqa: SIM115
    n = 0
    try:
        for f in frames:
            for h, row in zip(handles, pack_frame(np.asarray(f), radar), strict=True):
                h.write(row.astype("<i2").tobytes())
            n += 1
    finally:
        for h in handles:
            h.close()
    frame_bytes = radar.adc_bytes_per_frame // N_CASCADE_CHIPS
    if timestamps_ns is not None and len(timestamps_ns) != n:
        raise DriversError(f"{len(timestamps_ns)} timestamps for {n} frames written")
    for c in CHIPS:
        write_idx(d / f"{c}_{name}_idx.bin", frame_bytes, n, timestamps_ns)
    return n
