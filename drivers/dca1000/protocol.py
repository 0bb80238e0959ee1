"""DCA1000EVM wire formats: the configuration protocol (UDP 4096) and data packets (UDP 4098).

Command: ``u16 0xA55A | u16 cmd | u16 size | data[size] | u16 0xEEAA``, little-endian.
Reply:   ``u16 0xA55A | u16 cmd | u16 status | u16 0xEEAA`` (status 0 = success).
Data packet: ``u32 sequence (from 1) | 6-byte byte count of data sent before it | payload``.
Command codes as in TI's DCA1000EVM user guide / mmWave Studio reference code.
"""

from __future__ import annotations

import enum
import socket
import struct
from dataclasses import dataclass

from ..errors import DriversError

HEADER = 0xA55A
FOOTER = 0xEEAA
CONFIG_PORT = 4096
DATA_PORT = 4098
FPGA_IP = "192.168.33.180"
HOST_IP = "192.168.33.30"
DATA_HEADER_BYTES = 10
DEFAULT_PAYLOAD = 1456
_CMD = struct.Struct("<3H")
_REPLY = struct.Struct("<4H")


class Command(enum.IntEnum):
    RESET_FPGA = 0x01
    RESET_AR_DEVICE = 0x02
    CONFIG_FPGA = 0x03
    CONFIG_EEPROM = 0x04
    RECORD_START = 0x05
    RECORD_STOP = 0x06
    PLAYBACK_START = 0x07
    PLAYBACK_STOP = 0x08
    SYSTEM_CONNECT = 0x09
    ASYNC_STATUS = 0x0A
    CONFIG_PACKET_DATA = 0x0B
    CONFIG_AR_DEVICE = 0x0C
    INIT_FPGA_PLAYBACK = 0x0D
    READ_FPGA_VERSION = 0x0E


def encode_command(cmd: int, data: bytes = b"") -> bytes:
    return _CMD.pack(HEADER, cmd, len(data)) + data + struct.pack("<H", FOOTER)


def decode_command(msg: bytes) -> tuple[int, bytes]:
    """(cmd, data) of a command message; DriversError if the framing is wrong."""
    if len(msg) < 8:
        raise DriversError(f"DCA1000 command of {len(msg)} B is too short")
    head, cmd, size = _CMD.unpack_from(msg)
    if (
        head != HEADER
        or len(msg) != 8 + size
        or struct.unpack_from("<H", msg, 6 + size)[0] != FOOTER
    ):
        raise DriversError("DCA1000 command framing broken (A55A ... EEAA)")
    return cmd, msg[6 : 6 + size]


def encode_reply(cmd: int, status: int) -> bytes:
    return _REPLY.pack(HEADER, cmd, status, FOOTER)


def decode_reply(msg: bytes) -> tuple[int, int]:
    """(cmd, status) of a reply; DriversError if the framing is wrong."""
    if len(msg) != 8:
        raise DriversError(f"DCA1000 reply of {len(msg)} B (expected 8)")
    head, cmd, status, foot = _REPLY.unpack(msg)
    if head != HEADER or foot != FOOTER:
        raise DriversError("DCA1000 reply framing broken (A55A ... EEAA)")
    return cmd, status


def fpga_config_data(
    *,
    log_mode: int = 1,
    lvds_mode: int = 2,
    data_transfer: int = 1,
    capture_mode: int = 2,
    data_format: int = 3,
    timer: int = 30,
) -> bytes:
    """CONFIG_FPGA payload: raw logging, LVDS lanes (1 = 4-lane, 2 = 2-lane), transfer over
    Ethernet, capture mode, data format (3 = 16-bit), timeout in seconds."""
    return bytes((log_mode, lvds_mode, data_transfer, capture_mode, data_format, timer))


def packet_config_data(payload_bytes: int = DEFAULT_PAYLOAD, delay_us: int = 25) -> bytes:
    """CONFIG_PACKET_DATA payload: u16 packet payload size, u16 packet delay (µs), u16 0."""
    return struct.pack("<3H", payload_bytes, delay_us, 0)


def encode_data_packet(seq: int, byte_count: int, payload: bytes) -> bytes:
    return struct.pack("<I", seq) + byte_count.to_bytes(6, "little") + payload


def decode_data_header(pkt: bytes | memoryview) -> tuple[int, int]:
    """(sequence, byte count before this packet) of a data packet."""
    return struct.unpack_from("<I", pkt)[0], int.from_bytes(pkt[4:10], "little")


@dataclass
class DcaControl:
    """Talk to the FPGA's config port. ``host`` is the local address replies come back to."""

    fpga: tuple[str, int] = (FPGA_IP, CONFIG_PORT)
    host: tuple[str, int] = (HOST_IP, CONFIG_PORT)
    timeout: float = 1.0

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._sock.bind(self.host)
        except OSError as exc:
            self._sock.close()
            raise DriversError(f"DCA1000: cannot bind config port {self.host} ({exc})") from None
        self._sock.settimeout(self.timeout)

    def command(self, cmd: Command, data: bytes = b"") -> int:
        """Send one command; return its status, raise DriversError on timeout or failure."""
        self._sock.sendto(encode_command(cmd, data), self.fpga)
        try:
            msg, _ = self._sock.recvfrom(64)
        except TimeoutError:
            raise DriversError(
                f"DCA1000 at {self.fpga[0]}:{self.fpga[1]}: no reply to {cmd.name} within "
                f"{self.timeout:g} s (cabled, powered, host IP {self.host[0]}?)"
            ) from None
        rcmd, status = decode_reply(msg)
        if rcmd != cmd:
            raise DriversError(f"DCA1000 replied to {rcmd:#x} when asked {cmd.name}")
        if status != 0 and cmd != Command.READ_FPGA_VERSION:
            raise DriversError(f"DCA1000 {cmd.name} failed with status {status}")
        return status

    def fpga_version(self) -> tuple[int, int, bool]:
        """(major, minor, playback mode) from READ_FPGA_VERSION's status word."""
        s = self.command(Command.READ_FPGA_VERSION)
        return s & 0x7F, (s >> 7) & 0x7F, bool(s & 0x4000)

    def setup(
        self, payload_bytes: int = DEFAULT_PAYLOAD, delay_us: int = 25, lanes: int = 2
    ) -> None:
        """System connect, read FPGA version, configure FPGA and packet size/delay."""
        self.command(Command.SYSTEM_CONNECT)
        self.fpga_version()
        self.command(Command.CONFIG_FPGA, fpga_config_data(lvds_mode=1 if lanes == 4 else 2))
        self.command(Command.CONFIG_PACKET_DATA, packet_config_data(payload_bytes, delay_us))

    def start(self) -> None:
        self.command(Command.RECORD_START)

    def stop(self) -> None:
        self.command(Command.RECORD_STOP)

    def close(self) -> None:
        self._sock.close()
