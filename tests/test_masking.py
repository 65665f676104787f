"""One masking convention: same-length stars where bytes stand (credential headers keep their
scheme word), ``***`` where a secret is only said to be present; masking twice changes nothing."""

from __future__ import annotations

from explorer.masking import (
    CREDENTIAL_HEADERS,
    SECRET_MARK,
    mask_credentials,
    mask_header_values,
    mask_password,
    masked_bytes,
)
from explorer.model.trace import packet_to_json
from explorer.mqtt.codec import encode
from explorer.mqtt.describe import describe
from explorer.mqtt.packets import Connect

RAW = (
    b"GET /mqtt HTTP/1.1\r\nHost: h\r\nAuthorization: Basic YWxpY2U6czNjcmV0\r\n"
    b"Proxy-Authorization: token-only\r\nX-Api-Key: k-123\r\nX-Other: visible\r\n\r\n"
)


def test_credential_headers_keep_their_scheme_and_their_length() -> None:
    masked = mask_credentials(RAW, {"X-Api-Key"})
    assert len(masked) == len(RAW)
    assert b"Authorization: Basic ****************\r\n" in masked
    assert b"Proxy-Authorization: **********\r\n" in masked
    assert b"X-Api-Key: *****\r\n" in masked
    assert b"X-Other: visible" in masked
    assert mask_credentials(masked, {"X-Api-Key"}) == masked


def test_header_values_follow_the_same_rule_as_the_bytes() -> None:
    headers = (("Authorization", "Basic YWxpY2U6czNjcmV0"), ("x-api-key", "k-123"), ("Host", "h"))
    masked = mask_header_values(headers, {"X-Api-Key"})
    assert masked == (("Authorization", "Basic ****************"), ("x-api-key", "*****"), ("Host", "h"))
    assert mask_header_values(masked, {"X-Api-Key"}) == masked
    assert {"authorization", "proxy-authorization"} == CREDENTIAL_HEADERS


def test_a_connect_password_is_starred_in_place_and_marked_in_texts() -> None:
    packet = Connect(client_id="c", username="u", password=b"hunter2")
    raw = encode(packet)
    masked = mask_password(raw, packet)
    assert masked.endswith(b"*******")
    assert len(masked) == len(raw)
    assert b"hunter2" not in masked
    assert masked_bytes(b"hunter2") == b"*******"
    assert f"password={SECRET_MARK}" in describe(packet)
    assert packet_to_json(packet)["password"] == SECRET_MARK
