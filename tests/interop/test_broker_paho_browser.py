"""The Eclipse Paho JavaScript client in headless Chromium against the embedded broker.

This is how most web pages use MQTT over WebSockets: ``new Paho.Client(host, port,
"/mqtt", clientId)``. ``node/paho_browser.js`` serves ``node/paho_page.html`` from a
local HTTP server, opens it in Chromium (Debian ``/usr/bin/chromium``, driven by
playwright-core) and prints what the page observed. Paho JS offers the subprotocol
``mqtt`` for MQTT 3.1.1 and ``mqttv3.1`` for MQTT 3.1.
"""

from __future__ import annotations

import pytest

from explorer.broker.server import Broker
from tests.interop.conftest import require_program, run_node

pytestmark = [pytest.mark.interop, pytest.mark.slow]


def text(topic: str, payload: str, qos: int, retain: bool = False) -> dict[str, object]:
    return {"topic": topic, "payload": payload, "qos": qos, "retain": retain}


@pytest.mark.parametrize("version", ["4", "3"], ids=["v311", "v31"])
async def test_paho_js_in_chromium_publishes_and_receives_every_qos(broker: Broker, version: str) -> None:
    chromium = require_program("chromium", "Debian package chromium")
    assert broker.ws_port is not None
    result = await run_node(
        "paho_browser.js",
        "127.0.0.1",
        str(broker.ws_port),
        version,
        chromium,
        modules=("playwright-core", "paho-mqtt"),
        timeout=90,
    )
    assert result["granted"] == [[2], [1]]
    received = result["received"]
    binary = [m for m in received if m["topic"] == "web/binary/qos"]
    assert binary == [{"topic": "web/binary/qos", "payload": list(range(256)), "qos": 1, "retain": False}]
    assert sorted((m["topic"], m["payload"], m["qos"]) for m in received if m not in binary) == [
        ("web/q0/qos", "qos0", 0),
        ("web/q1/qos", "qos1", 1),
        ("web/q2/qos", "qos2", 2),
    ]
    assert result["retained"] == text("web/retained", "kept", 1, retain=True)
    assert result["afterClear"] == [text("web/marker", "after-clear", 1)]
    assert result["unsubscribed"] is True
    assert result["afterUnsubscribe"] == [text("web/marker", "after-clear", 1), text("web/marker", "end", 1)]
