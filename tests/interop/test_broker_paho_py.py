"""paho-mqtt (Python) over WebSocket against the embedded broker, MQTT 3.1.1 and 5.0.

tests/broker/test_interop.py covers QoS 0/1/2 through wildcards, retained messages,
v5 properties, persistent sessions and a 1 MiB payload with paho-mqtt; this module
covers the rest of the interop list: wills, unsubscribe, topic aliases, SUBACK
failure codes from the ACL, and a message that expires while its subscriber is offline
(the broker's clock is advanced by the test).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.properties import Properties as PahoProperties

from explorer.broker.server import Broker
from tests.broker.paho_helper import Paho
from tests.interop.conftest import advance

pytestmark = pytest.mark.interop

VERSIONS = pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5], ids=["v311", "v5"])


def ws_client(broker: Broker, protocol: MQTTProtocolVersion, client_id: str) -> Paho:
    assert broker.ws_port is not None
    return Paho(broker.ws_port, websocket=True, protocol=protocol, client_id=client_id)


def codes(reasons: list[Any]) -> list[int]:
    return [int(getattr(reason, "value", reason)) for reason in reasons]


def drop(client: Paho) -> None:
    """Stop the network thread and close the socket: no DISCONNECT reaches the broker."""
    client.client.loop_stop()
    sock = client.client.socket()
    assert sock is not None
    sock.close()


@VERSIONS
async def test_paho_will_published_on_drop_but_not_after_disconnect(
    broker: Broker, protocol: MQTTProtocolVersion
) -> None:
    def scenario() -> list[mqtt.MQTTMessage]:
        watcher = ws_client(broker, protocol, "watcher")
        watcher.connect()
        watcher.subscribe("py/will/#", 1)
        will_properties = None
        if protocol == mqtt.MQTTv5:
            will_properties = PahoProperties(mqtt.PacketTypes.WILLMESSAGE)  # type: ignore[attr-defined,no-untyped-call]
            will_properties.UserProperty = [("why", "dropped")]
        polite = ws_client(broker, protocol, "polite")
        polite.client.will_set("py/will/polite", b"polite", 1)
        polite.connect()
        polite.stop()
        dropped = ws_client(broker, protocol, "dropped")
        dropped.client.will_set("py/will/dropped", b"gone", 1, properties=will_properties)
        dropped.connect()
        drop(dropped)
        will = watcher.get()
        watcher.publish("py/will/marker", b"m", 1)
        marker = watcher.get()
        watcher.stop()
        return [will, marker]

    will, marker = await asyncio.to_thread(scenario)
    assert (will.topic, will.payload, will.qos) == ("py/will/dropped", b"gone", 1)
    if protocol == mqtt.MQTTv5:
        assert will.properties is not None
        assert will.properties.UserProperty == [("why", "dropped")]  # type: ignore[attr-defined]
    assert marker.topic == "py/will/marker"  # the polite client's will never came


@VERSIONS
async def test_paho_unsubscribe_stops_delivery_on_that_filter_only(
    broker: Broker, protocol: MQTTProtocolVersion
) -> None:
    def scenario() -> list[tuple[str, bytes]]:
        sub = ws_client(broker, protocol, "sub")
        pub = ws_client(broker, protocol, "pub")
        sub.connect()
        pub.connect()
        sub.subscribe("py/u/a", 1)
        sub.subscribe("py/u/b", 1)
        pub.publish("py/u/a", b"before", 1)
        first = sub.get()
        unsubscribed = threading.Event()
        sub.client.on_unsubscribe = lambda *args: unsubscribed.set()
        result, _ = sub.client.unsubscribe("py/u/a")
        assert result == mqtt.MQTT_ERR_SUCCESS
        assert unsubscribed.wait(10), "no UNSUBACK"
        pub.publish("py/u/a", b"after", 1)
        pub.publish("py/u/b", b"marker", 1)
        last = sub.get()
        sub.stop()
        pub.stop()
        return [(m.topic, bytes(m.payload)) for m in (first, last)]

    assert await asyncio.to_thread(scenario) == [
        ("py/u/a", b"before"),
        ("py/u/b", b"marker"),
    ]


async def test_paho_v5_topic_alias_resolved_for_subscribers(broker: Broker) -> None:
    def scenario() -> list[tuple[str, bytes]]:
        sub = ws_client(broker, mqtt.MQTTv5, "sub")
        pub = ws_client(broker, mqtt.MQTTv5, "pub")
        sub.connect()
        pub.connect()
        sub.subscribe("py/alias/#", 1)
        pub.publish("py/alias/a/long/topic", b"first", 1, TopicAlias=1)
        pub.publish("", b"second", 1, TopicAlias=1)
        pub.publish("py/alias/other", b"third", 1, TopicAlias=1)  # rebinds alias 1
        pub.publish("", b"fourth", 1, TopicAlias=1)
        got = [sub.get() for _ in range(4)]
        sub.stop()
        pub.stop()
        return [(m.topic, bytes(m.payload)) for m in got]

    assert await asyncio.to_thread(scenario) == [
        ("py/alias/a/long/topic", b"first"),
        ("py/alias/a/long/topic", b"second"),
        ("py/alias/other", b"third"),
        ("py/alias/other", b"fourth"),
    ]


@pytest.mark.parametrize(
    ("protocol", "failure"), [(mqtt.MQTTv311, 0x80), (mqtt.MQTTv5, 0x87)], ids=["v311", "v5"]
)
async def test_paho_subscribe_denied_by_acl_gets_failure_code(
    acl_broker: Broker, protocol: MQTTProtocolVersion, failure: int
) -> None:
    def scenario() -> tuple[list[int], list[int], tuple[str, bytes]]:
        client = ws_client(acl_broker, protocol, "acl")
        client.connect()
        denied = codes(client.subscribe("secret/#", 1))
        granted = codes(client.subscribe("open/#", 1))
        client.publish("secret/x", b"hidden", 1)
        client.publish("open/x", b"visible", 1)
        message = client.get()
        client.stop()
        return denied, granted, (message.topic, bytes(message.payload))

    denied, granted, message = await asyncio.to_thread(scenario)
    assert denied == [failure]
    assert granted == [1]
    assert message == ("open/x", b"visible")


async def test_paho_v5_message_expired_while_offline_is_not_delivered(broker: Broker) -> None:
    def offline_then_publish() -> None:
        keeper = ws_client(broker, mqtt.MQTTv5, "py-exp")
        keeper.connect(clean_start=False, properties=_session_expiry(600))
        keeper.subscribe("py/exp/#", 1)
        keeper.stop()
        pub = ws_client(broker, mqtt.MQTTv5, "pub")
        pub.connect()
        pub.publish("py/exp/short", b"short", 1, MessageExpiryInterval=10)
        pub.publish("py/exp/long", b"long", 1, MessageExpiryInterval=100)
        pub.stop()

    def come_back() -> tuple[bool, list[mqtt.MQTTMessage]]:
        back = ws_client(broker, mqtt.MQTTv5, "py-exp")
        back.connect(clean_start=False, properties=_session_expiry(600))
        back.publish("py/exp/marker", b"m", 1)
        got = [back.get(), back.get()]
        back.stop()
        return bool(back.session_present), got

    await asyncio.to_thread(offline_then_publish)
    advance(broker, 30)
    present, (kept, marker) = await asyncio.to_thread(come_back)
    assert present
    assert (kept.topic, kept.payload) == ("py/exp/long", b"long")
    assert kept.properties is not None
    assert kept.properties.MessageExpiryInterval == 70  # type: ignore[attr-defined]  # MQTT 5.0 §3.3.2.3.3
    assert marker.topic == "py/exp/marker"


def _session_expiry(seconds: int) -> PahoProperties:
    properties = PahoProperties(mqtt.PacketTypes.CONNECT)  # type: ignore[attr-defined,no-untyped-call]
    properties.SessionExpiryInterval = seconds
    return properties
