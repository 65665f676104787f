"""MQTT bytes over the probe's stream: raw (mqtt://) or inside WebSocket frames (ws://).

After the upgrade the probe needs to see every frame as it arrives (a text frame, a
compressed frame, a close code) and the MQTT packets inside binary frames. websockets'
Sans-I/O ``Protocol`` in state OPEN parses the frames and answers pings; this module
turns what it reports into :class:`Incoming` values the walk can judge.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field

from websockets.exceptions import ProtocolError
from websockets.extensions import Extension
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import CLIENT, OPEN, Protocol

from explorer.diagnose.transport import ProbeStream
from explorer.errors import MalformedPacket
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.reader import PacketReader, ReadPacket

__all__ = ["Incoming", "MqttChannel"]

_HEAD_KEEP = 512  # enough to hold a short HTTP error page from the wrong kind of port


@dataclass(slots=True)
class Incoming:
    """What one read produced.

    ``packets`` are complete MQTT packets; ``closed`` says the stream ended (with the
    WebSocket close code and reason when a close frame came); ``ws_problem`` is a cause
    slug for a WebSocket-level fault (text frame, RSV1, framing error);
    ``mqtt_error`` a malformed packet.
    """

    packets: list[ReadPacket] = field(default_factory=list)
    closed: bool = False
    close_code: int | None = None
    close_reason: str = ""
    ws_problem: str | None = None
    ws_error: str = ""
    mqtt_error: MalformedPacket | None = None


class MqttChannel:
    """Send MQTT packets and read what comes back, framed or not."""

    def __init__(
        self,
        stream: ProbeStream,
        version: ProtocolVersion,
        *,
        websocket: bool,
        initial: bytes = b"",
        extensions: Sequence[Extension] = (),
    ) -> None:
        self.stream = stream
        self.websocket = websocket
        self.reader = PacketReader(version)
        self.first_bytes = bytearray()
        self.tls_error: ssl.SSLError | None = None
        self.first_frame_payload = b""
        self._initial = initial
        self._ws: Protocol | None = Protocol(CLIENT, state=OPEN, max_size=None) if websocket else None
        if self._ws is not None:
            # Agreed in the handshake (permessage-deflate): frames are compressed both ways.
            self._ws.extensions = list(extensions)

    async def send(self, data: bytes) -> None:
        if self._ws is None:
            await self.stream.send(data)
            return
        self._ws.send_binary(data)
        await self._flush()

    async def _flush(self) -> None:
        assert self._ws is not None
        out = b"".join(self._ws.data_to_send())
        if out:
            try:
                await self.stream.send(out)
            except (ConnectionError, OSError, ssl.SSLError):
                pass

    async def receive(self, timeout: float) -> Incoming:
        """Wait up to ``timeout`` for bytes; raises :class:`TimeoutError` when none come."""
        if self._initial:
            data, self._initial = self._initial, b""
        else:
            try:
                data = await asyncio.wait_for(self.stream.recv(), timeout)
            except ssl.SSLError as exc:
                self.tls_error = exc  # a TLS alert after the handshake (e.g. certificate required)
                data = b""
            except ConnectionError:
                data = b""
        if len(self.first_bytes) < _HEAD_KEEP:
            self.first_bytes += data[: _HEAD_KEEP - len(self.first_bytes)]
        if self._ws is None:
            return self._mqtt(data, closed=not data)
        return await self._frames(data)

    def _mqtt(self, data: bytes, *, closed: bool) -> Incoming:
        incoming = Incoming(closed=closed)
        try:
            for read in self.reader.receive_data(data):
                if read.error is not None:
                    incoming.mqtt_error = read.error
                    break
                incoming.packets.append(read)
        except MalformedPacket as exc:
            incoming.mqtt_error = exc
        return incoming

    async def _frames(self, data: bytes) -> Incoming:
        ws = self._ws
        assert ws is not None
        if data:
            ws.receive_data(data)
        else:
            ws.receive_eof()
        incoming = Incoming(closed=not data)
        for event in ws.events_received():
            if not isinstance(event, Frame):
                continue
            self._frame(event, incoming)
            if incoming.ws_problem or incoming.closed or incoming.mqtt_error:
                break
        exc = ws.parser_exc
        if isinstance(exc, EOFError):
            exc = None  # the peer hung up without a close frame: ``closed`` says it
        if exc is not None and incoming.ws_problem is None and incoming.close_code is None:
            incoming.ws_error = str(exc)
            if isinstance(exc, ProtocolError) and "reserved bits" in str(exc):
                incoming.ws_problem = "ws-compressed-without-negotiation"
            else:
                incoming.ws_problem = "ws-protocol-violation"
        await self._flush()
        return incoming

    def _frame(self, frame: Frame, incoming: Incoming) -> None:
        if not self.first_frame_payload and frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CLOSE):
            self.first_frame_payload = bytes(frame.data[:32])
        if frame.opcode is Opcode.TEXT:
            # [MQTT-6.0.0-1] MQTT Control Packets MUST be sent in WebSocket binary data frames.
            incoming.ws_problem = "ws-text-frames"
        elif frame.opcode in (Opcode.BINARY, Opcode.CONT):
            found = self._mqtt(bytes(frame.data), closed=False)
            incoming.packets.extend(found.packets)
            incoming.mqtt_error = found.mqtt_error
        elif frame.opcode is Opcode.CLOSE:
            incoming.closed = True
            if frame.data:
                close = Close.parse(frame.data)
                incoming.close_code, incoming.close_reason = close.code, close.reason
            else:
                incoming.close_code = 1005  # RFC 6455 §7.1.5: no status code present
