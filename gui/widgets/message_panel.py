"""The message panel: the selected topic's latest (or chosen) message in every view.

Tabs: text, decoded (MessagePack, CBOR, Protobuf, Sparkplug B, images...), JSON tree, hex,
base64, MQTT 5 properties, history, diff against the
previous message, and a chart of the numeric values. Everything shown is made by
``explorer.present.payload`` and ``explorer.model.topictree``; the panel only lays it out. It
follows the newest message unless the user picks one in the history.
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from explorer.codecs.stream import DecodedMessage, MessageDecoder
from explorer.model.topictree import TopicMessage, TopicNode
from explorer.present.decoded import DecodedView
from explorer.present.message import (
    AUTO_CHART_FIELD,
    NO_PROPERTIES,
    chart_view,
    decoded_history_text,
    diff_view,
    history_rows,
    message_header,
    property_rows,
)
from explorer.present.payload import base64_view, json_view, text_view
from explorer.recording.rows import iso_time
from explorer.workspace.export import EPOCH_2001
from gui.widgets.chart import SeriesChart
from gui.widgets.decoded_view import DecodedPanel
from gui.widgets.hexview import HexView
from gui.widgets.json_tree import JsonTree

__all__ = ["MessagePanel"]

_AUTO = AUTO_CHART_FIELD
_DIFF_COLORS = {"added": "#2e9e44", "removed": "#d03030", "hunk": "#2080c0"}


def _stamp(when: float) -> str:
    if when >= EPOCH_2001:  # a file's message: its own date and time (UTC)
        return iso_time(round(when * 1_000_000))
    return f"{time.monotonic() - when:.1f} s ago"


def _mono(widget: QWidget) -> None:
    widget.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))


class MessagePanel(QWidget):
    """Shows one topic's messages; :meth:`show_node` selects, :meth:`refresh` follows."""

    deleteRetainedRequested = Signal(str)

    TABS = ("Text", "Decoded", "JSON", "Hex", "Base64", "Properties", "History", "Diff", "Chart")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.node: TopicNode | None = None
        self.message: TopicMessage | None = None
        self._history: list[TopicMessage] = []
        self._pinned: int | None = None  # history row chosen by the user

        self.title = QLabel("Select a topic")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setWordWrap(True)
        self.meta = QLabel("")
        self.follow = QCheckBox("Follow newest")
        self.follow.setChecked(True)
        self.follow.toggled.connect(self._follow_toggled)

        self.text = QPlainTextEdit(readOnly=True)
        _mono(self.text)
        self.decoded = DecodedPanel()
        self.decoder: MessageDecoder | None = None  # the Workspace's payload decoder, set by the window
        self._decoded_key: tuple[str, bytes, float] | None = None
        self._decoded_message: DecodedMessage | None = None
        self.json = JsonTree()
        self.hex = HexView()
        self.b64 = QPlainTextEdit(readOnly=True)
        _mono(self.b64)
        self.props = QPlainTextEdit(readOnly=True)
        _mono(self.props)
        self.history = QTableWidget(0, 4)
        self.history.setHorizontalHeaderLabels(["Time", "QoS", "Retain", "Payload"])
        self.history.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.history.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.verticalHeader().setVisible(False)
        self.history.itemSelectionChanged.connect(self._history_selected)
        self.diff = QTextEdit(readOnly=True)
        _mono(self.diff)
        self.chart = SeriesChart()
        self.chart_field = QComboBox()
        self.chart_field.currentTextChanged.connect(lambda _text: self._update_chart())
        chart_box = QWidget()
        chart_layout = QVBoxLayout(chart_box)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        field_row = QHBoxLayout()
        field_row.addWidget(QLabel("Field:"))
        field_row.addWidget(self.chart_field, 1)
        chart_layout.addLayout(field_row)
        chart_layout.addWidget(self.chart, 1)

        self.tabs = QTabWidget()
        for name, widget in zip(
            self.TABS,
            (
                self.text,
                self.decoded,
                self.json,
                self.hex,
                self.b64,
                self.props,
                self.history,
                self.diff,
                chart_box,
            ),
            strict=True,
        ):
            self.tabs.addTab(widget, name)
        self.tabs.currentChanged.connect(lambda _i: self._render())

        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.follow)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(head)
        layout.addWidget(self.meta)
        layout.addWidget(self.tabs, 1)

    # -- selection -------------------------------------------------------------------

    def show_node(self, node: TopicNode | None) -> None:
        """Show ``node``'s newest message (or clear the panel)."""
        self.node = node
        self._pinned = None
        self.follow.setChecked(True)
        self.chart_field.blockSignals(True)
        self.chart_field.clear()
        self.chart_field.blockSignals(False)
        self.refresh(force=True)

    def show_message(self, node: TopicNode, message: TopicMessage) -> None:
        """Show one given message of ``node`` (a search result), held there."""
        self.node = node
        self.follow.blockSignals(True)
        self.follow.setChecked(False)
        self.follow.blockSignals(False)
        self._history = node.history()
        self.message = message
        self._pinned = None
        self._fill_fields()
        self._render()

    def refresh(self, force: bool = False) -> None:
        """Called per batch when the node changed (cheap when following is off)."""
        node = self.node
        if node is None or node.parent is None:
            self.node = None
            self.message = None
            self.title.setText("Select a topic")
            self.meta.setText("")
            for view in (self.text, self.b64, self.props):
                view.setPlainText("")
            self.hex.set_data(b"")
            self.diff.setPlainText("")
            self.history.setRowCount(0)
            self.chart.set_series([])
            return
        if not force and not self.follow.isChecked():
            return
        self._history = node.history()
        self.message = self._history[-1] if self._history else None
        self._pinned = None
        self._fill_fields()
        self._render()

    def _follow_toggled(self, on: bool) -> None:
        if on:
            self.refresh(force=True)

    def _history_selected(self) -> None:
        rows = self.history.selectionModel().selectedRows()
        if not rows:
            return
        index = len(self._history) - 1 - rows[0].row()
        if 0 <= index < len(self._history) and index != len(self._history) - 1:
            self.follow.blockSignals(True)
            self.follow.setChecked(False)
            self.follow.blockSignals(False)
            self._pinned = index
            self.message = self._history[index]
            self._render(keep_history=True)

    # -- rendering -------------------------------------------------------------------

    def _fill_fields(self) -> None:
        if self.chart_field.count():
            return
        fields = chart_view(self._history[-1:], decoder=self.decoder).fields
        self.chart_field.blockSignals(True)
        self.chart_field.addItem(_AUTO)
        self.chart_field.addItems(fields)
        self.chart_field.blockSignals(False)

    def _render(self, keep_history: bool = False) -> None:
        node, message = self.node, self.message
        if node is None:
            return
        retained = " · retained" if node.retained else ""
        self.title.setText(f"<b>{html.escape(node.topic)}</b>{retained}")
        if message is None:
            self.meta.setText(f"{node.subtree_count} messages below this level")
            return
        index = self._pinned if self._pinned is not None else len(self._history) - 1
        header = message_header(
            node,
            message,
            number=index + 1,
            kept=len(self._history),
            live=self.follow.isChecked(),
            stamp=_stamp,
        )
        self.meta.setText(f"{header.position} · {header.detail}")
        payload = message.payload
        current = self.tabs.currentIndex()
        name = self.TABS[current]
        # Only the visible tab is rendered: a hex dump of 64 KiB at 20 Hz is not free.
        if name == "Decoded":
            decoded = self._decoded(message)
            if decoded is None:
                self.decoded.show_view(None, payload)
            else:
                shown = DecodedView.of(decoded.decoded, notices=decoded.notices, topic=message.topic)
                self.decoded.show_view(shown, payload)
        elif name == "Text":
            view = text_view(payload)
            self.text.setPlainText(view.text + (f"\n{view.marker}" if view.truncated else ""))
        elif name == "JSON":
            parsed = json_view(payload)
            if parsed is None:
                self.json.clear()
            else:
                self.json.set_value(parsed.value)
        elif name == "Hex":
            self.hex.set_data(payload)
        elif name == "Base64":
            encoded, truncated = base64_view(payload)
            self.b64.setPlainText(encoded + ("\n(truncated)" if truncated else ""))
        elif name == "Properties":
            rows = property_rows(message)
            self.props.setPlainText("\n".join(f"{row.name}: {row.value}" for row in rows) or NO_PROPERTIES)
        elif name == "History" and not keep_history:
            self._fill_history()
        elif name == "Diff":
            self._render_diff()
        elif name == "Chart":
            self._update_chart()

    def _fill_history(self) -> None:
        table = self.history
        table.blockSignals(True)
        decoder = self.decoder
        rows = history_rows(
            self._history,
            stamp=_stamp,
            limit=len(self._history),
            binary_text=(lambda m: decoded_history_text(decoder, m)) if decoder is not None else None,
        )
        table.setRowCount(len(rows))
        for row, item in enumerate(rows):
            cells = (item.time, str(item.qos), "yes" if item.retained else "", item.preview)
            for column, value in enumerate(cells):
                table.setItem(row, column, QTableWidgetItem(value))
        table.blockSignals(False)

    def _render_diff(self) -> None:
        history, message = self._history, self.message
        index = self._pinned if self._pinned is not None else len(history) - 1
        view = diff_view(
            history[index - 1] if 0 < index < len(history) else None, message, decoder=self.decoder
        )
        if view.note:
            self.diff.setPlainText(view.note)
            return
        out = []
        for line in view.lines:
            escaped = html.escape(line.text)
            color = _DIFF_COLORS.get(line.kind)
            out.append(f"<span style='color:{color}'>{escaped}</span>" if color else escaped)
        self.diff.setHtml("<pre>" + "\n".join(out) + "</pre>")

    def _update_chart(self) -> None:
        node = self.node
        if node is None:
            self.chart.set_series([])
            return
        field = self.chart_field.currentText()
        chosen = None if field in ("", _AUTO) else field
        view = chart_view(self._history, chosen, decoder=self.decoder)
        self.chart.set_view(view, title=f"{node.topic} {chosen or ''}".strip())

    def _decoded(self, message: TopicMessage) -> DecodedMessage | None:
        """A message decoded by the Workspace's codecs (the last one is kept: a live topic redraws)."""
        if self.decoder is None:
            return None
        key = (message.topic, message.payload, message.time)
        if key != self._decoded_key:
            self._decoded_key = key
            self._decoded_message = self.decoder.decode(
                message.topic, message.payload, message.properties.content_type
            )
        return self._decoded_message

    @staticmethod
    def _structured(decoded: DecodedMessage) -> bool:
        return decoded.decoded.ok and decoded.decoded.codec not in ("json", "text")
