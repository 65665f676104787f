"""Wrong URLs for the embedded broker's WebSocket port: its quick 400 names the mix-up.

The broker answers bytes that cannot be HTTP with ``400 Bad Request`` at once, as nginx
and Node do, so a ``wss://`` or ``mqtt://`` URL for its ``ws://`` port is named from
the answer instead of ending in a timeout. The broker's own handshake timeout is an
hour here: only an answer to the bytes can give these verdicts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions
from explorer.diagnose import diagnose
from tests.diagnose.servers import run_probe


@pytest.fixture
async def ws_port() -> AsyncIterator[int]:
    async with Broker(BrokerConfig.ephemeral(handshake_timeout=3600, sys_interval=0)) as broker:
        assert broker.ws_port is not None
        yield broker.ws_port


async def test_wss_to_the_brokers_websocket_port_is_tls_to_plaintext(ws_port: int) -> None:
    diagnosis = await run_probe(f"wss://127.0.0.1:{ws_port}/mqtt", handshake_timeout=10.0)
    assert (diagnosis.layer, diagnosis.cause) == ("tls", "tls-to-plaintext-port")
    assert diagnosis.observed["first_bytes_text"].startswith("HTTP/1.1 400 Bad Request")


async def test_mqtt_url_to_the_brokers_websocket_port_is_an_http_port(ws_port: int) -> None:
    diagnosis = await run_probe(f"mqtt://127.0.0.1:{ws_port}", handshake_timeout=10.0)
    assert (diagnosis.layer, diagnosis.cause) == ("mqtt", "mqtt-port-speaks-http")
    assert diagnosis.observed["first_bytes_text"].startswith("HTTP/1.1 400 Bad Request")
    assert f"ws://127.0.0.1:{ws_port}/mqtt" in diagnosis.fix


async def test_explored_wss_alternative_agrees_with_probing_wss_directly(ws_port: int) -> None:
    explored = await diagnose(
        ConnectionOptions(url=f"ws://127.0.0.1:{ws_port}/ws", handshake_timeout=10.0),
        explore_alternatives=True,
    )
    direct = await run_probe(f"wss://127.0.0.1:{ws_port}/ws", handshake_timeout=10.0)
    (wss,) = [alt for alt in explored.alternatives if alt.description.startswith("wss://")]
    assert explored.cause == "http-not-found"
    assert wss.cause == direct.cause == "tls-to-plaintext-port"
    assert [alt.description for alt in explored.alternatives if alt.ok] == ["path /mqtt"]
