"""A 1 MiB QoS 1 message from a browser, through the embedded broker, byte for byte.

Chromium sends a large WebSocket message as a first binary frame with FIN=0 and
continuation frames (RFC 6455 §5.4), which a broker must reassemble into the MQTT byte
stream at every read boundary. Paho JS and MQTT.js (the browser bundle of its npm
package) run in headless Chromium (``node/browser_large.js`` serves
``node/large_page.html`` and the library from a loopback HTTP server); each publishes
the message at QoS 1, waits for PUBACK and receives it back on its own subscription. A
subscriber of ours receives it too and compares every byte.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from explorer.broker.server import Broker
from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions
from explorer.mqtt.packets import Subscription
from tests.interop.conftest import require_program, run_node

pytestmark = [pytest.mark.interop, pytest.mark.slow]

MIB = 1 << 20


def pattern(size: int) -> bytes:
    """The page's bytes: byte i is (7 i + i // 256) mod 256."""
    return bytes((i * 7 + (i >> 8)) & 255 for i in range(size))


@pytest.mark.parametrize(("library", "modules"), [("paho", ("paho-mqtt",)), ("mqttjs", ("mqtt",))])
async def test_browser_publishes_and_receives_1_mib_at_qos_1(
    broker: Broker, library: str, modules: tuple[str, ...]
) -> None:
    chromium = require_program("chromium", "Debian package chromium")
    expected = pattern(MIB)
    watcher = MqttClient(ConnectionOptions(url=str(broker.ws_url)))
    await watcher.connect()
    await watcher.subscribe(Subscription(f"big/{library}", qos=1))
    try:
        result = await run_node(
            "browser_large.js",
            library,
            "127.0.0.1",
            str(broker.ws_port),
            str(MIB),
            chromium,
            modules=("playwright-core", *modules),
            timeout=120,
        )
        async with asyncio.timeout(30):
            seen = await anext(watcher.messages())
    finally:
        await watcher.close()
    assert "Chrome/" in result["userAgent"]
    assert result["sentSha256"] == hashlib.sha256(expected).hexdigest()
    assert result["receivedLength"] == MIB
    assert result["equal"] is True
    assert result["receivedSha256"] == result["sentSha256"]
    assert result["qos"] == 1
    assert (seen.topic, seen.qos) == (f"big/{library}", 1)
    assert seen.payload == expected
