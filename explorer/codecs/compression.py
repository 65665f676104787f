"""Compressed payloads: gzip (RFC 1952), zlib/deflate (RFC 1950) and zstd (RFC 8878).

A compression layer is not a codec of its own: :mod:`explorer.codecs.registry` unwraps
it and hands the inner bytes to the next codec, naming the chain ``gzip+json``. Output
is capped (:data:`MAX_INFLATED`) so a small payload cannot expand into gigabytes. No I/O.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import zstandard

from explorer.codecs.base import CodecError

__all__ = [
    "COMPRESSIONS",
    "COMPRESSION_LEADS",
    "MAX_INFLATED",
    "Compression",
    "compression_for",
    "sniff_compression",
]

MAX_INFLATED = 64 * 1024 * 1024
"""Most bytes a compressed payload may expand to before it is refused."""

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # RFC 8878 §3.1.1
# The first bytes :func:`sniff_compression` may accept: gzip's ID1, zstd's magic, and a
# zlib CMF byte (CM=8, CINFO<=7: 0x08, 0x18 ... 0x78).
COMPRESSION_LEADS = frozenset({0x1F, 0x28, *range(0x08, 0x80, 0x10)})


@dataclass(frozen=True, slots=True)
class Compression:
    name: str
    label: str

    def unwrap(self, payload: bytes) -> bytes:
        """The inflated bytes, or :class:`CodecError` with a one-line reason."""
        if self.name == "zstd":
            return _unzstd(payload)
        wbits = 31 if self.name == "gzip" else 15
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(payload, MAX_INFLATED)
        except zlib.error as exc:
            raise CodecError(f"not {self.label} data: {exc}") from None
        if inflater.unconsumed_tail:
            raise CodecError(f"{self.label} data expands to more than {MAX_INFLATED:,} bytes")
        if not inflater.eof:
            raise CodecError(f"{self.label} data is cut short ({len(payload)} bytes)")
        return out

    def wrap(self, payload: bytes) -> bytes:
        if self.name == "zstd":
            return zstandard.ZstdCompressor().compress(payload)
        compressor = zlib.compressobj(wbits=31) if self.name == "gzip" else zlib.compressobj()
        return compressor.compress(payload) + compressor.flush()


def _unzstd(payload: bytes) -> bytes:
    try:
        size = zstandard.frame_content_size(payload)
    except zstandard.ZstdError as exc:
        raise CodecError(f"not zstd data: {exc}") from None
    if size > MAX_INFLATED:
        raise CodecError(f"zstd data expands to {size:,} bytes, more than {MAX_INFLATED:,}")
    try:
        return zstandard.ZstdDecompressor().decompress(payload, max_output_size=MAX_INFLATED)
    except zstandard.ZstdError as exc:
        raise CodecError(f"not zstd data: {exc}") from None


COMPRESSIONS: dict[str, Compression] = {
    "gzip": Compression("gzip", "gzip"),
    "zlib": Compression("zlib", "zlib"),
    "zstd": Compression("zstd", "zstd"),
}


def compression_for(name: str) -> Compression | None:
    return COMPRESSIONS.get("zlib" if name == "deflate" else name)


def sniff_compression(payload: bytes) -> Compression | None:
    """The compression whose header the payload starts with, if any."""
    if not payload or payload[0] not in COMPRESSION_LEADS:
        return None
    if payload[:3] == b"\x1f\x8b\x08":  # RFC 1952 §2.3.1: ID1 ID2 CM=deflate
        return COMPRESSIONS["gzip"]
    if payload[:4] == _ZSTD_MAGIC:
        return COMPRESSIONS["zstd"]
    # RFC 1950 §2.2: CM=8, CINFO<=7, (CMF*256 + FLG) a multiple of 31, no preset dictionary
    if (
        len(payload) >= 2
        and payload[0] & 0x0F == 8
        and payload[0] >> 4 <= 7
        and (payload[0] << 8 | payload[1]) % 31 == 0
        and not payload[1] & 0x20
    ):
        return COMPRESSIONS["zlib"]
    return None
