"""The HTTP upgrade: paths, subprotocols, and the bytes after the request."""

from __future__ import annotations

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
