"""MqttClient's life is one ClientLife value moved through a table, against the embedded broker
over loopback: connect, reconnect after the broker drops the link, close; an illegal move is
our bug and says so."""

from __future__ import annotations

import asyncio

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.client.driver import ClientLife, MqttClient
from explorer.client.options import ConnectionOptions
from explorer.errors import HandshakeError, LocalProtocolError
from explorer.model.events import ConnectionState, StateChanged, TraceEvent


async def test_connect_reconnect_and_close_move_through_the_table() -> None:
    lives: list[ClientLife] = []
    states: list[ConnectionState] = []
    reconnected = asyncio.Event()

    def on_event(event: TraceEvent) -> None:
        if isinstance(event, StateChanged):
            states.append(event.state)
            lives.append(client.life)
            if states.count(ConnectionState.CONNECTED) == 2:
                reconnected.set()

    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        assert broker.ws_url is not None
        options = ConnectionOptions(url=broker.ws_url, reconnect=True, reconnect_initial_delay=0.01)
        client = MqttClient(options, on_event)
        assert client.life is ClientLife.IDLE
        await client.connect()
        assert client.life is ClientLife.CONNECTED
        for link in list(broker.links):
            assert link.transport is not None
            link.transport.abort()  # the network drops the connection: the client reconnects
        await reconnected.wait()
        assert client.life is ClientLife.CONNECTED
        await client.subscribe("a/#")
        await client.close()
    assert client.life is ClientLife.CLOSED
    assert states[0] is ConnectionState.CONNECTING
    assert ConnectionState.RECONNECTING in states
    assert states[-1] is ConnectionState.CLOSED
    assert lives[-1] is ClientLife.CLOSED
    with pytest.raises(LocalProtocolError, match="cannot go from closed to connected"):
        client._move(ClientLife.CONNECTED)


async def test_a_failed_first_connect_ends_closed_and_can_start_again() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        assert broker.ws_url is not None
        wrong = MqttClient(ConnectionOptions(url=broker.ws_url.rsplit("/", 1)[0] + "/nope"), lambda e: None)
        with pytest.raises(HandshakeError):
            await wrong.connect()
        assert wrong.life is ClientLife.CLOSED
        await wrong.close()  # closing a closed client changes nothing
        assert wrong.life is ClientLife.CLOSED
