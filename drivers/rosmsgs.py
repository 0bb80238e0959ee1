"""ROS message contents as numpy arrays: stamps, PointCloud2 fields, images, tf transforms.

Shapes and units follow :mod:`drivers.source`: points float32 ``(M, C)``, images uint8
``(H, W, 3)`` RGB, transforms 4×4 float64 ``T_<parent>_<child>``, stamps int64 ns.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from .errors import DriversError
from .transforms import invert

# sensor_msgs/PointField datatypes
_PF_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 8: "f8"}
_CHANNELS = {
    "rgb8": 3,
    "bgr8": 3,
    "rgba8": 4,
    "bgra8": 4,
    "mono8": 1,
    "8uc1": 1,
    "8uc3": 3,
    "8uc4": 4,
}


def stamp_ns(t: Any) -> int:
    """int64 ns from a ROS time (``sec``/``nanosec``)."""
    return int(t.sec) * 1_000_000_000 + int(t.nanosec)


def cloud_fields(msg: Any) -> tuple[str, ...]:
    """Names of a PointCloud2's scalar fields of a known datatype, in message order."""
    return tuple(
        f.name for f in msg.fields if int(f.count) == 1 and int(f.datatype) in _PF_DTYPES and f.name
    )


def cloud_points(msg: Any, want: tuple[str, ...]) -> np.ndarray:
    """float32 ``(M, len(want))`` from a PointCloud2; a wanted field the cloud lacks is 0."""
    n, step = int(msg.width) * int(msg.height), int(msg.point_step)
    buf = np.asarray(msg.data, np.uint8).reshape(-1)
    out = np.zeros((n, len(want)), np.float32)
    if n == 0:
        return out
    row_step = int(msg.row_step) or int(msg.width) * step
    need = (int(msg.height) - 1) * row_step + int(msg.width) * step
    if step <= 0 or buf.size < need:
        raise DriversError(
            f"PointCloud2 of {msg.height}x{msg.width} points, point_step {step}: needs {need} bytes, has {buf.size}"
        )
    pad = np.zeros(int(msg.height) * row_step, np.uint8)
    pad[: min(buf.size, pad.size)] = buf[: pad.size]
    rows = pad.reshape(int(msg.height), row_step)[:, : int(msg.width) * step].reshape(n, step)
    by_name = {f.name: f for f in msg.fields}
    order = ">" if msg.is_bigendian else "<"
    for j, name in enumerate(want):
        f = by_name.get(name)
        if f is None or int(f.datatype) not in _PF_DTYPES:
            continue
        dt = np.dtype(order + _PF_DTYPES[int(f.datatype)])
        off = int(f.offset)
        if off + dt.itemsize > step:
            raise DriversError(
                f"PointCloud2 field {name!r} at offset {off} exceeds point_step {step}"
            )
        out[:, j] = np.ascontiguousarray(rows[:, off : off + dt.itemsize]).view(dt).reshape(n)
    return out


def image_rgb(msg: Any) -> np.ndarray:
    """uint8 ``(H, W, 3)`` RGB from a sensor_msgs/Image in an 8-bit encoding."""
    enc = str(msg.encoding).lower()
    ch = _CHANNELS.get(enc)
    if ch is None:
        raise DriversError(
            f"image encoding {msg.encoding!r} not supported (expected one of {', '.join(_CHANNELS)})"
        )
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    buf = np.asarray(msg.data, np.uint8).reshape(-1)
    if step < w * ch or buf.size < h * step:
        raise DriversError(
            f"image {w}x{h} {enc} with step {step}: needs {h * max(step, w * ch)} bytes, has {buf.size}"
        )
    a = buf[: h * step].reshape(h, step)[:, : w * ch].reshape(h, w, ch)
    if ch == 1:
        a = np.repeat(a, 3, axis=2)
    elif enc.startswith("bgr") or enc in ("8uc3", "8uc4"):  # OpenCV's 8UC3 is BGR
        a = a[:, :, 2::-1]
    return np.ascontiguousarray(a[:, :, :3])


def decode_image(data: np.ndarray) -> np.ndarray:
    from .filesources import _imageio, _rgb

    try:
        return _rgb(_imageio().imread(np.asarray(data, np.uint8).tobytes()))
    except DriversError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure is one bad frame
        raise DriversError(f"compressed image cannot be decoded ({exc})") from None


def can_decode() -> bool:
    try:
        import imageio.v3  # noqa: F401
    except ImportError:
        return False
    return True


def tf_matrix(tr: Any) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    q = tr.rotation
    T = np.eye(4)
    T[:3, :3] = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
    T[:3, 3] = [tr.translation.x, tr.translation.y, tr.translation.z]
    return T


def chain_transform(
    edges: dict[tuple[str, str], np.ndarray], to: str, frm: str
) -> np.ndarray | None:
    """``T_<to>_<frm>`` through a tf tree given as ``{(parent, child): T_parent_child}``; None if unconnected."""
    graph: dict[str, list[tuple[str, np.ndarray]]] = {}
    for (p, c), T in edges.items():
        graph.setdefault(p, []).append((c, T))
        graph.setdefault(c, []).append((p, invert(T)))
    seen = {to: np.eye(4)}
    todo = deque([to])
    while todo:
        a = todo.popleft()
        for b, T_a_b in graph.get(a, []):
            if b not in seen:
                seen[b] = seen[a] @ T_a_b
                todo.append(b)
    return seen.get(frm)
