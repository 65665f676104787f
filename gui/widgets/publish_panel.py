"""The publish panel: topic, payload, QoS, retain, MQTT 5 content type, saved presets.

Publishing goes through the bridge (``WorkspaceBridge.publish``); presets are the
Workspace's :class:`~explorer.workspace.SavedMessages`, shared with the terminal UI.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.errors import ExplorerError
from explorer.mqtt.packets import NO_PROPERTIES, Properties
from explorer.workspace import SavedMessage, SavedMessages
from gui.bridge import WorkspaceBridge

__all__ = ["PublishPanel"]


class PublishPanel(QWidget):
    """Compose and publish a message; save and recall presets."""

    message = Signal(str)

    def __init__(self, bridge: WorkspaceBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.topic = QLineEdit()
        self.topic.setPlaceholderText("topic/name")
        self.payload = QPlainTextEdit()
        self.payload.setPlaceholderText('{"hello": "world"}')
        self.payload.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.qos = QComboBox()
        self.qos.addItems(["0", "1", "2"])
        self.retain = QCheckBox("Retain")
        self.content_type = QLineEdit()
        self.content_type.setPlaceholderText("MQTT 5 only, e.g. application/json")
        self.publish_button = QPushButton("Publish")
        self.publish_button.setDefault(True)
        self.publish_button.clicked.connect(self.publish)
        self.saved = QComboBox()
        self.saved.setPlaceholderText("Saved messages")
        self.saved.activated.connect(self._load_saved)
        save = QPushButton("Save…")
        save.clicked.connect(self.save_current)
        delete = QPushButton("Delete")
        delete.clicked.connect(self._delete_saved)

        form = QFormLayout()
        form.addRow("Topic", self.topic)
        options = QHBoxLayout()
        options.addWidget(self.qos)
        options.addWidget(self.retain)
        options.addStretch(1)
        form.addRow("QoS", options)
        form.addRow("Content type", self.content_type)
        presets = QHBoxLayout()
        presets.addWidget(self.saved, 1)
        presets.addWidget(save)
        presets.addWidget(delete)
        layout = QVBoxLayout(self)
        layout.addLayout(presets)
        layout.addLayout(form)
        layout.addWidget(self.payload, 1)
        layout.addWidget(self.publish_button)
        self.reload_saved()

    @property
    def store(self) -> SavedMessages:
        return self.bridge.workspace.saved_messages

    def reload_saved(self) -> None:
        self.saved.clear()
        try:
            names = [item.name for item in self.store]
        except ExplorerError as exc:
            self.message.emit(str(exc))
            names = []
        self.saved.addItems(names)
        self.saved.setCurrentIndex(-1)

    def _load_saved(self, index: int) -> None:
        try:
            item = self.store.get(self.saved.itemText(index))
        except ExplorerError as exc:
            self.message.emit(str(exc))
            return
        self.topic.setText(item.topic)
        self.payload.setPlainText(item.payload.decode("utf-8", "replace"))
        self.qos.setCurrentIndex(item.qos)
        self.retain.setChecked(item.retain)
        self.content_type.setText(item.content_type or "")

    def current(self, name: str = "") -> SavedMessage:
        content_type = self.content_type.text().strip() or None
        return SavedMessage(
            name=name,
            topic=self.topic.text().strip(),
            payload=self.payload.toPlainText().encode("utf-8"),
            qos=self.qos.currentIndex(),
            retain=self.retain.isChecked(),
            content_type=content_type,
        )

    def save_current(self, name: str | None = None) -> None:
        if not isinstance(name, str) or not name:
            name, ok = QInputDialog.getText(self, "Save message", "Name:", text=self.topic.text())
            if not ok or not name.strip():
                return
        try:
            self.store.save(self.current(name.strip()))
        except ExplorerError as exc:
            self.message.emit(str(exc))
            return
        self.reload_saved()
        self.saved.setCurrentText(name.strip())
        self.message.emit(f"saved message {name.strip()!r}")

    def _delete_saved(self) -> None:
        name = self.saved.currentText()
        if not name:
            return
        try:
            self.store.remove(name)
        except ExplorerError as exc:
            self.message.emit(str(exc))
        self.reload_saved()

    def publish(self) -> None:
        item = self.current()
        if not item.topic:
            self.message.emit("give a topic to publish to")
            return
        properties: Properties = NO_PROPERTIES
        if item.content_type:
            properties = Properties(content_type=item.content_type)
        self.bridge.spawn(self.bridge.publish(item.topic, item.payload, item.qos, item.retain, properties))
