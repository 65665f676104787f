"""Interoperability with Mosquitto (Debian 2.0.11) over TCP, MQTT 5.0.

Each test starts its own mosquitto with a generated configuration on a free port
(mosquitto cannot bind port 0: a socket bound to port 0 and closed gives one) and
waits for the "running" line of its log before connecting.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions
from explorer.errors import ConnectionFailed
from explorer.model.events import PacketEvent, StateChanged, TraceEvent
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Properties, Puback, Publish, Subscription, Will

pytestmark = pytest.mark.interop


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def mosquitto(tmp_path: Path) -> AsyncIterator[str]:
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("mosquitto is required in CI (apt-get install mosquitto)")
        pytest.skip("mosquitto is not installed")
    port = _free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type all\npersistence false\n"
    )
    proc = await asyncio.create_subprocess_exec(
        binary, "-c", str(config), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    log: list[bytes] = []
    try:
        while True:
            line = await asyncio.wait_for(proc.stderr.readline(), 30)
            log.append(line)
            if not line:
                pytest.fail(f"mosquitto did not start: {b''.join(log).decode(errors='replace')}")
            if b" running" in line:
                break
        drain = asyncio.create_task(proc.stderr.read())  # keep its log pipe flowing
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()
    await drain


def v5(url: str, **changes: object) -> ConnectionOptions:
    return ConnectionOptions(url=url, mqtt_version=ProtocolVersion.V5).with_changes(**changes)


async def test_mosquitto_v5_publish_properties_and_subscription_identifier(mosquitto: str) -> None:
    client = MqttClient(v5(mosquitto))
    await client.connect()
    await client.subscribe(Subscription("m/#", qos=2), subscription_identifier=42)
    props = Properties(
        payload_format_indicator=1,
        message_expiry_interval=120,
        content_type="application/json",
        response_topic="m/reply",
        correlation_data=b"\x00\x01",
        user_properties=(("a", "1"), ("a", "2")),
    )
    for qos in (0, 1, 2):
        await client.publish("m/x", b'{"n": 1}', qos=qos, properties=props)
        message = await asyncio.wait_for(anext(client.messages()), 10)
        assert message.qos == qos
        assert isinstance(message.packet, Publish)
        got = message.packet.properties
        assert got.subscription_identifiers == (42,)
        assert (got.content_type, got.response_topic, got.correlation_data) == (
            "application/json",
            "m/reply",
            b"\x00\x01",
        )
        assert got.user_properties == (("a", "1"), ("a", "2"))
        assert got.message_expiry_interval is not None
    await client.close()


async def test_mosquitto_no_local_and_retain_as_published(mosquitto: str) -> None:
    publisher = MqttClient(v5(mosquitto))
    await publisher.connect()
    await publisher.publish("r/kept", b"old", qos=1, retain=True)
    client = MqttClient(v5(mosquitto))
    await client.connect()
    await client.subscribe(Subscription("r/#", qos=1, no_local=True, retain_as_published=True))
    retained = await asyncio.wait_for(anext(client.messages()), 10)
    assert (retained.topic, retained.retain) == ("r/kept", True)
    await client.publish("r/own", b"mine", qos=1)  # no local: not sent back to us
    await publisher.publish("r/other", b"theirs", qos=1, retain=True)
    message = await asyncio.wait_for(anext(client.messages()), 10)
    assert (message.topic, message.payload, message.retain) == ("r/other", b"theirs", True)
    await publisher.publish("r/kept", b"", retain=True)
    await client.close()
    await publisher.close()


async def test_mosquitto_accepts_our_topic_aliases(mosquitto: str) -> None:
    client = MqttClient(v5(mosquitto))
    await client.connect()
    assert client.session.limits.topic_alias_maximum > 0
    await client.subscribe("alias/#", qos=1)
    await client.publish("alias/long/topic", b"1", qos=1, properties=Properties(topic_alias=1))
    await client.publish("", b"2", qos=1, properties=Properties(topic_alias=1))
    first = await asyncio.wait_for(anext(client.messages()), 10)
    second = await asyncio.wait_for(anext(client.messages()), 10)
    assert [(first.topic, first.payload), (second.topic, second.payload)] == [
        ("alias/long/topic", b"1"),
        ("alias/long/topic", b"2"),
    ]
    await client.close()


async def test_mosquitto_receive_maximum_bounds_our_in_flight_window(mosquitto: str) -> None:
    events: list[TraceEvent] = []
    client = MqttClient(v5(mosquitto), on_event=events.append)
    await client.connect()
    limit = client.session.limits.receive_maximum
    assert limit < 100
    results = await asyncio.gather(*(client.publish("w", bytes([n % 256]), qos=1) for n in range(3 * limit)))
    assert all(r is not None and r.ok for r in results)
    outstanding = peak = 0
    for event in events:
        if isinstance(event, PacketEvent) and isinstance(event.packet, Publish) and event.direction == "c2s":
            outstanding += 1
            peak = max(peak, outstanding)
        elif isinstance(event, PacketEvent) and isinstance(event.packet, Puback):
            outstanding -= 1
    assert peak == limit  # the window filled, and never overflowed [MQTT-3.3.4-9]
    await client.close()


async def test_mosquitto_resumes_a_persistent_session(mosquitto: str) -> None:
    options = v5(mosquitto, client_id="persistent-1", clean_start=False, session_expiry_interval=300)
    client = MqttClient(options)
    connack = await client.connect()
    assert not connack.session_present
    await client.subscribe("offline/#", qos=1)
    await client.close()
    publisher = MqttClient(v5(mosquitto))
    await publisher.connect()
    await publisher.publish("offline/1", b"while away", qos=1)
    await publisher.close()
    again = MqttClient(options)
    connack = await again.connect()
    assert connack.session_present
    message = await asyncio.wait_for(anext(again.messages()), 10)
    assert (message.topic, message.payload) == ("offline/1", b"while away")
    await again.close()


async def test_mosquitto_session_takeover_closes_the_old_connection(mosquitto: str) -> None:
    events: list[TraceEvent] = []
    first = MqttClient(v5(mosquitto, client_id="same-id"), on_event=events.append)
    await first.connect()
    second = MqttClient(v5(mosquitto, client_id="same-id"))
    await second.connect()
    closed = asyncio.get_running_loop().create_future()

    def watch(event: TraceEvent) -> None:
        events.append(event)
        if isinstance(event, StateChanged) and event.state == "closed" and not closed.done():
            closed.set_result(event)

    first._on_event = watch
    for event in events:
        if isinstance(event, StateChanged) and event.state == "closed" and not closed.done():
            closed.set_result(event)
    state = await asyncio.wait_for(closed, 10)
    # Mosquitto 2.0.11 closes the socket without a DISCONNECT 0x8E; later versions send one.
    assert state.detail == "the broker closed the connection" or "0x8E Session taken over" in state.detail
    with pytest.raises(ConnectionFailed):
        await first.publish("t", b"x")
    await second.close()


async def test_mosquitto_publishes_our_will_when_the_connection_drops(mosquitto: str) -> None:
    watcher = MqttClient(v5(mosquitto))
    await watcher.connect()
    await watcher.subscribe("wills/#", qos=1)
    will = Will(topic="wills/me", payload=b"gone", qos=1, properties=Properties(content_type="text/plain"))
    client = MqttClient(v5(mosquitto, will=will))
    await client.connect()
    assert client.transport is not None
    client.transport.abort()  # no DISCONNECT: the broker must publish the will
    message = await asyncio.wait_for(anext(watcher.messages()), 10)
    assert (message.topic, message.payload) == ("wills/me", b"gone")
    await watcher.close()
    await client.close()
