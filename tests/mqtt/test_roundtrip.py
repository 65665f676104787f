"""Property-based tests: valid packets round-trip; random and mutated bytes raise only MalformedPacket."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.errors import MalformedPacket
from explorer.mqtt.codec import decode, encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Packet
from explorer.mqtt.reader import PacketReader
from tests.mqtt.golden import DECODE_ONLY, GOLDEN, Case
from tests.mqtt.strategies import V5, V31, V311, packets

VERSIONS = [V31, V311, V5]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _roundtrip(packet: Packet, version: ProtocolVersion) -> None:
    data = encode(packet, version)
    assert decode(data, version) == packet
    [read] = PacketReader(version).receive_data(data)
    assert read.packet == packet
    assert read.raw == data


@SETTINGS
@given(packet=packets(V31))
def test_v31_packets_round_trip(packet: Packet) -> None:
    _roundtrip(packet, V31)


@SETTINGS
@given(packet=packets(V311))
def test_v311_packets_round_trip(packet: Packet) -> None:
    _roundtrip(packet, V311)


@SETTINGS
@given(packet=packets(V5))
def test_v5_packets_round_trip(packet: Packet) -> None:
    _roundtrip(packet, V5)


@SETTINGS
@given(items=st.lists(packets(V5), min_size=1, max_size=8), cuts=st.lists(st.integers(0, 2000), max_size=6))
def test_a_v5_stream_cut_anywhere_reads_the_same_packets(items: list[Packet], cuts: list[int]) -> None:
    stream = b"".join(encode(p, V5) for p in items)
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    reader = PacketReader(V5)
    out = []
    for start, stop in itertools.pairwise(bounds):
        out += reader.receive_data(stream[start:stop])
    # a CONNECT in the stream switches the version to its own: all of ours are v5
    assert [r.packet for r in out] == items


def _only_malformed(data: bytes, version: ProtocolVersion | None) -> None:
    """Decoding ``data`` either works or raises MalformedPacket with a sensible offset."""
    error: MalformedPacket | None = None
    try:
        decode(data, version)
    except MalformedPacket as exc:
        error = exc
    if error is not None:
        assert 0 <= error.offset <= len(data)
        assert error.reason
    reader = PacketReader(version)
    error = None
    try:
        reads = reader.receive_data(data)
    except MalformedPacket as exc:
        error = exc
        reads = []
    for read in reads:
        assert (read.packet is None) != (read.error is None)
        assert read.raw == data[read.start : read.end]
    if error is not None:
        assert reader.broken
        assert 0 <= error.offset <= len(data)


@settings(max_examples=1500, deadline=None)
@given(data=st.binary(max_size=80), version=st.sampled_from([None, *VERSIONS]))
def test_random_bytes_raise_only_malformed_packet(data: bytes, version: ProtocolVersion | None) -> None:
    _only_malformed(data, version)


@settings(max_examples=1500, deadline=None)
@given(
    first=st.integers(0, 255),
    body=st.binary(max_size=60),
    version=st.sampled_from([None, *VERSIONS]),
)
def test_random_bodies_behind_a_valid_header_raise_only_malformed_packet(
    first: int, body: bytes, version: ProtocolVersion | None
) -> None:
    # a correct Remaining Length makes the decoder reach the body checks
    _only_malformed(bytes((first, len(body))) + body, version)


@pytest.mark.parametrize("case", GOLDEN + DECODE_ONLY, ids=str)
def test_every_single_byte_mutation_of_a_golden_packet_raises_only_malformed_packet(case: Case) -> None:
    data = bytearray(case.data)
    for index in range(len(data)):
        original = data[index]
        for value in (0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF, original ^ 0x01, original ^ 0x80, original ^ 0x40):
            data[index] = value
            _only_malformed(bytes(data), case.version)
        data[index] = original


@pytest.mark.parametrize("case", [c for c in GOLDEN if len(c.data) < 40], ids=str)
def test_every_byte_value_at_every_position_of_small_golden_packets(case: Case) -> None:
    data = bytearray(case.data)
    for index in range(len(data)):
        original = data[index]
        for value in range(256):
            data[index] = value
            _only_malformed(bytes(data), case.version)
        data[index] = original
