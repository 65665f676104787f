"""The public codec: one packet to bytes and back.

``encode(packet, version)`` refuses packets that may not be sent (LocalProtocolError);
``decode(data, version)`` decodes exactly one complete packet, fixed header included, and
raises only :class:`~explorer.errors.MalformedPacket` with the offset from the packet's
first byte. For a byte stream cut into arbitrary chunks use
:class:`explorer.mqtt.reader.PacketReader`.
"""

from __future__ import annotations

from explorer.errors import MalformedPacket
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import NO_PROPERTIES, Packet, Publish
from explorer.mqtt.parse import decode_body, header_errors
from explorer.mqtt.reader import TopicCache, qos0_publish
from explorer.mqtt.serialize import encode_packet, publish_packet

__all__ = ["decode", "encode", "parse_fixed_header"]

_TOPICS = TopicCache()  # Topic Names decode() has read (see qos0_publish)


def encode(packet: Packet, version: ProtocolVersion = ProtocolVersion.V311) -> bytes:
    """Encode ``packet`` for ``version`` (CONNECT uses its own ``protocol_version``)."""
    if type(packet) is Publish and (version == 4 or version == 5):  # noqa: PLR1714
        return publish_packet(packet, version)  # the common case, one call shorter
    return encode_packet(packet, version)


def parse_fixed_header(data: bytes, pos: int, end: int, version: int = 4) -> tuple[int, int] | None:
    """Return ``(body_start, remaining_length)`` for the packet at ``pos``, or ``None`` if incomplete.

    Raises MalformedPacket (absolute index) when the first byte has invalid flags or the
    Remaining Length runs past four bytes [MQTT-1.5.5-1]; a non-minimal length is accepted.
    """
    if pos >= end:
        return None
    reason = header_errors(version)[data[pos]]
    if reason is not None:
        raise MalformedPacket(pos, reason)
    value = 0
    shift = 0
    index = pos + 1
    while True:
        if index >= end:
            return None
        byte = data[index]
        value |= (byte & 0x7F) << shift
        index += 1
        if not byte & 0x80:
            return index, value
        if index - pos > 4:
            raise MalformedPacket(index - 1, "remaining length is longer than 4 bytes")
        shift += 7


def decode(data: bytes, version: ProtocolVersion | None = None) -> Packet:
    """Decode exactly one complete packet.

    ``version`` is ignored for CONNECT (it carries its own) and means 3.1.1 when ``None``.
    """
    if type(data) is not bytes:
        data = bytes(data)  # bytearray and memoryview are accepted too
    end = len(data)
    # A QoS 0 PUBLISH (no DUP) with a one-byte Remaining Length: the fast path
    # (explorer.mqtt.reader.qos0_publish); anything it leaves takes decode_body.
    if end > 3 and (data[0] == 0x30 or data[0] == 0x31) and data[1] == end - 2:
        parts = qos0_publish(data, 2, end, 4 if version is None else version, _TOPICS)
        if parts is not None:
            return Publish(parts[0], parts[1], 0, data[0] == 0x31, False, None, NO_PROPERTIES)
    if end < 2:
        raise MalformedPacket(end, f"a packet needs at least 2 bytes, got {end}")
    level = 4 if version is None else int(version)
    header = parse_fixed_header(data, 0, end, level)
    if header is None:
        raise MalformedPacket(end, "the remaining length is truncated")
    body, length = header
    if body + length != end:
        raise MalformedPacket(
            min(body + length, end),
            f"remaining length {length} announces {body + length} bytes but {end} were given",
        )
    return decode_body(data, 0, body, end, level)
