"""Topic statistics: who talks most, per topic and per subtree.

What belongs here: :class:`TopicStats`, which counts messages, bytes and the retained
message per topic, fed one message at a time (live traffic) or one topic at a time
(aggregates a recording computed in SQL), and turns the counts into rows sorted as top
talkers. A subtree row (``home/#``) sums its topics (``home`` itself included, as the
filter matches it); subtrees holding a single topic are left out, their row would repeat
the topic's. Pure: no I/O, no clock of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = ["SORT_KEYS", "SortKey", "TopicStat", "TopicStats"]

SortKey = Literal["rate", "bytes", "messages", "topic"]
SORT_KEYS: Final = ("rate", "bytes", "messages", "topic")


@dataclass(frozen=True, slots=True)
class TopicStat:
    """One row: a topic, or a subtree (``subtree`` True, ``name`` ending in ``/#``).

    ``retained`` counts the topics holding a retained message (0 or 1 for a topic),
    ``retained_bytes`` their payload bytes; ``last_seen`` is seconds since the epoch.
    """

    name: str
    subtree: bool
    messages: int
    bytes: int
    msgs_per_s: float
    bytes_per_s: float
    retained: int
    retained_bytes: int
    last_seen: float
    topics: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "subtree": self.subtree,
            "topics": self.topics,
            "messages": self.messages,
            "bytes": self.bytes,
            "msgs_per_s": round(self.msgs_per_s, 3),
            "bytes_per_s": round(self.bytes_per_s, 3),
            "retained": self.retained,
            "retained_bytes": self.retained_bytes,
            "last_seen": self.last_seen,
        }


class _Counts:
    __slots__ = ("bytes", "last", "messages", "retained")

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.last = 0.0
        self.retained: int | None = None  # size of the retained message held, None: none


class TopicStats:
    """Counts per topic; :meth:`rows` makes the top-talker table.

    ``first`` and ``last`` are the times of the first and last message seen, so that
    rates cover the span observed (a live collector passes its own span to :meth:`rows`).
    """

    def __init__(self) -> None:
        self._topics: dict[str, _Counts] = {}
        self.first: float | None = None
        self.last: float | None = None
        self.messages = 0
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._topics)

    def add(self, topic: str, size: int, retain: bool, time: float) -> None:
        """One message (the hot path of a live collector)."""
        counts = self._topics.get(topic)
        if counts is None:
            counts = self._topics[topic] = _Counts()
        counts.messages += 1
        counts.bytes += size
        counts.last = time
        if retain:
            # An empty retained message clears the topic's retained message [MQTT-3.3.1-10].
            counts.retained = size if size else None
        self.messages += 1
        self.bytes += size
        if self.first is None or time < self.first:
            self.first = time
        if self.last is None or time > self.last:
            self.last = time

    def add_topic(
        self, topic: str, messages: int, size: int, *, first: float, last: float, retained: int | None
    ) -> None:
        """One topic's totals at once (``retained``: the size of its retained message, or None)."""
        counts = self._topics.get(topic)
        if counts is None:
            counts = self._topics[topic] = _Counts()
        counts.messages += messages
        counts.bytes += size
        counts.last = max(counts.last, last)
        counts.retained = retained if retained else None
        self.messages += messages
        self.bytes += size
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)

    def span(self) -> float:
        """Seconds between the first and the last message (at least one)."""
        if self.first is None or self.last is None:
            return 1.0
        return max(1.0, self.last - self.first)

    def rows(
        self,
        *,
        sort: SortKey = "rate",
        subtrees: bool = True,
        duration: float | None = None,
        limit: int | None = None,
    ) -> list[TopicStat]:
        """Topic rows and, with ``subtrees``, subtree rows, sorted (the busiest first).

        ``duration`` is the span rates are computed over (default :meth:`span`).
        """
        seconds = duration if duration is not None and duration > 0 else self.span()
        out: list[TopicStat] = []
        groups: dict[str, list[Any]] = {}
        for topic, counts in self._topics.items():
            retained_bytes = counts.retained or 0
            held = 1 if counts.retained is not None else 0
            out.append(
                TopicStat(
                    topic,
                    False,
                    counts.messages,
                    counts.bytes,
                    counts.messages / seconds,
                    counts.bytes / seconds,
                    held,
                    retained_bytes,
                    counts.last,
                )
            )
            if not subtrees:
                continue
            levels = topic.split("/")
            for depth in range(1, len(levels) + 1):
                prefix = "/".join(levels[:depth])
                group = groups.get(prefix)
                if group is None:
                    group = groups[prefix] = [0, 0, 0, 0, 0.0, 0]
                group[0] += counts.messages
                group[1] += counts.bytes
                group[2] += held
                group[3] += retained_bytes
                group[4] = max(group[4], counts.last)
                group[5] += 1
        for prefix, (messages, size, held, retained_bytes, last, topics) in groups.items():
            if topics < 2:
                continue
            out.append(
                TopicStat(
                    f"{prefix}/#",
                    True,
                    messages,
                    size,
                    messages / seconds,
                    size / seconds,
                    held,
                    retained_bytes,
                    last,
                    topics,
                )
            )
        key = _SORTERS[sort]
        out.sort(key=key)
        return out[:limit] if limit is not None else out


_SORTERS: Final = {
    "rate": lambda row: (-row.messages, -row.bytes, row.name),
    "messages": lambda row: (-row.messages, -row.bytes, row.name),
    "bytes": lambda row: (-row.bytes, -row.messages, row.name),
    "topic": lambda row: (row.name, row.subtree),
}
