"""TCP reassembly: order, retransmission, overlap, wraparound, missing SYN, gaps, endings."""

from __future__ import annotations

import pytest

from explorer.capture import TcpConnection, read_capture_bytes
from tests.capture.builders import ACK, PSH, RST, Conversation, pcap_file, timed


def _read(packets: list[bytes]) -> list[TcpConnection]:
    return read_capture_bytes(pcap_file(timed(packets), link_type=101)).connections


def test_in_order_chunks_keep_the_capture_interleaving_of_both_directions() -> None:
    conv = Conversation()
    packets = [
        *conv.handshake(),
        conv.send(0, b"a1"),
        conv.send(1, b"b1"),
        conv.send(0, b"a2"),
        conv.send(1, b"b2"),
    ]
    (conn,) = _read(packets)
    assert [(c.direction, c.data) for c in conn.chunks] == [
        ("c2s", b"a1"),
        ("s2c", b"b1"),
        ("c2s", b"a2"),
        ("s2c", b"b2"),
    ]
    assert conn.role_evidence == "syn"
    assert conn.problems == []


def test_out_of_order_segments_wait_for_the_missing_bytes() -> None:
    conv = Conversation()
    hs = conv.handshake()
    one, two, three = conv.send(0, b"one-"), conv.send(0, b"two-"), conv.send(0, b"three")
    (conn,) = _read([*hs, three, one, two])
    assert conn.stream("c2s") == b"one-two-three"
    assert [c.data for c in conn.chunks] == [b"one-", b"two-", b"three"]
    # The buffered segment becomes available when the hole before it is filled.
    assert conn.chunks[2].time == conn.chunks[1].time
    assert conn.gaps == []


def test_identical_retransmission_is_delivered_once_without_complaint() -> None:
    conv = Conversation()
    hs = conv.handshake()
    data = conv.send(0, b"payload")
    (conn,) = _read([*hs, data, data, data])
    assert conn.stream("c2s") == b"payload"
    assert conn.problems == []


def test_partial_overlap_delivers_only_the_new_bytes() -> None:
    conv = Conversation()
    hs = conv.handshake()
    start = conv.next[0]
    first = conv.packet(0, start, PSH | ACK, b"abcdef")
    overlapping = conv.packet(0, start + 3, PSH | ACK, b"defghi")
    (conn,) = _read([*hs, first, overlapping])
    assert conn.stream("c2s") == b"abcdefghi"
    assert conn.problems == []


def test_conflicting_overlap_keeps_the_first_copy_and_is_reported() -> None:
    conv = Conversation()
    hs = conv.handshake()
    start = conv.next[0]
    first = conv.packet(0, start, PSH | ACK, b"abcdef")
    conflicting = conv.packet(0, start + 2, PSH | ACK, b"XYefgh")
    (conn,) = _read([*hs, first, conflicting])
    assert conn.stream("c2s") == b"abcdefgh"
    assert any("differ from the first copy" in p and "offset 2" in p for p in conn.problems)


def test_conflicting_buffered_segments_first_data_wins() -> None:
    conv = Conversation()
    hs = conv.handshake()
    start = conv.next[0]
    hole = conv.packet(0, start, PSH | ACK, b"01")
    later_a = conv.packet(0, start + 2, PSH | ACK, b"2345")
    later_b = conv.packet(0, start + 2, PSH | ACK, b"2XX5")
    (conn,) = _read([*hs, later_a, later_b, hole])
    assert conn.stream("c2s") == b"012345"
    assert any("differ" in p for p in conn.problems)


@pytest.mark.parametrize("isn", [2**32 - 3, 2**32 - 1, 2**32 - 10])
def test_sequence_numbers_wrap_around(isn: int) -> None:
    conv = Conversation(isn=(isn, 2**32 - 2))
    hs = conv.handshake()
    parts = [conv.send(0, b"0123456789"), conv.send(0, b"abcdefghij")]
    reply = conv.send(1, b"reply crossing the wrap")
    (conn,) = _read([*hs, parts[1], parts[0], reply])
    assert conn.stream("c2s") == b"0123456789abcdefghij"
    assert conn.stream("s2c") == b"reply crossing the wrap"
    assert conn.gaps == []


def test_missing_syn_takes_the_higher_port_as_client_and_says_so() -> None:
    conv = Conversation(client=("10.0.0.9", 1883), server=("10.0.0.1", 61000))
    # The capture starts mid-stream and the first segment comes from the low port side.
    packets = [conv.send(0, b"server talks first"), conv.send(1, b"client answers")]
    (conn,) = _read(packets)
    assert conn.role_evidence == "port"
    assert conn.client.port == 61000
    assert conn.stream("s2c") == b"server talks first"
    assert any("no SYN captured" in p for p in conn.problems)


def test_missing_syn_with_equal_ports_takes_the_first_sender_as_client() -> None:
    conv = Conversation(client=("10.0.0.2", 7000), server=("10.0.0.1", 7000))
    (conn,) = _read([conv.send(0, b"first"), conv.send(1, b"second")])
    assert conn.role_evidence == "first-sender"
    assert conn.client.address == "10.0.0.2"


def test_syn_ack_alone_identifies_the_server() -> None:
    conv = Conversation(client=("10.0.0.1", 80), server=("10.0.0.2", 9000))
    _syn, synack, ack = conv.handshake()
    (conn,) = _read([synack, ack, conv.send(0, b"GET / HTTP/1.1\r\n\r\n")])
    assert conn.role_evidence == "syn-ack"
    assert conn.client.port == 80


def test_a_lost_segment_acknowledged_by_the_peer_is_a_gap_not_papered_over() -> None:
    conv = Conversation()
    hs = conv.handshake()
    first = conv.send(0, b"AAAA")
    conv.send(0, b"BBBB")  # never captured
    third = conv.send(0, b"CCCC")
    peer_ack = conv.packet(1, conv.next[1], ACK)
    after = conv.send(1, b"reply")
    (conn,) = _read([*hs, first, third, peer_ack, after])
    assert conn.stream("c2s") == b"AAAACCCC"
    (gap,) = conn.gaps
    assert (gap.direction, gap.offset, gap.length) == ("c2s", 4, 4)
    assert conn.chunks[gap.chunk_index].data == b"CCCC"
    # The gap is declared when the acknowledgement shows it, before the reply.
    assert [c.data for c in conn.chunks] == [b"AAAA", b"CCCC", b"reply"]
    assert any("4 bytes missing from the c2s stream at offset 4" in p for p in conn.problems)


def test_a_hole_still_open_at_the_end_of_the_capture_is_a_gap() -> None:
    conv = Conversation()
    hs = conv.handshake()
    conv.send(0, b"lost")
    last = conv.packet(0, conv.next[0], PSH, b"kept")  # no ACK flag: nothing acknowledges the hole
    (conn,) = _read([*hs, last])
    assert conn.stream("c2s") == b"kept"
    assert [(g.offset, g.length, g.chunk_index) for g in conn.gaps] == [(0, 4, 0)]


def test_acknowledged_bytes_never_captured_at_the_end_are_a_gap() -> None:
    conv = Conversation()
    hs = conv.handshake()
    conv.send(1, b"never seen")
    (conn,) = _read([*hs, conv.send(0, b"thanks")])
    assert conn.stream("s2c") == b""
    assert [(g.direction, g.length) for g in conn.gaps] == [("s2c", 10)]


def test_fin_ends_a_direction_only_after_every_byte_before_it() -> None:
    conv = Conversation()
    hs = conv.handshake()
    data = conv.send(0, b"last words")
    fin = conv.fin(0)
    (conn,) = _read([*hs, fin])
    assert "c2s" not in conn.ended
    (conn,) = _read([*hs, fin, data])
    assert "c2s" in conn.ended
    assert "s2c" not in conn.ended


def test_rst_ends_both_directions() -> None:
    conv = Conversation()
    packets = [*conv.handshake(), conv.send(0, b"x"), conv.packet(1, conv.next[1], RST | ACK)]
    (conn,) = _read(packets)
    assert conn.reset
    assert set(conn.ended) == {"c2s", "s2c"}


def test_data_after_fin_is_reported() -> None:
    conv = Conversation()
    packets = [*conv.handshake(), conv.fin(0), conv.send(0, b"late")]
    (conn,) = _read(packets)
    assert any("after the sender's FIN" in p for p in conn.problems)


def test_a_new_syn_on_a_reused_four_tuple_starts_a_new_connection() -> None:
    first = Conversation(isn=(100, 200))
    second = Conversation(isn=(90000, 70000))
    packets = [
        *first.handshake(),
        first.send(0, b"one"),
        first.fin(0),
        first.fin(1),
        *second.handshake(),
        second.send(0, b"two"),
    ]
    conns = _read(packets)
    assert [c.stream("c2s") for c in conns] == [b"one", b"two"]
    assert [c.index for c in conns] == [0, 1]


def test_a_retransmitted_syn_stays_in_the_same_connection() -> None:
    conv = Conversation()
    syn, synack, ack = conv.handshake()
    (conn,) = _read([syn, syn, synack, ack, conv.send(0, b"data")])
    assert conn.stream("c2s") == b"data"


def test_connections_are_listed_in_order_of_first_segment() -> None:
    a = Conversation(client=("10.0.0.1", 40001))
    b = Conversation(client=("10.0.0.1", 40002))
    packets = [*b.handshake()[:1], *a.handshake(), *b.handshake()[1:]]
    conns = _read(packets)
    assert [c.client.port for c in conns] == [40002, 40001]


def test_a_handshake_without_payload_produces_no_chunks() -> None:
    conv = Conversation()
    (conn,) = _read([*conv.handshake(), conv.packet(1, conv.next[1], ACK)])
    assert conn.chunks == []
    assert conn.role_evidence == "syn"


def test_a_keep_alive_probe_is_ignored_silently() -> None:
    conv = Conversation()
    hs = conv.handshake()
    data = conv.send(0, b"abc")
    probe = conv.packet(0, conv.next[0] - 1, ACK, b"\x00")  # one old byte, not the real one
    (conn,) = _read([*hs, data, probe, conv.send(0, b"def")])
    assert conn.stream("c2s") == b"abcdef"
    assert conn.problems == []


def test_a_segment_declared_lost_that_arrives_late_is_not_used() -> None:
    conv = Conversation()
    hs = conv.handshake()
    first = conv.send(0, b"AAAA")
    lost = conv.send(0, b"BBBB")
    third = conv.send(0, b"CCCC")
    peer_ack = conv.packet(1, conv.next[1], ACK)
    (conn,) = _read([*hs, first, third, peer_ack, lost])
    assert conn.stream("c2s") == b"AAAACCCC"
    assert len(conn.gaps) == 1
    assert any("arrived late" in p for p in conn.problems)
