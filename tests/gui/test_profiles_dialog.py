"""The desktop profile editor renders the shared profile form: a profile carrying every field
survives an unchanged save, an invalid filter is an error at its field, a rename moves the
secrets, and without a keyring the error is on top with "for this session only".

Profiles are in a real profiles.toml, secrets in a real file keyring (keyrings.alt) or the
headless fail backend; the connection goes to the embedded broker over loopback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import qasync
from PySide6.QtCore import Qt

from explorer.mqtt.packets import Subscription
from explorer.profiles.secret_store import KeyringSecretStore
from explorer.profiles.store import ProfileStore
from explorer.workspace import Workspace
from gui.bridge import WorkspaceBridge
from gui.widgets.main_window import MainWindow
from gui.widgets.profiles_dialog import ProfilesDialog
from tests.gui.conftest import wait_for_batch, wait_signal
from tests.keyring_support import no_keyring
from tests.present.profile_fixtures import FULL_SECRETS, full_profile


def _store(config_dir: Path) -> ProfileStore:
    return ProfileStore(config_dir / "profiles.toml", secrets=KeyringSecretStore())


def test_an_existing_profile_with_every_field_survives_an_unchanged_save(
    config_dir: Path, file_keyring: Any, qtbot: Any
) -> None:
    store = _store(config_dir)
    store.add(full_profile())
    before = store.get("full")
    text_before = store.path.read_text()
    dialog = ProfilesDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.list.currentItem().text() == "full"
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    after = store.get("full")
    assert after.subscriptions == before.subscriptions  # a/# stays at QoS 2
    assert not dialog.banner.isVisible(), dialog.banner.text()
    assert dialog.subscriptions.toPlainText().splitlines()[0] == "a/#:2"
    assert after == before
    assert store.path.read_text() == text_before
    assert store.to_options(after) == full_profile().options


def test_an_invalid_filter_is_an_error_at_its_field_and_nothing_is_saved(
    config_dir: Path, file_keyring: Any, qtbot: Any
) -> None:
    store = _store(config_dir)
    store.add(full_profile())
    text_before = store.path.read_text()
    dialog = ProfilesDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.subscriptions.setPlainText("a/#:2\na/#/b")
    assert dialog.save() is None
    error = dialog.errors["subscriptions"]
    assert error.isVisible()
    assert "'a/#/b' is not a valid topic filter" in error.text()
    assert dialog.banner.isVisible()
    assert store.path.read_text() == text_before
    # The TUI's syntax is the GUI's: a/#:2 is a filter with QoS 2.
    dialog.subscriptions.setPlainText("a/#:2")
    assert dialog.save() is not None
    assert store.get("full").subscriptions == (Subscription("a/#", qos=2),)


def test_renaming_in_the_dialog_moves_the_secrets_and_removes_the_original(
    config_dir: Path, file_keyring: Any, qtbot: Any
) -> None:
    store = _store(config_dir)
    store.add(full_profile())
    dialog = ProfilesDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name.setText("moved")
    assert dialog.save() is not None
    assert [dialog.list.item(row).text() for row in range(dialog.list.count())] == ["moved"]
    assert store.secret_values(store.get("moved")) == FULL_SECRETS
    assert file_keyring.get_password("mqttws-explorer", "profile/full/password") is None


def test_without_a_keyring_the_error_is_on_top_and_the_password_serves_this_session(
    window: MainWindow, qloop: qasync.QEventLoop, config_dir: Path, qtbot: Any
) -> None:
    store = ProfileStore(config_dir / "profiles.toml", secrets=no_keyring())

    async def flow() -> tuple[Any, ...]:
        options = await window.workspace.start_embedded(demo=False)
        dialog = ProfilesDialog(store, window)
        dialog.connectRequested.connect(window.connect_options)
        qtbot.addWidget(dialog)
        dialog.show()
        dialog.name.setText("nokeyring")
        dialog.url.setText(options.url)
        dialog.username.setText("alice")
        dialog.password.setText("session-canary")
        dialog.use()
        banner = dialog.banner.text()
        shown = (dialog.banner.isVisible(), dialog.session_button.isVisible())
        qtbot.mouseClick(dialog.session_button, Qt.MouseButton.LeftButton)
        (url,) = await wait_signal(window.bridge.connected)
        await wait_for_batch(window.bridge, lambda: bool(window.workspace.subscriptions))
        return banner, shown, url

    banner, shown, url = qloop.run_until_complete(flow())
    assert shown == (True, True)
    assert banner.startswith("The secrets cannot be kept: no usable OS keyring")
    assert "--password-stdin" not in banner
    assert window.workspace.options is not None
    assert window.workspace.options.password == b"session-canary"
    assert url.startswith("ws://127.0.0.1:")
    assert "session-canary" not in store.path.read_text()


def test_the_window_opens_the_shared_form(window: MainWindow, config_dir: Path, file_keyring: Any) -> None:
    window.open_profiles()
    dialog = window.profiles_dialog
    assert isinstance(dialog, ProfilesDialog)
    assert {"ca_file", "proxy", "headers", "will_topic", "session_expiry_interval"} <= set(dialog.widgets)
    assert isinstance(window.bridge, WorkspaceBridge)
    assert isinstance(window.workspace, Workspace)


def test_the_ca_file_is_chosen_with_a_file_dialog_and_saved(
    config_dir: Path, file_keyring: Any, qtbot: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from PySide6.QtWidgets import QFileDialog, QPushButton

    ca = tmp_path / "self-signed-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    # The modal file dialog cannot be driven offscreen: it answers with the file a user picks.
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kw: (str(ca), ""))
    store = _store(config_dir)
    dialog = ProfilesDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.new_profile()
    dialog.name.setText("selfsigned")
    dialog.url.setText("wss://127.0.0.1:8884/mqtt")
    button = dialog.findChild(QPushButton, "profile-choose-ca_file")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert dialog.save() is not None
    assert store.get("selfsigned").options.tls.ca_file == str(ca)
