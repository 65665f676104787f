"""The terminal profile editor renders the shared profile form: a profile carrying every field
survives an unchanged save, an invalid filter is an error at its field, a rename moves the
secrets, and without a keyring the error is at the top with "for this session only".

Profiles are in a real profiles.toml, secrets in a real file keyring (keyrings.alt) or the
headless fail backend; the connection goes to the embedded broker over loopback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Button, Input, Static, TextArea

from explorer.mqtt.packets import Subscription
from explorer.profiles.secret_store import KeyringSecretStore
from explorer.profiles.store import ProfileStore
from explorer.workspace import Workspace
from tests.keyring_support import config_dir, file_keyring, no_keyring
from tests.present.profile_fixtures import FULL_SECRETS, full_profile
from tests.tui.conftest import settle
from tui.app import ExplorerApp
from tui.screens.profiles import ProfilesScreen

__all__ = ["config_dir", "file_keyring"]

SIZE = (160, 48)


def _store(config_dir: Path) -> ProfileStore:
    return ProfileStore(config_dir / "profiles.toml", secrets=KeyringSecretStore())


async def _open(app: ExplorerApp, pilot: Any) -> ProfilesScreen:
    await pilot.press("c")
    await settle(pilot, lambda: isinstance(app.screen, ProfilesScreen))
    screen = app.screen
    assert isinstance(screen, ProfilesScreen)
    return screen


async def test_an_existing_profile_with_every_field_survives_an_unchanged_save(
    config_dir: Path, file_keyring: Any
) -> None:
    store = _store(config_dir)
    store.add(full_profile())
    before = store.get("full")
    text_before = store.path.read_text()
    app = ExplorerApp(Workspace(), autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        await settle(pilot, lambda: screen.editing is not None)
        assert screen.query_one("#profile-name", Input).value == "full"
        assert screen.query_one("#profile-subscriptions", TextArea).text.splitlines()[0] == "a/#:2"
        assert screen.query_one("#profile-ca_file", Input).value == "/etc/ssl/ca.pem"
        await pilot.press("ctrl+s")
        await settle(
            pilot, lambda: "saved profile 'full'" in str(screen.query_one("#profile-result").render())
        )
    after = store.get("full")
    assert after.subscriptions == before.subscriptions
    assert after == before
    assert store.path.read_text() == text_before
    assert store.to_options(after) == full_profile().options


async def test_an_invalid_filter_is_an_error_at_its_field_and_nothing_is_saved(
    config_dir: Path, file_keyring: Any
) -> None:
    store = _store(config_dir)
    store.add(full_profile())
    text_before = store.path.read_text()
    app = ExplorerApp(Workspace(), autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        await settle(pilot, lambda: screen.editing is not None)
        screen.query_one("#profile-subscriptions", TextArea).load_text("a/#:2\na/#/b")
        await pilot.press("ctrl+s")
        error = screen.query_one("#profile-error-subscriptions", Static)
        await settle(pilot, lambda: error.display)
        assert "'a/#/b' is not a valid topic filter" in str(error.render())
        assert str(screen.query_one("#profile-banner", Static).render()).startswith("Subscriptions")
        assert store.path.read_text() == text_before
        screen.query_one("#profile-subscriptions", TextArea).load_text("a/#:2")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: store.get("full").subscriptions == (Subscription("a/#", qos=2),))
        assert not error.display


async def test_renaming_moves_the_secrets_and_removes_the_original(
    config_dir: Path, file_keyring: Any
) -> None:
    store = _store(config_dir)
    store.add(full_profile())
    app = ExplorerApp(Workspace(), autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        await settle(pilot, lambda: screen.editing is not None)
        screen.query_one("#profile-name", Input).value = "moved"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: "moved" in store)
    assert "full" not in store
    assert store.secret_values(store.get("moved")) == FULL_SECRETS
    assert file_keyring.get_password("mqttws-explorer", "profile/full/password") is None


async def test_without_a_keyring_the_error_is_on_top_and_the_password_serves_this_session(
    config_dir: Path,
) -> None:
    store = ProfileStore(config_dir / "profiles.toml", secrets=no_keyring())
    workspace = Workspace(profile_store=store)
    app = ExplorerApp(workspace, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        broker = app.workspace.broker
        assert broker is not None
        assert broker.ws_url is not None
        screen = await _open(app, pilot)
        await pilot.press("ctrl+n")
        screen.query_one("#profile-name", Input).value = "nokeyring"
        screen.query_one("#profile-url", Input).value = broker.ws_url
        screen.query_one("#profile-username", Input).value = "alice"
        screen.query_one("#profile-password", Input).value = "session-canary"
        await pilot.press("ctrl+o")
        banner = screen.query_one("#profile-banner", Static)
        await settle(pilot, lambda: "cannot be kept" in str(banner.render()))
        text = str(banner.render())
        assert text.startswith("The secrets cannot be kept: no usable OS keyring")
        assert "--password-stdin" not in text
        # The banner is at the top of the form, on screen without scrolling.
        assert banner.region.y < screen.query_one("#profile-name", Input).region.y
        session = screen.query_one("#profile-session", Button)
        assert session.display
        await pilot.click("#profile-session")
        await settle(pilot, lambda: app.screen is app.main_screen)
        await settle(pilot, lambda: app.workspace.connected and app.workspace.options is not None
                     and app.workspace.options.password == b"session-canary")  # fmt: skip
    assert "session-canary" not in store.path.read_text()
