"""The upgrade on a live listener: the 101 and what follows it in the same read."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import Faults
from explorer.broker.server import Broker
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack, Connect, Disconnect
from explorer.mqtt.reader import PacketReader
from tests.broker.rawclient import OPEN_WRITERS, TIMEOUT, client_frame, upgrade_request

V311 = ProtocolVersion.V311


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(tcp_port=None, sys_interval=0)) as running:
        yield running


async def _send(port: int | None, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    assert port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    OPEN_WRITERS.append(writer)
    writer.write(data)
    return reader, writer


async def test_connect_sent_with_the_upgrade_request_is_answered_after_the_101(broker: Broker) -> None:
    connect = client_frame(0x2, encode(Connect(V311, "pipelined")))
    reader, _ = await _send(broker.ws_port, upgrade_request() + connect)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    assert head.startswith(b"HTTP/1.1 101 ")
    frame = await asyncio.wait_for(reader.readexactly(6), TIMEOUT)
    assert frame[:2] == b"\x82\x04"  # one unmasked binary frame, RFC 6455 §5.2
    packets = [item.packet for item in PacketReader(version=V311).receive_data(frame[2:])]
    assert packets == [Connack(False, 0)]
    assert broker.state.stats.bytes_sent == len(head) + len(frame)


async def test_close_after_handshake_follows_the_101_in_order() -> None:
    config = BrokerConfig.ephemeral(tcp_port=None, sys_interval=0, faults=Faults(close_after_handshake=4001))
    async with Broker(config) as running:
        reader, _ = await _send(running.ws_port, upgrade_request())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert head.startswith(b"HTTP/1.1 101 ")
        rest = await asyncio.wait_for(reader.read(), TIMEOUT)
        assert rest[:4] == b"\x88\x22\x0f\xa1"  # close frame, code 4001


async def test_connects_and_disconnects_are_logged_at_info(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="explorer.broker")
    frames = client_frame(0x2, encode(Connect(V311, "logged"))) + client_frame(0x2, encode(Disconnect()))
    reader, _ = await _send(broker.ws_port, upgrade_request() + frames)
    await asyncio.wait_for(reader.read(), TIMEOUT)
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("connected: logged (ws 127.0.0.1:") and "MQTT 3.1.1" in m for m in messages)
    assert any(m.startswith("disconnected: logged (ws 127.0.0.1:") for m in messages)


async def test_nothing_is_logged_for_a_connect_when_info_is_off(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="explorer.broker")
    frames = client_frame(0x2, encode(Connect(V311, "quiet"))) + client_frame(0x2, encode(Disconnect()))
    reader, _ = await _send(broker.ws_port, upgrade_request() + frames)
    await asyncio.wait_for(reader.read(), TIMEOUT)
    assert [r.getMessage() for r in caplog.records if r.name == "explorer.broker"] == []
