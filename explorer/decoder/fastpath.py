"""The fast path of ``DirectionDecoder``: whole binary frames each holding one QoS 0 PUBLISH.

What belongs here: one inline loop over a direction's bytes that reads the frames a
firehose is made of (FIN, binary, no RSV bits, 7-bit length, masked as the direction
requires) and, when the payload is exactly one QoS 0 PUBLISH and the reader holds
nothing, decodes it in place and builds the frame and packet events directly. Any other
simple frame is handed to ``DirectionDecoder.feed_mqtt`` (the general MQTT path) and
any other frame stops the loop: the caller passes the rest to ``FrameIndexer``. The
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

from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Final, TypeAlias

from explorer.model.events import FrameEvent, PacketEvent, PacketPart, TraceEvent
from explorer.mqtt.packets import NO_PROPERTIES, Publish
from explorer.ws.framing import OP_BINARY

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C extension is missing on some platforms
    from websockets.utils import apply_mask

if TYPE_CHECKING:
    from explorer.decoder.stream import DirectionDecoder

__all__ = ["FAST_PATH_AVAILABLE", "FastPublish", "expand_fast", "read_fast"]

FastPublish: TypeAlias = tuple[
    float, int, str, int, int, bytes, "bytes | None", bytes, int, int, str, bytes, bool, int
]
"""One whole binary frame holding one QoS 0 PUBLISH without properties, in compact mode:
``(time, conn, direction, frame index, frame stream_offset, frame header, mask key,
frame payload, packet_no, packet stream_offset, topic, PUBLISH payload, retain, seq)``.
``seq`` is the frame event's; the packet event's is ``seq + 1``."""

_QOS0_PUBLISH: Final = frozenset({0x30, 0x31})  # PUBLISH, QoS 0, no DUP, RETAIN 0/1
_FAST_FIRST_BYTE: Final = 0x82  # FIN, no RSV, binary (RFC 6455 §5.2)

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


def read_fast(
    self: DirectionDecoder,
    data: bytes,
    time: float,
    ends: list[int] | None = None,
    times: Sequence[float] = (),
) -> int:
    """Read whole, simple binary frames inline; return where the general path must
    take over (``len(data)`` when all was read, the incomplete tail kept).

    ``data`` may join several reads: read ``i`` ends at ``ends[i]`` in ``data`` and
    came at ``times[i]``; a frame gets the time of the read that completed it, as if
    each read had been given on its own.
    """
    chunk = 0
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
    skew = self.skew
    idle = not reader.buffered and not self.mqtt_dead  # the reader holds nothing
    # A packet above the reader's Maximum Packet Size is left to the reader, which ends
    # the stream at it as the client does ([MQTT-3.1.2-25]).
    largest = 125 if reader.max_packet_size is None else min(125, reader.max_packet_size)
    sink = self.sink
    compact = self.compact and sink is None
    last_name, last_topic = self.last_topic
    new = object.__new__
    while True:
        if end - pos < 2:
            self.tail = data[pos:]
            pos = end
            break
        b1 = data[pos + 1]
        if data[pos] != _FAST_FIRST_BYTE or b1 & 0x80 != mask_bit or b1 & 0x7F > 125:
            break
        length = b1 & 0x7F
        total = hlen + length
        if end - pos < total:
            self.tail = data[pos:]
            pos = end
            break
        if ends is not None:
            while pos + total > ends[chunk]:
                chunk += 1
            time = times[chunk]
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
        if idle and 4 <= length <= largest and payload[1] == length - 2:
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
                    if body is not None and compact:
                        frame_seq = seq()
                        seq()
                        append(
                            (
                                time,
                                conn,
                                direction,
                                index,
                                offset,
                                data[pos : pos + hlen],
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
                        offset += total
                        pos += total
                        continue
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
            if sink is not None:
                sink.append(decoded)
            no += 1
            fed += length
            skew += length
        else:
            # A simple frame whose payload needs the reader (or is empty).
            self.frame_index, self.mqtt_fed, self.packet_no, self.skew = index, fed, no, skew
            frame_seq = seq()
            after: list[TraceEvent] = []
            parts: tuple[PacketPart, ...] = ()
            completed: tuple[int, ...] = ()
            self.time = time
            if length and not self.mqtt_dead:
                parts, completed, payload = self.feed_mqtt(payload, index, time, after)
            if not parts:
                payload = self.unread_payload(payload)
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
            if self.held is not None:
                self.held.append(event)
                self.held.extend(after)
                if self.release:
                    self.release_held(scrub=False)
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
    self.skew = skew
    self.last_topic = (last_name, last_topic)
    return pos


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
