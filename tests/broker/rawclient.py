"""Raw WebSocket and TCP clients on asyncio streams, to observe the broker byte by byte."""

from __future__ import annotations

import asyncio
import base64
import os
from dataclasses import dataclass, field

from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Packet
from explorer.mqtt.reader import PacketReader

TIMEOUT = 5.0
OPEN_WRITERS: list[asyncio.StreamWriter] = []  # closed after each test by conftest.py


async def close_all() -> None:
    while OPEN_WRITERS:
        writer = OPEN_WRITERS.pop()
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True, rsv: int = 0) -> bytes:
    first = (0x80 if fin else 0) | rsv | opcode
    length = len(payload)
    if length < 126:
        header = bytes((first, (0x80 if mask else 0) | length))
    elif length < 65536:
        header = bytes((first, (0x80 if mask else 0) | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((first, (0x80 if mask else 0) | 127)) + length.to_bytes(8, "big")
    if not mask:
        return header + payload
    key = os.urandom(4)
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


@dataclass
class RawWebSocket:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    response: Response
    version: ProtocolVersion = ProtocolVersion.V311
    mqtt: PacketReader = field(default_factory=PacketReader)

    async def read_frame(self) -> tuple[bool, int, bytes]:
        """(fin, opcode, payload) of the next server frame; raises IncompleteReadError at EOF."""
        head = await asyncio.wait_for(self.reader.readexactly(2), TIMEOUT)
        assert not head[1] & 0x80, "server frames must not be masked (RFC 6455 §5.1)"
        length = head[1] & 0x7F
        if length == 126:
            length = int.from_bytes(await self.reader.readexactly(2), "big")
        elif length == 127:
            length = int.from_bytes(await self.reader.readexactly(8), "big")
        payload = await asyncio.wait_for(self.reader.readexactly(length), TIMEOUT)
        return bool(head[0] & 0x80), head[0] & 0x0F, payload

    def send_frame(
        self, opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True, rsv: int = 0
    ) -> None:
        self.writer.write(client_frame(opcode, payload, fin=fin, mask=mask, rsv=rsv))

    def send_packet(self, packet: Packet) -> None:
        self.send_frame(0x2, encode(packet, self.version))

    async def read_packets(self) -> list[Packet]:
        """Read frames until at least one whole MQTT packet is decoded."""
        while True:
            _fin, opcode, payload = await self.read_frame()
            assert opcode in (0x0, 0x1, 0x2), f"unexpected opcode {opcode}"
            items = self.mqtt.receive_data(payload)
            if items:
                return [item.packet for item in items if item.packet is not None]

    async def at_eof(self) -> bytes:
        """Everything the server sends until it closes the connection."""
        return await asyncio.wait_for(self.reader.read(), TIMEOUT)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


async def http_request(
    port: int, request: bytes
) -> tuple[Response, asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    OPEN_WRITERS.append(writer)
    writer.write(request)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    return Response(status, headers, body), reader, writer


def upgrade_request(
    path: str = "/mqtt", subprotocols: tuple[str, ...] | None = ("mqtt",), origin: str | None = None
) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if subprotocols:
        lines.append("Sec-WebSocket-Protocol: " + ", ".join(subprotocols))
    if origin is not None:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def open_ws(
    port: int | None,
    path: str = "/mqtt",
    subprotocols: tuple[str, ...] | None = ("mqtt",),
    origin: str | None = None,
) -> RawWebSocket:
    assert port is not None, "the listener is off"
    response, reader, writer = await http_request(port, upgrade_request(path, subprotocols, origin))
    return RawWebSocket(reader, writer, response)


async def open_tcp(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    OPEN_WRITERS.append(writer)
    return reader, writer


async def read_mqtt(reader: asyncio.StreamReader, mqtt: PacketReader) -> list[Packet]:
    while True:
        data = await asyncio.wait_for(reader.read(65536), TIMEOUT)
        if not data:
            return []
        items = mqtt.receive_data(data)
        if items:
            return [item.packet for item in items if item.packet is not None]
