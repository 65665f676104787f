"""Which codec reads a payload, and reading it: a topic rule, then the content type, then detection.

The order (most explicit first):

1. a :class:`CodecRule` whose topic filter matches the topic (the first one listed wins),
   from the profile or ``--codec FILTER=NAME[:MESSAGE]``;
2. the MQTT 5 Content Type property (MQTT 5.0 §3.3.2.3.9), e.g. ``application/msgpack``
   or ``application/x-protobuf; messageType=acme.Telemetry``;
3. detection: every codec says how likely the payload is its own and the likeliest wins;
   the raw view always qualifies.

A compression layer (gzip, zlib, zstd) is unwrapped first and the inner bytes go
through the same choice; the codec is then named ``gzip+json``. A codec chosen by a
rule or a content type that cannot read the payload gives a one-line ``error`` beside
the raw bytes; detection never does (it falls back to the next likeliest codec).
No I/O: ``.proto`` files are compiled by :mod:`explorer.codecs.protoc`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from explorer.codecs.base import Codec, CodecError, DecodeContext, Decoded
from explorer.codecs.compression import COMPRESSION_LEADS, Compression, compression_for, sniff_compression
from explorer.codecs.image import ImageCodec
from explorer.codecs.protobuf import ProtobufCodec, ProtoSchemas
from explorer.codecs.raw import Base64Codec, HexCodec, RawCodec
from explorer.codecs.rules import CODEC_NAMES, CodecRule, parse_codec_rule
from explorer.codecs.sparkplug import SparkplugCodec
from explorer.codecs.structured import CborCodec, JsonCodec, MsgpackCodec, TextCodec, from_json_text
from explorer.codecs.wire import WireCodec

__all__ = [
    "CODEC_NAMES",
    "ENCODABLE",
    "CodecRegistry",
    "CodecRule",
    "content_type_for",
    "parse_codec_rule",
    "parse_content_type",
]

_MAX_LAYERS = 3

ENCODABLE = ("text", "json", "msgpack", "cbor", "protobuf", "sparkplug", "hex", "base64", "raw")
"""Names ``pub --codec`` and the publish forms accept (``gzip+json`` etc. compress after)."""

_CONTENT_TYPES = {
    "application/json": "json",
    "text/json": "json",
    "application/msgpack": "msgpack",
    "application/x-msgpack": "msgpack",
    "application/vnd.msgpack": "msgpack",
    "application/cbor": "cbor",
    "application/x-protobuf": "protobuf",
    "application/protobuf": "protobuf",
    "application/x-google-protobuf": "protobuf",
    "application/vnd.google.protobuf": "protobuf",
    "application/gzip": "gzip",
    "application/x-gzip": "gzip",
    "application/zlib": "zlib",
    "application/zstd": "zstd",
    "application/octet-stream": "auto",
}
_MIME_OF = {
    "json": "application/json",
    "msgpack": "application/msgpack",
    "cbor": "application/cbor",
    "protobuf": "application/x-protobuf",
    "text": "text/plain; charset=utf-8",
    "sparkplug": "application/x-protobuf; messageType=org.eclipse.tahu.protobuf.Payload",
}


def parse_content_type(content_type: str) -> tuple[str | None, str | None]:
    """``(codec name, message type)`` a content type asks for; ``(None, None)`` when unknown."""
    mime, *params = (part.strip() for part in content_type.split(";"))
    mime = mime.lower()
    message = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() in ("messagetype", "proto", "message", "type"):
            message = value.strip().strip('"') or None
    if mime in _CONTENT_TYPES:
        return _CONTENT_TYPES[mime], message
    if mime.endswith("+json"):
        return "json", None
    if mime.endswith("+cbor"):
        return "cbor", None
    if mime.startswith("image/"):
        return "image", None
    if mime.startswith("text/"):
        return "text", None
    return None, None


def content_type_for(codec: str, message: str | None = None) -> str | None:
    """The MQTT 5 content type that says how a payload published with ``codec`` is encoded."""
    layers = codec.split("+")
    if len(layers) > 1 and layers[0] in ("gzip", "zlib", "zstd"):
        return {"gzip": "application/gzip", "zlib": "application/zlib", "zstd": "application/zstd"}[layers[0]]
    mime = _MIME_OF.get(codec)
    if codec == "protobuf" and message:
        return f"{mime}; messageType={message}"
    return mime


_ANY_BYTE = range(256)


def _ceiling(codec: Codec) -> int:
    """The best score a codec's ``sniff`` can give (100 when it does not say)."""
    return int(getattr(codec, "ceiling", 100))


_Ranked = tuple[tuple[int, int, Callable[[bytes, DecodeContext], int], Codec], ...]


def _per_lead(ranked: _Ranked) -> list[_Ranked]:
    """``ranked`` for each first byte of a payload: only the codecs whose ``leads`` admit it."""
    return [
        tuple(item for item in ranked if byte in getattr(item[3], "leads", _ANY_BYTE)) for byte in range(256)
    ]


def _attempt(codec: Codec, data: bytes, context: DecodeContext) -> Decoded | str:
    """The codec's decoding of ``data``, or why it cannot read it (one line)."""
    try:
        return codec.decode(data, context)
    except CodecError as exc:
        return str(exc)
    except RecursionError:
        return f"not {codec.label}: nested too deeply"


def _renamed(decoded: Decoded, name: str, raw: bytes, note: str) -> Decoded:
    """A codec's decoding under the name of its chain (``gzip+json``), the raw bytes as
    received, and why the codec was chosen."""
    return Decoded(
        name,
        raw,
        decoded.value,
        decoded.display,
        decoded.given_numbers,
        None,
        decoded.image,
        f"{note}, {decoded.note}" if note and decoded.note else note or decoded.note,
        decoded.text_of,
        decoded.numbers_of,
    )


class CodecRegistry:
    """The codecs, the rules and the loaded Protobuf schemas; decodes and encodes payloads."""

    def __init__(
        self,
        rules: Iterable[CodecRule] = (),
        schemas: ProtoSchemas | None = None,
    ) -> None:
        self.rules: tuple[CodecRule, ...] = tuple(rules)
        self.schemas = schemas if schemas is not None else ProtoSchemas()
        self.protobuf = ProtobufCodec(self.schemas)
        self.codecs: dict[str, Codec] = {
            codec.name: codec
            for codec in (
                ImageCodec(),
                SparkplugCodec(),
                JsonCodec(),
                MsgpackCodec(),
                CborCodec(),
                TextCodec(),
                self.protobuf,
                WireCodec(),
                RawCodec(),
            )
        }
        for rule in self.rules:
            if rule.message:
                self.schemas.resolve(rule.message)  # an unknown type is an error now, not per message
        # (ceiling, position, sniff, codec), best ceiling first; a codec whose best score
        # is 0 is never chosen by detection, so it is not asked.
        self._by_ceiling = tuple(
            (_ceiling(codec), index, codec.sniff, codec)
            for index, codec in sorted(enumerate(self.codecs.values()), key=lambda item: -_ceiling(item[1]))
            if _ceiling(codec) > 0 and type(codec) is not RawCodec  # the raw view: what is left
        )
        # The same, per first byte of the payload: only the codecs whose ``leads`` admit it.
        self._by_lead = _per_lead(self._by_ceiling)
        # Both again without the codecs that read only topics under a prefix (Sparkplug B),
        # for every other topic.
        self._prefixes = tuple(
            {str(getattr(codec, "topic_prefix", "")) for codec in self.codecs.values()} - {""}
        )
        self._plain_by_ceiling = tuple(
            item for item in self._by_ceiling if not getattr(item[3], "topic_prefix", "")
        )
        self._plain_by_lead = _per_lead(self._plain_by_ceiling)

    def rule_for(self, topic: str) -> CodecRule | None:
        for rule in self.rules:
            if rule.matches(topic):
                return rule
        return None

    def decode(
        self,
        payload: bytes,
        topic: str = "",
        content_type: str | None = None,
        *,
        aliases: Mapping[int, tuple[str, int]] | None = None,
    ) -> Decoded:
        """Read a payload (the codec chosen as the module doc says); never raises."""
        rule = self.rule_for(topic) if topic else None
        context = DecodeContext(topic, content_type, None, aliases)
        if rule is not None and rule.codec != "auto":
            context = DecodeContext(topic, content_type, rule.message, aliases)
            return self._named(rule.codec, payload, context, f"rule {rule.topic_filter}")
        if rule is None and content_type:
            name, message = parse_content_type(content_type)
            if name is not None and name != "auto":
                context = DecodeContext(topic, content_type, message, aliases)
                return self._named(name, payload, context, "content type")
        return self._detect(payload, context, [], payload)

    def detect(self, payload: bytes, context: DecodeContext) -> Decoded:
        """What :meth:`decode` gives when no rule names a codec and there is no content
        type (the caller checked: :meth:`rule_for`); ``context`` may serve many payloads."""
        return self._detect(payload, context, [], payload)

    def _named(self, spec: str, payload: bytes, context: DecodeContext, note: str) -> Decoded:
        layers: list[str] = []
        data = payload
        names = spec.split("+")
        for name in names:
            compression = compression_for(name)
            if compression is not None:
                try:
                    data = compression.unwrap(data)
                except CodecError as exc:
                    return Decoded("+".join([*layers, name]), payload, error=str(exc), note=note)
                layers.append(compression.name)
                if name == names[-1]:
                    return self._detect(data, context, layers, payload, note)
                continue
            if name == "auto":
                return self._detect(data, context, layers, payload, note)
            return self._run(self.codecs[name], data, context, layers, payload, note=note)
        return self._detect(data, context, layers, payload, note)

    def _run(
        self, codec: Codec, data: bytes, context: DecodeContext, layers: list[str], raw: bytes, *, note: str
    ) -> Decoded:
        name = "+".join([*layers, codec.name]) if layers else codec.name
        if type(codec) is RawCodec:  # never refuses; made once, not made then renamed
            return codec.view(data, raw, name, note)
        decoded = _attempt(codec, data, context)
        if type(decoded) is str:
            return Decoded(name, raw, error=decoded, note=note)
        return _renamed(decoded, name, raw, note)  # type: ignore[arg-type]

    def _detect(
        self,
        data: bytes,
        context: DecodeContext,
        layers: list[str],
        raw: bytes,
        note: str = "detected",
    ) -> Decoded:
        data, layers, codec, decoded = self._pick(data, context, layers)
        name = "+".join([*layers, codec.name]) if layers else codec.name
        if decoded is None:
            return RawCodec.view(data, raw, name, note)
        return _renamed(decoded, name, raw, note)

    def choose(self, payload: bytes, context: DecodeContext) -> tuple[str, bytes, Decoded | None]:
        """What :meth:`detect` picks, for writers that need no :class:`Decoded` for the raw
        view (the common case of binary payloads): the codec's name (``gzip+json``), the
        bytes it read (inflated) and its decoding, None for the raw view of those bytes."""
        data, layers, codec, decoded = self._pick(payload, context, [])
        return ("+".join([*layers, codec.name]) if layers else codec.name), data, decoded

    def _pick(
        self, data: bytes, context: DecodeContext, layers: list[str]
    ) -> tuple[bytes, list[str], Codec, Decoded | None]:
        """What detection picks: the bytes left once compression layers are unwrapped, the
        layers, the codec and its decoding of those bytes (None for the raw view)."""
        while len(layers) < _MAX_LAYERS and data and data[0] in COMPRESSION_LEADS:
            compression = sniff_compression(data)
            if compression is None:
                break
            inner = self._unwrap(compression, data)
            if inner is None:
                break
            data, layers = inner, [*layers, compression.name]
        # Ask the codecs in order of the best score each can give, and stop asking once the
        # likeliest so far beats every codec not yet asked; on a failed decoding, go on. The
        # raw view, which every payload is, is not asked: it is what is left.
        if self._prefixes and context.topic.startswith(self._prefixes):
            order = self._by_lead[data[0]] if data else self._by_ceiling
        else:
            order = self._plain_by_lead[data[0]] if data else self._plain_by_ceiling
        raw_view = self.codecs["raw"]
        scored: list[tuple[int, int, Codec]] = []  # (-score, position, codec): best first once sorted
        asked = best = 0
        for ceiling, index, sniff, codec in order:
            if best >= ceiling:
                break
            asked += 1
            score = sniff(data, context)
            if score > 0:
                scored.append((-score, index, codec))
                best = max(best, score)
        if not scored:
            return data, layers, raw_view, None  # the common case: nothing else reads it
        scored.sort()  # positions differ: codecs themselves are never compared
        while scored:
            codec = scored.pop(0)[2]
            decoded = _attempt(codec, data, context)
            if type(decoded) is not str:
                return data, layers, codec, decoded  # type: ignore[return-value]
            for ceiling, index, sniff, codec in order[asked:]:
                if scored and -scored[0][0] >= ceiling:
                    break
                asked += 1
                score = sniff(data, context)
                if score > 0:
                    scored.append((-score, index, codec))
                    scored.sort()
        return data, layers, raw_view, None

    @staticmethod
    def _unwrap(compression: Compression, data: bytes) -> bytes | None:
        try:
            return compression.unwrap(data)
        except CodecError:
            return None

    def encode(self, spec: str, text: str | bytes, message: str | None = None) -> bytes:
        """Encode user input for publishing: JSON text for structured codecs, hex/base64 text, bytes.

        ``spec`` may start with compressions: ``gzip+json`` encodes JSON and then gzips it.

        Raises:
            CodecError: the input does not fit the codec (one line).
        """
        names = spec.lower().split("+")
        *wrappers, name = names
        if name not in ENCODABLE:
            raise CodecError(f"cannot publish as {spec!r}: use one of {', '.join(ENCODABLE)}")
        compressions = []
        for wrapper in wrappers:
            compression = compression_for(wrapper)
            if compression is None:
                raise CodecError(f"{wrapper!r} is not a compression: use gzip, zlib or zstd")
            compressions.append(compression)
        data = self._encode_one(name, text, message)
        for compression in reversed(compressions):
            data = compression.wrap(data)
        return data

    def _encode_one(self, name: str, text: str | bytes, message: str | None) -> bytes:
        if name == "raw":
            return text if isinstance(text, bytes) else text.encode("utf-8")
        as_text = text.decode("utf-8", "strict") if isinstance(text, bytes) else text
        if name == "hex":
            return HexCodec().encode_text(as_text)
        if name == "base64":
            return Base64Codec().encode_text(as_text)
        if name == "text":
            return as_text.encode("utf-8")
        value = from_json_text(as_text)
        if name == "json":
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if name == "msgpack":
            return MsgpackCodec().encode(value)
        if name == "cbor":
            return CborCodec().encode(value)
        if name == "sparkplug":
            return SparkplugCodec().encode(value)
        return self.protobuf.encode(value, message)

    def message_names(self) -> Sequence[str]:
        return self.schemas.message_names

    def decode_to_json(
        self, payload: bytes, topic: str = "", content_type: str | None = None
    ) -> dict[str, Any]:
        return self.decode(payload, topic, content_type).to_json()
