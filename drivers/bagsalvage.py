"""Read what is left of a cut-short or damaged ROS1 ``.bag`` or MCAP file, record by record.

rosbags needs a bag's index (ROS1) or summary (MCAP), which a recorder killed mid-write never
wrote. These readers walk the records from the start instead, take the connections/channels and
messages found before the damage, and stop there. They offer the small part of rosbags'
AnyReader that :class:`drivers.bagsource.BagSource` uses (``connections``, ``messages``,
``deserialize``, ``typestore``, ``start_time``/``end_time``, ``is2``), so a damaged bag is
replayed like a whole one up to the damage; ``damage`` says where and why reading stopped.

Formats: ROS1 bag v2.0 (records ``u32 header_len | header fields | u32 data_len | data``; chunks
op 0x05 holding connections op 0x07 and messages op 0x02; compression none/bz2/lz4) and MCAP
(``u8 opcode | u64 length | body``; schemas 0x03, channels 0x04, messages 0x05, chunks 0x06 with
none/lz4/zstd).
"""

from __future__ import annotations

import bz2
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DriversError

ROS1_MAGIC = b"#ROSBAG V2.0\n"
MCAP_MAGIC = b"\x89MCAP0\r\n"


@dataclass
class SalvagedConnection:
    """The fields of a rosbags Connection that BagSource reads."""

    id: int
    topic: str
    msgtype: str
    msgdef: str
    msgcount: int = 0


class _Salvage:
    is2 = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connections: list[SalvagedConnection] = []
        self.damage = ""
        self._msgs: list[tuple[int, int, bytes]] = []  # (stamp, connection id, raw)
        self.stack: object | None = True  # "open", as AnyReader says it

    def _finish(self) -> None:
        from rosbags.typesys import Stores, get_types_from_msg, get_typestore

        if not self._msgs and not self.connections:
            raise DriversError(f"{self.path}: nothing readable ({self.damage or 'empty'})")
        self._msgs.sort(key=lambda m: m[0])
        counts: dict[int, int] = {}
        for _, cid, _ in self._msgs:
            counts[cid] = counts.get(cid, 0) + 1
        for c in self.connections:
            c.msgcount = counts.get(c.id, 0)
        self.typestore = get_typestore(Stores.EMPTY)
        for c in self.connections:
            if c.msgdef and c.msgtype not in self.typestore.fielddefs:
                try:
                    self.typestore.register(get_types_from_msg(c.msgdef, c.msgtype))
                except Exception:  # noqa: BLE001 - a bad stored definition falls back to ours
                    continue
        self.start_time = self._msgs[0][0] if self._msgs else 0
        self.end_time = self._msgs[-1][0] + 1 if self._msgs else 0

    def messages(
        self, connections: list[SalvagedConnection] = (), stop: int | None = None
    ) -> Iterator[tuple[SalvagedConnection, int, bytes]]:
        by_id = {c.id: c for c in self.connections}
        wanted = {c.id for c in connections} if connections else set(by_id)
        for t, cid, raw in self._msgs:
            if stop is not None and t >= stop:
                break
            if cid in wanted:
                yield by_id[cid], t, raw

    def deserialize(self, raw: bytes, msgtype: str) -> Any:
        if self.is2:
            return self.typestore.deserialize_cdr(raw, msgtype)
        return self.typestore.deserialize_ros1(raw, msgtype)

    def close(self) -> None:
        self.stack = None


def _fields(header: bytes) -> dict[str, bytes]:
    out, i = {}, 0
    while i + 4 <= len(header):
        (n,) = struct.unpack_from("<I", header, i)
        i += 4
        if i + n > len(header):
            raise ValueError("header field runs past its header")
        name, _, value = header[i : i + n].partition(b"=")
        out[name.decode()] = value
        i += n
    return out


def _records(buf: bytes, start: int = 0) -> Iterator[tuple[dict[str, bytes], bytes, int]]:
    """ROS1 records of ``buf`` from ``start``: (header fields, data, offset after). A record cut
    short ends the walk; it is yielded last with its partial data and offset -1."""
    i = start
    while i + 4 <= len(buf):
        (hl,) = struct.unpack_from("<I", buf, i)
        if i + 4 + hl + 4 > len(buf):
            return
        header = _fields(buf[i + 4 : i + 4 + hl])
        (dl,) = struct.unpack_from("<I", buf, i + 4 + hl)
        j = i + 8 + hl
        if j + dl > len(buf):
            yield header, buf[j:], -1
            return
        yield header, buf[j : j + dl], j + dl
        i = j + dl


class Ros1Salvage(_Salvage):
    """The readable records of a ROS1 bag whose index is missing or damaged."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        data = path.read_bytes()
        if not data.startswith(ROS1_MAGIC):
            raise DriversError(f"{path}: not a ROS1 bag (no '#ROSBAG V2.0' magic)")
        end = len(ROS1_MAGIC)
        try:
            for h, body, after in _records(data, len(ROS1_MAGIC)):
                op = h.get("op", b"\x00")[:1]
                if after < 0:  # cut short: an uncompressed chunk still gives its whole records
                    if op == b"\x05" and h.get("compression", b"none") == b"none":
                        self._chunk(h, body)
                    break
                if op == b"\x05":
                    self._chunk(h, body)
                elif op == b"\x07":
                    self._connection(h, body)
                elif op == b"\x02":
                    self._message(h, body)
                end = after
        except (ValueError, struct.error, OSError, LookupError) as exc:
            self.damage = f"bad record after byte {end}: {exc}"
        if not self.damage and end < len(data):
            self.damage = f"cut short: the record at byte {end} of {len(data)} is incomplete"
        self._finish()

    def _chunk(self, h: dict[str, bytes], body: bytes) -> None:
        kind = h.get("compression", b"none").decode()
        if kind == "none":
            raw = body
        elif kind == "bz2":
            raw = bz2.BZ2Decompressor().decompress(body)
        elif kind == "lz4":
            import lz4.frame

            raw = lz4.frame.decompress(body)
        else:
            raise ValueError(f"chunk compression {kind!r} unknown")
        for rh, rbody, after in _records(raw):
            op = rh.get("op", b"\x00")[:1]
            if after < 0:
                break
            if op == b"\x07":
                self._connection(rh, rbody)
            elif op == b"\x02":
                self._message(rh, rbody)

    def _connection(self, h: dict[str, bytes], body: bytes) -> None:
        (cid,) = struct.unpack("<I", h["conn"])
        if any(c.id == cid for c in self.connections):
            return
        f = _fields(body)
        msgtype = f["type"].decode()
        if "/msg/" not in msgtype:
            pkg, _, name = msgtype.partition("/")
            msgtype = f"{pkg}/msg/{name}"
        self.connections.append(
            SalvagedConnection(
                cid, h["topic"].decode(), msgtype, f.get("message_definition", b"").decode()
            )
        )

    def _message(self, h: dict[str, bytes], body: bytes) -> None:
        (cid,) = struct.unpack("<I", h["conn"])
        sec, nsec = struct.unpack("<II", h["time"])
        self._msgs.append((sec * 1_000_000_000 + nsec, cid, bytes(body)))


class McapSalvage(_Salvage):
    """The readable records of an MCAP file without a valid summary or footer."""

    is2 = True

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        data = path.read_bytes()
        if not data.startswith(MCAP_MAGIC):
            raise DriversError(f"{path}: not an MCAP file (bad magic)")
        self._schemas: dict[int, tuple[str, str]] = {}
        self._channels: dict[int, tuple[int, str]] = {}
        end = len(MCAP_MAGIC)
        try:
            end = self._walk(data, len(MCAP_MAGIC), top=True)
        except (ValueError, struct.error, LookupError) as exc:
            self.damage = f"bad record after byte {end}: {exc}"
        if not self.damage and end < len(data):
            self.damage = f"cut short: the record at byte {end} of {len(data)} is incomplete"
        self._finish()

    def _walk(self, buf: bytes, i: int, top: bool) -> int:
        while i + 9 <= len(buf):
            op, n = struct.unpack_from("<BQ", buf, i)
            if i + 9 + n > len(buf):
                if op == 0x06 and top:  # a chunk cut short: uncompressed, its whole records count
                    self._chunk(buf[i + 9 :], partial=True)
                return i
            body = buf[i + 9 : i + 9 + n]
            if op == 0x03:
                self._schema(body)
            elif op == 0x04:
                self._channel(body)
            elif op == 0x05:
                self._message(body)
            elif op == 0x06:
                self._chunk(body)
            elif op == 0x02 and top:  # footer: the end
                return len(buf)
            i += 9 + n
        return i

    @staticmethod
    def _str(b: bytes, i: int) -> tuple[str, int]:
        (n,) = struct.unpack_from("<I", b, i)
        return b[i + 4 : i + 4 + n].decode(), i + 4 + n

    def _schema(self, b: bytes) -> None:
        (sid,) = struct.unpack_from("<H", b, 0)
        name, i = self._str(b, 2)
        _enc, i = self._str(b, i)
        (n,) = struct.unpack_from("<I", b, i)
        self._schemas[sid] = (name, b[i + 4 : i + 4 + n].decode())

    def _channel(self, b: bytes) -> None:
        cid, sid = struct.unpack_from("<HH", b, 0)
        topic, _ = self._str(b, 4)
        name, text = self._schemas.get(sid, ("", ""))
        if not any(c.id == cid for c in self.connections):
            self.connections.append(SalvagedConnection(cid, topic, name, text))

    def _message(self, b: bytes) -> None:
        cid, _seq, log_time = struct.unpack_from("<HIQ", b, 0)
        self._msgs.append((log_time, cid, bytes(b[22:])))

    def _chunk(self, b: bytes, partial: bool = False) -> None:
        _s, _e, size, _crc = struct.unpack_from("<QQQI", b, 0)
        kind, i = self._str(b, 28)
        (n,) = struct.unpack_from("<Q", b, i)
        records = b[i + 8 : i + 8 + n]
        if partial and kind:
            return
        if kind == "zstd":
            try:
                from compression import zstd  # type: ignore[import-not-found]
            except ImportError:
                from backports import zstd  # type: ignore[import-not-found,no-redef]

            records = zstd.decompress(records)
        elif kind == "lz4":
            import lz4.frame

            records = lz4.frame.decompress(records)
        elif kind:
            raise ValueError(f"chunk compression {kind!r} unknown")
        self._walk(records, 0, top=False)


def salvage(path: Path) -> _Salvage | None:
    """A salvage reader for a ``.bag`` or MCAP bag (file or ROS2 folder), None for other kinds."""
    if path.is_dir():
        files = sorted(path.glob("*.mcap"))
        return McapSalvage(files[0]) if len(files) == 1 else None
    if path.suffix == ".bag":
        return Ros1Salvage(path)
    if path.suffix == ".mcap":
        return McapSalvage(path)
    return None
