"""Our PUBLISH, SUBSCRIBE and UNSUBSCRIBE: QoS flows, packet ids, the Receive Maximum window, limits."""

from __future__ import annotations

import pytest

from explorer.errors import LocalProtocolError
from explorer.mqtt.enums import (
    ProtocolVersion,
    PubackReasonCode,
    PubcompReasonCode,
    PubrecReasonCode,
    RetainHandling,
    SubackReasonCode,
    UnsubackReasonCode,
)
from explorer.mqtt.packets import (
    Properties,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
)
from explorer.session import Anomaly, PublishCompleted, SubscribeCompleted, UnsubscribeCompleted
from tests.session.helpers import connect, make_session


def test_publish_qos0_is_written_at_once_without_packet_id() -> None:
    session, server, _ = make_session()
    connect(session, server)
    assert session.send_publish("a/b", b"x") is None
    (packet,) = server.take()
    assert packet == Publish(topic="a/b", payload=b"x")
    assert session.in_flight == 0


def test_publish_v5_carries_every_publish_property() -> None:
    session, server, _ = make_session()
    connect(session, server, properties=Properties(topic_alias_maximum=3))
    props = Properties(
        payload_format_indicator=1,
        message_expiry_interval=30,
        content_type="application/json",
        response_topic="reply/here",
        correlation_data=b"\x01\x02",
        topic_alias=2,
        user_properties=(("k", "v"),),
    )
    session.send_publish("a/b", b"{}", qos=1, retain=True, properties=props)
    (packet,) = server.take()
    assert isinstance(packet, Publish)
    assert packet.properties == props
    assert packet.retain


def test_publish_qos1_completes_on_puback_and_releases_the_id() -> None:
    session, server, _ = make_session()
    connect(session, server)
    packet_id = session.send_publish("a/b", b"x", qos=1)
    assert packet_id is not None
    (packet,) = server.take()
    assert isinstance(packet, Publish)
    assert (packet.qos, packet.packet_id) == (1, packet_id)
    assert packet_id in session.packet_ids_in_use
    (event,) = server.send(Puback(packet_id=packet_id))
    assert event == PublishCompleted(packet_id, 1, Puback(packet_id=packet_id), True, "")
    assert packet_id not in session.packet_ids_in_use


def test_publish_qos2_releases_packet_id_only_after_pubcomp() -> None:
    session, server, _ = make_session()
    connect(session, server)
    packet_id = session.send_publish("a/b", b"x", qos=2)
    assert packet_id is not None
    server.take()
    assert server.send(Pubrec(packet_id=packet_id)) == []
    assert server.take() == [Pubrel(packet_id=packet_id)]
    assert packet_id in session.packet_ids_in_use  # MQTT 5.0 §4.3.3: held until PUBCOMP
    (event,) = server.send(Pubcomp(packet_id=packet_id))
    assert isinstance(event, PublishCompleted)
    assert event.ok
    assert packet_id not in session.packet_ids_in_use


def test_publish_qos2_failing_pubrec_ends_the_flow_without_pubrel() -> None:
    session, server, _ = make_session()
    connect(session, server)
    packet_id = session.send_publish("a/b", b"x", qos=2)
    assert packet_id is not None
    server.take()
    (event,) = server.send(Pubrec(packet_id=packet_id, reason_code=PubrecReasonCode.QUOTA_EXCEEDED))
    assert isinstance(event, PublishCompleted)
    assert not event.ok
    assert "0x97 Quota exceeded" in event.message
    assert server.take() == []
    assert packet_id not in session.packet_ids_in_use


def test_publish_refused_by_puback_reports_reason_string() -> None:
    session, server, _ = make_session()
    connect(session, server)
    packet_id = session.send_publish("a/b", b"x", qos=1)
    assert packet_id is not None
    (event,) = server.send(
        Puback(
            packet_id=packet_id,
            reason_code=PubackReasonCode.NOT_AUTHORIZED,
            properties=Properties(reason_string="acl"),
        )
    )
    assert isinstance(event, PublishCompleted)
    assert event.message == "the broker refused the message: 0x87 Not authorized: acl"


def test_in_flight_window_is_bounded_by_server_receive_maximum() -> None:
    session, server, _ = make_session()
    connect(session, server, properties=Properties(receive_maximum=2))
    ids = [session.send_publish("t", bytes([n]), qos=1) for n in range(5)]
    sent = server.take()
    assert [p.packet_id for p in sent if isinstance(p, Publish)] == ids[:2]  # [MQTT-3.3.4-9]
    assert (session.in_flight, session.queued) == (2, 3)
    assert ids[0] is not None
    server.send(Puback(packet_id=ids[0]))
    (next_publish,) = server.take()
    assert isinstance(next_publish, Publish)
    assert next_publish.packet_id == ids[2]
    assert next_publish.payload == b"\x02"
    assert (session.in_flight, session.queued) == (2, 2)


def test_qos2_awaiting_pubcomp_still_counts_against_the_window() -> None:
    session, server, _ = make_session()
    connect(session, server, properties=Properties(receive_maximum=1))
    first = session.send_publish("t", b"1", qos=2)
    second = session.send_publish("t", b"2", qos=2)
    assert first is not None
    assert second is not None
    server.take()
    server.send(Pubrec(packet_id=first))
    assert server.take() == [Pubrel(packet_id=first)]  # PUBREL, but not the queued PUBLISH yet
    server.send(Pubcomp(packet_id=first))
    (publish,) = server.take()
    assert isinstance(publish, Publish)
    assert publish.packet_id == second


def test_packet_ids_are_never_reused_while_in_flight() -> None:
    session, server, _ = make_session()
    connect(session, server)
    ids = [session.send_publish("t", b"", qos=1) for _ in range(65535)]
    assert sorted(i for i in ids if i is not None) == list(range(1, 65536))
    server.take()
    with pytest.raises(LocalProtocolError, match="all 65535 packet identifiers are in use"):
        session.send_publish("t", b"", qos=1)
    server.send(Puback(packet_id=4242))
    assert session.send_publish("t", b"", qos=1) == 4242


def test_ack_for_unknown_packet_id_is_reported_not_fatal() -> None:
    session, server, _ = make_session()
    connect(session, server)
    (event,) = server.send(Puback(packet_id=99))
    assert isinstance(event, Anomaly)
    assert "99" in event.message
    (event,) = server.send(Pubcomp(packet_id=98, reason_code=PubcompReasonCode.SUCCESS))
    assert isinstance(event, Anomaly)


@pytest.mark.parametrize(
    ("connack", "kwargs", "message"),
    [
        (Properties(maximum_qos=1), {"qos": 2}, "at most QoS 1"),
        (Properties(retain_available=0), {"retain": True}, "retained"),
        (Properties(maximum_packet_size=20), {"payload": b"x" * 50}, "at most 20"),
        (Properties(topic_alias_maximum=2), {"properties": Properties(topic_alias=3)}, "outside"),
    ],
)
def test_publish_beyond_the_server_limits_is_refused_locally(
    connack: Properties, kwargs: dict[str, object], message: str
) -> None:
    session, server, _ = make_session()
    connect(session, server, properties=connack)
    with pytest.raises(LocalProtocolError, match=message):
        session.send_publish("a/b", **kwargs)  # type: ignore[arg-type]
    assert server.take() == []
    assert session.packet_ids_in_use == frozenset()


def test_subscribe_v5_carries_options_identifier_and_user_properties() -> None:
    session, server, _ = make_session()
    connect(session, server)
    subs = [
        Subscription("a/#", qos=2, no_local=True, retain_as_published=True),
        Subscription("b/+", qos=1, retain_handling=RetainHandling.DO_NOT_SEND),
    ]
    packet_id = session.send_subscribe(subs, subscription_identifier=7, user_properties=(("u", "v"),))
    (packet,) = server.take()
    assert isinstance(packet, Subscribe)
    assert packet.subscriptions == tuple(subs)
    assert packet.properties.subscription_identifiers == (7,)
    assert packet.properties.user_properties == (("u", "v"),)
    suback = Suback(
        packet_id=packet_id, reason_codes=(SubackReasonCode.GRANTED_QOS_2, SubackReasonCode.NOT_AUTHORIZED)
    )
    (event,) = server.send(suback)
    assert event == SubscribeCompleted(packet_id, suback)
    assert session.packet_ids_in_use == frozenset()


def test_unsubscribe_completes_on_unsuback() -> None:
    session, server, _ = make_session(ProtocolVersion.V311)
    connect(session, server)
    packet_id = session.send_unsubscribe(["a/#", "b"])
    (packet,) = server.take()
    assert packet == Unsubscribe(packet_id=packet_id, topic_filters=("a/#", "b"))
    (event,) = server.send(Unsuback(packet_id=packet_id))
    assert isinstance(event, UnsubscribeCompleted)


def test_unsubscribe_v5_reason_codes_are_reported() -> None:
    session, server, _ = make_session()
    connect(session, server)
    packet_id = session.send_unsubscribe(["a"])
    server.take()
    unsuback = Unsuback(packet_id=packet_id, reason_codes=(UnsubackReasonCode.NO_SUBSCRIPTION_EXISTED,))
    (event,) = server.send(unsuback)
    assert event == UnsubscribeCompleted(packet_id, unsuback)
