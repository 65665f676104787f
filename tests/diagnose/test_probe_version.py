"""MQTT versions: a 3.1.1-only broker probed with 5.0 is named with the version it speaks,
and ``--mqtt-version 3.1`` works against healthy 3.1 brokers (embedded, mosquitto)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.diagnose.mqttsteps import probe_client_id
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ConnectReturnCode, ProtocolVersion
from explorer.mqtt.packets import Connack, Connect, Pingreq, Pingresp
from explorer.mqtt.reader import PacketReader
from tests.diagnose.servers import mosquitto_server, raw_server, run_probe
from tests.diagnose.test_cli_probe import _cli

V5 = ProtocolVersion.V5


async def test_mqtt5_against_a_311_only_broker_names_the_version_it_speaks() -> None:
    faults = parse_faults(["only-mqtt3.1.1"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        for url in (f"ws://127.0.0.1:{broker.ws_port}/mqtt", f"mqtt://127.0.0.1:{broker.tcp_port}"):
            diagnosis = await run_probe(url, mqtt_version=V5)
            assert (diagnosis.layer, diagnosis.cause) == ("mqtt", "mqtt-version-mismatch"), url
            assert diagnosis.observed["broker_version"] == "3.1.1"
            assert diagnosis.observed["connack_code"] == "0x01 UNACCEPTABLE_PROTOCOL_VERSION"
            assert "this broker speaks 3.1.1" in diagnosis.explanation
            assert "--mqtt-version 3.1.1" in diagnosis.fix


async def test_cli_probe_mqtt5_says_use_311() -> None:
    faults = parse_faults(["only-mqtt3.1.1"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        url = f"ws://127.0.0.1:{broker.ws_port}/mqtt"
        code, out, err = await _cli("probe", url, "--mqtt-version", "5")
        ok_code, ok_out, _ = await _cli("probe", url, "--mqtt-version", "3.1.1")
    assert code == 1, err
    assert "FAILED at mqtt: Broker speaks another MQTT version [mqtt-version-mismatch]" in out
    assert "this broker speaks 3.1.1" in out
    assert "Fix: Use MQTT 3.1.1: --mqtt-version 3.1.1" in out
    assert ok_code == 0, ok_out


def test_generated_client_ids_fit_mqtt_31() -> None:
    ids = {probe_client_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(client_id) <= 23 for client_id in ids)


async def test_mqtt31_probe_succeeds_against_the_embedded_broker() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        ws = await run_probe(f"ws://127.0.0.1:{broker.ws_port}/mqtt", mqtt_version=ProtocolVersion.V31)
        tcp = await run_probe(f"mqtt://127.0.0.1:{broker.tcp_port}", mqtt_version=ProtocolVersion.V31)
    assert ws.ok, ws.explanation
    assert tcp.ok, tcp.explanation


async def test_cli_probe_mqtt31_succeeds_against_mosquitto(tmp_path: Path) -> None:
    async with mosquitto_server(tmp_path) as port:
        code, out, err = await _cli("probe", f"mqtt://127.0.0.1:{port}", "--mqtt-version", "3.1")
    assert code == 0, out + err
    assert "CONNACK 0 ACCEPTED, MQTT 3.1" in out


async def test_mqtt31_probe_fits_a_broker_holding_ids_to_23_characters() -> None:
    async def strict_31(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # MQTT 3.1 §3.1: a Client Identifier longer than 23 characters gets return code 2.
        packets = PacketReader(ProtocolVersion.V31)
        while data := await reader.read(4096):
            for read in packets.receive_data(data):
                if isinstance(read.packet, Connect):
                    code = (
                        ConnectReturnCode.IDENTIFIER_REJECTED
                        if len(read.packet.client_id) > 23
                        else ConnectReturnCode.ACCEPTED
                    )
                    writer.write(encode(Connack(reason_code=code), ProtocolVersion.V31))
                elif isinstance(read.packet, Pingreq):
                    writer.write(encode(Pingresp(), ProtocolVersion.V31))
            await writer.drain()

    async with raw_server(strict_31) as port:
        url = f"mqtt://127.0.0.1:{port}"
        diagnosis = await run_probe(url, mqtt_version=ProtocolVersion.V31)
        too_long = await run_probe(url, mqtt_version=ProtocolVersion.V31, client_id="x" * 24)
    assert diagnosis.ok, diagnosis.explanation
    assert too_long.cause == "connack-identifier-rejected"
