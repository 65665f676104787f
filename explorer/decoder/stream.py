"""One direction of a connection after the HTTP upgrade: frames and MQTT packets.

What belongs here: reading a direction's WebSocket frames (or, for native MQTT, its TCP
bytes), feeding the data payloads through a ``PacketReader``, computing each frame's
packet parts, starring CONNECT passwords, and reporting everything undecodable at its
stream offset. What does not: HTTP (``explorer.decoder.connection``), sockets.

Speed. A connection carrying a firehose is mostly whole binary frames that each hold
one QoS 0 PUBLISH. :meth:`DirectionDecoder.receive_frames` reads such frames in one
inline loop (header, unmask, PUBLISH fields, events) without building the intermediate
``RawFrame`` and ``ReadPacket`` objects; the first frame that is anything else (or any
packet that is not that simple) hands over to the general path built on ``FrameIndexer``
and ``PacketReader``, which decodes exactly the same way. Bytes that bypass the reader
are counted in ``_skew`` so that its offsets stay true.

Secrets. Frames that carry part of an unfinished CONNECT are held back (``_held``)
until the packet completes and its password can be starred in their payloads too; if
the stream ends or breaks first, everything after the CONNECT's Keep Alive is starred.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from typing import Final

from explorer.decoder.secrets import CONNECT_BYTE, overwrite_part, scrub_connect
from explorer.errors import MalformedPacket
from explorer.events import Direction, ErrorReported, FrameEvent, PacketEvent, PacketPart, TraceEvent
from explorer.mqtt.describe import mask_password
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import NO_PROPERTIES, Connect, Publish
from explorer.mqtt.reader import PacketReader, ReadPacket
from explorer.ws.framing import OP_BINARY, OP_CONTINUATION, OP_TEXT, FrameIndexer, FramingError, RawFrame

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C extension is missing on some platforms
    from websockets.utils import apply_mask

__all__ = ["DirectionDecoder"]

_CONNECT_FIRST_BYTE: Final = 0x10
_FEEDS_MQTT: Final = frozenset({OP_TEXT, OP_BINARY, OP_CONTINUATION})
_QOS0_PUBLISH: Final = frozenset({0x30, 0x31})  # PUBLISH, QoS 0, no DUP, RETAIN 0/1
_FAST_FIRST_BYTE: Final = 0x82

# The fast path sets these fields one by one; if a class gains or loses a field it is
# switched off (everything then takes the general path) rather than build a half event.
_FAST_FIELDS: Final = (
    tuple(f.name for f in fields(FrameEvent))
    == (
        "seq",
        "time",
        "conn",
        "direction",
        "index",
        "stream_offset",
        "fin",
        "rsv1",
        "rsv2",
        "rsv3",
        "opcode",
        "masked",
        "mask_key",
        "length_encoding",
        "payload_length",
        "header",
        "payload",
        "parts",
        "completed",
        "close_code",
        "close_reason",
    )
    and tuple(f.name for f in fields(PacketEvent))
    == ("seq", "time", "conn", "direction", "packet_no", "stream_offset", "packet", "raw", "frames")
    and tuple(f.name for f in fields(PacketPart))
    == ("packet_no", "role", "frame_start", "frame_end", "packet_start", "packet_end")
    and tuple(f.name for f in fields(Publish))
    == ("topic", "payload", "qos", "retain", "dup", "packet_id", "properties")
)  # FIN, no RSV, binary (RFC 6455 §5.2)


class DirectionDecoder:
    """Frames (or native MQTT bytes) of one direction -> events on a shared list.

    Args:
        conn: connection number for the events.
        direction: ``"c2s"`` (frames must be masked) or ``"s2c"``.
        events: the list events are appended to (the owner swaps it when collected).
        seq: the owner's sequence-number source.
        reader: this direction's MQTT reader.
        on_connect: called with the version of each CONNECT decoded here.
    """

    def __init__(
        self,
        conn: int,
        direction: Direction,
        events: list[TraceEvent],
        seq: Callable[[], int],
        *,
        reader: PacketReader,
        on_connect: Callable[[ProtocolVersion], None] | None = None,
    ) -> None:
        self.conn = conn
        self.direction: Direction = direction
        self.events = events
        self.seq = seq
        self.reader = reader
        self.on_connect = on_connect
        self.frames = FrameIndexer(expect_masked=direction == "c2s")
        self.frame_index = 0
        self.packet_no = 0  # number of the next packet to start
        self.mqtt_fed = 0  # bytes of MQTT stream seen
        self.mqtt_dead = False
        self.stopped = False
        self.time = 0.0
        self._skew = 0  # MQTT bytes decoded by the fast path, unseen by the reader
        self._tail = b""  # incomplete frame left by the fast path
        self._pending_frames: list[int] = []  # frames holding parts of the incomplete packet
        self._pending_chunks: list[bytes] = []  # the incomplete packet's bytes so far
        self._held: list[TraceEvent] | None = None  # events held while a CONNECT is incomplete
        self._held_packet = -1
        self._release = False
        self._text_reported = False
        # Topic Name bytes (with their length prefix) and text of the last fast PUBLISH.
        self._last_topic: tuple[bytes, str] = (b"\xff\xff\xff", "")

    # Errors

    def make_error(self, layer: str, message: str, offset: int | None, data: bytes = b"") -> ErrorReported:
        return ErrorReported(self.seq(), self.time, self.conn, self.direction, layer, message, offset, data)

    def error(self, layer: str, message: str, offset: int | None, data: bytes = b"") -> None:
        """Report a problem in this direction (held back with a pending CONNECT's frames)."""
        event = self.make_error(layer, message, offset, data)
        if self._held is not None:
            self._held.append(event)
        else:
            self.events.append(event)

    # Frames

    def receive_frames(self, data: bytes, time: float) -> None:
        """Decode WebSocket bytes (after the HTTP upgrade) received at ``time``."""
        self.time = time
        if self.stopped:
            return
        frames = self.frames
        if (
            frames.buffered
            or frames.in_message is not None
            or frames.closed
            or self._held is not None
            or not _FAST_FIELDS
        ):
            self._general(data, time)
            return
        if self._tail:
            data = self._tail + data
            self._tail = b""
        pos = self._fast(data, time)
        if pos < len(data):
            self._general(data[pos:] if pos else data, time)

    def _general(self, data: bytes, time: float) -> None:
        """Frames through ``FrameIndexer``: every frame, every problem."""
        try:
            raw_frames = self.frames.receive_data(data)
        except FramingError as exc:
            for frame in exc.frames:
                self._on_frame(frame, time)
            self.error("websocket", exc.explanation, exc.offset)
            self.stopped = True
            return
        for frame in raw_frames:
            self._on_frame(frame, time)

    def _fast(self, data: bytes, time: float) -> int:
        """Read whole, simple binary frames inline; return where the general path must
        take over (``len(data)`` when all was read, the incomplete tail kept)."""
        masked = self.direction == "c2s"
        mask_bit = 0x80 if masked else 0
        hlen = 6 if masked else 2
        reader = self.reader
        level = 4 if reader.version is None else int(reader.version)
        append = self.events.append
        seq = self.seq
        conn = self.conn
        direction = self.direction
        end = len(data)
        pos = 0
        offset = self.frames.consumed
        index = self.frame_index
        fed = self.mqtt_fed
        no = self.packet_no
        skew = self._skew
        idle = not reader.buffered and not self.mqtt_dead  # the reader holds nothing
        last_name, last_topic = self._last_topic
        new = object.__new__
        while True:
            if end - pos < 2:
                self._tail = data[pos:]
                pos = end
                break
            b1 = data[pos + 1]
            if data[pos] != _FAST_FIRST_BYTE or b1 & 0x80 != mask_bit or b1 & 0x7F > 125:
                break
            length = b1 & 0x7F
            total = hlen + length
            if end - pos < total:
                self._tail = data[pos:]
                pos = end
                break
            mask_key: bytes | None = None
            if masked:
                key = data[pos + 2 : pos + 6]
                mask_key = key
                payload = apply_mask(data[pos + 6 : pos + total], key)
            else:
                payload = data[pos + 2 : pos + total]
            packet: Publish | None = None
            body: bytes | None
            # One QoS 0 PUBLISH filling the whole payload, Remaining Length in one byte,
            # nothing the reader still holds: decoded here (the same checks as
            # PacketReader's own fast path; anything else goes through the reader).
            if idle and length >= 4 and payload[1] == length - 2:
                first = payload[0]
                if first in _QOS0_PUBLISH:
                    if payload.startswith(last_name, 2):
                        # Same Topic Name (length included) as the previous PUBLISH.
                        te = 2 + len(last_name)
                        topic = last_topic
                    else:
                        te = 4 + ((payload[2] << 8) | payload[3])
                        topic = ""
                        if te <= length:
                            try:
                                topic = payload[4:te].decode()
                            except UnicodeDecodeError:
                                topic = ""
                            if "\x00" in topic:
                                topic = ""  # [MQTT-4.7.3-2]: the reader reports it
                            if topic:
                                last_name = payload[2:te]
                                last_topic = topic
                    if topic:
                        if level != 5:
                            body = payload[te:]
                        elif te < length and payload[te] == 0:
                            body = payload[te + 1 :]  # no properties
                        else:
                            body = None
                        if body is not None:
                            # Events built without calling __init__ (about twice as fast
                            # for slots dataclasses); every field is set, and _FAST_FIELDS
                            # turns this path off if the event classes gain a field.
                            packet = new(Publish)
                            packet.topic = topic
                            packet.payload = body
                            packet.qos = 0
                            packet.retain = first == 0x31
                            packet.dup = False
                            packet.packet_id = None
                            packet.properties = NO_PROPERTIES
            if packet is not None:
                part = new(PacketPart)
                part.packet_no = no
                part.role = "whole"
                part.frame_start = 0
                part.frame_end = length
                part.packet_start = 0
                part.packet_end = length
                frame = new(FrameEvent)
                frame.seq = seq()
                frame.time = time
                frame.conn = conn
                frame.direction = direction
                frame.index = index
                frame.stream_offset = offset
                frame.fin = True
                frame.rsv1 = False
                frame.rsv2 = False
                frame.rsv3 = False
                frame.opcode = OP_BINARY
                frame.masked = masked
                frame.mask_key = mask_key
                frame.length_encoding = "7bit"
                frame.payload_length = length
                frame.header = data[pos : pos + hlen]
                frame.payload = payload
                frame.parts = (part,)
                frame.completed = (no,)
                frame.close_code = None
                frame.close_reason = None
                append(frame)
                decoded = new(PacketEvent)
                decoded.seq = seq()
                decoded.time = time
                decoded.conn = conn
                decoded.direction = direction
                decoded.packet_no = no
                decoded.stream_offset = fed
                decoded.packet = packet
                decoded.raw = payload
                decoded.frames = (index,)
                append(decoded)
                no += 1
                fed += length
                skew += length
            else:
                # A simple frame whose payload needs the reader (or is empty).
                self.frame_index, self.mqtt_fed, self.packet_no, self._skew = index, fed, no, skew
                frame_seq = seq()
                after: list[TraceEvent] = []
                parts: tuple[PacketPart, ...] = ()
                completed: tuple[int, ...] = ()
                if length and not self.mqtt_dead:
                    parts, completed, payload = self._feed_mqtt(payload, index, time, after)
                event = FrameEvent(
                    frame_seq,
                    time,
                    conn,
                    direction,
                    index,
                    offset,
                    True,
                    False,
                    False,
                    False,
                    OP_BINARY,
                    masked,
                    mask_key,
                    "7bit",
                    length,
                    data[pos : pos + hlen],
                    payload,
                    parts,
                    completed,
                )
                fed, no = self.mqtt_fed, self.packet_no
                idle = not reader.buffered and not self.mqtt_dead
                level = 4 if reader.version is None else int(reader.version)
                if self._held is not None:
                    self._held.append(event)
                    self._held.extend(after)
                    if self._release:
                        self._release_held(scrub=False)
                    else:
                        # Held frames go through the general path until the CONNECT is done.
                        index += 1
                        offset += total
                        pos += total
                        break
                else:
                    append(event)
                    self.events.extend(after)
            index += 1
            offset += total
            pos += total
        self.frames.consumed = offset
        self.frame_index = index
        self.mqtt_fed = fed
        self.packet_no = no
        self._skew = skew
        self._last_topic = (last_name, last_topic)
        return pos

    def _on_frame(self, frame: RawFrame, time: float) -> None:
        """Events for one frame from the general path."""
        index = self.frame_index
        self.frame_index = index + 1
        frame_seq = self.seq()  # taken first: the frame event precedes what it carries
        payload = frame.payload
        parts: tuple[PacketPart, ...] = ()
        completed: tuple[int, ...] = ()
        after: list[TraceEvent] = []
        offset = frame.stream_offset
        for problem in frame.problems:
            after.append(self.make_error("websocket", problem, offset))
        opcode = frame.opcode
        if opcode in _FEEDS_MQTT and (frame.message_opcode is not None or opcode == OP_CONTINUATION):
            if opcode == OP_TEXT and not self._text_reported:
                self._text_reported = True
                after.append(
                    self.make_error(
                        "websocket",
                        "MQTT sent in a text frame; it must use binary frames [MQTT-6.0.0-1] "
                        "(decoded anyway)",
                        offset,
                    )
                )
            if frame.rsv1 and self.frames.rsv1_allowed:
                after.append(
                    self.make_error(
                        "websocket",
                        "compressed frame (permessage-deflate): its payload is not decoded as MQTT",
                        offset,
                    )
                )
            elif payload and not self.mqtt_dead:
                parts, completed, payload = self._feed_mqtt(payload, index, time, after)
        event = FrameEvent(
            frame_seq,
            time,
            self.conn,
            self.direction,
            index,
            offset,
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
        held = self._held
        if held is not None:
            held.append(event)
            held.extend(after)
            if self._release:
                self._release_held(scrub=False)
        else:
            self.events.append(event)
            if after:
                self.events.extend(after)

    # MQTT

    def receive_mqtt(self, data: bytes, time: float) -> None:
        """Decode native MQTT bytes (no WebSocket) received at ``time``."""
        self.time = time
        if not self.mqtt_dead:
            self._feed_mqtt(data, -1, time, self.events)

    def _feed_mqtt(
        self, data: bytes, index: int, time: float, after: list[TraceEvent]
    ) -> tuple[tuple[PacketPart, ...], tuple[int, ...], bytes]:
        """Feed one frame's payload (``index`` >= 0) or one TCP chunk (``index`` -1).

        Returns the frame's parts, the packet numbers it completes, and the payload with
        any CONNECT password starred; packet and error events go to ``after``.
        """
        reader = self.reader
        skew = self._skew
        base = self.mqtt_fed
        size = len(data)
        self.mqtt_fed = base + size
        origin = base - reader.buffered  # start of the packet in progress before this chunk
        broken: MalformedPacket | None = None
        try:
            packets = reader.receive_data(data)
        except MalformedPacket as exc:
            broken = exc
            packets = self._recover_before_error(data, origin, reader.consumed + skew)
        else:
            if reader.broken:
                # The packets before the broken header came back; its error is taken
                # now (the reader would raise it on the next call, never made).
                broken = reader.error
        conn = self.conn
        direction = self.direction
        seq = self.seq
        framed = index >= 0
        parts: list[PacketPart] = []
        completed: list[int] = []
        for read in packets:
            no = self.packet_no
            self.packet_no = no + 1
            start = read.start + skew
            end = read.end + skew
            frames: tuple[int, ...]
            if not framed:
                frames = ()
            elif start >= base:
                frames = (index,)
                parts.append(PacketPart(no, "whole", start - base, end - base, 0, end - start))
                completed.append(no)
            else:
                frames = (*self._pending_frames, index)
                parts.append(PacketPart(no, "last", 0, end - base, base - start, end - start))
                completed.append(no)
            packet = read.packet
            raw = read.raw
            if packet is None:
                if raw[:1] == CONNECT_BYTE:
                    raw = scrub_connect(raw)
                    data = self._mask_in_frames(data, base, no, start=start, masked=raw)
                error = read.error
                message = "malformed packet" if error is None else error.explanation
                after.append(
                    ErrorReported(
                        seq(),
                        time,
                        conn,
                        direction,
                        "mqtt",
                        f"{message}; the packet is skipped",
                        start if error is None else error.offset + skew,
                        raw,
                    )
                )
                continue
            if type(packet) is Connect:
                if self.on_connect is not None:
                    self.on_connect(packet.protocol_version)
                if packet.password:
                    raw = mask_password(raw, packet)
                    packet = replace(packet, password=b"*" * len(packet.password))
                    data = self._mask_in_frames(data, base, no, start=start, masked=raw)
            after.append(PacketEvent(seq(), time, conn, direction, no, start, packet, raw, frames))
        if self._held is not None and self._held_packet in completed:
            self._release = True  # the held CONNECT is complete and masked
        if broken is not None:
            self.mqtt_dead = True
            stop = reader.consumed + skew
            stream = b"".join(self._pending_chunks) + data if origin < base else data
            rest = stream[stop - origin :]
            if self._held is not None:
                # The held CONNECT will never be decoded: star what may be secret.
                masked = scrub_connect(stream)
                data = self._mask_in_frames(data, base, self._held_packet, start=origin, masked=masked)
                self._release = True
            if rest[:1] == CONNECT_BYTE:
                rest = scrub_connect(rest)
            after.append(
                ErrorReported(
                    seq(),
                    time,
                    conn,
                    direction,
                    "mqtt",
                    f"{broken.explanation}; the rest of this direction is not read as MQTT",
                    broken.offset + skew,
                    rest[:64],
                )
            )
            self._pending_frames = []
            self._pending_chunks = []
        elif reader.buffered:
            start = reader.consumed + skew
            no = self.packet_no
            if start >= base:
                if framed:
                    parts.append(PacketPart(no, "first", start - base, size, 0, base + size - start))
                self._pending_frames = [index]
                self._pending_chunks = [data[start - base :]]
                if framed and data[start - base] == _CONNECT_FIRST_BYTE:
                    # Hold this frame and the next ones until the CONNECT can be masked
                    # (events already held for a CONNECT completed here stay held).
                    if self._held is None:
                        self._held = []
                    self._held_packet = no
                    self._release = False
            else:
                if framed:
                    parts.append(PacketPart(no, "middle", 0, size, base - start, base + size - start))
                self._pending_frames.append(index)
                self._pending_chunks.append(data)
        elif self._pending_chunks:
            self._pending_frames = []
            self._pending_chunks = []
        return tuple(parts), tuple(completed), data

    def _recover_before_error(self, data: bytes, origin: int, stop: int) -> list[ReadPacket]:
        """Packets completed in the same chunk before a broken fixed header, when the
        reader raised at once instead of returning them first.

        They are read again from the bytes between the last packet boundary before the
        chunk (``origin``) and the broken header (``stop``); their offsets are given in
        the reader's terms.
        """
        if stop <= origin:
            return []
        stream = b"".join(self._pending_chunks) + data if self._pending_chunks else data
        packets = PacketReader(self.reader.version).receive_data(stream[: stop - origin])
        for read in packets:
            read.start += origin - self._skew
            read.end += origin - self._skew
        return packets

    # End of stream

    def receive_eof(self, time: float, *, framed: bool) -> None:
        """The direction ended: report a truncated frame, message or packet."""
        self.time = time
        if framed and not self.stopped:
            frames = self.frames
            if self._tail:
                self.error(
                    "websocket",
                    f"the stream ended inside a frame: {len(self._tail)} bytes of it arrived",
                    frames.consumed,
                )
            elif frames.buffered:
                self.error(
                    "websocket",
                    f"the stream ended inside a frame: {frames.buffered} of at least "
                    f"{frames.needed} bytes arrived",
                    frames.consumed,
                )
            elif frames.in_message is not None:
                self.error(
                    "websocket",
                    "the stream ended inside a fragmented message (no final frame, RFC 6455 §5.4)",
                    frames.consumed,
                )
        reader = self.reader
        if not self.mqtt_dead and reader.buffered:
            partial = b"".join(self._pending_chunks)
            if partial[:1] == CONNECT_BYTE:
                partial = scrub_connect(partial)
            self.error(
                "mqtt",
                f"the stream ended inside an MQTT packet: {reader.buffered} bytes of it arrived",
                reader.consumed + self._skew,
                partial,
            )
        self._release_held(scrub=True)
        self.stopped = True

    # Secrets

    def _mask_in_frames(self, data: bytes, base: int, no: int, *, start: int, masked: bytes) -> bytes:
        """Put the masked bytes of packet ``no`` (starting at stream offset ``start``) into
        the held frames and into the current payload ``data`` (at offset ``base``)."""
        held = self._held
        if held is not None and self._held_packet == no:
            for event in held:
                if type(event) is FrameEvent:
                    event.payload = overwrite_part(event.payload, event.parts, no, masked)
        lo = max(start, base)
        hi = min(start + len(masked), base + len(data))
        if lo < hi:
            data = data[: lo - base] + masked[lo - start : hi - start] + data[hi - base :]
        return data

    def _release_held(self, *, scrub: bool) -> None:
        """Send held events out; with ``scrub`` (the stream ended first), star the
        unfinished CONNECT's possibly secret bytes in them."""
        held = self._held
        if held is None:
            return
        if scrub and self._pending_chunks:
            masked = scrub_connect(b"".join(self._pending_chunks))
            for event in held:
                if type(event) is FrameEvent:
                    event.payload = overwrite_part(event.payload, event.parts, self._held_packet, masked)
        self._held = None
        self._held_packet = -1
        self._release = False
        for event in held:
            event.seq = self.seq()  # keep sequence numbers increasing in output order
        self.events.extend(held)
