"""Files and recordings in the desktop window: search, Stats (top talkers), connection picker.

The texts, rows and parsing come from :mod:`explorer.present.recording`; searches and
counts are Workspace intents run on the qasync loop. The search dialog emits
``messageChosen`` with the message a double-click (or Enter) opens in the message view.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.errors import ExplorerError
from explorer.present.recording import (
    SEARCH_LIMIT,
    STATS_COLUMNS,
    PickerRow,
    SearchForm,
    SearchRow,
    search_rows,
    search_summary,
    stats_cells,
    stats_title,
)
from explorer.recording import Message
from explorer.recording.stats import SORT_KEYS, SortKey
from explorer.workspace import Workspace

__all__ = ["SearchDialog", "StatsDialog", "pick_connection"]


def _table(columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setStretchLastSection(True)
    table.verticalHeader().setVisible(False)
    return table


def _fill(table: QTableWidget, rows: list[tuple[str, ...]]) -> None:
    table.setRowCount(len(rows))
    for number, cells in enumerate(rows):
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column and text[:1].isdigit():
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(number, column, item)
    table.resizeColumnsToContents()


def pick_connection(
    parent: QWidget, title: str, rows: list[PickerRow], current: int | None
) -> PickerRow | None:
    """Ask which connection of the file to show (a modal list)."""
    labels = [row.label for row in rows]
    start = next((index for index, row in enumerate(rows) if row.conn == current), 0)
    label, ok = QInputDialog.getItem(parent, "Connections", title, labels, start, False)
    if not ok:
        return None
    return rows[labels.index(label)]


class SearchDialog(QDialog):
    """Search the open file or the live session's recording."""

    messageChosen = Signal(object)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.setWindowTitle("Search messages")
        self.resize(1000, 600)
        self.topic = QLineEdit(placeholderText="topic filter (+ and # wildcards)")
        self.since = QLineEdit(placeholderText="since (ISO 8601 or -10m)")
        self.until = QLineEdit(placeholderText="until")
        self.words = QLineEdit(placeholderText="words in the topic or payload")
        self.go = QPushButton("Search")
        self.go.setDefault(True)
        self.summary = QLabel("")
        self.table = _table(("Time (UTC)", "Topic", "QoS", "Payload"))
        self.rows: list[SearchRow] = []
        fields = QHBoxLayout()
        for widget in (self.topic, self.since, self.until, self.words):
            fields.addWidget(widget, 1)
            widget.returnPressed.connect(self.search)
        fields.addWidget(self.go)
        layout = QVBoxLayout(self)
        layout.addLayout(fields)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.go.clicked.connect(self.search)
        self.table.cellDoubleClicked.connect(lambda row, _column: self.open_row(row))
        self.task: asyncio.Task[None] | None = None

    def form(self) -> SearchForm:
        return SearchForm(self.topic.text(), self.since.text(), self.until.text(), self.words.text())

    def search(self) -> None:
        self.task = asyncio.get_event_loop().create_task(self.run_search())

    async def run_search(self) -> None:
        conn = self.workspace.file.conn if self.workspace.file is not None else None
        try:
            query = self.form().query(conn)
            messages = await self.workspace.search(query, limit=SEARCH_LIMIT)
        except ExplorerError as exc:
            self.summary.setText(str(exc))
            return
        self.rows = search_rows(messages)
        _fill(self.table, [(row.time, row.topic, row.flags, row.preview) for row in self.rows])
        self.summary.setText(search_summary(len(self.rows)))

    def open_row(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            message: Message = self.rows[row].message
            self.messageChosen.emit(message)


class StatsDialog(QDialog):
    """Top talkers per topic and subtree, sorted by rate, bytes, messages or name."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.setWindowTitle("Stats: top talkers")
        self.resize(1000, 600)
        self.title = QLabel("Counting…")
        self.sort = QComboBox()
        self.sort.addItems(list(SORT_KEYS))
        self.refresh_button = QPushButton("Refresh")
        self.table = _table(STATS_COLUMNS)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(QLabel("Order by"))
        head.addWidget(self.sort)
        head.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.table, 1)
        self.sort.currentTextChanged.connect(lambda _text: self.refresh())
        self.refresh_button.clicked.connect(self.refresh)
        self.task: asyncio.Task[None] | None = None

    def refresh(self) -> None:
        self.task = asyncio.get_event_loop().create_task(self.run_refresh())

    async def run_refresh(self) -> None:
        try:
            stats, live = await self.workspace.topic_stats()
        except ExplorerError as exc:
            self.title.setText(str(exc))
            return
        sort: SortKey = SORT_KEYS[self.sort.currentIndex()]
        _fill(self.table, [stats_cells(row) for row in stats.rows(sort=sort, limit=500)])
        self.title.setText(stats_title(stats, sort, live=live))
