"""A QAbstractTableModel over the Workspace's :class:`~explorer.model.trace.TraceBuffer`.

Rows are virtual: the model holds no copy of the events, only the window of absolute
buffer positions it shows (``first`` .. ``next``) and, when a filter is active, the list
of matching positions. :meth:`TraceTableModel.refresh` runs once per batch: rows the
buffer dropped at the front are removed, new ones appended, so a view keeps its
selection and scroll position while the trace streams through. Texts come from
:mod:`explorer.present.eventtext`, the same as the terminal UI.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from explorer.model.events import ErrorReported, TraceEvent
from explorer.model.trace import TraceBuffer
from explorer.present.eventtext import event_direction, event_kind, event_length, event_summary

__all__ = ["EVENT_ROLE", "TraceFilter", "TraceTableModel"]

EVENT_ROLE = Qt.ItemDataRole.UserRole + 1
POSITION_ROLE = Qt.ItemDataRole.UserRole + 2
_HEADERS = ("#", "Time", "Conn", "Dir", "Layer", "Length", "Summary")
AnyIndex = QModelIndex | QPersistentModelIndex
_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.TextAlignmentRole,
        EVENT_ROLE,
        POSITION_ROLE,
    }
)


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """Which events to show: layers (``HTTP``, ``WS``, ``MQTT``, ``state``, ``error``),
    direction (``c2s``/``s2c``/``""`` for both), and a case-insensitive summary substring."""

    layers: frozenset[str] = frozenset()
    direction: str = ""
    text: str = ""

    @property
    def active(self) -> bool:
        return bool(self.layers or self.direction or self.text)

    def accepts(self, event: TraceEvent) -> bool:
        if self.layers and event_kind(event) not in self.layers:
            return False
        if self.direction and event_direction(event) != self.direction:
            return False
        return not self.text or self.text.lower() in event_summary(event).lower()


class TraceTableModel(QAbstractTableModel):
    """The trace as a table; call :meth:`refresh` after each batch."""

    COL_SEQ, COL_TIME, COL_CONN, COL_DIR, COL_KIND, COL_LEN, COL_SUMMARY = range(7)

    def __init__(
        self, trace: TraceBuffer, parent: QObject | None = None, *, time_origin: float = 0.0
    ) -> None:
        super().__init__(parent)
        self.trace = trace
        self.time_origin = time_origin
        self._filter = TraceFilter()
        self._first = trace.first_position
        self._next = trace.first_position
        self._positions: array[int] | None = None  # matching positions when filtered
        self._summaries: dict[int, str] = {}
        self._error_color = QColor("#d03030")
        self.paused = False
        self.refresh()

    # -- window ----------------------------------------------------------------------

    @property
    def filter(self) -> TraceFilter:
        return self._filter

    def set_filter(self, trace_filter: TraceFilter) -> None:
        """Apply a filter (rebuilds the rows, keeping the current window)."""
        self.beginResetModel()
        self._filter = trace_filter
        if trace_filter.active:
            self._positions = array(
                "q",
                (
                    p
                    for p in range(self._first, self._next)
                    if (e := self.trace.at(p)) and trace_filter.accepts(e)
                ),
            )
        else:
            self._positions = None
        self.endResetModel()

    def refresh(self) -> None:
        """Follow the buffer: drop rows it let go, append rows it got (unless paused)."""
        trace = self.trace
        first = trace.first_position
        if first > self._first:
            self._drop_front(first)
        if self.paused:
            return
        new_next = trace.next_position
        if new_next <= self._next:
            return
        if self._positions is None:
            start = self._next - self._first
            self.beginInsertRows(QModelIndex(), start, start + (new_next - self._next) - 1)
            self._next = new_next
            self.endInsertRows()
            return
        matches = [
            p
            for p in range(max(self._next, first), new_next)
            if (e := trace.at(p)) and self._filter.accepts(e)
        ]
        self._next = new_next
        if matches:
            start = len(self._positions)
            self.beginInsertRows(QModelIndex(), start, start + len(matches) - 1)
            self._positions.extend(matches)
            self.endInsertRows()

    def _drop_front(self, first: int) -> None:
        if self._positions is None:
            gone = min(first, self._next) - self._first
            if gone > 0:
                self.beginRemoveRows(QModelIndex(), 0, gone - 1)
                self._first += gone
                self.endRemoveRows()
            self._first = max(self._first, first)
            self._next = max(self._next, self._first)
        else:
            positions = self._positions
            count = 0
            while count < len(positions) and positions[count] < first:
                count += 1
            if count:
                self.beginRemoveRows(QModelIndex(), 0, count - 1)
                del positions[:count]
                self.endRemoveRows()
            self._first = first
            self._next = max(self._next, first)
        if len(self._summaries) > 4096:
            self._summaries = {p: s for p, s in self._summaries.items() if p >= self._first}

    def position(self, row: int) -> int:
        """The absolute buffer position of ``row``."""
        if self._positions is None:
            return self._first + row
        return self._positions[row]

    def row_of_position(self, position: int) -> int | None:
        """The row showing buffer position ``position``, if any."""
        if self._positions is None:
            if self._first <= position < self._next:
                return position - self._first
            return None
        from bisect import bisect_left

        row = bisect_left(self._positions, position)
        if row < len(self._positions) and self._positions[row] == position:
            return row
        return None

    def row_of_event(self, event: TraceEvent) -> int | None:
        """The row of a held event (searched from the newest rows back)."""
        for row in range(self.rowCount() - 1, -1, -1):
            if self.trace.at(self.position(row)) is event:
                return row
        return None

    def event_at(self, row: int) -> TraceEvent | None:
        """The event shown at ``row`` (``None`` if the buffer dropped it meanwhile)."""
        if not 0 <= row < self.rowCount():
            return None
        return self.trace.at(self.position(row))

    # -- QAbstractTableModel ---------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        if self._positions is None:
            return self._next - self._first
        return len(self._positions)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return _HEADERS[section] if 0 <= section < len(_HEADERS) else None
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # A view asks for about ten roles per cell on every repaint: answer the unused fast.
        if role not in _ROLES or not index.isValid():
            return None
        row = index.row()
        if not 0 <= row < self.rowCount():
            return None
        position = self.position(row)
        event = self.trace.at(position)
        if event is None:
            return (
                "(dropped)"
                if role == Qt.ItemDataRole.DisplayRole and index.column() == self.COL_SUMMARY
                else None
            )
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(event, position, index.column())
        if role == Qt.ItemDataRole.ForegroundRole and isinstance(event, ErrorReported):
            return self._error_color
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (self.COL_SEQ, self.COL_LEN):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == EVENT_ROLE:
            return event
        if role == POSITION_ROLE:
            return position
        return None

    def _display(self, event: TraceEvent, position: int, column: int) -> Any:
        if column == self.COL_SEQ:
            return str(event.seq)
        if column == self.COL_TIME:
            return f"{event.time - self.time_origin:.6f}"
        if column == self.COL_CONN:
            return str(event.conn)
        if column == self.COL_DIR:
            direction = event_direction(event)
            return {"c2s": "→ C2S", "s2c": "← S2C"}.get(direction, direction)
        if column == self.COL_KIND:
            return event_kind(event)
        if column == self.COL_LEN:
            length = event_length(event)
            return "" if length is None else str(length)
        if column == self.COL_SUMMARY:
            summary = self._summaries.get(position)
            if summary is None:
                summary = self._summaries[position] = event_summary(event)
            return summary
        return None
