"""PacketReader: golden packets fed whole, byte by byte, with trailing data, and every truncation."""

from __future__ import annotations

import itertools

import pytest

from explorer.errors import MalformedPacket, PacketTooLarge
from explorer.mqtt.codec import decode, encode, parse_fixed_header
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import NO_PROPERTIES, Connect, Packet, Pingreq, Properties, Puback, Publish
from explorer.mqtt.parse import decode_body
from explorer.mqtt.reader import PacketReader, ReadPacket, TopicCache, qos0_publish
from tests.mqtt.golden import DECODE_ONLY, GOLDEN, V5, V311, Case
from tests.mqtt.malformed import MALFORMED, Bad


def _reader_for(case: Case) -> PacketReader:
    return PacketReader(version=case.version)


def _feed(reader: PacketReader, data: bytes, size: int) -> list[ReadPacket]:
    out: list[ReadPacket] = []
    for index in range(0, len(data), size):
        out += reader.receive_data(data[index : index + size])
    return out


@pytest.mark.parametrize("case", GOLDEN + DECODE_ONLY, ids=str)
def test_golden_packet_fed_whole(case: Case) -> None:
    reader = _reader_for(case)
    [read] = reader.receive_data(case.data)
    assert read == ReadPacket(0, len(case.data), case.packet, case.data, None)
    assert reader.consumed == len(case.data)
    assert reader.buffered == 0


@pytest.mark.parametrize("case", GOLDEN + DECODE_ONLY, ids=str)
def test_golden_packet_fed_byte_by_byte(case: Case) -> None:
    reader = _reader_for(case)
    out = _feed(reader, case.data, 1)
    assert out == [ReadPacket(0, len(case.data), case.packet, case.data, None)]
    assert reader.consumed == len(case.data)


@pytest.mark.parametrize("case", GOLDEN, ids=str)
def test_golden_packet_with_trailing_data_keeps_the_rest_buffered(case: Case) -> None:
    reader = _reader_for(case)
    trailing = b"\x30\x0a\x00\x01t"  # the start of another PUBLISH
    [read] = reader.receive_data(case.data + trailing)
    assert read.packet == case.packet
    assert read.raw == case.data
    assert reader.consumed == len(case.data)
    assert reader.buffered == len(trailing)


@pytest.mark.parametrize("case", GOLDEN + DECODE_ONLY, ids=str)
def test_every_truncation_needs_more_data(case: Case) -> None:
    for cut in range(len(case.data)):
        reader = _reader_for(case)
        assert reader.receive_data(case.data[:cut]) == []
        assert reader.consumed == 0
        assert reader.buffered == cut
        assert not reader.broken
        [read] = reader.receive_data(case.data[cut:])
        assert read.packet == case.packet


@pytest.mark.parametrize("version", [ProtocolVersion.V31, V311, V5], ids=lambda v: v.label)
@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 100_000])
def test_a_stream_of_every_golden_packet_in_any_chunking(version: ProtocolVersion, size: int) -> None:
    cases = [c for c in GOLDEN if c.version == version and not isinstance(c.packet, Connect)]
    stream = b"".join(c.data for c in cases)
    reader = PacketReader(version)
    out = _feed(reader, stream, size)
    assert [r.packet for r in out] == [c.packet for c in cases]
    offsets = [0]
    for c in cases:
        offsets.append(offsets[-1] + len(c.data))
    assert [(r.start, r.end) for r in out] == list(itertools.pairwise(offsets))
    assert [r.raw for r in out] == [c.data for c in cases]
    assert reader.consumed == len(stream)
    assert reader.buffered == 0


def test_a_connect_sets_the_version_for_the_packets_after_it() -> None:
    v5_publish = Publish("t", b"x", properties=Properties(user_properties=(("k", "v"),)))
    stream = encode(Connect(protocol_version=V5, client_id="c"), V5) + encode(v5_publish, V5)
    reader = PacketReader()
    assert reader.version is None
    out = reader.receive_data(stream)
    assert out[1].packet == v5_publish
    assert reader.version == V5


def test_version_can_be_set_after_creation() -> None:
    reader = PacketReader()
    reader.version = V5
    [read] = reader.receive_data(encode(Publish("t", b"x"), V5))
    assert read.packet == Publish("t", b"x")


_BROKEN = {
    "reserved-type-0",
    "pubrel-flags",
    "subscribe-flags",
    "unsubscribe-flags",
    "puback-flags",
    "remaining-length-5-bytes",
}
_STREAM_LEVEL = {"remaining-length-mismatch", "too-short", "remaining-length-truncated"}
_BODY_ERRORS = [b for b in MALFORMED if b.name not in _BROKEN and b.name not in _STREAM_LEVEL]


@pytest.mark.parametrize("bad", _BODY_ERRORS, ids=str)
def test_a_malformed_body_is_reported_and_reading_continues(bad: Bad) -> None:
    reader = PacketReader(bad.version)
    prefix = encode(Pingreq(), V311)
    suffix = encode(Puback(3), V311)
    out = reader.receive_data(prefix + bad.data + suffix)
    assert [r.packet for r in out] == [Pingreq(), None, Puback(3)]
    error = out[1].error
    assert isinstance(error, MalformedPacket)
    assert error.offset == len(prefix) + bad.offset  # stream offset
    assert bad.reason in error.reason
    assert (out[1].start, out[1].end, out[1].raw) == (2, 2 + len(bad.data), bad.data)
    assert not reader.broken


@pytest.mark.parametrize("bad", [b for b in MALFORMED if b.name in _BROKEN], ids=str)
def test_a_bad_fixed_header_breaks_the_stream_and_raises_once(bad: Bad) -> None:
    reader = PacketReader(bad.version)
    with pytest.raises(MalformedPacket) as info:
        reader.receive_data(bad.data)
    assert info.value.offset == bad.offset
    assert bad.reason in info.value.reason
    assert reader.broken
    assert reader.error is info.value
    assert reader.receive_data(encode(Pingreq(), V311)) == []
    assert reader.broken


def test_packets_before_a_broken_header_are_returned_and_the_error_raised_next() -> None:
    reader = PacketReader()
    out = reader.receive_data(b"\xc0\x00\xd0\x00\x00\x00")
    assert [r.packet for r in out] == [Pingreq(), decode(b"\xd0\x00")]
    assert reader.broken
    with pytest.raises(MalformedPacket) as info:
        reader.receive_data(b"\xc0\x00")
    assert info.value.offset == 4
    assert reader.receive_data(b"\xc0\x00") == []
    assert reader.consumed == 4


def test_a_bad_first_byte_is_reported_before_its_length_arrives() -> None:
    reader = PacketReader()
    reader.receive_data(b"\xc0\x00")
    with pytest.raises(MalformedPacket) as info:
        reader.receive_data(b"\x61")
    assert info.value.offset == 2


def test_maximum_packet_size_is_checked_from_the_fixed_header_before_the_body() -> None:
    reader = PacketReader(max_packet_size=100)
    header_only = b"\x30\xe5\x00"  # PUBLISH announcing 101 bytes after a 3-byte header: 104 in all
    with pytest.raises(PacketTooLarge) as info:
        reader.receive_data(header_only)
    assert info.value.size == 104
    assert info.value.maximum == 100
    assert info.value.offset == 0
    assert reader.broken


def test_maximum_packet_size_counts_the_whole_packet() -> None:
    packet = Publish("t", bytes(95))  # 2 + 3 + 95 = 100 bytes
    data = encode(packet, V311)
    assert len(data) == 100
    assert PacketReader(max_packet_size=100).receive_data(data)[0].packet == packet
    with pytest.raises(PacketTooLarge):
        PacketReader(max_packet_size=99).receive_data(data)
    with pytest.raises(PacketTooLarge):  # also on the QoS 0 fast path with the body not yet here
        PacketReader(max_packet_size=99).receive_data(data[:3])


def test_large_packet_in_small_chunks_is_reassembled() -> None:
    packet = Publish("big/topic", bytes(range(256)) * 300, qos=1, packet_id=9)
    data = encode(packet, V311)
    reader = PacketReader()
    out = _feed(reader, data, 1000)
    assert [r.packet for r in out] == [packet]
    assert reader.buffered == 0


def test_buffered_counts_the_bytes_of_the_incomplete_packet() -> None:
    reader = PacketReader()
    data = encode(Publish("t", bytes(50)), V311)
    reader.receive_data(data[:10])
    assert reader.buffered == 10
    reader.receive_data(data[10:20])
    assert reader.buffered == 20
    assert reader.consumed == 0
    reader.receive_data(data[20:] + data[:1])
    assert reader.consumed == len(data)
    assert reader.buffered == 1


def test_bytearray_and_memoryview_chunks_are_accepted() -> None:
    data = encode(Publish("a/b", b"payload"), V311)
    reader = PacketReader()
    first = reader.receive_data(bytearray(data[:4]))  # type: ignore[arg-type]
    out = first + reader.receive_data(memoryview(data)[4:])  # type: ignore[arg-type]
    packet = out[0].packet
    assert isinstance(packet, Publish)
    assert packet == Publish("a/b", b"payload")
    assert type(out[0].raw) is bytes
    assert type(packet.payload) is bytes


def test_empty_chunk_returns_nothing() -> None:
    reader = PacketReader()
    assert reader.receive_data(b"") == []
    assert reader.consumed == 0


def _general(data: bytes, version: ProtocolVersion) -> Packet:
    """The packet as the general path reads it (decode_body, no fast path)."""
    header = parse_fixed_header(data, 0, len(data), int(version))
    assert header is not None
    return decode_body(data, 0, header[0], len(data), int(version))


FAST_CASES = [
    (V311, Publish("sensors/t", b"23")),
    (V311, Publish("sensors/t", b"23", retain=True)),
    (V311, Publish("t/\u00e9\u6f22", b"")),
    (V311, Publish("t", b"x" * 300)),  # two-byte Remaining Length
    (V5, Publish("sensors/t", b"23")),  # Property Length 0
    (V5, Publish("sensors/t", b"23", retain=True)),
    (V5, Publish("sensors/t", b"", properties=Properties(content_type="a"))),  # properties: general path
    (V5, Publish("", b"x", properties=Properties(topic_alias=4))),  # empty topic: general path
]


@pytest.mark.parametrize(("version", "packet"), FAST_CASES)
def test_fast_path_builds_the_same_packet_as_the_general_path(
    version: ProtocolVersion, packet: Publish
) -> None:
    data = encode(packet, version)
    reader = PacketReader(version)
    # twice: the second read comes from the topic cache
    for _ in range(2):
        [read] = reader.receive_data(data)
        assert read.packet == decode(data, version) == _general(data, version) == packet
        assert isinstance(read.packet, Publish)
        assert read.packet.properties is NO_PROPERTIES or packet.properties
        assert (read.start, read.end, read.raw) == (reader.consumed - len(data), reader.consumed, data)


@pytest.mark.parametrize(("version", "packet"), FAST_CASES)
def test_qos0_publish_reads_what_the_general_path_reads_or_leaves_it(
    version: ProtocolVersion, packet: Publish
) -> None:
    data = encode(packet, version)
    header = parse_fixed_header(data, 0, len(data), int(version))
    assert header is not None
    topics = TopicCache()
    for _ in range(2):  # the second time from the cache
        parts = qos0_publish(data, header[0], len(data), int(version), topics)
        if packet.properties or not packet.topic:
            assert parts is None  # decode_body's to read
        else:
            assert parts == (packet.topic, packet.payload)
            assert topics.known == {packet.topic.encode(): packet.topic}
            assert topics.topic == packet.topic


@pytest.mark.parametrize(
    "data",
    [
        b"\x30\x05\x00\x02\xc3\x28x",  # invalid UTF-8 topic
        b"\x30\x05\x00\x02a\x00x",  # U+0000 in topic
        b"\x30\x05\x00\x02\xed\xa0x",  # a UTF-16 surrogate half
        b"\x30\x04\x00\x05ab",  # topic longer than the packet
        b"\x30\x01\x00",  # no room for the topic length
        b"\x30\x03\x00\x00x",  # empty topic in 3.1.1 is left to the topic rules, not the codec
    ],
)
def test_fast_path_falls_back_to_the_full_decoder(data: bytes) -> None:
    assert qos0_publish(data, 2, len(data), 4, TopicCache()) is None
    reader = PacketReader()
    [read] = reader.receive_data(data)
    try:
        expected: Packet | MalformedPacket = _general(data, V311)
    except MalformedPacket as exc:
        expected = exc
    if isinstance(expected, MalformedPacket):
        assert read.packet is None
        assert read.error is not None
        assert (read.error.offset, read.error.reason) == (expected.offset, expected.reason)
        with pytest.raises(MalformedPacket) as info:
            decode(data)
        assert (info.value.offset, info.value.reason) == (expected.offset, expected.reason)
    else:
        assert read.error is None
        assert read.packet == decode(data) == expected
    assert (reader.topics.known, reader.topics.topic) == ({}, "")  # nothing wrong is cached


def test_a_bad_topic_after_a_cached_one_is_not_taken_from_the_cache() -> None:
    good = encode(Publish("ab", b"1"))
    bad = b"\x30\x05\x00\x02a\x00x"
    reads = PacketReader().receive_data(good + bad + good)
    assert [r.packet for r in reads] == [Publish("ab", b"1"), None, Publish("ab", b"1")]
    assert reads[1].error is not None


@pytest.mark.parametrize("version", [V311, V5])
def test_fast_path_keeps_the_maximum_packet_size(version: ProtocolVersion) -> None:
    data = encode(Publish("t", b"x" * 20), version)
    assert PacketReader(version, max_packet_size=len(data)).receive_data(data)[0].packet == Publish(
        "t", b"x" * 20
    )
    reader = PacketReader(version, max_packet_size=len(data) - 1)
    with pytest.raises(PacketTooLarge) as info:
        reader.receive_data(data)
    assert (info.value.offset, info.value.size, info.value.maximum) == (0, len(data), len(data) - 1)


def test_the_fast_path_matches_the_current_packet_classes() -> None:
    # It turns itself off if Publish or ReadPacket gain a field; this says when that happened.
    from explorer.mqtt import reader

    assert reader._FAST


def test_a_topic_read_before_is_recognised_only_in_full() -> None:
    # The previous Topic Name is compared with its length bytes: a longer or shorter
    # name sharing its start is read afresh, and a bad one after a good one falls back.
    packets = [Publish("a/b", b"1"), Publish("a/bc", b"2"), Publish("a", b"3"), Publish("a/b", b"4")]
    stream = b"".join(encode(p) for p in packets) + b"\x30\x06\x00\x03a/\xff1"
    reads = PacketReader().receive_data(stream)
    assert [r.packet for r in reads[:4]] == packets
    assert reads[4].packet is None
    assert reads[4].error is not None


def test_the_empty_cache_matches_no_topic() -> None:
    # A Topic Name of 65535 bytes starting with 0xFF: not UTF-8, whatever was read before.
    body = b"\xff\xff" + b"\xff" * 65535
    data = b"\x30" + bytes([0x81, 0x80, 0x04]) + body
    assert qos0_publish(data, 4, len(data), 4, TopicCache()) is None
    [read] = PacketReader().receive_data(data)
    assert read.packet is None
    assert read.error is not None
