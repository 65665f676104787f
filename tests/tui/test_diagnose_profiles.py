"""Trying alternatives in the diagnoser, the first keys in an empty profiles screen, and
the ``(embedded broker)`` mark following the actual connection; against real loopback brokers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.widgets import Input

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions
from explorer.workspace import Workspace
from tests.keyring_support import config_dir
from tests.tui.conftest import settle
from tui.app import ExplorerApp
from tui.screens.diagnose import DiagnoseScreen
from tui.screens.profiles import ProfilesScreen
from tui.widgets.status import StatusLine

__all__ = ["config_dir"]

SIZE = (160, 48)


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    server = Broker(BrokerConfig.ephemeral(demo=False))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def wrong_path(server: Broker) -> str:
    assert server.ws_url is not None
    return server.ws_url.rsplit("/", 1)[0] + "/not-the-mqtt-path"


async def test_try_alternatives_key_lists_the_path_that_would_work(broker: Broker) -> None:
    app = ExplorerApp(Workspace(), autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        app.open_diagnosis(ConnectionOptions(url=wrong_path(broker)))
        await settle(pilot, lambda: isinstance(app.screen, DiagnoseScreen))
        screen = app.screen
        assert isinstance(screen, DiagnoseScreen)
        await pilot.press("ctrl+t")
        await settle(pilot, lambda: screen.diagnosis is not None and not screen.running)
        diagnosis = screen.diagnosis
        assert diagnosis is not None
        assert diagnosis.layer == "http"
        working = [alt for alt in diagnosis.alternatives if alt.ok]
        assert [alt.options_changed for alt in working] == [{"url": broker.ws_url}]
        shown = str(screen.query_one("#diagnose-result").render())
        assert "Would work" in shown
        assert f"url={broker.ws_url}" in shown
        assert shown.index("Would work") < shown.index("Observed")  # in view without scrolling
        # Connect with this: the working path is applied and the app connects with it.
        await pilot.press("ctrl+o")
        await settle(pilot, lambda: app.workspace.connected)
        assert app.workspace.status.url == broker.ws_url
        assert not isinstance(app.screen, DiagnoseScreen)


async def test_try_alternatives_button_runs_the_exploring_probe(broker: Broker) -> None:
    app = ExplorerApp(Workspace(), autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        app.open_diagnosis(ConnectionOptions(url=wrong_path(broker)))
        await settle(pilot, lambda: isinstance(app.screen, DiagnoseScreen))
        screen = app.screen
        assert isinstance(screen, DiagnoseScreen)
        await pilot.pause()
        await pilot.click("#explore")
        await settle(pilot, lambda: screen.diagnosis is not None and not screen.running)
        assert screen.diagnosis is not None
        assert any(alt.ok for alt in screen.diagnosis.alternatives)


async def test_an_empty_profiles_screen_types_into_the_name_field(config_dir: Path) -> None:
    app = ExplorerApp(Workspace(), autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, ProfilesScreen))
        await pilot.press("l", "a", "b")
        assert app.screen.query_one("#profile-name", Input).value == "lab"


async def test_the_embedded_mark_follows_the_connection_not_the_broker(broker: Broker) -> None:
    app = ExplorerApp(Workspace(), demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        status = app.main_screen.query_one(StatusLine)
        await settle(pilot, lambda: "(embedded broker)" in str(status.render()))
        embedded_options = app.workspace.options
        assert embedded_options is not None
        other_url = broker.ws_url
        assert other_url is not None

        assert await app.connect_to(ConnectionOptions(url=other_url), ())
        await settle(pilot, lambda: other_url in str(status.render()))
        assert not app.workspace.status.embedded
        assert "(embedded broker)" not in str(status.render())

        await app.workspace.disconnect()
        assert not app.workspace.status.embedded

        assert await app.connect_to(embedded_options, ())
        await settle(pilot, lambda: "(embedded broker)" in str(status.render()))
        assert app.workspace.status.embedded
