"""Real clients against the broker over loopback: paho-mqtt (ws and tcp) and mosquitto_pub/sub."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from tests.broker.paho_helper import Paho

pytestmark = pytest.mark.interop


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as running:
        yield running


def _paho(broker: Broker, websocket: bool, protocol: MQTTProtocolVersion, client_id: str) -> Paho:
    port = broker.ws_port if websocket else broker.tcp_port
    assert port is not None
    return Paho(port, websocket=websocket, protocol=protocol, client_id=client_id)


@pytest.mark.parametrize("websocket", [True, False], ids=["ws", "tcp"])
@pytest.mark.parametrize("protocol", [mqtt.MQTTv31, mqtt.MQTTv311, mqtt.MQTTv5], ids=["v31", "v311", "v5"])
async def test_paho_qos_0_1_2_through_wildcards(
    broker: Broker, websocket: bool, protocol: MQTTProtocolVersion
) -> None:
    def scenario() -> list[tuple[str, bytes, int]]:
        sub = _paho(broker, websocket, protocol, "sub")
        pub = _paho(broker, websocket, protocol, "pub")
        sub.connect()
        pub.connect()
        assert [int(getattr(c, "value", c)) for c in sub.subscribe("home/+/temp", 2)] == [2]
        for qos in (0, 1, 2):
            pub.publish("home/kitchen/temp", f"q{qos}".encode(), qos)
        got = [sub.get() for _ in range(3)]
        sub.stop()
        pub.stop()
        return sorted((m.topic, bytes(m.payload), m.qos) for m in got)

    got = await asyncio.to_thread(scenario)
    assert got == [
        ("home/kitchen/temp", b"q0", 0),
        ("home/kitchen/temp", b"q1", 1),
        ("home/kitchen/temp", b"q2", 2),
    ]


@pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5], ids=["v311", "v5"])
async def test_paho_retained_message_and_its_clearing_over_ws(
    broker: Broker, protocol: MQTTProtocolVersion
) -> None:
    def scenario() -> tuple[tuple[bytes, bool], bool]:
        pub = _paho(broker, True, protocol, "pub")
        pub.connect()
        pub.publish("status/door", b"open", 1, retain=True)
        first = _paho(broker, True, protocol, "first")
        first.connect()
        first.subscribe("status/#", 1)
        message = first.get()
        pub.publish("status/door", b"", 1, retain=True)
        second = _paho(broker, True, protocol, "second")
        second.connect()
        second.subscribe("status/#", 1)
        second.client.publish("status/ping", b"x", 1).wait_for_publish(10)  # a marker after any retained
        marker = second.get()
        for client in (pub, first, second):
            client.stop()
        return (bytes(message.payload), bool(message.retain)), marker.topic == "status/ping"

    first, only_marker = await asyncio.to_thread(scenario)
    assert first == (b"open", True)
    assert only_marker


async def test_paho_v5_user_properties_and_message_expiry_reach_the_subscriber(broker: Broker) -> None:
    def scenario() -> mqtt.MQTTMessage:
        sub = _paho(broker, True, mqtt.MQTTv5, "sub")
        pub = _paho(broker, True, mqtt.MQTTv5, "pub")
        sub.connect()
        pub.connect()
        sub.subscribe("t", 1)
        pub.publish(
            "t", b"{}", 1, UserProperty=[("k", "v")], MessageExpiryInterval=60, ContentType="application/json"
        )
        message = sub.get()
        sub.stop()
        pub.stop()
        return message

    message = await asyncio.to_thread(scenario)
    props = message.properties
    assert props is not None
    assert props.UserProperty == [("k", "v")]  # type: ignore[attr-defined]
    assert props.ContentType == "application/json"  # type: ignore[attr-defined]
    assert 0 < props.MessageExpiryInterval <= 60  # type: ignore[attr-defined]


async def test_paho_persistent_session_receives_qos1_queued_while_offline(broker: Broker) -> None:
    def scenario() -> tuple[bool, bytes]:
        sub = _paho(broker, True, mqtt.MQTTv311, "keeper")
        sub.client._clean_session = False
        sub.connect()
        sub.subscribe("q", 1)
        sub.stop()
        pub = _paho(broker, True, mqtt.MQTTv311, "pub")
        pub.connect()
        pub.publish("q", b"while-away", 1)
        pub.stop()
        back = _paho(broker, True, mqtt.MQTTv311, "keeper")
        back.client._clean_session = False
        back.connect()
        message = back.get()
        back.stop()
        return bool(back.session_present), bytes(message.payload)

    present, payload = await asyncio.to_thread(scenario)
    assert present
    assert payload == b"while-away"


async def test_paho_one_mebibyte_payload_over_ws(broker: Broker) -> None:
    payload = bytes(range(256)) * 4096

    def scenario() -> bytes:
        sub = _paho(broker, True, mqtt.MQTTv311, "sub")
        pub = _paho(broker, True, mqtt.MQTTv311, "pub")
        sub.connect()
        pub.connect()
        sub.subscribe("big", 1)
        pub.publish("big", payload, 1)
        message = sub.get()
        sub.stop()
        pub.stop()
        return bytes(message.payload)

    assert await asyncio.to_thread(scenario) == payload


def _need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{program} is required in CI (Debian package mosquitto-clients)")
        pytest.skip(f"{program} not installed")
    return path


async def test_mosquitto_sub_and_pub_over_tcp(broker: Broker) -> None:
    mosquitto_sub = _need("mosquitto_sub")
    mosquitto_pub = _need("mosquitto_pub")
    port = str(broker.tcp_port)

    async def pub(*args: str) -> None:
        proc = await asyncio.create_subprocess_exec(mosquitto_pub, "-h", "127.0.0.1", "-p", port, *args)
        assert await asyncio.wait_for(proc.wait(), 10) == 0

    await pub("-t", "sensors/a/temp", "-m", "first", "-q", "1", "-r")
    sub = await asyncio.create_subprocess_exec(
        mosquitto_sub,
        "-h",
        "127.0.0.1",
        "-p",
        port,
        "-t",
        "sensors/+/temp",
        "-q",
        "2",
        "-C",
        "2",
        "-v",
        stdout=asyncio.subprocess.PIPE,
    )
    assert sub.stdout is not None
    # The retained message proves the subscription is in place before the live publish.
    assert await asyncio.wait_for(sub.stdout.readline(), 10) == b"sensors/a/temp first\n"
    await pub("-t", "sensors/b/temp", "-m", "second", "-q", "2")
    assert await asyncio.wait_for(sub.stdout.readline(), 10) == b"sensors/b/temp second\n"
    assert await asyncio.wait_for(sub.wait(), 10) == 0


async def test_mosquitto_pub_v5_is_accepted(broker: Broker) -> None:
    mosquitto_pub = _need("mosquitto_pub")
    proc = await asyncio.create_subprocess_exec(
        mosquitto_pub,
        "-V",
        "mqttv5",
        "-h",
        "127.0.0.1",
        "-p",
        str(broker.tcp_port),
        "-t",
        "v5/t",
        "-m",
        "x",
        "-r",
        "-D",
        "publish",
        "user-property",
        "k",
        "v",
    )
    assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert broker.state.router.retained["v5/t"].properties.user_properties == (("k", "v"),)
