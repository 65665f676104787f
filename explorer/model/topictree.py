"""TopicTree: every topic seen, as a tree of levels, with counts, history and retained marks.

The tree is the model both front ends draw (a Qt item model and a Textual tree adapt
it) and the Workspace feeds on the hot path, so it is built for two things:

* **Views.** Children are kept sorted by name; a node knows its row in O(log n) and its
  child at a row in O(1). Structural changes are announced through
  :class:`TreeListener` *before and after* they happen (``inserting``/``inserted``,
  ``removing``/``removed``), which is what ``QAbstractItemModel.beginInsertRows`` /
  ``endInsertRows`` need; ``changed(node)`` reports a new message on a node.
* **Memory.** A million messages over a hundred thousand topics must fit well inside
  300 MB. So a node stores no full topic string (it is rebuilt from the levels on
  demand), level names are interned, and the per-topic history is one ``bytearray`` of
  packed records (time, flags, length, payload bytes) instead of one object per
  message: a 5-byte payload costs 18 bytes, not the ~100 of a tuple with a ``bytes``
  and a ``float``. :class:`TopicMessage` values are made only when a view asks.

Pure: no I/O, no asyncio. Time values are whatever the caller passes (the Workspace's
injected clock).
"""

from __future__ import annotations

import fnmatch
import struct
import sys
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from explorer.model.numbers import numeric_value
from explorer.mqtt.packets import NO_PROPERTIES, Properties

__all__ = [
    "DEFAULT_HISTORY_BYTES",
    "DEFAULT_HISTORY_COUNT",
    "DEFAULT_HISTORY_TOTAL_BYTES",
    "TopicMessage",
    "TopicNode",
    "TopicTree",
    "TreeListener",
]

DEFAULT_HISTORY_COUNT = 100
DEFAULT_HISTORY_BYTES = 1_000_000
DEFAULT_HISTORY_TOTAL_BYTES = 256 * 1024 * 1024

_RETAIN = 0x04  # flags byte: bits 0-1 QoS, bit 2 retain
_RECORD = struct.Struct("<dBI")  # time, flags, payload length; the payload follows
_HEAD = _RECORD.size
_pack_record = _RECORD.pack
_unpack_record = _RECORD.unpack_from


@dataclass(frozen=True, slots=True)
class TopicMessage:
    """One message on a topic, as a view shows it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    time: float
    properties: Properties = NO_PROPERTIES


class TreeListener(Protocol):
    """Receives structural and content changes of a :class:`TopicTree`.

    ``row`` is the node's index among its parent's children. ``inserting`` comes before
    the child is visible through ``parent.child(row)``, ``inserted`` after; ``removing``
    before the node is unlinked, ``removed`` after. ``changed`` is called for the node
    that got a message (its ancestors' ``subtree_count`` changed too) or whose retained
    mark was cleared.
    """

    def inserting(self, parent: TopicNode, row: int, node: TopicNode) -> None: ...

    def inserted(self, parent: TopicNode, row: int, node: TopicNode) -> None: ...

    def removing(self, parent: TopicNode, row: int, node: TopicNode) -> None: ...

    def removed(self, parent: TopicNode, row: int, node: TopicNode) -> None: ...

    def changed(self, node: TopicNode) -> None: ...


class TopicNode:
    """One topic level. A node may be a topic (it got messages) and a parent at once.

    Attributes:
        name: this level's name (may be empty: ``a//b`` has an empty middle level).
        parent: ``None`` only for the root.
        count: messages received on exactly this topic.
        subtree_count: messages on this topic and every topic below it.
        retained: the broker holds a retained message for this topic, as far as seen:
            set by a message with the retain flag and a payload, cleared by one with the
            retain flag and an empty payload [MQTT-3.3.1-10] or by :meth:`TopicTree.set_retained`.
    """

    __slots__ = (
        "__weakref__",
        "_buf",
        "_kept",
        "_last_at",
        "_names",
        "_props",
        "children",
        "count",
        "history_bytes",
        "name",
        "parent",
        "retained",
        "subtree_count",
    )

    def __init__(self, name: str, parent: TopicNode | None) -> None:
        self.name = name
        self.parent = parent
        self.children: dict[str, TopicNode] | None = None
        self._names: list[str] | None = None  # sorted child names: row order
        self.count = 0
        self.subtree_count = 0
        self.retained = False
        self.history_bytes = 0  # payload bytes kept
        self._buf: bytearray | None = None  # packed history records, oldest first
        self._kept = 0  # records in _buf
        self._last_at = 0  # offset of the newest record in _buf
        self._props: list[Properties | None] | None = None  # per record, once one had properties

    def __repr__(self) -> str:
        return f"<TopicNode {self.topic!r} count={self.count} subtree={self.subtree_count}>"

    # -- structure -------------------------------------------------------------------

    @property
    def topic(self) -> str:
        """The full topic name (``""`` for the root), rebuilt from the levels."""
        names: list[str] = []
        node: TopicNode | None = self
        while node is not None and node.parent is not None:
            names.append(node.name)
            node = node.parent
        return "/".join(reversed(names))

    @property
    def depth(self) -> int:
        """0 for the root, 1 for a first-level topic, ..."""
        depth = 0
        node = self.parent
        while node is not None:
            depth += 1
            node = node.parent
        return depth

    @property
    def child_count(self) -> int:
        return 0 if self._names is None else len(self._names)

    def child(self, row: int) -> TopicNode:
        """The child at ``row`` in sorted order.

        Raises:
            IndexError: when there is no such row.
        """
        if self._names is None or not 0 <= row < len(self._names):
            raise IndexError(f"{self.topic!r} has no child at row {row}")
        assert self.children is not None
        return self.children[self._names[row]]

    def get(self, name: str) -> TopicNode | None:
        """The child named ``name``, or ``None``."""
        return None if self.children is None else self.children.get(name)

    def iter_children(self) -> Iterator[TopicNode]:
        """Children in row (sorted) order."""
        if self._names is None or self.children is None:
            return
        children = self.children
        for name in self._names:
            yield children[name]

    @property
    def row(self) -> int:
        """This node's row within its parent (0 for the root). O(log n)."""
        parent = self.parent
        if parent is None or parent._names is None:
            return 0
        return bisect_left(parent._names, self.name)

    def ancestors(self) -> Iterator[TopicNode]:
        """Parent, grandparent, ..., root."""
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def walk(self) -> Iterator[TopicNode]:
        """This node and every node below it, depth first in row order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            if node._names:
                assert node.children is not None
                stack.extend(node.children[name] for name in reversed(node._names))

    # -- messages --------------------------------------------------------------------

    @property
    def history_len(self) -> int:
        return self._kept

    def _records(self) -> Iterator[tuple[float, int, int, int]]:
        """``(time, flags, payload_start, payload_end)`` of each kept record, oldest first."""
        buf = self._buf
        if buf is None:
            return
        offset = 0
        end = len(buf)
        while offset < end:
            when, flags, size = _unpack_record(buf, offset)
            start = offset + _HEAD
            offset = start + size
            yield when, flags, start, offset

    def _message(self, index: int, record: tuple[float, int, int, int], topic: str) -> TopicMessage:
        assert self._buf is not None
        when, flags, start, end = record
        props = self._props[index] if self._props is not None else None
        return TopicMessage(
            topic=topic,
            payload=bytes(self._buf[start:end]),
            qos=flags & 0x03,
            retain=bool(flags & _RETAIN),
            time=when,
            properties=props if props is not None else NO_PROPERTIES,
        )

    @property
    def last(self) -> TopicMessage | None:
        """The latest message on this topic, or ``None`` if none was received."""
        buf = self._buf
        if not buf:
            return None
        when, flags, size = _unpack_record(buf, self._last_at)
        start = self._last_at + _HEAD
        return self._message(self._kept - 1, (when, flags, start, start + size), self.topic)

    def history(self) -> list[TopicMessage]:
        """The kept messages on this topic, oldest first (the last one is always kept)."""
        if not self._buf:
            return []
        topic = self.topic
        return [self._message(i, record, topic) for i, record in enumerate(self._records())]

    def series(self, field: str | None = None) -> list[tuple[float, float]]:
        """``(time, value)`` for each kept message whose payload is a number.

        With ``field`` (a path such as ``temp`` or ``readings[0].t``, see
        :func:`explorer.present.payload.numeric_fields`) the value is that JSON field; without,
        a plain number or a JSON object with a single numeric field. Computed from the
        history on demand, so keeping series costs no memory.
        """
        buf = self._buf
        if not buf:
            return []
        out: list[tuple[float, float]] = []
        for when, _flags, start, end in self._records():
            value = numeric_value(bytes(buf[start:end]), field)
            if value is not None:
                out.append((when, value))
        return out


class TopicTree:
    """All topics seen on a connection, with counts, last values and bounded history.

    Args:
        history_count: messages kept per topic (the last message is always kept).
        history_bytes: payload bytes kept per topic; older messages are dropped first.
        history_total_bytes: bytes of history kept over all topics. Past it, a topic
            that gets a message keeps only that message, so the busiest topics give
            way first and memory stays bounded whatever the number of topics.
    """

    def __init__(
        self,
        *,
        history_count: int = DEFAULT_HISTORY_COUNT,
        history_bytes: int = DEFAULT_HISTORY_BYTES,
        history_total_bytes: int = DEFAULT_HISTORY_TOTAL_BYTES,
    ) -> None:
        if history_count < 1:
            raise ValueError(f"history_count must be at least 1, not {history_count}")
        if history_bytes < 0:
            raise ValueError(f"history_bytes must not be negative, not {history_bytes}")
        self.root = TopicNode("", None)
        self.history_count = history_count
        self.history_bytes = history_bytes
        self.history_total_bytes = history_total_bytes
        self.kept_bytes = 0  # history storage over all topics (records with their headers)
        self.topic_count = 0  # nodes that got at least one message
        self.node_count = 0  # nodes below the root
        self._listeners: list[TreeListener] = []

    # -- listeners -------------------------------------------------------------------

    def add_listener(self, listener: TreeListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: TreeListener) -> None:
        self._listeners.remove(listener)

    # -- lookup ----------------------------------------------------------------------

    @property
    def message_count(self) -> int:
        return self.root.subtree_count

    def find(self, topic: str) -> TopicNode | None:
        """The node of an exact topic name, or ``None``."""
        node = self.root
        for name in topic.split("/"):
            child = node.get(name)
            if child is None:
                return None
            node = child
        return node

    def __contains__(self, topic: object) -> bool:
        return isinstance(topic, str) and self.find(topic) is not None

    def _child(self, parent: TopicNode, name: str) -> TopicNode:
        children = parent.children
        if children is None:
            children = parent.children = {}
            parent._names = []
        else:
            node = children.get(name)
            if node is not None:
                return node
        name = sys.intern(name)
        node = TopicNode(name, parent)
        names = parent._names
        assert names is not None
        row = bisect_left(names, name)
        for listener in self._listeners:
            listener.inserting(parent, row, node)
        names.insert(row, name)
        children[name] = node
        self.node_count += 1
        for listener in self._listeners:
            listener.inserted(parent, row, node)
        return node

    def node(self, topic: str) -> TopicNode:
        """The node of ``topic``, created (with its missing ancestors) if needed."""
        node = self.root
        for name in topic.split("/"):
            node = self._child(node, name)
        return node

    # -- ingest ----------------------------------------------------------------------

    def add_message(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 0,
        retain: bool = False,
        time: float = 0.0,
        properties: Properties | None = None,
    ) -> TopicNode:
        """Record one message on ``topic`` and return its node (the hot path)."""
        node = self.root
        for name in topic.split("/"):
            children = node.children
            if children is None or (child := children.get(name)) is None:
                node = self._child(node, name)
            else:
                node = child
        buf = node._buf
        if buf is None:
            buf = node._buf = bytearray()
            self.topic_count += 1
        size = len(payload)
        node._last_at = len(buf)
        buf += _pack_record(time, (qos & 0x03) | (_RETAIN if retain else 0), size)
        buf += payload
        kept = node._kept = node._kept + 1
        props = node._props
        if properties:
            if props is None:
                props = node._props = [None] * (kept - 1)
            props.append(properties)
        elif props is not None:
            props.append(None)
        history = node.history_bytes = node.history_bytes + size
        self.kept_bytes += _HEAD + size
        if kept > self.history_count or history > self.history_bytes:
            self._trim(node)
        if self.kept_bytes > self.history_total_bytes and node._kept > 1:
            self._trim(node, history_count=1)
        if retain:
            # A retained message with a zero-byte payload deletes the retained message
            # [MQTT-3.3.1-10]; its arrival here means the broker no longer holds one.
            node.retained = bool(payload)
        node.count += 1
        walker: TopicNode | None = node
        while walker is not None:
            walker.subtree_count += 1
            walker = walker.parent
        for listener in self._listeners:
            listener.changed(node)
        return node

    def _trim(self, node: TopicNode, history_count: int | None = None) -> None:
        """Drop the oldest records until both limits hold, keeping at least the last."""
        buf = node._buf
        assert buf is not None
        limit = self.history_count if history_count is None else history_count
        kept = node._kept
        size = node.history_bytes
        offset = 0
        drop = 0
        while kept > 1 and (kept > limit or size > self.history_bytes):
            length = _unpack_record(buf, offset)[2]
            offset += _HEAD + length
            size -= length
            kept -= 1
            drop += 1
        if drop:
            del buf[:offset]
            self.kept_bytes -= offset
            node._last_at -= offset
            node._kept = kept
            node.history_bytes = size
            if node._props is not None:
                del node._props[:drop]
                if not any(node._props):
                    node._props = None

    def set_retained(self, node: TopicNode, retained: bool) -> None:
        """Mark or unmark a node as holding a retained message (e.g. after clearing it)."""
        if node.retained != retained:
            node.retained = retained
            for listener in self._listeners:
                listener.changed(node)

    def clear_history(self, node: TopicNode) -> None:
        """Forget the kept messages of one topic except the last."""
        if node._kept > 1:
            self._trim(node, history_count=1)

    # -- removal ---------------------------------------------------------------------

    def remove(self, node: TopicNode) -> None:
        """Remove a node and everything below it; the ancestors' counts drop accordingly.

        Raises:
            ValueError: for the root (use :meth:`clear`).
        """
        parent = node.parent
        if parent is None:
            raise ValueError("the root of a topic tree cannot be removed; use clear()")
        if parent.children is None or parent.children.get(node.name) is not node:
            raise ValueError(f"{node.topic!r} is not in this tree")
        row = node.row
        for listener in self._listeners:
            listener.removing(parent, row, node)
        assert parent._names is not None
        del parent._names[row]
        del parent.children[node.name]
        if not parent._names:
            parent._names = None
            parent.children = None
        removed = node.subtree_count
        for ancestor in node.ancestors():
            ancestor.subtree_count -= removed
        for gone in node.walk():
            self.node_count -= 1
            if gone._buf is not None:
                self.topic_count -= 1
                self.kept_bytes -= len(gone._buf)
        node.parent = None
        for listener in self._listeners:
            listener.removed(parent, row, node)

    def clear(self) -> None:
        """Remove every topic."""
        for child in list(self.root.iter_children()):
            self.remove(child)

    # -- search ----------------------------------------------------------------------

    def topics(self, under: TopicNode | None = None) -> Iterator[TopicNode]:
        """Every node that got a message, below ``under`` (default: all), in row order."""
        for node in (under or self.root).walk():
            if node._buf is not None:
                yield node

    def search(
        self,
        pattern: str,
        *,
        glob: bool = False,
        case_sensitive: bool = False,
        limit: int | None = None,
    ) -> list[TopicNode]:
        """Topics whose full name contains ``pattern`` (or matches it as a glob).

        Globs use :mod:`fnmatch` rules (``*`` also matches ``/``), e.g. ``sensors/*/temp``.
        """
        if not case_sensitive:
            pattern = pattern.lower()
        out: list[TopicNode] = []
        for node in self.topics():
            topic = node.topic if case_sensitive else node.topic.lower()
            hit = fnmatch.fnmatchcase(topic, pattern) if glob else pattern in topic
            if hit:
                out.append(node)
                if limit is not None and len(out) >= limit:
                    break
        return out

    @staticmethod
    def with_ancestors(nodes: list[TopicNode]) -> set[TopicNode]:
        """The nodes plus all their ancestors: what a filtered tree view keeps visible."""
        keep: set[TopicNode] = set()
        for node in nodes:
            walker: TopicNode | None = node
            while walker is not None and walker not in keep:
                keep.add(walker)
                walker = walker.parent
        return keep
