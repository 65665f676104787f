"""The topic tree pane: a Textual ``Tree`` mirroring the Workspace's TopicTree.

The TopicTree is the model (counts, retained marks, history); this widget only keeps
one Textual node per topic node it shows and relabels the ones a batch reports as
changed (and their ancestors, whose subtree counts moved). Nothing here parses MQTT.

A filter rebuilds the widget with the matching topics and their ancestors only; new
topics that match appear as they arrive.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from explorer.payload import text_view
from explorer.topictree import TopicNode, TopicTree
from tui.messages import TopicSelected

__all__ = ["TopicTreeView", "topic_label"]

PREVIEW_BYTES = 80


def _preview(node: TopicNode) -> str:
    last = node.last
    if last is None:
        return ""
    if not last.payload:
        return "(empty)"
    view = text_view(last.payload, PREVIEW_BYTES)
    first = view.text.split("\n", 1)[0]
    if not view.valid_utf8:
        return f"<{len(last.payload)} B binary>"
    return first + ("…" if view.truncated or "\n" in view.text else "")


def topic_label(node: TopicNode) -> Text:
    """``name (count/subtree) R preview``: what one row of the tree shows."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(node.name or "∅", "bold" if node.children else "")
    if node.count and node.count != node.subtree_count:
        text.append(f" ({node.count}/{node.subtree_count})", "dim")
    elif node.subtree_count:
        text.append(f" ({node.subtree_count})", "dim")
    if node.retained:
        text.append(" R", "bold magenta")
    preview = _preview(node)
    if preview:
        text.append(" = ", "dim")
        text.append(preview, "cyan")
    return text


class TopicTreeView(Tree[TopicNode]):
    """Topics as a tree, with counts, retained marks and a preview of the last value."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("h", "collapse_or_parent", "Collapse", show=False),
        Binding("l", "expand_node", "Expand", show=False),
        Binding("g", "cursor_first", "Top", show=False),
        Binding("G", "cursor_last", "Bottom", show=False),
        Binding("e", "expand_all", "Expand"),
        Binding("E", "collapse_all", "Collapse"),
    ]

    def __init__(self, topics: TopicTree, *, id: str | None = None) -> None:
        super().__init__("topics", data=topics.root, id=id)
        self.topics = topics
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = False
        self._by_topic: dict[TopicNode, TreeNode[TopicNode]] = {topics.root: self.root}
        self._filter = ""
        self._stale: set[TopicNode] = set()
        self._visible: set[TopicNode] | None = None
        self.root.expand()

    # -- keeping in step with the model ------------------------------------------------

    @property
    def filter_text(self) -> str:
        return self._filter

    def node_for(self, topic: TopicNode) -> TreeNode[TopicNode] | None:
        return self._by_topic.get(topic)

    def _attached(self, topic: TopicNode) -> bool:
        walker = topic
        while walker.parent is not None:
            walker = walker.parent
        return walker is self.topics.root

    def _matches(self, topic: TopicNode) -> bool:
        return not self._filter or self._filter in topic.topic.lower()

    def _ensure(self, topic: TopicNode) -> TreeNode[TopicNode]:
        """The widget node of ``topic``, created (with its ancestors) in sorted order."""
        found = self._by_topic.get(topic)
        if found is not None:
            return found
        assert topic.parent is not None
        parent = self._ensure(topic.parent)
        before: int | None = None
        for index, sibling in enumerate(parent.children):
            data = sibling.data
            if data is not None and data.name > topic.name:
                before = index
                break
        # Expand the first levels so a new user sees topics without pressing keys.
        node = parent.add(
            topic_label(topic),
            topic,
            before=before,
            expand=topic.depth < 3 and not topic.topic.startswith("$"),  # $SYS stays folded
            allow_expand=bool(topic.children),
        )
        if parent is not self.root:
            parent.allow_expand = True
        self._by_topic[topic] = node
        return node

    def apply_changes(self, changed: tuple[TopicNode, ...]) -> None:
        """Add the new topics; relabel the changed ones (and their ancestors) that are on screen.

        Labels of changed rows that are off screen (scrolled away or under a collapsed
        parent) are made when they come into view: with a thousand busy topics a batch
        then costs the forty or so visible labels, not a thousand.
        """
        stale = self._stale
        for topic in changed:
            if topic in stale:
                continue
            if not self._attached(topic):
                continue  # removed from the model since
            if topic not in self._by_topic and not self._matches(topic):
                continue
            walker: TopicNode | None = topic
            while walker is not None and walker.parent is not None and walker not in stale:
                stale.add(walker)
                walker = walker.parent
        for topic in stale:
            if topic not in self._by_topic:
                self._ensure(topic)
        self.relabel_visible()

    def relabel_visible(self) -> None:
        """Make the labels of stale rows that are on screen now."""
        stale = self._stale
        if not stale:
            return
        self._tree_lines  # noqa: B018 - builds the line index, so node.line is current
        top = self.scroll_offset.y
        bottom = top + max(1, self.size.height)
        done = []
        for topic in stale:
            node = self._by_topic.get(topic)
            if node is None:
                done.append(topic)
                continue
            if top <= node.line < bottom:
                # Set the label in place and repaint once below, rather than set_label()
                # per node, which schedules one callback per node on the message queue.
                node._label = self.process_label(topic_label(topic))
                node._updates += 1
                done.append(topic)
        if done:
            stale.difference_update(done)
            self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.call_after_refresh(self.relabel_visible)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[TopicNode]) -> None:
        self.call_after_refresh(self.relabel_visible)

    def rebuild(self) -> None:
        """Build the widget afresh from the model, honouring the filter."""
        self.clear()
        self._stale.clear()
        self._by_topic = {self.topics.root: self.root}
        if self._filter:
            hits = self.topics.search(self._filter)
            keep = TopicTree.with_ancestors(hits)
            topics = [t for t in self.topics.root.walk() if t in keep]
        else:
            topics = list(self.topics.root.walk())
        for topic in topics:
            if topic is not self.topics.root:
                self._ensure(topic)
        if self._filter:
            self.root.expand_all()

    def set_filter(self, text: str) -> None:
        """Show only topics whose name contains ``text`` (case-insensitive)."""
        text = text.strip().lower()
        if text == self._filter:
            return
        self._filter = text
        self.rebuild()

    # -- actions -------------------------------------------------------------------

    @property
    def selected_topic(self) -> TopicNode | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def action_cursor_first(self) -> None:
        self.cursor_line = 0
        self.scroll_home(animate=False)

    def action_cursor_last(self) -> None:
        self.cursor_line = self.last_line
        self.scroll_end(animate=False)

    def action_expand_all(self) -> None:
        self.root.expand_all()

    def action_collapse_all(self) -> None:
        for child in self.root.children:
            child.collapse_all()

    def action_expand_node(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand:
            node.expand()

    def action_collapse_or_parent(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded and node.children:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[TopicNode]) -> None:
        data = event.node.data
        if data is not None and data is not self.topics.root:
            self.post_message(TopicSelected(data))
