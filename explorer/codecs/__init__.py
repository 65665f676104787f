"""Payload codecs: what the bytes of an MQTT payload mean.

:class:`CodecRegistry` chooses a codec for a payload (a topic rule, then the MQTT 5
content type, then detection) and decodes it to a :class:`Decoded`: a JSON-like value,
a display text, the numeric fields found and, for images, the format and size. Built
in: UTF-8 text, JSON, MessagePack, CBOR, Protobuf with the user's ``.proto`` files and a
schema-less wire view, Sparkplug B (with state across messages in
:mod:`explorer.codecs.sparkplug_state`), gzip/zlib/zstd layers, PNG/JPEG/GIF/WebP
headers, and raw bytes. Decoding is Sans-I/O; :mod:`explorer.codecs.protoc` compiles
``.proto`` files (file and process I/O).

The names below are imported on first use, so that a command that decodes nothing does
not load the codec libraries (:mod:`explorer.codecs.rules` is light).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from explorer.codecs.base import CodecError, DecodeContext, Decoded, ImageInfo
    from explorer.codecs.protobuf import ProtoSchemas
    from explorer.codecs.registry import (
        ENCODABLE,
        CodecRegistry,
        content_type_for,
        parse_content_type,
    )
    from explorer.codecs.rules import CODEC_NAMES, CodecRule, parse_codec_rule

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

_WHERE = {
    "CodecError": "base",
    "DecodeContext": "base",
    "Decoded": "base",
    "ImageInfo": "base",
    "ProtoSchemas": "protobuf",
    "ENCODABLE": "registry",
    "CodecRegistry": "registry",
    "content_type_for": "registry",
    "parse_content_type": "registry",
    "CODEC_NAMES": "rules",
    "CodecRule": "rules",
    "parse_codec_rule": "rules",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'explorer.codecs' has no attribute {name!r}")
    return getattr(importlib.import_module(f"explorer.codecs.{module}"), name)
