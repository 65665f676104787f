"""MQTT over WebSocket: an asyncio driver around ``websockets.client.ClientProtocol``.

The handshake and framing rules are websockets' (Sans-I/O); this module only moves
bytes between the stream and the protocol object, and hands a copy of every byte
in both directions to a tap (:data:`explorer.client.net.Tap`) so the decoder can show the
raw HTTP upgrade and every frame, control frames included. The copy of the upgrade
request has the values of ``Authorization`` and secret headers replaced by ``*`` of
the same length, so no credential reaches a trace.

What belongs here: the upgrade with every option of :class:`ConnectionOptions`
(path, subprotocol list, headers, Origin, basic auth), the subprotocol check, and
turning binary frames into the MQTT byte stream. What does not: MQTT itself
(``explorer.session``), TCP/TLS/proxy (``explorer.client.net``), trace events
(``explorer.decoder``).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from typing import Any

from websockets.client import ClientProtocol
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHandshake, InvalidHeader, InvalidState, InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.headers import build_authorization_basic
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Origin, Subprotocol
from websockets.uri import parse_uri

from explorer.client.net import READ_SIZE, StreamInfo, Tap, open_stream, tls_read_failure
from explorer.client.options import ConnectionOptions
from explorer.errors import ConnectionFailed, HandshakeError
from explorer.masking import mask_header_values
from explorer.ws.rules import CloseCode

__all__ = [
    "CLOSE_TIMEOUT",
    "MAX_MESSAGE",
    "SILENT_LOGGER",
    "SubprotocolCheck",
    "WebSocketTransport",
    "build_request",
    "check_subprotocol",
    "violation_sentence",
]

CLOSE_TIMEOUT = 2.0  # seconds to wait for the server's half of the close handshake
# The largest MQTT packet: 1 type byte, a 4-byte Remaining Length of at most 268,435,455
# (MQTT 5.0 §1.5.5); no message of an MQTT stream needs more unless packets are coalesced.
MAX_MESSAGE = 268_435_460

# What each of websockets' protocol errors means, with the rule broken.
_VIOLATIONS: tuple[tuple[str, str], ...] = (
    ("invalid opcode", "a frame with a reserved opcode (RFC 6455 §5.2)"),
    ("incorrect masking", "a masked frame, and a server must never mask (RFC 6455 §5.1)"),
    ("reserved bits", "a frame with reserved bits set and no extension negotiated (RFC 6455 §5.2)"),
    ("control frame too long", "a control frame above 125 bytes (RFC 6455 §5.5)"),
    ("fragmented control frame", "a fragmented control frame (RFC 6455 §5.5)"),
    ("close frame too short", "a close frame with a 1-byte body (RFC 6455 §5.5.1)"),
    ("invalid status code", "a close frame with a code no endpoint may send (RFC 6455 §7.4)"),
    ("unexpected continuation", "a continuation frame with no message to continue (RFC 6455 §5.4)"),
    ("expected a continuation", "a new message inside an unfinished fragmented one (RFC 6455 §5.4)"),
)


def violation_sentence(exc: BaseException, code: int) -> str:
    """One line for a server that broke RFC 6455, naming the rule and our close code."""
    text = str(exc)
    if isinstance(exc, UnicodeDecodeError):
        what = "text that is not valid UTF-8 (RFC 6455 §5.5.1, §8.1)"
    elif exc.__class__.__name__ == "PayloadTooBig":
        what = f"a message above {MAX_MESSAGE} bytes, larger than any MQTT packet"
    else:
        what = next((meaning for key, meaning in _VIOLATIONS if key in text), f"a broken frame ({text})")
    return f"the broker sent {what}; the connection was closed with code {code}"


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


class WebSocketTransport:
    """The MQTT byte stream carried in binary WebSocket frames (MQTT 5.0 §6.0).

    Use :meth:`open`; then :meth:`receive` returns the bytes of each binary frame
    (MQTT packets may span frames: the session reassembles them) and :meth:`send`
    puts bytes in one binary frame.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        info: StreamInfo,
        protocol: _ClientProtocol,
        tap: Tap | None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.info = info
        self._protocol = protocol
        self._tap = tap
        self._pending: list[bytes] = []
        self._eof = False
        self._receiving = False
        self._closed = asyncio.Event()
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
    async def open(cls, options: ConnectionOptions, *, tap: Tap | None = None) -> WebSocketTransport:
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
            # MQTT's own Maximum Packet Size applies; a message above the largest packet
            # MQTT can encode is refused with 1009 before it is buffered.
            max_size=MAX_MESSAGE,
            logger=SILENT_LOGGER,
        )
        protocol.subprotocol_values = []
        reader, writer, info = await open_stream(endpoint, options)
        self = cls(reader, writer, info, protocol, tap)
        try:
            await self._handshake(options)
        except BaseException:
            self.abort()
            raise
        return self

    async def _handshake(self, options: ConnectionOptions) -> None:
        protocol = self._protocol
        request, masked = build_request(protocol, options)
        protocol.send_request(request)
        for data in protocol.data_to_send():
            self._writer.write(data)
        if self._tap is not None:
            self._tap("c2s", masked.serialize())
        timeout = options.handshake_timeout
        try:
            async with asyncio.timeout(timeout):
                while self.response is None and protocol.handshake_exc is None:
                    if not await self._read_once():
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
        self.subprotocol_check = check_subprotocol(options.subprotocols, protocol.subprotocol_values)
        problem = self.subprotocol_check.problem
        if problem is not None and options.strict_subprotocol:
            raise HandshakeError(f"{problem} (refused: strict subprotocol check)")

    async def _read_once(self) -> bool:
        """Read one chunk into the protocol; ``False`` at end of stream."""
        try:
            data = await self._reader.read(READ_SIZE)
        except ssl.SSLError as exc:
            self._eof = True
            self._closed.set()
            raise ConnectionFailed(tls_read_failure(exc)) from None
        except ConnectionError:
            data = b""
        if data:
            if self._tap is not None:
                self._tap("s2c", data)
            self._protocol.receive_data(data)
        else:
            self._protocol.receive_eof()
        self._take_events()
        self._flush()
        if not data:
            self._eof = True
            self._closed.set()
        return bool(data)

    def _take_events(self) -> None:
        for event in self._protocol.events_received():
            if isinstance(event, Response):
                self.response = event
            elif isinstance(event, Frame):
                self._take_frame(event)
        exc = self._protocol.parser_exc
        if exc is not None and self.failure is None and not isinstance(exc, EOFError):
            # websockets failed the connection (RFC 6455 §7.1.7) and sent its close frame;
            # the server's later bytes are discarded, so the session ends here.
            sent = self._protocol.close_sent
            self.close_code = sent.code if sent is not None else CloseCode.PROTOCOL_ERROR
            self.close_reason = sent.reason if sent is not None else str(exc)
            self.failure = violation_sentence(exc, self.close_code)
            self._eof = True

    def _take_frame(self, frame: Frame) -> None:
        if frame.opcode in (Opcode.BINARY, Opcode.CONT):
            if frame.data:
                self._pending.append(bytes(frame.data))
        elif frame.opcode is Opcode.TEXT:
            # [MQTT-6.0.0-1]: MQTT Control Packets MUST be sent in binary data frames;
            # any other data frame closes the connection.
            self._protocol.fail(1003, "MQTT needs binary frames")
            self.close_code, self.close_reason = 1003, "MQTT needs binary frames"
            self.failure = (
                "the server sent MQTT in a text frame; MQTT over WebSocket uses binary frames only "
                "[MQTT-6.0.0-1], so the connection was closed with code 1003"
            )
            self._eof = True
        elif frame.opcode is Opcode.CLOSE:
            close = self._protocol.close_rcvd
            if close is not None:
                self.close_code, self.close_reason = close.code, close.reason
            self._eof = True

    def _flush(self) -> None:
        for data in self._protocol.data_to_send():
            if data:
                if self._tap is not None:
                    self._tap("c2s", data)
                if not self._writer.is_closing():
                    self._writer.write(data)
            elif self._writer.can_write_eof() and not self._writer.is_closing():
                # RFC 6455 §7.1.1: the client half-closes after the close handshake.
                try:
                    self._writer.write_eof()
                except OSError:
                    pass

    async def receive(self) -> bytes:
        """The payload of the next binary frame(s); ``b""`` once the connection is closed."""
        self._receiving = True
        try:
            # With a backlog the stream reader hands out buffered bytes without
            # suspending; yield once per chunk so that a burst is many short callbacks,
            # not one that keeps timers, key presses and redraws waiting. Inside
            # ``_receiving``, so that close() leaves the rest of the stream to this reader.
            await asyncio.sleep(0)
            while not self._pending:
                if self._eof or self._protocol.state is State.CLOSED:
                    self._closed.set()
                    return b""
                await self._read_once()
            data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
            self._pending.clear()
            return data
        finally:
            self._receiving = False

    def send(self, data: bytes) -> None:
        """Send MQTT bytes in one binary frame."""
        try:
            self._protocol.send_binary(data)
        except InvalidState:
            raise ConnectionFailed(self.describe_close()) from None
        self._flush()

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
        """Close handshake (RFC 6455 §7.1.2), then wait briefly for the server to close TCP."""
        if self._protocol.state is State.OPEN:
            self._protocol.send_close(code, reason)
            self._flush()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                if self._receiving:
                    await self._closed.wait()
                else:
                    while not self._closed.is_set() and await self._read_once():
                        pass
        except (TimeoutError, ConnectionFailed):
            pass
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass

    def abort(self) -> None:
        self._writer.transport.abort()
        self._closed.set()


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
