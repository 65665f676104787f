"""Bytes on the wire for the RFC 6455 conformance suite: frames built by hand, any way.

Client frames are masked with a fresh key each (RFC 6455 §5.3) unless a test breaks the
rule on purpose; server frames are unmasked (§5.1). The builders take every header field
separately so that a test can set what a correct implementation never would (RSV bits,
reserved opcodes, a long length encoding for a short payload).
"""

from __future__ import annotations

import os

from websockets.speedups import apply_mask

from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Publish

__all__ = ["chunks_at", "close_body", "fragments", "frame", "publish_of_size"]


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bool = True,
    length_bytes: int | None = None,
) -> bytes:
    """One frame. ``length_bytes`` forces the length encoding (0, 2 or 8 extra bytes)."""
    size = len(payload)
    if length_bytes is None:
        length_bytes = 0 if size < 126 else 2 if size < 65536 else 8
    mask_bit = 0x80 if mask else 0
    first = bytes(((0x80 if fin else 0) | rsv | opcode,))
    if length_bytes == 0:
        header = first + bytes((mask_bit | size,))
    elif length_bytes == 2:
        header = first + bytes((mask_bit | 126,)) + size.to_bytes(2, "big")
    else:
        header = first + bytes((mask_bit | 127,)) + size.to_bytes(8, "big")
    if not mask:
        return header + payload
    key = os.urandom(4)
    return header + key + apply_mask(payload, key)


def fragments(opcode: int, message: bytes, size: int, *, mask: bool = True) -> list[bytes]:
    """``message`` as a first frame and continuation frames of ``size`` bytes (RFC 6455 §5.4)."""
    pieces = [message[start : start + size] for start in range(0, len(message), size)] or [b""]
    last = len(pieces) - 1
    return [
        frame(opcode if index == 0 else 0x0, piece, fin=index == last, mask=mask)
        for index, piece in enumerate(pieces)
    ]


def close_body(code: int, reason: bytes = b"") -> bytes:
    return code.to_bytes(2, "big") + reason


def chunks_at(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (sorted, duplicates and ends ignored)."""
    points = [0, *sorted({cut for cut in cuts if 0 < cut < len(data)}), len(data)]
    return [data[points[i] : points[i + 1]] for i in range(len(points) - 1)]


def publish_of_size(size: int, packet_id: int = 1, topic: str = "frag/t") -> Publish:
    """A QoS 1 PUBLISH whose encoding is exactly ``size`` bytes (at least 12)."""
    for name in (topic, topic + "x"):  # some sizes fall between two Remaining Length sizes
        payload_size = size - 5 - len(name)  # type byte, topic length, packet id; then the varint
        for varint in (1, 2, 3, 4):
            candidate = Publish(name, _pattern(payload_size - varint), qos=1, packet_id=packet_id)
            if payload_size - varint >= 0 and len(encode(candidate)) == size:
                return candidate
    raise ValueError(f"no PUBLISH of exactly {size} bytes")


def _pattern(size: int) -> bytes:
    block = bytes(range(256))
    return (block * (size // 256 + 1))[:size]
