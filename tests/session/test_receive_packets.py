"""Session.receive_packets: packets parsed elsewhere get the checks of receive_data.

The session's own checks matter when the caller's parser did not apply them (a decoder
without the client's Maximum Packet Size); the outcome must be the one of reading the
same bytes: the same event, the same DISCONNECT.
"""

from __future__ import annotations

import pytest

from explorer.errors import MalformedPacket
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import DisconnectReasonCode, ProtocolVersion
from explorer.mqtt.packets import Connack, Packet, Properties, Publish
from explorer.mqtt.reader import PacketReader
from explorer.session import MessageArrived, ProtocolViolation, ReceivedPacket, Session
from tests.session.helpers import connect, make_session

V311, V5 = ProtocolVersion.V311, ProtocolVersion.V5


def _twins(version: ProtocolVersion, **options: object) -> tuple[Session, Session]:
    """Two connected sessions: one reads bytes, the other takes parsed packets (CONNACK too)."""
    by_bytes, server, _ = make_session(version, client_id="twin", **options)
    connect(by_bytes, server)
    by_packets, _, _ = make_session(version, client_id="twin", **options)
    by_packets.send_connect()
    by_packets.receive_packets(_parsed(encode(Connack(), version), version))
    assert by_packets.state is by_bytes.state
    for session in (by_bytes, by_packets):
        session.events_received()
        session.data_to_send()
    return by_bytes, by_packets


def _parsed(data: bytes, version: ProtocolVersion) -> list[ReceivedPacket]:
    """The packets as a parser without any size limit reads them."""
    return [
        (item.packet if item.packet is not None else item.error, item.end - item.start)  # type: ignore[misc]
        for item in PacketReader(version).receive_data(data)
    ]


@pytest.mark.parametrize("version", [V311, V5])
def test_packet_above_our_maximum_fails_as_when_reading_its_bytes(version: ProtocolVersion) -> None:
    by_bytes, by_packets = _twins(version, maximum_packet_size=50)
    packets: list[Packet] = [Publish("a", b"1"), Publish("big", b"x" * 80), Publish("b", b"2")]
    data = b"".join(encode(p, version) for p in packets)
    by_bytes.receive_data(data)
    by_packets.receive_packets(_parsed(data, version))
    events = by_packets.events_received()
    assert events == by_bytes.events_received()
    assert by_packets.data_to_send() == by_bytes.data_to_send()
    assert [type(e) for e in events] == [MessageArrived, ProtocolViolation]
    violation = events[1]
    assert isinstance(violation, ProtocolViolation)
    assert "exceeds the maximum of 50 bytes" in violation.message
    assert violation.reason_code == (DisconnectReasonCode.MALFORMED_PACKET if version == V5 else None)


def test_an_error_item_fails_with_malformed_packet_and_stops_dispatching() -> None:
    session, server, _ = make_session(V5)
    connect(session, server)
    session.receive_packets(
        [
            (Publish("a", b"1"), 6),
            (MalformedPacket(6, "PUBLISH QoS must not be 3"), 7),
            (Publish("b", b"2"), 6),
        ]
    )
    events = session.events_received()
    assert [type(e) for e in events] == [MessageArrived, ProtocolViolation]
    assert events[1] == ProtocolViolation(
        "the server sent a malformed packet: malformed packet at byte 6: PUBLISH QoS must not be 3",
        DisconnectReasonCode.MALFORMED_PACKET,
    )
    assert session.closed


def test_an_aliased_publish_is_resolved_on_a_copy() -> None:
    session, server, _ = make_session(V5, topic_alias_maximum=2)
    connect(session, server)
    named = Publish("t/long", b"1", properties=Properties(topic_alias=1))
    aliased = Publish("", b"2", properties=Properties(topic_alias=1))
    session.receive_packets([(named, 0), (aliased, 0)])
    first, second = (e.publish for e in session.events_received() if isinstance(e, MessageArrived))
    assert first is named
    assert second is not aliased
    assert (second.topic, aliased.topic) == ("t/long", "")


def test_packets_before_connect_or_after_the_end_are_ignored() -> None:
    session, server, _ = make_session(V5)
    session.receive_packets([(Connack(), 3)])
    assert session.events_received() == []
    connect(session, server)
    session.connection_lost()
    session.receive_packets([(Publish("a", b"1"), 6)])
    assert session.events_received() == []
