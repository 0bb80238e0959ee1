"""Read what is left of a cut-short or damaged ROS1 ``.bag``, MCAP or ROS2 sqlite3 bag.

rosbags needs a bag's index (ROS1) or summary (MCAP), which a recorder killed mid-write never
wrote. These readers walk the records from the start instead, take the connections/channels and
messages found before the damage, and stop there. They offer the small part of rosbags'
AnyReader that :class:`drivers.bagsource.BagSource` uses (``connections``, ``messages``,
``deserialize``, ``typestore``, ``start_time``/``end_time``, ``is2``), so a damaged bag is
replayed like a whole one up to the damage; ``damage`` says where and why reading stopped.

Formats: ROS1 bag v2.0 (records ``u32 header_len | header fields | u32 data_len | data``; chunks
op 0x05 holding connections op 0x07 and messages op 0x02; compression none/bz2/lz4) and MCAP
(``u8 opcode | u64 length | body``; schemas 0x03, channels 0x04, messages 0x05, chunks 0x06 with
none/lz4/zstd). ROS2 sqlite3 (``.db3``): SQLite itself reads a copy padded to whole pages, row by
row in id (write) order; as SQLite may hand back never-written pages as zeros without an error,
every row is checked (CDR header, non-zero payload, deserializes with the bag's and radarpose's
types, stamps that do not jump) and the first bad row ends the reading. Such a bag needs no
``metadata.yaml``.
"""

from __future__ import annotations

import bz2
import re
import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DriversError

ROS1_MAGIC = b"#ROSBAG V2.0\n"
MCAP_MAGIC = b"\x89MCAP0\r\n"
SQLITE_MAGIC = b"SQLite format 3\x00"
CDR_HEADERS = (b"\x00\x01\x00\x00", b"\x00\x00\x00\x00")  # little/big-endian plain CDR
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # rosbag2's per-message compression
PAD = b"\xa5RPpad\x5a\xc3"  # what a cut-short .db3 is padded with to whole pages
_PAD_ROTATIONS = [PAD[i:] + PAD[:i] for i in range(len(PAD))]
MAX_STAMP_JUMP_NS = 86_400 * 10**9  # a stamp a day away from the one before it is garbage
MAX_STAMP_BACKSTEP_NS = 10 * 10**9  # log and header stamps may go back a little, not 10 s


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

    def _register_types(self) -> None:
        from rosbags.typesys import Stores, get_types_from_msg, get_typestore

        self.typestore = get_typestore(Stores.EMPTY)
        for c in self.connections:
            if c.msgdef and c.msgtype not in self.typestore.fielddefs:
                try:
                    self.typestore.register(get_types_from_msg(c.msgdef, c.msgtype))
                except Exception:  # noqa: BLE001 - a bad stored definition falls back to ours
                    continue

    def _finish(self) -> None:
        if not self._msgs and not self.connections:
            raise DriversError(f"{self.path}: nothing readable ({self.damage or 'empty'})")
        self._msgs.sort(key=lambda m: m[0])
        counts: dict[int, int] = {}
        for _, cid, _ in self._msgs:
            counts[cid] = counts.get(cid, 0) + 1
        for c in self.connections:
            c.msgcount = counts.get(c.id, 0)
        if not hasattr(self, "typestore"):
            self._register_types()
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


def _natural(p: Path) -> tuple[Any, ...]:
    """``bag_2.db3`` before ``bag_10.db3``, as rosbag2 numbers its split files."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name))


def sqlite_files(path: Path) -> list[Path]:
    """The ``.db3`` files of a ROS2 bag folder (in split order), or the ``.db3`` file itself."""
    if path.is_dir():
        return sorted(path.glob("*.db3"), key=_natural)
    return [path] if path.suffix == ".db3" else []


def sqlite_damage(path: Path) -> str:
    """Why a ``.db3`` file cannot be trusted as it is ('' when whole): a size that is not the
    page count its header gives, or a failed ``PRAGMA quick_check`` (which reads every page)."""
    head = _head(path)
    if not head.startswith(SQLITE_MAGIC) or len(head) < 100:
        return "not an SQLite database (bad magic or header)"
    page = _page_size(head)
    (pages,) = struct.unpack_from(">I", head, 28)
    valid = head[24:28] == head[92:96] and pages > 0
    size = path.stat().st_size
    if size % page or (valid and pages * page != size):
        want = f"{pages} pages of {page} bytes" if valid else f"whole {page}-byte pages"
        return f"cut short: {size} bytes, its header says {want}"
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as exc:
        return f"sqlite: {exc}"
    if rows != [("ok",)]:
        return f"sqlite quick_check: {rows[0][0]}"
    return ""


def _holds_pad(raw: bytes) -> bool:
    """Whether ``raw`` holds 8 bytes of the PAD pattern, or ends in 4 or more of them."""
    return any(r in raw for r in _PAD_ROTATIONS) or any(
        raw.endswith(r[:k]) for r in _PAD_ROTATIONS for k in range(4, len(PAD))
    )


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(100)


def _page_size(head: bytes) -> int:
    (page,) = struct.unpack_from(">H", head, 16)
    return 65536 if page == 1 else page if page >= 512 and not page & (page - 1) else 4096


class SqliteSalvage(_Salvage):
    """The rows of a ROS2 sqlite3 bag (its ``.db3`` files in split order) before the first damaged
    one, read without ``metadata.yaml``."""

    is2 = True

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        files = sqlite_files(path)
        if not files:
            raise DriversError(f"{path}: no .db3 file")
        self._stamps: dict[int, int] = {}  # connection id -> last header stamp
        self._last_log = 0
        self._good = 0
        self._last_id = 0
        self._padded = False
        for f in files:
            self._read(f)
            if self.damage:
                break
        self._finish()

    def _read(self, f: Path) -> None:
        self._last_id = 0  # each split file numbers its messages from 1
        with tempfile.TemporaryDirectory(prefix="radarpose-salvage-") as tmp:
            copy = Path(tmp) / "bag.db3"
            shutil.copyfile(f, copy)
            for side in ("-wal", "-journal"):  # whatever the recorder had not yet merged
                if Path(f"{f}{side}").is_file():
                    shutil.copyfile(f"{f}{side}", f"{copy}{side}")
            data = _head(copy)
            if not data.startswith(SQLITE_MAGIC) or len(data) < 100:
                self.damage = f"{f.name}: not an SQLite database (bad magic or header)"
                return
            # SQLite refuses a file shorter than the page count in its header, and a page cut in
            # two. The copy is padded to whole pages with PAD, which no B-tree page can start
            # with; the last overflow page of a message, though, SQLite hands back without an
            # error, so a message holding PAD bytes reaches past the cut and is damage.
            page, size = _page_size(data), copy.stat().st_size
            (pages,) = struct.unpack_from(">I", data, 28)
            want = max(-(-size // page), pages if data[24:28] == data[92:96] else 0) * page
            self._padded = want > size
            if self._padded:
                rep = PAD * (want // len(PAD) + 2)
                with copy.open("ab") as out:
                    out.write(rep[size % len(PAD) : size % len(PAD) + want - size])
            try:
                with closing(sqlite3.connect(copy)) as db:
                    self._rows(f, db)
            except sqlite3.Error as exc:
                self.damage = (
                    f"{f.name}: SQLite stopped after {self._good} good messages"
                    + (f" (last message id {self._last_id})" if self._good else "")
                    + f" ({type(exc).__name__}: {exc})"
                )

    def _rows(self, f: Path, db: sqlite3.Connection) -> None:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        defs: dict[str, str] = {}
        if "message_definitions" in tables:
            # written as topics appear, so part of it may lie past the cut: radarpose's own
            # definitions stand in for the lost ones
            with suppress(sqlite3.Error):
                for name, enc, text in db.execute(
                    "SELECT topic_type, encoding, encoded_message_definition "
                    "FROM message_definitions"
                ):
                    if enc == "ros2msg":
                        defs[str(name)] = str(text)
        known = {c.id for c in self.connections}
        try:
            for cid, topic, msgtype, fmt in db.execute(
                "SELECT id, name, type, serialization_format FROM topics ORDER BY id"
            ):
                if cid not in known and fmt == "cdr":
                    self.connections.append(
                        SalvagedConnection(
                            int(cid), str(topic), str(msgtype), defs.get(msgtype, "")
                        )
                    )
        except sqlite3.Error:  # a message of a lost topic stops the reading where it comes
            if not self.connections:
                raise
        self._register_types()
        from .bags import typestore

        have = self.typestore.fielddefs
        self.typestore.register(
            {k: v for k, v in typestore(True).fielddefs.items() if k not in have}
        )
        by_id = {c.id: c for c in self.connections}
        for mid, cid, t, raw in db.execute(
            "SELECT id, topic_id, timestamp, data FROM messages ORDER BY id"
        ):
            why = self._check(by_id.get(cid), t, raw)
            if why:
                where = (
                    f"message id {mid}"
                    if isinstance(mid, int) and mid > self._last_id
                    else f"the row after message id {self._last_id}"
                )
                self.damage = (
                    f"{f.name}: {where} is damaged ({why}); "
                    f"reading stopped after {self._good} good messages"
                    + (f", log time {self._last_log / 1e9:.3f} s" if self._last_log else "")
                )
                return
            self._msgs.append((t, int(cid), self._raw))
            self._good += 1
            self._last_log = max(self._last_log, t)
            self._last_id = mid

    def _check(self, c: SalvagedConnection | None, t: Any, raw: Any) -> str:
        """Why a row is damage ('' when it looks whole); sets ``_raw`` to its CDR bytes."""
        if c is None:
            return "its topic id is not in the topics table"
        if not isinstance(t, int):
            return f"log time is {type(t).__name__}, not an integer"
        if not isinstance(raw, bytes):
            return f"data is {type(raw).__name__}, not a blob"
        if raw.startswith(ZSTD_MAGIC):
            try:
                from compression import zstd  # type: ignore[import-not-found]
            except ImportError:
                from backports import zstd  # type: ignore[import-not-found,no-redef]
            try:
                raw = zstd.decompress(raw)
            except Exception as exc:  # noqa: BLE001 - any decoder error is damage
                return f"zstd: {exc}"
        if t <= 0:
            return f"log time {t}"
        if self._last_log and not (-MAX_STAMP_BACKSTEP_NS < t - self._last_log < MAX_STAMP_JUMP_NS):
            return f"log time jumps from {self._last_log} to {t} ns"
        if len(raw) < 8 or raw[:4] not in CDR_HEADERS:
            return f"no CDR header (starts {raw[:4].hex(' ') or 'empty'})"
        if not any(raw[4:]):
            return f"payload of {len(raw) - 4} zero bytes"
        if self._padded and _holds_pad(raw):
            return "it runs past the end of the file"
        if c.msgtype not in self.typestore.fielddefs:
            self._raw = raw  # a type defined nowhere: BagSource names it or ignores the topic
            return ""
        try:
            msg = self.typestore.deserialize_cdr(raw, c.msgtype)
        except Exception as exc:  # noqa: BLE001 - whatever the deserializer says, it is damage
            return f"does not deserialize as {c.msgtype}: {type(exc).__name__}: {exc}"
        stamp = getattr(getattr(msg, "header", None), "stamp", None)
        if stamp is not None:
            s = int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)
            last = self._stamps.get(c.id)
            if last and s == 0:
                return "header stamp zero after non-zero ones"
            if last and not (-MAX_STAMP_BACKSTEP_NS < s - last < MAX_STAMP_JUMP_NS):
                return f"header stamp jumps from {last} to {s} ns"
            if s:
                self._stamps[c.id] = s
        self._raw = raw
        return ""


def salvage(path: Path) -> _Salvage | None:
    """A salvage reader for a ``.bag``, MCAP or sqlite3 bag (file or ROS2 folder), None for
    other kinds."""
    if path.is_dir():
        files = sorted(path.glob("*.mcap"))
        if len(files) == 1:
            return McapSalvage(files[0])
        return SqliteSalvage(path) if sqlite_files(path) else None
    if path.suffix == ".bag":
        return Ros1Salvage(path)
    if path.suffix == ".mcap":
        return McapSalvage(path)
    if path.suffix == ".db3":
        return SqliteSalvage(path)
    return None
