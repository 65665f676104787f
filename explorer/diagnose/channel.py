"""MQTT bytes over the probe's stream: raw (mqtt://) or inside WebSocket frames (ws://).

After the upgrade the probe needs to see every frame as it arrives (a text frame, a
compressed frame, a close code) and the MQTT packets inside binary frames. It reads them
as the live client does (``explorer.client.trace``): each byte the server sends is
parsed once, by the decoder's reader of one direction (``explorer.decoder.stream``:
the one frame reader ``explorer.ws.framing.FrameIndexer``, permessage-deflate inflated
there when the upgrade agreed it (RFC 7692), and the one MQTT reader), which lists the
server's packets and the frames a client acts on. This module turns those lists into
:class:`Incoming` values the walk can judge, and answers the frames as the live client
does (``explorer.client.websocket``): a ping gets a pong with its payload, the server's
close frame gets ours echoing its code, a text frame gets close code 1003, and a frame
that breaks RFC 6455 the close code the rules table (``explorer.ws.rules``) gives for
it; nothing the server sends after such a frame is read (RFC 6455 §1.4, §7.1.7). A walk
that got through ends with our close frame and waits for the server's (§7.1.2). Our
frames are built with ``explorer.ws.framing.build_frame``, each masked with a fresh key
(RFC 6455 §5.3), and never compressed (RFC 7692 §6: a message may go uncompressed).
Native MQTT (mqtt://) goes through the MQTT reader alone.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import ssl
from dataclasses import dataclass, field

from explorer.client.trace import MAX_MESSAGE
from explorer.client.websocket import CLOSE_TIMEOUT
from explorer.decoder.stream import DirectionDecoder, ServerFrame, StreamItem
from explorer.diagnose.transport import ProbeStream
from explorer.errors import MalformedPacket
from explorer.model.events import ErrorReported, FrameEvent, PacketEvent, TraceEvent
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.reader import PacketReader, ReadPacket
from explorer.ws.framing import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FramingError,
    RawFrame,
    build_frame,
)
from explorer.ws.rules import MAX_CLOSE_REASON, CloseCode, Violation

__all__ = ["Deflate", "Incoming", "MqttChannel"]

_HEAD_KEEP = 512  # enough to hold a short HTTP error page from the wrong kind of port
_FIRST_PAYLOAD = 32  # bytes of the first frame's payload kept for the diagnosis
_SHOWN_OPCODES = frozenset({OP_TEXT, OP_BINARY, OP_CLOSE})


@dataclass(frozen=True, slots=True)
class Deflate:
    """permessage-deflate as the upgrade agreed it (RFC 7692): the server's messages may
    be compressed; with ``server_no_context_takeover`` each starts a fresh window
    (RFC 7692 §7.1.1.1)."""

    server_no_context_takeover: bool = False


@dataclass(slots=True)
class Incoming:
    """What one read produced.

    ``packets`` are complete MQTT packets; ``closed`` says the stream ended (with the
    WebSocket close code and reason when a close frame came, 1005 for one without a
    code, RFC 6455 §7.1.5); ``ws_problem`` is a cause slug for a WebSocket-level fault
    (text frame, RSV1, framing error) and ``ws_error`` the rule broken in words;
    ``mqtt_error`` a malformed packet.
    """

    packets: list[ReadPacket] = field(default_factory=list)
    closed: bool = False
    close_code: int | None = None
    close_reason: str = ""
    ws_problem: str | None = None
    ws_error: str = ""
    mqtt_error: MalformedPacket | None = None


@dataclass(frozen=True, slots=True)
class _Stop:
    """The server frame at which reading ends, with what it calls for.

    ``offset`` is its place in the WebSocket stream, ``cut`` in the MQTT stream (packets
    ending after it are not read; ``None``: no packet follows it anyway); ``code`` and
    ``reason`` go in our close frame; ``problem``/``error`` fill :class:`Incoming`
    (``problem`` ``None``: the server's own close frame)."""

    offset: int
    cut: int | None
    code: int | None
    reason: str
    problem: str | None = None
    error: str = ""
    frame: RawFrame | None = None

    @property
    def broken(self) -> bool:
        """The frame broke a rule (RFC 6455, RFC 7692): it is not read at all."""
        return bool(self.error)


class MqttChannel:
    """Send MQTT packets and read what comes back, framed or not."""

    def __init__(
        self,
        stream: ProbeStream,
        version: ProtocolVersion,
        *,
        websocket: bool,
        initial: bytes = b"",
        deflate: Deflate | None = None,
    ) -> None:
        self.stream = stream
        self.websocket = websocket
        self.reader = PacketReader(version)
        self.first_bytes = bytearray()
        self.tls_error: ssl.SSLError | None = None
        self.first_frame_payload = b""
        self._initial = initial
        self._packets: list[StreamItem] = []
        self._frames: list[ServerFrame] = []
        self._decoder: DirectionDecoder | None = None
        self._ended: str | None = None  # why nothing more is read or sent (a close, a failure)
        if websocket:
            decoder = DirectionDecoder(
                0,
                "s2c",
                [],
                itertools.count().__next__,
                reader=self.reader,
                sink=self._packets,
                frame_sink=self._frames,
            )
            # As the live client: a frame above any MQTT packet is refused before it is
            # buffered (1009, RFC 6455 §7.4.1).
            decoder.frames.max_payload_size = MAX_MESSAGE
            if deflate is not None:
                decoder.use_deflate(no_context_takeover=deflate.server_no_context_takeover)
            self._decoder = decoder

    async def send(self, data: bytes) -> None:
        if self._decoder is None:
            await self.stream.send(data)
            return
        if self._ended is not None:
            # RFC 6455 §5.5.1: no data frame after our close frame.
            raise ConnectionResetError(self._ended)
        # A connection reset shows in the next read (the peer's close frame, or the end).
        await self._send_quietly(_frame(OP_BINARY, data))

    async def close(self) -> None:
        """End a WebSocket connection as the live client does (RFC 6455 §7.1.2): our close
        frame (1000), then the server's, or the end of the stream, within
        :data:`~explorer.client.websocket.CLOSE_TIMEOUT`. Nothing to do for native MQTT, or
        once the close frames were exchanged."""
        decoder = self._decoder
        if decoder is None or self._ended is not None:
            return
        self._ended = "the WebSocket connection is closed"
        await self._send_quietly(_frame(OP_CLOSE, _close_body(CloseCode.NORMAL, "")))
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                while data := await self.stream.recv():
                    decoder.receive_frames(data, 0.0)
                    decoder.events.clear()
                    self._packets.clear()
                    frames, self._frames[:] = list(self._frames), []
                    if any(
                        isinstance(frame, FramingError) or frame.opcode == OP_CLOSE for _at, frame in frames
                    ):
                        return  # the server's close frame, or no more frames to read
        except (TimeoutError, ConnectionError, OSError, ssl.SSLError):
            pass

    async def _send_quietly(self, data: bytes) -> None:
        if data:
            try:
                await self.stream.send(data)
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
        if self._decoder is None:
            return self._mqtt(data, closed=not data)
        incoming = Incoming(closed=not data)
        if data and self._ended is None:
            await self._send_quietly(self._read_frames(self._decoder, data, incoming))
        return incoming

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

    # ------------------------------------------------------------- WebSocket frames

    def _read_frames(self, decoder: DirectionDecoder, data: bytes, incoming: Incoming) -> bytes:
        """Feed ``data`` to the decoder, fill ``incoming`` with what it found up to the
        frame that ends reading, and return the frames to send in answer."""
        decoder.receive_frames(data, 0.0)
        events, decoder.events = decoder.events, []
        frames, packets = list(self._frames), list(self._packets)
        self._frames.clear()
        self._packets.clear()
        stop = _stop_at(frames, events)
        limit = stop.offset if stop is not None else None
        answer = [
            _frame(OP_PONG, frame.payload)  # RFC 6455 §5.5.3: the ping's payload
            for _at, frame in frames
            if isinstance(frame, RawFrame)
            and frame.opcode == OP_PING
            and (limit is None or frame.stream_offset < limit)
        ]
        self._first_payload(events, stop)
        cut = stop.cut if stop is not None else None
        for item in packets:
            end = item.stream_offset + len(item.raw) if isinstance(item, PacketEvent) else item.end
            if cut is not None and end > cut:
                break
            if isinstance(item, PacketEvent):
                incoming.packets.append(ReadPacket(item.stream_offset, end, item.packet, item.raw, None))
            else:
                incoming.mqtt_error = item.error or MalformedPacket(item.start, "malformed packet")
                break
        if stop is None:
            return b"".join(answer)
        if stop.problem is not None and (incoming.mqtt_error is None or stop.broken):
            # A broken frame is told even after a malformed packet in the same read; a
            # text frame or a close frame after it are not reached.
            incoming.ws_problem, incoming.ws_error = stop.problem, stop.error
        elif stop.problem is None and incoming.mqtt_error is None:
            frame = stop.frame
            assert frame is not None
            incoming.closed = True
            code = frame.close_code
            incoming.close_code = int(CloseCode.NO_STATUS) if code is None else code  # RFC 6455 §7.1.5
            incoming.close_reason = frame.close_reason or ""
        self._ended = (
            "the server closed the WebSocket"
            if stop.problem is None
            else f"the WebSocket connection was failed with close code {stop.code}"
        )
        answer.append(_frame(OP_CLOSE, _close_body(stop.code, stop.reason)))
        return b"".join(answer)

    def _first_payload(self, events: list[TraceEvent], stop: _Stop | None) -> None:
        """Keep the start of the first data or close frame read as sound (inflated when
        compressed), for the diagnosis to show."""
        if self.first_frame_payload:
            return
        for event in events:
            if type(event) is not FrameEvent or event.opcode not in _SHOWN_OPCODES:
                continue
            if stop is not None and (
                event.stream_offset > stop.offset or (event.stream_offset == stop.offset and stop.broken)
            ):
                return  # a frame that broke a rule, or one after the frame that ended reading
            if event.payload:
                self.first_frame_payload = bytes(event.payload[:_FIRST_PAYLOAD])
                return


def _stop_at(frames: list[ServerFrame], events: list[TraceEvent]) -> _Stop | None:
    """The first frame at which reading ends: a close frame, a text frame, a frame that
    breaks a rule (RFC 6455, RFC 7692), or the point where frames cannot be read."""
    stop: _Stop | None = None
    for at, frame in frames:
        if isinstance(frame, FramingError):
            error = frame.reason
            if frame.violation is Violation.TOO_BIG:
                error += ", larger than any MQTT packet (RFC 6455 §7.4.1: close code 1009)"
            stop = _Stop(frame.offset, at, frame.code, frame.reason, "ws-protocol-violation", error)
        elif frame.violations:
            problem = (
                "ws-compressed-without-negotiation"
                if frame.violations[0] is Violation.RESERVED_BITS
                else "ws-protocol-violation"
            )
            code = frame.answer or CloseCode.PROTOCOL_ERROR
            error = "; ".join(frame.problems)
            stop = _Stop(frame.stream_offset, at, code, frame.problems[0], problem, error, frame)
        elif frame.opcode == OP_TEXT:
            # [MQTT-6.0.0-1] MQTT Control Packets MUST be sent in WebSocket binary data frames.
            text = Violation.TEXT_FRAME
            stop = _Stop(frame.stream_offset, at, text.code, text.text(), "ws-text-frames", "", frame)
        elif frame.opcode == OP_CLOSE:
            # RFC 6455 §5.5.1: the answer echoes the server's code (none for an empty body)
            stop = _Stop(frame.stream_offset, at, frame.close_code, "", frame=frame)
        else:
            continue
        break
    # The decoder's own findings on a message it inflates (RFC 7692 §6.1: RSV1 on a
    # continuation frame; a payload that does not inflate) come as error events, on
    # frames before the one above (that one's own problems are in its ``problems``).
    for event in events:
        if type(event) is ErrorReported and event.layer == "websocket" and event.offset is not None:
            if stop is not None and event.offset >= stop.offset:
                continue  # that frame's own problems, or a frame after it
            cut = next(
                (
                    at
                    for at, frame in frames
                    if isinstance(frame, RawFrame) and frame.stream_offset == event.offset
                ),
                None,  # a whole compressed frame: nothing is read as MQTT after it anyway
            )
            error = event.message.split("; the rest of this direction", 1)[0]
            return _Stop(event.offset, cut, CloseCode.PROTOCOL_ERROR, error, "ws-protocol-violation", error)
    return stop


def _frame(opcode: int, payload: bytes) -> bytes:
    # RFC 6455 §5.3: every client frame is masked, with a fresh unpredictable key.
    return build_frame(opcode, payload, mask_key=os.urandom(4))


def _close_body(code: int | None, reason: str) -> bytes:
    """A Close frame's body (RFC 6455 §5.5.1): the code, and the reason cut to fit 125 bytes."""
    if code is None:
        return b""
    text = reason.encode()[:MAX_CLOSE_REASON].decode("utf-8", "ignore").encode()
    return int(code).to_bytes(2, "big") + text
