"""MqttClient parses each server packet once: its messages are the trace's packets.

Against the embedded broker (WebSocket with its framing faults, and TCP) and a
scripted MQTT server on loopback for what a broker will not send (topic aliases,
malformed and oversize packets, a dropped connection).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from explorer.broker.server import Broker
from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions, TlsOptions
from explorer.model.events import MessageReceived, PacketEvent, StateChanged
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import DisconnectReasonCode, ProtocolVersion
from explorer.mqtt.packets import Connack, Connect, Disconnect, Packet, Properties, Publish
from explorer.mqtt.reader import PacketReader
from tests.test_client import Recorder, start_broker
from tests.test_net import port_of, server_context, tls_front

V311, V5 = ProtocolVersion.V311, ProtocolVersion.V5


def _inbound_publishes(recorder: Recorder) -> list[PacketEvent]:
    return [
        e
        for e in recorder.events
        if isinstance(e, PacketEvent) and e.direction == "s2c" and isinstance(e.packet, Publish)
    ]


def _messages(recorder: Recorder) -> list[MessageReceived]:
    return [e for e in recorder.events if isinstance(e, MessageReceived)]


@pytest.mark.parametrize(
    ("transport", "fault"),
    [("ws", None), ("ws", "split-frames=3"), ("ws", "coalesce"), ("tcp", None)],
)
@pytest.mark.parametrize("version", [V311, V5])
async def test_each_message_is_the_publish_object_of_its_trace_packet(
    transport: str, fault: str | None, version: ProtocolVersion
) -> None:
    broker: Broker = await start_broker(*([fault] if fault else []))
    try:
        url = broker.ws_url if transport == "ws" else broker.tcp_url
        assert url is not None
        publisher = MqttClient(ConnectionOptions(url=url, mqtt_version=version))
        await publisher.connect()
        await publisher.publish("t/kept", b"retained", qos=1, retain=True)
        recorder = Recorder()
        client = MqttClient(ConnectionOptions(url=url, mqtt_version=version), on_event=recorder)
        await client.connect()
        await client.subscribe("t/#", qos=2)
        props = (
            Properties(user_properties=(("k", "v"),), content_type="text/plain")
            if version == V5
            else Properties()
        )
        for qos in (0, 1, 2):
            await publisher.publish("t/x", b"m%d" % qos, qos=qos, properties=props)
        await recorder.wait_for(lambda e: isinstance(e, MessageReceived) and e.payload == b"m2")
        await publisher.close()
        await client.close()
    finally:
        await broker.stop()
    messages = _messages(recorder)
    assert [(m.topic, m.payload, m.retain) for m in messages] == [
        ("t/kept", b"retained", True),
        ("t/x", b"m0", False),
        ("t/x", b"m1", False),
        ("t/x", b"m2", False),
    ]
    traced = _inbound_publishes(recorder)
    assert len(traced) == 4
    for message, event in zip(messages, traced, strict=True):
        assert message.packet is event.packet
        assert event.seq < message.seq  # the packet is traced before the message
    if version == V5:
        assert messages[1].packet is not None
        assert messages[1].packet.properties.user_properties == (("k", "v"),)  # type: ignore[union-attr]


@pytest.mark.parametrize("scheme", ["wss", "mqtts"])
async def test_over_tls_each_message_is_the_publish_object_of_its_trace_packet(
    scheme: str, tmp_path: Path
) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    broker = await start_broker()
    try:
        port = broker.ws_port if scheme == "wss" else broker.tcp_port
        assert port is not None
        front = await tls_front(port, server_context(ca, "127.0.0.1"))
        async with front:
            url = f"{scheme}://127.0.0.1:{port_of(front)}" + ("/mqtt" if scheme == "wss" else "")
            recorder = Recorder()
            client = MqttClient(
                ConnectionOptions(url=url, tls=TlsOptions(ca_file=str(ca_file))), on_event=recorder
            )
            await client.connect()
            await client.subscribe("t", qos=1)
            await client.publish("t", b"over tls", qos=1)
            await recorder.wait_for(lambda e: isinstance(e, MessageReceived))
            await client.close()
    finally:
        await broker.stop()
    (message,) = _messages(recorder)
    (traced,) = _inbound_publishes(recorder)
    assert message.payload == b"over tls"
    assert message.packet is traced.packet


class Peer:
    """The server's end of one scripted connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.packets = PacketReader(V5)
        self.pending: list[Packet] = []

    async def recv(self) -> Packet:
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), 10)
            if not data:
                raise EOFError("the client closed the connection")
            self.pending.extend(i.packet for i in self.packets.receive_data(data) if i.packet is not None)
        return self.pending.pop(0)

    def send(self, *packets: Packet | bytes) -> None:
        self.writer.write(b"".join(p if isinstance(p, bytes) else encode(p, V5) for p in packets))


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, asyncio.Queue[Peer]]]:
    peers: asyncio.Queue[Peer] = asyncio.Queue()
    opened: list[Peer] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(reader, writer)
        opened.append(peer)
        await peers.put(peer)

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield f"mqtt://127.0.0.1:{port}", peers
        for peer in opened:
            peer.writer.close()


async def _connected(
    url: str, peers: asyncio.Queue[Peer], **options: object
) -> tuple[MqttClient, Peer, Recorder]:
    recorder = Recorder()
    client = MqttClient(ConnectionOptions(url=url, mqtt_version=V5, **options), on_event=recorder)  # type: ignore[arg-type]
    connecting = asyncio.create_task(client.connect())
    peer = await asyncio.wait_for(peers.get(), 10)
    assert isinstance(await peer.recv(), Connect)
    peer.send(Connack())
    await connecting
    return client, peer, recorder


async def test_topic_aliased_message_has_its_topic_while_the_trace_keeps_the_wire_packet(
    server: tuple[str, asyncio.Queue[Peer]],
) -> None:
    url, peers = server
    client, peer, recorder = await _connected(url, peers, topic_alias_maximum=4)
    alias = Properties(topic_alias=2)
    peer.send(Publish("long/topic/name", b"1", properties=alias), Publish("", b"2", properties=alias))
    await recorder.wait_for(lambda e: isinstance(e, MessageReceived) and e.payload == b"2")
    await client.close()
    first, second = _messages(recorder)
    traced = _inbound_publishes(recorder)
    assert [e.packet.topic for e in traced] == ["long/topic/name", ""]  # type: ignore[union-attr]
    assert (first.topic, second.topic) == ("long/topic/name", "long/topic/name")
    assert first.packet is traced[0].packet
    assert isinstance(second.packet, Publish)
    assert second.packet.topic == "long/topic/name"
    assert second.packet.properties.topic_alias == 2


_TOO_LARGE = encode(Publish("big", b"x" * 100), V5)


@pytest.mark.parametrize(
    ("options", "bad", "detail"),
    [
        pytest.param(
            {},
            bytes((0x36, 5, 0, 1)) + b"t\x00\x01",
            "PUBLISH QoS must not be 3 [MQTT-3.3.1-4]",
            id="malformed",
        ),
        pytest.param(
            {"maximum_packet_size": 64},
            _TOO_LARGE,
            f"packet of {len(_TOO_LARGE)} bytes exceeds the maximum of 64 bytes",
            id="oversize",
        ),
    ],
)
async def test_malformed_or_oversize_server_packet_gets_disconnect_0x81(
    server: tuple[str, asyncio.Queue[Peer]], options: dict[str, object], bad: bytes, detail: str
) -> None:
    url, peers = server
    client, peer, recorder = await _connected(url, peers, **options)
    ok = encode(Publish("ok", b"1"), V5)
    peer.send(ok, bad, Publish("after", b"2"))
    assert await peer.recv() == Disconnect(reason_code=DisconnectReasonCode.MALFORMED_PACKET)
    closed = await recorder.wait_for(lambda e: isinstance(e, StateChanged) and e.state == "closed")
    assert isinstance(closed, StateChanged)
    # Offsets count from the first byte of the server's MQTT stream (CONNACK's), as before.
    offset = len(encode(Connack(), V5)) + len(ok)
    assert closed.detail == f"the server sent a malformed packet: malformed packet at byte {offset}: {detail}"
    assert [m.topic for m in _messages(recorder)] == ["ok"]
    await client.close()


async def test_each_connection_hands_its_own_packets_to_the_session_once(
    server: tuple[str, asyncio.Queue[Peer]],
) -> None:
    """A reconnection gets a new decoder: no packet of the first connection is
    dispatched again, none of the second is lost."""
    url, peers = server
    client, first, recorder = await _connected(
        url, peers, reconnect=True, reconnect_initial_delay=0.01, reconnect_max_delay=0.02
    )
    first.send(Publish("one", b"1"), Publish("two", b"2"))
    await recorder.wait_for(lambda e: isinstance(e, MessageReceived) and e.topic == "two")
    first.send(encode(Publish("cut", b"3"), V5)[:4])  # half a packet, then the connection drops
    await first.writer.drain()
    first.writer.close()
    second = await asyncio.wait_for(peers.get(), 10)
    assert isinstance(await second.recv(), Connect)
    second.send(Connack(), Publish("three", b"3"))
    await recorder.wait_for(lambda e: isinstance(e, MessageReceived) and e.topic == "three")
    await client.close()
    messages = _messages(recorder)
    assert [(m.conn, m.topic) for m in messages] == [(0, "one"), (0, "two"), (1, "three")]
    traced = _inbound_publishes(recorder)
    assert [(e.conn, e.packet_no) for e in traced] == [(0, 1), (0, 2), (1, 1)]  # CONNACK is 0
    assert all(m.packet is e.packet for m, e in zip(messages, traced, strict=True))
