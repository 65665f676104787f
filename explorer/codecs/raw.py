"""The raw view, always available: the payload as hex and base64, never refused. No I/O."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from explorer.codecs.base import CodecError, DecodeContext, Decoded

__all__ = ["RAW_TEXT_LIMIT", "Base64Codec", "HexCodec", "RawCodec", "raw_text", "raw_value"]

RAW_TEXT_LIMIT = 4096
"""Payload bytes written out in the raw view's one-line text."""


class RawCodec:
    name = "raw"
    ceiling = 1
    label = "Raw bytes (hex / base64)"

    def sniff(self, payload: bytes, context: DecodeContext) -> int:
        return 1

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded:
        return self.view(payload, payload, self.name)

    @staticmethod
    def view(data: bytes, raw: bytes, name: str, note: str = "") -> Decoded:
        """The raw view of ``data`` (``raw`` as received, before any decompression),
        called ``name`` (``gzip+raw``...). The text is made when asked: a listing of a
        capture reads every payload for its JSON and never shows the text."""
        return Decoded(name, raw, raw_value(data), None, {}, None, None, note, raw_text)

    def encode(self, data: bytes) -> bytes:
        return data


def raw_value(data: bytes) -> dict[str, Any]:
    """The raw view's value: the size and the bytes in base64."""
    return {"bytes": len(data), "base64": binascii.b2a_base64(data, newline=False).decode("ascii")}


def raw_text(value: Any) -> str:
    """The raw view's one-line text (from its value): size, then the first bytes in hex."""
    payload = base64.b64decode(value["base64"])
    shown = payload[:RAW_TEXT_LIMIT].hex(" ")
    more = f" … ({len(payload):,} bytes)" if len(payload) > RAW_TEXT_LIMIT else ""
    return f"<{len(payload):,} B> {shown}{more}"


_HEX_SPACING = re.compile(r"[\s:]|0x", re.IGNORECASE)


class HexCodec:
    """Publishing only: text of hex digits (spaces, colons and ``0x`` allowed) to bytes."""

    name = "hex"
    label = "Hex digits"

    def encode_text(self, text: str) -> bytes:
        digits = _HEX_SPACING.sub("", text)
        try:
            return binascii.unhexlify(digits)
        except (binascii.Error, ValueError):
            raise CodecError("not hex: give pairs of hex digits, e.g. '01 ff 7a'") from None


class Base64Codec:
    """Publishing only: base64 text to bytes."""

    name = "base64"
    label = "Base64"

    def encode_text(self, text: str) -> bytes:
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise CodecError("not base64 text") from None
