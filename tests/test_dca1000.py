"""DCA1000: config protocol, UDP capture against the loopback emulator with faults, raw files."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from drivers import DriversError, FrameFlag
from drivers.dca1000 import (
    Command,
    DcaControl,
    DcaRawFile,
    DcaSource,
    FrameAssembler,
    decode_command,
    decode_reply,
    encode_command,
)
from drivers.emulate import DcaEmulator, DcaFaults, packetize
from drivers.inspect import inspect_file

W = 3000  # words per frame: 6000 B, not a multiple of the 1456 B payload
LOCAL = ("127.0.0.1", 0)


def _frames(n: int = 8, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-32768, 32768, W, dtype=np.int16) for _ in range(n)]


def test_command_bytes_by_hand():
    msg = encode_command(Command.CONFIG_PACKET_DATA, struct.pack("<3H", 1456, 25, 0))
    assert msg[:6] == bytes.fromhex("5aa5 0b00 0600") and msg[-2:] == bytes.fromhex("aaee")
    assert decode_command(msg) == (0x0B, struct.pack("<3H", 1456, 25, 0))
    assert decode_reply(bytes.fromhex("5aa5 0900 0000 aaee")) == (9, 0)
    with pytest.raises(DriversError, match="framing"):
        decode_reply(bytes.fromhex("5aa5 0900 0000 aaef"))


def _capture(frames, faults, **kw):
    src = DcaSource(2 * W, data_addr=LOCAL, idle_timeout=0.5, max_frames=len(frames), **kw)
    with DcaEmulator(frames, src.receiver.addr, faults) as emu:
        src.start_recording(DcaControl(fpga=emu.config_addr, host=LOCAL))
        out = []
        try:
            for f in src.frames():
                out.append(f)
        finally:
            src.close()
    return src, emu, out


def test_clean_capture_bit_exact():
    frames = _frames()
    src, emu, out = _capture(frames, None)
    assert emu.commands == [0x09, 0x0E, 0x03, 0x0B, 0x05, 0x06]
    assert [f.counter for f in out] == list(range(8)) and not any(f.flags for f in out)
    for f, t in zip(out, frames, strict=True):
        assert f.kind == "radar_adc" and f.data["adc"].dtype == np.int16
        np.testing.assert_array_equal(f.data["adc"], t)
    assert src.counters.lost_packets == 0 and src.stats.flagged == 0


def test_capture_with_loss_duplicates_reorder_and_runts():
    frames = _frames()
    # packet 4 holds bytes 5824..7280: the end of frame 0 and the start of frame 1
    faults = DcaFaults(drop={4}, duplicate={7, 20}, swap={10}, garbage={15}, stall_before={25: 0.2})
    src, _, out = _capture(frames, faults)
    assert [f.counter for f in out] == list(range(8))
    assert [f.flags for f in out] == [FrameFlag.INCOMPLETE] * 2 + [0] * 6
    c = src.counters
    assert (c.lost_packets, c.duplicates, c.reordered, c.bad_packets) == (1, 2, 1, 1)
    assert c.zero_filled_bytes == 1456 and src.stats.flagged == 2
    stream = np.concatenate(frames).copy()
    stream[5824 // 2 : 7280 // 2] = 0  # the lost packet, zero-filled
    np.testing.assert_array_equal(np.concatenate([f.data["adc"] for f in out]), stream)


def test_vanished_link_ends_with_message():
    frames = _frames()
    src = DcaSource(2 * W, data_addr=LOCAL, idle_timeout=0.5, max_frames=len(frames))
    out = []
    with DcaEmulator(frames, src.receiver.addr, DcaFaults(vanish_after=12)) as emu:
        src.start_recording(DcaControl(fpga=emu.config_addr, host=LOCAL))
        with pytest.raises(DriversError, match="no DCA1000 data for 0.5 s after 4 frames"):
            for f in src.frames():
                out.append(f)
        src.close()
    # packets 0..12 carry 13*1456 = 18928 B: frames 0-2 whole, frame 3 partial (zero-filled)
    assert [f.flags for f in out] == [0, 0, 0, FrameFlag.INCOMPLETE]
    np.testing.assert_array_equal(out[3].data["adc"][: (18928 - 18000) // 2], frames[3][:464])
    assert not out[3].data["adc"][464:].any()


def test_failed_command_status():
    src = DcaSource(2 * W, data_addr=LOCAL, idle_timeout=0.2)
    with DcaEmulator(_frames(1), src.receiver.addr, DcaFaults(fail={0x03: 5})) as emu:
        with pytest.raises(DriversError, match="CONFIG_FPGA failed with status 5"):
            src.start_recording(DcaControl(fpga=emu.config_addr, host=LOCAL))


def test_no_fpga_times_out():
    with pytest.raises(DriversError, match="no reply to SYSTEM_CONNECT"):
        c = DcaControl(fpga=("127.0.0.1", 9), host=LOCAL, timeout=0.2)
        try:
            c.setup()
        finally:
            c.close()


def test_assembler_whole_frame_lost_and_late_packets():
    frames = _frames(5)
    pk = packetize(b"".join(f.tobytes() for f in frames))
    a = FrameAssembler(2 * W, window=1)
    # packets 8..12 = bytes 11648..18928: frame 2 (12000..18000) lost whole, frames 1 and 3 hit
    order = [p for i, p in enumerate(pk) if i not in (8, 9, 10, 11, 12)]
    out = [f for p in order for f in a.add(p, 0)] + list(a.finish())
    late = list(a.add(pk[9], 0))
    assert late == [] and a.counters.late == 1
    assert [f.counter for f in out] == [0, 1, 2, 3, 4]
    assert [bool(f.flags) for f in out] == [False, True, True, True, False]
    assert a.counters.lost_packets == 5 and not out[2].data["adc"].any()
    np.testing.assert_array_equal(out[4].data["adc"], frames[4])


def test_raw_file_splits_with_headers(tmp_path):
    frames = _frames(4)
    pk = packetize(b"".join(f.tobytes() for f in frames))
    blob = b"".join(p for i, p in enumerate(pk) if i != 6)
    cut = len(blob) // 2 + 3  # mmWave Studio splits mid-packet
    (tmp_path / "adc_data_Raw_0.bin").write_bytes(blob[:cut])
    (tmp_path / "adc_data_Raw_1.bin").write_bytes(blob[cut:])
    with DcaRawFile(tmp_path / "adc_data_Raw_0.bin", 2 * W) as src:
        out = list(src.frames())
    assert src.payload_bytes == 1456 and len(src.paths) == 2
    assert [f.counter for f in out] == [0, 1, 2, 3]
    # packet 6 = bytes 8736..10192 lies in frame 1
    assert [f.flags for f in out] == [0, FrameFlag.INCOMPLETE, 0, 0]
    np.testing.assert_array_equal(out[3].data["adc"], frames[3])
    rep = inspect_file(tmp_path / "adc_data_Raw_0.bin")
    assert rep.details["lost_packets"] == 1 and rep.details["packets"] == len(pk) - 1
