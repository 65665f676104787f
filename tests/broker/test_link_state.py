"""A broker connection's state is a LinkState derived from its flags, and the broker's observer
is told CONNECTED and CLOSED as enum values (real broker on loopback, our client)."""

from __future__ import annotations

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.broker.session import Connection, LinkState
from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions


async def test_the_observer_sees_connected_then_closed() -> None:
    seen: list[tuple[LinkState, LinkState]] = []

    def observe(event: LinkState, conn: Connection) -> None:
        seen.append((event, conn.state))

    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        assert broker.ws_url is not None
        broker.state.on_event = observe
        client = MqttClient(ConnectionOptions(url=broker.ws_url), lambda e: None)
        await client.connect()
        (conn,) = broker.state.connections.values()
        assert conn.state is LinkState.CONNECTED
        await client.close()
        await broker.stop()
    assert seen[0] == (LinkState.CONNECTED, LinkState.CONNECTED)
    assert seen[-1] == (LinkState.CLOSED, LinkState.CLOSED)
    assert Connection(id=9).state is LinkState.AWAITING_CONNECT
