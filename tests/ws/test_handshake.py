"""Handshake reading and judging, against requests and responses made by websockets'
own Sans-I/O client and server, and hand-written broken ones."""

from __future__ import annotations

import pytest
from websockets.client import ClientProtocol
from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from explorer.errors import HandshakeError
from explorer.masking import mask_credentials
from explorer.ws.handshake import (
    HttpReader,
    HttpRequest,
    HttpResponse,
    accept_key,
    check_handshake,
    parse_request,
)
from explorer.ws.upgraderules import check_request


def real_handshake(offer: list[str] | None, server_choice: list[str] | None) -> tuple[bytes, bytes]:
    """Request and response bytes from websockets' client and server talking to each other."""
    client = ClientProtocol(parse_uri("ws://broker.example:8080/mqtt"), subprotocols=offer)  # type: ignore[arg-type]
    client.send_request(client.connect())
    request_bytes = b"".join(client.data_to_send())
    server = ServerProtocol(subprotocols=server_choice)  # type: ignore[arg-type]
    server.receive_data(request_bytes)
    (request,) = server.events_received()
    server.send_response(server.accept(request))  # type: ignore[arg-type]
    response_bytes = b"".join(server.data_to_send())
    return request_bytes, response_bytes


def read_all(kind: str, data: bytes, step: int | None) -> HttpReader:
    reader = HttpReader(kind)  # type: ignore[arg-type]
    if step is None:
        reader.receive_data(data)
    else:
        for i in range(0, len(data), step):
            reader.receive_data(data[i : i + step])
    return reader


def test_rfc6455_sample_accept_key() -> None:
    # RFC 6455 §1.3's worked example
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize("step", [None, 1, 7])
def test_real_handshake_is_read_whole_and_passes_every_check(step: int | None) -> None:
    request_bytes, response_bytes = real_handshake(["mqtt"], ["mqtt"])
    frame = b"\x82\x02\x20\x00"
    req_reader = read_all("request", request_bytes + frame, step)
    resp_reader = read_all("response", response_bytes + frame, step)
    request = req_reader.message
    response = resp_reader.message
    assert isinstance(request, HttpRequest)
    assert isinstance(response, HttpResponse)
    assert request.raw == request_bytes
    assert response.raw == response_bytes
    assert req_reader.rest == frame
    assert resp_reader.rest == frame
    assert request.method == "GET"
    assert request.target == "/mqtt"
    assert request.header("host") == "broker.example:8080"
    assert request.subprotocols == ("mqtt",)
    assert check_request(request) == ()
    check = check_handshake(request, response)
    assert check.ok
    assert check.accept_ok is True
    assert check.subprotocol == "mqtt"
    assert check.problems == check.notes == ()


def test_no_subprotocol_chosen_is_a_note_not_a_failure() -> None:
    request_bytes, response_bytes = real_handshake(["mqtt"], None)
    request = parse_request(request_bytes)
    response = read_all("response", response_bytes, None).message
    assert isinstance(response, HttpResponse)
    check = check_handshake(request, response)
    assert check.ok
    assert check.subprotocol is None
    assert "mqtt" in check.notes[0]


def test_wrong_accept_and_unoffered_subprotocol_are_problems() -> None:
    request_bytes, response_bytes = real_handshake(["mqtt"], ["mqtt"])
    request = parse_request(request_bytes)
    good = read_all("response", response_bytes, None).message
    assert isinstance(good, HttpResponse)
    bad_raw = response_bytes.replace(
        good.header("Sec-WebSocket-Accept").encode(), b"AAAAAAAAAAAAAAAAAAAAAAAAAAA="
    ).replace(b"Sec-WebSocket-Protocol: mqtt", b"Sec-WebSocket-Protocol: mqttv3.1")  # type: ignore[union-attr]
    bad = read_all("response", bad_raw, None).message
    assert isinstance(bad, HttpResponse)
    check = check_handshake(request, bad)
    assert check.accept_ok is False
    assert not check.ok
    assert any("Sec-WebSocket-Accept" in p for p in check.problems)
    assert any("not offered" in p for p in check.problems)


def test_refusal_keeps_status_and_body_up_to_content_length() -> None:
    body = b'{"error": "no such path"}'
    raw = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(
        body
    )
    for step in (None, 1, 5):
        reader = read_all("response", raw + body + b"extra", step)
        response = reader.message
        assert isinstance(response, HttpResponse)
        assert (response.status, response.reason) == (404, "Not Found")
        assert response.body == body
        assert response.raw == raw + body
        assert not response.body_truncated
        assert reader.rest == b"extra"
        check = check_handshake(None, response)
        assert not check.ok
        assert "404" in check.problems[0]


def test_refusal_without_length_is_read_until_eof_and_capped() -> None:
    raw = b"HTTP/1.0 400 Bad Request\r\n\r\n"
    reader = HttpReader("response")
    assert reader.receive_data(raw + b"partial body") is None
    response = reader.receive_eof()
    assert isinstance(response, HttpResponse)
    assert response.body == b"partial body"
    assert not response.body_truncated
    capped = HttpReader("response", max_body=4)
    response = capped.receive_data(raw + b"0123456789")  # type: ignore[assignment]
    assert isinstance(response, HttpResponse)
    assert response.body == b"0123"
    assert response.body_truncated


def test_chunked_refusal_body_ends_at_last_chunk() -> None:
    raw = b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = b"5\r\nnope!\r\n0\r\n\r\n"
    reader = read_all("response", raw + body, 3)
    assert isinstance(reader.message, HttpResponse)
    assert reader.message.body == body


def test_truncated_content_length_body_is_marked_at_eof() -> None:
    reader = HttpReader("response")
    reader.receive_data(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 100\r\n\r\nabc")
    response = reader.receive_eof()
    assert isinstance(response, HttpResponse)
    assert response.body == b"abc"
    assert response.body_truncated


def test_not_http_is_a_clear_error() -> None:
    with pytest.raises(HandshakeError, match="not an HTTP request line"):
        HttpReader("request").receive_data(b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00\r\n\r\n")
    with pytest.raises(HandshakeError, match="does not speak HTTP"):
        HttpReader("request", max_head=100).receive_data(b"\x10" * 200)
    with pytest.raises(HandshakeError, match="not an HTTP status line"):
        HttpReader("response").receive_data(b"SSH-2.0-OpenSSH\r\n\r\n")


def test_bad_request_fields_are_listed() -> None:
    request = parse_request(
        b"POST /mqtt HTTP/1.0\r\nUpgrade: h2c\r\nConnection: keep-alive\r\n"
        b"Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 8\r\n\r\n"
    )
    problems = " ".join(check_request(request))
    for expected in (
        "GET",
        "HTTP/1.1",
        "Host",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "16 bytes",
        "'13'",
    ):
        assert expected in problems


def test_response_missing_upgrade_headers_fails() -> None:
    request_bytes, _ = real_handshake(None, None)
    request = parse_request(request_bytes)
    key = request.header("Sec-WebSocket-Key")
    assert key is not None
    response = Response(
        101, "Switching Protocols", Headers([("Sec-WebSocket-Accept", accept_key(key))])
    ).serialize()
    parsed = HttpReader("response").receive_data(response)
    assert isinstance(parsed, HttpResponse)
    check = check_handshake(request, parsed)
    assert check.accept_ok is True
    assert len(check.problems) == 2


def test_unoffered_extension_is_a_problem() -> None:
    request_bytes, response_bytes = real_handshake(None, None)
    request = parse_request(request_bytes.replace(b"Sec-WebSocket-Extensions", b"X-Ignored"))
    response = HttpReader("response").receive_data(
        response_bytes.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
    )
    assert isinstance(response, HttpResponse)
    check = check_handshake(request, response)
    assert check.extensions == ("permessage-deflate",)
    assert any("permessage-deflate" in p for p in check.problems)


def test_credentials_are_masked_with_offsets_kept() -> None:
    raw = (
        b"GET /mqtt HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dXNlcjpzZWNyZXQ=\r\n"
        b"proxy-authorization:token123\r\nX-Other: keep\r\n\r\n"
    )
    masked = mask_credentials(raw)
    assert len(masked) == len(raw)
    assert b"dXNlcjpzZWNyZXQ=" not in masked
    assert b"token123" not in masked
    assert b"Authorization: Basic ****************\r\n" in masked
    assert b"X-Other: keep" in masked
    assert parse_request(masked).header("authorization") == "Basic ****************"


ODD_HEADS = [
    b"GET /mqtt HTTP/1.1\nHost: h\nUpgrade: websocket\n\n",
    b"GET /mqtt HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n",
    b"GET /mqtt HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n",
    b"GET /mqtt HTTP/1.1\r\nHost: h\r\nX-Ctl: a\x01b\r\nX-Cr: a\rb\r\n\r\n",
    b"GET /mqtt HTTP/1.1\r\nHost: h\r\nX-Long: " + b"a" * 8200 + b"\r\n\r\n",
    b"GET /mqtt HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(129)) + b"\r\n",
]


@pytest.mark.parametrize("head", ODD_HEADS)
def test_strict_syntax_defects_are_kept_and_the_fields_still_read(head: bytes) -> None:
    whole = HttpReader("request")
    request = whole.receive_data(head + b"rest")
    assert isinstance(request, HttpRequest)
    assert request.defects
    assert request.header("host") == "h" or request.header("x-0") == "y"
    assert whole.rest == b"rest"
    pieces = read_all("request", head + b"rest", 3)
    assert pieces.message == request
    assert pieces.rest == b"rest"


def test_a_well_formed_request_has_no_defects_and_repeated_fields_keep_every_value() -> None:
    raw = (
        b"GET /mqtt HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nconnection:  Upgrade \t\r\n"
        b"X-Latin: caf\xe9\r\nX-Empty:\r\n\r\n"
    )
    request = parse_request(raw)
    assert request.defects == ()
    assert request.values("CONNECTION") == ("keep-alive", "Upgrade")
    assert request.header("Connection") == "keep-alive, Upgrade"
    assert request.header("x-latin") == "caf\xe9"  # RFC 9110 §5.5: obs-text kept as latin-1
    assert request.values("X-Empty") == ("",)
    assert request.values("Origin") == ()
