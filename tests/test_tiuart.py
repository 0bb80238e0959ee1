"""TI demo UART: packet layouts, the resynchronising parser, the CLI sender and the pty emulator."""

from __future__ import annotations

import os
import struct
import tty

import numpy as np
import pytest

from drivers import DriversError, FrameFlag
from drivers.emulate import TiBoardEmulator, UartFaults, packets_from_arrays
from drivers.inspect import inspect_file
from drivers.tiuart import (
    MAGIC,
    Q9_TO_DB,
    UartFileSource,
    UartSource,
    UartStreamParser,
    build_packet,
    cfg_lines,
    configure,
    encode_points_q,
    parse_packet,
)
from drivers.tiuart.cli import open_cli

CFG = "configs/radars/iwr6843_oob.cfg"


def _truth(n: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    pts = [rng.normal(size=(k, 4)).astype(np.float32) for k in rng.integers(0, 8, n)]
    # dB values on the Q9 grid so the wire format holds them exactly
    prof = [rng.integers(0, 20000, 32) * Q9_TO_DB for _ in range(n)]
    heat = [
        rng.integers(-300, 300, 32 * 8) + 1j * rng.integers(-300, 300, 32 * 8) for _ in range(n)
    ]
    return pts, prof, heat


def test_packet_layout_by_hand():
    """Header and TLV bytes written field by field (not by the encoder) parse to SI values."""
    pts = struct.pack("<4f", 1.0, 2.0, -0.5, 0.25)
    side = struct.pack("<2h", 123, -45)  # 12.3 dB SNR, -4.5 dB noise
    temp = struct.pack("<iI10h", 1, 99, *range(30, 40))
    stats = struct.pack("<6I", *range(1, 7))
    rp = struct.pack("<2H", 512, 1024)  # log2 = 1, 2
    body = b"".join(
        struct.pack("<2I", t, len(p)) + p
        for t, p in ((1, pts), (7, side), (9, temp), (6, stats), (2, rp), (77, b"xyz!"))
    )
    total = 40 + len(body)
    total += (-total) % 32
    head = MAGIC + struct.pack("<8I", 0x03060000, total, 0xA6843, 42, 7, 1, 6, 0)
    pkt = parse_packet((head + body).ljust(total, b"\0"))
    assert pkt.header.frame_number == 42 and pkt.header.n_tlvs == 6
    np.testing.assert_array_equal(pkt.data["points"], [[1.0, 2.0, -0.5, 0.25]])
    np.testing.assert_allclose(pkt.data["snr_db"], [12.3], rtol=1e-6)
    np.testing.assert_allclose(pkt.data["noise_db"], [-4.5], rtol=1e-6)
    np.testing.assert_array_equal(pkt.data["temperature_c"], np.arange(30, 40))
    np.testing.assert_array_equal(pkt.data["stats"], [1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(
        pkt.data["range_profile_db"], [20 * np.log10(2), 40 * np.log10(2)], rtol=1e-6
    )
    assert bytes(pkt.data["tlv_77"]) == b"xyz!" and pkt.unknown_tlvs == [77]
    assert total % 32 == 0 and pkt.padding == total - 40 - len(body)


def test_sdk2_q_format_points():
    xyz = np.array([[1.5, -0.25, 0.125], [3.0, 2.0, -1.0]])
    pkt = parse_packet(build_packet(3, [(1, encode_points_q(xyz, q=7))], version=0x02010000))
    np.testing.assert_allclose(pkt.data["points"][:, :3], xyz)


def test_heatmap_roundtrip_imag_real_order():
    z = np.array([3 - 4j, -7 + 1j])
    raw = struct.pack("<4h", -4, 3, 1, -7)  # cmplx16ImRe: imaginary first
    pkt = parse_packet(build_packet(1, [(4, raw)]))
    np.testing.assert_array_equal(pkt.data["azimuth_heatmap"], z)


def test_parser_byte_at_a_time_and_faults_in_a_stream():
    pts, prof, heat = _truth()
    pk = packets_from_arrays(pts, range_profiles_db=prof, azimuth_heatmaps=heat)
    stream = (
        pk[0]
        + b"\x02\x01\x04junk"
        + pk[1]
        + pk[2][:50]
        + pk[3]  # garbage, truncated #2
        + pk[4][:40]
        + struct.pack("<I", 1 << 30)
        + pk[4][44:]  # TLV type broken: fine
        + pk[5]
        + pk[7]
        + pk[8]
        + pk[9]  # #6 missing
    )
    p = UartStreamParser()
    out = [f for b in range(len(stream)) for f in p.feed(stream[b : b + 1], 0)]
    out += list(p.finish())
    assert [f.counter for f in out] == [1, 2, 4, 5, 6, 8, 9, 10]
    assert p.counters.truncated == 1 and p.counters.gap_frames == 1
    assert p.counters.garbage_bytes == 7
    assert p.stats.dropped == 2 and p.counters.unknown_tlvs == 1
    assert out[5].flags & FrameFlag.GAP_BEFORE
    # frame 5's point TLV got an unknown type: kept raw, byte for byte
    assert bytes(out[3].data[f"tlv_{1 << 30}"]) == pts[4].astype("<f4").tobytes()
    for f in out:
        i = f.counter - 1
        if f.counter != 5:
            np.testing.assert_array_equal(f.data["points"], pts[i])
        np.testing.assert_array_equal(f.data["range_profile_db"], prof[i].astype(np.float32))
        np.testing.assert_array_equal(f.data["azimuth_heatmap"], heat[i])


def test_corrupt_length_field_resyncs_on_magic():
    pts, _, _ = _truth(3)
    pk = packets_from_arrays(pts)
    bad = pk[1][:12] + struct.pack("<I", 0x7FFFFFFF) + pk[1][16:]
    p = UartStreamParser()
    out = list(p.feed(pk[0] + bad + pk[2], 0)) + list(p.finish())
    assert [f.counter for f in out] == [1, 3]
    assert p.counters.corrupt == 1 and p.stats.dropped == 1


def test_file_source_and_inspect(tmp_path):
    pts, prof, _ = _truth(6)
    pk = packets_from_arrays(pts, range_profiles_db=prof)
    f = tmp_path / "capture.dat"
    f.write_bytes(b"\xaa" * 13 + pk[0] + pk[1] + pk[3] + pk[4] + pk[5][:100])
    with UartFileSource(f, start_ns=1000, period_ns=100) as src:
        out = list(src.frames())
    assert [x.counter for x in out] == [1, 2, 4, 5]
    assert [x.stamp_ns for x in out] == [1000, 1100, 1200, 1300]
    rep = inspect_file(f)
    s = rep.streams[0]
    assert rep.format == "ti-mmwave-uart-dump" and s.frames == 4 and s.dropped == 2
    assert s.details["truncated"] == 1 and s.details["gap_frames"] == 1
    assert s.details["garbage_bytes"] == 13


def test_cfg_lines_order():
    lines = cfg_lines("% c\nprofileCfg 0 60\nsensorStart\n\nsensorStop\nframeCfg 0 1\n")
    assert lines == ["sensorStop", "flushCfg", "profileCfg 0 60", "frameCfg 0 1", "sensorStart"]


def test_live_board_over_pty_with_every_fault():
    pts, prof, heat = _truth(12, seed=1)
    pk = packets_from_arrays(pts, range_profiles_db=prof, azimuth_heatmaps=heat)
    faults = UartFaults(
        garbage={2: b"\x07\x08garbage\x02\x01\x04"},
        truncate={4: 60},
        corrupt={6},
        drop={8},
        stall_before={9: 0.3},
        vanish_after=10,
    )
    with TiBoardEmulator(pk, faults) as emu:
        src = UartSource(emu.data_path, cli_port=emu.cli_path, cfg=CFG, stall_timeout=2.0)
        out = []
        with pytest.raises(DriversError, match="vanished"):
            for fr in src.frames():
                out.append(fr)
        src.close()
    assert emu.received[:2] == ["sensorStop", "flushCfg"] and emu.received[-1] == "sensorStart"
    assert [f.counter for f in out] == [1, 2, 3, 4, 6, 8, 10, 11]
    c = src.parser.counters
    assert (c.truncated, c.corrupt, c.gap_frames, c.garbage_bytes) == (1, 1, 1, 12)
    assert src.stats.dropped == 3 and src.stats.frames == 8
    for f in out:
        i = f.counter - 1
        np.testing.assert_array_equal(f.data["points"], pts[i])
        np.testing.assert_array_equal(f.data["azimuth_heatmap"], heat[i])
        np.testing.assert_allclose(f.data["range_profile_db"], prof[i], rtol=1e-6)
        assert f.stamp_ns > 0


def test_stalled_board_ends_with_message():
    pts, _, _ = _truth(3)
    with TiBoardEmulator(packets_from_arrays(pts), UartFaults(stall_before={2: 3.0})) as emu:
        with UartSource(emu.data_path, cli_port=emu.cli_path, cfg=CFG, stall_timeout=0.5) as src:
            out = []
            with pytest.raises(DriversError, match="no data for 0.5 s"):
                out.extend(src.frames())
    assert [f.counter for f in out] == [1, 2]


def test_cli_rejected_line_reports_firmware_text():
    faults = UartFaults(reject={"frameCfg": "Error: Invalid usage of the CLI command"})
    with TiBoardEmulator([], faults) as emu:
        port = open_cli(emu.cli_path)
        with pytest.raises(DriversError, match="frameCfg.*Invalid usage of the CLI command"):
            configure(port, CFG)
        with pytest.raises(DriversError, match="'bogusCmd' is not recognized"):
            configure(port, ["bogusCmd 1 2"])
        port.close()


def test_cli_without_board_times_out():
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        port = open_cli(os.ttyname(slave))
        with pytest.raises(DriversError, match="no 'mmwDemo:/>' prompt within 0.2 s"):
            configure(port, ["sensorStop"], timeout=0.2)
        port.close()
    finally:
        os.close(master)
        os.close(slave)


def test_sdk1_xwr14xx_header_without_subframe():
    """SDK 1.x xWR14xx demos send a 36-byte header (no subframe) and Q-format points."""
    q = encode_points_q(np.array([[0.5, 1.25, -0.75]]), q=8)
    tlv = struct.pack("<2I", 1, len(q)) + q
    total = 36 + len(tlv)
    total += (-total) % 32
    head = MAGIC + struct.pack("<7I", 0x01020000, total, 0xA1443, 9, 0, 1, 1)
    pkt_bytes = (head + tlv).ljust(total, b"\0")
    p = UartStreamParser()
    out = list(p.feed(pkt_bytes * 2, 0)) + list(p.finish())
    assert [f.counter for f in out] == [9, 9] and out[1].flags & FrameFlag.DUPLICATE
    np.testing.assert_allclose(out[0].data["points"][:, :3], [[0.5, 1.25, -0.75]])


def test_spherical_points_si():
    sph = np.array([[2.0, 0.1, -0.2, 0.5]], np.float32)  # range, azimuth, elevation, doppler
    pkt = parse_packet(build_packet(1, [(1000, sph.tobytes())]))
    np.testing.assert_array_equal(pkt.data["spherical_points"], sph)


def test_magic_word_inside_payload_is_not_a_packet_start():
    """Point data that happens to contain the magic word must not cut the packet."""
    fake = np.frombuffer(MAGIC + bytes(8), "<f4").reshape(1, 4)
    pts = [np.zeros((2, 4), np.float32), np.concatenate([fake, fake]), np.ones((1, 4), np.float32)]
    stream = b"".join(packets_from_arrays(pts))
    p = UartStreamParser()
    out = [f for i in range(0, len(stream), 7) for f in p.feed(stream[i : i + 7], 0)]
    out += list(p.finish())
    assert [f.counter for f in out] == [1, 2, 3] and p.stats.dropped == 0
    assert bytes(out[1].data["points"].tobytes()) == pts[1].tobytes()
