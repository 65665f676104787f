"""Persistent sessions, expiry and wills in BrokerState."""

from __future__ import annotations

from explorer.mqtt.enums import DisconnectReasonCode
from explorer.mqtt.packets import Disconnect, Properties, Publish, Pubrel, Will
from tests.broker.harness import V5, V311, connect, make_state, subscribe

PERSIST = Properties(session_expiry_interval=600)


def test_clean_session_false_keeps_subscriptions_and_queues_qos1_while_offline() -> None:
    state = make_state()
    sub = connect(state, "sub", V311, clean_start=False)
    subscribe(sub, "t", qos=1)
    sub.lose()
    connect(state, "pub").send(Publish("t", b"queued", qos=1, packet_id=1))
    back = connect(state, "sub", V311, clean_start=False)
    assert back.connack.session_present  # type: ignore[attr-defined]
    assert [p.payload for p in back.publishes()] == [b"queued"]


def test_qos0_is_not_queued_for_an_offline_session() -> None:
    state = make_state()
    sub = connect(state, "sub", V311, clean_start=False)
    subscribe(sub, "t", qos=1)
    sub.lose()
    connect(state, "pub").send(Publish("t", b"lost"))
    back = connect(state, "sub", V311, clean_start=False)
    assert back.publishes() == []


def test_clean_start_discards_the_old_session() -> None:
    state = make_state()
    sub = connect(state, "sub", V311, clean_start=False)
    subscribe(sub, "t", qos=1)
    sub.lose()
    back = connect(state, "sub", V311, clean_start=True)
    assert not back.connack.session_present  # type: ignore[attr-defined]
    connect(state, "pub").send(Publish("t", b"x", qos=1, packet_id=1))
    assert back.publishes() == []


def test_unacknowledged_publish_is_resent_with_dup_after_reconnect() -> None:
    state = make_state()
    sub = connect(state, "sub", V311, clean_start=False)
    subscribe(sub, "t", qos=1)
    connect(state, "pub").send(Publish("t", b"x", qos=1, packet_id=1))
    (first,) = sub.publishes()
    sub.lose()
    back = connect(state, "sub", V311, clean_start=False)
    (again,) = back.publishes()
    assert again.dup
    assert again.packet_id == first.packet_id


def test_released_qos2_resends_pubrel_after_reconnect() -> None:
    from explorer.mqtt.packets import Pubrec

    state = make_state()
    sub = connect(state, "sub", V311, clean_start=False)
    subscribe(sub, "t", qos=2)
    connect(state, "pub").send(Publish("t", b"x", qos=2, packet_id=1))
    (first,) = sub.publishes()
    assert first.packet_id is not None
    sub.send(Pubrec(first.packet_id))
    sub.receive()
    sub.lose()
    back = connect(state, "sub", V311, clean_start=False)
    assert back.receive() == [Pubrel(first.packet_id)]


def test_v5_session_expires_after_its_interval() -> None:
    state = make_state()
    sub = connect(state, "sub", V5, clean_start=False, properties=Properties(session_expiry_interval=30))
    subscribe(sub, "t", qos=1)
    sub.lose(now=0.0)
    state.handle_timer(29.0)
    assert "sub" in state.sessions
    state.handle_timer(31.0)
    assert "sub" not in state.sessions
    assert state.router.trie.count == 0


def test_v5_session_expiry_zero_ends_the_session_at_disconnect() -> None:
    state = make_state()
    sub = connect(state, "sub", V5)
    subscribe(sub, "t")
    sub.lose()
    assert "sub" not in state.sessions


def test_will_is_published_when_the_connection_drops() -> None:
    state = make_state()
    watcher = connect(state, "w")
    subscribe(watcher, "wills/#")
    connect(state, "dev", will=Will("wills/dev", b"gone")).lose()
    assert [(p.topic, p.payload) for p in watcher.publishes()] == [("wills/dev", b"gone")]


def test_will_is_not_published_after_a_normal_disconnect() -> None:
    state = make_state()
    watcher = connect(state, "w")
    subscribe(watcher, "wills/#")
    dev = connect(state, "dev", will=Will("wills/dev", b"gone"))
    dev.send(Disconnect())
    dev.lose()
    assert watcher.publishes() == []


def test_disconnect_with_will_message_publishes_the_will() -> None:
    state = make_state()
    watcher = connect(state, "w")
    subscribe(watcher, "wills/#")
    dev = connect(state, "dev", V5, will=Will("wills/dev", b"gone"))
    dev.send(Disconnect(DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE))
    dev.lose()
    assert [p.payload for p in watcher.publishes()] == [b"gone"]


def test_retained_will_is_stored() -> None:
    state = make_state()
    connect(state, "dev", will=Will("status/dev", b"offline", retain=True)).lose()
    assert state.router.retained["status/dev"].payload == b"offline"


def test_will_delay_postpones_the_will() -> None:
    state = make_state()
    watcher = connect(state, "w")
    subscribe(watcher, "wills/#")
    will = Will("wills/dev", b"gone", properties=Properties(will_delay_interval=10))
    connect(state, "dev", V5, clean_start=False, properties=PERSIST, will=will).lose(now=0.0)
    state.handle_timer(5.0)
    assert watcher.publishes() == []
    state.handle_timer(10.5)
    assert [p.payload for p in watcher.publishes()] == [b"gone"]


def test_reconnecting_within_the_will_delay_cancels_the_will() -> None:
    state = make_state()
    watcher = connect(state, "w")
    subscribe(watcher, "wills/#")
    will = Will("wills/dev", b"gone", properties=Properties(will_delay_interval=10))
    connect(state, "dev", V5, clean_start=False, properties=PERSIST, will=will).lose(now=0.0)
    connect(state, "dev", V5, now=3.0, clean_start=False, properties=PERSIST)
    state.handle_timer(20.0)
    assert watcher.publishes() == []


def test_will_is_published_at_session_end_when_earlier_than_the_delay() -> None:
    state = make_state()
    watcher = connect(state, "w")
    subscribe(watcher, "wills/#")
    will = Will("wills/dev", b"gone", properties=Properties(will_delay_interval=100))
    props = Properties(session_expiry_interval=5)
    connect(state, "dev", V5, clean_start=False, properties=props, will=will).lose(now=0.0)
    state.handle_timer(6.0)
    assert [p.payload for p in watcher.publishes()] == [b"gone"]


def test_takeover_publishes_the_old_connections_will() -> None:
    state = make_state()
    watcher = connect(state, "w")
    subscribe(watcher, "wills/#")
    connect(state, "dev", will=Will("wills/dev", b"gone"))
    connect(state, "dev")
    assert [p.payload for p in watcher.publishes()] == [b"gone"]


def test_server_shutdown_publishes_wills_and_disconnects_v5_clients() -> None:
    state = make_state()
    watcher = connect(state, "w", V5, clean_start=False, properties=PERSIST)
    subscribe(watcher, "wills/#", qos=1)
    connect(state, "dev", will=Will("wills/dev", b"gone", qos=1))
    state.shutdown(1.0)
    packets = watcher.receive()
    assert Disconnect(DisconnectReasonCode.SERVER_SHUTTING_DOWN) in packets


def test_disconnect_with_an_error_code_publishes_the_will() -> None:
    state = make_state()
    watcher = connect(state, "w")
    subscribe(watcher, "wills/#")
    dev = connect(state, "dev", V5, will=Will("wills/dev", b"gone"))
    dev.send(Disconnect(DisconnectReasonCode.UNSPECIFIED_ERROR))
    dev.lose()
    assert [p.payload for p in watcher.publishes()] == [b"gone"]


def test_mqtt31_connack_never_sets_session_present() -> None:
    from tests.broker.harness import V31

    state = make_state()
    connect(state, "old", V31, clean_start=False).lose()
    again = connect(state, "old", V31, clean_start=False)
    assert not again.connack.session_present  # type: ignore[attr-defined]
    assert "old" in state.sessions
