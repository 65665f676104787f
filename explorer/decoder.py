"""ConnectionDecoder: both directions of one connection's bytes -> trace events.

What belongs here: turning the raw bytes of one TCP connection (from a socket we own or
from a capture) into the events a user sees, in order: the HTTP upgrade, every
WebSocket frame with the MQTT packet parts it carries, every MQTT packet, and an
``ErrorReported`` for everything that could not be decoded, at its stream offset. What
does not: sockets, timers, MQTT session behaviour (``explorer.session``), rendering.

Layers and offsets. Each direction is read as HTTP head, then WebSocket frames
(``explorer.ws.framing``), whose data payloads are concatenated into that direction's
MQTT byte stream and read by ``explorer.mqtt.reader.PacketReader``. An offset is always
counted in the stream of its layer: ``http`` errors from the first byte of the
connection, ``websocket`` frames and errors from the first byte after the HTTP head,
``mqtt`` packets and errors from the first byte of the MQTT stream.

Secrets. A CONNECT password never leaves this module: the ``PacketEvent`` carries the
packet and its bytes with the password replaced by ``*``, and so do the payloads of the
frames that carried it. Frames holding part of an unfinished CONNECT are therefore held
back until the packet completes (or the stream ends, when everything after the fixed
part of the variable header is starred). ``Authorization`` headers of the upgrade
request are starred too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import count
from typing import Final

from explorer.errors import HandshakeError, MalformedPacket
from explorer.events import (
    Direction,
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    PacketEvent,
    PacketPart,
    TraceEvent,
)
from explorer.mqtt.describe import mask_password
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connect
from explorer.mqtt.reader import PacketReader, ReadPacket
from explorer.ws.framing import (
    OP_BINARY,
    OP_CONTINUATION,
    OP_TEXT,
    FrameIndexer,
    FramingError,
    RawFrame,
)
from explorer.ws.handshake import (
    HandshakeCheck,
    HttpReader,
    HttpRequest,
    HttpResponse,
    check_handshake,
    check_request,
    mask_credentials,
)

__all__ = ["ConnectionDecoder"]

_CONNECT_FIRST_BYTE: Final = 0x10
_CONNECT_BYTE: Final = b"\x10"
_FEEDS_MQTT: Final = frozenset({OP_BINARY, OP_TEXT, OP_CONTINUATION})

# Stages of one direction.
_HTTP: Final = 0
_FRAMES: Final = 1
_MQTT: Final = 2  # native MQTT over TCP: no frames
_STOPPED: Final = 3


def _connect_keep(prefix: bytes) -> int:
    """How many leading bytes of a CONNECT that could not be decoded are safe to show.

    The fixed header and the variable header up to Keep Alive (MQTT 3.1.1 §3.1.2, 5.0
    §3.1.2) hold no secret; the payload may hold a password, so everything from the
    Client Identifier on is starred.
    """
    pos = 1
    while pos < len(prefix) and prefix[pos] & 0x80 and pos < 4:
        pos += 1
    pos += 1  # end of Remaining Length
    if pos + 2 > len(prefix):
        return min(pos, len(prefix))
    name_length = (prefix[pos] << 8) | prefix[pos + 1]
    return min(pos + 2 + name_length + 4, len(prefix))  # name, level, flags, keep alive


def _scrub_connect(raw: bytes) -> bytes:
    """A CONNECT's bytes with everything that may be secret starred (see ``_connect_keep``)."""
    keep = _connect_keep(raw)
    return raw[:keep] + b"*" * (len(raw) - keep)


class _Side:
    """The decoding state of one direction."""

    __slots__ = (
        "direction",
        "frame_index",
        "frames",
        "held",
        "held_packet",
        "http",
        "mqtt_dead",
        "mqtt_fed",
        "packet_no",
        "pending_chunks",
        "pending_frames",
        "reader",
        "release",
        "stage",
        "stop_reported",
        "text_reported",
    )

    def __init__(self, direction: Direction, stage: int, reader: PacketReader) -> None:
        self.direction: Direction = direction
        self.stage = stage
        self.http: HttpReader | None = (
            HttpReader("request" if direction == "c2s" else "response") if stage == _HTTP else None
        )
        self.frames = FrameIndexer(expect_masked=direction == "c2s")
        self.reader = reader
        self.frame_index = 0
        self.packet_no = 0  # number of the next packet to start
        self.mqtt_fed = 0  # bytes of MQTT stream fed to the reader
        self.mqtt_dead = False
        self.pending_frames: list[int] = []  # frames holding parts of the incomplete packet
        self.pending_chunks: list[bytes] = []  # the incomplete packet's bytes so far
        self.held: list[TraceEvent] | None = None  # events held back while a CONNECT is incomplete
        self.held_packet = -1  # packet_no of that CONNECT
        self.release = False  # the held events can go out after the current frame
        self.text_reported = False
        self.stop_reported = False


class ConnectionDecoder:
    """Sans-I/O decoder of one connection, both directions (DESIGN rule 4).

    Feed each direction's bytes as they come with :meth:`receive_data` and the end of a
    direction with :meth:`receive_eof`; collect events with :meth:`events_received`.

    Args:
        conn: connection number stamped on every event.
        websocket: ``True`` for MQTT over WebSocket (HTTP upgrade, then frames);
            ``False`` for MQTT straight over TCP.
        mqtt_version: the MQTT version when known in advance; otherwise it is learnt
            from the client's CONNECT and used for the server's packets too.
        next_seq: source of event sequence numbers (shared by the caller's other
            decoders); by default the decoder counts from 0 itself.
    """

    def __init__(
        self,
        conn: int = 0,
        *,
        websocket: bool = True,
        mqtt_version: ProtocolVersion | None = None,
        next_seq: Callable[[], int] | None = None,
    ) -> None:
        self.conn = conn
        self.websocket = websocket
        self._seq: Callable[[], int] = next_seq if next_seq is not None else count().__next__
        self._mqtt_version = mqtt_version
        stage = _HTTP if websocket else _MQTT
        self._c2s = _Side("c2s", stage, PacketReader(mqtt_version))
        self._s2c = _Side("s2c", stage, PacketReader(mqtt_version))
        self._events: list[TraceEvent] = []
        self._request: HttpRequest | None = None
        self._response: HttpResponse | None = None
        self._check: HandshakeCheck | None = None
        self._time = 0.0  # time of the bytes being decoded

    # Public API

    @property
    def negotiated_subprotocol(self) -> str | None:
        """The subprotocol the server chose in its 101 response, if any."""
        return self._response.subprotocol if self._response is not None else None

    @property
    def mqtt_version(self) -> ProtocolVersion | None:
        """The MQTT version given or learnt from the CONNECT (``None``: not yet known)."""
        return self._mqtt_version

    @property
    def handshake(self) -> HandshakeCheck | None:
        """The verdict on the upgrade, once the response has been read."""
        return self._check

    def events_received(self) -> list[TraceEvent]:
        """Events decoded so far, in order; the list is cleared."""
        events, self._events = self._events, []
        return events

    def receive_data(self, direction: Direction, data: bytes, time: float) -> None:
        """Decode bytes of one direction received at ``time``."""
        side = self._c2s if direction == "c2s" else self._s2c
        if not data:
            return
        self._time = time
        stage = side.stage
        if stage == _FRAMES:
            self._receive_frames(side, data, time)
        elif stage == _MQTT:
            self._feed_mqtt(side, data, -1, time)
        elif stage == _HTTP:
            self._receive_http(side, data, time)
        else:
            self._report_stopped(side, data, time)

    def receive_eof(self, direction: Direction, time: float) -> None:
        """The direction ended: report whatever was left incomplete."""
        side = self._c2s if direction == "c2s" else self._s2c
        self._time = time
        stage = side.stage
        if stage == _HTTP and side.http is not None:
            self._http_eof(side, time)
        elif stage == _FRAMES:
            frames = side.frames
            if frames.buffered:
                self._error(
                    side,
                    "websocket",
                    f"the stream ended inside a frame: {frames.buffered} of at least "
                    f"{frames.needed} bytes arrived",
                    frames.consumed,
                )
            elif frames.in_message is not None:
                self._error(
                    side,
                    "websocket",
                    "the stream ended inside a fragmented message (no final frame, RFC 6455 §5.4)",
                    frames.consumed,
                )
        if stage in (_FRAMES, _MQTT) and not side.mqtt_dead and side.reader.buffered:
            partial = b"".join(side.pending_chunks)
            if partial[:1] == _CONNECT_BYTE:
                partial = _scrub_connect(partial)
            self._error(
                side,
                "mqtt",
                f"the stream ended inside an MQTT packet: {side.reader.buffered} bytes of it arrived",
                side.reader.consumed,
                partial,
            )
        self._release_held(side, scrub=True)
        side.stage = _STOPPED
        side.stop_reported = True

    # HTTP upgrade

    def _receive_http(self, side: _Side, data: bytes, time: float) -> None:
        http = side.http
        assert http is not None
        try:
            message = http.receive_data(data)
        except HandshakeError as exc:
            hint = ""
            if data[:1] == _CONNECT_BYTE and side.direction == "c2s":
                hint = " (it looks like MQTT sent without a WebSocket upgrade)"
            self._error(side, "http", f"{exc.explanation}{hint}", 0, data[:64])
            side.stage = _STOPPED
            side.stop_reported = True
            return
        if message is not None:
            self._on_http_message(side, message, time)

    def _http_eof(self, side: _Side, time: float) -> None:
        http = side.http
        assert http is not None
        message = http.receive_eof()
        if message is not None:
            self._on_http_message(side, message, time)
        elif http.buffered:
            what = "request" if side.direction == "c2s" else "response"
            self._error(side, "http", f"the stream ended inside the HTTP upgrade {what}", 0, b"")

    def _on_http_message(self, side: _Side, message: HttpRequest | HttpResponse, time: float) -> None:
        http = side.http
        assert http is not None
        if isinstance(message, HttpRequest):
            raw = mask_credentials(message.raw)
            if raw != message.raw:
                message = replace(message, raw=raw, headers=_mask_header_values(message.headers))
            self._request = message
            self._events.append(
                HandshakeRequest(
                    self._seq(), time, self.conn, message.raw, message.method, message.target, message.headers
                )
            )
            for problem in check_request(message):
                self._error(side, "http", problem, 0)
            side.stage = _FRAMES
            side.frames.consumed = 0
        else:
            self._response = message
            check = self._check = check_handshake(self._request, message)
            self._events.append(
                HandshakeResponse(
                    self._seq(),
                    time,
                    self.conn,
                    message.raw,
                    message.status,
                    message.reason,
                    message.headers,
                    message.subprotocol,
                    message.header("Sec-WebSocket-Extensions"),
                )
            )
            for problem in check.problems:
                self._error(side, "http", problem, 0)
            if check.upgraded:
                deflate = any(
                    e.split(";")[0].strip().lower() == "permessage-deflate" for e in check.extensions
                )
                self._c2s.frames.rsv1_allowed = self._s2c.frames.rsv1_allowed = deflate
                side.stage = _FRAMES
            else:
                # A refused upgrade ends WebSocket decoding for the connection.
                side.stage = _STOPPED
                if self._c2s.stage == _FRAMES:
                    self._c2s.stage = _STOPPED
        side.http = None
        rest = http.rest
        if rest:
            self.receive_data(side.direction, rest, time)

    # WebSocket frames

    def _receive_frames(self, side: _Side, data: bytes, time: float) -> None:
        try:
            frames = side.frames.receive_data(data)
        except FramingError as exc:
            for frame in exc.frames:
                self._on_frame(side, frame, time)
            self._error(side, "websocket", exc.explanation, exc.offset)
            side.stage = _STOPPED
            side.stop_reported = True
            return
        on_frame = self._on_frame
        for frame in frames:
            on_frame(side, frame, time)

    def _on_frame(self, side: _Side, frame: RawFrame, time: float) -> None:
        index = side.frame_index
        side.frame_index = index + 1
        seq = self._seq()  # taken first: the frame event precedes what it carries
        payload = frame.payload
        parts: tuple[PacketPart, ...] = ()
        completed: tuple[int, ...] = ()
        after: list[TraceEvent] = []
        for problem in frame.problems:
            after.append(self._make_error(side, "websocket", problem, frame.stream_offset))
        opcode = frame.opcode
        if opcode in _FEEDS_MQTT and (frame.message_opcode is not None or opcode == OP_CONTINUATION):
            if opcode == OP_TEXT and not side.text_reported:
                side.text_reported = True
                after.append(
                    self._make_error(
                        side,
                        "websocket",
                        "MQTT sent in a text frame; it must use binary frames [MQTT-6.0.0-1] "
                        "(decoded anyway)",
                        frame.stream_offset,
                    )
                )
            if frame.rsv1 and side.frames.rsv1_allowed:
                after.append(
                    self._make_error(
                        side,
                        "websocket",
                        "compressed frame (permessage-deflate): its payload is not decoded as MQTT",
                        frame.stream_offset,
                    )
                )
            elif payload and not side.mqtt_dead:
                parts, completed, payload = self._feed_mqtt(side, payload, index, time, after)
        event = FrameEvent(
            seq,
            time,
            self.conn,
            side.direction,
            index,
            frame.stream_offset,
            frame.fin,
            frame.rsv1,
            frame.rsv2,
            frame.rsv3,
            opcode,
            frame.masked,
            frame.mask_key,
            frame.length_encoding,
            frame.payload_length,
            frame.header,
            payload,
            parts,
            completed,
            frame.close_code,
            frame.close_reason,
        )
        held = side.held
        if held is not None:
            held.append(event)
            held.extend(after)
            if side.release:
                self._release_held(side, scrub=False)
        else:
            events = self._events
            events.append(event)
            if after:
                events.extend(after)

    # MQTT

    def _feed_mqtt(
        self,
        side: _Side,
        data: bytes,
        index: int,
        time: float,
        after: list[TraceEvent] | None = None,
    ) -> tuple[tuple[PacketPart, ...], tuple[int, ...], bytes]:
        """Feed one frame's payload (``index`` >= 0) or one TCP chunk (``index`` -1).

        Returns the frame's parts, the packet numbers it completes, and its payload with
        any CONNECT password starred. Packet and error events go to ``after`` (frames)
        or straight out (native MQTT).
        """
        if after is None:
            after = self._events if side.held is None else side.held
        if side.mqtt_dead:
            return (), (), data
        reader = side.reader
        base = side.mqtt_fed
        size = len(data)
        side.mqtt_fed = base + size
        origin = base - reader.buffered  # start of the packet in progress before this chunk
        broken: MalformedPacket | None = None
        try:
            packets = reader.receive_data(data)
        except MalformedPacket as exc:
            broken = exc
            packets = self._recover_before_error(side, data, origin, reader.consumed)
        conn = self.conn
        direction = side.direction
        seq = self._seq
        framed = index >= 0
        parts: list[PacketPart] = []
        completed: list[int] = []
        for read in packets:
            no = side.packet_no
            side.packet_no = no + 1
            start = read.start
            end = read.end
            frames: tuple[int, ...]
            if not framed:
                frames = ()
            elif start >= base:
                frames = (index,)
                parts.append(PacketPart(no, "whole", start - base, end - base, 0, end - start))
                completed.append(no)
            else:
                frames = (*side.pending_frames, index)
                parts.append(PacketPart(no, "last", 0, end - base, base - start, end - start))
                completed.append(no)
            packet = read.packet
            raw = read.raw
            if packet is None:
                if raw[:1] == _CONNECT_BYTE:
                    raw = _scrub_connect(raw)
                    data = self._mask_in_frames(side, data, base, no, start=start, masked=raw)
                error = read.error
                after.append(
                    ErrorReported(
                        seq(),
                        time,
                        conn,
                        direction,
                        "mqtt",
                        f"{error.explanation}; the packet is skipped"
                        if error is not None
                        else "malformed packet",
                        error.offset if error is not None else start,
                        raw,
                    )
                )
                continue
            if type(packet) is Connect:
                if direction == "c2s":
                    self._learn_version(packet.protocol_version)
                if packet.password:
                    raw = mask_password(raw, packet)
                    packet = replace(packet, password=b"*" * len(packet.password))
                    data = self._mask_in_frames(side, data, base, no, start=start, masked=raw)
            after.append(PacketEvent(seq(), time, conn, direction, no, start, packet, raw, frames))
        if side.held is not None and side.held_packet in completed:
            side.release = True  # the held CONNECT is complete and masked
        if broken is not None:
            side.mqtt_dead = True
            stop = reader.consumed
            stream = b"".join(side.pending_chunks) + data if origin < base else data
            rest = stream[stop - origin :]
            if side.held is not None:
                # The CONNECT being held will never be decoded: star what may be secret.
                masked = _scrub_connect(stream)
                data = self._mask_in_frames(side, data, base, side.held_packet, start=origin, masked=masked)
                side.release = True
            if rest[:1] == _CONNECT_BYTE:
                rest = _scrub_connect(rest)
            after.append(
                ErrorReported(
                    seq(),
                    time,
                    conn,
                    direction,
                    "mqtt",
                    f"{broken.explanation}; the rest of this direction is not read as MQTT",
                    broken.offset,
                    rest[:64],
                )
            )
            side.pending_frames = []
            side.pending_chunks = []
        elif reader.buffered:
            start = reader.consumed
            no = side.packet_no
            if start >= base:
                if framed:
                    parts.append(PacketPart(no, "first", start - base, size, 0, base + size - start))
                side.pending_frames = [index]
                side.pending_chunks = [data[start - base :]]
                if framed and data[start - base] == _CONNECT_FIRST_BYTE:
                    # Hold this frame and the next ones until the CONNECT can be masked
                    # (events already held for a CONNECT completed here stay held).
                    if side.held is None:
                        side.held = []
                    side.held_packet = no
                    side.release = False
            else:
                if framed:
                    parts.append(PacketPart(no, "middle", 0, size, base - start, base + size - start))
                side.pending_frames.append(index)
                side.pending_chunks.append(data)
        elif side.pending_chunks:
            side.pending_frames = []
            side.pending_chunks = []
        return tuple(parts), tuple(completed), data

    def _learn_version(self, version: ProtocolVersion) -> None:
        """The client's CONNECT says how the server's packets are encoded too."""
        self._mqtt_version = version
        self._s2c.reader.version = version

    def _recover_before_error(self, side: _Side, data: bytes, origin: int, stop: int) -> list[ReadPacket]:
        """Packets completed in the same chunk before a broken fixed header.

        ``PacketReader`` raises without returning them, so they are read again from the
        bytes between the last packet boundary before the chunk (``origin``) and the
        broken header (``stop``).
        """
        if stop <= origin:
            return []
        stream = b"".join(side.pending_chunks) + data if side.pending_chunks else data
        packets = PacketReader(side.reader.version).receive_data(stream[: stop - origin])
        for read in packets:
            read.start += origin
            read.end += origin
        return packets

    # Secrets

    def _mask_in_frames(
        self, side: _Side, data: bytes, base: int, no: int, *, start: int, masked: bytes
    ) -> bytes:
        """Put the masked bytes of packet ``no`` (starting at stream offset ``start``) into
        the held frames and into the current frame's payload ``data`` (at ``base``)."""
        held = side.held
        if held is not None and side.held_packet == no:
            for event in held:
                if type(event) is FrameEvent:
                    event.payload = _overwrite(event.payload, event.parts, no, masked)
        lo = max(start, base)
        hi = min(start + len(masked), base + len(data))
        if lo < hi:
            data = data[: lo - base] + masked[lo - start : hi - start] + data[hi - base :]
        return data

    def _release_held(self, side: _Side, *, scrub: bool) -> None:
        """Send held events out; with ``scrub`` (the stream ended first), star the
        unfinished CONNECT's possibly secret bytes in them."""
        held = side.held
        if held is None:
            return
        if scrub and side.pending_chunks:
            masked = _scrub_connect(b"".join(side.pending_chunks))
            for event in held:
                if type(event) is FrameEvent:
                    event.payload = _overwrite(event.payload, event.parts, side.held_packet, masked)
        side.held = None
        side.held_packet = -1
        side.release = False
        for event in held:
            event.seq = self._seq()  # keep sequence numbers increasing in output order
        self._events.extend(held)

    # Errors

    def _make_error(
        self, side: _Side, layer: str, message: str, offset: int | None, data: bytes = b""
    ) -> ErrorReported:
        return ErrorReported(self._seq(), self._time, self.conn, side.direction, layer, message, offset, data)

    def _error(self, side: _Side, layer: str, message: str, offset: int | None, data: bytes = b"") -> None:
        event = self._make_error(side, layer, message, offset, data)
        if side.held is not None:
            side.held.append(event)
        else:
            self._events.append(event)

    def _report_stopped(self, side: _Side, data: bytes, time: float) -> None:
        """Bytes that arrive after decoding stopped are reported once, not dropped silently."""
        if side.stop_reported:
            return
        side.stop_reported = True
        why = (
            "after the refused upgrade"
            if self._check is not None and not self._check.upgraded
            else "after decoding stopped"
        )
        self._error(side, "websocket", f"{len(data)} bytes {why} are not decoded", None)


def _extension_name(extension: str) -> str:
    """``permessage-deflate`` from ``permessage-deflate; client_max_window_bits``."""
    return extension.split(";", maxsplit=1)[0].strip().lower()


def _skipped(error: MalformedPacket | None) -> str:
    if error is None:
        return "malformed packet; it is skipped"
    return f"{error.explanation}; the packet is skipped"


def _overwrite(payload: bytes, parts: tuple[PacketPart, ...], no: int, masked: bytes) -> bytes:
    """``payload`` with packet ``no``'s part replaced by the same span of ``masked``."""
    for part in parts:
        if part.packet_no == no:
            hi = min(part.packet_end, len(masked))
            if part.packet_start < hi:
                span = masked[part.packet_start : hi]
                payload = payload[: part.frame_start] + span + payload[part.frame_start + len(span) :]
    return payload


def _mask_header_values(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Headers with credentials starred (the raw bytes are starred by ``mask_credentials``)."""
    out = []
    for name, value in headers:
        if name.lower() in ("authorization", "proxy-authorization"):
            scheme, space, secret = value.partition(" ")
            value = f"{scheme} {'*' * len(secret)}" if space else "*" * len(value)
        out.append((name, value))
    return tuple(out)
