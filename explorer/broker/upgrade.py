"""The HTTP upgrade to WebSocket, on websockets' Sans-I/O ``ServerProtocol``.

websockets checks the request as strictly as RFC 6455 §4.2.1 asks (method, version,
``Upgrade``, ``Connection``, key, version 13, origin) and builds the 101 response;
this module adds what is MQTT's: the paths that accept an upgrade (others get 404),
the subprotocol choice (``mqtt`` or ``mqttv3.1``, echoing the one the client listed
first among those we support), and the handshake fault modes of
``explorer.broker.faults``. Bytes after the request's blank line are the first
WebSocket frames; they are handed back untouched in :attr:`Upgrade.rest`.

A well-formed request from an ordinary client (one ``Upgrade``/``Connection``/key/version
header each, a configured path, no extensions, plain ASCII) is answered by
:func:`fast_answer`, a strict parse of its own that costs a few microseconds instead of
websockets' hundred; whatever it is not sure of (a duplicate header, an extension offer,
an odd byte, any request that would not get 101) goes to ``ServerProtocol``, so the
answers are the same either way.

Bytes that cannot begin an HTTP request (a TLS ClientHello, an MQTT CONNECT) get
``400 Bad Request`` at once, as nginx and Node do, instead of silence until the
handshake timeout: the client learns right away that this port speaks plain HTTP.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import http
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from websockets.datastructures import Headers
from websockets.exceptions import NegotiationError
from websockets.http11 import MAX_LINE_LENGTH, MAX_NUM_HEADERS, Response
from websockets.server import ServerProtocol
from websockets.typing import Origin, Subprotocol

from explorer.broker.config import SUBPROTOCOLS, BrokerConfig

__all__ = ["Upgrade", "UpgradeResult", "fast_answer"]

_MAX_REQUEST = 16 * 1024
# RFC 9110 §5.6.2: the request method is a token of these characters.
_TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_TLS_HANDSHAKE = 0x16
# websockets logs every opened connection at INFO; the broker logs its own summary.
_LOG = logging.getLogger("explorer.broker.upgrade")
_LOG.setLevel(logging.WARNING)


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    """The response to send and what it decided."""

    response: bytes
    accepted: bool
    status: int
    path: str = ""
    subprotocol: str | None = None
    offered: tuple[str, ...] = ()
    reason: str = ""


def _response_bytes(status: int, text: str) -> bytes:
    phrase = http.HTTPStatus(status).phrase
    body = text.encode()
    return (
        f"HTTP/1.1 {status} {phrase}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _not_http(data: bytes) -> str | None:
    """Why ``data`` cannot be the start of an HTTP/1.x request, or None while it can be.

    Only the method is checked: it must be a token followed by a space (RFC 9112 §3).
    Empty lines before it are dropped by the caller; a lone CR may be one's start.
    """
    if data == b"\r":
        return None
    method = data.partition(b" ")[0]
    bad = next((index for index, byte in enumerate(method) if byte not in _TCHAR), None)
    if bad is None:
        return None
    if method[0] == _TLS_HANDSHAKE and method[1:2] == b"\x03":
        return "a TLS handshake on the plaintext WebSocket port (use ws://, not wss://)"
    if bad == 0:
        return f"not an HTTP request (first byte 0x{method[0]:02x}; MQTT over TCP uses the TCP port)"
    return "not an HTTP request (invalid method)"


class Upgrade:
    """Collects one HTTP request and answers it.

    Feed bytes with :meth:`receive_data` until it returns an :class:`UpgradeResult`.
    """

    def __init__(self, config: BrokerConfig) -> None:
        self._config = config
        self._buffer = b""
        self.rest = b""

    def receive_data(self, data: bytes) -> UpgradeResult | None:
        self._buffer += data
        while self._buffer.startswith(b"\r\n"):
            # RFC 9112 §2.2: a server ignores at least one empty line before the request line.
            self._buffer = self._buffer[2:]
        problem = _not_http(self._buffer)
        if problem is not None:
            self._buffer = b""
            return UpgradeResult(
                _response_bytes(400, "Not an HTTP request: this port serves MQTT over WebSocket (ws://).\n"),
                False,
                400,
                reason=problem,
            )
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_REQUEST:
                return UpgradeResult(
                    _response_bytes(431, "Request header fields too large.\n"), False, 431, reason="too large"
                )
            return None
        request_bytes = self._buffer[: end + 4]
        self.rest = self._buffer[end + 4 :]
        self._buffer = b""
        return fast_answer(request_bytes, self._config) or self.reference_answer(request_bytes)

    def reference_answer(self, request_bytes: bytes) -> UpgradeResult:
        """websockets' answer to one complete request; :func:`fast_answer` must agree with it."""
        faults = self._config.faults
        origins: Sequence[Origin | None] | None = None
        if faults.origin_allow is not None:
            origins = [Origin(o) for o in faults.origin_allow]
        offered: list[str] = []

        def select(_protocol: ServerProtocol, subprotocols: Sequence[Subprotocol]) -> Subprotocol | None:
            offered.extend(subprotocols)
            supported = ("mqttv3.1",) if faults.only_mqttv31 else SUBPROTOCOLS
            if not subprotocols:
                if faults.require_subprotocol:
                    raise NegotiationError("missing subprotocol; offer one of " + ", ".join(supported))
                return None
            for name in subprotocols:
                if name in supported:
                    return name
            if faults.only_mqttv31 or faults.require_subprotocol:
                raise NegotiationError("no supported subprotocol; offer one of " + ", ".join(supported))
            # RFC 6455 §4.2.2: the server may choose none of the offered subprotocols.
            return None

        protocol = ServerProtocol(origins=origins, select_subprotocol=select, max_size=None, logger=_LOG)
        protocol.receive_data(request_bytes)
        events = protocol.events_received()
        if not events:
            return UpgradeResult(
                _response_bytes(400, "Not a valid HTTP request.\n"), False, 400, reason="invalid HTTP request"
            )
        request = events[0]
        path = request.path.partition("?")[0]  # type: ignore[union-attr]
        if path not in self._config.ws_paths:
            # strict-path-404 is the default: only the configured paths upgrade.
            paths = ", ".join(self._config.ws_paths)
            response = protocol.reject(404, f"No WebSocket endpoint at {path}; try {paths}.\n")
        else:
            response = protocol.accept(request)  # type: ignore[arg-type]
        if response.status_code == 101:
            self._apply_subprotocol_faults(response, offered)
        protocol.send_response(response)
        chosen = response.headers.get("Sec-WebSocket-Protocol")
        body = response.body or b""
        reason = "" if response.status_code == 101 else body.decode(errors="replace").strip()
        return UpgradeResult(
            b"".join(protocol.data_to_send()),
            response.status_code == 101,
            response.status_code,
            path,
            chosen,
            tuple(offered),
            reason,
        )

    def _apply_subprotocol_faults(self, response: Response, offered: list[str]) -> None:
        faults = self._config.faults
        headers: Headers = response.headers
        if "Sec-WebSocket-Protocol" in headers and (
            faults.no_subprotocol_echo or faults.echo_unoffered_subprotocol
        ):
            # Absent when the client offered none: then there is nothing to drop.
            del headers["Sec-WebSocket-Protocol"]
        if faults.echo_unoffered_subprotocol and not faults.no_subprotocol_echo:
            for name in (*SUBPROTOCOLS, "mqttv5", "mqtt-unoffered"):
                if name not in offered:
                    headers["Sec-WebSocket-Protocol"] = name
                    break


# -- the strict fast path --------------------------------------------------------------------

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
# websockets' limits (settable by environment variables): longer lines and more headers
# are left to it. Its line limit counts the CRLF.
_MAX_LINE = MAX_LINE_LENGTH - 2
# RFC 9110 §5.1 field-name is a token; the value is visible ASCII with inner spaces or tabs
# (obs-text, control bytes, obs-fold: left to websockets).
_HEADER_LINE = re.compile(
    rb"([-!#$%&'*+.^_`|~0-9A-Za-z]+):[ \t]*((?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?)[ \t]*"
)
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
# 16 bytes in base64 (RFC 4648 §4) are always 22 characters and "==".
_KEY = re.compile(rb"[A-Za-z0-9+/]{22}==")
_SINGLE = (b"upgrade", b"sec-websocket-key", b"sec-websocket-version", b"host", b"origin")
_LEAVE = frozenset({b"sec-websocket-extensions", b"transfer-encoding", b"content-length"})
_date_cache: tuple[int, bytes] = (0, b"")


def _date() -> bytes:
    """The ``Date`` header value (RFC 9110 §6.6.1), formatted once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True).encode())
    return _date_cache[1]


def _tokens(values: list[bytes]) -> list[bytes] | None:
    """The comma-separated tokens of ``values`` (RFC 9110 §5.6.1), or None if any is not one."""
    out: list[bytes] = []
    for value in values:
        for item in value.split(b","):
            item = item.strip(b" \t")
            if _TOKEN.fullmatch(item) is None:
                return None
            out.append(item)
    return out


def fast_answer(request: bytes, config: BrokerConfig) -> UpgradeResult | None:
    """The 101 answer to a plainly valid upgrade request, or None to let websockets decide.

    ``request`` ends with its blank line. Returns a result only when the request is one
    that ``ServerProtocol`` with :class:`Upgrade`'s settings would accept (RFC 6455
    §4.2.1 checks, path, origin, subprotocol choice and fault modes), byte for byte the
    same response apart from the ``Date``; every doubt returns None.
    """
    head = request[:-4]
    if head.count(b"\n") != head.count(b"\r\n"):
        return None  # a bare LF ends a line for websockets, not for this split
    lines = head.split(b"\r\n")
    request_line = lines[0]
    if len(lines) > MAX_NUM_HEADERS + 1 or len(request_line) > _MAX_LINE:
        return None
    if not request_line.startswith(b"GET ") or not request_line.endswith(b" HTTP/1.1"):
        return None
    raw_path = request_line[4:-9]
    if b" " in raw_path or not raw_path.isascii():
        return None
    path = raw_path.decode().partition("?")[0]
    if path not in config.ws_paths:
        return None
    headers: dict[bytes, list[bytes]] = {}
    match_line = _HEADER_LINE.fullmatch
    for line in lines[1:]:
        match = match_line(line)
        if match is None or len(line) > _MAX_LINE:
            return None
        name = match[1].lower()
        values = headers.get(name)
        if values is None:
            headers[name] = [match[2]]
        else:
            values.append(match[2])
    if not _LEAVE.isdisjoint(headers) or b"host" not in headers:
        return None
    for name in _SINGLE:
        values = headers.get(name)
        if values is not None and len(values) > 1:
            return None
    upgrade = headers.get(b"upgrade")
    connection = _tokens(headers.get(b"connection", []))
    # RFC 6455 §4.2.1 items 3 and 4; websockets compares both case-insensitively.
    if upgrade is None or upgrade[0].lower() != b"websocket" or not connection:
        return None
    if not any(option.lower() == b"upgrade" for option in connection):
        return None
    key = headers.get(b"sec-websocket-key")
    if key is None or _KEY.fullmatch(key[0]) is None:  # RFC 6455 §4.2.1 item 5
        return None
    if headers.get(b"sec-websocket-version") != [b"13"]:  # RFC 6455 §4.2.1 item 6
        return None
    faults = config.faults
    if faults.origin_allow is not None:
        origin = headers.get(b"origin")
        if origin is None or origin[0].decode() not in faults.origin_allow:
            return None  # 403 from websockets
    tokens = _tokens(headers.get(b"sec-websocket-protocol", []))
    if tokens is None:
        return None
    offered = tuple(token.decode() for token in tokens)
    supported = ("mqttv3.1",) if faults.only_mqttv31 else SUBPROTOCOLS
    chosen = next((name for name in offered if name in supported), None)
    if chosen is None and (faults.require_subprotocol or (offered and faults.only_mqttv31)):
        return None  # 400 from websockets
    if faults.no_subprotocol_echo:
        chosen = None
    elif faults.echo_unoffered_subprotocol:
        chosen = next((n for n in (*SUBPROTOCOLS, "mqttv5", "mqtt-unoffered") if n not in offered), None)
    accept = base64.b64encode(hashlib.sha1(key[0] + _GUID).digest())
    response = [
        b"HTTP/1.1 101 Switching Protocols\r\nDate: ",
        _date(),
        b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ",
        accept,
        b"\r\n",
    ]
    if chosen is not None:
        response += [b"Sec-WebSocket-Protocol: ", chosen.encode(), b"\r\n"]
    response.append(b"\r\n")
    return UpgradeResult(b"".join(response), True, 101, path, chosen, offered)
