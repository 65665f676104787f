"""websockets' Sans-I/O ``ServerProtocol`` answering upgrade requests with the broker's settings.

An independent implementation of RFC 6455 §4.2.1 that the broker's own answer is compared
with (``tests/broker/test_upgrade_rules.py``), wrapped in the broker's own steps: 400 for
bytes that cannot begin HTTP, 431 past 16 KiB, 400 for a request websockets cannot parse,
then the path (404), then websockets' checks, the origin and the subprotocol choice with
the fault modes.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from websockets.datastructures import Headers
from websockets.exceptions import NegotiationError
from websockets.server import ServerProtocol
from websockets.typing import Origin, Subprotocol

from explorer.broker.config import SUBPROTOCOLS, BrokerConfig

__all__ = ["OracleAnswer", "oracle_answer"]

_LOG = logging.getLogger("tests.broker.wsoracle")
_LOG.setLevel(logging.WARNING)
_TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class OracleAnswer:
    response: bytes
    status: int
    path: str = ""
    subprotocol: str | None = None
    offered: tuple[str, ...] = ()


def _plain(status: int, text: str) -> OracleAnswer:
    body = text.encode()
    head = (
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\nConnection: close\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return OracleAnswer(head.encode() + body, status)


def oracle_answer(data: bytes, config: BrokerConfig) -> OracleAnswer | None:
    """websockets' answer to ``data`` sent at once, or None while it waits for more."""
    while data.startswith(b"\r\n"):
        data = data[2:]
    method = data.partition(b" ")[0]
    if data != b"\r" and any(byte not in _TCHAR for byte in method):
        return _plain(400, "Not an HTTP request: this port serves MQTT over WebSocket (ws://).\n")
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return _plain(431, "Request header fields too large.\n") if len(data) > 16 * 1024 else None
    return _answer(data[: end + 4], config)


def _answer(request_bytes: bytes, config: BrokerConfig) -> OracleAnswer:
    faults = config.faults
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
        return None

    protocol = ServerProtocol(origins=origins, select_subprotocol=select, max_size=None, logger=_LOG)
    protocol.receive_data(request_bytes)
    events = protocol.events_received()
    if not events:
        return _plain(400, "Not a valid HTTP request.\n")
    request = events[0]
    path = request.path.partition("?")[0]  # type: ignore[union-attr]
    if path not in config.ws_paths:
        paths = ", ".join(config.ws_paths)
        response = protocol.reject(404, f"No WebSocket endpoint at {path}; try {paths}.\n")
    else:
        response = protocol.accept(request)  # type: ignore[arg-type]
    if response.status_code == 101:
        headers: Headers = response.headers
        if "Sec-WebSocket-Protocol" in headers and (
            faults.no_subprotocol_echo or faults.echo_unoffered_subprotocol
        ):
            del headers["Sec-WebSocket-Protocol"]
        if faults.echo_unoffered_subprotocol and not faults.no_subprotocol_echo:
            for name in (*SUBPROTOCOLS, "mqttv5", "mqtt-unoffered"):
                if name not in offered:
                    headers["Sec-WebSocket-Protocol"] = name
                    break
    protocol.send_response(response)
    chosen = response.headers.get("Sec-WebSocket-Protocol")
    return OracleAnswer(b"".join(protocol.data_to_send()), response.status_code, path, chosen, tuple(offered))
