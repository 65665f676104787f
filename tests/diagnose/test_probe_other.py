"""The catch-all causes: each still comes from a real (odd) server and is named."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from pathlib import Path

from websockets.asyncio.server import ServerConnection

from explorer.client.options import TlsOptions
from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Connack, Pingresp
from explorer.ws.handshake import accept_key, parse_request
from tests.diagnose.servers import (
    Nginx,
    Pki,
    free_port,
    mini_broker_handler,
    raw_server,
    run_probe,
    sandbox_probe,
    ws_server,
)


async def test_unreachable_network_is_named() -> None:
    result = sandbox_probe("plain", "ws://10.20.30.40:8080/mqtt")
    assert (result["layer"], result["cause"]) == ("tcp", "tcp-unreachable")


async def test_no_common_cipher_is_a_failed_handshake(pki: Pki) -> None:
    # A legacy server: TLS 1.2 with only a SHA-1 cipher suite, which the client's defaults exclude.
    context = pki.server_context("good")
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-ECDSA-AES128-SHA")

    async def nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with raw_server(nothing, ssl_context=context) as port:
        diagnosis = await run_probe(f"mqtts://127.0.0.1:{port}", tls=TlsOptions(ca_file=pki.ca_file))
    assert (diagnosis.layer, diagnosis.cause) == ("tls", "tls-handshake-failed")
    assert "HANDSHAKE_FAILURE" in diagnosis.observed["tls_error"]


async def test_ssh_banner_is_not_an_http_response() -> None:
    async def ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
        await writer.drain()
        await reader.read()

    async with raw_server(ssh) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http-invalid-response")
    assert diagnosis.observed["first_bytes_text"].startswith("SSH-2.0")


async def test_server_error_status_is_unexpected() -> None:
    async def error(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops")
        await writer.drain()
        await reader.read()

    async with raw_server(error) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http-unexpected-status")
    assert diagnosis.observed["body_start"] == "oops"


async def _switch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: str) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    key = parse_request(head).header("Sec-WebSocket-Key") or ""
    text = headers.replace("ACCEPT", accept_key(key))
    writer.write(f"HTTP/1.1 101 Switching Protocols\r\n{text}\r\n".encode())
    await writer.drain()


async def test_101_without_upgrade_header_is_an_invalid_handshake() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _switch(reader, writer, "Connection: Upgrade\r\nSec-WebSocket-Accept: ACCEPT\r\n")
        await reader.read()

    async with raw_server(handler) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt", subprotocols=())
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "ws-handshake-invalid")
    assert "Upgrade: websocket" in diagnosis.observed["ws_error"]


async def test_reserved_opcode_is_a_protocol_violation() -> None:
    headers = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ACCEPT\r\n"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _switch(reader, writer, headers + "Sec-WebSocket-Protocol: mqtt\r\n")
        await reader.read(1)
        writer.write(bytes([0x83, 0x00]))  # FIN + opcode 0x3, reserved (RFC 6455 §5.2)
        await writer.drain()
        await reader.read()

    async with raw_server(handler) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "ws-protocol-violation")


async def test_answer_other_than_connack_is_an_unexpected_packet() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send(encode(Pingresp()))
        await ws.wait_closed()

    async with ws_server(handler, subprotocols=["mqtt"]) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("mqtt", "mqtt-unexpected-packet")
    assert diagnosis.observed["packet"] == "PINGRESP"


async def test_invalid_fixed_header_is_malformed_mqtt() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send(bytes([0x2F, 0x02, 0x00, 0x00]))  # CONNACK with reserved flags set
        await ws.wait_closed()

    async with ws_server(handler, subprotocols=["mqtt"]) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("mqtt", "mqtt-malformed")


async def test_broker_not_answering_pingreq_is_named() -> None:
    handler = mini_broker_handler(Connack(), answer_ping=False)
    async with ws_server(handler, subprotocols=["mqtt"]) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt", handshake_timeout=0.5)
    assert (diagnosis.layer, diagnosis.cause) == ("liveness", "liveness-no-pingresp")


async def test_mqtt_url_to_an_nginx_http_port_is_named(tmp_path: Path) -> None:
    port = free_port()
    with Nginx(tmp_path / "nginx", f"server {{ listen 127.0.0.1:{port}; }}", [port]):
        diagnosis = await run_probe(f"mqtt://127.0.0.1:{port}")
    assert (diagnosis.layer, diagnosis.cause) == ("mqtt", "mqtt-port-speaks-http")
    assert diagnosis.observed["first_bytes_text"].startswith("HTTP/1.1 400")


async def test_mqtt_url_to_a_server_answering_with_a_tls_alert_is_plaintext_to_tls() -> None:
    async def tls_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        # RFC 8446 §6: a fatal decode_error alert (50) in a TLS 1.2 record.
        writer.write(bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 50]))
        await writer.drain()

    async with raw_server(tls_only) as port:
        diagnosis = await run_probe(f"mqtt://127.0.0.1:{port}")
    assert diagnosis.cause == "plaintext-to-tls-port"
    assert diagnosis.observed["first_bytes_hex"].startswith("15 03")


async def test_reset_right_after_the_upgrade_is_a_dropped_websocket() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _switch(
            reader,
            writer,
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ACCEPT\r\n"
            "Sec-WebSocket-Protocol: mqtt\r\n",
        )
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        writer.transport.abort()

    async with raw_server(handler) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "ws-dropped")
