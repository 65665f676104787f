"""The terminal diagnoser's extra checks (as a browser, compression, publish size, idle),
ticked and typed on the screen as a user would, against real servers on loopback."""

from __future__ import annotations

from textual.widgets import Checkbox, Input, Static

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack
from explorer.workspace import Workspace
from tests.diagnose.servers import mini_broker_handler, ws_server
from tests.tui.conftest import settle
from tui.app import ExplorerApp
from tui.screens.diagnose import DiagnoseScreen
from tui.widgets.status import StatusLine

SIZE = (160, 48)


async def _open(pilot: object, app: ExplorerApp) -> DiagnoseScreen:
    await pilot.press("d")  # type: ignore[attr-defined]
    await settle(pilot, lambda: isinstance(app.screen, DiagnoseScreen))  # type: ignore[arg-type]
    screen = app.screen
    assert isinstance(screen, DiagnoseScreen)
    return screen


def _result(screen: DiagnoseScreen) -> str:
    return str(screen.query_one("#diagnose-result", Static).render())


async def test_publish_size_names_a_1kib_frame_limit_and_browser_offers_compression() -> None:
    async with ws_server(mini_broker_handler(Connack()), subprotocols=["mqtt"], max_size=1024) as port:
        app = ExplorerApp(Workspace(), autostart=False)
        async with app.run_test(size=SIZE) as pilot:
            screen = await _open(pilot, app)
            screen.query_one("#diagnose-url", Input).value = f"ws://127.0.0.1:{port}/mqtt"
            await pilot.click("#check-browser")
            assert screen.query_one("#check-browser", Checkbox).value
            screen.query_one("#publish-size", Input).value = "4K"
            await pilot.press("ctrl+r")
            await settle(pilot, lambda: screen.diagnosis is not None)
            diagnosis = screen.diagnosis
            assert diagnosis is not None
            assert (diagnosis.layer, diagnosis.cause) == ("publish", "limit-ws-message-too-big")
            assert diagnosis.observed["extensions_received"].startswith("permessage-deflate")
            shown = _result(screen)
            assert "Fails at the publish layer: Message too big for the WebSocket server (1009)" in shown
            assert "PUBLISH of 4096 B" in shown


async def test_a_bad_publish_size_is_said_on_the_screen_and_nothing_is_probed() -> None:
    app = ExplorerApp(Workspace(), autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app)
        screen.query_one("#diagnose-url", Input).value = "ws://127.0.0.1:1/mqtt"
        screen.query_one("#publish-size", Input).value = "lots"
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: "is not a size" in _result(screen))
        assert "Publish size: 'lots' is not a size" in _result(screen)
        assert screen.diagnosis is None


async def test_the_idle_check_names_a_proxy_like_idle_drop() -> None:
    faults = parse_faults(["idle-drop=0.5"])
    config = BrokerConfig.ephemeral(sys_interval=0, tick_interval=0.1, faults=faults)
    async with Broker(config) as broker:
        app = ExplorerApp(Workspace(), autostart=False)
        async with app.run_test(size=SIZE) as pilot:
            screen = await _open(pilot, app)
            screen.query_one("#diagnose-url", Input).value = f"ws://127.0.0.1:{broker.ws_port}/mqtt"
            screen.query_one("#idle", Input).value = "5"
            await pilot.press("ctrl+r")
            await settle(pilot, lambda: screen.diagnosis is not None, rounds=1000)
            assert screen.diagnosis is not None
            assert screen.diagnosis.cause == "liveness-idle-drop"
            assert "Idle connection dropped" in _result(screen)


async def test_an_unexpected_idle_drop_is_explained_on_the_status_line() -> None:
    faults = parse_faults(["idle-drop=1.5"])
    config = BrokerConfig.ephemeral(sys_interval=0, tick_interval=0.1, faults=faults)
    async with Broker(config) as broker:
        assert broker.ws_url is not None
        app = ExplorerApp(Workspace(), autostart=False)
        async with app.run_test(size=SIZE) as pilot:
            app.connect_with(ConnectionOptions(url=broker.ws_url, keep_alive=60))
            status = app.main_screen.query_one(StatusLine)
            await settle(pilot, lambda: app.workspace.status.state.ended, rounds=1500)
            await settle(pilot, lambda: "The connection closed" in status.plain)
            assert "after the last byte received" in status.plain
            assert "before the keep alive (60 s) was due" in app.workspace.status.detail


async def test_a_wrong_path_on_a_311_only_broker_from_mqtt5_connects_with_this() -> None:
    faults = parse_faults(["only-mqtt3.1.1"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        assert broker.ws_url is not None
        wrong = broker.ws_url.replace("/mqtt", "/ws")
        app = ExplorerApp(Workspace(), autostart=False)
        async with app.run_test(size=SIZE) as pilot:
            app.open_diagnosis(ConnectionOptions(url=wrong, mqtt_version=ProtocolVersion.V5))
            await settle(pilot, lambda: isinstance(app.screen, DiagnoseScreen))
            screen = app.screen
            assert isinstance(screen, DiagnoseScreen)
            await pilot.press("ctrl+t")
            await settle(pilot, lambda: screen.diagnosis is not None and not screen.running, rounds=1000)
            shown = _result(screen)
            assert "path /mqtt + MQTT 3.1.1" in shown
            assert f"Connect with: {broker.ws_url} --mqtt-version 3.1.1" in shown
            await pilot.press("ctrl+o")
            await settle(pilot, lambda: app.workspace.connected)
            assert app.workspace.status.url == broker.ws_url
            assert app.workspace.status.mqtt_version == "3.1.1"
