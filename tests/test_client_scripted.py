"""MqttClient against a scripted MQTT server on loopback: the cases a real broker will not stage.

The server side is a few lines of asyncio around our codec; each test plays the
broker's part packet by packet (enhanced authentication, a DISCONNECT with a reason,
a silent keep alive, a forbidden topic alias, a dropped connection mid-flow).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions
from explorer.errors import ConnectionFailed
from explorer.model.events import ErrorReported, StateChanged, TraceEvent
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import AuthReasonCode, DisconnectReasonCode, ProtocolVersion
from explorer.mqtt.packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    Packet,
    Pingreq,
    Properties,
    Puback,
    Publish,
)
from explorer.mqtt.reader import PacketReader

V5 = ProtocolVersion.V5


class Peer:
    """The server's end of one connection."""

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
            self.pending.extend(
                item.packet for item in self.packets.receive_data(data) if item.packet is not None
            )
        return self.pending.pop(0)

    def send(self, packet: Packet) -> None:
        self.writer.write(encode(packet, V5))

    async def eof(self) -> bytes:
        """Everything the client sends until it closes the connection."""
        return await asyncio.wait_for(self.reader.read(), 10)

    def close(self) -> None:
        self.writer.close()


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
            peer.close()


async def accept(peers: asyncio.Queue[Peer], **connack: object) -> tuple[Peer, Connect]:
    peer = await asyncio.wait_for(peers.get(), 10)
    connect = await peer.recv()
    assert isinstance(connect, Connect)
    peer.send(Connack(**connack))  # type: ignore[arg-type]
    return peer, connect


async def test_enhanced_authentication_challenge_is_answered_by_the_handler(
    server: tuple[str, asyncio.Queue[Peer]],
) -> None:
    url, peers = server
    challenges: list[bytes | None] = []

    def answer(auth: Auth) -> Properties:
        challenges.append(auth.properties.authentication_data)
        return Properties(authentication_method="TOKEN", authentication_data=b"proof")

    options = ConnectionOptions(
        url=url, mqtt_version=V5, authentication_method="TOKEN", authentication_data=b"hello"
    )
    client = MqttClient(options, auth_handler=answer)
    connecting = asyncio.create_task(client.connect())
    peer = await asyncio.wait_for(peers.get(), 10)
    connect = await peer.recv()
    assert isinstance(connect, Connect)
    assert connect.properties.authentication_data == b"hello"
    peer.send(
        Auth(
            reason_code=AuthReasonCode.CONTINUE_AUTHENTICATION,
            properties=Properties(authentication_method="TOKEN", authentication_data=b"nonce"),
        )
    )
    reply = await peer.recv()
    assert isinstance(reply, Auth)
    assert reply.reason_code == AuthReasonCode.CONTINUE_AUTHENTICATION
    assert reply.properties.authentication_data == b"proof"
    peer.send(Connack(properties=Properties(authentication_method="TOKEN")))
    await asyncio.wait_for(connecting, 10)
    assert challenges == [b"nonce"]
    await client.close()


async def test_server_disconnect_reason_reaches_state_and_waiting_callers(
    server: tuple[str, asyncio.Queue[Peer]],
) -> None:
    url, peers = server
    events: list[TraceEvent] = []
    client = MqttClient(ConnectionOptions(url=url, mqtt_version=V5), on_event=events.append)
    connecting = asyncio.create_task(client.connect())
    peer, _ = await accept(peers)
    await connecting
    publishing = asyncio.create_task(client.publish("t", b"x", qos=1))
    assert isinstance(await peer.recv(), Publish)
    peer.send(
        Disconnect(
            reason_code=DisconnectReasonCode.SERVER_SHUTTING_DOWN,
            properties=Properties(reason_string="maintenance"),
        )
    )
    with pytest.raises(ConnectionFailed, match="0x8B Server shutting down: maintenance"):
        await publishing
    closed = [e for e in events if isinstance(e, StateChanged) and e.state == "closed"]
    assert closed[0].detail == "the broker disconnected: 0x8B Server shutting down: maintenance"
    await client.close()


async def test_missing_pingresp_closes_the_connection(server: tuple[str, asyncio.Queue[Peer]]) -> None:
    url, peers = server
    events: list[TraceEvent] = []
    client = MqttClient(ConnectionOptions(url=url, mqtt_version=V5, keep_alive=1), on_event=events.append)
    connecting = asyncio.create_task(client.connect())
    peer, _ = await accept(peers)
    await connecting
    assert isinstance(await peer.recv(), Pingreq)  # and no PINGRESP comes back
    assert await peer.eof() == b""  # the client gives up and closes
    closed = [e for e in events if isinstance(e, StateChanged) and e.state == "closed"]
    assert closed
    assert "no PINGRESP within 1 s" in closed[0].detail


async def test_forbidden_topic_alias_gets_disconnect_0x94(server: tuple[str, asyncio.Queue[Peer]]) -> None:
    url, peers = server
    events: list[TraceEvent] = []
    client = MqttClient(ConnectionOptions(url=url, mqtt_version=V5), on_event=events.append)
    connecting = asyncio.create_task(client.connect())
    peer, _ = await accept(peers)
    await connecting
    peer.send(Publish(topic="t", payload=b"x", properties=Properties(topic_alias=5)))
    disconnect = await peer.recv()
    assert disconnect == Disconnect(reason_code=DisconnectReasonCode.TOPIC_ALIAS_INVALID)
    errors = [e for e in events if isinstance(e, ErrorReported) and e.layer == "mqtt"]
    assert "topic alias 5" in errors[0].message


async def test_in_flight_publish_is_resent_with_dup_after_reconnecting(
    server: tuple[str, asyncio.Queue[Peer]],
) -> None:
    url, peers = server
    options = ConnectionOptions(
        url=url,
        mqtt_version=V5,
        client_id="resume",
        clean_start=False,
        session_expiry_interval=60,
        reconnect=True,
        reconnect_initial_delay=0.01,
        reconnect_max_delay=0.02,
    )
    client = MqttClient(options)
    connecting = asyncio.create_task(client.connect())
    first, _ = await accept(peers)
    await connecting
    publishing = asyncio.create_task(client.publish("t", b"once", qos=1))
    original = await first.recv()
    assert isinstance(original, Publish)
    first.close()  # the connection drops before PUBACK
    second, connect = await accept(peers, session_present=True)
    assert not connect.clean_start
    resent = await second.recv()
    assert isinstance(resent, Publish)
    assert (resent.packet_id, resent.dup, resent.payload) == (original.packet_id, True, b"once")
    assert resent.packet_id is not None
    second.send(Puback(packet_id=resent.packet_id))
    completion = await asyncio.wait_for(publishing, 10)
    assert completion is not None
    assert completion.ok
    await client.close()
