"""MQTT data representations (MQTT 5.0 §1.5): integers, strings, binary data, varints.

Readers take ``(data, pos, end)`` where ``data`` is ``bytes`` holding the packet somewhere
inside it, ``pos`` the absolute index to read at and ``end`` the index just past the
region that may be read; they return ``(value, new_pos)`` and raise
:class:`~explorer.errors.MalformedPacket` with the absolute index of the offending byte.
Callers translate that index to a packet or stream offset. Writers return ``bytes`` and
raise :class:`~explorer.errors.LocalProtocolError` for values that cannot be sent.

Nothing here does I/O; the hot PUBLISH path in :mod:`explorer.mqtt.reader` inlines
some of these for speed, so keep both in step.
"""

from __future__ import annotations

from explorer.errors import LocalProtocolError, MalformedPacket

__all__ = [
    "MAX_VARINT",
    "as_bytes",
    "encode_binary",
    "encode_string",
    "encode_u16",
    "encode_u32",
    "encode_varint",
    "read_binary",
    "read_string",
    "read_u16",
    "read_u32",
    "read_varint",
]

# Largest value of a Variable Byte Integer (MQTT 5.0 §1.5.5): four bytes of seven bits.
MAX_VARINT = 268_435_455


def read_u16(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """Two Byte Integer, big-endian (§1.5.2)."""
    if pos + 2 > end:
        raise MalformedPacket(pos, f"{what} needs 2 bytes, {max(end - pos, 0)} left")
    return (data[pos] << 8) | data[pos + 1], pos + 2


def read_u32(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """Four Byte Integer, big-endian (§1.5.3)."""
    if pos + 4 > end:
        raise MalformedPacket(pos, f"{what} needs 4 bytes, {max(end - pos, 0)} left")
    return int.from_bytes(data[pos : pos + 4], "big"), pos + 4


def read_varint(data: bytes, pos: int, end: int, what: str = "variable byte integer") -> tuple[int, int]:
    """Variable Byte Integer (§1.5.5): at most four bytes; a non-minimal encoding is accepted."""
    value = 0
    shift = 0
    start = pos
    while True:
        if pos >= end:
            raise MalformedPacket(pos, f"{what} is truncated")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if pos - start >= 4:
            # [MQTT-1.5.5-1] at most four bytes
            raise MalformedPacket(start + 3, f"{what} is longer than 4 bytes")


def read_string(data: bytes, pos: int, end: int, what: str) -> tuple[str, int]:
    """UTF-8 Encoded String (§1.5.4): length-prefixed, well-formed, no U+0000."""
    if pos + 2 > end:
        raise MalformedPacket(pos, f"{what} length needs 2 bytes, {max(end - pos, 0)} left")
    start = pos + 2
    stop = start + ((data[pos] << 8) | data[pos + 1])
    if stop > end:
        raise MalformedPacket(pos, f"{what} of {stop - start} bytes runs past the end of the packet")
    try:
        # Python's strict UTF-8 codec rejects surrogates and overlong forms [MQTT-1.5.4-1].
        text = data[start:stop].decode()
    except UnicodeDecodeError as exc:
        raise MalformedPacket(start + exc.start, f"{what} is not valid UTF-8") from None
    if "\x00" in text:
        # [MQTT-1.5.4-2]
        raise MalformedPacket(start + text.index("\x00"), f"{what} contains U+0000") from None
    return text, stop


def read_binary(data: bytes, pos: int, end: int, what: str) -> tuple[bytes, int]:
    """Binary Data (§1.5.6): a Two Byte Integer length then that many bytes."""
    if pos + 2 > end:
        raise MalformedPacket(pos, f"{what} length needs 2 bytes, {max(end - pos, 0)} left")
    start = pos + 2
    stop = start + ((data[pos] << 8) | data[pos + 1])
    if stop > end:
        raise MalformedPacket(pos, f"{what} of {stop - start} bytes runs past the end of the packet")
    return bytes(data[start:stop]), stop


_SMALL_VARINTS = tuple(bytes((i,)) for i in range(128))


def encode_varint(value: int, what: str = "variable byte integer") -> bytes:
    """Encode a Variable Byte Integer in its minimal form."""
    if 0 <= value < 128:
        return _SMALL_VARINTS[value]
    if not 0 <= value <= MAX_VARINT:
        raise LocalProtocolError(f"{what} {value} is outside 0..{MAX_VARINT}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_u16(value: int, what: str) -> bytes:
    if not 0 <= value <= 0xFFFF:
        raise LocalProtocolError(f"{what} {value} is outside 0..65535")
    return value.to_bytes(2, "big")


def encode_u32(value: int, what: str) -> bytes:
    if not 0 <= value <= 0xFFFFFFFF:
        raise LocalProtocolError(f"{what} {value} is outside 0..4294967295")
    return value.to_bytes(4, "big")


def encode_string(text: str, what: str) -> bytes:
    """Length-prefixed UTF-8; refuses U+0000, lone surrogates and strings over 65535 bytes."""
    if "\x00" in text:
        raise LocalProtocolError(f"{what} contains U+0000, which MQTT forbids [MQTT-1.5.4-2]")
    try:
        raw = text.encode()
    except UnicodeEncodeError:
        raise LocalProtocolError(f"{what} contains a lone surrogate [MQTT-1.5.4-1]") from None
    if len(raw) > 0xFFFF:
        raise LocalProtocolError(f"{what} is {len(raw)} bytes long; the maximum is 65535")
    return len(raw).to_bytes(2, "big") + raw


def as_bytes(data: object, what: str) -> bytes:
    """``bytes`` from any bytes-like object; anything else (``str``, ``int``) is refused."""
    try:
        return memoryview(data).tobytes()  # type: ignore[arg-type]
    except TypeError:
        raise LocalProtocolError(f"{what} must be bytes, not {type(data).__name__}") from None


def encode_binary(data: bytes, what: str) -> bytes:
    if type(data) is not bytes:
        data = as_bytes(data, what)
    if len(data) > 0xFFFF:
        raise LocalProtocolError(f"{what} is {len(data)} bytes long; the maximum is 65535")
    return len(data).to_bytes(2, "big") + data
