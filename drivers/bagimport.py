"""``radarpose import``: a ROS bag's sensor streams, intrinsics and extrinsics as an HDF5 recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .bagsource import BagSource, BagStream
from .errors import DriversError
from .recording import RecordingWriter, StreamSpec
from .rig import Rig
from .source import Frame


def stream_spec(b: BagStream, reference: str = "") -> StreamSpec:
    """How an imported bag stream is stored in a recording."""
    attrs = {k: v for k, v in b.attrs.items() if k != "handler"}
    if b.kind == "radar_adc":
        return StreamSpec(
            "radar_adc",
            fixed={"adc": (b.shapes["adc"], np.dtype(np.int16))},
            config=b.config,
            attrs=attrs,
        )
    if b.kind in ("radar_points", "lidar"):
        return StreamSpec(
            b.kind,
            ragged={"points": (len(b.fields), np.dtype(np.float32))},
            fields=b.fields,
            attrs=attrs,
        )
    if b.kind == "image":
        if b.compressed:
            return StreamSpec("image", ragged={"compressed": (1, np.dtype(np.uint8))}, attrs=attrs)
        return StreamSpec(
            "image",
            fixed={"image": (b.shapes["image"], np.dtype(np.uint8))},
            config=b.config,
            attrs=attrs,
            compression="lzf",
        )
    return StreamSpec(
        "skeleton",
        fixed={
            "joints": (b.shapes["joints"], np.dtype(np.float32)),
            "confidence": (b.shapes["confidence"], np.dtype(np.float32)),
            "person_id": (b.shapes["person_id"], np.dtype(np.int32)),
        },
        attrs={**attrs, "frame": reference},
    )


def import_bag(
    bag: str | Path,
    out: str | Path,
    rig: Rig | None = None,
    *,
    progress: bool = True,
    **options: Any,
) -> tuple[dict[str, int], BagSource]:
    """Write a bag's sensor streams, camera intrinsics and tf extrinsics into an HDF5 recording.

    Returns frames written per stream and the (closed) source, whose ``stats`` and ``ignored``
    say what was dropped or left out. ``options`` go to :class:`BagSource`.
    """
    from .progress import progress as bar

    out = Path(out)
    if out.exists():
        raise DriversError(f"{out}: already exists; choose a new name")
    with BagSource(bag, rig, **options) as src:
        if not src.streams:
            raise DriversError(
                f"{src.path}: no sensor topics found (ignored: "
                + "; ".join(f"{t}: {why}" for t, why in src.ignored.items())
                + ")"
            )
        cal = src.calibration()
        with RecordingWriter(
            out,
            rig_yaml=rig.text if rig is not None else "",
            calibration_yaml=cal.to_yaml() if cal.transforms or cal.clock_offsets else "",
            attrs={"source": f"ROS bag {src.path.name}"},
        ) as w:
            for name, b in src.streams.items():
                w.add_stream(name, stream_spec(b, src.reference))
            total = sum(b.messages for b in src.streams.values())
            frames = src.frames()
            try:
                for f in bar(frames, total=total, desc="importing") if progress else frames:
                    if "compressed" in f.data:
                        data = {"compressed": f.data["compressed"].reshape(-1, 1)}
                        f = Frame(f.sensor, f.kind, f.stamp_ns, f.counter, data, f.flags)
                    w.write(f)
            except DriversError as exc:  # a damaged bag: keep what was read, then say so
                damage = exc
            else:
                return w.counts, src
        raise DriversError(f"{damage}; {sum(w.counts.values())} frames kept in {out}")
