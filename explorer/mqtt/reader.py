"""Incremental packet reader: feed arbitrary chunks, get complete packets with byte spans.

One WebSocket frame may hold several MQTT packets and one packet may span several
frames (DESIGN rule 2), so :class:`PacketReader` keeps the bytes of an incomplete packet
and returns each packet with its stream offsets and raw bytes.

Two kinds of error:

* a packet whose fixed header is fine but whose body is malformed is returned as
  ``ReadPacket(error=...)``; its length is known, so reading goes on after it;
* an invalid fixed header (reserved type, wrong flags, Remaining Length over four bytes,
  a packet over ``max_packet_size``) leaves no way to find the next packet: the reader
  becomes ``broken``, ``receive_data`` raises that error once and ignores data afterwards.
  Packets completed before the bad header in the same chunk are still returned; the
  error is then raised by the next call.

PUBLISH flag errors (QoS 3, DUP on QoS 0) are body errors: the length is known, so an
explorer can keep showing the stream after them.

Speed: a QoS 0 PUBLISH is read by :func:`qos0_publish`, the one fast path for it (also
used by ``explorer.mqtt.codec.decode`` and the trace decoder), straight from the
incoming chunk: no copy into the buffer, no IntEnum, topics already seen from a small
cache, the packet and ReadPacket filled in without running ``__init__``. That is what
lets a connection sustain hundreds of thousands of messages per second. Everything else
is read by :func:`explorer.mqtt.parse.decode_body`, the general path.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from explorer.errors import MalformedPacket, PacketTooLarge
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import NO_PROPERTIES, Connect, Packet, Publish
from explorer.mqtt.parse import decode_body, header_errors

__all__ = ["PacketReader", "ReadPacket", "TopicCache", "qos0_publish"]

_TOPIC_CACHE_SIZE = 4096


@dataclass(slots=True)
class ReadPacket:
    """One packet found in the stream, or the error that its body holds."""

    start: int  # stream offset of the first byte of the packet
    end: int  # stream offset just past the last byte
    packet: Packet | None
    raw: bytes  # the exact bytes of the packet
    error: MalformedPacket | None  # set instead of packet when this packet's body is malformed


# The fast path fills these fields itself; if a field is ever added, it turns itself off
# (and falls back to the constructors) rather than build a half-initialised object.
_FAST = tuple(f.name for f in fields(Publish)) == (
    "topic",
    "payload",
    "qos",
    "retain",
    "dup",
    "packet_id",
    "properties",
) and tuple(f.name for f in fields(ReadPacket)) == ("start", "end", "packet", "raw", "error")


class PacketReader:
    """Sans-I/O MQTT stream reader (DESIGN rule 2).

    ``version`` selects how non-CONNECT packets are read (``None``: 3.1.1); reading a
    CONNECT sets it from the packet. ``max_packet_size`` (whole packet, fixed header
    included) is checked as soon as the fixed header is known, before buffering the body;
    ``max_connect_size``, if set, is the bound instead until a CONNECT has been read (a
    server's limit for what an unauthenticated client can make it hold).
    """

    __slots__ = (
        "_first_byte_errors",
        "_level",
        "_need",
        "_pending",
        "_seen_connect",
        "_stream",
        "_unraised",
        "_version",
        "broken",
        "error",
        "max_connect_size",
        "max_packet_size",
        "topics",
    )

    def __init__(
        self,
        version: ProtocolVersion | None = None,
        max_packet_size: int | None = None,
        *,
        max_connect_size: int | None = None,
    ) -> None:
        self._version: ProtocolVersion | None = None
        self._level = 4  # protocol level as a plain int, kept in step with version
        self.version = version
        self.max_packet_size = max_packet_size
        self.max_connect_size = max_connect_size
        self._seen_connect = False
        self.broken = False
        self.error: MalformedPacket | None = None
        self._unraised = False  # broken, and the error has not been raised yet
        self._pending = bytearray()  # bytes of an incomplete packet
        self._need = 0  # total size of the pending packet once its header is known, else 0
        self._stream = 0  # stream offset of the first byte of _pending (= consumed)
        self.topics = TopicCache()  # Topic Names read by qos0_publish

    @property
    def version(self) -> ProtocolVersion | None:
        """How non-CONNECT packets are read; ``None`` means 3.1.1. Set by a CONNECT."""
        return self._version

    @version.setter
    def version(self, value: ProtocolVersion | None) -> None:
        self._version = value
        self._level = 4 if value is None else int(value)
        self._first_byte_errors = header_errors(self._level)

    @property
    def consumed(self) -> int:
        """Stream offset of the end of the last complete packet (the start of the next)."""
        return self._stream

    @property
    def buffered(self) -> int:
        """Bytes held of an incomplete packet."""
        return len(self._pending)

    def receive_data(self, data: bytes) -> list[ReadPacket]:
        """Consume ``data``; return the packets it completes, in order.

        When the stream breaks after some packets of ``data`` were read, those packets
        are returned and the error is raised by the next call; check :attr:`broken`.
        """
        if self.broken:
            if self._unraised:
                self._unraised = False
                raise self.error  # type: ignore[misc]
            return []
        pending = self._pending
        if pending:
            if self._need and len(pending) + len(data) < self._need:
                pending += data  # a large packet arriving in pieces: no re-parse, no quadratic copy
                return []
            data = bytes(pending + data)
            pending.clear()
        elif type(data) is not bytes:
            data = bytes(data)
        out: list[ReadPacket] = []
        append = out.append
        base = self._stream
        size = len(data)
        limit = self.max_packet_size
        if not self._seen_connect and self.max_connect_size is not None:
            limit = self.max_connect_size if limit is None else min(limit, self.max_connect_size)
        level = self._level
        topics = self.topics
        first_byte_errors = self._first_byte_errors
        publish = Publish
        read_packet = ReadPacket
        no_properties = NO_PROPERTIES
        new = object.__new__
        pos = 0
        need = 0
        try:
            while pos < size:
                first = data[pos]
                if first_byte_errors[first] is not None:
                    # Checked before the Remaining Length, so that the same bytes give the
                    # same error however they are cut into reads.
                    raise MalformedPacket(base + pos, first_byte_errors[first])  # type: ignore[arg-type]
                # Remaining Length, inlined (see primitives.read_varint) for speed.
                p = pos + 1
                if p >= size:
                    break
                length = data[p]
                p += 1
                if length > 0x7F:
                    length &= 0x7F
                    shift = 7
                    while True:
                        if p >= size:
                            length = -1
                            break
                        byte = data[p]
                        p += 1
                        length |= (byte & 0x7F) << shift
                        if byte < 0x80:
                            break
                        if p - pos > 4:
                            # [MQTT-1.5.5-1]
                            raise MalformedPacket(base + p - 1, "remaining length is longer than 4 bytes")
                        shift += 7
                end = p + length
                if (
                    (first == 0x30 or first == 0x31)  # noqa: PLR1714 (faster than a set)
                    and _FAST
                    and length >= 0
                    and end <= size
                    and (limit is None or end - pos <= limit)
                ):
                    # QoS 0 PUBLISH without DUP: the one fast path; anything it leaves
                    # (a bad topic, v5 properties) goes to decode_body below.
                    parts = qos0_publish(data, p, end, level, topics)
                    if parts is not None:
                        # Built without calling __init__: about twice as fast for slots
                        # dataclasses. Every field is set; test_reader checks that the
                        # result equals decode_body's.
                        message: Publish = new(publish)
                        message.topic, message.payload = parts
                        message.qos = 0
                        message.retain = first == 0x31
                        message.dup = False
                        message.packet_id = None
                        message.properties = no_properties
                        item: ReadPacket = new(read_packet)
                        item.start = base + pos
                        item.end = base + end
                        item.packet = message
                        item.raw = data if (pos == 0 and end == size) else data[pos:end]
                        item.error = None
                        append(item)
                        pos = end
                        continue
                if length < 0:
                    break
                if limit is not None and end - pos > limit:
                    raise PacketTooLarge(base + pos, end - pos, limit)
                if end > size:
                    need = end - pos
                    break
                raw = data if (pos == 0 and end == size) else data[pos:end]
                try:
                    packet = decode_body(data, pos, p, end, level)
                except MalformedPacket as exc:
                    error = MalformedPacket(base + exc.offset, exc.reason)
                    append(read_packet(base + pos, base + end, None, raw, error))
                    pos = end
                    continue
                if type(packet) is Connect:
                    self._seen_connect = True
                    limit = self.max_packet_size
                    self.version = packet.protocol_version
                    level = self._level
                    first_byte_errors = self._first_byte_errors
                append(read_packet(base + pos, base + end, packet, raw, None))
                pos = end
        except MalformedPacket as exc:
            self.broken = True
            self.error = exc
            self._stream = base + pos
            if out:
                self._unraised = True
                return out
            raise
        self._stream = base + pos
        if pos < size:
            pending += memoryview(data)[pos:]
        self._need = need
        return out


class TopicCache:
    """Topic Names :func:`qos0_publish` has read and checked, one per stream.

    Streams repeat a few topics, often the same one many times in a row: comparing the
    bytes with the previous Topic Name, or a dict hit, is cheaper than decoding and
    checking the UTF-8 again.
    """

    __slots__ = ("known", "last", "topic")

    def __init__(self) -> None:
        self.known: dict[bytes, str] = {}  # Topic Name bytes -> text
        self.last = b"\xff\xff\xff"  # the previous Topic Name with its length bytes
        self.topic = ""  # its text


def qos0_publish(
    data: bytes, start: int, end: int, level: int, topics: TopicCache
) -> tuple[str, bytes] | None:
    """The Topic Name and payload of a QoS 0 PUBLISH without DUP, read the fast way.

    The one fast path for the packet a firehose is made of, used by
    :class:`PacketReader`, :func:`explorer.mqtt.codec.decode` and the trace decoder
    (``explorer.decoder.fastpath``); the caller has checked the first byte (0x30 or
    0x31) and that the packet is complete: its variable header starts at
    ``data[start]`` and it ends at ``end``. ``level`` is the protocol level (5 reads a
    Property Length).

    Returns ``None`` for whatever :func:`~explorer.mqtt.parse.decode_body` must read
    instead, which then gives the same packet or the error: a Topic Name running past
    the packet, not UTF-8, holding U+0000 ([MQTT-1.5.4-1], [MQTT-1.5.4-2]) or empty (a
    matter for the topic rules or a Topic Alias), and MQTT 5 properties.

    ``topics`` holds the Topic Names already read on this stream.
    """
    last = topics.last
    if data.startswith(last, start):
        # The Topic Name of the PUBLISH read before (its length bytes included).
        te = start + len(last)
        topic = topics.topic
        if te > end or not topic:  # topic is "" until a Topic Name was read
            return None
    else:
        te = start + 2
        if te > end:
            return None
        te += (data[start] << 8) | data[start + 1]
        if te > end:
            return None
        key = data[start + 2 : te]
        known = topics.known
        found = known.get(key)
        if found is None:
            try:
                found = key.decode()
            except UnicodeDecodeError:
                return None
            if not found or "\x00" in found:
                return None
            if len(known) >= _TOPIC_CACHE_SIZE:
                known.clear()
            known[key] = found
        topic = found
        topics.last = data[start:te]
        topics.topic = topic
    if level != 5:
        return topic, data[te:end]
    if te < end and data[te] == 0:
        return topic, data[te + 1 : end]  # Property Length 0
    return None
