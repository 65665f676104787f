"""Messages from the server: QoS 1 and QoS 2 (method B) flows, topic aliases, our Receive Maximum."""

from __future__ import annotations

from explorer.mqtt.enums import DisconnectReasonCode, ProtocolVersion, PubcompReasonCode
from explorer.mqtt.packets import Disconnect, Properties, Puback, Pubcomp, Publish, Pubrec, Pubrel
from explorer.session import Anomaly, MessageArrived, ProtocolViolation, SessionState
from tests.session.helpers import connect, make_session


def test_inbound_qos0_is_delivered_without_answer() -> None:
    session, server, _ = make_session(ProtocolVersion.V311)
    connect(session, server)
    publish = Publish(topic="a", payload=b"1")
    assert server.send(publish) == [MessageArrived(publish)]
    assert server.take() == []


def test_inbound_qos1_is_delivered_then_acknowledged() -> None:
    session, server, _ = make_session(ProtocolVersion.V311)
    connect(session, server)
    publish = Publish(topic="a", payload=b"1", qos=1, packet_id=5)
    assert server.send(publish) == [MessageArrived(publish)]
    assert server.take() == [Puback(packet_id=5)]


def test_inbound_qos2_is_delivered_once_and_id_held_until_pubrel() -> None:
    session, server, _ = make_session()
    connect(session, server)
    publish = Publish(topic="a", payload=b"1", qos=2, packet_id=9)
    assert server.send(publish) == [MessageArrived(publish)]  # method B: deliver on PUBLISH
    assert server.take() == [Pubrec(packet_id=9)]
    assert session.held_inbound_ids == {9}
    resent = Publish(topic="a", payload=b"1", qos=2, packet_id=9, dup=True)
    (event,) = server.send(resent)
    assert isinstance(event, Anomaly)  # not delivered twice
    assert server.take() == [Pubrec(packet_id=9)]
    assert server.send(Pubrel(packet_id=9)) == []
    assert server.take() == [Pubcomp(packet_id=9)]
    assert session.held_inbound_ids == frozenset()
    again = Publish(topic="a", payload=b"2", qos=2, packet_id=9)
    assert server.send(again) == [MessageArrived(again)]  # the id is a new message after PUBCOMP


def test_pubrel_for_unknown_id_answers_pubcomp_not_found_in_v5() -> None:
    session, server, _ = make_session()
    connect(session, server)
    server.send(Pubrel(packet_id=3))
    assert server.take() == [Pubcomp(packet_id=3, reason_code=PubcompReasonCode.PACKET_IDENTIFIER_NOT_FOUND)]


def test_inbound_topic_alias_is_set_then_resolved() -> None:
    session, server, _ = make_session(topic_alias_maximum=4)
    connect(session, server)
    first = Publish(topic="sensors/t", payload=b"1", properties=Properties(topic_alias=2))
    assert server.send(first) == [MessageArrived(first)]
    (event,) = server.send(Publish(topic="", payload=b"2", properties=Properties(topic_alias=2)))
    assert isinstance(event, MessageArrived)
    assert event.publish.topic == "sensors/t"
    assert event.publish.payload == b"2"


def test_inbound_topic_alias_above_our_maximum_is_error_0x94() -> None:
    session, server, _ = make_session(topic_alias_maximum=2)
    connect(session, server)
    (event,) = server.send(Publish(topic="t", payload=b"", properties=Properties(topic_alias=3)))
    assert isinstance(event, ProtocolViolation)
    assert event.reason_code == DisconnectReasonCode.TOPIC_ALIAS_INVALID  # [MQTT-3.3.2-8]
    assert server.take() == [Disconnect(reason_code=DisconnectReasonCode.TOPIC_ALIAS_INVALID)]
    assert session.state is SessionState.CLOSED


def test_inbound_topic_alias_when_none_allowed_is_error_0x94() -> None:
    session, server, _ = make_session()
    connect(session, server)
    (event,) = server.send(Publish(topic="t", payload=b"", properties=Properties(topic_alias=1)))
    assert isinstance(event, ProtocolViolation)
    assert event.reason_code == DisconnectReasonCode.TOPIC_ALIAS_INVALID


def test_inbound_unknown_topic_alias_with_empty_topic_is_a_protocol_error() -> None:
    session, server, _ = make_session(topic_alias_maximum=2)
    connect(session, server)
    (event,) = server.send(Publish(topic="", payload=b"", properties=Properties(topic_alias=1)))
    assert isinstance(event, ProtocolViolation)
    assert event.reason_code == DisconnectReasonCode.PROTOCOL_ERROR


def test_inbound_topic_aliases_do_not_survive_a_new_connection() -> None:
    session, server, _ = make_session(topic_alias_maximum=2)
    connect(session, server)
    server.send(Publish(topic="a", properties=Properties(topic_alias=1)))
    session.connection_lost()
    connect(session, server)
    (event,) = server.send(Publish(topic="", properties=Properties(topic_alias=1)))
    assert isinstance(event, ProtocolViolation)


def test_server_exceeding_our_receive_maximum_is_error_0x93() -> None:
    session, server, _ = make_session(receive_maximum=1)
    connect(session, server)
    server.send(Publish(topic="a", qos=2, packet_id=1))
    (event,) = server.send(Publish(topic="a", qos=2, packet_id=2))
    assert isinstance(event, ProtocolViolation)
    assert event.reason_code == DisconnectReasonCode.RECEIVE_MAXIMUM_EXCEEDED


def test_packets_split_byte_by_byte_are_reassembled() -> None:
    from explorer.mqtt.codec import encode

    session, server, _ = make_session()
    connect(session, server)
    publishes = [Publish(topic=f"t/{n}", payload=bytes(range(n)), qos=1, packet_id=n + 1) for n in range(3)]
    data = b"".join(encode(p, ProtocolVersion.V5) for p in publishes)
    events = []
    for index in range(len(data)):
        events.extend(server.send_bytes(data[index : index + 1]))
    assert events == [MessageArrived(p) for p in publishes]
