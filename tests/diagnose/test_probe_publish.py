"""``probe --publish-size N``: frame, message and packet size limits, named with the size
that failed; servers with a 1 KiB limit (websockets' max_size, a server that drops the
connection, the embedded broker's Maximum Packet Size) and brokers that refuse."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable

import pytest
from websockets.asyncio.server import ServerConnection

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.diagnose import Diagnosis, ProbeChecks
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import DisconnectReasonCode, ProtocolVersion, PubackReasonCode
from explorer.mqtt.packets import Connack, Disconnect, Puback, Publish
from tests.diagnose.servers import mini_broker_handler, run_probe, ws_server
from tests.diagnose.test_cli_probe import _cli

V5 = ProtocolVersion.V5
OnPublish = Callable[[ServerConnection, Publish], Awaitable[None]]


async def _publish_probe(
    size: int, version: ProtocolVersion = ProtocolVersion.V311, **server: object
) -> Diagnosis:
    on_publish = server.pop("on_publish", None)
    handler = mini_broker_handler(Connack(), version, on_publish=on_publish)  # type: ignore[arg-type]
    async with ws_server(handler, subprotocols=["mqtt"], **server) as port:
        return await run_probe(
            f"ws://127.0.0.1:{port}/mqtt", checks=ProbeChecks(publish_size=size), mqtt_version=version
        )


async def test_a_small_message_is_acknowledged_below_the_limit() -> None:
    diagnosis = await _publish_probe(512, max_size=1024)
    assert diagnosis.ok, diagnosis.explanation
    assert [step.layer for step in diagnosis.steps][-2:] == ["publish", "liveness"]


async def test_a_1kib_frame_limit_closing_with_1009_is_named_with_the_size() -> None:
    diagnosis = await _publish_probe(4096, max_size=1024)
    assert (diagnosis.layer, diagnosis.cause) == ("publish", "limit-ws-message-too-big")
    assert diagnosis.observed["publish_size"] == "4096"
    # Smaller messages on fresh connections say where the 1 KiB limit lies.
    passed, failed = _bounds(diagnosis.observed["size_bounds"])
    assert 900 <= passed < failed <= 1024
    assert diagnosis.observed["size_bounds"] in diagnosis.explanation
    assert "4096 B" in diagnosis.explanation
    assert "1009" in diagnosis.explanation


async def test_cli_publish_size_4096_names_a_1kib_frame_limit() -> None:
    handler = mini_broker_handler(Connack())
    async with ws_server(handler, subprotocols=["mqtt"], max_size=1024) as port:
        url = f"ws://127.0.0.1:{port}/mqtt"
        code, out, err = await _cli("probe", url, "--publish-size", "4096", "--handshake-timeout", "3")
        json_code, json_out, _ = await _cli("probe", url, "--publish-size", "4K", "--json")
    assert code == 1, err
    assert "FAILED at publish: Message too big for the WebSocket server (1009)" in out
    assert "PUBLISH of 4096 B" in out
    assert "Fix: Raise the limit" in out
    result = json.loads(json_out)
    assert (json_code, result["cause"], result["observed"]["publish_size"]) == (
        1,
        "limit-ws-message-too-big",
        "4096",
    )


async def test_a_server_dropping_the_connection_after_a_large_message_is_a_silent_limit() -> None:
    async def drop_large(ws: ServerConnection, packet: Publish) -> None:
        if len(packet.payload) > 1024:
            ws.transport.abort()
        elif packet.packet_id is not None:
            await ws.send(encode(Puback(packet.packet_id)))

    small = await _publish_probe(1000, on_publish=drop_large)
    large = await _publish_probe(4096, on_publish=drop_large)
    assert small.ok, small.explanation
    assert (large.layer, large.cause) == ("publish", "limit-silent-drop")
    assert "4096 B" in large.explanation
    passed, failed = _bounds(large.observed["size_bounds"])
    assert passed <= 1024 < failed


async def test_a_drop_at_every_size_is_said_not_to_be_a_size_limit() -> None:
    async def drop_all(ws: ServerConnection, packet: Publish) -> None:
        ws.transport.abort()

    diagnosis = await _publish_probe(4096, on_publish=drop_all)
    assert diagnosis.cause == "limit-silent-drop"
    assert "no smaller message passed either" in diagnosis.explanation
    assert "an ACL" in diagnosis.explanation


def _bounds(text: str) -> tuple[int, int]:
    found = re.fullmatch(r"a message of ([\d,]+) B passed and one of ([\d,]+) B failed", text)
    assert found, text
    return int(found[1].replace(",", "")), int(found[2].replace(",", ""))


async def test_mqtt5_maximum_packet_size_in_connack_is_named_before_sending() -> None:
    config = BrokerConfig.ephemeral(sys_interval=0, max_packet_size=1024)
    async with Broker(config) as broker:
        url = f"ws://127.0.0.1:{broker.ws_port}/mqtt"
        diagnosis = await run_probe(url, checks=ProbeChecks(publish_size=4096), mqtt_version=V5)
        fits = await run_probe(url, checks=ProbeChecks(publish_size=900), mqtt_version=V5)
    assert (diagnosis.layer, diagnosis.cause) == ("publish", "limit-mqtt-maximum-packet-size")
    assert diagnosis.observed["server_maximum_packet_size"] == "1024"
    assert "Maximum Packet Size 1024 B" in diagnosis.explanation
    assert fits.ok, fits.explanation


async def test_a_disconnect_packet_too_large_is_named() -> None:
    async def too_large(ws: ServerConnection, packet: Publish) -> None:
        await ws.send(encode(Disconnect(DisconnectReasonCode.PACKET_TOO_LARGE), V5))

    diagnosis = await _publish_probe(4096, V5, on_publish=too_large)
    assert (diagnosis.layer, diagnosis.cause) == ("publish", "limit-mqtt-packet-too-large")
    assert "0x95" in diagnosis.explanation


async def test_a_puback_refusal_is_named_with_its_code() -> None:
    async def refuse(ws: ServerConnection, packet: Publish) -> None:
        assert packet.packet_id is not None
        await ws.send(encode(Puback(packet.packet_id, PubackReasonCode.NOT_AUTHORIZED), V5))

    diagnosis = await _publish_probe(100, V5, on_publish=refuse)
    assert (diagnosis.layer, diagnosis.cause) == ("publish", "publish-refused")
    assert diagnosis.observed["puback_code"] == "0x87 NOT_AUTHORIZED"


async def test_a_close_after_the_publish_is_named_with_its_code() -> None:
    async def close(ws: ServerConnection, packet: Publish) -> None:
        await ws.close(1008, "not allowed")

    diagnosis = await _publish_probe(100, on_publish=close)
    assert (diagnosis.layer, diagnosis.cause) == ("publish", "publish-closed")
    assert "1008 not allowed" in diagnosis.explanation


async def test_no_puback_is_named() -> None:
    async def ignore(ws: ServerConnection, packet: Publish) -> None:
        return None

    diagnosis = await _publish_probe(100, on_publish=ignore)
    assert (diagnosis.layer, diagnosis.cause) == ("publish", "publish-no-puback")


@pytest.mark.parametrize("size", ["-1", "lots", "300M"])
async def test_a_bad_publish_size_is_a_one_line_error(size: str) -> None:
    code, out, err = await _cli("probe", "ws://127.0.0.1:1/mqtt", "--publish-size", size)
    assert out == ""
    assert code == 2
    assert "--publish-size" in err
    assert "Traceback" not in err
