"""DCA1000EVM raw ADC capture: config protocol (UDP 4096), data stream (UDP 4098), raw files.

``DcaControl`` configures and starts the FPGA; ``DcaSource`` yields live ``radar_adc`` frames
(receive thread, large socket buffer, frames rebuilt by byte count, lost packets zero-filled and
flagged); ``DcaRawFile`` replays mmWave Studio's ``adc_data_Raw_N.bin``; ``FrameAssembler`` is
the shared reassembly.
"""

from .protocol import (
    CONFIG_PORT,
    DATA_PORT,
    Command,
    DcaControl,
    decode_command,
    decode_data_header,
    decode_reply,
    encode_command,
    encode_data_packet,
    encode_reply,
)
from .rawfile import DcaRawFile, raw_splits
from .reassemble import DcaCounters, FrameAssembler
from .source import DcaReceiver, DcaSource

__all__ = [
    "CONFIG_PORT",
    "Command",
    "DATA_PORT",
    "DcaControl",
    "DcaCounters",
    "DcaRawFile",
    "DcaReceiver",
    "DcaSource",
    "FrameAssembler",
    "decode_command",
    "decode_data_header",
    "decode_reply",
    "encode_command",
    "encode_data_packet",
    "encode_reply",
    "raw_splits",
]
