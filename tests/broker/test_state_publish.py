"""PUBLISH routing, QoS flows, retained messages and subscription options in BrokerState."""

from __future__ import annotations

from explorer.mqtt.codec import encode
from explorer.mqtt.enums import (
    DisconnectReasonCode,
    PubackReasonCode,
    RetainHandling,
    SubackReasonCode,
    UnsubackReasonCode,
)
from explorer.mqtt.packets import (
    Disconnect,
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
from tests.broker.harness import V5, V311, connect, make_state, subscribe


def test_qos0_publish_reaches_a_wildcard_subscriber() -> None:
    state = make_state()
    sub = connect(state, "sub")
    subscribe(sub, "sensors/+/temp")
    pub = connect(state, "pub")
    pub.send(Publish("sensors/kitchen/temp", b"21.5"))
    assert sub.publishes() == [Publish("sensors/kitchen/temp", b"21.5")]


def test_suback_grants_the_requested_qos() -> None:
    state = make_state()
    sub = connect(state, "sub")
    assert subscribe(sub, "a", "b", qos=2) == [Suback(1, (SubackReasonCode.GRANTED_QOS_2,) * 2)]


def test_invalid_filter_gets_failure_0x80_in_v311() -> None:
    sub = connect(make_state(), "sub")
    # The codec refuses to encode an invalid filter, so hand the decoded packet over directly.
    sub.state.receive_packet(sub.conn, Subscribe(1, (Subscription("a/#/b"),)), 0.0)
    assert sub.receive() == [Suback(1, (SubackReasonCode.UNSPECIFIED_ERROR,))]


def test_invalid_filter_gets_topic_filter_invalid_in_v5() -> None:
    sub = connect(make_state(), "sub", V5)
    sub.state.receive_packet(sub.conn, Subscribe(1, (Subscription("a+"),)), 0.0)
    assert sub.receive() == [Suback(1, (SubackReasonCode.TOPIC_FILTER_INVALID,))]


def test_qos1_publish_is_acknowledged_and_delivered_with_a_packet_id() -> None:
    state = make_state()
    sub = connect(state, "sub")
    subscribe(sub, "t", qos=1)
    pub = connect(state, "pub")
    pub.send(Publish("t", b"x", qos=1, packet_id=7))
    assert pub.receive() == [Puback(7)]
    delivered = sub.publishes()
    assert [(p.qos, p.payload) for p in delivered] == [(1, b"x")]
    assert delivered[0].packet_id is not None
    sub.send(Puback(delivered[0].packet_id))
    assert state.sessions["sub"].inflight == {}


def test_delivery_qos_is_the_minimum_of_publish_and_subscription() -> None:
    state = make_state()
    sub = connect(state, "sub")
    subscribe(sub, "t", qos=1)
    pub = connect(state, "pub")
    pub.send(Publish("t", b"x", qos=2, packet_id=1))
    assert [p.qos for p in sub.publishes()] == [1]


def test_qos2_inbound_flow_delivers_once_and_completes() -> None:
    state = make_state()
    sub = connect(state, "sub")
    subscribe(sub, "t", qos=2)
    pub = connect(state, "pub")
    pub.send(Publish("t", b"x", qos=2, packet_id=3))
    assert pub.receive() == [Pubrec(3)]
    pub.send(Publish("t", b"x", qos=2, packet_id=3, dup=True))  # resent before PUBREL
    assert pub.receive() == [Pubrec(3)]
    pub.send(Pubrel(3))
    assert pub.receive() == [Pubcomp(3)]
    assert len(sub.publishes()) == 1


def test_qos2_outbound_flow_releases_the_packet_id_after_pubcomp() -> None:
    state = make_state()
    sub = connect(state, "sub")
    subscribe(sub, "t", qos=2)
    pub = connect(state, "pub")
    pub.send(Publish("t", b"x", qos=2, packet_id=3))
    (delivered,) = sub.publishes()
    assert delivered.packet_id is not None
    sub.send(Pubrec(delivered.packet_id))
    assert sub.receive() == [Pubrel(delivered.packet_id)]
    sub.send(Pubcomp(delivered.packet_id))
    assert state.sessions["sub"].inflight == {}


def test_pubrel_for_unknown_id_gets_packet_identifier_not_found_in_v5() -> None:
    client = connect(make_state(), "c", V5)
    client.send(Pubrel(9))
    assert [(p.packet_id, p.reason_code) for p in client.receive()] == [(9, 0x92)]  # type: ignore[union-attr]


def test_retained_message_is_delivered_on_subscribe_with_retain_set() -> None:
    state = make_state()
    pub = connect(state, "pub")
    pub.send(Publish("status/door", b"open", retain=True))
    sub = connect(state, "sub")
    packets = subscribe(sub, "status/#")
    assert isinstance(packets[0], Suback)  # SUBACK first, then the retained message
    assert packets[1:] == [Publish("status/door", b"open", retain=True)]


def test_retained_message_is_replaced_by_a_newer_one() -> None:
    state = make_state()
    pub = connect(state, "pub")
    pub.send(Publish("s", b"1", retain=True))
    pub.send(Publish("s", b"2", retain=True))
    sub = connect(state, "sub")
    assert [p.payload for p in subscribe(sub, "s")[1:]] == [b"2"]  # type: ignore[union-attr]


def test_empty_retained_publish_clears_the_retained_message() -> None:
    state = make_state()
    pub = connect(state, "pub")
    pub.send(Publish("s", b"1", retain=True))
    pub.send(Publish("s", b"", retain=True))
    sub = connect(state, "sub")
    assert subscribe(sub, "s")[1:] == []
    assert "s" not in state.router.retained


def test_live_delivery_clears_retain_flag_without_retain_as_published() -> None:
    state = make_state()
    sub = connect(state, "sub", V5)
    subscribe(sub, "s")
    pub = connect(state, "pub")
    pub.send(Publish("s", b"1", retain=True))
    assert [p.retain for p in sub.publishes()] == [False]


def test_retain_as_published_keeps_the_retain_flag() -> None:
    state = make_state()
    sub = connect(state, "sub", V5)
    subscribe(sub, "s", retain_as_published=True)
    pub = connect(state, "pub")
    pub.send(Publish("s", b"1", retain=True))
    assert [p.retain for p in sub.publishes()] == [True]


def test_retain_handling_2_sends_no_retained_messages() -> None:
    state = make_state()
    connect(state, "pub").send(Publish("s", b"1", retain=True))
    sub = connect(state, "sub", V5)
    assert subscribe(sub, "s", retain_handling=RetainHandling.DO_NOT_SEND)[1:] == []


def test_retain_handling_1_sends_retained_only_for_a_new_subscription() -> None:
    state = make_state()
    connect(state, "pub").send(Publish("s", b"1", retain=True))
    sub = connect(state, "sub", V5)
    assert len(subscribe(sub, "s", retain_handling=RetainHandling.SEND_IF_NEW_SUBSCRIPTION)) == 2
    assert len(subscribe(sub, "s", pid=2, retain_handling=RetainHandling.SEND_IF_NEW_SUBSCRIPTION)) == 1


def test_no_local_does_not_echo_own_messages() -> None:
    state = make_state()
    client = connect(state, "c", V5)
    subscribe(client, "t", no_local=True)
    client.send(Publish("t", b"x"))
    assert client.publishes() == []
    other = connect(state, "o")
    other.send(Publish("t", b"y"))
    assert [p.payload for p in client.publishes()] == [b"y"]


def test_subscription_identifier_is_sent_with_matching_messages() -> None:
    state = make_state()
    sub = connect(state, "sub", V5)
    sub.send(Subscribe(1, (Subscription("a/#"),), Properties(subscription_identifiers=(42,))))
    sub.receive()
    connect(state, "pub").send(Publish("a/b", b"x"))
    assert [p.properties.subscription_identifiers for p in sub.publishes()] == [(42,)]


def test_overlapping_subscriptions_deliver_one_copy_at_the_highest_qos_with_all_identifiers() -> None:
    state = make_state()
    sub = connect(state, "sub", V5)
    sub.send(Subscribe(1, (Subscription("a/#", 0),), Properties(subscription_identifiers=(1,))))
    sub.send(Subscribe(2, (Subscription("a/+", 1),), Properties(subscription_identifiers=(2,))))
    sub.receive()
    connect(state, "pub").send(Publish("a/b", b"x", qos=1, packet_id=1))
    (delivered,) = sub.publishes()
    assert delivered.qos == 1
    assert sorted(delivered.properties.subscription_identifiers) == [1, 2]


def test_shared_subscription_delivers_each_message_to_one_member_round_robin() -> None:
    state = make_state()
    a = connect(state, "a", V5)
    b = connect(state, "b", V5)
    subscribe(a, "$share/g/jobs")
    subscribe(b, "$share/g/jobs")
    pub = connect(state, "pub")
    for n in range(4):
        pub.send(Publish("jobs", str(n).encode()))
    assert [p.payload for p in a.publishes()] == [b"0", b"2"]
    assert [p.payload for p in b.publishes()] == [b"1", b"3"]


def test_shared_subscription_gets_no_retained_messages() -> None:
    state = make_state()
    connect(state, "pub").send(Publish("jobs", b"old", retain=True))
    a = connect(state, "a", V5)
    assert subscribe(a, "$share/g/jobs")[1:] == []


def test_unsubscribe_stops_delivery_and_reports_missing_subscriptions_in_v5() -> None:
    state = make_state()
    sub = connect(state, "sub", V5)
    subscribe(sub, "t")
    sub.send(Unsubscribe(2, ("t", "nope")))
    assert sub.receive() == [
        Unsuback(2, (UnsubackReasonCode.SUCCESS, UnsubackReasonCode.NO_SUBSCRIPTION_EXISTED))
    ]
    connect(state, "pub").send(Publish("t", b"x"))
    assert sub.publishes() == []


def test_unsuback_has_no_reason_codes_in_v311() -> None:
    sub = connect(make_state(), "sub", V311)
    subscribe(sub, "t")
    sub.send(Unsubscribe(2, ("t",)))
    assert sub.receive() == [Unsuback(2)]


def test_inbound_topic_alias_is_resolved() -> None:
    state = make_state()
    sub = connect(state, "sub")
    subscribe(sub, "long/topic/name")
    pub = connect(state, "pub", V5)
    pub.send(Publish("long/topic/name", b"1", properties=Properties(topic_alias=3)))
    pub.send(Publish("", b"2", properties=Properties(topic_alias=3)))
    assert [(p.topic, p.payload) for p in sub.publishes()] == [
        ("long/topic/name", b"1"),
        ("long/topic/name", b"2"),
    ]


def test_topic_alias_above_the_maximum_is_disconnected_with_0x94() -> None:
    state = make_state(topic_alias_maximum=2)
    pub = connect(state, "pub", V5)
    pub.send(Publish("t", b"1", properties=Properties(topic_alias=3)))
    assert pub.receive() == [Disconnect(DisconnectReasonCode.TOPIC_ALIAS_INVALID)]


def test_unknown_topic_alias_is_a_protocol_error() -> None:
    pub = connect(make_state(), "pub", V5)
    pub.send(Publish("", b"1", properties=Properties(topic_alias=1)))
    packets = pub.receive()
    assert isinstance(packets[0], Disconnect)
    assert packets[0].reason_code == DisconnectReasonCode.PROTOCOL_ERROR


def test_wildcard_in_a_publish_topic_is_disconnected_with_topic_name_invalid() -> None:
    pub = connect(make_state(), "pub", V5)
    # The codec refuses to build such a packet, so feed the decoded packet directly.
    pub.state.receive_packet(pub.conn, Publish("a/+", b""), 0.0)
    packets = pub.receive()
    assert isinstance(packets[0], Disconnect)
    assert packets[0].reason_code == DisconnectReasonCode.TOPIC_NAME_INVALID


def test_message_expiry_is_decremented_when_forwarded_later() -> None:
    state = make_state()
    sub = connect(state, "sub", V5, clean_start=False, properties=Properties(session_expiry_interval=600))
    subscribe(sub, "t", qos=1)
    sub.lose(now=0.0)
    pub = connect(state, "pub", V5)
    pub.send(
        Publish("t", b"x", qos=1, packet_id=1, properties=Properties(message_expiry_interval=100)), now=1.0
    )
    back = connect(
        state, "sub", V5, now=31.0, clean_start=False, properties=Properties(session_expiry_interval=600)
    )
    (delivered,) = back.publishes()
    assert delivered.properties.message_expiry_interval == 70


def test_expired_queued_message_is_dropped() -> None:
    state = make_state()
    sub = connect(state, "sub", V5, clean_start=False, properties=Properties(session_expiry_interval=600))
    subscribe(sub, "t", qos=1)
    sub.lose(now=0.0)
    pub = connect(state, "pub", V5)
    pub.send(
        Publish("t", b"x", qos=1, packet_id=1, properties=Properties(message_expiry_interval=10)), now=1.0
    )
    back = connect(
        state, "sub", V5, now=20.0, clean_start=False, properties=Properties(session_expiry_interval=600)
    )
    assert back.publishes() == []


def test_expired_retained_message_is_not_delivered() -> None:
    state = make_state()
    pub = connect(state, "pub", V5)
    pub.send(Publish("s", b"x", retain=True, properties=Properties(message_expiry_interval=5)), now=0.0)
    sub = connect(state, "sub", V5, now=10.0)
    sub.send(Subscribe(1, (Subscription("s"),)), now=10.0)
    assert sub.publishes() == []


def test_message_above_the_clients_maximum_packet_size_is_not_sent() -> None:
    state = make_state()
    sub = connect(state, "sub", V5, properties=Properties(maximum_packet_size=64))
    subscribe(sub, "t", qos=1)
    pub = connect(state, "pub")
    pub.send(Publish("t", b"x" * 100, qos=1, packet_id=1))
    pub.send(Publish("t", b"small", qos=1, packet_id=2))
    assert [p.payload for p in sub.publishes()] == [b"small"]


def test_inflight_window_follows_the_clients_receive_maximum() -> None:
    state = make_state()
    sub = connect(state, "sub", V5, properties=Properties(receive_maximum=2))
    subscribe(sub, "t", qos=1)
    pub = connect(state, "pub")
    for n in range(5):
        pub.send(Publish("t", str(n).encode(), qos=1, packet_id=n + 1))
    first = sub.publishes()
    assert [p.payload for p in first] == [b"0", b"1"]
    sub.send(Puback(first[0].packet_id))  # type: ignore[arg-type]
    assert [p.payload for p in sub.publishes()] == [b"2"]


def test_exceeding_our_receive_maximum_with_qos2_is_disconnected_with_0x93() -> None:
    state = make_state(receive_maximum=2)
    pub = connect(state, "pub", V5)
    for n in range(3):
        pub.send(Publish("t", b"x", qos=2, packet_id=n + 1))
    assert pub.receive()[-1] == Disconnect(DisconnectReasonCode.RECEIVE_MAXIMUM_EXCEEDED)


def test_offline_queue_is_bounded() -> None:
    state = make_state(max_queued=3)
    sub = connect(state, "sub", V311, clean_start=False)
    subscribe(sub, "t", qos=1)
    sub.lose()
    pub = connect(state, "pub")
    for n in range(10):
        pub.send(Publish("t", str(n).encode(), qos=1, packet_id=n + 1))
    assert len(state.sessions["sub"].queue) == 3
    assert state.stats.messages_dropped == 7


def test_qos0_to_a_congested_connection_is_dropped() -> None:
    state = make_state()
    sub = connect(state, "sub")
    subscribe(sub, "t")
    sub.conn.congested = True
    connect(state, "pub").send(Publish("t", b"x"))
    assert sub.publishes() == []
    assert state.stats.messages_dropped == 1


def test_v5_properties_reach_v5_subscribers_and_are_stripped_for_v311() -> None:
    state = make_state()
    v5 = connect(state, "v5", V5)
    v3 = connect(state, "v3", V311)
    subscribe(v5, "t")
    subscribe(v3, "t")
    props = Properties(content_type="application/json", user_properties=(("k", "v"),))
    connect(state, "pub", V5).send(Publish("t", b"{}", properties=props))
    assert [p.properties for p in v5.publishes()] == [props]
    assert [p.payload for p in v3.publishes()] == [b"{}"]


def test_puback_reason_success_for_an_allowed_publish() -> None:
    state = make_state()
    pub = connect(state, "pub", V5)
    pub.send(Publish("t", b"x", qos=1, packet_id=5))
    assert pub.receive() == [Puback(5, PubackReasonCode.SUCCESS)]


def test_qos0_publish_is_forwarded_as_received_to_same_version_subscribers() -> None:
    state = make_state()
    sub = connect(state, "sub")
    subscribe(sub, "t")
    pub = connect(state, "pub")
    raw = encode(Publish("t", b"payload"))
    state.receive_packet(pub.conn, Publish("t", b"payload"), 0.0, raw)
    state.take_dirty()
    assert sub.conn.outbox == [raw]


def test_forwarded_retained_publish_clears_retain_for_a_plain_subscriber() -> None:
    state = make_state()
    sub = connect(state, "sub")
    subscribe(sub, "t")
    pub = connect(state, "pub")
    raw = encode(Publish("t", b"p", retain=True))
    state.receive_packet(pub.conn, Publish("t", b"p", retain=True), 0.0, raw)
    assert sub.publishes() == [Publish("t", b"p", retain=False)]


def test_no_local_with_overlapping_subscriptions_still_delivers_other_publishers_messages() -> None:
    state = make_state()
    client = connect(state, "c", V5)
    subscribe(client, "t/#", no_local=True)
    subscribe(client, "t/+", pid=2, qos=1)
    other = connect(state, "o", V5)
    subscribe(other, "t/x")
    client.send(Publish("t/x", b"own", qos=1, packet_id=1))
    state.publish("t/x", b"internal", now=0.0)
    assert [p.payload for p in client.publishes() if isinstance(p, Publish)] == [b"own", b"internal"]
    assert [p.payload for p in other.publishes()] == [b"own", b"internal"]
