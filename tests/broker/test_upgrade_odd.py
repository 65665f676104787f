"""Odd upgrade requests sent to the running broker over loopback, and the same bytes decoded.

Each request goes to a real broker's WebSocket port; its answer and the request are then
put in a capture and read by ``mqttws-explorer decode``. The broker's status and the
problems the decoder lists come from the same parse and the same rules, so an accepted
request has no problem in the listing, and a refused one has the problem whose status
the broker answered first.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.cli import main
from explorer.decoder.connection import ConnectionDecoder
from explorer.model.events import ErrorReported
from explorer.ws.handshake import HttpReader, HttpRequest, accept_key
from explorer.ws.upgraderules import request_problems
from tests.broker.rawclient import TIMEOUT, open_tcp
from tests.capture.mqttws import capture_bytes

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
HOST = "Host: 127.0.0.1"
UPGRADE = "Upgrade: websocket"
CONNECTION = "Connection: Upgrade"
KEY_LINE = f"Sec-WebSocket-Key: {KEY}"
VERSION = "Sec-WebSocket-Version: 13"
PROTOCOL = "Sec-WebSocket-Protocol: mqtt"
ORDINARY = [HOST, UPGRADE, CONNECTION, KEY_LINE, VERSION, PROTOCOL]


def _request(lines: list[str], start: str = "GET /mqtt HTTP/1.1", end: str = "\r\n") -> bytes:
    return (end.join([start, *lines]) + end + end).encode("latin-1")


def _without(*names: str) -> list[str]:
    return [line for line in ORDINARY if line.split(":")[0] not in names]


# (request, status, what the broker's answer says, what the decoder's first problem says)
CASES: dict[str, tuple[bytes, int, str, str]] = {
    "ordinary": (_request(ORDINARY), 101, "Sec-WebSocket-Protocol: mqtt", ""),
    "lowercase names, uppercase tokens": (
        _request(
            [
                "host: 127.0.0.1",
                "upgrade: WEBSOCKET",
                "connection: UPGRADE",
                f"sec-websocket-key: {KEY}",
                "sec-websocket-version: 13",
                "sec-websocket-protocol: mqtt",
            ]
        ),
        101,
        "Sec-WebSocket-Protocol: mqtt",
        "",
    ),
    "Connection: keep-alive, Upgrade (Firefox)": (
        _request([*_without("Connection"), "Connection: keep-alive, Upgrade"]),
        101,
        "Upgrade: websocket",
        "",
    ),
    "Connection twice, upgrade in the second": (
        _request([*_without("Connection"), "Connection: keep-alive", "Connection: Upgrade"]),
        101,
        "Upgrade: websocket",
        "",
    ),
    "extension offered (Chromium)": (
        _request([*ORDINARY, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"]),
        101,
        "Sec-WebSocket-Accept",
        "",
    ),
    "non-ASCII byte in a header value": (
        _request([*ORDINARY, "User-Agent: caf\xe9"]),
        101,
        "Sec-WebSocket-Accept",
        "",
    ),
    "Upgrade twice": (
        _request([*ORDINARY, UPGRADE]),
        426,
        "invalid Upgrade header: websocket, websocket",
        "'Upgrade: websocket, websocket'",
    ),
    "key twice": (
        _request([*ORDINARY, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=="]),
        400,
        "invalid Sec-WebSocket-Key header: multiple values",
        "2 Sec-WebSocket-Key headers",
    ),
    "Host twice": (
        _request([*ORDINARY, "Host: other.example"]),
        400,
        "invalid Host header: multiple values",
        "2 Host headers",
    ),
    "no Host": (_request(_without("Host")), 400, "missing Host header", "no Host header"),
    "no key": (
        _request(_without("Sec-WebSocket-Key")),
        400,
        "missing Sec-WebSocket-Key header",
        "no Sec-WebSocket-Key header",
    ),
    "key of 15 bytes": (
        _request([*_without("Sec-WebSocket-Key"), "Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2Rl"]),
        400,
        "invalid Sec-WebSocket-Key header",
        "not 16 bytes in base64",
    ),
    "version 8": (
        _request([*_without("Sec-WebSocket-Version"), "Sec-WebSocket-Version: 8"]),
        426,
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Version is '8', not '13'",
    ),
    "no Upgrade (a browser opening the URL)": (
        _request(_without("Upgrade")),
        426,
        "You cannot access a WebSocket server directly with a browser",
        "lacks 'Upgrade: websocket'",
    ),
    "POST": (_request(ORDINARY, start="POST /mqtt HTTP/1.1"), 405, "Allow: GET", "uses POST, not GET"),
    "HTTP/1.0": (_request(ORDINARY, start="GET /mqtt HTTP/1.0"), 505, "HTTP/1.0", "HTTP/1.0, not HTTP/1.1"),
    "header line too long": (
        _request([*ORDINARY, "X-Long: " + "a" * 8200]),
        400,
        "Not a valid HTTP request",
        "servers refuse more than 8190",
    ),
    "too many headers": (
        _request([*ORDINARY, *(f"X-{n}: y" for n in range(130))]),
        400,
        "Not a valid HTTP request",
        "servers refuse more than 128",
    ),
    "non-ASCII byte in the path": (
        _request(ORDINARY, start="GET /caf\xe9 HTTP/1.1"),
        400,
        "Not a valid HTTP request",
        "not ASCII",
    ),
    "folded header": (
        _request([*ORDINARY, "X-Folded: a", " b"]),
        400,
        "Not a valid HTTP request",
        "folded over several lines",
    ),
    "control byte in a value": (
        _request([*ORDINARY, "X-Ctl: a\x01b"]),
        400,
        "Not a valid HTTP request",
        "control character",
    ),
    "bare LF line ends": (_request(ORDINARY, end="\n"), 400, "Not a valid HTTP request", "bare LF"),
    "subprotocol list with a bad token": (
        _request([*_without("Sec-WebSocket-Protocol"), "Sec-WebSocket-Protocol: mqtt, bad@token"]),
        400,
        "invalid Sec-WebSocket-Protocol header",
        "not a list of tokens",
    ),
}


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(tcp_port=None, sys_interval=0)) as running:
        yield running


async def _exchange(port: int | None, request: bytes) -> bytes:
    """What the broker answers to ``request``: the whole refusal, or the 101's head."""
    assert port is not None
    reader, writer = await open_tcp(port)
    writer.write(request)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    if head.startswith(b"HTTP/1.1 101 "):
        return head
    return head + await asyncio.wait_for(reader.read(), TIMEOUT)


def _decoded_problems(
    tmp_path: Path, request: bytes, answer: bytes, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """The problems ``decode --json`` lists for the client's side of the capture.

    A capture's connection is read as WebSocket when the client starts with ``GET``;
    another method's request goes to the connection decoder itself (the live trace's).
    """
    if not request.startswith(b"GET "):
        decoder = ConnectionDecoder()
        decoder.receive_data("c2s", request, 0.0)
        decoder.receive_data("s2c", answer, 0.0)
        return [
            event.message
            for event in decoder.events_received()
            if isinstance(event, ErrorReported) and event.direction == "c2s" and event.layer == "http"
        ]
    path = tmp_path / "upgrade.pcap"
    path.write_bytes(capture_bytes([(0, request), (1, answer)]))
    capsys.readouterr()
    assert main(["decode", str(path), "--port", "8080", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [
        e["message"] for e in events if e["kind"] == "error" and e["dir"] == "c2s" and e["layer"] == "http"
    ]


@pytest.mark.parametrize("case", list(CASES))
async def test_odd_request_gets_the_same_verdict_from_broker_and_decoder(
    broker: Broker, case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request, status, answered, listed = CASES[case]
    answer = await _exchange(broker.ws_port, request)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode())
    assert answered.encode() in answer
    problems = _decoded_problems(tmp_path, request, answer, capsys)
    parsed = HttpReader("request").receive_data(request)
    assert isinstance(parsed, HttpRequest)
    rules = request_problems(parsed)
    assert problems == [problem.text for problem in rules]
    if status == 101:
        assert problems == []
        # RFC 6455 §4.2.2: the accept key from the request's key; extensions declined.
        assert f"Sec-WebSocket-Accept: {accept_key(KEY)}\r\n".encode() in answer
        assert b"Sec-WebSocket-Extensions" not in answer
    else:
        assert listed in problems[0]
        assert rules[0].status == status
