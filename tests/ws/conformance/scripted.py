"""A WebSocket server of our own on loopback that sends whatever frames a test scripts.

It answers the upgrade properly (RFC 6455 §4.2.2, subprotocol ``mqtt``), reads the
client's frames with the broker's strict frame reader (so a client that breaks a rule
is caught too), waits for the client's CONNECT, then writes the test's bytes: a
fragmented CONNACK with pings between the fragments, a close frame with a reason, or a
frame no server may send. It records every frame the client sends back (pongs, its close
frame and code) and closes TCP once the client has sent its close frame (§7.1.1).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from explorer.broker.wsframes import FrameParser, WebSocketViolation, encode_frame
from explorer.mqtt.packets import Connect
from explorer.mqtt.reader import PacketReader

__all__ = ["ClientLog", "ScriptedServer", "scripted_server", "server_frame"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


def server_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0) -> bytes:
    """An unmasked frame (RFC 6455 §5.1) with header bits set as given."""
    data = encode_frame(opcode, payload, fin=fin)
    return bytes((data[0] | rsv,)) + data[1:]


@dataclass
class ClientLog:
    """What one client sent after the upgrade."""

    frames: list[tuple[int, bool, bytes]] = field(default_factory=list)
    raw: bytearray = field(default_factory=bytearray)  # every byte after the upgrade request
    connect: Connect | None = None
    violation: str | None = None  # a rule the client broke, if any
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def close_code(self) -> int | None:
        for opcode, _fin, payload in self.frames:
            if opcode == 0x8:
                return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
        return None

    def payloads(self, opcode: int) -> list[bytes]:
        return [payload for got, _fin, payload in self.frames if got == opcode]


class ScriptedServer:
    def __init__(
        self,
        script: list[bytes],
        after_upgrade: bytes = b"",
        *,
        silent_close: bool = False,
        extra_headers: bytes = b"",
    ) -> None:
        self.script = script
        self.after_upgrade = after_upgrade  # written with the 101, in the same write
        self.silent_close = silent_close  # never answer the client's close frame, nor close TCP
        self.extra_headers = extra_headers  # header lines added to the 101
        self.clients: list[ClientLog] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/mqtt"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        log = ClientLog()
        self.clients.append(log)
        try:
            await self._serve(reader, writer, log)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            log.done.set()
            writer.close()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log: ClientLog
    ) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: "
            + accept
            + b"\r\nSec-WebSocket-Protocol: mqtt\r\n"
            + self.extra_headers
            + b"\r\n"
            + self.after_upgrade
        )
        parser = FrameParser(1 << 20)
        mqtt = PacketReader()
        scripted = False
        while data := await reader.read(65536):
            log.raw += data
            try:
                frames = parser.feed(data)
            except WebSocketViolation as exc:
                log.violation = str(exc)
                return
            for opcode, fin, payload in frames:
                log.frames.append((opcode, fin, payload))
                if opcode == 0x8 and not self.silent_close:
                    return  # the client's close: the server closes TCP first (RFC 6455 §7.1.1)
                if opcode in (0x0, 0x2) and log.connect is None:
                    items = mqtt.receive_data(payload)
                    if items and isinstance(items[0].packet, Connect):
                        log.connect = items[0].packet
            if log.connect is not None and not scripted:
                scripted = True
                for chunk in self.script:
                    writer.write(chunk)
                    await writer.drain()


@asynccontextmanager
async def scripted_server(
    script: list[bytes], after_upgrade: bytes = b"", *, silent_close: bool = False, extra_headers: bytes = b""
) -> AsyncIterator[ScriptedServer]:
    server = ScriptedServer(script, after_upgrade, silent_close=silent_close, extra_headers=extra_headers)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        await listener.wait_closed()
