"""The WebSocket opening handshake (RFC 6455 §4) read from raw bytes, and judged.

What belongs here: the one reader of an HTTP/1.1 upgrade request or response: finding
where it ends in a byte stream fed in any chunking, keeping its exact bytes, splitting
out the start line and headers (and the body of a refusal); and checking the answer the
way a client would (RFC 6455 §4.1, §4.2.2): status, ``Upgrade``/``Connection``,
``Sec-WebSocket-Accept`` against the key, the subprotocol and extensions offered versus
chosen. What does not: sockets, building requests (websockets' ``ClientProtocol`` does
that for the live client), what a server requires of a request
(``explorer.ws.upgraderules``) and WebSocket frames (``explorer.ws.framing``).

A request is parsed once, leniently enough to show any capture (obsolete folding joined,
bare LF accepted); what a strict HTTP/1.1 server refuses in its syntax is kept in
:attr:`HttpRequest.defects`. The decoder, the live client, the diagnoser and the
embedded broker share this reader, so a handshake is read the same way whether it comes
from a capture, from our own connection or from a client of the broker.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Final, Literal

from explorer.errors import HandshakeError

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_HEAD",
    "MAX_FIELDS",
    "MAX_LINE",
    "TOKEN",
    "WEBSOCKET_GUID",
    "HandshakeCheck",
    "HeadTooLong",
    "HttpReader",
    "HttpRequest",
    "HttpResponse",
    "accept_key",
    "check_handshake",
    "header_tokens",
    "parse_request",
    "parse_response",
]

WEBSOCKET_GUID: Final = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
DEFAULT_MAX_HEAD: Final = 64 * 1024
DEFAULT_MAX_BODY: Final = 64 * 1024
# The limits websockets, nginx and Node keep by default: a start line or header line of at
# most 8 KiB with its CRLF, at most 128 header fields. Longer or more is refused.
MAX_LINE: Final = 8190
MAX_FIELDS: Final = 128


class HeadTooLong(HandshakeError):
    """No end of the HTTP head within :attr:`HttpReader.max_head` bytes."""


Headers = tuple[tuple[str, str], ...]

# RFC 9110 §5.1, §5.6.2: a field name is a token; §5.5: a field value is visible ASCII,
# obs-text (kept as latin-1) and inner spaces or tabs. Whitespace around the value is OWS.
TOKEN: Final = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_FIELD_LINE: Final = re.compile(
    r"([-!#$%&'*+.^_`|~0-9A-Za-z]+):[ \t]*"
    r"((?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?)[ \t]*"
)
_FIELD_VALUE: Final = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


_FIELD_LINES: Final = re.compile(
    r"^([-!#$%&'*+.^_`|~0-9A-Za-z]+):[ \t]*"
    r"((?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?)[ \t]*\r\n",
    re.MULTILINE,
)


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` value a server must send for ``key`` (RFC 6455 §4.2.2)."""
    digest = hashlib.sha1((key.strip() + WEBSOCKET_GUID).encode("latin-1")).digest()
    return base64.b64encode(digest).decode("ascii")


def _get(headers: Headers, name: str) -> str | None:
    """The values of header ``name`` joined by ``", "`` (RFC 9110 §5.3), or ``None``."""
    name = name.lower()
    values = [v for k, v in headers if k.lower() == name]
    return ", ".join(values) if values else None


def header_tokens(value: str | None) -> tuple[str, ...]:
    """Split a comma-separated header value into trimmed, non-empty items."""
    if not value:
        return ()
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """An HTTP request head exactly as received.

    ``defects`` lists what in its syntax a strict server refuses with 400 (see
    :func:`parse_request`); the fields are still read as well as they can be.
    ``by_name`` holds every header's values by its lower-case name, one per field line.
    """

    raw: bytes
    method: str
    target: str
    version: str
    headers: Headers
    defects: tuple[str, ...] = ()
    by_name: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields: dict[str, tuple[str, ...]] = {name.lower(): (value,) for name, value in self.headers}
        if len(fields) < len(self.headers):  # a name repeated: keep every value, in order
            fields = {}
            for name, value in self.headers:
                key = name.lower()
                fields[key] = (*fields[key], value) if key in fields else (value,)
        object.__setattr__(self, "by_name", fields)

    def header(self, name: str) -> str | None:
        """Value of a header (case-insensitive; repeated headers joined by commas)."""
        values = self.by_name.get(name.lower())
        return ", ".join(values) if values else None

    def values(self, name: str) -> tuple[str, ...]:
        """Every value of header ``name`` (case-insensitive), one per field line, in order."""
        return self.by_name.get(name.lower(), ())

    @property
    def subprotocols(self) -> tuple[str, ...]:
        """Subprotocols offered in ``Sec-WebSocket-Protocol`` (RFC 6455 §4.1)."""
        values = self.by_name.get("sec-websocket-protocol", ())
        if len(values) == 1 and TOKEN.fullmatch(values[0]) is not None:
            return values  # the common case: one offered
        return header_tokens(", ".join(values))

    @property
    def extensions(self) -> tuple[str, ...]:
        """Extensions offered in ``Sec-WebSocket-Extensions``, each with its parameters."""
        return header_tokens(self.header("Sec-WebSocket-Extensions"))


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """An HTTP response head (and, for a refusal, its body) exactly as received.

    ``body_truncated`` says the body was cut at the reader's cap or by the end of the
    stream before ``Content-Length`` bytes arrived.
    """

    raw: bytes
    version: str
    status: int
    reason: str
    headers: Headers
    body: bytes = b""
    body_truncated: bool = False

    def header(self, name: str) -> str | None:
        """Value of a header (case-insensitive; repeated headers joined by commas)."""
        return _get(self.headers, name)

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, if any."""
        value = self.header("Sec-WebSocket-Protocol")
        return value.strip() if value is not None else None

    @property
    def extensions(self) -> tuple[str, ...]:
        """Extensions the server accepted, each with its parameters."""
        return header_tokens(self.header("Sec-WebSocket-Extensions"))


def _split_head(head: bytes) -> tuple[str, Headers, tuple[str, ...]]:
    """Start line, header fields and syntax defects of a head ending with an empty line."""
    text = head.decode("latin-1")  # RFC 9110 §5.5: field values are octets, latin-1 keeps them
    lines_ended = text.count("\r\n")
    if lines_ended == text.count("\n") and len(text) <= MAX_LINE and lines_ended - 2 <= MAX_FIELDS:
        # The common case, in one pass: CRLF line ends, no line too long, and every line
        # from the start line's end to the empty line a well-formed field.
        first = text.find("\r\n")
        fields = _FIELD_LINES.findall(text, first + 2)
        if len(fields) == lines_ended - 2:
            return text[:first], tuple(fields), ()
    defects: list[str] = []
    if text.count("\n") != text.count("\r\n"):
        defects.append("a line ends with a bare LF instead of CRLF (RFC 9112 §2.2)")
    lines = text.replace("\r\n", "\n").split("\n")
    start = lines[0]
    if len(start) > MAX_LINE:
        defects.append(f"the start line is {len(start)} bytes long; servers refuse more than {MAX_LINE}")
    headers: list[tuple[str, str]] = []
    match_line = _FIELD_LINE.fullmatch
    for line in lines[1:]:
        match = match_line(line)
        if match is not None and len(line) <= MAX_LINE:
            headers.append((match[1], match[2]))  # the common case: one well-formed field
            continue
        if not line:
            continue
        if len(line) > MAX_LINE:
            defects.append(f"a header line is {len(line)} bytes long; servers refuse more than {MAX_LINE}")
        if line[0] in " \t" and headers:
            # RFC 9112 §5.2: obsolete line folding; joined to the previous field for reading
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip(" \t"))
            defects.append(f"header {name} is folded over several lines (obsolete, RFC 9112 §5.2)")
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HandshakeError(f"malformed HTTP header line {line[:80]!r}")
        value = value.strip(" \t")
        if TOKEN.fullmatch(name) is None:
            defects.append(f"header name {name[:40]!r} is not a token (RFC 9110 §5.1)")
        if _FIELD_VALUE.fullmatch(value) is None:
            defects.append(f"header {name[:40]} has a control character in its value (RFC 9110 §5.5)")
        headers.append((name, value))
    if len(headers) > MAX_FIELDS:
        defects.append(f"{len(headers)} header fields; servers refuse more than {MAX_FIELDS}")
    return start, tuple(headers), tuple(defects)


def parse_request(head: bytes) -> HttpRequest:
    """Parse a complete request head (start line through the empty line).

    What a strict HTTP/1.1 server refuses in the syntax (a bare LF, folding, a header name
    that is not a token, a control character in a value, a line or a field count over
    :data:`MAX_LINE` / :data:`MAX_FIELDS`) is listed in :attr:`HttpRequest.defects`.

    Raises:
        HandshakeError: the bytes are not an HTTP/1.x request.
    """
    start, headers, defects = _split_head(head)
    parts = start.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise HandshakeError(f"not an HTTP request line: {start[:80]!r}")
    method, target, version = parts
    return HttpRequest(head, method, target, version, headers, defects)


def parse_response(head: bytes, body: bytes = b"", *, body_truncated: bool = False) -> HttpResponse:
    """Parse a complete response head; ``body`` is attached as given.

    Raises:
        HandshakeError: the bytes are not an HTTP/1.x status line.
    """
    start, headers, _ = _split_head(head)
    version, _, rest = start.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/") or len(code) != 3 or not code.isdigit():
        raise HandshakeError(f"not an HTTP status line: {start[:80]!r}")
    return HttpResponse(head + body, version, int(code), reason, headers, body, body_truncated)


class HttpReader:
    """Incremental reader of one HTTP request or response head from a byte stream.

    Feed bytes with :meth:`receive_data` until it returns the message; the bytes after
    it (the first WebSocket frames, or whatever follows) are in :attr:`rest`. For a
    response other than ``101`` the body is read too: ``Content-Length`` bytes, or a
    chunked body up to its last chunk, or everything until :meth:`receive_eof`, never
    more than ``max_body`` bytes.

    Args:
        kind: ``"request"`` or ``"response"``.
        max_head: a head longer than this is an error (a peer not speaking HTTP).
        max_body: cap on the body kept from a refusal.
    """

    def __init__(
        self,
        kind: Literal["request", "response"],
        *,
        max_head: int = DEFAULT_MAX_HEAD,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.kind = kind
        self.max_head = max_head
        self.max_body = max_body
        self.message: HttpRequest | HttpResponse | None = None
        self.rest = b""
        self._buf = bytearray()
        self._head: bytes | None = None
        self._body_mode: Literal["length", "chunked", "eof"] = "eof"
        self._body_length = 0
        self._scanned = 0  # where to resume looking for the end of the head

    @property
    def done(self) -> bool:
        """The message is complete (see :attr:`message`)."""
        return self.message is not None

    @property
    def buffered(self) -> int:
        """Bytes held that do not yet make a complete message."""
        return len(self._buf)

    def receive_data(self, data: bytes) -> HttpRequest | HttpResponse | None:
        """Feed bytes; return the message once it is complete, else ``None``.

        After completion, further data is appended to :attr:`rest` untouched.

        Raises:
            HeadTooLong: no end of the head within ``max_head`` bytes.
            HandshakeError: the bytes are not HTTP.
        """
        if self.message is not None:
            self.rest += data
            return None
        if self.kind == "request" and not self._buf:
            end = data.find(b"\r\n\r\n")
            if end >= 0 and data.find(b"\n\n", 0, end + 2) < 0:
                # The common case: a whole request in the first piece, CRLF line ends.
                self.message = parse_request(data[: end + 4])
                self.rest = data[end + 4 :]
                return self.message
        self._buf += data
        if self._head is None:
            end = self._find_head_end()
            if end < 0:
                if len(self._buf) > self.max_head:
                    raise HeadTooLong(
                        f"no end of HTTP headers within {self.max_head} bytes: the peer does not speak HTTP"
                    )
                return None
            head = bytes(self._buf[:end])
            del self._buf[:end]
            if self.kind == "request":
                self.message = parse_request(head)
                self._finish_rest()
                return self.message
            response = parse_response(head)
            if response.status == 101 or 100 <= response.status < 200 or response.status in (204, 304):
                self.message = response
                self._finish_rest()
                return self.message
            self._head = head
            self._choose_body_mode(response)
        return self._try_body(eof=False)

    def receive_eof(self) -> HttpRequest | HttpResponse | None:
        """The stream ended: complete a body read to the end, else return ``None``."""
        if self.message is not None or self._head is None:
            return None
        return self._try_body(eof=True)

    def _find_head_end(self) -> int:
        """Index just past the empty line ending the head, or -1."""
        buf = self._buf
        start = max(0, self._scanned - 3)
        crlf = buf.find(b"\r\n\r\n", start)
        lf = buf.find(b"\n\n", start)
        self._scanned = len(buf)
        ends = [i + n for i, n in ((crlf, 4), (lf, 2)) if i >= 0]
        return min(ends) if ends else -1

    def _choose_body_mode(self, response: HttpResponse) -> None:
        length = response.header("Content-Length")
        if length is not None and length.strip().isdigit():
            self._body_mode = "length"
            self._body_length = int(length.strip())
        elif "chunked" in (response.header("Transfer-Encoding") or "").lower():
            self._body_mode = "chunked"
        else:
            self._body_mode = "eof"

    def _try_body(self, *, eof: bool) -> HttpResponse | None:
        assert self._head is not None
        buf = self._buf
        if self._body_mode == "length":
            want = min(self._body_length, self.max_body)
            if len(buf) < want and not eof:
                return None
            body = bytes(buf[:want])
            truncated = len(body) < self._body_length
            del buf[: len(body)]
        elif self._body_mode == "chunked":
            end = buf.find(b"\r\n0\r\n\r\n")
            if buf.startswith(b"0\r\n\r\n"):
                end = -2
            if end == -1 and len(buf) < self.max_body and not eof:
                return None
            cut = min(end + 7 if end != -1 else len(buf), self.max_body)
            body = bytes(buf[:cut])
            truncated = end == -1 or cut < end + 7
            del buf[:cut]
        else:
            if len(buf) < self.max_body and not eof:
                return None
            body = bytes(buf[: self.max_body])
            truncated = len(buf) > self.max_body or not eof
            del buf[: len(body)]
        self.message = parse_response(self._head, body, body_truncated=truncated)
        self._finish_rest()
        return self.message

    def _finish_rest(self) -> None:
        self.rest = bytes(self._buf)
        self._buf = bytearray()


@dataclass(frozen=True, slots=True)
class HandshakeCheck:
    """How an upgrade went, as a client would judge it (RFC 6455 §4.1).

    ``ok`` is true when the connection upgraded and every client-side check passed;
    ``problems`` lists each failed check in a sentence, and ``notes`` things that are
    legal but usually wrong for MQTT (no subprotocol chosen).
    """

    status: int
    reason: str
    upgraded: bool
    accept_expected: str | None
    accept_received: str | None
    subprotocols_offered: tuple[str, ...]
    subprotocol: str | None
    extensions_offered: tuple[str, ...]
    extensions: tuple[str, ...]
    problems: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def accept_ok(self) -> bool | None:
        """Whether ``Sec-WebSocket-Accept`` matches the key (``None``: cannot tell)."""
        if self.accept_expected is None or self.accept_received is None:
            return None
        return self.accept_expected == self.accept_received

    @property
    def ok(self) -> bool:
        return self.upgraded and not self.problems


def check_handshake(request: HttpRequest | None, response: HttpResponse) -> HandshakeCheck:
    """Judge a response (against its request when known) as RFC 6455 §4.1 tells a client.

    Without the request, the accept key and the offered subprotocols cannot be checked
    and are left out (``accept_ok`` is ``None``).
    """
    problems: list[str] = []
    notes: list[str] = []
    upgraded = response.status == 101
    key = request.header("Sec-WebSocket-Key") if request is not None else None
    expected = accept_key(key) if key is not None else None
    received = response.header("Sec-WebSocket-Accept")
    received = received.strip() if received is not None else None
    offered = request.subprotocols if request is not None else ()
    chosen = response.subprotocol
    ext_offered = request.extensions if request is not None else ()
    ext_chosen = response.extensions
    if not upgraded:
        problems.append(
            f"the server answered {response.status} {response.reason} instead of 101 Switching Protocols"
        )
    else:
        if "websocket" not in (t.lower() for t in header_tokens(response.header("Upgrade"))):
            problems.append("the response lacks 'Upgrade: websocket' (RFC 6455 §4.1, item 2)")
        if "upgrade" not in (t.lower() for t in header_tokens(response.header("Connection"))):
            problems.append("the response lacks 'Connection: Upgrade' (RFC 6455 §4.1, item 3)")
        if received is None:
            problems.append("the response has no Sec-WebSocket-Accept (RFC 6455 §4.1, item 4)")
        elif expected is not None and received != expected:
            problems.append(
                f"Sec-WebSocket-Accept is {received!r} but the key requires {expected!r} (RFC 6455 §4.2.2)"
            )
        if chosen is not None:
            if "," in chosen:
                problems.append(f"the server chose several subprotocols ({chosen!r}); it may choose one")
            elif request is not None and chosen not in offered:
                # RFC 6455 §4.1, item 6: a subprotocol the client did not offer fails the connection
                problems.append(f"the server chose subprotocol {chosen!r}, which was not offered {offered!r}")
        elif offered:
            notes.append(
                f"the server chose no subprotocol although {', '.join(offered)} was offered; "
                "most MQTT clients and brokers require 'mqtt'"
            )
        if request is not None:
            offered_names = {e.split(";")[0].strip().lower() for e in ext_offered}
            for ext in ext_chosen:
                name = ext.split(";")[0].strip().lower()
                if name not in offered_names:
                    # RFC 6455 §4.1, item 5
                    problems.append(f"the server accepted extension {name!r}, which was not offered")
    return HandshakeCheck(
        status=response.status,
        reason=response.reason,
        upgraded=upgraded,
        accept_expected=expected,
        accept_received=received,
        subprotocols_offered=offered,
        subprotocol=chosen,
        extensions_offered=ext_offered,
        extensions=ext_chosen,
        problems=tuple(problems),
        notes=tuple(notes),
    )
