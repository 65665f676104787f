"""A session across network connections: resumption [MQTT-4.4.0-1] or a fresh start."""

from __future__ import annotations

from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack, Connect, Pubcomp, Publish, Pubrec, Pubrel, Subscription
from explorer.session import Connected, PublishCompleted, SessionState
from tests.session.helpers import connect, make_session


def test_resumed_session_resends_publish_with_dup_and_pubrel_with_same_ids() -> None:
    session, server, _ = make_session(ProtocolVersion.V311, clean_start=False, client_id="keep")
    connect(session, server)
    qos1 = session.send_publish("a", b"1", qos=1)
    qos2 = session.send_publish("b", b"2", qos=2)
    assert qos1 is not None
    assert qos2 is not None
    server.take()
    server.send(Pubrec(packet_id=qos2))
    server.take()
    session.connection_lost()
    assert session.state is SessionState.CLOSED
    session.send_connect()
    (packet,) = server.take()
    assert isinstance(packet, Connect)
    assert not packet.clean_start
    (connected,) = server.send(Connack(session_present=True))
    assert isinstance(connected, Connected)
    assert connected.session_present
    resent = server.take()
    assert resent == [
        Publish(topic="a", payload=b"1", qos=1, packet_id=qos1, dup=True),
        Pubrel(packet_id=qos2),
    ]
    (done,) = server.send(Pubcomp(packet_id=qos2))
    assert isinstance(done, PublishCompleted)


def test_session_not_present_sends_unfinished_messages_again_as_new() -> None:
    session, server, _ = make_session(clean_start=True)
    connect(session, server)
    qos1 = session.send_publish("a", b"1", qos=1)
    qos2 = session.send_publish("b", b"2", qos=2)
    assert qos2 is not None
    server.take()
    server.send(Pubrec(packet_id=qos2))
    server.take()
    session.connection_lost()
    session.send_connect()
    server.take()
    completed, connected = server.send(Connack(session_present=False))
    # The QoS 2 message had reached the server (PUBREC): its flow is complete.
    assert completed == PublishCompleted(qos2, 2, None, True)
    assert isinstance(connected, Connected)
    assert server.take() == [Publish(topic="a", payload=b"1", qos=1, packet_id=qos1)]
    assert qos2 not in session.packet_ids_in_use


def test_pending_subscribe_is_dropped_with_the_connection_and_its_id_freed() -> None:
    session, server, _ = make_session()
    connect(session, server)
    session.send_subscribe([Subscription("a")])
    session.connection_lost()
    assert session.packet_ids_in_use == frozenset()
