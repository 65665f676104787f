"""Protobuf without a schema: the wire format's fields, wire types and nested guesses.

Protocol Buffers encoding (protobuf.dev/programming-guides/encoding): each record is a
varint tag ``field_number << 3 | wire_type`` then a varint (0), 8 bytes (1), a
length-delimited run (2) or 4 bytes (5); groups (3, 4) are deprecated and refused here.
A length-delimited run is shown as a nested message when it parses as one completely,
else as text when it is printable UTF-8, else as bytes. Fixed-width values are shown as
floating point when that reads as a plausible number, else as unsigned integers.

The value is a dict keyed by field number (``"1"``); a repeated field is a list. No I/O.
"""

from __future__ import annotations

import struct
from typing import Any

from explorer.codecs.base import CodecError, DecodeContext, Decoded, bytes_value

__all__ = ["WireCodec", "is_wire", "parse_wire"]

_MAX_FIELD = (1 << 29) - 1
_MAX_DEPTH = 32
_WIRE_NAMES = {0: "varint", 1: "i64", 2: "len", 5: "i32"}


_CUT_SHORT = -1
_TOO_LONG = -2


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the offset after it; the value is ``_CUT_SHORT`` when the
    data ends inside it, ``_TOO_LONG`` when it runs past 10 bytes."""
    result = 0
    shift = 0
    end = len(data)
    while pos < end:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            return _TOO_LONG, pos
    return _CUT_SHORT, pos


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, pos = _read_varint(data, pos)
    if value == _CUT_SHORT:
        raise CodecError(f"varint cut short at offset {pos}")
    if value == _TOO_LONG:
        raise CodecError(f"varint longer than 10 bytes at offset {pos}")
    return value, pos


def _plausible_float(value: float) -> bool:
    return value == 0.0 or 1e-9 <= abs(value) <= 1e15


def parse_wire(data: bytes, depth: int = 0) -> list[tuple[int, int, Any]]:
    """``(field, wire_type, value)`` records; :class:`CodecError` unless the whole run parses."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    end = len(data)
    while pos < end:
        start = pos
        tag, pos = _varint(data, pos)
        field, wire = tag >> 3, tag & 7
        if field < 1 or field > _MAX_FIELD:
            raise CodecError(f"field number {field} at offset {start} is out of range")
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((field, wire, value))
        elif wire == 1:
            if pos + 8 > end:
                raise CodecError(f"8-byte field {field} cut short at offset {start}")
            out.append((field, wire, data[pos : pos + 8]))
            pos += 8
        elif wire == 5:
            if pos + 4 > end:
                raise CodecError(f"4-byte field {field} cut short at offset {start}")
            out.append((field, wire, data[pos : pos + 4]))
            pos += 4
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > end:
                raise CodecError(f"field {field} at offset {start} says {length} bytes, {end - pos} remain")
            out.append((field, wire, data[pos : pos + length]))
            pos += length
        else:
            raise CodecError(f"wire type {wire} (field {field}) at offset {start} is not used by proto3")
    return out


def is_wire(data: bytes) -> bool:
    """Whether :func:`parse_wire` reads the whole of ``data`` (the same rules, nothing built;
    a one-byte tag or varint, the common case, read without a loop)."""
    pos = 0
    end = len(data)
    while pos < end:
        tag = data[pos]
        pos += 1
        if tag & 0x80:  # a tag of several bytes
            tag, pos = _read_varint(data, pos - 1)
            if tag < 0:
                return False
        if not 1 <= tag >> 3 <= _MAX_FIELD:
            return False
        wire = tag & 7
        if wire == 2 or wire == 0:  # noqa: PLR1714 - two tests, cheaper than a set here
            if pos >= end:
                return False
            value = data[pos]
            pos += 1
            if value & 0x80:  # a varint value, or a length, of several bytes
                value, pos = _read_varint(data, pos - 1)
                if value < 0:
                    return False
            if wire == 2:
                pos += value
                if pos > end:
                    return False
        elif wire == 1 or wire == 5:  # noqa: PLR1714
            pos += 8 if wire == 1 else 4
            if pos > end:
                return False
        else:
            return False
    return True


def _value(wire: int, raw: Any, depth: int) -> Any:
    if wire == 0:
        return raw
    if wire == 1:
        (number,) = struct.unpack("<d", raw)
        return number if _plausible_float(number) else int.from_bytes(raw, "little")
    if wire == 5:
        (number,) = struct.unpack("<f", raw)
        return float(f"{number:.7g}") if _plausible_float(number) else int.from_bytes(raw, "little")
    return _len_value(raw, depth)


def _len_value(raw: bytes, depth: int) -> Any:
    if raw and depth < _MAX_DEPTH:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and all(ch.isprintable() or ch in "\n\t" for ch in text):
            return text
        try:
            return _as_dict(parse_wire(raw), depth + 1)
        except CodecError:
            pass
    elif not raw:
        return ""
    return bytes_value(raw)


def _as_dict(records: list[tuple[int, int, Any]], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, wire, raw in records:
        key = str(field)
        value = _value(wire, raw, depth)
        if key in out:
            previous = out[key]
            if isinstance(previous, list) and getattr(previous, "_repeated", False):
                previous.append(value)
            else:
                repeated = _Repeated([previous, value])
                out[key] = repeated
        else:
            out[key] = value
    return {key: list(value) if isinstance(value, _Repeated) else value for key, value in out.items()}


class _Repeated(list[Any]):
    _repeated = True


class WireCodec:
    name = "protobuf-wire"
    ceiling = 15
    label = "Protobuf wire format (no schema)"
    # The first tag's first byte: wire type 0, 1, 2 or 5 in its low bits, and a field
    # number of at least 1 (in these bits or, past the continuation bit, the next byte).
    leads = frozenset(b for b in range(8, 0x100) if b & 7 in (0, 1, 2, 5))

    def sniff(self, payload: bytes, context: DecodeContext) -> int:
        return 15 if payload and is_wire(payload) else 0

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded:
        try:
            records = parse_wire(payload)
        except CodecError as exc:
            raise CodecError(f"not Protobuf wire format: {exc}") from None
        value = _as_dict(records, 0)
        summary = ", ".join(f"{field}:{_WIRE_NAMES[wire]}" for field, wire, _ in records[:12])
        return Decoded(self.name, payload, value, note=summary)
