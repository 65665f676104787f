"""Decoding of one MQTT packet body, every type and version.

:func:`decode_body` reads the packet whose first byte is ``data[start]`` and whose
variable header begins at ``pos`` (just after the Remaining Length) and ends at ``end``.
Errors carry the absolute index into ``data``; :func:`explorer.mqtt.codec.decode` and
:class:`explorer.mqtt.reader.PacketReader` translate it to a packet or stream offset.
This is the general path: a QoS 0 PUBLISH is first offered to the one fast path,
:func:`explorer.mqtt.reader.qos0_publish`, and comes here only when that declines it
(the result is the same either way; ``tests/mqtt/test_reader.py`` compares them).

Only wire rules live here (reserved bits, lengths, UTF-8, reason codes valid for the
packet, property validity, trailing bytes). Topic semantics (wildcards in a topic name,
filter syntax) are checked by :mod:`explorer.mqtt.topics`, because MQTT 5.0 answers them
with reason codes (0x90, 0x8F) rather than treating the packet as malformed.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

from explorer.errors import MalformedPacket
from explorer.mqtt.enums import (
    WILL_PROPERTY,
    AuthReasonCode,
    ConnackReasonCode,
    ConnectReturnCode,
    DisconnectReasonCode,
    PacketType,
    ProtocolVersion,
    PubackReasonCode,
    PubcompReasonCode,
    PubrecReasonCode,
    PubrelReasonCode,
    RetainHandling,
    SubackReasonCode,
    UnsubackReasonCode,
)
from explorer.mqtt.packets import (
    NO_PROPERTIES,
    Auth,
    Connack,
    Connect,
    Disconnect,
    Packet,
    Pingreq,
    Pingresp,
    Properties,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
)
from explorer.mqtt.primitives import read_binary, read_string, read_u16
from explorer.mqtt.properties import decode_properties

__all__ = ["HEADER_ERRORS", "HEADER_ERRORS_V31", "PACKET_NAMES", "decode_body", "header_errors"]

V31, V311, V5 = 3, 4, 5

PACKET_NAMES: tuple[str, ...] = ("reserved type 0", *(t.name for t in PacketType))


def _codes(enum: type[IntEnum]) -> dict[int, IntEnum]:
    return {int(m): m for m in enum}


_CONNECT_RC = _codes(ConnectReturnCode)
_CONNACK_RC = _codes(ConnackReasonCode)
_PUBACK_RC = _codes(PubackReasonCode)
_PUBREC_RC = _codes(PubrecReasonCode)
_PUBREL_RC = _codes(PubrelReasonCode)
_PUBCOMP_RC = _codes(PubcompReasonCode)
_SUBACK_RC = _codes(SubackReasonCode)
_SUBACK_RC_V3 = {c: m for c, m in _SUBACK_RC.items() if c in (0, 1, 2, 0x80)}
_UNSUBACK_RC = _codes(UnsubackReasonCode)
_DISCONNECT_RC = _codes(DisconnectReasonCode)
_AUTH_RC = _codes(AuthReasonCode)
_RETAIN_HANDLING = _codes(RetainHandling)
_VERSIONS = {3: ProtocolVersion.V31, 4: ProtocolVersion.V311, 5: ProtocolVersion.V5}


def _header_errors(dup_allowed: bool) -> tuple[str | None, ...]:
    """For each possible first byte, why it is invalid (``None`` if fine).

    MQTT 5.0 §2.1.3: reserved flag bits must have the listed values; PUBREL, SUBSCRIBE and
    UNSUBSCRIBE carry 0b0010 [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]. MQTT 3.1 sent
    those three at QoS 1 and let a retry set DUP, so 0b1010 is accepted there too.
    PUBLISH flags are checked with the body, where the offending combination can be explained.
    """
    out: list[str | None] = []
    for byte in range(256):
        kind, flags = byte >> 4, byte & 0x0F
        if kind == 0:
            out.append("packet type 0 is reserved")
        elif kind == 3:
            out.append(None)
        elif kind in (6, 8, 10):
            ok = flags == 2 or (dup_allowed and flags == 0b1010)
            wrong = f"{PACKET_NAMES[kind]} flags must be 0b0010, not 0b{flags:04b}"
            out.append(None if ok else wrong)
        else:
            out.append(None if flags == 0 else f"{PACKET_NAMES[kind]} flags must be 0, not 0b{flags:04b}")
    return tuple(out)


HEADER_ERRORS = _header_errors(dup_allowed=False)
HEADER_ERRORS_V31 = _header_errors(dup_allowed=True)


def header_errors(version: int) -> tuple[str | None, ...]:
    """The first-byte table for a protocol level (3, 4 or 5)."""
    return HEADER_ERRORS_V31 if version == V31 else HEADER_ERRORS


def _no_trailing(pos: int, end: int, what: str) -> None:
    if pos != end:
        raise MalformedPacket(pos, f"{end - pos} unexpected bytes after the {what} fields")


def _code(table: dict[int, IntEnum], data: bytes, pos: int, what: str) -> IntEnum:
    code = table.get(data[pos])
    if code is None:
        raise MalformedPacket(pos, f"0x{data[pos]:02X} is not a valid {what} reason code")
    return code


def _packet_id(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    pid, after = read_u16(data, pos, end, f"{what} packet identifier")
    if pid == 0:
        # [MQTT-2.3.1-1] a packet identifier is non-zero
        raise MalformedPacket(pos, f"{what} packet identifier must not be 0")
    return pid, after


def _connect(data: bytes, start: int, pos: int, end: int, version: int) -> Connect:
    name_at = pos
    name, pos = read_string(data, pos, end, "protocol name")
    if pos >= end:
        raise MalformedPacket(pos, "CONNECT is truncated before the protocol level")
    level = data[pos]
    if (name, level) not in (("MQIsdp", 3), ("MQTT", 4), ("MQTT", 5)):
        raise MalformedPacket(
            name_at, f"unsupported protocol {name!r} level {level} (expected MQIsdp 3, MQTT 4 or MQTT 5)"
        )
    pos += 1
    if pos >= end:
        raise MalformedPacket(pos, "CONNECT is truncated before the connect flags")
    flags_at = pos
    flags = data[pos]
    pos += 1
    if flags & 0x01:
        raise MalformedPacket(flags_at, "CONNECT reserved flag bit 0 must be 0 [MQTT-3.1.2-3]")
    will_flag = bool(flags & 0x04)
    will_qos = (flags >> 3) & 3
    will_retain = bool(flags & 0x20)
    has_password = bool(flags & 0x40)
    has_username = bool(flags & 0x80)
    if not will_flag and (will_qos or will_retain):
        raise MalformedPacket(
            flags_at, "Will QoS and Will Retain must be 0 without a Will [MQTT-3.1.2-13,15]"
        )
    if will_qos == 3:
        raise MalformedPacket(flags_at, "Will QoS must not be 3 [MQTT-3.1.2-14]")
    if has_password and not has_username and level != V5:
        raise MalformedPacket(flags_at, "a password without a user name is not allowed [MQTT-3.1.2-22]")
    keep_alive, pos = read_u16(data, pos, end, "keep alive")
    props = NO_PROPERTIES
    if level == V5:
        props, pos = decode_properties(data, pos, end, 1)
    client_id, pos = read_string(data, pos, end, "client identifier")
    will = None
    if will_flag:
        will_props = NO_PROPERTIES
        if level == V5:
            will_props, pos = decode_properties(data, pos, end, WILL_PROPERTY)
        will_topic, pos = read_string(data, pos, end, "will topic")
        will_payload, pos = read_binary(data, pos, end, "will payload")
        will = Will(will_topic, will_payload, will_qos, will_retain, will_props)
    username = None
    password = None
    if has_username:
        username, pos = read_string(data, pos, end, "user name")
    if has_password:
        password, pos = read_binary(data, pos, end, "password")
    _no_trailing(pos, end, "CONNECT")
    return Connect(
        _VERSIONS[level], client_id, bool(flags & 0x02), keep_alive, username, password, will, props, name
    )


def _connack(data: bytes, start: int, pos: int, end: int, version: int) -> Connack:
    if end - pos < 2:
        raise MalformedPacket(pos, "CONNACK needs at least 2 bytes")
    if data[pos] & 0xFE:
        # [MQTT-3.2.2-1] bits 7-1 of the acknowledge flags are reserved
        raise MalformedPacket(pos, "CONNACK acknowledge flags bits 7-1 must be 0")
    present = bool(data[pos] & 1)
    if version != V5 or (end - pos == 2 and data[pos + 1] in _CONNECT_RC and data[pos + 1]):
        # A 3.1.1 server answers a 5.0 CONNECT with a 3.1.1 CONNACK (return code 1, §3.1.4);
        # decode it as such so the refusal can be explained.
        code = _code(_CONNECT_RC, data, pos + 1, "CONNACK")
        _no_trailing(pos + 2, end, "CONNACK")
        return Connack(present, code, NO_PROPERTIES)  # type: ignore[arg-type]
    rc = _code(_CONNACK_RC, data, pos + 1, "CONNACK")
    props, after = decode_properties(data, pos + 2, end, 2)
    _no_trailing(after, end, "CONNACK")
    return Connack(present, rc, props)  # type: ignore[arg-type]


def decode_publish(data: bytes, start: int, pos: int, end: int, version: int) -> Publish:
    """PUBLISH with every check; the reader has a faster path for the common QoS 0 case."""
    first = data[start]
    qos = (first >> 1) & 3
    dup = bool(first & 8)
    if qos == 3:
        raise MalformedPacket(start, "PUBLISH QoS must not be 3 [MQTT-3.3.1-4]")
    if dup and not qos:
        raise MalformedPacket(start, "PUBLISH DUP must be 0 for QoS 0 [MQTT-3.3.1-2]")
    topic_at = pos
    topic, pos = read_string(data, pos, end, "topic name")
    packet_id = None
    if qos:
        packet_id, pos = _packet_id(data, pos, end, "PUBLISH")
    props = NO_PROPERTIES
    if version == V5:
        props, pos = decode_properties(data, pos, end, 3)
        if not topic and props.topic_alias is None:
            # MQTT 5.0 §3.3.2.3.4: an empty topic needs a Topic Alias
            raise MalformedPacket(topic_at, "PUBLISH has an empty topic name and no Topic Alias")
    return Publish(topic, data[pos:end], qos, bool(first & 1), dup, packet_id, props)


def _ack(
    cls: Callable[[int, IntEnum, Properties], Packet], table: dict[int, IntEnum], name: str
) -> Callable[[bytes, int, int, int, int], Packet]:
    """PUBACK, PUBREC, PUBREL, PUBCOMP: packet id, then (5.0) optional reason code and properties."""

    def decode(data: bytes, start: int, pos: int, end: int, version: int) -> Packet:
        packet_id, after = _packet_id(data, pos, end, name)
        if version != V5 or after == end:
            # MQTT 5.0 §3.4.2.1: remaining length 2 means Success and no properties
            _no_trailing(after, end, name)
            return cls(packet_id, table[0], NO_PROPERTIES)
        code = _code(table, data, after, name)
        props = NO_PROPERTIES
        if after + 1 < end:
            props, after = decode_properties(data, after + 1, end, data[start] >> 4)
            _no_trailing(after, end, name)
        return cls(packet_id, code, props)

    return decode


def _subscribe(data: bytes, start: int, pos: int, end: int, version: int) -> Subscribe:
    packet_id, pos = _packet_id(data, pos, end, "SUBSCRIBE")
    props = NO_PROPERTIES
    if version == V5:
        props, pos = decode_properties(data, pos, end, 8)
    subs: list[Subscription] = []
    while pos < end:
        topic_filter, pos = read_string(data, pos, end, "topic filter")
        if pos >= end:
            raise MalformedPacket(pos, "subscription options are missing")
        opts = data[pos]
        qos = opts & 3
        if qos == 3:
            raise MalformedPacket(pos, "subscription QoS must not be 3 [MQTT-3.8.3-4]")
        if version == V5:
            if opts & 0xC0:
                raise MalformedPacket(pos, "subscription options bits 7-6 must be 0 [MQTT-3.8.3-5]")
            handling = (opts >> 4) & 3
            if handling == 3:
                raise MalformedPacket(pos, "Retain Handling 3 is reserved (MQTT 5.0 §3.8.3.1)")
            subs.append(
                Subscription(
                    topic_filter,
                    qos,
                    bool(opts & 4),
                    bool(opts & 8),
                    _RETAIN_HANDLING[handling],  # type: ignore[arg-type]
                )
            )
        else:
            if opts & 0xFC:
                raise MalformedPacket(pos, "requested QoS byte bits 7-2 must be 0 [MQTT-3.8.3-4]")
            subs.append(Subscription(topic_filter, qos))
        pos += 1
    if not subs:
        raise MalformedPacket(pos, "SUBSCRIBE must contain at least one topic filter [MQTT-3.8.3-3]")
    return Subscribe(packet_id, tuple(subs), props)


def _suback(data: bytes, start: int, pos: int, end: int, version: int) -> Suback:
    packet_id, pos = _packet_id(data, pos, end, "SUBACK")
    props = NO_PROPERTIES
    table = _SUBACK_RC_V3
    if version == V5:
        props, pos = decode_properties(data, pos, end, 9)
        table = _SUBACK_RC
    if pos >= end:
        raise MalformedPacket(pos, "SUBACK must contain at least one reason code")
    codes = tuple(_code(table, data, i, "SUBACK") for i in range(pos, end))
    return Suback(packet_id, codes, props)  # type: ignore[arg-type]


def _unsubscribe(data: bytes, start: int, pos: int, end: int, version: int) -> Unsubscribe:
    packet_id, pos = _packet_id(data, pos, end, "UNSUBSCRIBE")
    props = NO_PROPERTIES
    if version == V5:
        props, pos = decode_properties(data, pos, end, 10)
    filters: list[str] = []
    while pos < end:
        topic_filter, pos = read_string(data, pos, end, "topic filter")
        filters.append(topic_filter)
    if not filters:
        raise MalformedPacket(pos, "UNSUBSCRIBE must contain at least one topic filter [MQTT-3.10.3-2]")
    return Unsubscribe(packet_id, tuple(filters), props)


def _unsuback(data: bytes, start: int, pos: int, end: int, version: int) -> Unsuback:
    packet_id, pos = _packet_id(data, pos, end, "UNSUBACK")
    if version != V5:
        _no_trailing(pos, end, "UNSUBACK")
        return Unsuback(packet_id, (), NO_PROPERTIES)
    props, pos = decode_properties(data, pos, end, 11)
    if pos >= end:
        raise MalformedPacket(pos, "UNSUBACK must contain at least one reason code")
    codes = tuple(_code(_UNSUBACK_RC, data, i, "UNSUBACK") for i in range(pos, end))
    return Unsuback(packet_id, codes, props)  # type: ignore[arg-type]


def _empty(cls: Callable[[], Packet], name: str) -> Callable[[bytes, int, int, int, int], Packet]:
    def decode(data: bytes, start: int, pos: int, end: int, version: int) -> Packet:
        _no_trailing(pos, end, name)
        return cls()

    return decode


def _disconnect(data: bytes, start: int, pos: int, end: int, version: int) -> Disconnect:
    if version != V5 or pos == end:
        # MQTT 5.0 §3.14.2.1: remaining length 0 means Normal disconnection
        _no_trailing(pos, end, "DISCONNECT")
        return Disconnect()
    code = _code(_DISCONNECT_RC, data, pos, "DISCONNECT")
    props = NO_PROPERTIES
    if pos + 1 < end:
        props, after = decode_properties(data, pos + 1, end, 14)
        _no_trailing(after, end, "DISCONNECT")
    return Disconnect(code, props)  # type: ignore[arg-type]


def _auth(data: bytes, start: int, pos: int, end: int, version: int) -> Auth:
    if version != V5:
        raise MalformedPacket(start, "AUTH exists only in MQTT 5.0")
    if pos == end:
        # MQTT 5.0 §3.15.2.1: remaining length 0 means Success and no properties
        return Auth()
    code = _code(_AUTH_RC, data, pos, "AUTH")
    props = NO_PROPERTIES
    if pos + 1 < end:
        props, after = decode_properties(data, pos + 1, end, 15)
        _no_trailing(after, end, "AUTH")
    return Auth(code, props)  # type: ignore[arg-type]


_Decoder = Callable[[bytes, int, int, int, int], Packet]

_DECODERS: tuple[_Decoder | None, ...] = (
    None,
    _connect,
    _connack,
    decode_publish,
    _ack(Puback, _PUBACK_RC, "PUBACK"),  # type: ignore[arg-type]
    _ack(Pubrec, _PUBREC_RC, "PUBREC"),  # type: ignore[arg-type]
    _ack(Pubrel, _PUBREL_RC, "PUBREL"),  # type: ignore[arg-type]
    _ack(Pubcomp, _PUBCOMP_RC, "PUBCOMP"),  # type: ignore[arg-type]
    _subscribe,
    _suback,
    _unsubscribe,
    _unsuback,
    _empty(Pingreq, "PINGREQ"),
    _empty(Pingresp, "PINGRESP"),
    _disconnect,
    _auth,
)


def decode_body(data: bytes, start: int, pos: int, end: int, version: int) -> Packet:
    """Decode the packet at ``data[start:end]`` whose variable header starts at ``pos``.

    ``version`` is a protocol level (3, 4 or 5); CONNECT ignores it and uses its own.
    The caller has already checked the first byte against :data:`HEADER_ERRORS`.
    """
    first = data[start]
    decoder = _DECODERS[first >> 4]
    if decoder is None:
        raise MalformedPacket(start, "packet type 0 is reserved")
    try:
        return decoder(data, start, pos, end, version)
    except MalformedPacket:
        raise
    except (IndexError, ValueError, TypeError, KeyError) as exc:  # defensive: never leak another type
        raise MalformedPacket(start, f"{PACKET_NAMES[first >> 4]} could not be decoded ({exc})") from None
