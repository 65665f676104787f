"""Payload codecs: what the bytes of an MQTT payload mean.

:class:`CodecRegistry` chooses a codec for a payload (a topic rule, then the MQTT 5
content type, then detection) and decodes it to a :class:`Decoded`: a JSON-like value,
a display text, the numeric fields found and, for images, the format and size. Built
in: UTF-8 text, JSON, MessagePack, CBOR, Protobuf with the user's ``.proto`` files and a
schema-less wire view, Sparkplug B (with state across messages in
:mod:`explorer.codecs.sparkplug_state`), gzip/zlib/zstd layers, PNG/JPEG/GIF/WebP
headers, and raw bytes. Decoding is Sans-I/O; :mod:`explorer.codecs.protoc` compiles
``.proto`` files (file and process I/O).
"""

from __future__ import annotations

from explorer.codecs.base import CodecError, DecodeContext, Decoded, ImageInfo
from explorer.codecs.protobuf import ProtoSchemas
from explorer.codecs.registry import (
    CODEC_NAMES,
    ENCODABLE,
    CodecRegistry,
    CodecRule,
    content_type_for,
    parse_codec_rule,
    parse_content_type,
)

__all__ = [
    "CODEC_NAMES",
    "ENCODABLE",
    "CodecError",
    "CodecRegistry",
    "CodecRule",
    "DecodeContext",
    "Decoded",
    "ImageInfo",
    "ProtoSchemas",
    "content_type_for",
    "parse_codec_rule",
    "parse_content_type",
]
