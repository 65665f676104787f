"""The vocabulary every payload codec shares: what a decoding gives, and the codec protocol.

A codec turns payload bytes into a :class:`Decoded`: a JSON-like ``value`` (dicts with
string keys, lists, str, int, float, bool, None), a ``text`` to show, and the numeric
leaves found (``path -> number``, paths as :func:`explorer.present.payload.numeric_fields`
writes them: ``a.b``, ``readings[0].t``). The raw payload always travels beside the
decoded view, untouched. A payload a codec cannot read gives a ``Decoded`` with a
one-line ``error`` and no value, never an exception that reaches the user.

What belongs here: the data types and helpers to make values JSON-like. Each codec
lives in its own module; :mod:`explorer.codecs.registry` chooses one. No I/O.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "Codec",
    "CodecError",
    "DecodeContext",
    "Decoded",
    "ImageInfo",
    "bytes_value",
    "display_json",
    "find_numbers",
    "jsonable",
]

DISPLAY_LIMIT = 64 * 1024
"""Characters of display text kept per decoding; the value itself is never cut."""


class CodecError(Exception):
    """A payload is not what its codec reads; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What an image header says: format, pixel size and, where the header has one, the mode."""

    format: str  # "png", "jpeg", "gif", "webp"
    width: int
    height: int
    mime: str
    detail: str = ""  # e.g. "8-bit RGBA", "animated"


@dataclass(frozen=True, slots=True)
class Decoded:
    """One payload read by one codec (or a chain: ``gzip+json``).

    ``raw`` is the payload exactly as received; ``error`` is a one-line reason when the
    codec could not read it (then ``value`` is None and ``text`` is empty).
    """

    codec: str
    raw: bytes
    value: Any = None
    display: str | None = None  # the display text when the codec made one; else made from value
    given_numbers: Mapping[str, float] | None = None  # when the codec found them; else from value
    error: str | None = None
    image: ImageInfo | None = None
    note: str = ""  # why this codec was chosen: "rule sensors/#", "content type", "detected"
    text_of: Callable[[Any], str] | None = None  # the codec's own display text, made when asked
    numbers_of: Callable[[Any], Mapping[str, float]] | None = None  # its own numeric fields, likewise

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def text(self) -> str:
        """The display text: one line of JSON for structured values (made when asked)."""
        if self.display is not None:
            return self.display
        if self.error is not None:
            return ""
        if self.text_of is not None:
            return self.text_of(self.value)
        return display_json(self.value)

    @property
    def numbers(self) -> Mapping[str, float]:
        """The numeric fields by path (made when asked: charts and searches ask)."""
        if self.given_numbers is not None:
            return self.given_numbers
        if self.error is not None:
            return {}
        if self.numbers_of is not None:
            return self.numbers_of(self.value)
        return find_numbers(self.value)

    def to_json(self) -> dict[str, Any]:
        """``codec`` and ``decoded`` (or ``decode_error``) for JSON lines and exports."""
        out: dict[str, Any] = {"codec": self.codec}
        if self.error is not None:
            out["decode_error"] = self.error
        else:
            out["decoded"] = self.value
        return out


@dataclass(frozen=True, slots=True)
class DecodeContext:
    """What a codec may look at besides the bytes: the topic, the MQTT 5 content type,
    the Protobuf message type asked for, and state kept across messages (Sparkplug)."""

    topic: str = ""
    content_type: str | None = None
    message_type: str | None = None
    aliases: Mapping[int, tuple[str, int]] | None = None  # Sparkplug alias -> (name, datatype)


class Codec(Protocol):
    """A payload codec. ``name`` is what rules, ``--codec`` and JSON output call it."""

    name: str
    label: str
    ceiling: int  # the best score sniff() can give: detection stops asking once beaten
    # Optional, ``leads: frozenset[int]``: the first bytes of a non-empty payload sniff()
    # may score above 0; detection does not ask the codec about payloads starting otherwise.
    # Optional, ``topic_prefix: str``: sniff() scores 0 for topics not starting so;
    # detection does not ask the codec about other topics.

    def sniff(self, payload: bytes, context: DecodeContext) -> int:
        """How likely the payload is this codec's own: 0 (no) to 100 (certain)."""
        ...

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded:
        """Read the payload; raise :class:`CodecError` with a one-line reason if it is not."""
        ...


def bytes_value(data: bytes) -> dict[str, str]:
    """Binary data inside a decoded value, as a JSON-like object."""
    return {"$base64": base64.b64encode(data).decode("ascii")}


def jsonable(value: Any, depth: int = 0) -> Any:
    """A decoded value with only JSON types: bytes, tuples, sets, dates, non-string keys converted."""
    kind = type(value)
    if kind is str or kind is float or kind is bool or value is None:
        return value
    if kind is int:
        return value if -(2**63) <= value < 2**64 else str(value)  # JSON writers stop at 64 bits
    if depth > 200:
        raise CodecError("nested more than 200 levels deep")
    if kind is dict:
        return {k if type(k) is str else _key(k): jsonable(v, depth + 1) for k, v in value.items()}
    if kind is list:
        return [jsonable(v, depth + 1) for v in value]
    return _other(value, depth)


def _other(value: Any, depth: int) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return jsonable(int(value), depth)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_value(bytes(value))
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return [jsonable(v, depth + 1) for v in sorted(value, key=repr)]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, (bytes, bytearray)):
        return bytes(key).hex()
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def find_numbers(value: Any, prefix: str = "", out: dict[str, float] | None = None) -> dict[str, float]:
    """The numeric leaves of a JSON-like value by path; a bare number is ``value``."""
    out = {} if out is None else out
    if isinstance(value, bool):
        return out
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isfinite(number):
            out[prefix or "value"] = number
        return out
    if isinstance(value, dict):
        if set(value) == {"$base64"}:
            return out
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("$"):
                continue  # markers of decoded bytes, tags and extension types
            find_numbers(item, f"{prefix}.{key}" if prefix else str(key), out)
            if len(out) >= 10_000:
                break
    elif isinstance(value, list):
        for index, item in enumerate(value):
            find_numbers(item, f"{prefix}[{index}]", out)
            if len(out) >= 10_000:
                break
    return out


def display_json(value: Any) -> str:
    """One line of JSON for display, capped at :data:`DISPLAY_LIMIT` characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > DISPLAY_LIMIT:
        text = text[:DISPLAY_LIMIT] + f" … {len(text) - DISPLAY_LIMIT:,} more characters"
    return text
