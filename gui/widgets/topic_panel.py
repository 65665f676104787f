"""The topics dock: search field plus the topic tree, with its context menu."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHeaderView, QLineEdit, QMenu, QTreeView, QVBoxLayout, QWidget

from explorer.model.topictree import TopicNode, TopicTree
from explorer.present.topics import unfolds_by_itself
from gui.models.topic_model import NODE_ROLE, TopicFilterProxy, TopicTreeModel

__all__ = ["TopicPanel"]

_AUTO_EXPAND_NODES = 300


class TopicPanel(QWidget):
    """Topic tree with search; emits intents for the context menu's actions."""

    nodeSelected = Signal(object)
    subscribeRequested = Signal(str)
    unsubscribeRequested = Signal(str)
    deleteRetainedRequested = Signal(str)
    publishRequested = Signal(str)

    def __init__(
        self,
        tree: TopicTree,
        retained_topics: Callable[[str], list[str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.tree = tree
        # Which topics at and below one hold a retained message: the Workspace's answer, which
        # also knows the ones this session published (their echo carries no retain flag).
        self._retained_topics = retained_topics
        self.model = TopicTreeModel(tree, self)
        self.proxy = TopicFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search topics…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search)
        self.view = QTreeView()
        self.view.setModel(self.proxy)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        # Not ResizeToContents: that measures every row on every dataChanged (a firehose).
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 200)
        header.resizeSection(2, self.fontMetrics().horizontalAdvance("0,000,000,000") + 12)
        self.view.selectionModel().currentChanged.connect(self._current)
        self.view.collapsed.connect(self._user_collapsed)
        self._auto_expand = True
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.view)

    def refresh(self, changed: tuple[TopicNode, ...]) -> None:
        """Apply one batch's content changes; keep small trees expanded."""
        self.model.refresh(changed, self._expanded)
        if self._auto_expand and changed:
            if self.tree.node_count <= _AUTO_EXPAND_NODES:
                self._unfold_first_levels()
            else:
                self._auto_expand = False

    def _unfold_first_levels(self) -> None:
        """Unfold the rows a new user should see open (``$SYS`` stays folded)."""
        stack = [self.tree.root]
        while stack:
            parent = stack.pop()
            for node in parent.iter_children():
                if node.child_count and unfolds_by_itself(node):
                    index = self.proxy.mapFromSource(self.model.index_of_node(node))
                    if index.isValid() and not self.view.isExpanded(index):
                        self.view.expand(index)
                    stack.append(node)

    def _expanded(self, node: TopicNode) -> bool:
        index = self.proxy.mapFromSource(self.model.index_of_node(node))
        return index.isValid() and self.view.isExpanded(index)

    def _user_collapsed(self, _index: QModelIndex) -> None:
        self._auto_expand = False

    def _search(self, text: str) -> None:
        self.proxy.set_search(text)
        if text:
            self.view.expandAll()

    def current_node(self) -> TopicNode | None:
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        node: TopicNode = self.proxy.data(index, NODE_ROLE)
        return node

    def select_topic(self, topic: str) -> bool:
        source = self.model.index_of_topic(topic)
        if not source.isValid():
            return False
        index = self.proxy.mapFromSource(source)
        if not index.isValid():
            return False
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index)
        return True

    def _current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        node = self.proxy.data(current, NODE_ROLE) if current.isValid() else None
        self.nodeSelected.emit(node)

    def _menu(self, point: QPoint) -> None:
        index = self.view.indexAt(point)
        if not index.isValid():
            return
        node: TopicNode = self.proxy.data(index, NODE_ROLE)
        topic = node.topic
        menu = QMenu(self)
        menu.addAction("Copy topic", lambda: QGuiApplication.clipboard().setText(topic))
        menu.addAction("Publish to this topic…", lambda: self.publishRequested.emit(topic))
        menu.addSeparator()
        menu.addAction(f"Subscribe to {topic}/#", lambda: self.subscribeRequested.emit(f"{topic}/#"))
        menu.addAction(f"Unsubscribe from {topic}/#", lambda: self.unsubscribeRequested.emit(f"{topic}/#"))
        menu.addSeparator()
        retained = bool(self._retained_topics(topic))
        action = menu.addAction(
            "Delete retained messages here and below", lambda: self.deleteRetainedRequested.emit(topic)
        )
        action.setEnabled(retained)
        menu.exec(self.view.viewport().mapToGlobal(point))
