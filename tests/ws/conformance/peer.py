"""A raw WebSocket client of the embedded broker that sends whatever bytes a test builds.

It performs a correct upgrade, then writes frames (or any bytes, in any chunking) and
reads the broker's frames back, so a test can see the broker's exact answer: the MQTT
packets, the pongs, and the close frame with its code (RFC 6455 §7.4.1).
"""

from __future__ import annotations

import asyncio
import base64
import os
from dataclasses import dataclass, field

from explorer.broker.server import Broker
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack, Connect, Packet, Suback, Subscribe, Subscription
from explorer.mqtt.reader import PacketReader
from tests.ws.conformance.wire import frame

__all__ = ["TIMEOUT", "BrokerPeer", "Closed", "ServerFrame", "broker_has_read"]

TIMEOUT = 10.0

ServerFrame = tuple[bool, int, bytes]  # fin, opcode, payload


@dataclass(frozen=True, slots=True)
class Closed:
    """How the broker ended the connection: its close code and reason (``None``: no close frame)."""

    code: int | None
    reason: str
    before: tuple[ServerFrame, ...]


@dataclass
class BrokerPeer:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    mqtt: PacketReader = field(default_factory=lambda: PacketReader(max_packet_size=64 << 20))
    packets: list[Packet] = field(default_factory=list)

    @classmethod
    async def open(cls, port: int | None, *, read_limit: int = 1 << 16) -> BrokerPeer:
        assert port is not None
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=read_limit)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: mqtt\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert head.startswith(b"HTTP/1.1 101 "), head
        return cls(reader, writer)

    @classmethod
    async def connected(cls, port: int | None, client_id: str, *, subscribe: str | None = None) -> BrokerPeer:
        """An MQTT 3.1.1 session (CONNACK received), subscribed at QoS 1 if asked."""
        peer = await cls.open(port)
        peer.send_packet(Connect(ProtocolVersion.V311, client_id))
        assert await peer.next_packet() == Connack()
        if subscribe is not None:
            peer.send_packet(Subscribe(1, (Subscription(subscribe, qos=1),)))
            assert isinstance(await peer.next_packet(), Suback)
        return peer

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    def send_packet(self, packet: Packet) -> None:
        self.writer.write(frame(0x2, encode(packet)))

    async def send_chunks(self, chunks: list[bytes]) -> None:
        """Each chunk in its own write, drained, so the broker reads them apart."""
        for chunk in chunks:
            self.writer.write(chunk)
            await self.writer.drain()

    async def read_frame(self) -> ServerFrame:
        """The next server frame; raises ``asyncio.IncompleteReadError`` at EOF."""
        async with asyncio.timeout(TIMEOUT):
            head = await self.reader.readexactly(2)
            assert not head[1] & 0x80, "server frames are never masked (RFC 6455 §5.1)"
            assert not head[0] & 0x70, "no extension was negotiated: RSV bits must be 0 (RFC 6455 §5.2)"
            length = head[1] & 0x7F
            if length == 126:
                length = int.from_bytes(await self.reader.readexactly(2), "big")
            elif length == 127:
                length = int.from_bytes(await self.reader.readexactly(8), "big")
            payload = await self.reader.readexactly(length)
        return bool(head[0] & 0x80), head[0] & 0x0F, payload

    async def next_packet(self) -> Packet:
        """The next MQTT packet from the broker (control frames before it are checked and skipped)."""
        while not self.packets:
            _fin, opcode, payload = await self.read_frame()
            assert opcode in (0x0, 0x2), f"expected a binary frame, got opcode {opcode:#x}"
            for item in self.mqtt.receive_data(payload):
                assert item.packet is not None, item.error
                self.packets.append(item.packet)
        return self.packets.pop(0)

    async def closed(self) -> Closed:
        """Read until the broker closes TCP; the close frame it sent, if any."""
        before: list[ServerFrame] = []
        while True:
            try:
                fin, opcode, payload = await self.read_frame()
            except asyncio.IncompleteReadError:
                return Closed(None, "", tuple(before))
            if opcode == 0x8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                reason = payload[2:].decode()  # a server reason must be UTF-8 (RFC 6455 §5.5.1)
                async with asyncio.timeout(TIMEOUT):
                    rest = await self.reader.read()
                assert rest == b"", "nothing may follow a close frame (RFC 6455 §5.5.1)"
                return Closed(code, reason, tuple(before))
            before.append((fin, opcode, payload))

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def broker_has_read(broker: Broker, total: int) -> None:
    """Wait until the in-process broker has taken ``total`` bytes off its sockets.

    The broker runs in the test's event loop, so this yields to it until the bytes a test
    wrote have been read: the next write then starts a new read, wherever it cuts a frame.
    """
    async with asyncio.timeout(TIMEOUT):
        while broker.state.stats.bytes_received < total:
            await asyncio.sleep(0)
