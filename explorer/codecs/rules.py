"""Codec rules: which codec reads the payloads of a topic filter (light: no codec is imported).

Profiles and the command line hold rules; :class:`explorer.codecs.registry.CodecRegistry`
applies them. ``FILTER=NAME[:MESSAGE]`` is the command-line form.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.errors import ExplorerError
from explorer.mqtt.topics import topic_matches, validate_topic_filter

__all__ = ["CODEC_NAMES", "CodecRule", "parse_codec_rule"]

CODEC_NAMES = (
    "auto",
    "text",
    "json",
    "msgpack",
    "cbor",
    "protobuf",
    "protobuf-wire",
    "sparkplug",
    "gzip",
    "zlib",
    "zstd",
    "image",
    "raw",
)
"""Names a rule or ``--codec`` may give. ``auto`` is detection; ``gzip``/``zlib``/``zstd``
unwrap and then detect (``gzip+msgpack`` names the inner codec too)."""


@dataclass(frozen=True, slots=True)
class CodecRule:
    """Decode messages on ``topic_filter`` with ``codec`` (and, for Protobuf, ``message``
    from ``proto_files``, which a profile keeps with the rule)."""

    topic_filter: str
    codec: str
    message: str | None = None
    proto_files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        base = self.codec.split("+")
        if any(name not in CODEC_NAMES for name in base):
            raise ExplorerError(f"unknown codec {self.codec!r}: use one of {', '.join(CODEC_NAMES)}")
        if self.message and base[-1] != "protobuf":
            raise ExplorerError(f"codec {self.codec!r} takes no message type (only protobuf does)")

    def matches(self, topic: str) -> bool:
        return topic_matches(self.topic_filter, topic)

    def to_text(self) -> str:
        return f"{self.topic_filter}={self.codec}" + (f":{self.message}" if self.message else "")


def parse_codec_rule(text: str) -> CodecRule:
    """``FILTER=NAME[:MESSAGE]`` (as ``--codec`` takes it) to a rule; one-line error otherwise."""
    topic_filter, sep, spec = text.rpartition("=")
    if not sep or not topic_filter or not spec:
        raise ExplorerError(f"{text!r}: write FILTER=NAME[:MESSAGE], e.g. 'sensors/#=msgpack'")
    name, _, message = spec.partition(":")
    try:
        validate_topic_filter(topic_filter)
    except ExplorerError as exc:
        raise ExplorerError(f"{text!r}: invalid topic filter: {exc}") from None
    try:
        return CodecRule(topic_filter, name.strip().lower(), message.strip() or None)
    except ExplorerError as exc:
        raise ExplorerError(f"{text!r}: {exc}") from None
