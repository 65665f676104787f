"""The subscription trie: which sessions want a message published to a topic.

One node per topic level; a node holds the plain subscriptions whose filter ends
there (by client id) and the shared subscription groups (``$share/group/filter``,
MQTT 5.0 §4.8.2) whose filter ends there. ``+`` and ``#`` are ordinary children
named ``"+"`` and ``"#"``, so matching walks at most three branches per level.

Routing is the broker's hot path, so :meth:`SubscriptionTrie.match` caches its answer
per topic name: a stream of messages to the same topics costs one dict look-up each,
no list of levels, no new objects. Any change to the subscriptions drops the cache.
Validation of filters is the caller's job (``explorer.mqtt.topics``); this module
trusts what it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["Match", "SharedGroup", "Subscriber", "SubscriptionTrie", "split_share"]

_CACHE_LIMIT = 20_000


@dataclass(slots=True)
class Subscriber:
    """One subscription of one session (the options of MQTT 5.0 §3.8.3.1)."""

    client_id: str
    topic_filter: str  # as subscribed, including any "$share/group/" prefix
    qos: int
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0
    identifier: int | None = None


class SharedGroup:
    """The members of one ``$share/group/filter``; each message goes to one of them."""

    __slots__ = ("_cursor", "filter", "members", "name")

    def __init__(self, name: str, topic_filter: str) -> None:
        self.name = name
        self.filter = topic_filter
        self.members: dict[str, Subscriber] = {}
        self._cursor = 0

    def pick(self, usable: Callable[[Subscriber], bool]) -> Subscriber | None:
        """The next member in round-robin order for which ``usable`` holds.

        Falls back to any member when none is usable (e.g. all offline): the message
        then waits in that member's session queue, which MQTT 5.0 §4.8.2 allows.
        """
        members = list(self.members.values())
        if not members:
            return None
        count = len(members)
        start = self._cursor % count
        for step in range(count):
            member = members[(start + step) % count]
            if usable(member):
                self._cursor = start + step + 1
                return member
        self._cursor = start + 1
        return members[start]


class _Node:
    __slots__ = ("children", "shared", "subscribers")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.subscribers: dict[str, Subscriber] = {}
        self.shared: dict[str, SharedGroup] = {}

    def empty(self) -> bool:
        return not (self.children or self.subscribers or self.shared)


Match = tuple[tuple[Subscriber, ...], tuple[SharedGroup, ...]]
_NO_MATCH: Match = ((), ())


def split_share(topic_filter: str) -> tuple[str | None, str]:
    """``"$share/g/a/b"`` -> ``("g", "a/b")``; any other filter -> ``(None, filter)``."""
    if topic_filter.startswith("$share/"):
        _, group, rest = topic_filter.split("/", 2)
        return group, rest
    return None, topic_filter


class SubscriptionTrie:
    """All subscriptions of all sessions, indexed by filter level."""

    def __init__(self) -> None:
        self._root = _Node()
        self._cache: dict[str, Match] = {}
        self.count = 0

    def add(self, sub: Subscriber) -> bool:
        """Add or replace ``sub``; True when it did not exist before (for retain handling 1)."""
        group, topic_filter = split_share(sub.topic_filter)
        node = self._root
        for level in topic_filter.split("/"):
            child = node.children.get(level)
            if child is None:
                child = node.children[level] = _Node()
            node = child
        self._cache.clear()
        if group is None:
            new = sub.client_id not in node.subscribers
            node.subscribers[sub.client_id] = sub
        else:
            shared = node.shared.get(group)
            if shared is None:
                shared = node.shared[group] = SharedGroup(group, topic_filter)
            new = sub.client_id not in shared.members
            shared.members[sub.client_id] = sub
        if new:
            self.count += 1
        return new

    def remove(self, client_id: str, full_filter: str) -> bool:
        """Remove one subscription; False when there was none (UNSUBACK 0x11)."""
        group, topic_filter = split_share(full_filter)
        path = [self._root]
        levels = topic_filter.split("/")
        for level in levels:
            child = path[-1].children.get(level)
            if child is None:
                return False
            path.append(child)
        node = path[-1]
        if group is None:
            if node.subscribers.pop(client_id, None) is None:
                return False
        else:
            shared = node.shared.get(group)
            if shared is None or shared.members.pop(client_id, None) is None:
                return False
            if not shared.members:
                del node.shared[group]
        self.count -= 1
        self._cache.clear()
        # Prune empty nodes so that the trie does not grow with churn.
        for depth in range(len(levels), 0, -1):
            if not path[depth].empty():
                break
            del path[depth - 1].children[levels[depth - 1]]
        return True

    def match(self, topic: str) -> Match:
        """Plain subscribers and shared groups whose filter matches ``topic``."""
        found = self._cache.get(topic)
        if found is not None:
            return found
        subs: list[Subscriber] = []
        groups: list[SharedGroup] = []
        levels = topic.split("/")
        out = (subs, groups)
        if topic.startswith("$"):
            # [MQTT-4.7.2-1] a filter starting with a wildcard does not match a topic starting with "$".
            exact = self._root.children.get(levels[0])
            if exact is not None:
                self._walk(exact, levels, 1, out)
        else:
            self._walk(self._root, levels, 0, out)
        found = (tuple(subs), tuple(groups)) if subs or groups else _NO_MATCH
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[topic] = found
        return found

    def _walk(
        self,
        node: _Node,
        levels: list[str],
        index: int,
        out: tuple[list[Subscriber], list[SharedGroup]],
    ) -> None:
        children = node.children
        multi = children.get("#")
        if multi is not None:
            # "a/#" also matches "a" itself (MQTT 5.0 §4.7.1.2).
            out[0].extend(multi.subscribers.values())
            out[1].extend(multi.shared.values())
        if index == len(levels):
            out[0].extend(node.subscribers.values())
            out[1].extend(node.shared.values())
            return
        single = children.get("+")
        if single is not None:
            self._walk(single, levels, index + 1, out)
        exact = children.get(levels[index])
        if exact is not None:
            self._walk(exact, levels, index + 1, out)

    def subscriptions(self) -> Iterator[Subscriber]:
        """Every subscription, in no particular order."""
        stack = [self._root]
        while stack:
            node = stack.pop()
            yield from node.subscribers.values()
            for group in node.shared.values():
                yield from group.members.values()
            stack.extend(node.children.values())
