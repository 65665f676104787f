"""The broker's answer to an upgrade request, against websockets' and the decoder's.

Each request is answered by the broker (one parse by ``explorer.ws.handshake``, the
rules of ``explorer.ws.upgraderules``) and by websockets' Sans-I/O ``ServerProtocol``
with the same settings (``tests.broker.wsoracle``). Status, path, offered and chosen
subprotocols and the response bytes (the ``Date`` aside) are the same, but for two rules
RFC 6455 §4.2.1 states and websockets does not apply: a ``Sec-WebSocket-Version`` other
than 13 gets 426 naming version 13 (RFC 6455 §4.4) where websockets says 400, and a
request without one ``Host`` gets 400 (item 2; RFC 9112 §3.2) where websockets goes on.
The decoder's check of the same bytes gives the same verdict.
"""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import Faults
from explorer.broker.upgrade import Upgrade, UpgradeResult
from explorer.errors import HandshakeError
from explorer.ws.handshake import HttpReader, HttpRequest
from explorer.ws.upgraderules import request_problems
from tests.broker.rawclient import upgrade_request
from tests.broker.wsoracle import OracleAnswer, oracle_answer

_DATE = re.compile(rb"Date: [^\r]*\r\n")
_KEY = base64.b64encode(b"0123456789abcdef").decode()

FAULTS = [
    Faults(),
    Faults(no_subprotocol_echo=True),
    Faults(echo_unoffered_subprotocol=True),
    Faults(only_mqttv31=True),
    Faults(require_subprotocol=True),
    Faults(only_mqttv31=True, require_subprotocol=True),
    Faults(origin_allow=("http://allowed.example",)),
]

# Each header: absent, or one or more (name spelling, value) variations.
HEADER_VARIANTS: dict[str, list[str]] = {
    "Host": ["127.0.0.1", "example.com:8080", ""],
    "Upgrade": [
        "websocket",
        "WebSocket",
        "websocket, h2c",
        "h2c",
        "websocket/13",
        "",
        "web socket",
        ",websocket",
    ],
    "Connection": [
        "Upgrade",
        "",
        "keep-alive, Upgrade",
        "upgrade",
        "keep-alive",
        ",Upgrade",
        "Upgrade,,x",
        "Up grade",
    ],
    "Sec-WebSocket-Key": [
        _KEY,
        base64.b64encode(b"0123456789abcde").decode(),
        "not base64!",
        _KEY[:-2] + "=A",
        "",
        _KEY + "\xa0",
        "caf\xe9",
    ],
    "Sec-WebSocket-Version": ["13", "8", "13, 8", ""],
    "Sec-WebSocket-Protocol": [
        "mqtt",
        "mqttv3.1",
        "mqttv3.1, mqtt",
        "wamp",
        "wamp, mqtt",
        "mqtt , wamp",
        "mqtt,",
        "bad@token",
        "MQTT",
        "",
        "mqtt, , wamp",
    ],
    "Origin": ["http://allowed.example", "http://other.example", "null", "", "http://caf\xe9.example"],
    "Sec-WebSocket-Extensions": ["permessage-deflate"],
    "Content-Length": ["0", "5"],
    "Transfer-Encoding": ["chunked"],
    "X-Odd": ["plain", "caf\xe9", "a\tb", "  padded  ", ""],
}


def _spelling(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.lower(), name.upper()])


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """A handshake request, mostly valid, with variations RFC 6455 §4.2.1 cares about."""
    method = draw(st.sampled_from(["GET"] * 8 + ["POST", "get"]))
    path = draw(st.sampled_from(["/mqtt"] * 6 + ["/mqtt?client=1", "/other", "/", "/mq tt", "/caf\xe9"]))
    version = draw(st.sampled_from(["HTTP/1.1"] * 8 + ["HTTP/1.0", "HTTP/2"]))
    lines = [f"{method} {path} {version}"]
    for name, values in HEADER_VARIANTS.items():
        if name in ("Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version"):
            counts = [1] * 20 + [0, 2]
        elif name in ("Sec-WebSocket-Protocol", "X-Odd"):
            counts = [0, 1, 1, 2]
        elif name == "Origin":
            counts = [0, 0, 0, 1, 1, 2]
        else:
            counts = [0] * 8 + [1]
        for _ in range(draw(st.sampled_from(counts))):
            # The first variation is the ordinary one: drawn most of the time.
            value = values[0] if draw(st.integers(0, 4)) else draw(st.sampled_from(values))
            space = draw(st.sampled_from([" ", " ", "", "  ", "\t"]))
            trail = draw(st.sampled_from(["", "", "", " ", "\t"]))
            lines.append(f"{draw(_spelling(name))}:{space}{value}{trail}")
    head = lines[:1]
    body = draw(st.permutations(lines[1:]))
    if draw(st.integers(0, 5)) == 0:
        # An odd line: bare LF, obs-fold continuation, a name with a space, a control byte.
        odd = draw(
            st.sampled_from(["X-A: b\nX-C: d", " folded", "Bad Name: x", "X-Ctl: a\x01b", "X-Cr: a\rb"])
        )
        body = [*body, odd]
    return ("\r\n".join(head + list(body)) + "\r\n\r\n").encode("latin-1")


def _parts(response: bytes) -> tuple[bytes, list[bytes], bytes]:
    head, _, body = _DATE.sub(b"", response).partition(b"\r\n\r\n")
    status, *headers = head.split(b"\r\n")
    return status, headers, body


def _expected_deviation(request: bytes, oracle: OracleAnswer) -> str | None:
    """Which of the two rules websockets does not apply decides this request, if one does."""
    _status, _, body = _parts(oracle.response)
    if oracle.status in (404, 405, 505, 431) or body.startswith(b"Not a"):
        return None  # decided before RFC 6455's header rules
    head = request.partition(b"\r\n\r\n")[0].lower()
    if len(re.findall(rb"\r\nhost:", head)) != 1:
        return "host"
    if oracle.status == 400 and b"Sec-WebSocket-Version header" in body:
        return "version"
    return None


def _same(ours: UpgradeResult, oracle: OracleAnswer, request: bytes) -> None:
    deviation = _expected_deviation(request, oracle)
    assert (ours.status == 101) is ours.accepted
    if deviation == "host":
        assert ours.status == 400
        assert b"Host header" in _parts(ours.response)[2]
        return
    if deviation == "version":
        status, headers, body = _parts(ours.response)
        assert status == b"HTTP/1.1 426 Upgrade Required"
        assert b"Upgrade: websocket" in headers
        assert b"Sec-WebSocket-Version: 13" in headers
        assert body == _parts(oracle.response)[2]
        return
    assert (ours.status, ours.path, ours.subprotocol, ours.offered) == (
        oracle.status,
        oracle.path,
        oracle.subprotocol,
        oracle.offered,
    )
    assert _DATE.sub(b"", ours.response) == _DATE.sub(b"", oracle.response)


def _decoder_verdict(request: bytes) -> HttpRequest | None:
    """The request as the decoder reads it, or None when the decoder stops at it."""
    try:
        parsed = HttpReader("request").receive_data(request.lstrip(b"\r\n"))
    except HandshakeError:
        return None
    assert isinstance(parsed, HttpRequest)
    return parsed


def _same_verdict(request: bytes, ours: UpgradeResult, config: BrokerConfig) -> None:
    """The decoder's check and the broker's answer agree on the same bytes."""
    parsed = _decoder_verdict(request)
    if parsed is None:
        assert ours.status == 400
        return
    problems = request_problems(parsed)
    if ours.accepted:
        assert problems == ()
    elif problems and problems[0].stage == "http":
        assert ours.status == 400
    elif problems and problems[0].stage == "websocket" and ours.path in config.ws_paths:
        assert ours.status == problems[0].status


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests(), faults=st.sampled_from(FAULTS), piece=st.sampled_from([0, 0, 1, 7]))
def test_answers_agree_with_websockets_and_the_decoder(request: bytes, faults: Faults, piece: int) -> None:
    config = BrokerConfig(faults=faults)
    oracle = oracle_answer(request, config)
    assert oracle is not None
    upgrade = Upgrade(config)
    if piece:
        # In pieces: no answer before the request is complete.
        results = [upgrade.receive_data(request[i : i + piece]) for i in range(0, len(request), piece)]
        ours = next(result for result in results if result is not None)
    else:
        answered = upgrade.receive_data(request)
        assert answered is not None
        ours = answered
    _same(ours, oracle, request)
    _same_verdict(request, ours, config)


def test_ordinary_client_requests_get_websockets_101() -> None:
    for subprotocols in (("mqtt",), ("mqttv3.1",), ("mqttv3.1", "mqtt"), ("wamp",), None):
        request = upgrade_request("/mqtt", subprotocols)
        ours = Upgrade(BrokerConfig()).receive_data(request)
        assert ours is not None
        assert ours.status == 101
        oracle = oracle_answer(request, BrokerConfig())
        assert oracle is not None
        _same(ours, oracle, request)


def test_subprotocol_fault_modes_choose_as_configured() -> None:
    for faults, offered, chosen in (
        (Faults(no_subprotocol_echo=True), ("mqtt",), None),
        (Faults(echo_unoffered_subprotocol=True), ("mqtt",), "mqttv3.1"),
        (Faults(echo_unoffered_subprotocol=True), (), "mqtt"),
        (Faults(only_mqttv31=True), ("mqtt", "mqttv3.1"), "mqttv3.1"),
        (Faults(require_subprotocol=True), ("wamp", "mqtt"), "mqtt"),
    ):
        ours = Upgrade(BrokerConfig(faults=faults)).receive_data(upgrade_request("/mqtt", offered or None))
        assert ours is not None
        assert (ours.status, ours.subprotocol) == (101, chosen)


_BASE = f"Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {_KEY}\r\n"


@pytest.mark.parametrize(
    ("text", "status", "said"),
    [
        (f"POST /mqtt HTTP/1.1\r\n{_BASE}Sec-WebSocket-Version: 13\r\n\r\n", 405, b"Allow: GET"),
        (f"GET /mqtt HTTP/1.0\r\n{_BASE}Sec-WebSocket-Version: 13\r\n\r\n", 505, b"HTTP/1.0"),
        (f"GET /nope HTTP/1.1\r\n{_BASE}Sec-WebSocket-Version: 13\r\n\r\n", 404, b"try /mqtt"),
        ("GET /mqtt HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n\r\n", 426, b"Upgrade: websocket"),
        (f"GET /mqtt HTTP/1.1\r\n{_BASE}Sec-WebSocket-Version: 8\r\n\r\n", 426, b"Sec-WebSocket-Version: 13"),
        (f"GET /mqtt HTTP/1.1\r\n{_BASE}\r\n", 426, b"Sec-WebSocket-Version: 13"),
        (f"GET /mqtt HTTP/1.1\r\n{_BASE[9:]}Sec-WebSocket-Version: 13\r\n\r\n", 400, b"missing Host"),
    ],
)
def test_refusals_carry_the_headers_rfc_6455_asks_for(text: str, status: int, said: bytes) -> None:
    result = Upgrade(BrokerConfig()).receive_data(text.encode())
    assert result is not None
    assert (result.status, result.accepted) == (status, False)
    assert said in result.response
    assert _decoder_verdict(text.encode()) is not None


def test_disallowed_origin_gets_403() -> None:
    config = BrokerConfig(faults=Faults(origin_allow=("http://allowed.example",)))
    for origin, status in (("http://other.example", 403), (None, 403), ("http://allowed.example", 101)):
        request = upgrade_request(origin=origin)
        result = Upgrade(config).receive_data(request)
        assert result is not None
        assert result.status == status
        oracle = oracle_answer(request, config)
        assert oracle is not None
        _same(result, oracle, request)


@pytest.mark.parametrize("length", [8188, 8189, 8190, 8191, 8192, 8200])
def test_long_header_lines_get_the_same_answer_at_websockets_limit(length: int) -> None:
    line = b"X-Long: " + b"a" * (length - 8)
    request = upgrade_request()[:-2] + line + b"\r\n\r\n"
    oracle = oracle_answer(request, BrokerConfig())
    ours = Upgrade(BrokerConfig()).receive_data(request)
    assert ours is not None
    assert oracle is not None
    assert ours.status == (101 if length <= 8190 else 400)
    _same(ours, oracle, request)
    _same_verdict(request, ours, BrokerConfig())


@pytest.mark.parametrize("count", [126, 127, 128, 129])
def test_many_headers_get_the_same_answer_at_websockets_limit(count: int) -> None:
    base = upgrade_request()
    extra = count - base.count(b"\r\n") + 2
    request = base[:-2] + b"".join(b"X-%d: y\r\n" % index for index in range(extra)) + b"\r\n"
    oracle = oracle_answer(request, BrokerConfig())
    ours = Upgrade(BrokerConfig()).receive_data(request)
    assert ours is not None
    assert oracle is not None
    assert ours.status == (101 if count <= 128 else 400)
    _same(ours, oracle, request)
    _same_verdict(request, ours, BrokerConfig())
