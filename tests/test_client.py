"""MqttClient over real loopback sockets against the embedded broker (ws and tcp)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.client.driver import MqttClient, PublishFailed, backoff_delay
from explorer.client.options import ConnectionOptions
from explorer.errors import ConnectionFailed, HandshakeError, LocalProtocolError
from explorer.model.events import (
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    MessageReceived,
    PacketEvent,
    StateChanged,
    TraceEvent,
)
from explorer.mqtt.enums import ProtocolVersion, SubackReasonCode
from explorer.mqtt.packets import Connect, Pingresp, Properties, Publish, Subscription


class Recorder:
    """Collects trace events and lets a test await one that matches."""

    def __init__(self) -> None:
        self.events: list[TraceEvent] = []
        self._waiters: list[tuple[Callable[[TraceEvent], bool], asyncio.Future[TraceEvent]]] = []

    def __call__(self, event: TraceEvent) -> None:
        self.events.append(event)
        for predicate, future in self._waiters:
            if not future.done() and predicate(event):
                future.set_result(event)

    async def wait_for(self, predicate: Callable[[TraceEvent], bool], timeout: float = 10.0) -> TraceEvent:
        """The first recorded event matching ``predicate``, waiting for it if needed."""
        for event in self.events:
            if predicate(event):
                return event
        future: asyncio.Future[TraceEvent] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiters.remove((predicate, future))

    def of(self, kind: type[TraceEvent]) -> list[TraceEvent]:
        return [e for e in self.events if isinstance(e, kind)]

    def states(self) -> list[str]:
        return [e.state for e in self.events if isinstance(e, StateChanged)]


async def start_broker(*faults: str, **config: object) -> Broker:
    broker = Broker(BrokerConfig.ephemeral(sys_interval=0, faults=parse_faults(list(faults)), **config))
    await broker.start()
    return broker


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    broker = await start_broker()
    yield broker
    await broker.stop()


def ws_url(broker: Broker) -> str:
    assert broker.ws_url is not None
    return broker.ws_url


def tcp_url(broker: Broker) -> str:
    assert broker.tcp_url is not None
    return broker.tcp_url


@pytest.mark.parametrize("transport", ["ws", "tcp"])
@pytest.mark.parametrize("version", [ProtocolVersion.V31, ProtocolVersion.V311, ProtocolVersion.V5])
async def test_client_subscribes_publishes_every_qos_and_receives(
    broker: Broker, transport: str, version: ProtocolVersion
) -> None:
    url = ws_url(broker) if transport == "ws" else tcp_url(broker)
    recorder = Recorder()
    client = MqttClient(ConnectionOptions(url=url, mqtt_version=version), on_event=recorder)
    connack = await client.connect()
    assert not connack.session_present
    suback = await client.subscribe("t/#", qos=2)
    assert suback.reason_codes == (SubackReasonCode.GRANTED_QOS_2,)
    messages = client.messages().__aiter__()
    for qos in (0, 1, 2):
        completion = await client.publish("t/x", f"m{qos}", qos=qos)
        if qos:
            assert completion is not None
            assert completion.ok
            assert completion.qos == qos
        message = await asyncio.wait_for(messages.__anext__(), 10)
        assert (message.topic, message.payload, message.qos) == ("t/x", f"m{qos}".encode(), qos)
    assert client.session.packet_ids_in_use == frozenset()
    await client.close()
    assert recorder.states() == ["connecting", "connected", "closed"]


async def test_trace_shows_handshake_every_frame_and_packet_in_order(broker: Broker) -> None:
    recorder = Recorder()
    client = MqttClient(
        ConnectionOptions(url=ws_url(broker), mqtt_version=ProtocolVersion.V5), on_event=recorder
    )
    await client.connect()
    await client.subscribe("a")
    await client.publish("a", b"hello", qos=1)
    await client.close()
    seqs = [e.seq for e in recorder.events]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    (request,) = recorder.of(HandshakeRequest)
    (response,) = recorder.of(HandshakeResponse)
    assert isinstance(request, HandshakeRequest)
    assert isinstance(response, HandshakeResponse)
    assert request.raw.startswith(b"GET /mqtt HTTP/1.1\r\n")
    assert response.status == 101
    assert response.subprotocol == "mqtt"
    packets = [e for e in recorder.of(PacketEvent) if isinstance(e, PacketEvent)]
    names = [(p.direction, type(p.packet).__name__) for p in packets]
    assert names[:2] == [("c2s", "Connect"), ("s2c", "Connack")]
    assert ("c2s", "Subscribe") in names
    assert ("s2c", "Puback") in names
    assert ("c2s", "Disconnect") in names
    frames = [e for e in recorder.of(FrameEvent) if isinstance(e, FrameEvent)]
    assert all(f.masked for f in frames if f.direction == "c2s")  # RFC 6455 §5.3
    closes = [(f.direction, f.close_code) for f in frames if f.opcode == 8]
    assert closes == [("c2s", 1000), ("s2c", 1000)]
    (message,) = recorder.of(MessageReceived)
    assert isinstance(message, MessageReceived)
    assert message.payload == b"hello"


async def test_no_password_or_secret_header_reaches_the_trace(broker: Broker) -> None:
    recorder = Recorder()
    options = ConnectionOptions(
        url=ws_url(broker),
        username="alice",
        password=b"hunter2-secret",
        http_username="web",
        http_password="basic-secret",
        headers=(("X-Visible", "shown"),),
        secret_headers=(("X-Api-Key", "key-secret"),),
    )
    client = MqttClient(options, on_event=recorder)
    await client.connect()
    await client.close()
    (request,) = recorder.of(HandshakeRequest)
    assert isinstance(request, HandshakeRequest)
    assert b"X-Visible: shown" in request.raw
    assert b"X-Api-Key: **********" in request.raw
    for event in recorder.events:
        text = repr(event)
        for secret in ("hunter2-secret", "basic-secret", "key-secret", "YmFzaWMtc2VjcmV0"):
            assert secret not in text
    connect = next(e for e in recorder.of(PacketEvent) if isinstance(e, PacketEvent) and e.packet_no == 0)
    assert isinstance(connect, PacketEvent)
    assert isinstance(connect.packet, Connect)
    assert connect.packet.username == "alice"


async def test_packets_split_over_several_frames_are_reassembled_and_linked() -> None:
    broker = await start_broker("split-frames=3")
    try:
        recorder = Recorder()
        client = MqttClient(ConnectionOptions(url=ws_url(broker)), on_event=recorder)
        await client.connect()
        await client.subscribe("s")
        await client.publish("s", b"x" * 30, qos=1)
        message = await recorder.wait_for(lambda e: isinstance(e, MessageReceived))
        assert isinstance(message, MessageReceived)
        assert message.payload == b"x" * 30
        await client.close()
    finally:
        await broker.stop()
    inbound = [e for e in recorder.of(PacketEvent) if isinstance(e, PacketEvent) and e.direction == "s2c"]
    assert all(len(p.frames) >= 2 for p in inbound)
    publish = next(p for p in inbound if isinstance(p.packet, Publish))
    assert len(publish.frames) == 3
    frames = {
        f.index: f for f in recorder.of(FrameEvent) if isinstance(f, FrameEvent) and f.direction == "s2c"
    }
    assert b"".join(frames[i].payload for i in publish.frames) == publish.raw


async def test_refused_connect_raises_with_the_reason_code() -> None:
    broker = await start_broker("refuse-connect=not-authorized")
    try:
        recorder = Recorder()
        options = ConnectionOptions(url=tcp_url(broker), mqtt_version=ProtocolVersion.V5)
        client = MqttClient(options, on_event=recorder)
        with pytest.raises(ConnectionFailed, match="0x87 Not authorized"):
            await client.connect()
        assert recorder.states()[-1] == "closed"
    finally:
        await broker.stop()


async def test_wrong_path_is_a_handshake_error_with_the_status_line(broker: Broker) -> None:
    url = ws_url(broker).replace("/mqtt", "/nope")
    client = MqttClient(ConnectionOptions(url=url))
    with pytest.raises(HandshakeError, match=r"HTTP/1\.1 404"):
        await client.connect()


@pytest.mark.parametrize("fault", ["no-subprotocol-echo", "echo-unoffered-subprotocol"])
async def test_subprotocol_problem_is_reported_and_refused_in_strict_mode(fault: str) -> None:
    broker = await start_broker(fault)
    try:
        recorder = Recorder()
        client = MqttClient(ConnectionOptions(url=ws_url(broker)), on_event=recorder)
        await client.connect()
        warnings = [e for e in recorder.of(ErrorReported) if isinstance(e, ErrorReported)]
        ours = [w for w in warnings if w.layer == "websocket"]
        assert len(ours) == 1
        assert "subprotocol" in ours[0].message
        await client.close()
        strict = MqttClient(ConnectionOptions(url=ws_url(broker), strict_subprotocol=True))
        with pytest.raises(HandshakeError, match="strict subprotocol check"):
            await strict.connect()
    finally:
        await broker.stop()


async def test_subprotocol_list_is_offered_in_the_chosen_order() -> None:
    broker = await start_broker("only-mqttv3.1")
    try:
        recorder = Recorder()
        options = ConnectionOptions(url=ws_url(broker), subprotocols=("mqttv3.1", "mqtt"))
        client = MqttClient(options, on_event=recorder)
        await client.connect()
        assert client.subprotocol == "mqttv3.1"
        (request,) = recorder.of(HandshakeRequest)
        assert isinstance(request, HandshakeRequest)
        assert b"Sec-WebSocket-Protocol: mqttv3.1, mqtt\r\n" in request.raw
        await client.close()
    finally:
        await broker.stop()


async def test_text_frames_from_the_server_end_the_connection() -> None:
    broker = await start_broker("text-frames")
    try:
        client = MqttClient(ConnectionOptions(url=ws_url(broker)))
        with pytest.raises(
            ConnectionFailed, match=r"text frame; MQTT over WebSocket uses binary frames only"
        ):
            await client.connect()
    finally:
        await broker.stop()


async def test_server_close_frame_code_is_reported() -> None:
    broker = await start_broker("close-after-handshake=1008")
    try:
        client = MqttClient(ConnectionOptions(url=ws_url(broker)))
        with pytest.raises(ConnectionFailed, match="code 1008"):
            await client.connect()
    finally:
        await broker.stop()


async def test_publish_beyond_the_broker_packet_size_is_refused_locally() -> None:
    broker = await start_broker(max_packet_size=1000)
    try:
        client = MqttClient(ConnectionOptions(url=tcp_url(broker), mqtt_version=ProtocolVersion.V5))
        await client.connect()
        with pytest.raises(LocalProtocolError, match="at most 1000"):
            await client.publish("t", b"x" * 2000, qos=1)
        assert client.session.packet_ids_in_use == frozenset()
        await client.close()
    finally:
        await broker.stop()


async def test_publish_refused_by_the_broker_raises_publish_failed(tmp_path: Path) -> None:
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite #\ntopic deny secret/#\n")
    broker = await start_broker(acl_file=acl)
    try:
        client = MqttClient(ConnectionOptions(url=tcp_url(broker), mqtt_version=ProtocolVersion.V5))
        await client.connect()
        with pytest.raises(PublishFailed, match="0x87 Not authorized") as caught:
            await client.publish("secret/x", b"1", qos=1)
        assert not caught.value.completion.ok
        assert await client.publish("open/x", b"1", qos=1) is not None
        await client.close()
    finally:
        await broker.stop()


async def test_unsubscribe_stops_delivery_and_is_not_resubscribed(broker: Broker) -> None:
    client = MqttClient(ConnectionOptions(url=ws_url(broker), mqtt_version=ProtocolVersion.V5))
    await client.connect()
    await client.subscribe("u/a", "u/b", qos=1)
    unsuback = await client.unsubscribe("u/a", user_properties=(("why", "test"),))
    assert [int(code) for code in unsuback.reason_codes] == [0]
    await client.publish("u/a", b"dropped", qos=1)
    await client.publish("u/b", b"kept", qos=1)
    message = await asyncio.wait_for(anext(client.messages()), 10)
    assert (message.topic, message.payload) == ("u/b", b"kept")
    assert list(client._subscriptions) == ["u/b"]  # what a reconnect subscribes again
    await client.close()


async def test_connect_twice_is_refused(broker: Broker) -> None:
    client = MqttClient(ConnectionOptions(url=tcp_url(broker)))
    await client.connect()
    with pytest.raises(LocalProtocolError, match="already connected"):
        await client.connect()
    await client.close()


async def test_keep_alive_pings_the_broker(broker: Broker) -> None:
    recorder = Recorder()
    client = MqttClient(ConnectionOptions(url=tcp_url(broker), keep_alive=1), on_event=recorder)
    await client.connect()
    pong = await recorder.wait_for(lambda e: isinstance(e, PacketEvent) and isinstance(e.packet, Pingresp))
    assert isinstance(pong, PacketEvent)
    assert client.connected
    await client.close()


async def test_reconnects_with_backoff_and_subscribes_again(broker: Broker) -> None:
    recorder = Recorder()
    options = ConnectionOptions(
        url=ws_url(broker), reconnect=True, reconnect_initial_delay=0.05, reconnect_max_delay=0.1
    )
    client = MqttClient(options, on_event=recorder)
    await client.connect()
    await client.subscribe(Subscription("r/#", qos=1))
    for link in list(broker.links):
        assert link.transport is not None
        link.transport.abort()  # the network drops the connection
    await recorder.wait_for(lambda e: isinstance(e, StateChanged) and e.state == "connected" and e.conn == 1)
    await recorder.wait_for(
        lambda e: isinstance(e, PacketEvent) and type(e.packet).__name__ == "Suback" and e.conn == 1
    )
    other = MqttClient(ConnectionOptions(url=tcp_url(broker)))
    await other.connect()
    await other.publish("r/1", b"after", qos=1)
    message = await recorder.wait_for(lambda e: isinstance(e, MessageReceived))
    assert isinstance(message, MessageReceived)
    assert (message.conn, message.payload) == (1, b"after")
    assert recorder.states()[:5] == ["connecting", "connected", "disconnected", "reconnecting", "connecting"]
    await other.close()
    await client.close()


async def test_publish_waiting_for_a_reconnection_fails_when_the_client_closes(broker: Broker) -> None:
    recorder = Recorder()
    options = ConnectionOptions(url=tcp_url(broker), reconnect=True, reconnect_initial_delay=60)
    client = MqttClient(options, on_event=recorder)
    await client.connect()
    for link in list(broker.links):
        assert link.transport is not None
        link.transport.abort()
    await recorder.wait_for(lambda e: isinstance(e, StateChanged) and e.state == "reconnecting")
    publishing = asyncio.create_task(client.publish("t", b"x", qos=1))
    done, _ = await asyncio.wait({publishing}, timeout=0)  # let it start: it waits for the reconnection
    assert not done
    await client.close()
    with pytest.raises(ConnectionFailed, match="not connected"):
        await asyncio.wait_for(publishing, 10)


async def test_operations_after_close_fail_with_a_sentence(broker: Broker) -> None:
    client = MqttClient(ConnectionOptions(url=tcp_url(broker)))
    await client.connect()
    await client.close()
    with pytest.raises(ConnectionFailed, match="not connected"):
        await client.publish("t", b"x")
    assert [m async for m in client.messages()] == []


async def test_v5_publish_properties_reach_the_subscriber(broker: Broker) -> None:
    options = ConnectionOptions(url=ws_url(broker), mqtt_version=ProtocolVersion.V5)
    client = MqttClient(options)
    await client.connect()
    await client.subscribe("p")
    props = Properties(
        payload_format_indicator=1,
        message_expiry_interval=60,
        content_type="text/plain",
        response_topic="reply",
        correlation_data=b"42",
        user_properties=(("k", "v"),),
    )
    await client.publish("p", b"body", qos=2, properties=props)
    message = await asyncio.wait_for(client.messages().__anext__(), 10)
    assert isinstance(message.packet, Publish)
    got = message.packet.properties
    assert (got.content_type, got.response_topic, got.correlation_data) == ("text/plain", "reply", b"42")
    assert got.user_properties == (("k", "v"),)
    await client.close()


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    import random

    rng = random.Random(7)
    delays = [backoff_delay(n, 1.0, 30.0, rng) for n in range(8)]
    for attempt, delay in enumerate(delays):
        ceiling = min(30.0, 2.0**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays)
