"""What the first bytes of an answer say about the port (pure functions, no I/O)."""

from __future__ import annotations

import pytest

from explorer.diagnose.httpcheck import (
    HTTP2_PREFACE,
    classify_foreign_bytes,
    classify_status,
    could_be_http,
    ws_url_for,
)
from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Connack, Pingresp
from explorer.ws.handshake import HttpReader, HttpResponse


@pytest.mark.parametrize(
    ("data", "cause"),
    [
        (b"", "native-mqtt-port"),
        (encode(Connack()), "native-mqtt-port"),
        (encode(Pingresp()), "native-mqtt-port"),
        (HTTP2_PREFACE, "http2-only"),
        # RFC 9113 §6.5: an empty SETTINGS frame on stream 0.
        (bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]), "http2-only"),
        # RFC 9113 §6.8: GOAWAY, last stream 0, PROTOCOL_ERROR.
        (bytes([0, 0, 8, 7, 0, 0, 0, 0, 0]) + bytes(7) + b"\x01", "http2-only"),
        (bytes([0x16, 0x03, 0x01, 0x00, 0x05]), "plaintext-to-tls-port"),
        (bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]), "plaintext-to-tls-port"),
        (b"SSH-2.0-OpenSSH_9.2\r\n", "http-invalid-response"),
        (b"220 smtp.example.com ESMTP\r\n", "http-invalid-response"),
    ],
)
def test_foreign_first_bytes_name_what_the_port_speaks(data: bytes, cause: str) -> None:
    assert classify_foreign_bytes(data)[0] == cause


def test_foreign_bytes_are_shown_in_hex_and_escaped_text() -> None:
    _, observed = classify_foreign_bytes(b"SSH-2.0\r\n")
    assert observed["first_bytes_hex"] == "53 53 48 2d 32 2e 30 0d 0a"
    assert observed["first_bytes_text"] == "SSH-2.0\\r\\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", True), (b"HT", True), (b"HTTP/1.1 101", True), (b"HTTP/2", False), (b"\x16\x03", False)],
)
def test_prefixes_of_an_http1_status_line_are_recognised(data: bytes, expected: bool) -> None:
    assert could_be_http(data) is expected


@pytest.mark.parametrize(
    ("location", "base", "expected"),
    [
        ("https://b.example.com/mqtt", "ws://a:80/x", "wss://b.example.com/mqtt"),
        ("http://b.example.com:8080/ws", "wss://a:443/x", "ws://b.example.com:8080/ws"),
        ("/mqtt", "ws://a:8080/x", "ws://a:8080/mqtt"),
        ("/mqtt", "wss://a:8443/x", "wss://a:8443/mqtt"),
    ],
)
def test_redirect_targets_become_websocket_urls(location: str, base: str, expected: str) -> None:
    assert ws_url_for(location, base) == expected


def _response(head: str, body: bytes = b"") -> HttpResponse:
    reader = HttpReader("response")
    raw = head.replace("\n", "\r\n").encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    message = reader.receive_data(raw)
    assert isinstance(message, HttpResponse)
    return message


@pytest.mark.parametrize(
    ("head", "body", "cause"),
    [
        # Node's ws on a path it does not serve: nothing shows a proxy.
        (
            "HTTP/1.1 400 Bad Request\nConnection: close\nContent-Type: text/html\n",
            b"Bad Request",
            "http-upgrade-refused",
        ),
        ("HTTP/1.1 400 Bad Request\nServer: nginx/1.22.1\n", b"Bad Request", "upgrade-not-forwarded"),
        ("HTTP/1.1 400 Bad Request\nVia: 1.1 squid\n", b"", "upgrade-not-forwarded"),
        ("HTTP/1.1 400 Bad Request\n", b"missing Upgrade header", "upgrade-not-forwarded"),
        ("HTTP/1.1 426 Upgrade Required\n", b"", "upgrade-not-forwarded"),
        # RFC 6455 §4.4: a 426 listing the versions the server speaks is not about Upgrade.
        ("HTTP/1.1 426 Upgrade Required\nSec-WebSocket-Version: 8\n", b"", "http-upgrade-refused"),
        ("HTTP/1.1 505 HTTP Version Not Supported\n", b"", "upgrade-not-forwarded"),
    ],
)
def test_a_refused_upgrade_blames_a_proxy_only_with_evidence(head: str, body: bytes, cause: str) -> None:
    slug, observed = classify_status(_response(head, body), "ws://example.com/mqtt")
    assert slug == cause
    assert ("proxy_evidence" in observed) == (cause == "upgrade-not-forwarded")
