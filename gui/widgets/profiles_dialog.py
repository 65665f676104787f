"""The profiles dialog: create, edit, delete, import and use connection profiles.

Profiles live in the shared ``profiles.toml`` (:class:`explorer.profiles.store.ProfileStore`);
a password typed here goes to the keyring through the store, never into the file. An
empty password field keeps the stored password; "Forget password" deletes it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.client.options import ConnectionOptions, parse_url
from explorer.errors import ExplorerError
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Subscription
from explorer.profiles.format import Profile, ProfileName, check_name
from explorer.profiles.importers import apply_import, read_import_file
from explorer.profiles.store import ProfileStore
from explorer.workspace import DEFAULT_SUBSCRIPTIONS

__all__ = ["ProfilesDialog"]

_VERSIONS = {"3.1.1": ProtocolVersion.V311, "5": ProtocolVersion.V5, "3.1": ProtocolVersion.V31}


class ProfilesDialog(QDialog):
    """Lists profiles on the left, edits the selected one on the right.

    Signals:
        connectRequested(ConnectionOptions, tuple): options (secrets fetched) and the
            profile's subscriptions as ``(filter, qos)`` pairs.
    """

    connectRequested = Signal(object, object)

    def __init__(self, store: ProfileStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connection profiles")
        self.resize(720, 440)
        self.store = store
        self.list = QListWidget()
        self.list.currentTextChanged.connect(self._selected)
        self.name = QLineEdit()
        self.url = QLineEdit()
        self.url.setPlaceholderText("wss://broker.example.com/mqtt")
        self.version = QComboBox()
        self.version.addItems(list(_VERSIONS))
        self.client_id = QLineEdit()
        self.client_id.setPlaceholderText("generated when empty")
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.forget_password = QCheckBox("Forget the stored password")
        self.keep_alive = QSpinBox()
        self.keep_alive.setRange(0, 65535)
        self.keep_alive.setValue(60)
        self.subscriptions = QLineEdit()
        self.subscriptions.setPlaceholderText("# (comma-separated filters)")
        self.notes = QLineEdit()
        self.message = QLabel("")
        self.message.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("URL", self.url)
        form.addRow("MQTT version", self.version)
        form.addRow("Client id", self.client_id)
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        form.addRow("", self.forget_password)
        form.addRow("Keep alive (s)", self.keep_alive)
        form.addRow("Subscriptions", self.subscriptions)
        form.addRow("Notes", self.notes)

        new = QPushButton("New")
        new.clicked.connect(self.new_profile)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save)
        delete = QPushButton("Delete")
        delete.clicked.connect(self.delete)
        import_button = QPushButton("Import…")
        import_button.clicked.connect(self._import_dialog)
        self.connect_button = QPushButton("Connect")
        self.connect_button.clicked.connect(self.use)
        buttons = QHBoxLayout()
        for button in (new, self.save_button, delete, import_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.connect_button)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)

        right = QVBoxLayout()
        right.addLayout(form)
        right.addWidget(self.message)
        right.addStretch(1)
        right.addLayout(buttons)
        body = QHBoxLayout()
        body.addWidget(self.list, 1)
        body.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(body)
        layout.addWidget(close)
        self.reload()

    # -- list ------------------------------------------------------------------------

    def reload(self, select: str | None = None) -> None:
        try:
            names = self.store.names()
        except ExplorerError as exc:
            self.message.setText(str(exc))
            names = []
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addItems(names)
        self.list.blockSignals(False)
        if select and select in names:
            self.list.setCurrentRow(names.index(ProfileName(select)))
        elif names:
            self.list.setCurrentRow(0)
        else:
            self.new_profile()

    def _selected(self, name: str) -> None:
        if not name:
            return
        try:
            profile = self.store.get(name)
        except ExplorerError as exc:
            self.message.setText(str(exc))
            return
        o = profile.options
        self.name.setText(profile.name)
        self.url.setText(o.url)
        self.version.setCurrentText({v: k for k, v in _VERSIONS.items()}.get(o.mqtt_version, "3.1.1"))
        self.client_id.setText(o.client_id)
        self.username.setText(o.username or "")
        self.password.clear()
        stored = "password" in profile.secret_refs
        self.password.setPlaceholderText("stored in the keyring" if stored else "")
        self.forget_password.setChecked(False)
        self.forget_password.setEnabled(stored)
        self.keep_alive.setValue(o.keep_alive)
        self.subscriptions.setText(", ".join(s.topic_filter for s in profile.subscriptions))
        self.notes.setText(profile.notes)
        self.message.setText("")

    def new_profile(self) -> None:
        self.list.clearSelection()
        for field in (self.name, self.url, self.client_id, self.username, self.password, self.notes):
            field.clear()
        self.password.setPlaceholderText("")
        self.subscriptions.setText("#")
        self.version.setCurrentText("3.1.1")
        self.keep_alive.setValue(60)
        self.forget_password.setChecked(False)
        self.forget_password.setEnabled(False)
        self.name.setFocus()

    # -- edits -----------------------------------------------------------------------

    def _form_profile(self) -> Profile:
        name = check_name(self.name.text().strip())
        url = self.url.text().strip()
        parse_url(url)
        options = ConnectionOptions(
            url=url,
            mqtt_version=_VERSIONS[self.version.currentText()],
            client_id=self.client_id.text().strip(),
            username=self.username.text() or None,
            keep_alive=self.keep_alive.value(),
        )
        if self.password.text():
            options = options.with_changes(password=self.password.text().encode("utf-8"))
        filters = [f.strip() for f in self.subscriptions.text().split(",") if f.strip()]
        return Profile(
            name=ProfileName(name),
            options=options,
            subscriptions=tuple(Subscription(f) for f in filters),
            notes=self.notes.text().strip(),
        )

    def save(self) -> Profile | None:
        """Save the form as a new profile or over the one of the same name."""
        try:
            profile = self._form_profile()
            if profile.name in self.store:
                previous = self.store.get(profile.name)
                refs = dict(previous.secret_refs)
                if self.forget_password.isChecked():
                    refs.pop("password", None)
                profile = replace(
                    previous,
                    options=_merge_form(previous.options, profile.options),
                    subscriptions=profile.subscriptions,
                    notes=profile.notes,
                    secret_refs=refs,
                )
                saved = self.store.update(profile)
            else:
                saved = self.store.add(profile)
        except ExplorerError as exc:
            self.message.setText(str(exc))
            return None
        self.message.setText(f"Saved profile {saved.name!r}.")
        self.reload(select=saved.name)
        return saved

    def delete(self) -> None:
        item: QListWidgetItem | None = self.list.currentItem()  # None when nothing is selected
        if item is None:
            return
        try:
            self.store.remove(item.text())
        except ExplorerError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(f"Deleted profile {item.text()!r}.")
        self.reload()

    def _import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import profiles", "", "Profiles (*.toml *.json);;All files (*)"
        )
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> None:
        """Import an mqttws-explorer export, an MQTTX export or MQTT Explorer settings."""
        try:
            result = read_import_file(path, cert_dir=self.store.path.parent / "certs")
            report = apply_import(self.store, result)
        except ExplorerError as exc:
            self.message.setText(str(exc))
            return
        lines = [f"Imported {len(report.added) + len(report.replaced)} profiles from {result.format}."]
        lines += [f"{name}: {reason}" for name, reason in report.not_imported]
        lines += result.warnings
        self.reload(select=report.added[0] if report.added else None)
        self.message.setText("\n".join(lines))

    def use(self) -> None:
        """Connect with the selected profile (secrets fetched from the keyring)."""
        item: QListWidgetItem | None = self.list.currentItem()  # None when nothing is selected
        if item is None:
            self.message.setText("Select or save a profile first.")
            return
        try:
            profile = self.store.get(item.text())
            options = self.store.to_options(profile)
        except ExplorerError as exc:
            self.message.setText(str(exc))
            return
        subscriptions = tuple((s.topic_filter, int(s.qos)) for s in profile.subscriptions)
        self.connectRequested.emit(options, subscriptions or DEFAULT_SUBSCRIPTIONS)
        self.accept()


def _merge_form(stored: ConnectionOptions, form: ConnectionOptions) -> ConnectionOptions:
    """The stored options with the fields this dialog edits replaced by the form's."""
    return stored.with_changes(
        url=form.url,
        mqtt_version=form.mqtt_version,
        client_id=form.client_id,
        username=form.username,
        keep_alive=form.keep_alive,
        password=form.password,
    )
