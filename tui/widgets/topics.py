"""The topic tree pane: a Textual ``Tree`` mirroring the Workspace's TopicTree.

The TopicTree is the model (counts, retained marks, history); this widget only keeps
one Textual node per topic node it shows and relabels the ones a batch reports as
changed (and their ancestors, whose subtree counts moved). Nothing here parses MQTT.

A filter rebuilds the widget with the matching topics and their ancestors only; new
topics that match appear as they arrive.

Rows are made lazily, so that a firehose of new topics costs what is on screen: the
children of a folded row get rows when it is unfolded (it shows that it can be), a batch
makes at most :data:`NEW_ROWS_PER_BATCH` rows (the rest come with the next batches), and
a new row's full label is made once it scrolls into view. While changes keep coming,
rows already shown are relabelled at most every :data:`LABEL_INTERVAL` (a relabel
repaints every changed row on screen and the rows under it); a change after a quiet
spell shows at once.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.timer import Timer
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from explorer.model.topictree import TopicNode, TopicTree
from explorer.present.topics import unfolds_by_itself, value_preview
from tui.messages import TopicSelected
from tui.widgets.paintstyle import StyleOncePerPaint

__all__ = ["TopicTreeView", "topic_label"]

NEW_ROWS_PER_BATCH = 250
"""Rows made per batch at most: a burst of a thousand new topics stays a few short batches."""
MORE_ROWS_AFTER = 0.05
"""Seconds until the next rows of a burst are made when no batch comes sooner."""
LABEL_INTERVAL = 0.25
"""Seconds between relabels of shown rows while changes keep coming (4 a second)."""


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
    preview = value_preview(node)
    if preview:
        text.append(" = ", "dim")
        text.append(preview, "cyan")
    return text


class TopicTreeView(StyleOncePerPaint, Tree[TopicNode]):
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
        self._stale: set[TopicNode] = set()  # shown, label out of date
        self._pending: set[TopicNode] = set()  # new, no row yet
        self._made = 0  # rows made, for the per-batch budget
        self._more_rows: Timer | None = None
        self._fresh: set[TopicNode] = set()  # new rows still showing only their name
        self._last_relabel = 0.0
        self._relabel_timer: Timer | None = None
        self.root.expand()

    def render_line(self, y: int) -> Strip:
        # As Tree's, with the widget's style worked out once per paint, not per row.
        scroll_x, scroll_y = self.scroll_offset
        return self._render_line(y + scroll_y, scroll_x, scroll_x + self.size.width, self.paint_style)

    def notify_style_update(self) -> None:
        """Repaint the rows in the new style, without building the rows again.

        Tree rebuilds its list of visible rows and lays the screen out again on every
        style change, and focus moving to or from the tree is one (its ``:focus`` rules).
        Which rows show does not depend on style, so only the painted lines are dropped.
        """
        super(Tree, self).notify_style_update()
        self._clear_line_cache()
        self._updates += 1
        self.refresh()

    # -- keeping in step with the model ------------------------------------------------

    @property
    def filter_text(self) -> str:
        return self._filter

    def node_for(self, topic: TopicNode) -> TreeNode[TopicNode] | None:
        """The row of ``topic``; None when it has none (filtered out, under a folded row,
        or waiting for the next batch)."""
        return self._by_topic.get(topic)

    def reveal(self, topic: TopicNode) -> TreeNode[TopicNode] | None:
        """The row of ``topic``, made and unfolded to now if need be (None: filtered out)."""
        if not self._attached(topic) or not self._in_filtered_tree(topic):
            return None
        node = self._ensure(topic, force=True)
        if node is not None:
            parent = node.parent
            while parent is not None:
                parent.expand()
                parent = parent.parent
        return node

    def _attached(self, topic: TopicNode) -> bool:
        walker = topic
        while walker.parent is not None:
            walker = walker.parent
        return walker is self.topics.root

    def _matches(self, topic: TopicNode) -> bool:
        return not self._filter or self._filter in topic.topic.lower()

    def _in_filtered_tree(self, topic: TopicNode) -> bool:
        """Whether ``topic`` has a row in the filtered tree (a hit or an ancestor of one)."""
        if not self._filter:
            return True
        return any(self._matches(t) for t in topic.walk())

    def _ensure(self, topic: TopicNode, *, force: bool = False) -> TreeNode[TopicNode] | None:
        """The row of ``topic``, made (with its ancestors) in sorted order.

        None when its parent's row is folded (unless ``force``): the parent then only
        shows that it can be unfolded, and its children get rows when it is.
        """
        found = self._by_topic.get(topic)
        if found is not None:
            return found
        assert topic.parent is not None
        parent = self._ensure(topic.parent, force=force)
        if parent is None:
            return None
        if parent is not self.root:
            if not parent.allow_expand:
                parent.allow_expand = True
            if not force and not parent.is_expanded:
                return None
        before: int | None = None
        for index, sibling in enumerate(parent.children):
            data = sibling.data
            if data is not None and data.name > topic.name:
                before = index
                break
        expand = unfolds_by_itself(topic, filtered=bool(self._filter))
        node = parent.add(
            Text(topic.name or "∅", no_wrap=True, overflow="ellipsis"),
            topic,
            before=before,
            expand=expand,
            allow_expand=bool(topic.children),
        )
        self._by_topic[topic] = node
        self._stale.add(topic)  # the full label is made when the row is on screen
        self._fresh.add(topic)
        self._made += 1
        return node

    def _make_children(self, node: TreeNode[TopicNode]) -> None:
        """Rows for the children of an unfolded row that has none yet (or only some)."""
        topic = node.data
        if topic is None:
            return
        for child in (topic.children or {}).values():
            if child not in self._by_topic and self._in_filtered_tree(child):
                self._ensure(child, force=True)
                self._pending.discard(child)

    def apply_changes(self, changed: tuple[TopicNode, ...]) -> None:
        """Add rows for new topics; relabel the changed ones (and their ancestors) on screen.

        Labels of changed rows that are off screen (scrolled away or under a folded
        parent) are made when they come into view: with a thousand busy topics a batch
        then costs the forty or so visible labels, not a thousand. New rows are made up
        to :data:`NEW_ROWS_PER_BATCH` per batch.
        """
        stale = self._stale
        pending = self._pending
        by_topic = self._by_topic
        for topic in changed:
            if topic in stale or topic in pending:
                continue
            if not self._attached(topic):
                continue  # removed from the model since
            if topic not in by_topic and not self._matches(topic):
                continue
            walker: TopicNode | None = topic
            while walker is not None and walker.parent is not None:
                if walker in by_topic:
                    if walker in stale:
                        break
                    stale.add(walker)
                elif walker in pending:
                    break
                elif not self._under_folded_row(walker):
                    pending.add(walker)
                walker = walker.parent
        self._make_pending()
        self._relabel_changed()

    def _relabel_changed(self) -> None:
        """Relabel the changed rows on screen now, or at the next :data:`LABEL_INTERVAL` mark.

        New rows get their labels at once either way.
        """
        now = time.monotonic()
        due = self._last_relabel + LABEL_INTERVAL
        if now >= due:
            if self._relabel_timer is not None:
                self._relabel_timer.stop()
                self._relabel_timer = None
            self.relabel_visible()
            return
        if self._fresh:
            self.relabel_visible(only_new=True)
        if self._relabel_timer is None:
            self._relabel_timer = self.set_timer(due - now, self._relabel_due)

    def _relabel_due(self) -> None:
        if self._relabel_timer is None:
            return  # a batch relabelled first; a stopped timer's call may still arrive
        self._relabel_timer = None
        self.relabel_visible()

    def _under_folded_row(self, topic: TopicNode) -> bool:
        """Whether ``topic`` goes under a folded row (which then shows it can be unfolded)."""
        assert topic.parent is not None
        parent = self._by_topic.get(topic.parent)
        if parent is None or parent is self.root or parent.is_expanded or self._filter:
            return False
        if not parent.allow_expand:
            parent.allow_expand = True
        return True

    def _make_pending(self) -> None:
        """Rows for new topics, within the batch's budget; the rest wait for the next batch."""
        pending = self._pending
        if not pending:
            return
        self._made = 0
        done = []
        for topic in pending:
            if self._made >= NEW_ROWS_PER_BATCH:
                break
            if self._attached(topic):
                # None under a folded row: made when it is unfolded. A filtered tree
                # shows every hit, so its rows are made regardless.
                self._ensure(topic, force=bool(self._filter))
            done.append(topic)
        pending.difference_update(done)
        if pending and self._more_rows is None:
            self._more_rows = self.set_timer(MORE_ROWS_AFTER, self._make_more_rows)

    def _make_more_rows(self) -> None:
        self._more_rows = None
        self._make_pending()
        self.relabel_visible()

    def relabel_visible(self, *, only_new: bool = False) -> None:
        """Make the labels of stale rows that are on screen now (``only_new``: of new rows)."""
        stale = self._fresh if only_new else self._stale
        if not stale:
            return
        if not only_new:
            self._last_relabel = time.monotonic()
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
            self._stale.difference_update(done)
            self._fresh.difference_update(done)
            self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.call_after_refresh(self.relabel_visible)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[TopicNode]) -> None:
        self._make_children(event.node)
        self.call_after_refresh(self.relabel_visible)

    def rebuild(self) -> None:
        """Build the widget afresh from the model, honouring the filter.

        Unfiltered, the rows under folded ones wait until they are unfolded; filtered,
        every hit gets a row and the tree is unfolded to show them all. The selected topic
        stays selected (and unfolded to) when it is still shown, so clearing a filter
        keeps the topic it found in view.
        """
        selected = self.selected_topic
        self.clear()
        self._stale.clear()
        self._fresh.clear()
        self._pending.clear()
        self._by_topic = {self.topics.root: self.root}
        force = bool(self._filter)
        for topic in self._shown_topics():
            self._ensure(topic, force=force)
        if self._filter:
            self.root.expand_all()
        node = self.reveal(selected) if selected is not None else None
        self.relabel_visible()
        if node is not None:
            self.call_after_refresh(self._select_again, node)

    def _select_again(self, node: TreeNode[TopicNode]) -> None:
        if node.tree is self and node.data is not None and self._by_topic.get(node.data) is node:
            self.move_cursor(node)
            self.call_after_refresh(self.relabel_visible)

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

    def _shown_topics(self) -> list[TopicNode]:
        """Every topic with a place in the tree (all, or the filter's hits and their
        ancestors), in row order, without the root."""
        root = self.topics.root
        if self._filter:
            keep = TopicTree.with_ancestors(self.topics.search(self._filter))
            return [t for t in root.walk() if t in keep and t is not root]
        return [t for t in root.walk() if t is not root]

    def action_expand_all(self) -> None:
        for topic in self._shown_topics():
            self._ensure(topic, force=True)
        self._pending.clear()
        self.root.expand_all()
        self.call_after_refresh(self.relabel_visible)

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
