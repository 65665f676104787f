"""The raw view, always available: the payload as hex and base64, never refused. No I/O."""

from __future__ import annotations

import base64
import binascii
import re

from explorer.codecs.base import CodecError, DecodeContext, Decoded

__all__ = ["RAW_TEXT_LIMIT", "Base64Codec", "HexCodec", "RawCodec"]

RAW_TEXT_LIMIT = 4096
"""Payload bytes written out in the raw view's one-line text."""


class RawCodec:
    name = "raw"
    ceiling = 1
    label = "Raw bytes (hex / base64)"

    def sniff(self, payload: bytes, context: DecodeContext) -> int:
        return 1

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded:
        shown = payload[:RAW_TEXT_LIMIT].hex(" ")
        more = f" … ({len(payload):,} bytes)" if len(payload) > RAW_TEXT_LIMIT else ""
        value = {"bytes": len(payload), "base64": base64.b64encode(payload).decode("ascii")}
        return Decoded(self.name, payload, value, f"<{len(payload):,} B> {shown}{more}", {})

    def encode(self, data: bytes) -> bytes:
        return data


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
