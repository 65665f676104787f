"""Encoding of every MQTT packet type for 3.1, 3.1.1 and 5.0.

Each ``_encode_<type>`` returns the variable header and payload; :func:`encode_packet`
prepends the fixed header. Anything that could not be sent legally raises
:class:`~explorer.errors.LocalProtocolError` with a sentence saying what is wrong:
we never put an invalid packet on the wire by accident. v5 acknowledgements use the
shortest form the specification allows (§3.4.2.1, §3.14.2.1, §3.15.2.1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from explorer.errors import LocalProtocolError
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
    Properties,
    Publish,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
)
from explorer.mqtt.primitives import (
    MAX_VARINT,
    as_bytes,
    encode_binary,
    encode_string,
    encode_u16,
    encode_varint,
)
from explorer.mqtt.properties import encode_properties
from explorer.mqtt.topics import validate_topic_filter, validate_topic_name

__all__ = ["encode_packet", "publish_packet"]

V5 = 5
_FIXED_FLAGS = {6: 2, 8: 2, 10: 2}
_PROTOCOL_NAMES = {3: "MQIsdp", 4: "MQTT", 5: "MQTT"}

# Reason codes each packet type may carry (plain ints, so a code from the wrong enum or
# a bare int that the receiver would reject is refused here instead).
_REASON_CODES: dict[int, frozenset[int]] = {
    int(kind): frozenset(int(code) for code in codes)
    for kind, codes in (
        (PacketType.CONNACK, ConnackReasonCode),
        (PacketType.PUBACK, PubackReasonCode),
        (PacketType.PUBREC, PubrecReasonCode),
        (PacketType.PUBREL, PubrelReasonCode),
        (PacketType.PUBCOMP, PubcompReasonCode),
        (PacketType.SUBACK, SubackReasonCode),
        (PacketType.UNSUBACK, UnsubackReasonCode),
        (PacketType.DISCONNECT, DisconnectReasonCode),
        (PacketType.AUTH, AuthReasonCode),
    )
}


def _reason(code: int, kind: int) -> int:
    if code not in _REASON_CODES[kind]:
        raise LocalProtocolError(f"{code!r} is not a {PacketType(kind).name} reason code")
    return int(code)


def _props(props: Properties, packet_type: int, version: int, what: str) -> bytes:
    if version == V5:
        return encode_properties(props, packet_type)
    if props is not NO_PROPERTIES and props != NO_PROPERTIES:
        raise LocalProtocolError(f"{what} properties exist only in MQTT 5.0")
    return b""


def _packet_id(value: int | None, what: str) -> bytes:
    if value is None or not 1 <= value <= 0xFFFF:
        # [MQTT-2.3.1-1]
        raise LocalProtocolError(f"{what} needs a packet identifier in 1..65535, not {value!r}")
    return value.to_bytes(2, "big")


def _qos(value: int, what: str) -> int:
    if value not in (0, 1, 2):
        raise LocalProtocolError(f"{what} QoS must be 0, 1 or 2, not {value!r}")
    return value


def _encode_connect(p: Connect, version: int) -> tuple[int, bytes]:
    level = int(p.protocol_version)
    if level not in _PROTOCOL_NAMES:
        raise LocalProtocolError(f"unsupported protocol version {level}")
    name = p.protocol_name or _PROTOCOL_NAMES[level]
    if name != _PROTOCOL_NAMES[level]:
        # §3.1.2.1: the name goes with the level (MQIsdp for 3.1, MQTT for 3.1.1 and 5.0)
        raise LocalProtocolError(f"protocol name {name!r} does not go with protocol level {level}")
    flags = 0x02 if p.clean_start else 0
    parts = [encode_string(name, "protocol name"), bytes((level,))]
    will = p.will
    if will is not None:
        flags |= 0x04 | (_qos(will.qos, "Will") << 3) | (0x20 if will.retain else 0)
    if p.password is not None:
        if p.username is None and level != V5:
            raise LocalProtocolError("MQTT 3.1.1 forbids a password without a user name [MQTT-3.1.2-22]")
        flags |= 0x40
    if p.username is not None:
        flags |= 0x80
    parts.append(bytes((flags,)))
    parts.append(encode_u16(p.keep_alive, "keep alive"))
    parts.append(_props(p.properties, 1, level, "CONNECT"))
    parts.append(encode_string(p.client_id, "client identifier"))
    if will is not None:
        parts.append(_props(will.properties, WILL_PROPERTY, level, "Will"))
        validate_topic_name(will.topic)
        parts.append(encode_string(will.topic, "will topic"))
        parts.append(encode_binary(will.payload, "will payload"))
    if p.username is not None:
        parts.append(encode_string(p.username, "user name"))
    if p.password is not None:
        parts.append(encode_binary(p.password, "password"))
    return 0x10, b"".join(parts)


def _encode_connack(p: Connack, version: int) -> tuple[int, bytes]:
    flags = b"\x01" if p.session_present else b"\x00"
    code = p.reason_code
    if version != V5 or isinstance(code, ConnectReturnCode):
        if not isinstance(code, ConnectReturnCode) and code not in ConnectReturnCode._value2member_map_:
            raise LocalProtocolError(f"CONNACK code {code!r} does not exist before MQTT 5.0")
        _props(p.properties, 2, 4, "CONNACK")
        return 0x20, flags + bytes((int(code),))
    return 0x20, flags + bytes((_reason(code, 2),)) + encode_properties(p.properties, 2)


def publish_packet(p: Publish, version: int) -> bytes:
    """A whole PUBLISH, fixed header included: the broker's hot path, so written in one piece."""
    qos = p.qos
    if qos != 0 and qos != 1 and qos != 2:  # noqa: PLR1714 (faster than a tuple)
        raise LocalProtocolError(f"PUBLISH QoS must be 0, 1 or 2, not {qos!r}")
    topic = p.topic
    try:
        name = topic.encode()
    except UnicodeEncodeError:
        name = b""
    # [MQTT-4.7.3-1..3] [MQTT-3.3.2-2]; in 5.0 a Topic Alias may stand for an empty topic
    if (not name or len(name) > 0xFFFF or "\x00" in topic or "+" in topic or "#" in topic) and not (
        version == V5 and topic == "" and p.properties.topic_alias is not None
    ):
        validate_topic_name(topic)  # raises with the precise reason
    first = 0x30 | (qos << 1) | (1 if p.retain else 0)
    if p.dup:
        if not qos:
            raise LocalProtocolError("PUBLISH DUP must be 0 for QoS 0 [MQTT-3.3.1-2]")
        first |= 0x08
    if qos:
        packet_id = _packet_id(p.packet_id, "PUBLISH")
    elif p.packet_id is not None:
        raise LocalProtocolError("a QoS 0 PUBLISH has no packet identifier [MQTT-2.3.1-5]")
    else:
        packet_id = b""
    props = p.properties
    if version == V5:
        block = b"\x00" if props is NO_PROPERTIES else encode_properties(props, 3)
    else:
        block = _props(props, 3, version, "PUBLISH")
    payload = p.payload
    if type(payload) is not bytes:
        payload = as_bytes(payload, "PUBLISH payload")
    size = 2 + len(name) + len(packet_id) + len(block) + len(payload)
    if size < 0x80:
        head = bytes((first, size, len(name) >> 8, len(name) & 0xFF))
    elif size <= MAX_VARINT:
        head = bytes((first,)) + encode_varint(size) + len(name).to_bytes(2, "big")
    else:
        raise LocalProtocolError(f"packet body of {size} bytes exceeds the MQTT maximum of {MAX_VARINT}")
    return b"".join((head, name, packet_id, block, payload))


def _encode_ack(p: Any, version: int) -> tuple[int, bytes]:
    kind = int(p.TYPE)
    name = p.TYPE.name
    body = _packet_id(p.packet_id, name)
    if version == V5:
        props = p.properties
        code = _reason(p.reason_code, kind)
        if props is not NO_PROPERTIES and props != NO_PROPERTIES:
            body += bytes((code,)) + encode_properties(props, kind)
        elif code:
            body += bytes((code,))
    else:
        if p.reason_code:
            raise LocalProtocolError(f"{name} reason codes exist only in MQTT 5.0")
        _props(p.properties, kind, version, name)
    return (kind << 4) | _FIXED_FLAGS.get(kind, 0), body


def _encode_subscribe(p: Subscribe, version: int) -> tuple[int, bytes]:
    if not p.subscriptions:
        raise LocalProtocolError("SUBSCRIBE needs at least one topic filter [MQTT-3.8.3-3]")
    parts = [_packet_id(p.packet_id, "SUBSCRIBE"), _props(p.properties, 8, version, "SUBSCRIBE")]
    for sub in p.subscriptions:
        validate_topic_filter(sub.topic_filter)
        opts = _qos(sub.qos, "subscription")
        if version == V5:
            handling = int(sub.retain_handling)
            if handling not in (0, 1, 2):
                raise LocalProtocolError(f"Retain Handling must be 0, 1 or 2, not {handling}")
            opts |= (4 if sub.no_local else 0) | (8 if sub.retain_as_published else 0) | (handling << 4)
        elif sub.no_local or sub.retain_as_published or sub.retain_handling:
            raise LocalProtocolError(
                "No Local, Retain As Published and Retain Handling exist only in MQTT 5.0"
            )
        parts.append(encode_string(sub.topic_filter, "topic filter"))
        parts.append(bytes((opts,)))
    return 0x82, b"".join(parts)


def _encode_suback(p: Suback, version: int) -> tuple[int, bytes]:
    if not p.reason_codes:
        raise LocalProtocolError("SUBACK needs at least one reason code")
    if version != V5:
        for code in p.reason_codes:
            if code not in (0, 1, 2, 0x80):
                raise LocalProtocolError(f"SUBACK code {code!r} does not exist before MQTT 5.0")
    else:
        for code in p.reason_codes:
            _reason(code, 9)
    body = _packet_id(p.packet_id, "SUBACK") + _props(p.properties, 9, version, "SUBACK")
    return 0x90, body + bytes(int(c) for c in p.reason_codes)


def _encode_unsubscribe(p: Unsubscribe, version: int) -> tuple[int, bytes]:
    if not p.topic_filters:
        raise LocalProtocolError("UNSUBSCRIBE needs at least one topic filter [MQTT-3.10.3-2]")
    parts = [_packet_id(p.packet_id, "UNSUBSCRIBE"), _props(p.properties, 10, version, "UNSUBSCRIBE")]
    for topic_filter in p.topic_filters:
        validate_topic_filter(topic_filter)
        parts.append(encode_string(topic_filter, "topic filter"))
    return 0xA2, b"".join(parts)


def _encode_unsuback(p: Unsuback, version: int) -> tuple[int, bytes]:
    body = _packet_id(p.packet_id, "UNSUBACK")
    if version != V5:
        if p.reason_codes:
            raise LocalProtocolError("UNSUBACK reason codes exist only in MQTT 5.0")
        _props(p.properties, 11, version, "UNSUBACK")
        return 0xB0, body
    if not p.reason_codes:
        raise LocalProtocolError("an MQTT 5.0 UNSUBACK needs at least one reason code")
    for code in p.reason_codes:
        _reason(code, 11)
    return 0xB0, body + encode_properties(p.properties, 11) + bytes(int(c) for c in p.reason_codes)


def _encode_disconnect(p: Disconnect, version: int) -> tuple[int, bytes]:
    if version != V5:
        if p.reason_code:
            raise LocalProtocolError("DISCONNECT reason codes exist only in MQTT 5.0")
        _props(p.properties, 14, version, "DISCONNECT")
        return 0xE0, b""
    return 0xE0, _reason_and_props(_reason(p.reason_code, 14), p.properties, 14)


def _reason_and_props(code: int, props: Properties, kind: int) -> bytes:
    if props is not NO_PROPERTIES and props != NO_PROPERTIES:
        return bytes((code,)) + encode_properties(props, kind)
    if code:
        return bytes((code,))
    return b""


def _encode_auth(p: Auth, version: int) -> tuple[int, bytes]:
    if version != V5:
        raise LocalProtocolError("AUTH exists only in MQTT 5.0")
    body = _reason_and_props(_reason(p.reason_code, 15), p.properties, 15)
    if len(body) == 1:
        # §3.15.2.1 only allows omitting both the reason code and the properties
        body += b"\x00"
    return 0xF0, body


def _encode_empty(p: Any, version: int) -> tuple[int, bytes]:
    return int(p.TYPE) << 4, b""


_ENCODERS: dict[PacketType, Callable[[Any, int], tuple[int, bytes]]] = {
    PacketType.CONNECT: _encode_connect,
    PacketType.CONNACK: _encode_connack,
    PacketType.PUBACK: _encode_ack,
    PacketType.PUBREC: _encode_ack,
    PacketType.PUBREL: _encode_ack,
    PacketType.PUBCOMP: _encode_ack,
    PacketType.SUBSCRIBE: _encode_subscribe,
    PacketType.SUBACK: _encode_suback,
    PacketType.UNSUBSCRIBE: _encode_unsubscribe,
    PacketType.UNSUBACK: _encode_unsuback,
    PacketType.PINGREQ: _encode_empty,
    PacketType.PINGRESP: _encode_empty,
    PacketType.DISCONNECT: _encode_disconnect,
    PacketType.AUTH: _encode_auth,
}


def encode_packet(packet: Packet, version: ProtocolVersion | int) -> bytes:
    """Fixed header + body. CONNECT uses its own ``protocol_version``."""
    if version not in (3, 4, 5):  # compares as int: no IntEnum lookup on the hot path
        raise LocalProtocolError(f"unsupported protocol version {version!r}")
    level = int(version) if type(version) is not ProtocolVersion else version
    if type(packet) is Publish:
        return publish_packet(packet, level)
    encoder = _ENCODERS.get(getattr(packet, "TYPE", None))  # type: ignore[arg-type]
    if encoder is None:
        raise LocalProtocolError(f"{type(packet).__name__} is not an MQTT packet")
    first, body = encoder(packet, level)
    if len(body) > MAX_VARINT:
        raise LocalProtocolError(f"packet body of {len(body)} bytes exceeds the MQTT maximum of {MAX_VARINT}")
    return bytes((first,)) + encode_varint(len(body)) + body
