"""Codecs for structured data: UTF-8 text, JSON, MessagePack and CBOR.

Detection (``sniff``) is conservative, so a binary payload is not mistaken for another
format: MessagePack and CBOR count only when the whole payload is one item whose top
level is a map or an array (their first bytes differ: a MessagePack map is ``0x80-0x8f``
/ ``0xde`` / ``0xdf``, a CBOR map ``0xa0-0xbf``), and the CBOR self-describe tag
(RFC 8949 §3.4.6, ``d9 d9 f7``) is certain. No I/O.
"""

from __future__ import annotations

import io
import json
import math
import re
from typing import Any

import cbor2
import msgpack
import orjson

from explorer.codecs.base import CodecError, DecodeContext, Decoded, jsonable

__all__ = ["CborCodec", "JsonCodec", "MsgpackCodec", "TextCodec", "cbor_item_end", "from_json_text"]

_MAX_DEPTH = 200
_JSON_HEADS = b'{["-0123456789tfn'  # the first byte of a JSON text (RFC 8259 §2), whitespace aside
# A C0 control character or DEL: never printable, so never in a text payload's first 4096
# characters (tab, newline and CR aside).
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A C0 control character outside tab, newline and CR: JSON allows it neither between
# tokens nor, unescaped, in a string (RFC 8259 §2, §7), so UTF-8 bytes holding one are not JSON.
_JSON_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Nineteen digits in a row: maybe an integer beyond 64 bits, which orjson reads as a float.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")
_SPACES = str.maketrans("\t\n\r", "   ")
_NOT_READ = object()  # what a quick read gives for a payload that is not of its codec


def _utf8(payload: bytes) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CodecError(f"not UTF-8 text: byte 0x{payload[exc.start]:02x} at offset {exc.start}") from None


def _printable(text: str) -> bool:
    """Whether the first 4096 characters are printable or tab, newline and CR."""
    head = text[:4096]
    return head.isprintable() or head.translate(_SPACES).isprintable()


def from_json_text(text: str) -> Any:
    """Parse JSON typed by the user (for ``pub --codec``); a clear one-line error otherwise."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodecError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise CodecError("not JSON: nested too deeply") from None


class TextCodec:
    name = "text"
    ceiling = 30
    label = "UTF-8 text"
    # A printable first character: tab, newline, CR, ASCII 0x20-0x7e, or a UTF-8 lead byte
    # of a longer character (RFC 3629 §4: 0xc2-0xf4).
    leads = frozenset(b"\t\n\r" + bytes(range(0x20, 0x7F)) + bytes(range(0xC2, 0xF5)))

    def sniff(self, payload: bytes, context: DecodeContext) -> int:
        if _CONTROL.search(payload, 0, 4096) is not None:
            return 0  # a control byte in the first 4096 bytes is within the first 4096 characters
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            return 0
        return 30 if _printable(text) else 0

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded:
        text = _utf8(payload)
        numbers: dict[str, float] = {}
        try:
            number = float(text)
            if math.isfinite(number):
                numbers["value"] = number
        except ValueError:
            pass
        return Decoded(self.name, payload, text, text, numbers)

    def encode(self, value: Any) -> bytes:
        return (value if isinstance(value, str) else json.dumps(value)).encode("utf-8")


class JsonCodec:
    name = "json"
    ceiling = 60
    label = "JSON"
    leads = frozenset(_JSON_HEADS + b" \t\n\r\x0b\x0c")  # what bytes.lstrip() strips, too

    def __init__(self) -> None:
        self._memo: tuple[bytes, Any] | None = None

    def sniff(self, payload: bytes, context: DecodeContext) -> int:
        head = payload[:1]
        if head not in _JSON_HEADS or not head:
            head = payload.lstrip()[:1]
            if not head or head not in _JSON_HEADS:
                return 0
        value = _json_value(payload)
        if value is _NOT_READ:
            return 0
        self._memo = (payload, value)  # decode() right after reads the same bytes
        return 60

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded:
        memo, self._memo = self._memo, None
        if memo is not None and memo[0] is payload:
            return Decoded(self.name, payload, memo[1])
        value = _NOT_READ
        if _LONG_DIGITS.search(payload) is None:
            try:  # valid UTF-8 and JSON to orjson: what the standard reader gives (see _json_value)
                value = orjson.loads(payload)
            except orjson.JSONDecodeError:
                pass
        if value is _NOT_READ:
            value = from_json_text(_utf8(payload))  # and the standard reader's reason where it fails
        return Decoded(self.name, payload, value)

    def encode(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _json_value(payload: bytes) -> Any:
    """What ``json.loads(payload)`` gives, or :data:`_NOT_READ` where it raises; read by
    orjson where that gives the same value (the standard reader decides the rest)."""
    if _read_as_utf8(payload):
        found = _JSON_CONTROL.search(payload)
        if found is not None:
            return _NOT_READ
        if _LONG_DIGITS.search(payload) is None:
            try:
                return orjson.loads(payload)
            except orjson.JSONDecodeError:
                pass  # NaN, Infinity, 1e400, lone surrogates: the standard reader reads these
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        return _NOT_READ


def _read_as_utf8(payload: bytes) -> bool:
    """Whether ``json.loads`` reads these bytes as UTF-8 (no BOM, no NUL among the first
    two bytes: the encoding ``json.detect_encoding`` gives, RFC 8259 §8.1)."""
    if payload[:3] == b"\xef\xbb\xbf" or payload[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return False
    return len(payload) < 2 or len(payload) == 3 or bool(payload[0] and payload[1])


class MsgpackCodec:
    name = "msgpack"
    ceiling = 55
    leads = frozenset(range(0x80, 0xA0)) | frozenset(b"\xdc\xdd\xde\xdf")  # maps and arrays

    def __init__(self) -> None:
        self._memo: tuple[bytes, Any] | None = None

    label = "MessagePack"

    def sniff(self, payload: bytes, context: DecodeContext) -> int:
        if not payload or payload[0] not in self.leads:  # fixmap, fixarray, array 16/32, map 16/32
            return 0
        try:  # one quick read: where it fails, the precise second read of _unpack fails too
            value = msgpack.unpackb(payload, raw=False, strict_map_key=False, timestamp=3)
        except (ValueError, msgpack.UnpackException, TypeError, RecursionError):
            return 0
        self._memo = (payload, value)  # decode() right after reads the same bytes
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
            return 55
        return 25

    @staticmethod
    def _unpack(payload: bytes) -> Any:
        try:
            return msgpack.unpackb(payload, raw=False, strict_map_key=False, timestamp=3)
        except RecursionError:
            raise CodecError("not MessagePack: nested too deeply") from None
        except (ValueError, msgpack.UnpackException, TypeError):
            pass  # read again step by step, for a precise reason
        unpacker = msgpack.Unpacker(
            raw=False, strict_map_key=False, timestamp=3, max_buffer_size=max(len(payload), 1024)
        )
        unpacker.feed(payload)
        try:
            value = unpacker.unpack()
        except msgpack.OutOfData:
            raise CodecError(f"MessagePack data cut short ({len(payload)} bytes)") from None
        except (ValueError, msgpack.UnpackException, TypeError) as exc:
            raise CodecError(f"not MessagePack: {_first_line(exc)}") from None
        except RecursionError:
            raise CodecError("not MessagePack: nested too deeply") from None
        extra = len(payload) - unpacker.tell()
        if extra:
            raise CodecError(f"not one MessagePack item: {extra} bytes after the first")
        return value

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded:
        memo, self._memo = self._memo, None
        value = memo[1] if memo is not None and memo[0] is payload else self._unpack(payload)
        return Decoded(self.name, payload, jsonable(value))

    def encode(self, value: Any) -> bytes:
        return bytes(msgpack.packb(value, use_bin_type=True))


class CborCodec:
    name = "cbor"
    ceiling = 95
    leads = frozenset(range(0x80, 0xC0)) | {0xD9}  # arrays, maps, the self-describe tag

    def __init__(self) -> None:
        self._memo: tuple[bytes, Any] | None = None
        self._cbor_topics: set[str] = set()  # topics whose last payload asked about was CBOR

    label = "CBOR"

    def sniff(self, payload: bytes, context: DecodeContext) -> int:
        if payload[:3] == b"\xd9\xd9\xf7":  # self-described CBOR, RFC 8949 §3.4.6
            return 95
        if not payload or not (0x80 <= payload[0] <= 0xBF):
            return 0
        # The head walk refuses what _load refuses, several times quicker than _load fails;
        # on a topic that carries CBOR, _load is asked at once (it reads CBOR quicker).
        topics = self._cbor_topics
        topic = context.topic
        if topic not in topics and cbor_item_end(payload) != len(payload):
            return 0  # cut short, not well formed, or more than one item
        try:
            value = self._load(payload)
        except CodecError:
            topics.discard(topic)
            return 0
        if topic not in topics:
            if len(topics) >= 4096:
                topics.clear()
            topics.add(topic)
        self._memo = (payload, value)  # decode() right after reads the same bytes
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
            return 55
        return 20

    @staticmethod
    def _load(payload: bytes) -> Any:
        stream = io.BytesIO(payload)
        try:
            value = cbor2.CBORDecoder(stream).decode()
        except RecursionError:
            raise CodecError("not CBOR: nested too deeply") from None
        except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, EOFError) as exc:
            raise CodecError(f"not CBOR: {_first_line(exc)}") from None
        extra = len(payload) - stream.tell()
        if extra:
            raise CodecError(f"not one CBOR item: {extra} bytes after the first")
        return value

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded:
        memo, self._memo = self._memo, None
        value = memo[1] if memo is not None and memo[0] is payload else self._load(payload)
        return Decoded(self.name, payload, jsonable(self._tagged(value)))

    def _tagged(self, value: Any) -> Any:
        if isinstance(value, cbor2.CBORTag):
            return {"$tag": value.tag, "value": self._tagged(value.value)}
        if isinstance(value, cbor2.CBORSimpleValue):
            return {"$simple": int(value.value)}
        if isinstance(value, dict):
            return {k: self._tagged(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._tagged(v) for v in value]
        return value

    def encode(self, value: Any) -> bytes:
        return bytes(cbor2.dumps(value))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# What each initial byte of a CBOR item starts (RFC 8949 §3), for cbor_item_end: the kind
# and a number (bytes to skip, items due, or the size of the length that follows).
_SKIP, _ITEMS, _TAG, _LONG_STRING, _LONG_ARRAY, _LONG_MAP, _INDEFINITE, _BREAK, _BAD = range(9)


def _cbor_head(initial: int) -> tuple[int, int]:
    major, info = initial >> 5, initial & 0x1F
    if initial == 0xFF:  # break (§3.2.1): ends an indefinite item, nothing else
        return _BREAK, 0
    if info == 31 and 2 <= major <= 5:  # indefinite string, array or map (§3.2)
        return _INDEFINITE, 0
    if info >= 28:  # reserved, or an indefinite integer or tag: not well formed (Appendix C)
        return _BAD, 0
    if info >= 24:  # the argument in the next 1, 2, 4 or 8 bytes
        size = 1 << (info - 24)
        kinds = {2: _LONG_STRING, 3: _LONG_STRING, 4: _LONG_ARRAY, 5: _LONG_MAP, 6: _TAG}
        return kinds.get(major, _SKIP), size
    if major in {2, 3}:  # a byte or text string of up to 23 bytes
        return _SKIP, info
    if major in {4, 5}:  # an array or a map of up to 23 items or pairs
        return _ITEMS, info if major == 4 else 2 * info
    return (_TAG, 0) if major == 6 else (_SKIP, 0)


_CBOR_HEADS = tuple(_cbor_head(initial) for initial in range(256))


def cbor_item_end(data: bytes) -> int:
    """Where the first CBOR data item of ``data`` ends, read from its heads alone (RFC 8949
    §3), or -1 when it is not well formed (Appendix C: cut short, a reserved additional
    information value 28-30, an indefinite length on an integer or a tag, a break code
    where an item is due). Cheap: a decoder refuses what this refuses, so detection asks
    a decoder only about payloads that are one well-formed item."""
    heads = _CBOR_HEADS
    end = len(data)
    pos = 0
    todo = [1]  # items still due at each open level; -1: an indefinite one, until a break
    while todo:
        due = todo[-1]
        if not due:
            todo.pop()
            continue
        if pos >= end:
            return -1
        kind, number = heads[data[pos]]
        pos += 1
        if kind == _BREAK:
            if due != -1:
                return -1
            todo.pop()
            continue
        if due > 0:
            todo[-1] = due - 1
        if kind == _SKIP:  # an integer, a simple value, a float, a short string
            pos += number
            if pos > end:
                return -1
        elif kind == _ITEMS:  # each item takes a byte at least
            if number > end - pos:
                return -1
            if number:
                todo.append(number)
        elif kind == _TAG:  # a tag, then its item
            pos += number
            if pos > end:
                return -1
            todo.append(1)
        elif kind == _INDEFINITE:
            todo.append(-1)
        elif kind == _BAD:
            return -1
        else:  # a string's length or an array's or a map's count in the next bytes
            if pos + number > end:
                return -1
            argument = int.from_bytes(data[pos : pos + number], "big")
            pos += number
            if kind == _LONG_STRING:
                pos += argument
                if pos > end:
                    return -1
            else:
                items = argument if kind == _LONG_ARRAY else 2 * argument
                if items > end - pos:
                    return -1
                if items:
                    todo.append(items)
    return pos
