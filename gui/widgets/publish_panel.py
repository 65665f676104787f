"""The publish panel: topic, payload, QoS, retain, MQTT 5 properties, saved presets.

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
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.errors import ExplorerError
from explorer.present.decoded import PUBLISH_CHOICES, with_codec
from explorer.present.publish import MQTT5_SECTION, PublishForm
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
        self.codec = QComboBox()
        for name, label in PUBLISH_CHOICES:
            self.codec.addItem(label, name)
        self.message_type = QLineEdit()
        self.message_type.setPlaceholderText("Protobuf message type, e.g. acme.Telemetry (with --proto)")
        self.retain = QCheckBox("Retain")
        self.content_type = QLineEdit()
        self.content_type.setPlaceholderText("e.g. application/json")
        self.expiry = QLineEdit()
        self.expiry.setPlaceholderText("seconds")
        self.response_topic = QLineEdit()
        self.response_topic.setPlaceholderText("reply/to/topic")
        self.correlation = QLineEdit()
        self.correlation.setPlaceholderText("request id")
        self.user_properties = QPlainTextEdit()
        self.user_properties.setPlaceholderText("name=value, one per line")
        self.user_properties.setFixedHeight(self.fontMetrics().lineSpacing() * 4)
        self.utf8 = QCheckBox("Payload is UTF-8 text (payload format indicator)")
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
        form.addRow("Encode as", self.codec)
        form.addRow("Message type", self.message_type)
        mqtt5 = QGroupBox(MQTT5_SECTION)
        mqtt5.setCheckable(True)
        mqtt5.setChecked(False)  # folded until wanted; its values still apply when folded
        self.mqtt5_box = mqtt5
        props = QFormLayout()
        props.addRow("Content type", self.content_type)
        props.addRow("Message expiry", self.expiry)
        props.addRow("Response topic", self.response_topic)
        props.addRow("Correlation data", self.correlation)
        props.addRow("User properties", self.user_properties)
        props.addRow(self.utf8)
        inner = QWidget()
        inner.setLayout(props)
        box_layout = QVBoxLayout(mqtt5)
        box_layout.setContentsMargins(4, 4, 4, 4)
        box_layout.addWidget(inner)
        mqtt5.toggled.connect(inner.setVisible)
        inner.setVisible(False)
        presets = QHBoxLayout()
        presets.addWidget(self.saved, 1)
        presets.addWidget(save)
        presets.addWidget(delete)
        layout = QVBoxLayout(self)
        layout.addLayout(presets)
        layout.addLayout(form)
        layout.addWidget(mqtt5)
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
            form = PublishForm.from_saved(self.store.get(self.saved.itemText(index)))
        except ExplorerError as exc:
            self.message.emit(str(exc))
            return
        self.topic.setText(form.topic)
        self.payload.setPlainText(form.payload)
        self.qos.setCurrentIndex(form.qos)
        self.retain.setChecked(form.retain)
        self.content_type.setText(form.content_type)
        self.user_properties.setPlainText(form.user_properties)

    def form(self) -> PublishForm:
        """The panel's values as typed; :class:`PublishForm` checks them."""
        return PublishForm(
            topic=self.topic.text(),
            payload=self.payload.toPlainText(),
            qos=self.qos.currentIndex(),
            retain=self.retain.isChecked(),
            content_type=self.content_type.text(),
            message_expiry=self.expiry.text(),
            response_topic=self.response_topic.text(),
            correlation_data=self.correlation.text(),
            user_properties=self.user_properties.toPlainText(),
            payload_is_utf8=self.utf8.isChecked(),
        )

    def current(self, name: str = "") -> SavedMessage:
        return SavedMessage(name=name, **self.form().saved_fields())

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
        try:
            message = self.form().message()
            codec = self.codec.currentData()
            message_type = self.message_type.text().strip() or None
            message = with_codec(
                message, self.bridge.workspace.payloads.registry, str(codec or "raw"), message_type
            )
        except ExplorerError as exc:
            self.message.emit(str(exc))
            return
        self.bridge.spawn(
            self.bridge.publish(
                message.topic, message.payload, message.qos, message.retain, message.properties
            )
        )
