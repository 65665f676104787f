"""The demo publisher's content and the $SYS statistics."""

from __future__ import annotations

import json

from explorer.broker.demo import DemoPublisher
from explorer.mqtt.packets import Publish
from tests.broker.harness import V5, connect, make_state, subscribe


def test_demo_startup_publishes_retained_status_and_config() -> None:
    messages = DemoPublisher(seed=1).startup()
    assert all(m.retain for m in messages)
    assert {m.topic.rsplit("/", 1)[1] for m in messages} == {"status", "config"}


def test_demo_covers_every_kind_of_payload() -> None:
    demo = DemoPublisher(seed=1, burst_every=10)
    messages = [m for tick in range(20) for m in demo.step(float(tick))]
    payloads = {m.topic: m.payload for m in messages}
    assert any(t.endswith("/telemetry") and json.loads(p)["temperature"] for t, p in payloads.items())
    assert any(t.endswith("/temperature") and float(p) for t, p in payloads.items())
    assert any(p.startswith(b"\x89PNG") for p in payloads.values())
    v5 = [m for m in messages if m.properties.user_properties]
    assert v5
    assert v5[0].properties.content_type == "application/json"
    assert sum(1 for m in messages if "/burst/" in m.topic) >= 20


def test_demo_is_deterministic_with_a_seed() -> None:
    assert DemoPublisher(seed=3).step(5.0) == DemoPublisher(seed=3).step(5.0)


def test_demo_messages_reach_subscribers_as_ordinary_publishes() -> None:
    state = make_state()
    sub = connect(state, "sub", V5)
    subscribe(sub, "demo/#")
    for message in DemoPublisher(seed=2).step(1.0):
        state.publish(message.topic, message.payload, qos=message.qos, properties=message.properties, now=1.0)
    assert all(isinstance(p, Publish) for p in sub.publishes())


def test_sys_topics_are_published_retained_and_hidden_from_hash() -> None:
    state = make_state(sys_interval=10)
    everything = connect(state, "all")
    subscribe(everything, "#")
    sys_sub = connect(state, "sys")
    subscribe(sys_sub, "$SYS/broker/clients/connected")
    state.handle_timer(0.0)
    assert everything.publishes() == []
    assert [p.payload for p in sys_sub.publishes()] == [b"2"]
    assert "$SYS/broker/uptime" in state.router.retained
    late = connect(state, "late")
    topics = {p.topic for p in subscribe(late, "$SYS/#")[1:]}  # type: ignore[union-attr]
    assert {"$SYS/broker/messages/received", "$SYS/broker/bytes/sent", "$SYS/broker/version"} <= topics


def test_sys_topics_follow_the_interval() -> None:
    state = make_state(sys_interval=10)
    sys_sub = connect(state, "sys")
    subscribe(sys_sub, "$SYS/broker/uptime")
    state.handle_timer(0.0)
    state.handle_timer(5.0)
    state.handle_timer(10.0)
    assert [p.payload for p in sys_sub.publishes()] == [b"0 seconds", b"10 seconds"]
