"""What a WebSocket server requires of an opening handshake request (RFC 6455 §4.2.1).

What belongs here: the one set of request rules, as data a server answers with and a
reader of a capture lists: the request is valid HTTP/1.1 (RFC 9112 syntax, the line and
field limits servers keep, no body), its method is GET and its version HTTP/1.1, it has
one ``Host``, ``Connection`` lists ``upgrade``, ``Upgrade`` is ``websocket``,
``Sec-WebSocket-Key`` is 16 bytes in base64, ``Sec-WebSocket-Version`` is 13 (else 426
naming the version spoken, RFC 6455 §4.4), and the subprotocols offered are a list of
tokens. Each broken rule is a :class:`RequestProblem` with the status a server answers
and the headers that answer must carry. What does not: reading the bytes
(``explorer.ws.handshake``) and a server's own policy: which paths it serves, which
origins it allows, which subprotocol it picks (``explorer.broker.upgrade``).

The embedded broker answers the first problem; the decoder lists them all
(:func:`check_request`), so both give the same verdict on the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, replace
from typing import Final, Literal

from explorer.ws.handshake import TOKEN, HttpRequest

__all__ = ["RequestProblem", "RequestStage", "check_request", "request_problems", "token_list"]

RequestStage = Literal["http", "websocket", "subprotocol"]


@dataclass(frozen=True, slots=True)
class RequestProblem:
    """One reason a server refuses an upgrade request, and how it answers.

    ``stage`` says when a server finds it: ``http`` while reading the request (the bytes
    are not a valid HTTP/1.1 request: 400 before anything else), ``websocket`` when it
    applies RFC 6455 §4.2.1 to a request for one of its resources, ``subprotocol`` when it
    reads the subprotocols offered, last. ``text`` is the sentence a reader of the
    handshake sees; ``reason`` the short form a refusal's body carries; ``answer_headers``
    the fields the refusal must carry (``Allow`` with a 405, ``Upgrade`` with a 426,
    ``Sec-WebSocket-Version`` when the version is not one the server speaks); ``header``
    the request header at fault, if one is.
    """

    stage: RequestStage
    status: int
    text: str
    reason: str
    answer_headers: tuple[tuple[str, str], ...] = ()
    header: str = ""


_PROTOCOL: Final = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+(?:/[-!#$%&'*+.^_`|~0-9A-Za-z]+)?")
# 16 bytes in base64 (RFC 4648 §4) are always 22 characters and "==".
_NONCE: Final = re.compile(r"[A-Za-z0-9+/]{22}==")
_BROWSER_UPGRADE: Final = (("Upgrade", "websocket"),)
# RFC 6455 §4.4: a server that does not speak the client's version lists those it speaks.
_VERSION_ANSWER: Final = (("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"))


def _ows(value: str, pos: int) -> int:
    while pos < len(value) and value[pos] in " \t":
        pos += 1
    return pos


def token_list(
    value: str, item: re.Pattern[str] = TOKEN, what: str = "token"
) -> tuple[list[str], str | None]:
    """The items of a ``1#item`` list (RFC 9110 §5.6.1) and the first syntax error, if any.

    Empty elements are ignored, as a recipient must; no item at all is an error. The error
    says what was expected where (``"expected token at 3 in a b"``).
    """
    if item.fullmatch(value) is not None:
        return [value], None  # the common case: one item
    pos, end = 0, len(value)
    while pos < end and value[pos] == ",":
        pos = _ows(value, pos + 1)
    items: list[str] = []
    while True:
        match = item.match(value, pos)
        if match is None:
            return items, f"expected {what} at {pos} in {value}"
        items.append(match.group())
        pos = _ows(value, match.end())
        if pos == end:
            return items, None
        if value[pos] != ",":
            return items, f"expected comma at {pos} in {value}"
        while pos < end and value[pos] == ",":
            pos = _ows(value, pos + 1)
        if pos == end:
            return items, None


def _http(text: str) -> RequestProblem:
    return RequestProblem("http", 400, text, "invalid HTTP request")


def _count_problem(name: str, values: tuple[str, ...], status: int = 400) -> RequestProblem:
    """The problem with a header that must appear once and does not (``values`` not one)."""
    if not values:
        text = f"the request has no {name} header (RFC 6455 §4.1)"
        return RequestProblem("websocket", status, text, f"missing {name} header", header=name)
    # RFC 9112 §3.2 for Host, RFC 6455 §11.3 for the Sec-WebSocket- fields
    section = "RFC 9112 §3.2" if name == "Host" else "RFC 6455 §11.3"
    text = f"the request has {len(values)} {name} headers; it may have one ({section})"
    return RequestProblem("websocket", status, text, f"invalid {name} header: multiple values", header=name)


def _invalid(name: str, value: str) -> str:
    return f"empty {name} header" if value == "" else f"invalid {name} header: {value}"


def request_problems(request: HttpRequest) -> tuple[RequestProblem, ...]:
    """Every reason a WebSocket server refuses ``request``, in the order it checks them.

    Empty for a valid opening handshake. The first problem is a server's answer; later
    ones are what it would say next, for a reader who wants them all. What is a server's
    own choice (its paths, allowed origins, subprotocols) is not judged here.
    """
    by_name = request.by_name
    problems = [_http(defect) for defect in request.defects] if request.defects else []
    version = request.version
    if version not in {"HTTP/1.1", "HTTP/1.0"}:
        problems.append(_http(f"the upgrade request is {version}, not HTTP/1.1 (RFC 6455 §4.1)"))
    if not request.target.isascii():
        # RFC 9112 §3.2 and RFC 3986 §2.1: a request target is ASCII, other bytes percent-encoded
        problems.append(_http("the request target has bytes that are not ASCII (RFC 3986 §2.1)"))
    if by_name.get("transfer-encoding", ()):
        problems.append(_http("the upgrade request has a Transfer-Encoding; it has no body (RFC 6455 §4.1)"))
    lengths = by_name.get("content-length", ())
    if lengths and any(length != "0" for length in lengths):
        problems.append(_http("the upgrade request has a Content-Length; it has no body (RFC 6455 §4.1)"))
    # RFC 6455 §4.2.1: what the server must find in the client's opening handshake
    if request.method != "GET":  # item 1; RFC 9110 §15.5.6: a 405 lists the allowed methods
        text = f"the upgrade request uses {request.method}, not GET (RFC 6455 §4.1)"
        reason = f"unsupported HTTP method: {request.method}"
        problems.append(RequestProblem("websocket", 405, text, reason, (("Allow", "GET"),)))
    if version == "HTTP/1.0":  # item 1
        text = f"the upgrade request is {version}, not HTTP/1.1 (RFC 6455 §4.1)"
        problems.append(RequestProblem("websocket", 505, text, f"unsupported HTTP version: {version}"))
    hosts = by_name.get("host", ())
    if len(hosts) != 1:  # item 2; RFC 9112 §3.2: one Host, else 400
        problems.append(_count_problem("Host", hosts))
    # Each check below is skipped at once for the value every client sends.
    connection = by_name.get("connection", ())
    if len(connection) != 1 or connection[0].lower() != "upgrade":
        problems += _connection(connection)  # item 4
    upgrade = by_name.get("upgrade", ())
    if len(upgrade) != 1 or upgrade[0].lower() != "websocket":
        problems += _upgrade(upgrade)  # item 3
    key = by_name.get("sec-websocket-key", ())
    if len(key) != 1 or _NONCE.fullmatch(key[0]) is None:
        problems += _key(key)  # item 5
    ws_version = by_name.get("sec-websocket-version", ())
    if ws_version != ("13",):
        problems += _version(ws_version)  # item 6
    for value in by_name.get("sec-websocket-protocol", ()):  # item 8: 1#token (RFC 6455 §4.1)
        _, error = token_list(value)
        if error is not None:
            text = f"Sec-WebSocket-Protocol is not a list of tokens: {error}"
            reason = f"invalid Sec-WebSocket-Protocol header: {error}"
            problems.append(RequestProblem("subprotocol", 400, text, reason, (), "Sec-WebSocket-Protocol"))
            break
    return tuple(problems)


def _connection(values: tuple[str, ...]) -> list[RequestProblem]:
    """Connection includes the token "upgrade", compared without regard to case."""
    options: list[str] = []
    for value in values:
        items, error = token_list(value)
        if error is not None:
            text = f"the Connection header is not a list of tokens: {error}"
            reason = f"invalid Connection header: {error}"
            return [RequestProblem("websocket", 400, text, reason, (), "Connection")]
        options += items
    if any(option.lower() == "upgrade" for option in options):
        return []
    reason = _invalid("Connection", ", ".join(options)) if options else "missing Connection header"
    text = "the request lacks 'Connection: Upgrade' (RFC 6455 §4.1)"
    return [RequestProblem("websocket", 426, text, reason, _BROWSER_UPGRADE, "Connection")]


def _upgrade(values: tuple[str, ...]) -> list[RequestProblem]:
    """Upgrade is "websocket" alone, compared without regard to case."""
    protocols: list[str] = []
    for value in values:
        items, error = token_list(value, _PROTOCOL, "protocol")
        if error is not None:
            text = f"the Upgrade header is not a list of protocols: {error}"
            reason = f"invalid Upgrade header: {error}"
            return [RequestProblem("websocket", 400, text, reason, (), "Upgrade")]
        protocols += items
    if len(protocols) == 1 and protocols[0].lower() == "websocket":
        return []
    if protocols:
        joined = ", ".join(protocols)
        text = f"the request has 'Upgrade: {joined}', not 'Upgrade: websocket' (RFC 6455 §4.1)"
        reason = _invalid("Upgrade", joined)
    else:
        text, reason = "the request lacks 'Upgrade: websocket' (RFC 6455 §4.1)", "missing Upgrade header"
    return [RequestProblem("websocket", 426, text, reason, _BROWSER_UPGRADE, "Upgrade")]


def _key(values: tuple[str, ...]) -> list[RequestProblem]:
    if len(values) != 1:
        return [_count_problem("Sec-WebSocket-Key", values)]
    (key,) = values
    reason = _invalid("Sec-WebSocket-Key", key)
    try:
        raw = base64.b64decode(key.encode(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raw, reason = b"", f"{reason}; {exc}"
    if len(raw) == 16:
        return []
    # RFC 6455 §4.1: a base64-encoded 16-byte nonce
    text = "Sec-WebSocket-Key is not 16 bytes in base64 (RFC 6455 §4.1)"
    return [RequestProblem("websocket", 400, text, reason, header="Sec-WebSocket-Key")]


def _version(values: tuple[str, ...]) -> list[RequestProblem]:
    if len(values) != 1:
        problem = _count_problem("Sec-WebSocket-Version", values, 426)
        return [replace(problem, answer_headers=_VERSION_ANSWER)]
    (version,) = values
    if version == "13":
        return []
    text = f"Sec-WebSocket-Version is {version!r}, not '13' (RFC 6455 §4.1)"
    reason = _invalid("Sec-WebSocket-Version", version)
    return [RequestProblem("websocket", 426, text, reason, _VERSION_ANSWER, "Sec-WebSocket-Version")]


def check_request(request: HttpRequest) -> tuple[str, ...]:
    """Problems with a client's opening handshake (RFC 6455 §4.1, §4.2.1), if any.

    The sentences of :func:`request_problems`: empty exactly when a WebSocket server
    would accept the request (its own paths, origins and subprotocols aside).
    """
    return tuple(problem.text for problem in request_problems(request))
