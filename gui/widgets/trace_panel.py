"""The frame trace: a virtual table of the trace buffer with follow/pause and filters,
and the frame inspector for the selected row."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.model.events import TraceEvent
from explorer.model.trace import TraceBuffer
from gui.models.trace_model import TraceFilter, TraceTableModel
from gui.widgets.frame_inspector import FrameInspector

__all__ = ["TracePanel"]

_LAYERS = {
    "All layers": frozenset(),
    "WebSocket frames": frozenset({"WS"}),
    "MQTT packets": frozenset({"MQTT"}),
    "HTTP handshake": frozenset({"HTTP"}),
    "Errors and states": frozenset({"error", "state"}),
}
_DIRECTIONS = {"Both directions": "", "Client → server": "c2s", "Server → client": "s2c"}


class TracePanel(QWidget):
    """Trace table on the left, inspector on the right; a filter bar above."""

    eventSelected = Signal(object)

    def __init__(
        self, trace: TraceBuffer, parent: QWidget | None = None, *, time_origin: float = 0.0
    ) -> None:
        super().__init__(parent)
        self.model = TraceTableModel(trace, self, time_origin=time_origin)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 4)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        for column, width in enumerate((70, 90, 44, 60, 52, 60)):
            header.resizeSection(column, width)
        self.table.setWordWrap(False)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)

        self.inspector = FrameInspector(trace)
        self.inspector.eventActivated.connect(self.select_event)

        self.follow = QCheckBox("Follow")
        self.follow.setChecked(True)
        self.follow.setToolTip("Scroll to each new event")
        self.pause = QToolButton()
        self.pause.setText("Pause")
        self.pause.setCheckable(True)
        self.pause.setToolTip("Freeze the table (the buffer keeps recording)")
        self.pause.toggled.connect(self._paused)
        self.layers = QComboBox()
        self.layers.addItems(list(_LAYERS))
        self.direction = QComboBox()
        self.direction.addItems(list(_DIRECTIONS))
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter summaries…")
        self.search.setClearButtonEnabled(True)
        for signal in (self.layers.currentIndexChanged, self.direction.currentIndexChanged):
            signal.connect(lambda _i: self._apply_filter())
        # The filter follows the typing, a moment after the last key (a filter pass scans the trace).
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(150)
        self._filter_timer.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(lambda _text: self._filter_timer.start())
        self.search.returnPressed.connect(self._apply_filter)

        bar = QHBoxLayout()
        bar.addWidget(self.layers)
        bar.addWidget(self.direction)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.follow)
        bar.addWidget(self.pause)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(bar)
        left_layout.addWidget(self.table)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.inspector)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    def refresh(self) -> None:
        """After each batch: follow the buffer, scroll to the end when following."""
        self.model.refresh()
        if self.follow.isChecked() and not self.model.paused:
            self.table.scrollToBottom()

    def _paused(self, paused: bool) -> None:
        self.model.paused = paused
        self.pause.setText("Resume" if paused else "Pause")
        if not paused:
            self.refresh()

    def _apply_filter(self) -> None:
        self.model.set_filter(
            TraceFilter(
                layers=_LAYERS[self.layers.currentText()],
                direction=_DIRECTIONS[self.direction.currentText()],
                text=self.search.text().strip(),
            )
        )

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        event = self.model.event_at(current.row()) if current.isValid() else None
        if event is not None:
            self.follow.setChecked(False)  # inspecting a row: stop scrolling it away
        self.inspector.show_event(event)
        if event is not None:
            self.eventSelected.emit(event)

    def select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.scrollTo(index)

    def select_event(self, event: TraceEvent) -> None:
        """Select ``event``'s row (clearing the filter if it hides the event)."""
        row = self.model.row_of_event(event)
        if row is None and self.model.filter.active:
            self.layers.setCurrentIndex(0)
            self.direction.setCurrentIndex(0)
            self.search.clear()
            self._apply_filter()
            row = self.model.row_of_event(event)
        if row is not None:
            self.select_row(row)
        else:
            self.inspector.show_event(event)
