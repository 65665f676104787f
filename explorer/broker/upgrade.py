"""The HTTP upgrade to WebSocket, answered from the one parse of the request.

The request is read by ``explorer.ws.handshake.HttpReader`` (the reader the decoder and
the diagnoser use) and judged by ``explorer.ws.upgraderules`` (the rules the decoder
lists): a request that is not valid HTTP/1.1 gets 400; then RFC 6455 §4.2.1 (405 for a
method other than GET, 505 for HTTP/1.0, 400 for a missing ``Host`` or a bad key, 426
for a missing ``Upgrade``/``Connection``, 426 with ``Sec-WebSocket-Version: 13`` for
another version, RFC 6455 §4.4). This module adds what is the broker's own: the paths that
accept an upgrade (others get 404, checked before RFC 6455's rules), the origins allowed
(403), the subprotocol choice (``mqtt`` or ``mqttv3.1``, echoing the one the client
listed first among those we support; extensions offered are declined), the handshake
fault modes of ``explorer.broker.faults``, and the responses' bytes. Bytes after the
request's blank line are the first WebSocket frames; they are handed back untouched in
:attr:`Upgrade.rest`.

Bytes that cannot begin an HTTP request (a TLS ClientHello, an MQTT CONNECT) get
``400 Bad Request`` at once, as nginx and Node do, instead of silence until the
handshake timeout: the client learns right away that this port speaks plain HTTP.
"""

from __future__ import annotations

import email.utils
import http
import re
import time
from dataclasses import dataclass

from explorer.broker.config import SUBPROTOCOLS, BrokerConfig
from explorer.errors import HandshakeError
from explorer.ws.handshake import HeadTooLong, HttpReader, HttpRequest, accept_key
from explorer.ws.upgraderules import RequestProblem, request_problems

__all__ = ["Upgrade", "UpgradeResult", "answer"]

_MAX_REQUEST = 16 * 1024
# RFC 9110 §5.6.2: the request method is a token.
_TCHAR = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TLS_HANDSHAKE = 0x16
_EMPTY_LINES = re.compile(rb"(?:\r\n)*")
_FAILED = "Failed to open a WebSocket connection: "
# A browser that opens the URL sends a plain GET: no Upgrade, no Connection: upgrade.
_BROWSER = "\nYou cannot access a WebSocket server directly with a browser. You need a WebSocket client.\n"


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
    method = data.partition(b" ")[0]
    bad = len(method) - len(method.lstrip(_TCHAR))  # where the token ends
    if bad == len(method) or data == b"\r":
        return None
    if method[0] == _TLS_HANDSHAKE and method[1:2] == b"\x03":
        return "a TLS handshake on the plaintext WebSocket port (use ws://, not wss://)"
    if bad == 0:
        return f"not an HTTP request (first byte 0x{method[0]:02x}; MQTT over TCP uses the TCP port)"
    return "not an HTTP request (invalid method)"


def _invalid_request(reason: str) -> UpgradeResult:
    return UpgradeResult(_response_bytes(400, "Not a valid HTTP request.\n"), False, 400, reason=reason)


class Upgrade:
    """Collects one HTTP request and answers it.

    Feed bytes with :meth:`receive_data` until it returns an :class:`UpgradeResult`.
    """

    def __init__(self, config: BrokerConfig) -> None:
        self._config = config
        self._lead = b""  # the bytes until the method is complete
        self._reader: HttpReader | None = None
        self.rest = b""

    def receive_data(self, data: bytes) -> UpgradeResult | None:
        reader = self._reader
        if reader is None:
            lead = self._lead + data
            empty = _EMPTY_LINES.match(lead)
            if empty is not None and empty.end():
                # RFC 9112 §2.2: a server ignores at least one empty line before the request line.
                lead = lead[empty.end() :]
            problem = _not_http(lead)
            if problem is not None:
                self._lead = b""
                return UpgradeResult(
                    _response_bytes(
                        400, "Not an HTTP request: this port serves MQTT over WebSocket (ws://).\n"
                    ),
                    False,
                    400,
                    reason=problem,
                )
            if b" " not in lead:  # the method may go on
                if len(lead) > _MAX_REQUEST:
                    return _too_large()
                self._lead = lead
                return None
            self._lead = b""
            reader = self._reader = HttpReader("request", max_head=_MAX_REQUEST)
            data = lead
        try:
            request = reader.receive_data(data)
        except HeadTooLong:
            return _too_large()
        except HandshakeError as exc:
            return _invalid_request(exc.explanation)
        if request is None:
            return None
        assert isinstance(request, HttpRequest)
        self.rest = reader.rest
        return answer(request, self._config)


def _too_large() -> UpgradeResult:
    return UpgradeResult(
        _response_bytes(431, "Request header fields too large.\n"), False, 431, reason="too large"
    )


_date_cache: tuple[int, str] = (0, "")


def _date() -> str:
    """The ``Date`` header value (RFC 9110 §6.6.1), formatted once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True))
    return _date_cache[1]


def _refuse(
    status: int,
    text: str,
    path: str,
    headers: tuple[tuple[str, str], ...] = (),
    offered: tuple[str, ...] = (),
) -> UpgradeResult:
    body = text.encode()
    lines = [
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
        f"Date: {_date()}",
        "Connection: close",
        f"Content-Length: {len(body)}",
        "Content-Type: text/plain; charset=utf-8",
        *(f"{name}: {value}" for name, value in headers),
    ]
    response = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    return UpgradeResult(response, False, status, path, None, offered, text.strip())


def _refuse_problem(problem: RequestProblem, path: str) -> UpgradeResult:
    text = f"{_FAILED}{problem.reason}.\n"
    if problem.status == 426 and problem.header in ("Connection", "Upgrade"):
        text += _BROWSER
    return _refuse(problem.status, text, path, problem.answer_headers)


def answer(request: HttpRequest, config: BrokerConfig) -> UpgradeResult:
    """The broker's answer to one complete upgrade request.

    The first of :func:`~explorer.ws.upgraderules.request_problems` decides a refusal,
    with the path (404) checked after the HTTP syntax and before RFC 6455's rules, and
    the origin (403) before the subprotocols; a valid request gets 101 with the
    subprotocol chosen as the fault modes say.
    """
    problems = request_problems(request)
    first = problems[0] if problems else None
    if first is not None and first.stage == "http":
        return _invalid_request(first.text)
    path = request.target.partition("?")[0]
    if path not in config.ws_paths:
        # strict-path-404 is the default: only the configured paths upgrade.
        return _refuse(404, f"No WebSocket endpoint at {path}; try {', '.join(config.ws_paths)}.\n", path)
    if first is not None and first.stage == "websocket":
        return _refuse_problem(first, path)
    faults = config.faults
    origins = request.by_name.get("origin", ())
    if len(origins) > 1:
        return _refuse(400, f"{_FAILED}invalid Origin header: multiple values.\n", path)
    if faults.origin_allow is not None:
        origin = origins[0] if origins else None
        if origin not in faults.origin_allow:
            shown = "missing Origin header" if origin is None else _invalid_origin(origin)
            return _refuse(403, f"{_FAILED}{shown}.\n", path)
    if first is not None:  # the subprotocols offered are not a list of tokens
        return _refuse_problem(first, path)
    offered = request.subprotocols
    supported = ("mqttv3.1",) if faults.only_mqttv31 else SUBPROTOCOLS
    # RFC 6455 §4.2.2 item 4: the server may choose one of the offered subprotocols, or none.
    chosen = next((name for name in offered if name in supported), None)
    if chosen is None and (faults.require_subprotocol or (offered and faults.only_mqttv31)):
        why = "no supported subprotocol" if offered else "missing subprotocol"
        text = f"{_FAILED}{why}; offer one of {', '.join(supported)}.\n"
        return _refuse(400, text, path, offered=offered)
    if faults.no_subprotocol_echo:
        chosen = None
    elif faults.echo_unoffered_subprotocol:
        chosen = next((n for n in (*SUBPROTOCOLS, "mqttv5", "mqtt-unoffered") if n not in offered), None)
    # RFC 6455 §4.2.2 item 5: extensions offered are declined by leaving them out.
    key = request.by_name["sec-websocket-key"][0]
    response = (
        f"HTTP/1.1 101 Switching Protocols\r\nDate: {_date()}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept_key(key)}\r\n"
    )
    if chosen is not None:
        response += f"Sec-WebSocket-Protocol: {chosen}\r\n"
    return UpgradeResult((response + "\r\n").encode(), True, 101, path, chosen, offered)


def _invalid_origin(origin: str) -> str:
    return "empty Origin header" if origin == "" else f"invalid Origin header: {origin}"
