"""The Sparkplug B panel of the desktop window: nodes, devices, metrics, and a metric's chart.

Rows come from :func:`explorer.present.decoded.sparkplug_rows`; a numeric metric chosen
in the tree is plotted with its kept values. "Request rebirth" sends the selected edge
node the NCMD ``Node Control/Rebirth`` (its new BIRTH names every metric).
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.codecs.sparkplug_state import SparkplugTracker
from explorer.present.decoded import (
    SPARKPLUG_EMPTY,
    SparkRow,
    metric_series,
    rebirth_request,
    sparkplug_notice_lines,
    sparkplug_rows,
    sparkplug_title,
)
from gui.widgets.chart import SeriesChart

__all__ = ["SparkplugPanel"]

_STATE_COLOURS = {"online": "#2e9e44", "offline": "#d03030"}


class SparkplugPanel(QWidget):
    """Refreshed per batch with :meth:`refresh_from` (only when the tracker changed)."""

    rebirthRequested = Signal(str, bytes)  # topic, payload

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tracker: SparkplugTracker | None = None
        self.rows: list[SparkRow] = []
        self.chosen: SparkRow | None = None
        self._version = -1
        self.title = QLabel(SPARKPLUG_EMPTY)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Name", "Value", "Type / state"])
        self.tree.setColumnWidth(0, 240)
        self.tree.setColumnWidth(1, 140)
        self.tree.itemSelectionChanged.connect(self._selected)
        self.notices = QLabel("")
        self.notices.setWordWrap(True)
        self.notices.setStyleSheet("color: #c07000")
        self.chart = SeriesChart()
        rebirth = QPushButton("Request rebirth")
        rebirth.setToolTip("Send the selected edge node NCMD Node Control/Rebirth")
        rebirth.clicked.connect(self.request_rebirth)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(rebirth)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        split.addWidget(self.chart)
        split.setSizes([300, 160])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(head)
        layout.addWidget(split, 1)
        layout.addWidget(self.notices)

    def refresh_from(self, tracker: SparkplugTracker) -> None:
        self.tracker = tracker
        if tracker.version == self._version:
            return
        self._version = tracker.version
        self.rows = sparkplug_rows(tracker)
        selected = self.chosen.key if self.chosen is not None else None
        tree = self.tree
        tree.blockSignals(True)
        tree.clear()
        node_item: QTreeWidgetItem | None = None
        device_item: QTreeWidgetItem | None = None
        for row in self.rows:
            item = QTreeWidgetItem([row.label, row.value if row.level == "metric" else "", row.detail])
            if row.level != "metric":
                item.setText(2, f"{row.value}  {row.detail}".strip())
                item.setForeground(2, QBrush(QColor(_STATE_COLOURS.get(row.value, "#b08000"))))
            item.setData(0, Qt.ItemDataRole.UserRole, self.rows.index(row))
            if row.level == "node":
                tree.addTopLevelItem(item)
                node_item, device_item = item, None
            elif row.level == "device" and node_item is not None:
                node_item.addChild(item)
                device_item = item
            else:
                parent = device_item if row.key[2] is not None else node_item
                if parent is not None:
                    parent.addChild(item)
            if selected is not None and row.key == selected:
                item.setSelected(True)
        tree.expandAll()
        tree.blockSignals(False)
        title, named = sparkplug_title(self.rows)
        self.title.setText(f"<b>{html.escape(title)}</b>" if named else html.escape(title))
        self.notices.setText("\n".join(sparkplug_notice_lines(tracker)))
        self._draw_chart()

    def select_metric(self, label: str) -> bool:
        """Choose the first metric called ``label`` (as a click on its row would)."""
        for index, row in enumerate(self.rows):
            if row.level == "metric" and row.label == label:
                self.chosen = row
                self._draw_chart()
                return index >= 0
        return False

    def _selected(self) -> None:
        items = self.tree.selectedItems()
        if not items:
            return
        index = items[0].data(0, Qt.ItemDataRole.UserRole)
        if isinstance(index, int) and 0 <= index < len(self.rows):
            row = self.rows[index]
            if row.level == "metric" and row.numeric:
                self.chosen = row
                self._draw_chart()
            elif row.level != "metric":
                self.chosen = row

    def _draw_chart(self) -> None:
        row = self.chosen
        if row is None or self.tracker is None or row.level != "metric":
            self.chart.set_series([])
            return
        group, edge, device, metric = row.key
        where = f"{group}/{edge}" + (f"/{device}" if device else "")
        self.chart.set_series(metric_series(self.tracker, row.key), title=f"{where} {metric}")

    def request_rebirth(self) -> None:
        row = self.chosen or next((r for r in self.rows if r.level == "node"), None)
        if row is None:
            return
        topic, payload = rebirth_request(row.key[0], row.key[1], int(time.time() * 1000))
        self.rebirthRequested.emit(topic, payload)
