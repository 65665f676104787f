"""Secret masking: the one place that decides what a secret looks like in every view, export and log.

The convention, everywhere:

* a secret whose bytes stand somewhere (a CONNECT password inside its packet and the frames
  that carried it, an ``Authorization`` header value in the upgrade request) is replaced by
  ``*`` of the same length, so offsets, lengths and hex dumps stay true; a credential header
  keeps its scheme word (``Authorization: Basic ********``) because the scheme is no secret
  and says a lot;
* where a secret is only said to be there (a packet's one-line summary, a JSON field, a
  profile listing), it is :data:`SECRET_MARK` (``***``), never its length or value.

The decoder applies the first rule before any event exists (so views and exports show the
events as they are and never mask again); exports and recordings call the same functions
once more on their way out, which changes nothing on bytes already masked. The header names
that carry credentials are :data:`CREDENTIAL_HEADERS`; headers the user marked secret are
masked by name as well. Pure functions: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Final

from explorer.model.events import PacketPart
from explorer.mqtt.packets import Connect, Packet

__all__ = [
    "CONNECT_BYTE",
    "CREDENTIAL_HEADERS",
    "SECRET_MARK",
    "blank_span",
    "is_connect_start",
    "mask_credentials",
    "mask_header_values",
    "mask_password",
    "masked_bytes",
    "masked_value",
    "netloc_parts",
    "overwrite_part",
    "redact_url",
    "scrub_connect",
]

CREDENTIAL_HEADERS: Final = frozenset({"authorization", "proxy-authorization"})
"""HTTP headers whose values are credentials (RFC 9110 §11.6.2, §11.7.2), lower case."""

SECRET_MARK: Final = "***"
"""What stands for a secret that is only said to be present."""

CONNECT_BYTE: Final = b"\x10"  # first byte of every valid CONNECT (MQTT 3.1.1 §3.1.1)


def is_connect_start(data: bytes) -> bool:
    """Whether ``data`` starts like a CONNECT: packet type 1 whatever the flags, so that a
    CONNECT with bad flags (malformed, [MQTT-2.1.3-1]) keeps its password hidden too."""
    return bool(data) and data[0] >> 4 == 1


_STAR: Final = 0x2A


def masked_value(value: str) -> str:
    """``value`` as ``*`` of the same length (a secret header's value)."""
    return "*" * len(value)


def masked_bytes(value: bytes) -> bytes:
    """``value`` as ``*`` bytes of the same length (a password inside a decoded packet)."""
    return b"*" * len(value)


def _masked_credential(value: str) -> str:
    scheme, space, secret = value.partition(" ")
    return f"{scheme} {'*' * len(secret)}" if space else "*" * len(value)


def mask_header_values(
    headers: Iterable[tuple[str, str]], secret_names: Collection[str] = ()
) -> tuple[tuple[str, str], ...]:
    """Headers with credentials starred (the scheme kept) and the values of ``secret_names`` starred."""
    named = {name.lower() for name in secret_names}
    out = []
    for name, value in headers:
        lower = name.lower()
        if lower in CREDENTIAL_HEADERS:
            value = _masked_credential(value)
        elif lower in named:
            value = masked_value(value)
        out.append((name, value))
    return tuple(out)


def mask_credentials(raw: bytes, secret_names: Collection[str] = ()) -> bytes:
    """HTTP message bytes with the same masking as :func:`mask_header_values`, in place.

    Same length as ``raw``: offsets in the request or response stay true.
    """
    named = {name.lower() for name in secret_names}
    out = bytearray(raw)
    pos = 0
    for line in raw.split(b"\n"):
        name, sep, value = line.partition(b":")
        lower = name.strip().lower().decode("latin-1")
        if sep and (lower in CREDENTIAL_HEADERS or lower in named):
            start = pos + len(name) + 1
            text = value.rstrip(b"\r")
            stripped = text.lstrip()
            start += len(text) - len(stripped)
            scheme, space, _ = stripped.partition(b" ")
            if space and lower in CREDENTIAL_HEADERS:
                start += len(scheme) + 1  # keep the scheme ("Basic", "Bearer") visible
            end = pos + len(name) + 1 + len(text)
            out[start:end] = b"*" * (end - start)
        pos += len(line) + 1
    return bytes(out)


def mask_password(raw: bytes, packet: Packet) -> bytes:
    """CONNECT bytes with the password replaced by ``*`` of the same length; others unchanged.

    The password is the last field of a CONNECT (§3.1.3.6) and nothing may follow it, so
    it occupies the last ``len(password)`` bytes of the packet.
    """
    if not isinstance(packet, Connect) or not packet.password:
        return raw
    size = len(packet.password)
    return bytes(raw[:-size]) + b"*" * size


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
    if name_length not in (4, 6):
        # Not "MQTT" (3.1.1, 5.0) nor "MQIsdp" (3.1): the length itself is damaged, so
        # nothing after it can be placed; all of it is starred.
        return min(pos + 2, len(prefix))
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


def blank_span(payload: bytearray, start: int, end: int) -> None:
    """Star ``payload[start:end]`` in place (a CONNECT part whose packet is not known)."""
    payload[start:end] = bytes([_STAR]) * (end - start)


def netloc_parts(url: str) -> tuple[str, str, str, str] | None:
    """``(scheme, userinfo, hostport, rest)`` by plain string splitting; None without user info.

    Done by hand rather than with ``urlsplit`` so that a URL ``urlsplit`` refuses (a bad
    port, a stray bracket) can still be redacted in the message that says so.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    end = len(rest)
    for stop in "/?#":
        index = rest.find(stop)
        if index != -1:
            end = min(end, index)
    netloc, tail = rest[:end], rest[end:]
    userinfo, at, hostport = netloc.rpartition("@")
    if not at:
        return None
    return scheme, userinfo, hostport, tail


def redact_url(url: str) -> str:
    """``url`` with the password of its user info said to be there (:data:`SECRET_MARK`), for messages."""
    parts = netloc_parts(url)
    if parts is None:
        return url
    scheme, userinfo, hostport, tail = parts
    user, colon, _password = userinfo.partition(":")
    shown = f"{user}:{SECRET_MARK}" if colon else user
    return f"{scheme}://{shown}@{hostport}{tail}"
