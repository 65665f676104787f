"""pcap and pcapng containers: byte orders, timestamp resolutions, block kinds, damage."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from explorer.capture import CaptureError, read_capture, read_capture_bytes
from tests.capture.builders import (
    Conversation,
    Interface,
    Packet,
    ethernet,
    pcap_file,
    pcapng_section,
    sll,
    timed,
)


def _exchange() -> list[bytes]:
    conv = Conversation()
    return [*conv.handshake(), conv.send(0, b"hello"), conv.send(1, b"world"), conv.fin(0), conv.fin(1)]


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nanoseconds", [False, True])
def test_pcap_reads_both_byte_orders_and_resolutions(order: str, nanoseconds: bool) -> None:
    frames = timed(_exchange(), ethernet, start=1700000000.123456)
    capture = read_capture_bytes(pcap_file(frames, order=order, nanoseconds=nanoseconds))
    assert capture.format == "pcap"
    assert capture.frame_count == len(frames)
    (conn,) = capture.connections
    assert conn.stream("c2s") == b"hello"
    assert conn.stream("s2c") == b"world"
    assert conn.chunks[0].time == pytest.approx(frames[3][0], abs=1e-6)
    assert set(conn.ended) == {"c2s", "s2c"}


def test_pcap_nanosecond_timestamps_keep_sub_microsecond_digits() -> None:
    frames = timed(_exchange(), ethernet, start=10.000000123)
    capture = read_capture_bytes(pcap_file(frames, nanoseconds=True))
    assert capture.connections[0].chunks[0].time == pytest.approx(10.003000123, abs=1e-9)


def test_pcap_truncated_at_the_end_returns_what_was_read() -> None:
    data = pcap_file(timed(_exchange(), ethernet))
    capture = read_capture_bytes(data[:-10])
    assert capture.frame_count == 6
    assert "truncated" in capture.problems[0]
    assert capture.connections[0].stream("c2s") == b"hello"


def test_pcap_with_unsupported_link_type_is_refused() -> None:
    with pytest.raises(CaptureError, match="link type 147"):
        read_capture_bytes(pcap_file(timed(_exchange()), link_type=147))


def test_pcap_snap_length_cut_is_reported_as_missing_bytes() -> None:
    conv = Conversation()
    packets = [*conv.handshake(), conv.send(0, b"x" * 100), conv.send(0, b"tail")]
    capture = read_capture_bytes(pcap_file(timed(packets, ethernet), snaplen=80))
    conn = capture.connections[0]
    assert any("snap length" in p for p in conn.problems)
    assert conn.gaps
    assert conn.gaps[0].direction == "c2s"
    assert not conn.stream("c2s").endswith(b"x" * 100)


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_reads_epb_spb_and_opb_in_either_byte_order(order: str) -> None:
    packets = _exchange()
    kinds = ["epb", "opb", "epb", "spb", "epb", "epb", "opb", "epb"]
    blocks = [Packet(1000.0 + i, ethernet(p), kind=kinds[i]) for i, p in enumerate(packets)]
    capture = read_capture_bytes(pcapng_section([Interface(1)], blocks, order=order))
    assert capture.format == "pcapng"
    (conn,) = capture.connections
    assert conn.stream("c2s") == b"hello"
    assert conn.stream("s2c") == b"world"


def test_pcapng_simple_packet_block_takes_the_previous_timestamp() -> None:
    packets = _exchange()
    blocks = [Packet(1000.0 + i, ethernet(p)) for i, p in enumerate(packets)]
    blocks[3] = Packet(0.0, ethernet(packets[3]), kind="spb")
    capture = read_capture_bytes(pcapng_section([Interface(1)], blocks))
    assert capture.connections[0].chunks[0].time == pytest.approx(1002.0)


@pytest.mark.parametrize(("tsresol", "time"), [(9, 1700000000.000000123), (0x80 | 20, 1234.5), (3, 99.125)])
def test_pcapng_honours_if_tsresol(tsresol: int, time: float) -> None:
    packets = _exchange()
    blocks = [Packet(time, ethernet(p)) for p in packets]
    capture = read_capture_bytes(pcapng_section([Interface(1, tsresol=tsresol)], blocks))
    assert capture.connections[0].chunks[0].time == pytest.approx(time, abs=1e-6)


def test_pcapng_honours_if_tsoffset() -> None:
    blocks = [Packet(1_600_000_000.5, ethernet(p)) for p in _exchange()]
    capture = read_capture_bytes(pcapng_section([Interface(1, tsoffset=1_600_000_000)], blocks))
    assert capture.connections[0].chunks[0].time == pytest.approx(1_600_000_000.5)


def test_pcapng_skips_unknown_blocks_and_reads_several_sections_and_interfaces() -> None:
    conv_a = Conversation(client=("10.0.0.1", 40000))
    conv_b = Conversation(client=("10.0.0.3", 40001), v6=False)
    a = [*conv_a.handshake(), conv_a.send(0, b"first section")]
    b = [*conv_b.handshake(), conv_b.send(0, b"second section")]
    section1 = pcapng_section(
        [Interface(1), Interface(101)],
        [Packet(1.0 + i, ethernet(p) if i % 2 else p, interface=i % 2 ^ 1) for i, p in enumerate(a)],
        order="<",
        extra_blocks=[(0x00000004, b"\x00" * 8), (0x00000BAD, b"custom!!")],
    )
    section2 = pcapng_section(
        [Interface(113)], [Packet(10.0 + i, sll(p)) for i, p in enumerate(b)], order=">"
    )
    capture = read_capture_bytes(section1 + section2)
    assert [c.stream("c2s") for c in capture.connections] == [b"first section", b"second section"]


def test_pcapng_truncated_last_block_returns_what_was_read() -> None:
    data = pcapng_section([Interface(1)], [Packet(1.0 + i, ethernet(p)) for i, p in enumerate(_exchange())])
    capture = read_capture_bytes(data[:-7])
    assert any("truncated" in p for p in capture.problems)
    assert capture.connections[0].stream("s2c") == b"world"


def test_pcapng_impossible_block_length_is_an_error() -> None:
    data = bytearray(pcapng_section([Interface(1)], [Packet(1.0, ethernet(p)) for p in _exchange()]))
    shb_length = struct.unpack_from("<I", data, 4)[0]
    struct.pack_into("<I", data, shb_length + 4, 13)
    with pytest.raises(CaptureError, match="impossible length"):
        read_capture_bytes(bytes(data))


def test_pcapng_only_unsupported_link_types_is_refused() -> None:
    data = pcapng_section([Interface(147)], [Packet(1.0, b"\x00" * 40)])
    with pytest.raises(CaptureError, match="unsupported link types"):
        read_capture_bytes(data)


def test_pcapng_unsupported_interface_beside_a_supported_one_is_noted() -> None:
    blocks = [Packet(1.0 + i, ethernet(p)) for i, p in enumerate(_exchange())]
    blocks.append(Packet(20.0, b"\x00" * 30, interface=1))
    capture = read_capture_bytes(pcapng_section([Interface(1), Interface(147)], blocks))
    assert any("147" in p for p in capture.problems)
    assert capture.connections[0].stream("c2s") == b"hello"


def test_a_file_that_is_not_a_capture_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is text\n")
    with pytest.raises(CaptureError, match="not a pcap or pcapng"):
        read_capture(path)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    with pytest.raises(CaptureError, match="empty"):
        read_capture(path)


def test_a_missing_file_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="no such file"):
        read_capture(tmp_path / "absent.pcapng")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="directory"):
        read_capture(tmp_path)


def test_a_pcap_header_alone_cut_short_is_refused() -> None:
    with pytest.raises(CaptureError, match="truncated"):
        read_capture_bytes(pcap_file([])[:10])
