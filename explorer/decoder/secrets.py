"""Keeping secrets out of decoded events.

What belongs here: the small pure functions that star a CONNECT password (or every
possibly secret byte of a CONNECT that could not be decoded) inside packet bytes and
inside the frame payloads that carried them, and that star HTTP credentials. The
decoder decides when to call them; nothing here knows about streams.
"""

from __future__ import annotations

from typing import Final

from explorer.model.events import PacketPart

__all__ = ["CONNECT_BYTE", "mask_header_values", "overwrite_part", "scrub_connect"]

CONNECT_BYTE: Final = b"\x10"  # first byte of every valid CONNECT (MQTT 3.1.1 §3.1.1)
_CREDENTIAL_HEADERS: Final = frozenset({"authorization", "proxy-authorization"})


def _connect_keep(prefix: bytes) -> int:
    """How many leading bytes of a CONNECT that could not be decoded are safe to show.

    The fixed header and the variable header up to Keep Alive (MQTT 3.1.1 §3.1.2, 5.0
    §3.1.2) hold no secret; the payload may hold a password, so everything from there on
    (5.0 properties and Client Identifier included) is starred.
    """
    pos = 1
    while pos < len(prefix) and prefix[pos] & 0x80 and pos < 4:
        pos += 1
    pos += 1  # past the Remaining Length
    if pos + 2 > len(prefix):
        return min(pos, len(prefix))
    name_length = (prefix[pos] << 8) | prefix[pos + 1]
    return min(pos + 2 + name_length + 4, len(prefix))  # name, level, flags, keep alive


def scrub_connect(raw: bytes) -> bytes:
    """A CONNECT's (possibly partial) bytes with everything that may be secret starred."""
    keep = _connect_keep(raw)
    return raw[:keep] + b"*" * (len(raw) - keep)


def overwrite_part(payload: bytes, parts: tuple[PacketPart, ...], no: int, masked: bytes) -> bytes:
    """``payload`` with packet ``no``'s part replaced by the same span of ``masked``
    (the packet's bytes with secrets starred, same length)."""
    for part in parts:
        if part.packet_no == no:
            hi = min(part.packet_end, len(masked))
            if part.packet_start < hi:
                span = masked[part.packet_start : hi]
                payload = payload[: part.frame_start] + span + payload[part.frame_start + len(span) :]
    return payload


def mask_header_values(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Headers with credentials starred, the scheme kept (``Basic ****``), matching
    what ``explorer.ws.handshake.mask_credentials`` does to the raw bytes."""
    out = []
    for name, value in headers:
        if name.lower() in _CREDENTIAL_HEADERS:
            scheme, space, secret = value.partition(" ")
            value = f"{scheme} {'*' * len(secret)}" if space else "*" * len(value)
        out.append((name, value))
    return tuple(out)
