"""TI mmWave demo data-port packets: header, TLVs, and an incremental parser that resynchronises.

Packet (little-endian): magic ``02 01 04 03 06 05 08 07``; header u32 version, total packet
length, platform, frame number, CPU cycles, detected objects, TLV count and (SDK >= 2 or any
non-xWR14xx SDK 1.x demo) subframe number — 40 bytes in all (36 without the subframe). Then TLVs
``u32 type, u32 length`` where the length counts the payload only. Packets are zero-padded to a
multiple of 32 bytes. The parser never trusts a length field to find the next packet: it looks
for the next magic word and checks the declared length against it.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import numpy as np

MAGIC = bytes((2, 1, 4, 3, 6, 5, 8, 7))
HEADER_BYTES = 40
HEADER_BYTES_SDK1_14XX = 36
PLATFORM_14XX = 0xA1443
MAX_PACKET_BYTES = 1 << 20  # anything longer is a corrupt length field
_HDR = struct.Struct("<8I")
_TL = struct.Struct("<2I")
# Q9 log2 magnitude -> dB: 20*log10(2**(v/512))
Q9_TO_DB = 20.0 * math.log10(2.0) / 512.0

TLV_POINTS = 1
TLV_RANGE_PROFILE = 2
TLV_NOISE_PROFILE = 3
TLV_AZIMUTH_HEATMAP = 4
TLV_RANGE_DOPPLER = 5
TLV_STATS = 6
TLV_SIDE_INFO = 7
TLV_AZIMUTH_ELEVATION_HEATMAP = 8
TLV_TEMPERATURE = 9
TLV_SPHERICAL_POINTS = 1000
STATS_FIELDS = (
    "inter_frame_processing_time_us",
    "transmit_output_time_us",
    "inter_frame_processing_margin_us",
    "inter_chirp_processing_margin_us",
    "active_frame_cpu_load_pct",
    "inter_frame_cpu_load_pct",
)


@dataclass(frozen=True)
class Header:
    version: int
    total_bytes: int
    platform: int
    frame_number: int
    cpu_cycles: int
    n_objects: int
    n_tlvs: int
    subframe: int
    header_bytes: int


def header_bytes_for(version: int, platform: int) -> int:
    """SDK 1.x xWR14xx demos have no subframe field (36 bytes); every later demo has 40."""
    return HEADER_BYTES_SDK1_14XX if (version >> 24) < 2 and platform == PLATFORM_14XX else 40


def parse_header(buf: bytes | bytearray | memoryview, at: int = 0) -> Header:
    """Header of the packet whose magic word starts at ``buf[at]`` (needs 40 bytes there)."""
    v = _HDR.unpack_from(buf, at + 8)
    hb = header_bytes_for(v[0], v[2])
    sub = v[7] if hb == 40 else 0
    return Header(v[0], v[1], v[2], v[3], v[4], v[5], v[6], sub, hb)


class TlvError(ValueError):
    """A TLV does not fit its packet or its payload size does not fit its type."""


def _points_float(payload: memoryview, n_objects: int) -> dict[str, np.ndarray]:
    pts = np.frombuffer(payload, "<f4").reshape(-1, 4).astype(np.float32)
    return {"points": pts}


def _points_q(payload: memoryview) -> dict[str, np.ndarray]:
    """SDK 1.x/2.x: ``u16 numObj, u16 xyzQFormat`` then 12-byte objects
    ``u16 rangeIdx, i16 dopplerIdx, u16 peakVal, i16 x, i16 y, i16 z``."""
    n, q = struct.unpack_from("<2H", payload)
    if len(payload) != 4 + 12 * n:
        raise TlvError(f"SDK 1.x/2.x point list says {n} objects but carries {len(payload) - 4} B")
    rec = np.frombuffer(
        payload[4:],
        np.dtype(
            [("r", "<u2"), ("d", "<i2"), ("p", "<u2"), ("x", "<i2"), ("y", "<i2"), ("z", "<i2")]
        ),
    )
    scale = 1.0 / (1 << q)
    pts = np.zeros((n, 4), np.float32)  # velocity needs the Doppler resolution: left 0
    pts[:, 0], pts[:, 1], pts[:, 2] = rec["x"] * scale, rec["y"] * scale, rec["z"] * scale
    idx = np.stack([rec["r"], rec["d"], rec["p"]], axis=1).astype(np.int32)
    return {"points": pts, "point_indices": idx}


def _cplx(payload: memoryview) -> np.ndarray:
    """cmplx16ImRe: int16 imaginary then real, per element."""
    w = np.frombuffer(payload, "<i2").reshape(-1, 2)
    return (w[:, 1] + 1j * w[:, 0]).astype(np.complex64)


def decode_tlv(
    t: int, payload: memoryview, n_objects: int, sdk_major: int
) -> dict[str, np.ndarray]:
    """Typed arrays (SI units, dB for magnitudes) for one TLV; unknown types are kept raw.

    Shapes: ``points`` float32 (M, 4) x, y, z [m], radial velocity [m/s]; ``range_profile`` /
    ``noise_profile_db`` float32 (R,) dB; ``azimuth_heatmap`` / ``azimuth_elevation_heatmap``
    complex64 (R*V,) range-major (reshape with the config's virtual antennas);
    ``range_doppler_db`` float32 (R*D,) dB; ``stats`` uint32 (6,) per STATS_FIELDS; ``snr_db`` /
    ``noise_db`` float32 (M,); ``temperature_c`` float32 (10,) RX0-3, TX0-2, PM, DIG0-1;
    ``spherical_points`` float32 (M, 4) range [m], azimuth, elevation [rad], velocity [m/s].
    """
    n = len(payload)
    if t == TLV_POINTS:
        if sdk_major < 3 and n >= 4 and n == 4 + 12 * struct.unpack_from("<H", payload)[0]:
            return _points_q(payload)
        if n % 16:
            raise TlvError(f"point TLV of {n} B is not a multiple of 16")
        return _points_float(payload, n_objects)
    if t in (TLV_RANGE_PROFILE, TLV_NOISE_PROFILE, TLV_RANGE_DOPPLER):
        if n % 2:
            raise TlvError(f"profile TLV {t} of odd length {n}")
        db = (np.frombuffer(payload, "<u2") * Q9_TO_DB).astype(np.float32)
        key = {2: "range_profile_db", 3: "noise_profile_db", 5: "range_doppler_db"}[t]
        return {key: db}
    if t in (TLV_AZIMUTH_HEATMAP, TLV_AZIMUTH_ELEVATION_HEATMAP):
        if n % 4:
            raise TlvError(f"heatmap TLV {t} of {n} B is not whole complex int16 values")
        key = "azimuth_heatmap" if t == 4 else "azimuth_elevation_heatmap"
        return {key: _cplx(payload)}
    if t == TLV_STATS:
        if n != 24:
            raise TlvError(f"stats TLV of {n} B (expected 24)")
        return {"stats": np.frombuffer(payload, "<u4").copy()}
    if t == TLV_SIDE_INFO:
        if n % 4:
            raise TlvError(f"side-info TLV of {n} B is not a multiple of 4")
        w = np.frombuffer(payload, "<i2").reshape(-1, 2)
        return {
            "snr_db": (w[:, 0] * 0.1).astype(np.float32),
            "noise_db": (w[:, 1] * 0.1).astype(np.float32),
        }
    if t == TLV_TEMPERATURE:
        if n != 28:
            raise TlvError(f"temperature TLV of {n} B (expected 28)")
        return {"temperature_c": np.frombuffer(payload[8:], "<i2").astype(np.float32)}
    if t == TLV_SPHERICAL_POINTS:
        if n % 16:
            raise TlvError(f"spherical point TLV of {n} B is not a multiple of 16")
        return {"spherical_points": np.frombuffer(payload, "<f4").reshape(-1, 4).copy()}
    return {f"tlv_{t}": np.frombuffer(payload, np.uint8).copy()}


@dataclass
class Packet:
    """One parsed packet: its header, decoded arrays and raw bytes (uint8, padding included)."""

    header: Header
    data: dict[str, np.ndarray]
    raw: bytes
    unknown_tlvs: list[int] = field(default_factory=list)
    padding: int = 0


def parse_packet(raw: bytes | bytearray | memoryview) -> Packet:
    """Parse one complete packet (magic first); raise TlvError if a TLV does not fit."""
    mv = memoryview(raw)
    h = parse_header(mv)
    if h.total_bytes > len(mv) or h.total_bytes < h.header_bytes:
        raise TlvError(f"declared length {h.total_bytes} B does not fit {len(mv)} B")
    pos, end, data, unknown = h.header_bytes, h.total_bytes, {}, []
    for _ in range(h.n_tlvs):
        if pos + 8 > end:
            raise TlvError(f"TLV header at byte {pos} runs past the packet end {end}")
        t, n = _TL.unpack_from(mv, pos)
        pos += 8
        if pos + n > end:
            raise TlvError(f"TLV type {t} of {n} B runs past the packet end {end}")
        data.update(decode_tlv(t, mv[pos : pos + n], h.n_objects, h.version >> 24))
        if t not in (1, 2, 3, 4, 5, 6, 7, 8, 9, 1000):
            unknown.append(t)
        pos += n
    return Packet(h, data, bytes(mv[:end]), unknown, end - pos)


def build_packet(
    frame_number: int,
    tlvs: list[tuple[int, bytes]],
    *,
    n_objects: int = 0,
    version: int = 0x03060000,
    platform: int = 0xA1843,
    subframe: int = 0,
    cpu_cycles: int = 0,
    pad_to: int = 32,
) -> bytes:
    """A packet as the firmware sends it, zero-padded to a multiple of ``pad_to`` bytes."""
    body = b"".join(_TL.pack(t, len(p)) + p for t, p in tlvs)
    total = HEADER_BYTES + len(body)
    total += (-total) % pad_to
    head = MAGIC + _HDR.pack(
        version, total, platform, frame_number, cpu_cycles, n_objects, len(tlvs), subframe
    )
    return (head + body).ljust(total, b"\0")


def encode_points(points: np.ndarray) -> bytes:
    """float32 (M, 4) x, y, z, velocity -> TLV 1 payload (SDK 3.x)."""
    return np.ascontiguousarray(points, "<f4").reshape(-1, 4).tobytes()


def encode_points_q(points: np.ndarray, q: int = 9) -> bytes:
    """float (M, 3|4) -> SDK 1.x/2.x TLV 1 payload with Q``q`` coordinates (indices zero)."""
    p = np.asarray(points, np.float64).reshape(len(points), -1)
    rec = np.zeros(
        len(p),
        np.dtype(
            [("r", "<u2"), ("d", "<i2"), ("p", "<u2"), ("x", "<i2"), ("y", "<i2"), ("z", "<i2")]
        ),
    )
    for k, c in enumerate("xyz"):
        rec[c] = np.rint(p[:, k] * (1 << q))
    return struct.pack("<2H", len(p), q) + rec.tobytes()


def encode_db(db: np.ndarray) -> bytes:
    """dB values -> Q9 log2 uint16 (TLV 2/3/5 payload)."""
    return np.rint(np.asarray(db) / Q9_TO_DB).astype("<u2").tobytes()


def encode_complex(z: np.ndarray) -> bytes:
    """complex (N,) -> cmplx16ImRe payload (TLV 4/8)."""
    w = np.empty((np.size(z), 2), "<i2")
    w[:, 0] = np.rint(np.ravel(z).imag)
    w[:, 1] = np.rint(np.ravel(z).real)
    return w.tobytes()
