"""--explore: alternatives tried after a failure, and which would work."""

from __future__ import annotations

import asyncio
from pathlib import Path

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions, TlsOptions
from explorer.diagnose import Diagnosis
from explorer.diagnose.explore import diagnose, variations
from explorer.mqtt.enums import ConnackReasonCode, ProtocolVersion
from explorer.mqtt.packets import Connack
from tests.diagnose.servers import Pki, mini_broker_handler, raw_server, ws_server


def _working(diagnosis: Diagnosis) -> list[str]:
    return [alt.description for alt in diagnosis.alternatives if alt.ok]


async def test_wrong_path_explores_and_finds_the_brokers_path() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        options = ConnectionOptions(url=f"ws://127.0.0.1:{broker.ws_port}/ws", handshake_timeout=2.0)
        diagnosis = await diagnose(options, explore_alternatives=True)
    assert diagnosis.cause == "http-not-found"
    assert _working(diagnosis) == ["path /mqtt"]
    tried = {alt.description: alt for alt in diagnosis.alternatives}
    assert tried["path /mqtt"].options_changed == {"url": f"ws://127.0.0.1:{broker.ws_port}/mqtt"}
    assert tried["path /"].cause == "http-not-found"


async def test_server_accepting_only_mqttv31_explores_to_that_subprotocol() -> None:
    faults = parse_faults(["only-mqttv3.1"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        options = ConnectionOptions(url=f"ws://127.0.0.1:{broker.ws_port}/mqtt", handshake_timeout=2.0)
        diagnosis = await diagnose(options, explore_alternatives=True)
    assert diagnosis.cause == "subprotocol-only-mqttv31"
    # Offering no subprotocol is accepted too (the server does not require one).
    working = {"subprotocols mqttv3.1", "subprotocols mqtt, mqttv3.1", "subprotocols (none)"}
    assert set(_working(diagnosis)) == working


async def test_broker_refusing_mqtt5_explores_to_an_older_version() -> None:
    refusing = Connack(reason_code=ConnackReasonCode.UNSUPPORTED_PROTOCOL_VERSION)
    async with ws_server(mini_broker_handler(refusing, ProtocolVersion.V5), subprotocols=["mqtt"]) as port:
        options = ConnectionOptions(
            url=f"ws://127.0.0.1:{port}/mqtt", mqtt_version=ProtocolVersion.V5, handshake_timeout=2.0
        )
        diagnosis = await diagnose(options, explore_alternatives=True)
    assert diagnosis.cause == "connack-unsupported-protocol-version"
    versions = {alt.description: alt for alt in diagnosis.alternatives}
    assert set(versions) == {"MQTT 3.1.1", "MQTT 3.1"}


async def test_wss_to_a_plain_port_explores_to_ws() -> None:
    # The broker answers the ClientHello with 400 Bad Request at once, as nginx does.
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        options = ConnectionOptions(url=f"wss://127.0.0.1:{broker.ws_port}/mqtt", handshake_timeout=5.0)
        diagnosis = await diagnose(options, explore_alternatives=True)
    assert diagnosis.cause == "tls-to-plaintext-port"
    assert _working(diagnosis) == ["ws:// on the same host and port"]


async def test_ws_to_a_tls_port_explores_to_wss(tmp_path: Path) -> None:
    pki = Pki(tmp_path)

    async def tls_404(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with raw_server(tls_404, ssl_context=pki.server_context("good")) as port:
        options = ConnectionOptions(
            url=f"ws://127.0.0.1:{port}/mqtt", tls=TlsOptions(ca_file=pki.ca_file), handshake_timeout=1.0
        )
        diagnosis = await diagnose(options, explore_alternatives=True)
    wss = next(alt for alt in diagnosis.alternatives if alt.description.startswith("wss://"))
    assert wss.cause == "http-not-found"  # TLS works there: the layer after it is reached


def test_dns_and_tcp_failures_have_nothing_to_vary() -> None:
    options = ConnectionOptions(url="ws://127.0.0.1:1/mqtt")
    assert variations(options, "dns") == []
    assert variations(options, "tcp") == []


def test_http_failures_vary_paths_subprotocols_scheme_and_version() -> None:
    options = ConnectionOptions(url="ws://127.0.0.1:1/ws")
    names = [v.description for v in variations(options, "http")]
    assert names[:3] == ["path /mqtt", "path /", "path /mqtt/"]
    assert "subprotocols (none)" in names
    assert "wss:// on the same host and port" in names
    assert "MQTT 5.0" in names
