"""MQTT 5.0 properties (§2.2.2): decode any order, encode in a fixed order.

A property block is a Variable Byte Integer length followed by (identifier, value)
pairs. Decoding checks that every property is allowed on the packet it arrives in
(``PROPERTY_VALIDITY``; the Will Properties use ``WILL_PROPERTY``), that a
non-repeatable property appears once (a duplicate is a Protocol Error, §2.2.2.2) and that
values lie in their allowed range. Encoding writes properties by identifier, user
properties in their own order, so equal ``Properties`` always give equal bytes.
"""

from __future__ import annotations

from typing import Any

from explorer.errors import LocalProtocolError, MalformedPacket
from explorer.mqtt.enums import PROPERTY_TYPES, PROPERTY_VALIDITY, PacketType, PropertyId, PropertyType
from explorer.mqtt.packets import NO_PROPERTIES, Properties
from explorer.mqtt.primitives import (
    MAX_VARINT,
    encode_binary,
    encode_string,
    encode_u16,
    encode_u32,
    encode_varint,
    read_binary,
    read_string,
    read_u16,
    read_u32,
    read_varint,
)

__all__ = ["PACKET_NAMES", "decode_properties", "encode_properties"]

_USER = int(PropertyId.USER_PROPERTY)
_SUBID = int(PropertyId.SUBSCRIPTION_IDENTIFIER)
_PUBLISH = int(PacketType.PUBLISH)


def _field(pid: PropertyId) -> str:
    if pid == PropertyId.USER_PROPERTY:
        return "user_properties"
    if pid == PropertyId.SUBSCRIPTION_IDENTIFIER:
        return "subscription_identifiers"
    return pid.name.lower()


# Plain-int tables so that decoding builds no IntEnum.
_FIELD: dict[int, str] = {int(p): _field(p) for p in PropertyId}
_KIND: dict[int, int] = {int(p): int(t) for p, t in PROPERTY_TYPES.items()}
_VALID: dict[int, frozenset[int]] = {
    int(p): frozenset(int(x) for x in v) for p, v in PROPERTY_VALIDITY.items()
}
_LABEL: dict[int, str] = {int(p): p.name.replace("_", " ").title() for p in PropertyId}
_ORDER: tuple[int, ...] = tuple(sorted(_FIELD))

PACKET_NAMES: dict[int, str] = {int(t): t.name for t in PacketType}
PACKET_NAMES[0] = "Will"

# Properties whose value must be 0 or 1 (a Protocol Error otherwise).
_BOOLEAN = frozenset(
    int(p)
    for p in (
        PropertyId.PAYLOAD_FORMAT_INDICATOR,
        PropertyId.REQUEST_PROBLEM_INFORMATION,
        PropertyId.REQUEST_RESPONSE_INFORMATION,
        PropertyId.MAXIMUM_QOS,  # §3.2.2.3.4
        PropertyId.RETAIN_AVAILABLE,
        PropertyId.WILDCARD_SUBSCRIPTION_AVAILABLE,
        PropertyId.SUBSCRIPTION_IDENTIFIER_AVAILABLE,
        PropertyId.SHARED_SUBSCRIPTION_AVAILABLE,
    )
)
# Properties for which 0 is a Protocol Error.
_NONZERO = frozenset(
    int(p)
    for p in (
        PropertyId.RECEIVE_MAXIMUM,  # §3.1.2.11.3
        PropertyId.MAXIMUM_PACKET_SIZE,  # §3.1.2.11.4
        PropertyId.TOPIC_ALIAS,  # §3.3.2.3.4
        PropertyId.SUBSCRIPTION_IDENTIFIER,  # §3.3.2.3.8
    )
)

_BYTE = int(PropertyType.BYTE)
_TWO = int(PropertyType.TWO_BYTE_INT)
_FOUR = int(PropertyType.FOUR_BYTE_INT)
_VAR = int(PropertyType.VARIABLE_INT)
_STR = int(PropertyType.UTF8_STRING)
_BIN = int(PropertyType.BINARY)
_PAIR = int(PropertyType.UTF8_PAIR)


def decode_properties(data: bytes, pos: int, end: int, packet_type: int) -> tuple[Properties, int]:
    """Read a property block at ``pos``; ``packet_type`` is a PacketType value or WILL_PROPERTY."""
    length, pos = read_varint(data, pos, end, "property length")
    if length == 0:
        return NO_PROPERTIES, pos
    stop = pos + length
    if stop > end:
        raise MalformedPacket(pos, f"property length {length} runs past the end of the packet")
    where = PACKET_NAMES[packet_type]
    values: dict[str, Any] = {}
    user: list[tuple[str, str]] = []
    subids: list[int] = []
    while pos < stop:
        at = pos
        pid, pos = read_varint(data, pos, stop, "property identifier")
        kind = _KIND.get(pid)
        if kind is None:
            raise MalformedPacket(at, f"unknown property identifier 0x{pid:02X}")
        label = _LABEL[pid]
        if packet_type not in _VALID[pid]:
            raise MalformedPacket(at, f"property {label} is not allowed in {where}")
        value: Any
        if kind == _BYTE:
            if pos >= stop:
                raise MalformedPacket(pos, f"property {label} is truncated")
            value = data[pos]
            pos += 1
        elif kind == _TWO:
            value, pos = read_u16(data, pos, stop, f"property {label}")
        elif kind == _FOUR:
            value, pos = read_u32(data, pos, stop, f"property {label}")
        elif kind == _VAR:
            value, pos = read_varint(data, pos, stop, f"property {label}")
        elif kind == _STR:
            value, pos = read_string(data, pos, stop, f"property {label}")
        elif kind == _BIN:
            value, pos = read_binary(data, pos, stop, f"property {label}")
        else:
            key, pos = read_string(data, pos, stop, "user property name")
            val, pos = read_string(data, pos, stop, "user property value")
            user.append((key, val))
            continue
        if pid in _BOOLEAN and value > 1:
            raise MalformedPacket(at, f"property {label} must be 0 or 1, not {value}")
        if pid in _NONZERO and value == 0:
            raise MalformedPacket(at, f"property {label} must not be 0")
        if pid == _SUBID:
            if subids and packet_type != _PUBLISH:
                # §3.8.2.1.2: at most one Subscription Identifier in SUBSCRIBE
                raise MalformedPacket(at, f"property {label} appears twice in {where}")
            subids.append(value)
            continue
        name = _FIELD[pid]
        if name in values:
            # §2.2.2.2: including a non-repeatable property twice is a Protocol Error
            raise MalformedPacket(at, f"property {label} appears twice in {where}")
        values[name] = value
    if user:
        values["user_properties"] = tuple(user)
    if subids:
        values["subscription_identifiers"] = tuple(subids)
    return Properties(**values), pos


def encode_properties(props: Properties, packet_type: int) -> bytes:
    """Property block with its length; ``b"\\x00"`` when there are none."""
    if props is NO_PROPERTIES:
        return b"\x00"
    where = PACKET_NAMES[packet_type]
    parts: list[bytes] = []
    for pid in _ORDER:
        value = getattr(props, _FIELD[pid])
        if value is None or value == ():
            continue
        label = _LABEL[pid]
        if packet_type not in _VALID[pid]:
            raise LocalProtocolError(f"property {label} is not allowed in {where}")
        kind = _KIND[pid]
        head = encode_varint(pid)
        if pid == _USER:
            for key, val in value:
                parts.append(head)
                parts.append(encode_string(key, "user property name"))
                parts.append(encode_string(val, "user property value"))
            continue
        if pid == _SUBID:
            if len(value) > 1 and packet_type != _PUBLISH:
                raise LocalProtocolError(f"{where} may carry only one Subscription Identifier")
            for sid in value:
                if not 1 <= sid <= MAX_VARINT:
                    raise LocalProtocolError(f"Subscription Identifier {sid} is outside 1..{MAX_VARINT}")
                parts.append(head)
                parts.append(encode_varint(sid))
            continue
        if pid in _BOOLEAN and value not in (0, 1):
            raise LocalProtocolError(f"property {label} must be 0 or 1, not {value!r}")
        if pid in _NONZERO and value == 0:
            raise LocalProtocolError(f"property {label} must not be 0")
        parts.append(head)
        if kind == _BYTE:
            if not 0 <= value <= 255:
                raise LocalProtocolError(f"property {label} {value} is outside 0..255")
            parts.append(bytes((value,)))
        elif kind == _TWO:
            parts.append(encode_u16(value, f"property {label}"))
        elif kind == _FOUR:
            parts.append(encode_u32(value, f"property {label}"))
        elif kind == _VAR:
            parts.append(encode_varint(value, f"property {label}"))
        elif kind == _STR:
            parts.append(encode_string(value, f"property {label}"))
        else:
            parts.append(encode_binary(value, f"property {label}"))
    body = b"".join(parts)
    return encode_varint(len(body), "property length") + body
