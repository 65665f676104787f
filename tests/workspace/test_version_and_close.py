"""An MQTT version refused is a failed connection (never "connected"), a new broker's URL
does not inherit the previous connection's MQTT 5.0, and an unexpected close is explained
from the silences before it (embedded brokers with fault modes, on loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions
from explorer.errors import ConnectionFailed
from explorer.model.events import ErrorReported, StateChanged, TraceEvent
from explorer.mqtt.enums import ProtocolVersion
from explorer.workspace import Workspace

V5 = ProtocolVersion.V5


@pytest.fixture
async def only_311() -> AsyncIterator[Broker]:
    faults = parse_faults(["only-mqtt3.1.1"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        yield broker


@pytest.mark.parametrize("scheme", ["ws", "mqtt"])
async def test_the_client_fails_on_a_311_brokers_refusal_of_mqtt5(only_311: Broker, scheme: str) -> None:
    url = only_311.ws_url if scheme == "ws" else only_311.tcp_url
    assert url is not None
    events: list[TraceEvent] = []
    client = MqttClient(
        ConnectionOptions(url=url, mqtt_version=V5, handshake_timeout=3), on_event=events.append
    )
    with pytest.raises(ConnectionFailed, match=r"this broker speaks MQTT 3\.1\.1"):
        await client.connect()
    await client.close()
    states = [event.state for event in events if isinstance(event, StateChanged)]
    assert "connected" not in states
    assert not client.connected


async def test_the_workspace_records_the_refusal_as_failed_and_the_next_broker_starts_from_defaults(
    only_311: Broker,
) -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as demo, Workspace() as ws:
        assert demo.ws_url is not None
        assert only_311.ws_url is not None
        await ws.connect(ConnectionOptions(url=demo.ws_url, mqtt_version=V5))
        assert ws.status.mqtt_version == "5.0"
        # Typing the 3.1.1-only broker's URL after an MQTT 5.0 connection:
        options = ws.options_for(only_311.ws_url)
        assert options.mqtt_version == ProtocolVersion.V311
        await ws.connect(options)
        assert ws.status.state == "connected"
        # Asking for 5.0 there explicitly fails, and says why.
        with pytest.raises(ConnectionFailed, match=r"speaks MQTT 3\.1\.1"):
            await ws.connect(ConnectionOptions(url=only_311.ws_url, mqtt_version=V5))
        assert ws.status.state == "failed"
        assert not ws.connected
        conn = max(event.conn for event in ws.trace)
        last = [e for e in ws.trace if isinstance(e, StateChanged) and e.conn == conn]
        assert "connected" not in [event.state for event in last]
        # The same broker keeps its options.
        assert ws.options_for(only_311.ws_url.replace("/mqtt", "/mqtt?x=1")).mqtt_version == V5


async def test_the_workspace_explains_a_proxy_like_idle_drop() -> None:
    faults = parse_faults(["idle-drop=1.5"])
    config = BrokerConfig.ephemeral(sys_interval=0, tick_interval=0.1, faults=faults)
    async with Broker(config) as broker, Workspace() as ws:
        assert broker.ws_url is not None
        await ws.connect(ConnectionOptions(url=broker.ws_url, keep_alive=60))
        assert ws.explain_close() is None  # open

        async def ended() -> None:
            async for batch in ws.events(max_rate_hz=50):
                if batch.status.state in ("disconnected", "closed", "failed"):
                    return

        await asyncio.wait_for(ended(), 10)
        text = ws.explain_close()
    assert text is not None
    assert text.startswith("The connection closed ")
    assert "before the keep alive (60 s) was due" in text
    assert "idle timeout of about" in text
    # Said unasked too: in the trace and the status every view shows.
    said = [e for e in ws.trace if isinstance(e, ErrorReported) and e.layer == "connection"]
    assert [e.message for e in said] == [text]
    assert ws.status.last_error == f"connection: {text}"
    assert text in ws.status.detail


async def test_a_disconnect_asked_for_is_not_explained() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker, Workspace() as ws:
        assert broker.ws_url is not None
        await ws.connect(ConnectionOptions(url=broker.ws_url))
        await ws.disconnect()
        assert ws.explain_close() is None
        assert not [e for e in ws.trace if isinstance(e, ErrorReported) and e.layer == "connection"]
