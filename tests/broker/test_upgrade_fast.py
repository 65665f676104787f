"""The strict upgrade fast path gives websockets' answer, or steps aside.

Each request is answered twice: by :func:`fast_answer` and by ``ServerProtocol``
(:meth:`Upgrade.reference_answer`). Where the fast path answers, status, path, offered
and chosen subprotocols and the response bytes (the ``Date`` aside) must be the same;
where it does not, the broker's answer is websockets' own.
"""

from __future__ import annotations

import base64
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import Faults
from explorer.broker.upgrade import Upgrade, UpgradeResult, fast_answer
from tests.broker.rawclient import upgrade_request

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
    "Upgrade": ["websocket", "WebSocket", "websocket, h2c", "h2c", "websocket/13"],
    "Connection": [
        "Upgrade",
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
    ],
    "Sec-WebSocket-Version": ["13", "8", "13, 8"],
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
    ],
    "Origin": ["http://allowed.example", "http://other.example", "null"],
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


def _same(fast: UpgradeResult, reference: UpgradeResult) -> None:
    assert (fast.status, fast.accepted, fast.path, fast.subprotocol, fast.offered) == (
        reference.status,
        reference.accepted,
        reference.path,
        reference.subprotocol,
        reference.offered,
    )
    assert _DATE.sub(b"", fast.response) == _DATE.sub(b"", reference.response)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests(), faults=st.sampled_from(FAULTS))
def test_fast_path_agrees_with_websockets_or_defers(request: bytes, faults: Faults) -> None:
    config = BrokerConfig(faults=faults)
    reference = Upgrade(config).reference_answer(request)
    fast = fast_answer(request, config)
    if fast is not None:
        _same(fast, reference)
    answered = Upgrade(config).receive_data(request)
    assert answered is not None
    assert (answered.status, answered.subprotocol, answered.offered) == (
        reference.status,
        reference.subprotocol,
        reference.offered,
    )


def test_ordinary_client_requests_take_the_fast_path() -> None:
    for subprotocols in (("mqtt",), ("mqttv3.1",), ("mqttv3.1", "mqtt"), None):
        request = upgrade_request("/mqtt", subprotocols)
        fast = fast_answer(request, BrokerConfig())
        assert fast is not None
        _same(fast, Upgrade(BrokerConfig()).reference_answer(request))


def test_fast_path_applies_the_subprotocol_fault_modes() -> None:
    for faults, offered, chosen in (
        (Faults(no_subprotocol_echo=True), ("mqtt",), None),
        (Faults(echo_unoffered_subprotocol=True), ("mqtt",), "mqttv3.1"),
        (Faults(only_mqttv31=True), ("mqtt", "mqttv3.1"), "mqttv3.1"),
        (Faults(require_subprotocol=True), ("wamp", "mqtt"), "mqtt"),
    ):
        fast = fast_answer(upgrade_request("/mqtt", offered), BrokerConfig(faults=faults))
        assert fast is not None
        assert (fast.status, fast.subprotocol) == (101, chosen)


def test_requests_websockets_refuses_are_left_to_it() -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    base = f"Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
    cases = {
        f"POST /mqtt HTTP/1.1\r\n{base}Sec-WebSocket-Version: 13\r\n\r\n": 405,
        f"GET /mqtt HTTP/1.1\r\n{base}Sec-WebSocket-Version: 8\r\n\r\n": 400,
        f"GET /nope HTTP/1.1\r\n{base}Sec-WebSocket-Version: 13\r\n\r\n": 404,
        "GET /mqtt HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n\r\n": 426,
    }
    for text, status in cases.items():
        request = text.encode()
        assert fast_answer(request, BrokerConfig()) is None
        result = Upgrade(BrokerConfig()).receive_data(request)
        assert result is not None
        assert result.status == status


def test_disallowed_origin_gets_websockets_403() -> None:
    config = BrokerConfig(faults=Faults(origin_allow=("http://allowed.example",)))
    request = upgrade_request(origin="http://other.example")
    assert fast_answer(request, config) is None
    result = Upgrade(config).receive_data(request)
    assert result is not None
    assert result.status == 403
    allowed = fast_answer(upgrade_request(origin="http://allowed.example"), config)
    assert allowed is not None
    assert allowed.status == 101


@pytest.mark.parametrize("length", [8188, 8189, 8190, 8191, 8192, 8200])
def test_long_header_lines_get_the_same_answer_at_websockets_limit(length: int) -> None:
    line = b"X-Long: " + b"a" * (length - 8)
    request = upgrade_request()[:-2] + line + b"\r\n\r\n"
    reference = Upgrade(BrokerConfig()).reference_answer(request)
    fast = fast_answer(request, BrokerConfig())
    if fast is not None:
        _same(fast, reference)
    answered = Upgrade(BrokerConfig()).receive_data(request)
    assert answered is not None
    assert answered.status == reference.status


@pytest.mark.parametrize("count", [126, 127, 128, 129])
def test_many_headers_get_the_same_answer_at_websockets_limit(count: int) -> None:
    base = upgrade_request()
    extra = count - base.count(b"\r\n") + 2
    request = base[:-2] + b"".join(b"X-%d: y\r\n" % index for index in range(extra)) + b"\r\n"
    reference = Upgrade(BrokerConfig()).reference_answer(request)
    answered = Upgrade(BrokerConfig()).receive_data(request)
    assert answered is not None
    assert answered.status == reference.status
    fast = fast_answer(request, BrokerConfig())
    if fast is not None:
        _same(fast, reference)
