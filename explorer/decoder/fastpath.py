"""The frame loop of ``DirectionDecoder``, fast for one QoS 0 PUBLISH per binary frame.

What belongs here: the loop over the frames the direction's ``FrameIndexer`` reads
(``explorer.ws.framing``, the one frame reader; it does all the frame-level work),
turning each into events. A plain frame (``PlainFrame``: whole, binary, nothing to
check) whose payload is exactly one QoS 0 PUBLISH, while the MQTT reader holds
nothing, is decoded by the one QoS 0 PUBLISH fast path
(``explorer.mqtt.reader.qos0_publish``) and its frame and packet events are built
directly; any other plain frame's payload goes through ``DirectionDecoder.feed_mqtt``,
and every other frame through ``DirectionDecoder._on_frame``, the general path. The
result is the same events the general path would make; tests compare the two.

Why: a ``RawFrame`` and a ``ReadPacket`` per packet, and ``__init__`` calls for four
dataclasses, cost more than all the parsing; this loop skips both and sets the event
fields directly, which is about twice as fast per event.

Compact mode (``DirectionDecoder.compact``, for a consumer that formats millions of
packets, such as ``decode``): such a frame and its PUBLISH become one
:data:`FastPublish` tuple instead of four objects; :func:`expand_fast` makes the very
events the normal mode would have made from it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Final, TypeAlias

from explorer.model.events import FrameEvent, PacketEvent, PacketPart, TraceEvent
from explorer.mqtt.packets import NO_PROPERTIES, Publish
from explorer.mqtt.reader import qos0_publish
from explorer.ws.framing import OP_BINARY, FramingError, RawFrame

if TYPE_CHECKING:
    from explorer.decoder.stream import DirectionDecoder

__all__ = ["FAST_PATH_AVAILABLE", "FastPublish", "expand_fast", "read_frames"]

FastPublish: TypeAlias = tuple[
    float, int, str, int, int, bytes, "bytes | None", bytes, int, int, str, bytes, bool, int
]
"""One whole binary frame holding one QoS 0 PUBLISH without properties, in compact mode:
``(time, conn, direction, frame index, frame stream_offset, frame header, mask key,
frame payload, packet_no, packet stream_offset, topic, PUBLISH payload, retain, seq)``.
``seq`` is the frame event's; the packet event's is ``seq + 1``."""

# The fast path sets these fields one by one; if a class gains or loses a field it is
# switched off (everything then takes the general path) rather than build a half event.
FAST_PATH_AVAILABLE: Final = (
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
)


def read_frames(
    self: DirectionDecoder,
    data: bytes,
    time: float,
    ends: list[int] | None = None,
    times: Sequence[float] = (),
) -> None:
    """Decode the frames ``data`` completes, as the direction's ``FrameIndexer`` reads
    them: plain frames here, every other frame by ``DirectionDecoder._on_frame``.

    ``data`` may join several reads: read ``i`` ends at stream offset ``ends[i]`` and
    came at ``times[i]``; a frame gets the time of the read that completed it, as if
    each read had been given on its own.
    """
    chunk = 0
    masked = self.direction == "c2s"
    hlen = 6 if masked else 2
    reader = self.reader
    topics = reader.topics
    level = 4 if reader.version is None else int(reader.version)
    append = self.events.append
    seq = self.seq
    conn = self.conn
    direction = self.direction
    index = self.frame_index
    fed = self.mqtt_fed
    no = self.packet_no
    skew = self.skew
    idle = _idle(self)
    # A packet above the reader's Maximum Packet Size is left to the reader, which ends
    # the stream at it as the client does ([MQTT-3.1.2-25]).
    largest = 125 if reader.max_packet_size is None else min(125, reader.max_packet_size)
    sink = self.sink
    compact = self.compact and sink is None
    new = object.__new__
    broken: FramingError | None = None
    try:
        for item in self.frames.frames(data):
            if isinstance(item, RawFrame):
                # Any other frame: every check, through the general path.
                checked = item
                if ends is not None:
                    while checked.end_offset > ends[chunk]:
                        chunk += 1
                    time = times[chunk]
                self.frame_index, self.mqtt_fed, self.packet_no, self.skew = index, fed, no, skew
                self.time = time
                self._on_frame(checked, time)
                index, fed, no, skew = self.frame_index, self.mqtt_fed, self.packet_no, self.skew
                idle = _idle(self)
                level = 4 if reader.version is None else int(reader.version)
                continue
            for offset, header, mask_key, payload in item:
                length = len(payload)
                if ends is not None:
                    while offset + hlen + length > ends[chunk]:
                        chunk += 1
                    time = times[chunk]
                packet: Publish | None = None
                # One QoS 0 PUBLISH filling the whole payload with a one-byte Remaining
                # Length, and nothing the reader still holds: read by the one fast path,
                # explorer.mqtt.reader.qos0_publish (anything else goes through the reader).
                if idle and 4 <= length <= largest and payload[1] == length - 2:
                    first = payload[0]
                    if first == 0x30 or first == 0x31:  # noqa: PLR1714 (faster than a set)
                        parts = qos0_publish(payload, 2, length, level, topics)
                        if parts is not None:
                            topic, body = parts
                            if compact:
                                frame_seq = seq()
                                seq()
                                append(
                                    (
                                        time,
                                        conn,
                                        direction,
                                        index,
                                        offset,
                                        header,
                                        mask_key,
                                        payload,
                                        no,
                                        fed,
                                        topic,
                                        body,
                                        first == 0x31,
                                        frame_seq,
                                    )  # type: ignore[arg-type]  # a FastPublish; only compact consumers see it
                                )
                                no += 1
                                fed += length
                                skew += length
                                index += 1
                                continue
                            # Events built without calling __init__ (about twice as fast
                            # for slots dataclasses); every field is set, and
                            # FAST_PATH_AVAILABLE turns this off if the classes gain a field.
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
                    event = new(FrameEvent)
                    event.seq = seq()
                    event.time = time
                    event.conn = conn
                    event.direction = direction
                    event.index = index
                    event.stream_offset = offset
                    event.fin = True
                    event.rsv1 = False
                    event.rsv2 = False
                    event.rsv3 = False
                    event.opcode = OP_BINARY
                    event.masked = masked
                    event.mask_key = mask_key
                    event.length_encoding = "7bit"
                    event.payload_length = length
                    event.header = header
                    event.payload = payload
                    event.parts = (part,)
                    event.completed = (no,)
                    event.close_code = None
                    event.close_reason = None
                    append(event)
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
                    if sink is not None:
                        sink.append(decoded)
                    no += 1
                    fed += length
                    skew += length
                    index += 1
                    continue
                # A plain frame whose payload needs the reader (or is empty).
                self.frame_index, self.mqtt_fed, self.packet_no, self.skew = index, fed, no, skew
                frame_seq = seq()
                after: list[TraceEvent] = []
                frame_parts: tuple[PacketPart, ...] = ()
                completed: tuple[int, ...] = ()
                self.time = time
                if length and not self.mqtt_dead:
                    frame_parts, completed, payload = self.feed_mqtt(payload, index, time, after)
                if not frame_parts:
                    payload = self.unread_payload(payload)
                plain = FrameEvent(
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
                    header,
                    payload,
                    frame_parts,
                    completed,
                )
                fed, no = self.mqtt_fed, self.packet_no
                index += 1
                if self.held is not None:
                    self.held.append(plain)
                    self.held.extend(after)
                    if self.release:
                        self.release_held(scrub=False)
                else:
                    append(plain)
                    self.events.extend(after)
                idle = _idle(self)
                level = 4 if reader.version is None else int(reader.version)
    except FramingError as exc:
        broken = exc
    self.frame_index = index
    self.mqtt_fed = fed
    self.packet_no = no
    self.skew = skew
    if broken is not None:
        if ends is not None:
            # Known once the header's length bytes are in (the only such error here).
            at = min(broken.offset + hlen + 8, ends[-1])
            self.time = times[bisect.bisect_left(ends, at)]
        if self.frame_sink is not None:
            self.frame_sink.append((self.mqtt_fed, broken))
        self.error("websocket", broken.explanation, broken.offset)
        self.stopped = True


def _idle(self: DirectionDecoder) -> bool:
    """The reader holds nothing, no CONNECT is held back and the client's first packet
    is behind: a QoS 0 PUBLISH filling a frame may be decoded by the fast path. (The
    client's first packet takes the general path, which stars a damaged CONNECT whatever
    its type byte says.)"""
    return (
        FAST_PATH_AVAILABLE
        and not self.reader.buffered
        and not self.mqtt_dead
        and self.held is None
        and (self.packet_no > 0 or self.direction != "c2s")
    )


def expand_fast(item: FastPublish) -> tuple[FrameEvent, PacketEvent]:
    """The frame and packet events a compact record stands for (the same values the
    normal mode builds)."""
    time, conn, direction, index, offset, header, mask_key, payload, no, fed, topic, body, retain, seq = item
    length = len(payload)
    packet = new_publish(topic, body, retain)
    part = PacketPart(no, "whole", 0, length, 0, length)
    frame = FrameEvent(
        seq,
        time,
        conn,
        direction,  # type: ignore[arg-type]
        index,
        offset,
        True,
        False,
        False,
        False,
        OP_BINARY,
        mask_key is not None,
        mask_key,
        "7bit",
        length,
        header,
        payload,
        (part,),
        (no,),
    )
    decoded = PacketEvent(seq + 1, time, conn, direction, no, fed, packet, payload, (index,))  # type: ignore[arg-type]
    return frame, decoded


def new_publish(topic: str, body: bytes, retain: bool) -> Publish:
    """A QoS 0 PUBLISH without properties, as the fast path decodes it."""
    packet: Publish = object.__new__(Publish)
    packet.topic = topic
    packet.payload = body
    packet.qos = 0
    packet.retain = retain
    packet.dup = False
    packet.packet_id = None
    packet.properties = NO_PROPERTIES
    return packet
