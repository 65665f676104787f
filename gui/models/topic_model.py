"""A QAbstractItemModel adapter of :class:`explorer.model.topictree.TopicTree`.

Structure follows the tree's listener hooks one to one (``inserting`` ->
``beginInsertRows``, ``inserted`` -> ``endInsertRows``, and the same for removals), so
the view is always exactly the tree. Content does not: a firehose changes thousands of
counts a second, so ``changed`` is ignored here and :meth:`TopicTreeModel.refresh` emits
``dataChanged`` once per batch for the nodes the Workspace reports as changed (and their
ancestors, whose subtree counts moved), grouped into one row range per parent.

A node's ``QModelIndex`` carries an integer id (``internalId``) looked up in a table of
the nodes handed out, not a raw object pointer: a pointer into a Python object that Qt
keeps past its lifetime is a crash, an unknown id is just an invalid index. Removed
nodes leave the table when the tree announces their removal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRegularExpression,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont

from explorer.model.topictree import TopicNode, TopicTree
from explorer.present.topics import value_preview

__all__ = ["NODE_ROLE", "TOPIC_ROLE", "TopicFilterProxy", "TopicTreeModel"]

NODE_ROLE = Qt.ItemDataRole.UserRole + 1
TOPIC_ROLE = Qt.ItemDataRole.UserRole + 2
_HEADERS = ("Topic", "Value", "Messages")

AnyIndex = QModelIndex | QPersistentModelIndex
_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.TextAlignmentRole,
        NODE_ROLE,
        TOPIC_ROLE,
    }
)


class TopicTreeModel(QAbstractItemModel):
    """Columns: topic level (retained marked), last value, message count (subtree)."""

    COL_TOPIC, COL_VALUE, COL_COUNT = range(3)

    def __init__(self, tree: TopicTree, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tree = tree
        self._bold = QFont()
        self._bold.setBold(True)
        self._retained_color = QColor("#d08a00")
        self._nodes: dict[int, TopicNode] = {}
        tree.add_listener(self)

    def detach(self) -> None:
        """Stop following the tree (before the model is dropped)."""
        self.tree.remove_listener(self)

    # -- TreeListener ----------------------------------------------------------------

    def _make(self, row: int, column: int, node: TopicNode) -> QModelIndex:
        key = id(node)
        self._nodes[key] = node
        return self.createIndex(row, column, key)

    def _index_of(self, node: TopicNode) -> QModelIndex:
        if node.parent is None:
            return QModelIndex()
        return self._make(node.row, 0, node)

    def inserting(self, parent: TopicNode, row: int, node: TopicNode) -> None:
        self.beginInsertRows(self._index_of(parent), row, row)

    def inserted(self, parent: TopicNode, row: int, node: TopicNode) -> None:
        self.endInsertRows()

    def removing(self, parent: TopicNode, row: int, node: TopicNode) -> None:
        self.beginRemoveRows(self._index_of(parent), row, row)

    def removed(self, parent: TopicNode, row: int, node: TopicNode) -> None:
        self.endRemoveRows()
        for gone in node.walk():
            self._nodes.pop(id(gone), None)

    def changed(self, node: TopicNode) -> None:
        """Content changes are applied per batch by :meth:`refresh`."""

    # -- batch refresh ---------------------------------------------------------------

    def refresh(self, nodes: Iterable[TopicNode], shown: Callable[[TopicNode], bool] | None = None) -> None:
        """Emit ``dataChanged`` for ``nodes`` and their ancestors, one range per parent.

        ``shown(parent)`` (from the view: is this parent expanded?) skips the rows a
        view cannot show; a view asks for fresh data when it expands a node anyway.
        """
        ranges: dict[TopicNode, list[int]] = {}
        seen: set[TopicNode] = set()
        for node in nodes:
            walker: TopicNode | None = node
            while walker is not None and walker.parent is not None and walker not in seen:
                seen.add(walker)
                row = walker.row
                span = ranges.get(walker.parent)
                if span is None:
                    ranges[walker.parent] = [row, row]
                else:
                    span[0] = min(span[0], row)
                    span[1] = max(span[1], row)
                walker = walker.parent
        last = len(_HEADERS) - 1
        root = self.tree.root
        for parent, (first, end) in ranges.items():
            if parent is not root and (parent.parent is None or (shown is not None and not shown(parent))):
                continue  # removed meanwhile, or collapsed in the view
            self.dataChanged.emit(
                self._make(first, 0, parent.child(first)), self._make(end, last, parent.child(end))
            )

    # -- QAbstractItemModel ----------------------------------------------------------

    def node(self, index: AnyIndex) -> TopicNode:
        """The node of ``index`` (the root for an invalid index)."""
        if not index.isValid():
            return self.tree.root
        return self._nodes.get(index.internalId(), self.tree.root)

    def index_of_node(self, node: TopicNode) -> QModelIndex:
        """The index of ``node`` (invalid for the root)."""
        return self._index_of(node)

    def index_of_topic(self, topic: str) -> QModelIndex:
        node = self.tree.find(topic)
        return QModelIndex() if node is None else self._index_of(node)

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self.node(parent)
        if column < 0 or column >= len(_HEADERS) or not 0 <= row < node.child_count:
            return QModelIndex()
        return self._make(row, column, node.child(row))

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        parent = self.node(index).parent
        if parent is None or parent.parent is None:
            return QModelIndex()
        return self._make(parent.row, 0, parent)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        return self.node(parent).child_count

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return len(_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(_HEADERS):
            return _HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # A view asks for about ten roles per cell on every repaint: answer the unused fast.
        if role not in _ROLES or not index.isValid():
            return None
        node = self.node(index)
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.COL_TOPIC:
                return node.name
            if column == self.COL_VALUE:
                return value_preview(node)
            if column == self.COL_COUNT:
                return f"{node.subtree_count:,}"
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            text = node.topic
            if node.retained:
                text += "\nretained message held by the broker"
            if node.count:
                text += f"\n{node.count} messages on this topic, {node.history_len} kept"
            return text
        if role == Qt.ItemDataRole.FontRole and column == self.COL_TOPIC and node.retained:
            return self._bold
        if role == Qt.ItemDataRole.ForegroundRole and column == self.COL_TOPIC and node.retained:
            return self._retained_color
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.COL_COUNT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == NODE_ROLE:
            return node
        if role == TOPIC_ROLE:
            return node.topic
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class TopicFilterProxy(QSortFilterProxyModel):
    """Filters topics by full name (substring, case-insensitive) keeping their ancestors.

    Recursive filtering (Qt 5.10+) shows a parent when any descendant matches, which is
    what a topic search should do.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterRole(TOPIC_ROLE)
        self.setFilterKeyColumn(0)
        self.setDynamicSortFilter(False)

    def set_search(self, text: str) -> None:
        """Show topics containing ``text`` (empty: everything)."""
        self.setFilterRegularExpression(
            QRegularExpression(
                QRegularExpression.escape(text.strip()),
                QRegularExpression.PatternOption.CaseInsensitiveOption,
            )
        )
