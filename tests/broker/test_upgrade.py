"""The HTTP upgrade: paths, subprotocols, and the bytes after the request."""

from __future__ import annotations

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.upgrade import Upgrade
from tests.broker.rawclient import upgrade_request


def test_accepts_the_configured_path_and_echoes_mqtt() -> None:
    result = Upgrade(BrokerConfig()).receive_data(upgrade_request("/mqtt", ("mqtt",)))
    assert result is not None
    assert (result.accepted, result.status, result.subprotocol) == (True, 101, "mqtt")
    assert b"Sec-WebSocket-Accept: " in result.response


def test_request_arriving_in_pieces_is_answered_once_complete() -> None:
    upgrade = Upgrade(BrokerConfig())
    request = upgrade_request()
    assert upgrade.receive_data(request[:10]) is None
    result = upgrade.receive_data(request[10:])
    assert result is not None
    assert result.accepted


def test_bytes_after_the_request_are_kept_for_the_frame_parser() -> None:
    upgrade = Upgrade(BrokerConfig())
    result = upgrade.receive_data(upgrade_request() + b"\x82\x80abcd")
    assert result is not None
    assert upgrade.rest == b"\x82\x80abcd"


def test_plain_http_get_gets_426_upgrade_required() -> None:
    result = Upgrade(BrokerConfig()).receive_data(b"GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n")
    assert result is not None
    assert result.status == 426


def test_unsupported_subprotocols_only_continue_without_one() -> None:
    result = Upgrade(BrokerConfig()).receive_data(upgrade_request(subprotocols=("wamp",)))
    assert result is not None
    assert (result.status, result.subprotocol, result.offered) == (101, None, ("wamp",))


def test_oversized_request_gets_431() -> None:
    result = Upgrade(BrokerConfig()).receive_data(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 5000)
    assert result is not None
    assert result.status == 431


# The first bytes of a TLS 1.2/1.3 ClientHello record and of an MQTT 3.1.1 CONNECT.
CLIENT_HELLO_START = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])
MQTT_CONNECT = b"\x10\x0c\x00\x04MQTT\x04\x02\x00<\x00\x00"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (CLIENT_HELLO_START, "a TLS handshake"),
        (MQTT_CONNECT, "first byte 0x10"),
        (b"\x00", "first byte 0x00"),
        (b"GET\x00/", "invalid method"),
    ],
)
def test_bytes_that_cannot_start_an_http_request_get_400_at_once(data: bytes, reason: str) -> None:
    result = Upgrade(BrokerConfig()).receive_data(data)
    assert result is not None
    assert (result.accepted, result.status) == (False, 400)
    assert result.response.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert reason in result.reason


@pytest.mark.parametrize(
    "prefix", [b"G", b"GET", b"GET /mq", b"\r", b"\r\nGET /mqtt HTTP/1.1\r\n", b"M-SEARCH"]
)
def test_a_prefix_of_an_http_request_waits_for_more(prefix: bytes) -> None:
    assert Upgrade(BrokerConfig()).receive_data(prefix) is None


def test_an_empty_line_before_the_request_line_is_ignored() -> None:
    # RFC 9112 §2.2: a server ignores at least one empty line before the request line.
    result = Upgrade(BrokerConfig()).receive_data(b"\r\n" + upgrade_request())
    assert result is not None
    assert result.accepted


def test_many_empty_lines_before_the_request_line_are_skipped() -> None:
    upgrade = Upgrade(BrokerConfig())
    assert upgrade.receive_data(b"\r\n" * 32768) is None
    result = upgrade.receive_data(b"\r\n" * 100 + upgrade_request())
    assert result is not None
    assert result.accepted
    # A lone LF is not an empty line of HTTP/1.1 (RFC 9112 §2.2): the request cannot begin.
    refused = Upgrade(BrokerConfig()).receive_data(b"\r\n\n" + upgrade_request())
    assert refused is not None
    assert refused.status == 400
