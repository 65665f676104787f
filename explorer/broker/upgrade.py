"""The HTTP upgrade to WebSocket, on websockets' Sans-I/O ``ServerProtocol``.

websockets checks the request as strictly as RFC 6455 §4.2.1 asks (method, version,
``Upgrade``, ``Connection``, key, version 13, origin) and builds the 101 response;
this module adds what is MQTT's: the paths that accept an upgrade (others get 404),
the subprotocol choice (``mqtt`` or ``mqttv3.1``, echoing the one the client listed
first among those we support), and the handshake fault modes of
``explorer.broker.faults``. Bytes after the request's blank line are the first
WebSocket frames; they are handed back untouched in :attr:`Upgrade.rest`.

Bytes that cannot begin an HTTP request (a TLS ClientHello, an MQTT CONNECT) get
``400 Bad Request`` at once, as nginx and Node do, instead of silence until the
handshake timeout: the client learns right away that this port speaks plain HTTP.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from websockets.datastructures import Headers
from websockets.exceptions import NegotiationError
from websockets.http11 import Response
from websockets.server import ServerProtocol
from websockets.typing import Origin, Subprotocol

from explorer.broker.config import SUBPROTOCOLS, BrokerConfig

__all__ = ["Upgrade", "UpgradeResult"]

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
        return self._answer(request_bytes)

    def _answer(self, request_bytes: bytes) -> UpgradeResult:
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
        if faults.no_subprotocol_echo:
            del headers["Sec-WebSocket-Protocol"]
        elif faults.echo_unoffered_subprotocol:
            del headers["Sec-WebSocket-Protocol"]
            for name in (*SUBPROTOCOLS, "mqttv5", "mqtt-unoffered"):
                if name not in offered:
                    headers["Sec-WebSocket-Protocol"] = name
                    break
