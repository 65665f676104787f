"""The profiles dialog: create, edit, rename, delete, import and use connection profiles.

It renders the presentation layer's profile form (:mod:`explorer.present.profileform`):
one tab per section, one widget per field, the field's error under it, and the banner at
the top (with "Use for this session only" when the keyring refuses). Saving, renaming and
connecting are :class:`~explorer.present.profileedit.ProfileEditor`'s, the same flow as the
terminal explorer's; a typed secret goes to the keyring through the store, never into the
file. An empty secret field keeps the stored value; "forget" deletes it.
"""

from __future__ import annotations

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
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.errors import ExplorerError
from explorer.present.profileedit import ProfileEditor, SaveResult
from explorer.present.profileform import FIELDS, SECTIONS, FieldKind, FormField, ProfileForm
from explorer.profiles.format import Profile, ProfileName
from explorer.profiles.importers import apply_import, read_import_file
from explorer.profiles.store import ProfileStore
from explorer.workspace import DEFAULT_SUBSCRIPTIONS

__all__ = ["ProfilesDialog"]

_ERROR_STYLE = "color:#d03030"
FieldWidget = QLineEdit | QCheckBox | QComboBox | QPlainTextEdit


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
        self.resize(860, 560)
        self.store = store
        self.editor = ProfileEditor(store)
        self.form = ProfileForm.new()
        self.list = QListWidget()
        self.list.currentTextChanged.connect(self._selected)
        self.widgets: dict[str, FieldWidget] = {}
        self.forget: dict[str, QCheckBox] = {}
        self.errors: dict[str, QLabel] = {}
        self.banner = QLabel("")
        self.banner.setObjectName("profile-banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(_ERROR_STYLE)
        self.banner.setVisible(False)
        self.session_button = QPushButton("Use this password for this session only")
        self.session_button.setVisible(False)
        self.session_button.clicked.connect(self.use_for_session)
        self.tabs = QTabWidget()
        layouts: dict[str, QFormLayout] = {}
        for section in SECTIONS:
            page = QWidget()
            layouts[section] = QFormLayout(page)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setWidget(page)
            self.tabs.addTab(scroll, section)
        for item in FIELDS:
            self._add_field(layouts[item.section], item)
        self.message = QLabel("")
        self.message.setWordWrap(True)

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

        top = QHBoxLayout()
        top.addWidget(self.banner, 1)
        top.addWidget(self.session_button)
        right = QVBoxLayout()
        right.addLayout(top)
        right.addWidget(self.tabs, 1)
        right.addWidget(self.message)
        right.addLayout(buttons)
        body = QHBoxLayout()
        body.addWidget(self.list, 1)
        body.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(body)
        layout.addWidget(close)
        self.reload()

    # -- fields ----------------------------------------------------------------------

    def _add_field(self, layout: QFormLayout, item: FormField) -> None:
        widget: FieldWidget
        if item.kind is FieldKind.CHECK:
            widget = QCheckBox(item.label)
        elif item.kind is FieldKind.CHOICE:
            widget = QComboBox()
            widget.addItems([choice or "(not sent)" for choice in item.choices])
        elif item.kind is FieldKind.LINES:
            widget = QPlainTextEdit()
            widget.setTabChangesFocus(True)
            widget.setPlaceholderText(item.placeholder)
            widget.setFixedHeight(widget.fontMetrics().lineSpacing() * 4 + 12)
        else:
            widget = QLineEdit()
            widget.setPlaceholderText(item.placeholder)
            if item.kind is FieldKind.SECRET:
                widget.setEchoMode(QLineEdit.EchoMode.Password)
        widget.setObjectName(f"profile-{item.key}")
        self.widgets[item.key] = widget
        error = QLabel("")
        error.setStyleSheet(_ERROR_STYLE)
        error.setWordWrap(True)
        error.setVisible(False)
        self.errors[item.key] = error
        cell = QVBoxLayout()
        cell.setContentsMargins(0, 0, 0, 0)
        if item.file and isinstance(widget, QLineEdit):
            row = QHBoxLayout()
            row.addWidget(widget, 1)
            choose = QPushButton("Choose…")
            choose.setObjectName(f"profile-choose-{item.key}")
            choose.clicked.connect(lambda _checked=False, key=item.key: self.choose_file(key))
            row.addWidget(choose)
            cell.addLayout(row)
        else:
            cell.addWidget(widget)
        if item.kind is FieldKind.SECRET:
            forget = QCheckBox(f"Forget the stored {item.label.lower()}")
            self.forget[item.secret] = forget
            cell.addWidget(forget)
        cell.addWidget(error)
        holder = QWidget()
        holder.setLayout(cell)
        layout.addRow("" if item.kind is FieldKind.CHECK else item.label, holder)

    def choose_file(self, key: str) -> None:
        """Fill a path field (CA file, client certificate and key, key log) with a file dialog."""
        field = self._line(key)
        label = next(item.label for item in FIELDS if item.key == key)
        if key == "keylog_file":
            path, _ = QFileDialog.getSaveFileName(self, label, field.text())
        else:
            path, _ = QFileDialog.getOpenFileName(
                self, label, field.text(), "PEM files (*.pem *.crt *.key *.cer);;All files (*)"
            )
        if path:
            field.setText(path)

    # The fields tests and the window reach by name.
    @property
    def name(self) -> QLineEdit:
        return self._line("name")

    @property
    def url(self) -> QLineEdit:
        return self._line("url")

    @property
    def username(self) -> QLineEdit:
        return self._line("username")

    @property
    def password(self) -> QLineEdit:
        return self._line("password")

    @property
    def subscriptions(self) -> QPlainTextEdit:
        widget = self.widgets["subscriptions"]
        assert isinstance(widget, QPlainTextEdit)
        return widget

    def _line(self, key: str) -> QLineEdit:
        widget = self.widgets[key]
        assert isinstance(widget, QLineEdit)
        return widget

    def show_form(self, form: ProfileForm) -> None:
        """Put ``form``'s values in the widgets."""
        self.form = form
        for item in FIELDS:
            widget = self.widgets[item.key]
            value = form.values.get(item.key, "")
            if isinstance(widget, QCheckBox):
                widget.setChecked(value is True)
            elif isinstance(widget, QComboBox):
                text = str(value)
                widget.setCurrentIndex(item.choices.index(text) if text in item.choices else 0)
            elif isinstance(widget, QPlainTextEdit):
                widget.setPlainText(str(value))
            else:
                widget.setText(str(value))
                if item.kind is FieldKind.SECRET:
                    widget.setPlaceholderText(form.secret_placeholder(item))
        for kind, box in self.forget.items():
            box.setChecked(kind in form.forget)
            box.setEnabled(form.stored(kind))
        self._show_errors({})

    def read_form(self) -> ProfileForm:
        """The widgets' values in the form (the profile it was opened on is kept)."""
        form = self.form
        for item in FIELDS:
            widget = self.widgets[item.key]
            if isinstance(widget, QCheckBox):
                form.set(item.key, widget.isChecked())
            elif isinstance(widget, QComboBox):
                form.set(item.key, item.choices[widget.currentIndex()])
            elif isinstance(widget, QPlainTextEdit):
                form.set(item.key, widget.toPlainText())
            else:
                form.set(item.key, widget.text())
        form.forget = {kind for kind, box in self.forget.items() if box.isChecked()}
        return form

    def _show_errors(self, errors: dict[str, str]) -> None:
        first: str | None = None
        for key, label in self.errors.items():
            text = errors.get(key, "")
            label.setText(text)
            label.setVisible(bool(text))
            if text and first is None:
                first = key
        if first is not None:
            section = next(item.section for item in FIELDS if item.key == first)
            self.tabs.setCurrentIndex(SECTIONS.index(section))

    def _show_result(self, result: SaveResult) -> None:
        self._show_errors(result.errors)
        self.banner.setText(result.banner or "")
        self.banner.setVisible(result.banner is not None)
        self.session_button.setVisible(result.keyring_failed)
        self.message.setText(result.message)

    # -- list ------------------------------------------------------------------------

    def reload(self, select: str | None = None) -> None:
        try:
            names = self.store.names()
        except ExplorerError as exc:
            self._show_result(SaveResult(banner=str(exc)))
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
            form = self.editor.open(name)
        except ExplorerError as exc:
            self._show_result(SaveResult(banner=str(exc)))
            return
        self.show_form(form)
        self._show_result(SaveResult())

    def new_profile(self) -> None:
        self.list.clearSelection()
        self.show_form(ProfileForm.new())
        self._show_result(SaveResult())
        self.tabs.setCurrentIndex(0)
        self.name.setFocus()

    # -- edits -----------------------------------------------------------------------

    def save(self, *, session_only: bool = False) -> Profile | None:
        """Save the form: a new profile, changes, or a rename of the profile it shows."""
        result = self.editor.save(self.read_form(), session_only=session_only)
        return self._after_save(result)

    def _after_save(self, result: SaveResult) -> Profile | None:
        if result.profile is not None:
            self.reload(select=result.profile.name)
        self._show_result(result)
        return result.profile

    def use_for_session(self) -> None:
        """The keyring refused: save without the typed secrets and connect with them."""
        self.use(session_only=True)

    def delete(self) -> None:
        item: QListWidgetItem | None = self.list.currentItem()  # None when nothing is selected
        if item is None:
            return
        result = self.editor.delete(item.text())
        if result.ok:
            self.reload()
        self._show_result(result)

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
            self._show_result(SaveResult(banner=str(exc)))
            return
        lines = [f"Imported {len(report.added) + len(report.replaced)} profiles from {result.format}."]
        lines += [f"{name}: {reason}" for name, reason in report.not_imported]
        lines += result.warnings
        self.reload(select=report.added[0] if report.added else None)
        self.message.setText("\n".join(lines))

    def use(self, *, session_only: bool = False) -> None:
        """Save the form, then connect with it (secrets from the keyring, or this session's)."""
        result = self.editor.connect(self.read_form(), session_only=session_only)
        profile = self._after_save(result)
        options = result.session_options
        if profile is None or options is None or not result.ok:
            return
        subscriptions = tuple((s.topic_filter, int(s.qos)) for s in profile.subscriptions)
        self.connectRequested.emit(options, subscriptions or DEFAULT_SUBSCRIPTIONS)
        self.accept()
