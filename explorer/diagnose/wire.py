"""Small helpers for showing and recognising raw bytes (no I/O)."""

from __future__ import annotations

__all__ = ["looks_like_tls_record", "printable"]


def looks_like_tls_record(data: bytes) -> bool:
    """A TLS record header: handshake (0x16) or alert (0x15), version 3.x (RFC 8446 §5.1)."""
    return len(data) >= 2 and data[0] in (0x15, 0x16) and data[1] == 0x03


def printable(data: bytes, limit: int = 48) -> str:
    """The first bytes as text with control and non-ASCII bytes escaped (``\\r\\n``, ``\\x16``)."""
    return data[:limit].decode("latin-1").encode("unicode_escape").decode("ascii")
