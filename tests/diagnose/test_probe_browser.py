"""``probe --browser`` and ``--compression``: the upgrade a browser makes, against a
compressing websockets server, nginx stripping Sec-WebSocket-Extensions in front of it,
and the embedded broker's subprotocol faults."""

from __future__ import annotations

from pathlib import Path

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.diagnose import ProbeChecks
from explorer.diagnose.browser import DEFLATE_OFFER
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack
from tests.diagnose.servers import Nginx, free_port, mini_broker_handler, run_probe, ws_server

BROWSER = ProbeChecks(browser=True)
COMPRESSION = ProbeChecks(compression=True)
UPGRADE = (
    'proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";'
)


async def test_browser_probe_negotiates_compression_with_a_compressing_server() -> None:
    # websockets compresses with permessage-deflate whenever the client offers it.
    async with ws_server(mini_broker_handler(Connack()), subprotocols=["mqtt"]) as port:
        url = f"ws://127.0.0.1:{port}/mqtt"
        diagnosis = await run_probe(url, checks=ProbeChecks(browser=True, publish_size=20_000))
    assert diagnosis.ok, diagnosis.explanation
    assert diagnosis.observed["extensions_offered"] == DEFLATE_OFFER
    assert diagnosis.observed["extensions_received"].startswith("permessage-deflate")
    assert diagnosis.observed["subprotocols_offered"] == "mqtt"
    assert diagnosis.observed["request"] == "GET /mqtt HTTP/1.1"
    websocket = next(step for step in diagnosis.steps if step.layer == "websocket")
    assert "extensions permessage-deflate" in websocket.detail
    publish = next(step for step in diagnosis.steps if step.layer == "publish")
    assert publish.ok
    assert "20,000 B" in publish.detail


async def test_proxy_stripping_extensions_is_named_by_browser_and_compression_probes(tmp_path: Path) -> None:
    async with ws_server(mini_broker_handler(Connack()), subprotocols=["mqtt"]) as backend:
        port = free_port()
        location = (
            f"location /mqtt {{ proxy_pass http://127.0.0.1:{backend}; {UPGRADE} "
            "proxy_hide_header Sec-WebSocket-Extensions; }"
        )
        with Nginx(tmp_path / "nginx", f"server {{ listen 127.0.0.1:{port}; {location} }}", [port]):
            url = f"ws://127.0.0.1:{port}/mqtt"
            plain = await run_probe(url)
            browser = await run_probe(url, checks=BROWSER)
            compression = await run_probe(url, checks=COMPRESSION)
    # A plain probe offers no extension, so the backend does not compress: it works.
    assert plain.ok, plain.explanation
    for diagnosis in (browser, compression):
        assert (diagnosis.layer, diagnosis.cause) == ("websocket", "ws-extensions-stripped")
        assert diagnosis.observed["extensions_received"] == "(none)"
        error = diagnosis.observed["ws_error"]
        assert error == "reserved bit set without a negotiated extension (RFC 6455 §5.2)"
        assert "proxy" in diagnosis.explanation


async def test_a_compressed_frame_without_any_offer_is_not_blamed_on_a_proxy_stripping_it(
    tmp_path: Path,
) -> None:
    # nginx adds the extension to every request it forwards: the backend compresses
    # although the probe offered nothing, and hides its answer.
    async with ws_server(mini_broker_handler(Connack()), subprotocols=["mqtt"]) as backend:
        port = free_port()
        location = (
            f"location /mqtt {{ proxy_pass http://127.0.0.1:{backend}; {UPGRADE} "
            'proxy_set_header Sec-WebSocket-Extensions "permessage-deflate"; '
            "proxy_hide_header Sec-WebSocket-Extensions; }"
        )
        with Nginx(tmp_path / "nginx", f"server {{ listen 127.0.0.1:{port}; {location} }}", [port]):
            diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "ws-compressed-without-negotiation")


async def test_browser_probe_sends_an_origin_and_is_strict_about_the_echo() -> None:
    faults = parse_faults(["no-subprotocol-echo"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        diagnosis = await run_probe(f"ws://127.0.0.1:{broker.ws_port}/mqtt", checks=BROWSER)
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "subprotocol-not-echoed")
    assert "browsers" in diagnosis.explanation


async def test_browser_probe_sends_the_pages_origin() -> None:
    port = free_port()
    faults = parse_faults([f"origin-allow=http://127.0.0.1:{port}"])
    async with Broker(BrokerConfig.ephemeral(ws_port=port, sys_interval=0, faults=faults)):
        url = f"ws://127.0.0.1:{port}/mqtt"
        plain = await run_probe(url)
        browser = await run_probe(url, checks=BROWSER)
    assert plain.cause == "http-forbidden-origin"
    assert browser.ok, browser.explanation


async def test_browser_probe_offers_mqttv31_for_mqtt_31() -> None:
    faults = parse_faults(["only-mqttv3.1"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        url = f"ws://127.0.0.1:{broker.ws_port}/mqtt"
        diagnosis = await run_probe(url, checks=BROWSER, mqtt_version=ProtocolVersion.V31)
    assert diagnosis.ok, diagnosis.explanation
    assert diagnosis.observed["subprotocols_offered"] == "mqttv3.1"
