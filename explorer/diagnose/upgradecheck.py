"""The HTTP upgrade as the probe performs it: one request, the raw answer, its verdict.

Requests are built by websockets' ``ClientProtocol`` with the connection options
(``explorer.client.websocket.build_request``), responses are read and judged by
``explorer.ws.handshake`` (``HttpReader``, ``check_handshake``), so the probe sees a
handshake exactly as the live client and the decoder do. What this module adds is
what the first bytes of an answer that is *not* HTTP say about the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass, field

from websockets.client import ClientProtocol
from websockets.typing import Origin, Subprotocol
from websockets.uri import parse_uri

from explorer.client.options import ConnectionOptions
from explorer.client.websocket import build_request
from explorer.diagnose.browser import deflate_factory
from explorer.diagnose.httpcheck import classify_foreign_bytes, could_be_http
from explorer.diagnose.transport import ProbeStream
from explorer.diagnose.wire import printable
from explorer.errors import HandshakeError
from explorer.ws.handshake import HttpReader, HttpRequest, HttpResponse, parse_request

__all__ = ["UpgradeResult", "perform_upgrade"]

# Enough bytes to tell an HTTP/2 frame header (9 bytes) from other answers.
_SNIFF = 9
_SNIFF_WAIT = 0.3


@dataclass(slots=True)
class UpgradeResult:
    """What came back for one upgrade request.

    Exactly one of ``response`` (an HTTP answer), ``foreign`` (a cause for an answer
    that is not HTTP), ``tls_error`` (an alert after the TLS handshake) or ``timeout``
    describes the outcome; ``rest`` holds the bytes that followed a 101 head.
    """

    request: HttpRequest
    request_text: str
    response: HttpResponse | None = None
    rest: bytes = b""
    foreign: tuple[str, dict[str, str]] | None = None
    tls_error: ssl.SSLError | None = None
    timeout: bool = False
    observed: dict[str, str] = field(default_factory=dict)


def _request_bytes(
    options: ConnectionOptions, subprotocols: tuple[str, ...], deflate: bool
) -> tuple[bytes, str]:
    protocol = ClientProtocol(
        parse_uri(options.endpoint.url()),
        origin=Origin(options.origin) if options.origin else None,
        extensions=[deflate_factory()] if deflate else None,
        subprotocols=[Subprotocol(name) for name in subprotocols] or None,
    )
    request, masked = build_request(protocol, options)
    return request.serialize(), masked.serialize().decode("latin-1")


async def perform_upgrade(
    stream: ProbeStream,
    options: ConnectionOptions,
    *,
    subprotocols: tuple[str, ...] | None = None,
    deflate: bool = False,
) -> UpgradeResult:
    """Send the upgrade request and read the answer within ``options.handshake_timeout``.

    ``deflate`` offers permessage-deflate as Chromium does.
    """
    offered = options.subprotocols if subprotocols is None else subprotocols
    raw_request, request_text = _request_bytes(options, offered, deflate)
    result = UpgradeResult(request=parse_request(raw_request), request_text=request_text)
    reader = HttpReader("response")
    received = bytearray()
    deadline = time.monotonic() + options.handshake_timeout
    await stream.send(raw_request)
    while True:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            data = await asyncio.wait_for(stream.recv(), remaining)
        except TimeoutError:
            if not received:
                result.timeout = True
            elif not could_be_http(bytes(received)):
                result.foreign = classify_foreign_bytes(bytes(received))
            else:
                result.foreign = ("http-invalid-response", _partial(received))
            return result
        except ssl.SSLError as exc:
            result.tls_error = exc
            return result
        except (ConnectionError, OSError):
            data = b""
        if not data:
            if not received or not could_be_http(bytes(received)):
                result.foreign = classify_foreign_bytes(bytes(received))
                return result
            with contextlib.suppress(HandshakeError):
                message = reader.receive_eof()
                if isinstance(message, HttpResponse):
                    result.response = message
                    return result
            result.foreign = ("http-invalid-response", _partial(received))
            return result
        received += data
        if not could_be_http(bytes(received[:_SNIFF])):
            if len(received) < _SNIFF:
                # A short binary answer: give the rest of a frame header a moment to arrive.
                deadline = min(deadline, time.monotonic() + _SNIFF_WAIT)
                continue
            result.foreign = classify_foreign_bytes(bytes(received))
            return result
        try:
            message = reader.receive_data(data)
        except HandshakeError:
            result.foreign = ("http-invalid-response", _partial(received))
            return result
        if isinstance(message, HttpResponse):
            result.response = message
            result.rest = reader.rest
            return result


def _partial(received: bytearray) -> dict[str, str]:
    return {
        "first_bytes_hex": bytes(received[:32]).hex(" "),
        "first_bytes_text": printable(bytes(received)),
    }
