"""Session.receive_packets: the server's packets, parsed once, by the connection's decoder.

The session applies its own checks too, for a caller whose parser did not (a parser
without the client's Maximum Packet Size): the outcome is the same event and the same
DISCONNECT either way.
"""

from __future__ import annotations

import pytest

from explorer.errors import MalformedPacket
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import DisconnectReasonCode, ProtocolVersion
from explorer.mqtt.packets import Connack, Disconnect, Packet, Properties, Publish
from explorer.mqtt.reader import PacketReader
from explorer.session import MessageArrived, ProtocolViolation, ReceivedPacket
from tests.session.helpers import connect, make_session

V311, V5 = ProtocolVersion.V311, ProtocolVersion.V5


def _parsed(data: bytes, version: ProtocolVersion) -> list[ReceivedPacket]:
    """The packets as a parser without any size limit reads them."""
    return [
        (item.packet if item.packet is not None else item.error, item.end - item.start)  # type: ignore[misc]
        for item in PacketReader(version).receive_data(data)
    ]


@pytest.mark.parametrize("path", ["decoder", "unlimited-parser"])
@pytest.mark.parametrize("version", [V311, V5])
def test_packet_above_our_maximum_fails_the_session_with_malformed_packet(
    version: ProtocolVersion, path: str
) -> None:
    session, server, _ = make_session(version, maximum_packet_size=50)
    connect(session, server)
    packets: list[Packet] = [Publish("a", b"1"), Publish("big", b"x" * 80), Publish("b", b"2")]
    data = b"".join(encode(p, version) for p in packets)
    if path == "decoder":
        events = server.send_bytes(data)  # the decoder applies the limit as it reads
    else:
        session.receive_packets(_parsed(data, version))  # the session applies it
        events = session.events_received()
    first = len(encode(Connack(), version)) + len(encode(packets[0], version))  # offsets count from CONNACK
    size = len(encode(packets[1], version))
    assert events == [
        MessageArrived(Publish("a", b"1")),
        ProtocolViolation(
            f"the server sent a malformed packet: malformed packet at byte {first}: "
            f"packet of {size} bytes exceeds the maximum of 50 bytes",
            DisconnectReasonCode.MALFORMED_PACKET if version == V5 else None,
        ),
    ]
    # MQTT 5.0 §4.13: DISCONNECT 0x81 before closing; a 3.1.1 client just closes.
    sent = encode(Disconnect(DisconnectReasonCode.MALFORMED_PACKET), V5) if version == V5 else b""
    assert session.data_to_send() == sent
    assert session.closed


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
