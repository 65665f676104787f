"""Link layers and IP: every supported link type, VLAN tags, IPv4 options, IPv6 extensions, fragments."""

from __future__ import annotations

import pytest

from explorer.capture import read_capture_bytes
from tests.capture.builders import (
    LINK_WRAPPERS,
    Conversation,
    ethernet,
    ipv4,
    ipv6,
    null,
    pcap_file,
    tcp,
    timed,
)


def _conversation(v6: bool) -> tuple[Conversation, list[bytes]]:
    if v6:
        conv = Conversation(client=("2001:db8::1", 50000), server=("2001:db8::2", 443), v6=True)
    else:
        conv = Conversation()
    return conv, [*conv.handshake(), conv.send(0, b"request"), conv.send(1, b"reply")]


# Raw IPv4 (228) and raw IPv6 (229) carry only their own IP version.
LINK_CASES = [
    (link, v6)
    for link in sorted(LINK_WRAPPERS)
    for v6 in (False, True)
    if not (link == 228 and v6) and not (link == 229 and not v6)
]


@pytest.mark.parametrize(("link_type", "v6"), LINK_CASES)
def test_every_supported_link_type_yields_the_tcp_stream(link_type: int, v6: bool) -> None:
    conv, packets = _conversation(v6)
    capture = read_capture_bytes(pcap_file(timed(packets, LINK_WRAPPERS[link_type]), link_type=link_type))
    (conn,) = capture.connections
    assert conn.client.address == conv.ends[0][0]
    assert conn.server.port == conv.ends[1][1]
    assert conn.stream("c2s") == b"request"
    assert conn.stream("s2c") == b"reply"


def test_bsd_null_header_in_big_endian_order_is_understood() -> None:
    _conv, packets = _conversation(False)
    capture = read_capture_bytes(pcap_file(timed(packets, lambda p: null(p, order=">")), link_type=0))
    assert capture.connections[0].stream("c2s") == b"request"


def test_ipv6_endpoint_prints_in_brackets() -> None:
    _conv, packets = _conversation(True)
    capture = read_capture_bytes(pcap_file(timed(packets), link_type=229))
    assert str(capture.connections[0].server) == "[2001:db8::2]:443"


@pytest.mark.parametrize("vlans", [[10], [100, 200]])
def test_vlan_tags_are_skipped(vlans: list[int]) -> None:
    _conv, packets = _conversation(False)
    capture = read_capture_bytes(pcap_file(timed(packets, lambda p: ethernet(p, vlans=vlans))))
    assert capture.connections[0].stream("s2c") == b"reply"


def test_ethernet_padding_after_a_short_ip_packet_is_not_payload() -> None:
    conv = Conversation()
    packets = [*conv.handshake(), conv.send(0, b"ab")]
    capture = read_capture_bytes(pcap_file(timed(packets, lambda p: ethernet(p, pad_to=60))))
    assert capture.connections[0].stream("c2s") == b"ab"


def test_ipv4_options_are_skipped() -> None:
    segment = tcp(50000, 1883, 1, 0, 0x18, b"payload")
    packet = ipv4("10.0.0.1", "10.0.0.2", segment, options=b"\x94\x04\x00\x00")  # router alert
    capture = read_capture_bytes(pcap_file(timed([packet]), link_type=101))
    assert capture.connections[0].stream("c2s") == b"payload"


def test_an_ipv4_datagram_missing_a_fragment_is_reported_not_guessed() -> None:
    segment = tcp(50000, 1883, 1, 0, 0x18, b"payload")
    first = ipv4("10.0.0.1", "10.0.0.2", segment, frag=0x2000)  # More Fragments
    capture = read_capture_bytes(pcap_file(timed([first]), link_type=101))
    assert capture.connections == []
    assert any("IPv4 fragment" in p and "frame 1" in p and "never completed" in p for p in capture.problems)


def _fragments(packet: bytes, size: int) -> list[bytes]:
    """Split an IPv4 packet (20-byte header) into fragments of ``size`` data bytes (RFC 791 §3.2)."""
    header, data = packet[:20], packet[20:]
    out = []
    for start in range(0, len(data), size):
        piece = data[start : start + size]
        more = 0x2000 if start + size < len(data) else 0
        head = bytearray(header)
        head[2:4] = (20 + len(piece)).to_bytes(2, "big")
        head[6:8] = (more | start // 8).to_bytes(2, "big")
        out.append(bytes(head) + piece)
    return out


@pytest.mark.parametrize("order", ["in-order", "reversed", "duplicated"])
def test_ipv4_fragments_are_reassembled_in_any_order(order: str) -> None:
    payload = bytes(range(256)) * 3
    packet = ipv4("10.0.0.1", "10.0.0.2", tcp(50000, 1883, 1, 0, 0x18, payload))
    pieces = _fragments(packet, 104)
    assert len(pieces) > 3
    if order == "reversed":
        pieces.reverse()
    elif order == "duplicated":
        pieces = [pieces[0], *pieces, pieces[2]]
    capture = read_capture_bytes(pcap_file(timed(pieces), link_type=101))
    (conn,) = capture.connections
    assert conn.stream("c2s") == payload
    assert capture.problems == []


def test_ipv6_extension_headers_are_skipped() -> None:
    segment = tcp(50000, 1883, 1, 0, 0x18, b"payload")
    packet = ipv6(
        "2001:db8::1",
        "2001:db8::2",
        segment,
        extensions=[
            (0, b"\x01\x04\x00\x00\x00\x00"),
            (60, b"\x01\x04\x00\x00\x00\x00"),
            (44, b"\x00\x00\x00\x00\x00\x07"),
        ],
    )
    capture = read_capture_bytes(pcap_file(timed([packet]), link_type=229))
    assert capture.connections[0].stream("c2s") == b"payload"


def test_ipv6_fragments_are_reported_not_guessed() -> None:
    segment = tcp(50000, 1883, 1, 0, 0x18, b"payload")
    packet = ipv6("2001:db8::1", "2001:db8::2", segment, extensions=[(44, b"\x00\x01\x00\x00\x00\x07")])
    capture = read_capture_bytes(pcap_file(timed([packet]), link_type=229))
    assert capture.connections == []
    assert any("IPv6 fragment" in p for p in capture.problems)


def test_non_tcp_traffic_is_ignored_silently() -> None:
    udp = ipv4("10.0.0.1", "10.0.0.2", b"\x00" * 16, proto=17)
    capture = read_capture_bytes(pcap_file(timed([udp, b"\xff" * 20]), link_type=101))
    assert capture.connections == []
    assert capture.problems == []
