"""DNS, TCP and "what does this port speak" failures, each from a real server on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ConnectReturnCode
from explorer.mqtt.packets import Connack
from tests.diagnose.servers import (
    Nginx,
    Pki,
    free_port,
    raw_server,
    require_program,
    run_probe,
    sandbox_probe,
)


def test_name_that_does_not_exist_is_named_not_found() -> None:
    result = sandbox_probe("nxdomain", "ws://broker.probe.test:8080/mqtt")
    assert (result["layer"], result["cause"]) == ("dns", "dns-name-not-found")
    assert result["ok"] is False


def test_lookup_without_any_reachable_resolver_is_named_no_resolver() -> None:
    result = sandbox_probe("no-resolver", "ws://broker.probe.test:8080/mqtt")
    assert (result["layer"], result["cause"]) == ("dns", "dns-no-resolver")


async def test_closed_port_is_connection_refused() -> None:
    port = free_port()
    diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("tcp", "tcp-connection-refused")
    assert diagnosis.observed["address"] == f"127.0.0.1:{port}"


async def test_dropped_syns_are_a_connect_timeout(full_backlog: int) -> None:
    diagnosis = await run_probe(f"ws://127.0.0.1:{full_backlog}/mqtt", connect_timeout=0.5)
    assert (diagnosis.layer, diagnosis.cause) == ("tcp", "tcp-connect-timeout")


async def test_server_silent_after_a_client_hello_is_a_tls_handshake_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads the ClientHello, never answers

    async with raw_server(silent) as port:
        diagnosis = await run_probe(f"wss://127.0.0.1:{port}/mqtt", handshake_timeout=0.5)
    assert (diagnosis.layer, diagnosis.cause) == ("tls", "tls-handshake-timeout")
    assert [step.ok for step in diagnosis.steps] == [True, True, False]


async def test_silent_server_is_an_http_handshake_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; returns when the probe gives up

    async with raw_server(silent) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt", handshake_timeout=0.5)
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http-no-response")
    assert [step.ok for step in diagnosis.steps] == [True, True, False]


async def test_embedded_broker_tcp_port_is_named_a_native_mqtt_port() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        diagnosis = await run_probe(f"ws://127.0.0.1:{broker.tcp_port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("http", "native-mqtt-port")


async def test_mosquitto_tcp_listener_is_a_native_mqtt_port_and_its_ws_listener_works(tmp_path: Path) -> None:
    binary = require_program("mosquitto")
    port, ws_port = free_port(), free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        f"listener {ws_port} 127.0.0.1\nprotocol websockets\n"
        "allow_anonymous true\n"
    )
    process = await asyncio.create_subprocess_exec(
        binary, "-c", str(conf), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert process.stderr is not None
        while b"running" not in await process.stderr.readline():  # "mosquitto version x running"
            assert process.returncode is None
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
        plain = await run_probe(f"mqtt://127.0.0.1:{port}")
        websocket = await run_probe(f"ws://127.0.0.1:{ws_port}/mqtt")
    finally:
        process.terminate()
        await process.wait()
    assert (diagnosis.layer, diagnosis.cause) == ("http", "native-mqtt-port")
    assert plain.ok, plain.explanation
    assert websocket.ok, websocket.explanation
    assert websocket.observed["subprotocol"] == "mqtt"


async def test_server_answering_mqtt_bytes_to_http_is_a_native_mqtt_port() -> None:
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.write(encode(Connack(reason_code=ConnectReturnCode.UNACCEPTABLE_PROTOCOL_VERSION)))
        await writer.drain()
        await reader.read()

    async with raw_server(refuse) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("http", "native-mqtt-port")
    assert diagnosis.observed["first_bytes_hex"] == "20 02 00 01"
    assert "CONNACK" in diagnosis.observed["mqtt_evidence"]


def _nginx(tmp_path: Path, servers: str, ports: list[int]) -> Nginx:
    return Nginx(tmp_path / "nginx", servers, ports)


async def test_nginx_http2_only_listener_is_named_http2_only(tmp_path: Path) -> None:
    port = free_port()
    block = f"server {{ listen 127.0.0.1:{port} http2; location / {{ return 200 'h2'; }} }}"
    with _nginx(tmp_path, block, [port]):
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http2-only")
    assert "HTTP/2" in diagnosis.observed["http2_evidence"]


async def test_wss_to_a_plaintext_http_port_is_tls_to_plaintext(tmp_path: Path) -> None:
    port = free_port()
    block = f"server {{ listen 127.0.0.1:{port}; location / {{ return 404; }} }}"
    with _nginx(tmp_path, block, [port]):
        diagnosis = await run_probe(f"wss://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("tls", "tls-to-plaintext-port")
    assert diagnosis.observed["first_bytes_text"].startswith("HTTP/1.1 400")


async def test_mqtts_to_a_plain_mqtt_port_is_tls_to_plaintext() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        diagnosis = await run_probe(f"mqtts://127.0.0.1:{broker.tcp_port}")
    assert (diagnosis.layer, diagnosis.cause) == ("tls", "tls-to-plaintext-port")


async def test_ws_to_an_nginx_tls_port_is_plaintext_to_tls(tmp_path: Path, pki: Pki) -> None:
    cert, key = pki.server_files("good")
    port = free_port()
    block = (
        f"server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {cert}; ssl_certificate_key {key};"
        " location / { return 404; } }"
    )
    with _nginx(tmp_path, block, [port]):
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("http", "plaintext-to-tls-port")


async def test_ws_to_a_server_answering_with_a_tls_alert_is_plaintext_to_tls() -> None:
    async def tls_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        # RFC 8446 §6: a fatal protocol_version alert (70) in a TLS 1.2 record.
        writer.write(bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70]))
        await writer.drain()

    async with raw_server(tls_only) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("http", "plaintext-to-tls-port")
    assert diagnosis.observed["first_bytes_hex"].startswith("15 03 03")


async def test_a_working_broker_passes_every_layer() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        assert broker.ws_url is not None
        diagnosis = await run_probe(broker.ws_url)
    assert diagnosis.ok, diagnosis.explanation
    assert diagnosis.cause == "connected"
    assert [step.layer for step in diagnosis.steps] == ["dns", "tcp", "http", "websocket", "mqtt", "liveness"]
    assert diagnosis.observed["subprotocol"] == "mqtt"
