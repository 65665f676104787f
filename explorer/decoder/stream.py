"""One direction of a connection after the HTTP upgrade: frames and MQTT packets.

What belongs here: reading a direction's WebSocket frames (or, for native MQTT, its TCP
bytes), feeding the data payloads through a ``PacketReader``, computing each frame's
packet parts, starring CONNECT passwords, and reporting everything undecodable at its
stream offset. What does not: HTTP (``explorer.decoder.connection``), sockets.

Frames come from one reader, the direction's ``FrameIndexer``; the loop over them is
``explorer.decoder.fastpath.read_frames``. Speed: a connection carrying a firehose is
mostly whole binary frames that each hold one QoS 0 PUBLISH; that loop reads those with
the one QoS 0 PUBLISH fast path (``explorer.mqtt.reader.qos0_publish``) and builds their
events directly. Every other frame goes through :meth:`DirectionDecoder._on_frame` and
every other packet through the ``PacketReader``, the general path, which decodes the
same way. Bytes that bypass the reader are counted in ``skew`` so that its offsets stay
true.

Secrets. Frames that carry part of an unfinished CONNECT are held back (``held``)
until the packet completes and its password can be starred in their payloads too; if
the stream ends or breaks first, everything after the CONNECT's Keep Alive is starred.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import replace
from typing import Final

from explorer.decoder.fastpath import read_frames
from explorer.errors import MalformedPacket, PacketTooLarge
from explorer.masking import (
    is_connect_start,
    mask_password,
    masked_bytes,
    overwrite_part,
    scrub_connect,
)
from explorer.model.events import Direction, ErrorReported, FrameEvent, PacketEvent, PacketPart, TraceEvent
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connect
from explorer.mqtt.reader import PacketReader, ReadPacket
from explorer.ws.framing import OP_BINARY, OP_CONTINUATION, OP_TEXT, FrameIndexer, FramingError, RawFrame

__all__ = ["DirectionDecoder", "ServerFrame", "StreamItem"]

StreamItem = PacketEvent | ReadPacket
"""What a sink receives, in wire order: each decoded packet's ``PacketEvent``, or a
``ReadPacket`` whose ``error`` says why the bytes from ``start`` are no packet (a
malformed body spanning ``start..end``, or a broken stream: ``raw`` empty, ``end`` the
bytes decoded so far). Offsets are this direction's MQTT stream offsets."""

ServerFrame = tuple[int, RawFrame | FramingError]
"""What a frame sink receives, in wire order: a frame that is not a whole binary frame
(a control or text frame, a fragment, reserved opcodes, any frame with ``problems``), or the
``FramingError`` that stopped the frames, each with the offset in this direction's MQTT
stream at which it came (every packet ending at or before it was sent before it)."""

_MAX_INFLATED: Final = 16 * 1024 * 1024  # per frame: a guard against decompression bombs
_FEEDS_MQTT: Final = frozenset({OP_TEXT, OP_BINARY, OP_CONTINUATION})


class DirectionDecoder:
    """Frames (or native MQTT bytes) of one direction -> events on a shared list.

    Args:
        conn: connection number for the events.
        direction: ``"c2s"`` (frames must be masked) or ``"s2c"``.
        events: the list events are appended to (the owner swaps it when collected).
        seq: the owner's sequence-number source.
        reader: this direction's MQTT reader.
        on_connect: called with the version of each CONNECT decoded here.
        sink: also receives every packet and MQTT error of this direction (``StreamItem``),
            for a client session that takes its packets from the trace.
        frame_sink: receives the frames a client transport acts on (``ServerFrame``:
            pings, close, text frames, fragments, broken frames); whole binary frames
            never reach it.
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
        sink: list[StreamItem] | None = None,
        frame_sink: list[ServerFrame] | None = None,
    ) -> None:
        self.conn = conn
        self.direction: Direction = direction
        self.events = events
        self.seq = seq
        self.reader = reader
        self.on_connect = on_connect
        self.sink = sink
        self.frame_sink = frame_sink
        self.compact = False  # simple PUBLISH frames as FastPublish records (explorer.decoder.fastpath)
        self.frames = FrameIndexer(expect_masked=direction == "c2s")
        self.frame_index = 0
        self.packet_no = 0  # number of the next packet to start
        self.mqtt_fed = 0  # bytes of MQTT stream seen
        self.mqtt_dead = False
        self.stopped = False
        self.time = 0.0
        self.skew = 0  # MQTT bytes decoded by the fast path, unseen by the reader
        self._pending_frames: list[int] = []  # frames holding parts of the incomplete packet
        self._pending_chunks: list[bytes] = []  # the incomplete packet's bytes so far
        self.held: list[TraceEvent] | None = None  # events held while a CONNECT is incomplete
        self.held_packet = -1  # packet_no of that CONNECT
        self.release = False  # the held events go out after the current frame
        self._text_reported = False
        self.inflater: zlib._Decompress | None = None  # set once permessage-deflate is negotiated
        self._no_context_takeover = False
        self._compressed = False  # the current message is compressed

    # Errors

    def make_error(self, layer: str, message: str, offset: int | None, data: bytes = b"") -> ErrorReported:
        return ErrorReported(self.seq(), self.time, self.conn, self.direction, layer, message, offset, data)

    def error(self, layer: str, message: str, offset: int | None, data: bytes = b"") -> None:
        """Report a problem in this direction (held back with a pending CONNECT's frames)."""
        event = self.make_error(layer, message, offset, data)
        if self.held is not None:
            self.held.append(event)
        else:
            self.events.append(event)

    # Frames

    def receive_frames(self, data: bytes, time: float) -> None:
        """Decode WebSocket bytes (after the HTTP upgrade) received at ``time``."""
        self.time = time
        if not self.stopped:
            read_frames(self, data, time)

    def receive_frames_batch(self, reads: list[tuple[bytes, float]]) -> None:
        """Like :meth:`receive_frames` for each ``(data, time)`` in turn, in one pass
        (the same events)."""
        if len(reads) == 1 or self.stopped:
            for data, time in reads:
                self.receive_frames(data, time)
            return
        frames = self.frames
        size = frames.consumed + frames.buffered  # stream offset of the first byte given
        ends: list[int] = []
        times: list[float] = []
        for data, time in reads:
            size += len(data)
            ends.append(size)
            times.append(time)
        self.time = times[-1]
        read_frames(self, b"".join([data for data, _time in reads]), times[-1], ends, times)

    def _on_frame(self, frame: RawFrame, time: float) -> None:
        """Events for one frame that is not a plain one (``explorer.decoder.fastpath``
        reads those), from the general path."""
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
        frame_sink = self.frame_sink
        if frame_sink is not None and (frame.problems or opcode != OP_BINARY or not frame.fin):
            frame_sink.append((self.mqtt_fed, frame))  # before its payload is read as MQTT
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
            if self.inflater is not None:
                payload = self._inflate(frame, after)
            if payload and not self.mqtt_dead:
                parts, completed, payload = self.feed_mqtt(payload, index, time, after)
        if not parts and opcode < 8:
            payload = self.unread_payload(payload)
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
        held = self.held
        if held is not None:
            held.append(event)
            held.extend(after)
            if self.release:
                self.release_held(scrub=False)
        else:
            self.events.append(event)
            if after:
                self.events.extend(after)

    # permessage-deflate (RFC 7692)

    def use_deflate(self, *, no_context_takeover: bool) -> None:
        """permessage-deflate was negotiated: compressed messages are inflated before
        MQTT decoding, with a fresh window per message when the sender does not keep
        its context (RFC 7692 §7.1.1)."""
        self.inflater = zlib.decompressobj(wbits=-15)  # any window up to 15 bits inflates
        self.frames.rsv1_allowed = True
        self._no_context_takeover = no_context_takeover

    def _inflate(self, frame: RawFrame, after: list[TraceEvent]) -> bytes:
        """A data frame's payload, inflated when its message is compressed (RSV1 on the
        first frame, RFC 7692 §6.1). A compressed frame's event then shows the inflated
        bytes, which its parts index; the deflated bytes are not kept (they could hold a
        password that anyone could inflate)."""
        inflater = self.inflater
        assert inflater is not None
        if frame.opcode != OP_CONTINUATION:
            self._compressed = frame.rsv1
        elif frame.rsv1:
            # RFC 7692 §6.1: only the first frame of a message has RSV1 set
            after.append(
                self.make_error(
                    "websocket", "RSV1 set on a continuation frame (RFC 7692 §6.1)", frame.stream_offset
                )
            )
        if not self._compressed or self.mqtt_dead:
            return frame.payload
        try:
            data = inflater.decompress(frame.payload, _MAX_INFLATED)
            if frame.fin and not inflater.unconsumed_tail:
                # RFC 7692 §7.2.2: the sender removed this empty block's tail
                data += inflater.decompress(b"\x00\x00\xff\xff", _MAX_INFLATED)
        except zlib.error as exc:
            after.append(
                self.make_error(
                    "websocket",
                    f"compressed frame cannot be inflated ({exc}); the rest of this direction "
                    "is not read as MQTT",
                    frame.stream_offset,
                )
            )
            self.mqtt_dead = True
            return frame.payload
        if inflater.unconsumed_tail:
            after.append(
                self.make_error(
                    "websocket",
                    f"compressed frame inflates to more than {_MAX_INFLATED} bytes; "
                    "the rest of this direction is not read as MQTT",
                    frame.stream_offset,
                )
            )
            self.mqtt_dead = True
            return data
        if frame.fin and self._no_context_takeover:
            self.inflater = zlib.decompressobj(wbits=-15)
        return data

    # MQTT

    def receive_mqtt(self, data: bytes, time: float) -> None:
        """Decode native MQTT bytes (no WebSocket) received at ``time``."""
        self.time = time
        if not self.mqtt_dead:
            self.feed_mqtt(data, -1, time, self.events)

    def feed_mqtt(
        self, data: bytes, index: int, time: float, after: list[TraceEvent]
    ) -> tuple[tuple[PacketPart, ...], tuple[int, ...], bytes]:
        """Feed one frame's payload (``index`` >= 0) or one TCP chunk (``index`` -1).

        Returns the frame's parts, the packet numbers it completes, and the payload with
        any CONNECT password starred; packet and error events go to ``after``.
        """
        reader = self.reader
        skew = self.skew
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
        sink = self.sink
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
            if packet is not None and type(packet) is not Connect and self._may_be_connect(raw, no):
                # A CONNECT whose type byte was damaged into another packet's: the client's
                # first packet must be a CONNECT ([MQTT-3.1.0-1]), and this one's body is
                # a CONNECT's, password included. It is reported and starred, not shown
                # as the packet its type byte names.
                error = MalformedPacket(
                    read.start,
                    f"the client's first packet has the type byte 0x{raw[0]:02X} but the body of a "
                    "CONNECT (protocol name first); the first packet must be a CONNECT [MQTT-3.1.0-1]",
                )
                read = ReadPacket(read.start, read.end, None, raw, error)
                packet = None
            if packet is None:
                if self._may_be_connect(raw, no):
                    raw = scrub_connect(raw)
                    data = self._mask_in_frames(data, base, no, start=start, masked=raw)
                # The reader's offsets (in the error and its text) moved to the stream's.
                error = _shifted(read.error, skew, start)
                if sink is not None:
                    sink.append(ReadPacket(start, end, None, read.raw, error))
                after.append(
                    ErrorReported(
                        seq(),
                        time,
                        conn,
                        direction,
                        "mqtt",
                        f"{error.explanation}; the packet is skipped",
                        error.offset,
                        raw,
                    )
                )
                continue
            if type(packet) is Connect:
                if self.on_connect is not None:
                    self.on_connect(packet.protocol_version)
                if packet.password:
                    raw = mask_password(raw, packet)
                    packet = replace(packet, password=masked_bytes(packet.password))
                    data = self._mask_in_frames(data, base, no, start=start, masked=raw)
            event = PacketEvent(seq(), time, conn, direction, no, start, packet, raw, frames)
            after.append(event)
            if sink is not None:
                sink.append(event)
        if self.held is not None and self.held_packet in completed:
            self.release = True  # the held CONNECT is complete and masked
        if broken is not None:
            self.mqtt_dead = True
            stop = reader.consumed + skew
            broken = _shifted(broken, skew, stop)
            if sink is not None:
                sink.append(ReadPacket(stop, self.mqtt_fed, None, b"", broken))
            stream = b"".join(self._pending_chunks) + data if origin < base else data
            rest = stream[stop - origin :]
            if self.held is not None:
                # The held CONNECT will never be decoded: star what may be secret.
                masked = scrub_connect(stream)
                data = self._mask_in_frames(data, base, self.held_packet, start=origin, masked=masked)
                self.release = True
            if not framed:
                # A TCP read may end anywhere: show the bytes up to the one found wrong,
                # which every way of reading the stream has seen, not what this read held.
                rest = rest[: max(1, min(64, broken.offset - stop + 1))]
            if self._may_be_connect(rest, self.packet_no):
                rest = scrub_connect(rest)
                if framed:
                    # A CONNECT the reader refused at once: its bytes in this frame too.
                    data = self._mask_in_frames(data, base, -2, start=stop, masked=rest)
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
                if framed and self._may_be_connect(data[start - base :], no):
                    # Hold this frame and the next ones until the CONNECT can be masked
                    # (events already held for a CONNECT completed here stay held).
                    if self.held is None:
                        self.held = []
                    self.held_packet = no
                    self.release = False
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
            read.start += origin - self.skew
            read.end += origin - self.skew
        return packets

    # End of stream

    def receive_eof(self, time: float, *, framed: bool) -> None:
        """The direction ended: report a truncated frame, message or packet."""
        self.time = time
        if framed and not self.stopped:
            frames = self.frames
            if frames.buffered:
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
            if self._may_be_connect(partial, self.packet_no):
                partial = scrub_connect(partial)
            self.error(
                "mqtt",
                f"the stream ended inside an MQTT packet: {reader.buffered} bytes of it arrived",
                reader.consumed + self.skew,
                partial,
            )
        self.release_held(scrub=True)
        self.stopped = True

    # Secrets

    def unread_payload(self, payload: bytes) -> bytes:
        """A data frame's payload not read as MQTT (a reserved opcode, a dead stream):
        starred from where a password could be when it may be a CONNECT (both paths use
        this; control frames carry no MQTT and are shown as they are)."""
        if self._may_be_connect(payload, self.packet_no):
            return scrub_connect(payload)
        return payload

    def _may_be_connect(self, data: bytes, no: int) -> bool:
        """Whether packet ``no`` starting with ``data`` may hold a password: a packet of
        type CONNECT, or the client's first packet when its variable header starts with
        the protocol name whatever its type byte says (a damaged CONNECT; it must come
        first, [MQTT-3.1.0-1])."""
        if is_connect_start(data):
            return True
        if self.direction != "c2s" or no != 0 or len(data) < 8:
            return False
        pos = 1
        while pos < 5 and data[pos] & 0x80:  # the Remaining Length (MQTT 5.0 §1.5.5)
            pos += 1
        name = data[pos + 1 : pos + 9]
        return name.startswith((b"\x00\x04MQTT", b"\x00\x06MQIsdp"))

    def _mask_in_frames(self, data: bytes, base: int, no: int, *, start: int, masked: bytes) -> bytes:
        """Put the masked bytes of packet ``no`` (starting at stream offset ``start``) into
        the held frames and into the current payload ``data`` (at offset ``base``)."""
        held = self.held
        if held is not None and self.held_packet == no:
            for event in held:
                if type(event) is FrameEvent:
                    event.payload = overwrite_part(event.payload, event.parts, no, masked)
        lo = max(start, base)
        hi = min(start + len(masked), base + len(data))
        if lo < hi:
            data = data[: lo - base] + masked[lo - start : hi - start] + data[hi - base :]
        return data

    def release_held(self, *, scrub: bool) -> None:
        """Send held events out; with ``scrub`` (the stream ended first), star the
        unfinished CONNECT's possibly secret bytes in them."""
        held = self.held
        if held is None:
            return
        if scrub and self._pending_chunks:
            masked = scrub_connect(b"".join(self._pending_chunks))
            for event in held:
                if type(event) is FrameEvent:
                    event.payload = overwrite_part(event.payload, event.parts, self.held_packet, masked)
        self.held = None
        self.held_packet = -1
        self.release = False
        for event in held:
            event.seq = self.seq()  # keep sequence numbers increasing in output order
        self.events.extend(held)


def _shifted(error: MalformedPacket | None, skew: int, start: int) -> MalformedPacket:
    """``error`` with its offset moved from the reader's stream to the direction's (the
    fast path's bytes are unseen by the reader), keeping its type and text otherwise."""
    if error is None:
        return MalformedPacket(start, "malformed packet")
    if not skew:
        return error
    if isinstance(error, PacketTooLarge):
        return PacketTooLarge(error.offset + skew, error.size, error.maximum)
    return MalformedPacket(error.offset + skew, error.reason, fault=error.fault)
