"""MQTT failures: CONNACK refusals by name, no CONNACK, and the liveness check."""

from __future__ import annotations

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.diagnose.causes import CAUSES
from explorer.mqtt.enums import ConnackReasonCode, ConnectReturnCode, ProtocolVersion
from explorer.mqtt.packets import Connack, Properties
from tests.diagnose.servers import mini_broker_handler, run_probe, ws_server

V3_REFUSALS = [code for code in ConnectReturnCode if code != ConnectReturnCode.ACCEPTED]
V5_REFUSALS = [code for code in ConnackReasonCode if code != ConnackReasonCode.SUCCESS]


def _slug(code: ConnectReturnCode | ConnackReasonCode) -> str:
    return "connack-" + code.name.lower().replace("_", "-").replace("user-name", "username")


@pytest.mark.parametrize("code", V3_REFUSALS, ids=lambda c: c.name)
async def test_v311_connack_return_codes_are_named(code: ConnectReturnCode) -> None:
    async with ws_server(mini_broker_handler(Connack(reason_code=code)), subprotocols=["mqtt"]) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("mqtt", _slug(code))
    assert diagnosis.observed["connack_code"] == f"{int(code)} {code.name}"


@pytest.mark.parametrize("code", V5_REFUSALS, ids=lambda c: c.name)
async def test_v5_connack_reason_codes_from_the_broker_are_named(code: ConnackReasonCode) -> None:
    faults = parse_faults([f"refuse-connect={int(code)}"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        diagnosis = await run_probe(f"ws://127.0.0.1:{broker.ws_port}/mqtt", mqtt_version=ProtocolVersion.V5)
    assert (diagnosis.layer, diagnosis.cause) == ("mqtt", _slug(code))
    assert diagnosis.observed["connack_code"] == f"0x{int(code):02X} {code.name}"
    assert CAUSES[diagnosis.cause].layer == "mqtt"


async def test_v5_refusal_shows_reason_string_and_server_reference() -> None:
    connack = Connack(
        reason_code=ConnackReasonCode.SERVER_MOVED,
        properties=Properties(reason_string="moved to eu", server_reference="eu.example.com"),
    )
    handler = mini_broker_handler(connack, ProtocolVersion.V5)
    async with ws_server(handler, subprotocols=["mqtt"]) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt", mqtt_version=ProtocolVersion.V5)
    assert diagnosis.cause == "connack-server-moved"
    assert diagnosis.observed["reason_string"] == "moved to eu"
    assert "eu.example.com" in diagnosis.explanation


async def test_server_that_never_answers_connect_is_no_connack() -> None:
    async with ws_server(mini_broker_handler(None), subprotocols=["mqtt"]) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt", handshake_timeout=0.5)
    assert (diagnosis.layer, diagnosis.cause) == ("mqtt", "mqtt-no-connack")
    assert [step.layer for step in diagnosis.steps] == ["dns", "tcp", "http", "websocket", "mqtt"]


async def test_broker_idle_drop_shorter_than_keep_alive_is_named() -> None:
    faults = parse_faults(["idle-drop=0.5"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, tick_interval=0.1, faults=faults)) as broker:
        diagnosis = await run_probe(f"ws://127.0.0.1:{broker.ws_port}/mqtt", idle=5.0)
    assert (diagnosis.layer, diagnosis.cause) == ("liveness", "liveness-idle-drop")
    assert diagnosis.observed["keep_alive"] == "60"


async def test_a_quiet_but_healthy_connection_passes_the_idle_check() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        diagnosis = await run_probe(f"ws://127.0.0.1:{broker.ws_port}/mqtt", idle=0.3)
    assert diagnosis.ok, diagnosis.explanation
    assert diagnosis.steps[-1].detail.startswith("silent 0.3 s")


async def test_native_mqtt_url_skips_http_and_websocket_layers() -> None:
    faults = parse_faults(["refuse-connect=not-authorized"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        diagnosis = await run_probe(f"mqtt://127.0.0.1:{broker.tcp_port}")
    assert [step.layer for step in diagnosis.steps] == ["dns", "tcp", "mqtt"]
    assert diagnosis.cause == "connack-not-authorized"
