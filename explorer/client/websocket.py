"""MQTT over WebSocket on the client side: the upgrade, then frames of our own.

websockets (Sans-I/O ``ClientProtocol``) does the HTTP upgrade: it builds the request
and validates the response, and its error messages explain a refused upgrade. It is
given the bytes of the response head and nothing after it: from the 101 on, every byte
the server sends is parsed once, by the connection's decoder (``explorer.client.trace``),
whose packets go to the session and whose notable frames come back here. This module
answers them: a ping gets a pong with the same payload, the server's close frame gets
ours and ends the connection (its code and reason kept for :meth:`describe_close`), a
text frame fails the connection with 1003 ([MQTT-6.0.0-1]), and a frame that breaks
RFC 6455 fails it with the close code the rules table gives for what the frame reader
found (``RawFrame.violations`` and ``answer``, ``FramingError.violation``, from
``explorer.ws.rules.Violation``: 1002, 1007 for a close reason that is not UTF-8, 1009
for a frame larger than any MQTT packet) and one sentence naming the rule; a fragmented
message larger than any MQTT packet fails it with 1009 too.

Our own frames are built here too (``explorer.ws.framing.build_frame``, a fresh mask key
from ``os.urandom`` for each, RFC 6455 §5.3), and so is the close handshake (RFC 6455
§7.1.2). Every byte sent goes through the tap as well; the copy of the upgrade request
has the values of ``Authorization`` and secret headers replaced by ``*`` of the same
length, so no credential reaches a trace.

What belongs here: the upgrade with every option of :class:`ConnectionOptions` (path,
subprotocol list, headers, Origin, basic auth), the subprotocol check, and what the
client does with the server's frames. What does not: reading frames and packets
(``explorer.decoder``), MQTT itself (``explorer.session``), TCP/TLS/proxy
(``explorer.client.net``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from websockets.client import ClientProtocol
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHandshake, InvalidHeader, InvalidStatus
from websockets.headers import build_authorization_basic
from websockets.http11 import Request, Response
from websockets.typing import Origin, Subprotocol
from websockets.uri import parse_uri

from explorer.client.net import READ_SIZE, StreamInfo, open_stream, tls_read_failure
from explorer.client.options import ConnectionOptions
from explorer.client.trace import MAX_MESSAGE, ConnectionTrace
from explorer.errors import ConnectionFailed, HandshakeError
from explorer.masking import mask_header_values
from explorer.ws.framing import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FramingError,
    RawFrame,
    build_frame,
)
from explorer.ws.handshake import DEFAULT_MAX_HEAD
from explorer.ws.rules import MAX_CLOSE_REASON, CloseCode, Violation

__all__ = [
    "CLOSE_TIMEOUT",
    "MAX_MESSAGE",
    "SILENT_LOGGER",
    "Link",
    "SubprotocolCheck",
    "WebSocketTransport",
    "build_request",
    "check_subprotocol",
    "violation_sentence",
]

CLOSE_TIMEOUT = 2.0  # seconds to wait for the server's half of the close handshake

_TEXT_SENTENCE = (
    "the server sent MQTT in a text frame; MQTT over WebSocket uses binary frames only "
    "[MQTT-6.0.0-1], so the connection was closed with code 1003"
)


def violation_sentence(frame: RawFrame | FramingError, code: int) -> str:
    """One line for a server frame that broke RFC 6455, naming the rule and our close code."""
    if isinstance(frame, FramingError):
        if code == CloseCode.MESSAGE_TOO_BIG:
            what = f"a WebSocket frame larger than any MQTT packet ({frame.reason})"
        else:
            what = f"a WebSocket frame that cannot be read: {frame.reason}"  # the rule cited in it
    else:
        what = "a broken WebSocket frame: " + " and ".join(frame.problems)
    return f"the broker sent {what}; the connection was closed with code {code}"


def _close_body(code: int | None, reason: str = "") -> bytes:
    """A Close frame's body (RFC 6455 §5.5.1): the code, and the reason cut to fit 125 bytes."""
    if code is None:
        return b""
    text = reason.encode()[:MAX_CLOSE_REASON].decode("utf-8", "ignore").encode()
    return code.to_bytes(2, "big") + text


@dataclass(frozen=True, slots=True)
class SubprotocolCheck:
    """The server's answer to our ``Sec-WebSocket-Protocol`` offer.

    ``problem`` is a sentence when the answer breaks RFC 6455 §4.1 (a value we did
    not offer, several values) or what MQTT asks for (MQTT 5.0 §6.0: the client
    offers ``mqtt`` and the server must echo it); ``None`` when all is well.
    """

    offered: tuple[str, ...]
    chosen: str | None
    problem: str | None


def check_subprotocol(offered: tuple[str, ...], values: list[str]) -> SubprotocolCheck:
    """Judge the ``Sec-WebSocket-Protocol`` response header values against the offer."""
    chosen_list = [item.strip() for value in values for item in value.split(",") if item.strip()]
    chosen = chosen_list[0] if chosen_list else None
    problem: str | None = None
    offer = ", ".join(offered)
    if len(chosen_list) > 1:
        # RFC 6455 §4.2.2: the server selects one of the values.
        problem = f"the server answered several subprotocols ({', '.join(chosen_list)}) where one is allowed"
    elif chosen is not None and chosen not in offered:
        # RFC 6455 §4.1: the client must fail the connection on a value it did not offer.
        problem = f"the server chose the subprotocol {chosen!r}, which was not offered" + (
            f" (offered: {offer})" if offered else " (none was offered)"
        )
    elif chosen is None and offered:
        # [MQTT-6.0.0-4]: the server must select one of the offered MQTT subprotocols;
        # browsers refuse a connection without the echo.
        problem = f"the server did not echo any of the offered subprotocols ({offer}); browsers refuse this"
    return SubprotocolCheck(offered=offered, chosen=chosen, problem=problem)


class _Silent(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger for websockets that says nothing.

    At DEBUG websockets logs every request header (an ``Authorization`` value, a secret
    header) and the first and last bytes of every frame (a CONNECT's password): not a
    word of that may reach a log. The explorer's own trace, masked, records the traffic.
    """

    def isEnabledFor(self, level: int) -> bool:
        return False

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        return


SILENT_LOGGER = _Silent(logging.getLogger("explorer.client.websocket"), {})


class _ClientProtocol(ClientProtocol):
    """websockets' client protocol with the subprotocol check left to us.

    websockets refuses a subprotocol that was not offered; an explorer has to see and
    report it instead (and refuse it only in strict mode).
    """

    subprotocol_values: list[str]

    def process_subprotocol(self, headers: Headers) -> Subprotocol | None:
        self.subprotocol_values = headers.get_all("Sec-WebSocket-Protocol")
        check = check_subprotocol(tuple(self.available_subprotocols or ()), self.subprotocol_values)
        return None if check.chosen is None else Subprotocol(check.chosen)


def build_request(protocol: ClientProtocol, options: ConnectionOptions) -> tuple[Request, Request]:
    """The upgrade request to send and the copy with secret header values masked."""
    try:
        request = protocol.connect()
    except InvalidHeader:  # the Origin given holds a line break or control character
        raise HandshakeError(
            "the Origin header cannot be sent: its value holds a line break or another control character"
        ) from None
    headers = request.headers
    secret_names: set[str] = set()
    if options.http_username is not None:
        headers["Authorization"] = build_authorization_basic(
            options.http_username, options.http_password or ""
        )
        secret_names.add("authorization")
    extra = list(options.headers) + list(options.secret_headers)
    # A custom header replaces one websockets would send (e.g. Host): the user asked for it.
    for name in {name.lower() for name, _ in extra}:
        if name in headers:
            del headers[name]
    secret_names.update(name.lower() for name, _ in options.secret_headers)
    for name, value in extra:
        try:
            headers[name] = value
        except InvalidHeader:  # a line break or control character: refused, never sent
            raise HandshakeError(
                f"the {name!r} header cannot be sent: its name or value holds a line break "
                "or another control character"
            ) from None
    secret_names.update(name.lower() for name, _ in options.secret_headers)
    masked = Headers()
    for name, value in mask_header_values(headers.raw_items(), secret_names):
        masked[name] = value
    return request, Request(request.path, masked)


class Link(Enum):
    """Where a WebSocket connection is in its life after the upgrade (RFC 6455 §7).

    ``OPEN``: reading and sending. ``CLOSING``: our close frame went out, reading goes on
    until the server's (§7.1.2). ``OWING``: reading ended at the server's close frame or at
    a broken frame; the session's acknowledgements of what came before it may still go
    out, then our close frame. ``CLOSED``: nothing more is read or sent.
    """

    OPEN = "open"
    CLOSING = "closing"
    OWING = "owing"
    CLOSED = "closed"


_READING: Final = frozenset({Link.OPEN, Link.CLOSING})
_SENDING: Final = frozenset({Link.OPEN, Link.OWING})


class WebSocketTransport:
    """The MQTT byte stream carried in binary WebSocket frames (MQTT 5.0 §6.0).

    Use :meth:`open`; then each :meth:`receive` reads once from the server into the
    connection's decoder (``ConnectionTrace``: the session takes the packets from it)
    and answers the frames it found, and :meth:`send` puts bytes in one binary frame.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        info: StreamInfo,
        trace: ConnectionTrace,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.info = info
        self._head: bytes | None = b""  # the response head so far; None once it is read
        self._head_size = 0
        self._trace = trace
        self._link = Link.OPEN
        self._close_received = False  # the server's close frame was read
        self._owed: tuple[int | None, str] = (None, "")  # our close frame, while Link.OWING
        self._message_start = 0  # MQTT stream offset where the fragmented message began
        self._receiving = False
        self._closed = asyncio.Event()  # set once nothing more is read (Link.OWING, Link.CLOSED)
        self.response: Response | None = None
        self.subprotocol_check = SubprotocolCheck((), None, None)
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.failure: str | None = None  # why we failed the connection ourselves, if we did

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose (even one we did not offer), or ``None``."""
        return self.subprotocol_check.chosen

    @classmethod
    async def open(cls, options: ConnectionOptions, *, trace: ConnectionTrace) -> WebSocketTransport:
        """Connect (TCP, proxy, TLS) and perform the upgrade to WebSocket.

        Raises:
            ConnectionFailed: below HTTP (refused, timeout, TLS).
            HandshakeError: the upgrade failed (status line, bad accept key, strict
                subprotocol check, timeout).
        """
        endpoint = options.endpoint
        uri = parse_uri(f"{endpoint.scheme}://{_authority(endpoint.host, endpoint.port)}{endpoint.path}")
        protocol = _ClientProtocol(
            uri,
            origin=Origin(options.origin) if options.origin is not None else None,
            subprotocols=[Subprotocol(s) for s in options.subprotocols] if options.subprotocols else None,
            logger=SILENT_LOGGER,
        )
        protocol.subprotocol_values = []
        reader, writer, info = await open_stream(endpoint, options)
        self = cls(reader, writer, info, trace)
        try:
            # websockets lives for the upgrade only: none of its state after the 101.
            await self._handshake(protocol, options)
        except BaseException:
            self.abort()
            raise
        return self

    # ----------------------------------------------------------------- the upgrade

    async def _handshake(self, protocol: _ClientProtocol, options: ConnectionOptions) -> None:
        request, masked = build_request(protocol, options)
        protocol.send_request(request)
        for data in protocol.data_to_send():
            self._writer.write(data)
        self._trace.tap("c2s", masked.serialize())
        timeout = options.handshake_timeout
        try:
            async with asyncio.timeout(timeout):
                while self.response is None and protocol.handshake_exc is None:
                    if not await self._read_upgrade(protocol):
                        break
        except TimeoutError:
            raise HandshakeError(
                f"no answer to the WebSocket upgrade within {timeout:g} s "
                "(is this an MQTT-over-TCP port, or a proxy holding the request?)"
            ) from None
        exc = protocol.handshake_exc
        if exc is not None:
            raise _handshake_error(exc) from None
        if self.response is None:
            raise HandshakeError(
                "the server closed the connection without answering the WebSocket upgrade"
                " (wrong port, or a server that is not HTTP?)"
            )
        if self._trace.decoder.handshake is None:
            # websockets took an answer the decoder cannot read: no frame after it would be.
            raise HandshakeError(
                f"the server's answer to the WebSocket upgrade has a head of {self._head_size} bytes; "
                f"at most {DEFAULT_MAX_HEAD} are read"
                if self._head_size > DEFAULT_MAX_HEAD
                else "the server's answer to the WebSocket upgrade cannot be read as HTTP (see the trace)"
            )
        self.subprotocol_check = check_subprotocol(options.subprotocols, protocol.subprotocol_values)
        problem = self.subprotocol_check.problem
        if problem is not None and options.strict_subprotocol:
            raise HandshakeError(f"{problem} (refused: strict subprotocol check)")
        if self._trace.frames:
            self._act()  # frames that came in the same read as the 101

    async def _read_upgrade(self, protocol: _ClientProtocol) -> bool:
        """Read once during the upgrade; websockets gets the response head and, after a
        refusal, its body, never a byte after a 101. ``False`` at end of stream."""
        data = await self._read()
        if not data:
            protocol.receive_eof()
            self._take_response(protocol)
            return False
        self._trace.tap("s2c", data)  # the decoder reads the head and the frames after it
        head = self._head
        if head is None:
            protocol.receive_data(data)  # the body of a refusal
        else:
            seen = head + data
            end = seen.find(b"\r\n\r\n", max(0, len(head) - 3))
            if end < 0:
                self._head = seen
                protocol.receive_data(data)
            else:
                self._head = None
                self._head_size = end + 4
                cut = end + 4 - len(head)
                protocol.receive_data(data[:cut])
                self._take_response(protocol)
                if self.response is None and protocol.handshake_exc is None:
                    protocol.receive_data(data[cut:])  # not a 101: the body of the refusal
        self._take_response(protocol)
        return True

    def _take_response(self, protocol: _ClientProtocol) -> None:
        for event in protocol.events_received():
            if isinstance(event, Response):
                self.response = event
        for data in protocol.data_to_send():
            if not data and self._writer.can_write_eof() and not self._writer.is_closing():
                try:
                    self._writer.write_eof()  # websockets gives up on a refused upgrade
                except OSError:
                    pass

    # ----------------------------------------------------------------- reading

    async def _read(self) -> bytes:
        try:
            return await self._reader.read(READ_SIZE)
        except ssl.SSLError as exc:
            self._move(Link.CLOSED)
            raise ConnectionFailed(tls_read_failure(exc)) from None
        except ConnectionError:
            return b""

    async def _read_once(self) -> None:
        """Read one chunk into the decoder and answer the frames it found."""
        data = await self._read()
        if not data:
            self._move(Link.CLOSED)  # the end of the stream
            return
        trace = self._trace
        trace.tap("s2c", data)
        if trace.frames:
            if self._link in _READING:
                self._act()
            else:
                trace.frames.clear()  # read for the trace only

    async def receive(self) -> bool:
        """Read once from the server into the connection's decoder and answer its frames;
        ``False`` once nothing more is read (the server's close frame, a frame that failed
        the connection, the end of the stream) and no packet waits. The packets read wait
        in the trace for ``ConnectionTrace.deliver``."""
        self._receiving = True
        try:
            # With a backlog the stream reader hands out buffered bytes without
            # suspending; yield once per chunk so that a burst is many short callbacks,
            # not one that keeps timers, key presses and redraws waiting. Inside
            # ``_receiving``, so that close() leaves the rest of the stream to this reader.
            await asyncio.sleep(0)
            pending = self._trace.server  # packets read with the upgrade's answer go first
            if self._link in _READING and not pending:
                await self._read_once()
            # The packets before the end are delivered first, the end is told next time.
            return self._link in _READING or bool(pending)
        finally:
            self._receiving = False

    def _act(self) -> None:
        """Answer the server's frames the decoder found, in wire order, up to the first
        that ends the connection."""
        frames = self._trace.frames
        for offset, frame in frames:
            if isinstance(frame, FramingError):
                self._fail(offset, frame.code, violation_sentence(frame, frame.code), frame.reason)
            elif frame.violations:  # the rules table (explorer.ws.rules) gives the close code
                code = frame.answer or CloseCode.PROTOCOL_ERROR
                self._fail(offset, code, violation_sentence(frame, code), frame.problems[0])
            elif frame.opcode == OP_PING:
                if self._link is Link.OPEN:
                    self._send_frame(OP_PONG, frame.payload)  # RFC 6455 §5.5.3: the same payload
            elif frame.opcode == OP_CLOSE:
                self._on_close(offset, frame)
            elif frame.opcode == OP_TEXT:
                # [MQTT-6.0.0-1]: MQTT Control Packets MUST be sent in binary data frames;
                # any other data frame closes the connection.
                text = Violation.TEXT_FRAME
                self._fail(offset, text.code, _TEXT_SENTENCE, text.text())
            elif frame.opcode in (OP_BINARY, OP_CONTINUATION):
                self._on_fragment(offset, frame)
            # a pong answers nothing (RFC 6455 §5.5.3: an unsolicited one is allowed)
            if self._link not in _READING:
                break
        frames.clear()

    def _on_fragment(self, offset: int, frame: RawFrame) -> None:
        """A frame of a fragmented message (RFC 6455 §5.4): the message as a whole may not
        be larger than any MQTT packet (1009, RFC 6455 §7.4.1). ``offset`` counts the data
        frames' payloads, so the message has the bytes from its first frame's offset on."""
        if frame.opcode == OP_BINARY:
            self._message_start = offset
        size = offset + frame.payload_length - self._message_start
        if size > MAX_MESSAGE:
            code = int(CloseCode.MESSAGE_TOO_BIG)
            what = f"a fragmented WebSocket message above {MAX_MESSAGE} bytes, larger than any MQTT packet"
            sentence = f"the broker sent {what}; the connection was closed with code {code}"
            self._fail(offset, code, sentence, what)

    def _on_close(self, offset: int, frame: RawFrame) -> None:
        """The server's close frame: nothing after it is read; our answer echoes its code
        (RFC 6455 §5.5.1)."""
        code = frame.close_code
        self.close_code = code if code is not None else CloseCode.NO_STATUS
        self.close_reason = frame.close_reason or ""
        self._close_received = True
        self._stop_reading(offset, code, "")

    def _fail(self, offset: int, code: int, sentence: str, reason: str) -> None:
        """Fail the WebSocket connection (RFC 6455 §7.1.7): our close frame with ``code``
        and ``reason``; nothing the server sent from ``offset`` on reaches the session."""
        self.failure = sentence
        self.close_code, self.close_reason = code, reason
        self._stop_reading(offset, code, reason)

    def _stop_reading(self, offset: int, code: int | None, reason: str) -> None:
        """Reading ends at ``offset`` of the MQTT stream. Our close frame, unless it went
        out first, is owed: it goes out in :meth:`close`, after the session's
        acknowledgements of the packets before ``offset``, or now if there are none."""
        self._trace.stop(offset)
        if self._link is Link.CLOSING:  # our close frame went first
            if self._close_received:
                self._half_close()  # the close handshake we started is complete
            self._move(Link.CLOSED)
            return
        self._owed = (code, reason)
        self._move(Link.OWING)
        if not self._trace.server:
            self._pay_close()

    def _pay_close(self) -> None:
        """Send the close frame we owe (``Link.OWING``)."""
        self._send_close(*self._owed)
        if self._close_received:
            self._half_close()  # the close handshake the server started is complete
        self._move(Link.CLOSED)

    def _move(self, link: Link) -> None:
        self._link = link
        if link not in _READING:
            self._closed.set()

    # ----------------------------------------------------------------- writing

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        # RFC 6455 §5.3: every client frame is masked, with a fresh unpredictable key.
        data = build_frame(opcode, payload, mask_key=os.urandom(4))
        self._trace.tap("c2s", data)
        if not self._writer.is_closing():
            self._writer.write(data)

    def _send_close(self, code: int | None, reason: str = "") -> None:
        self._send_frame(OP_CLOSE, _close_body(code, reason))

    def _half_close(self) -> None:
        """RFC 6455 §7.1.1: after the close handshake the client half-closes TCP."""
        writer = self._writer
        if writer.can_write_eof() and not writer.is_closing():
            try:
                writer.write_eof()
            except OSError:
                pass

    def send(self, data: bytes) -> None:
        """Send MQTT bytes in one binary frame (also after the frame that ended reading,
        until our close frame: the acknowledgements of what came before it)."""
        if self._link not in _SENDING:
            raise ConnectionFailed(self.describe_close())
        self._send_frame(OP_BINARY, data)

    def describe_close(self) -> str:
        """A sentence for the end of the connection, with the close code when there was one."""
        if self.failure is not None:
            return self.failure
        if self.close_code is None:
            return "the WebSocket connection to the broker is closed"
        if self.close_code == CloseCode.NO_STATUS:
            return "the broker closed the WebSocket (a close frame with no code)"  # RFC 6455 §7.1.5
        text = f"the broker closed the WebSocket (code {self.close_code}"
        return text + (f": {self.close_reason})" if self.close_reason else ")")

    async def drain(self) -> None:
        try:
            await self._writer.drain()
        except (ConnectionError, ssl.SSLError) as exc:
            raise ConnectionFailed(f"the connection to the broker was lost: {exc}") from None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close handshake (RFC 6455 §7.1.2): our close frame, the server's within
        :data:`CLOSE_TIMEOUT` (then a half-close), then the socket. After the server's
        close frame: our answer, echoing its code (RFC 6455 §5.5.1), and the half-close;
        after a broken frame: our close frame with the code it calls for."""
        if self._link is Link.OWING:
            self._pay_close()
        elif self._link is Link.OPEN:
            self._send_close(code, reason)
            self._move(Link.CLOSING)
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                if self._receiving:
                    await self._closed.wait()  # the reader reads the server's close frame
                else:
                    while self._link in _READING:
                        await self._read_once()
        except (TimeoutError, ConnectionFailed):
            pass
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass

    def abort(self) -> None:
        self._writer.transport.abort()
        self._move(Link.CLOSED)


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _handshake_error(exc: Exception) -> HandshakeError:
    if isinstance(exc, InvalidStatus):
        response = exc.response
        return HandshakeError(
            f"the server answered the WebSocket upgrade with HTTP/1.1 {response.status_code} "
            f"{response.reason_phrase} instead of 101 Switching Protocols"
        )
    if isinstance(exc, InvalidHandshake):
        cause = exc.__cause__
        detail = f"{exc}" + (f": {cause}" if cause is not None else "")
        return HandshakeError(f"invalid WebSocket handshake response: {detail}")
    return HandshakeError(f"the WebSocket handshake failed: {exc}")
