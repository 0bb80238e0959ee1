"""TI mmWave out-of-box demo over UART: CLI configuration, data-port parsing, recorded dumps.

``configure(port, cfg)`` sends a .cfg; ``UartSource`` yields live ``radar_tlv`` frames;
``UartFileSource`` replays ``.dat``/``.bin`` dumps through the same parser; ``UartStreamParser``
is the incremental parser both use; ``build_packet``/``encode_*`` write packets (emulator, tests).
"""

from .cli import CLI_BAUD, DATA_BAUD, PROMPT, cfg_lines, configure, send_line
from .packet import (
    MAGIC,
    Q9_TO_DB,
    Header,
    Packet,
    TlvError,
    build_packet,
    decode_tlv,
    encode_complex,
    encode_db,
    encode_points,
    encode_points_q,
    parse_header,
    parse_packet,
)
from .source import UartFileSource, UartSource
from .stream import UartCounters, UartStreamParser

__all__ = [
    "CLI_BAUD",
    "DATA_BAUD",
    "Header",
    "MAGIC",
    "PROMPT",
    "Packet",
    "Q9_TO_DB",
    "TlvError",
    "UartCounters",
    "UartFileSource",
    "UartSource",
    "UartStreamParser",
    "build_packet",
    "cfg_lines",
    "configure",
    "decode_tlv",
    "encode_complex",
    "encode_db",
    "encode_points",
    "encode_points_q",
    "parse_header",
    "parse_packet",
    "send_line",
]
