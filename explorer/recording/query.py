"""Search terms: MQTT topic filters, times and words, turned into SQL over a recording.

What belongs here: :class:`Query` (what the user asked), :func:`parse_time` (ISO 8601 or
relative times such as ``-10m``), and :func:`query_sql`, which makes the ``WHERE``
clause so that SQLite can use the indexes: an exact topic is an equality on
``messages_topic_time``, the part of a filter before its first wildcard is a range on
the same index, times are a range on ``messages_time`` (or the second column of the topic
index), and words go to the FTS5 index ``messages_fts``. What a range cannot express
(``+`` levels, the ``$`` rule) is checked per row by :func:`topic_matches`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from explorer.errors import LocalProtocolError
from explorer.mqtt.topics import validate_topic_filter
from explorer.recording.schema import RecordingError

__all__ = [
    "DISTINCT_TOPICS_SQL",
    "MAX_TOPICS",
    "Query",
    "parse_time",
    "query_sql",
    "topic_matches",
    "wildcard_prefix",
    "words_match",
]

_RELATIVE: Final = re.compile(r"^-\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$")
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_WORD: Final = re.compile(r"[^\W_]+", re.UNICODE)  # words as the FTS5 unicode61 tokenizer cuts them


@dataclass(frozen=True, slots=True)
class Query:
    """What to look for; every part is optional.

    ``topic`` is an MQTT topic filter (``+`` and ``#`` wildcards); ``since_us`` and
    ``until_us`` bound the time (microseconds since the epoch, inclusive); ``text`` is
    words that must all appear in the topic or the payload text (whole words, a trailing
    ``*`` for a prefix); ``conn`` limits it to one connection.
    """

    topic: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    text: str | None = None
    conn: int | None = None

    def validate(self) -> Query:
        """Raises RecordingError for a bad topic filter or an empty time range."""
        if self.topic is not None:
            try:
                validate_topic_filter(self.topic)
            except LocalProtocolError as exc:
                raise RecordingError(f"invalid topic filter {self.topic!r}: {exc}") from None
        if self.since_us is not None and self.until_us is not None and self.since_us > self.until_us:
            raise RecordingError("the start of the time range (--since) is after its end (--until)")
        if self.text is not None and not fts_terms(self.text):
            raise RecordingError(f"no word to search for in {self.text!r}")
        return self


def parse_time(text: str, now: float) -> int:
    """A time given by the user -> microseconds since the epoch.

    Accepts ISO 8601 (``2026-12-05T14:00:00Z``, ``2026-12-05 14:00``, a date alone;
    without an offset it is local time), ``now``, relative times before ``now``
    (``-30s``, ``-10m``, ``-2h``, ``-1d``; a bare number is seconds) and seconds since
    the epoch (``@1765000000``).

    Raises:
        RecordingError: none of those, as a sentence.
    """
    value = text.strip()
    if value.lower() == "now":
        return round(now * 1_000_000)
    match = _RELATIVE.match(value)
    if match is not None:
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
        return round((now - seconds) * 1_000_000)
    if value.startswith("@"):
        try:
            return round(float(value[1:]) * 1_000_000)
        except ValueError:
            pass
    iso = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise RecordingError(
            f"{text!r} is not a time: use ISO 8601 (2026-12-05T14:00:00Z), a relative time (-10m, -2h) or now"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # local time, as a user at this machine means it
    return round(parsed.timestamp() * 1_000_000)


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches ``topic_filter`` (MQTT 5.0 §4.7).

    A filter starting with a wildcard does not match a topic starting with ``$``
    [MQTT-4.7.2-1].
    """
    if topic_filter[:1] in ("+", "#") and topic[:1] == "$":
        return False
    want = topic_filter.split("/")
    have = topic.split("/")
    for index, level in enumerate(want):
        if level == "#":
            return True  # [MQTT-4.7.1-2]: also the parent level itself
        if index >= len(have):
            return False
        if level != "+" and level != have[index]:
            return False
    return len(want) == len(have)


def fts_terms(text: str) -> list[str]:
    """The words of a text query, each a quoted FTS5 string (a trailing ``*`` kept as a prefix)."""
    terms = []
    for raw in text.split():
        prefix = raw.endswith("*")
        for word in _WORD.findall(raw):
            terms.append(f'"{word}"')
        if prefix and terms:
            terms[-1] += "*"
    return terms


def words_match(text: str, haystack: str) -> bool:
    """Whether every word of ``text`` is a whole word of ``haystack`` (case-insensitive),
    as the FTS5 ``unicode61`` tokenizer sees words; a trailing ``*`` matches a prefix."""
    words = {word.casefold() for word in _WORD.findall(haystack)}
    for raw in text.split():
        prefix = raw.endswith("*")
        found = [word.casefold() for word in _WORD.findall(raw)]
        for i, word in enumerate(found):
            if prefix and i == len(found) - 1:
                if not any(candidate.startswith(word) for candidate in words):
                    return False
            elif word not in words:
                return False
    return True


def _prefix_range(prefix: str) -> tuple[str, str]:
    """``[low, high)`` covering every string that starts with ``prefix``."""
    return prefix, prefix + "\U0010ffff"


MAX_TOPICS: Final = 30_000
"""Topics a ``+`` filter may expand to in one ``IN (...)`` list (SQLite allows 32,766 values)."""

DISTINCT_TOPICS_SQL: Final = (
    # A loose index scan: one seek on messages_topic_time per distinct topic, so listing
    # the topics under a prefix costs their number, not the number of messages.
    "WITH RECURSIVE t(topic) AS ("
    " SELECT (SELECT min(topic) FROM messages WHERE topic >= ? AND topic < ?)"
    " UNION ALL"
    " SELECT (SELECT min(topic) FROM messages WHERE topic > t.topic AND topic < ?) FROM t"
    " WHERE t.topic IS NOT NULL"
    ") SELECT topic FROM t WHERE topic IS NOT NULL"
)


def wildcard_prefix(topic_filter: str) -> tuple[str, str]:
    """``[low, high)`` of the topics a ``+`` filter can match (the part before the ``+``)."""
    return _prefix_range(topic_filter.partition("+")[0])


def query_sql(query: Query, topics: list[str] | None = None) -> tuple[str, list[Any], bool]:
    """``(where, parameters, needs_check)`` for ``SELECT ... FROM messages AS m WHERE ...``.

    ``topics``: for a filter with ``+``, the topics it matches (listed with
    :data:`DISTINCT_TOPICS_SQL`), searched as one index seek each. Without them,
    ``needs_check`` is True: rows of the filter's prefix must still pass
    :func:`topic_matches`.
    """
    clauses: list[str] = []
    params: list[Any] = []
    needs_check = False
    topic_filter = query.topic
    if topic_filter is not None and topic_filter != "#" and topics is not None:
        clauses.append(f"m.topic IN ({','.join('?' * len(topics))})" if topics else "0")
        params.extend(topics)
    elif topic_filter is not None and topic_filter != "#":
        head, _, _ = topic_filter.partition("+")
        if "+" not in topic_filter and not topic_filter.endswith("#"):
            clauses.append("m.topic = ?")
            params.append(topic_filter)
        elif "+" not in topic_filter:
            parent = topic_filter[:-2]  # 'a/b/#' -> 'a/b', which it also matches
            low, high = _prefix_range(parent + "/")
            clauses.append("(m.topic = ? OR (m.topic >= ? AND m.topic < ?))")
            params.extend([parent, low, high])
        else:
            needs_check = True
            if head:
                low, high = _prefix_range(head)
                clauses.append("m.topic >= ? AND m.topic < ?")
                params.extend([low, high])
    if topic_filter is not None and topic_filter[:1] in ("+", "#") and topics is None:
        clauses.append("m.topic NOT LIKE '$%'")  # [MQTT-4.7.2-1]
    if query.since_us is not None:
        clauses.append("m.time_us >= ?")
        params.append(query.since_us)
    if query.until_us is not None:
        clauses.append("m.time_us <= ?")
        params.append(query.until_us)
    if query.conn is not None:
        clauses.append("m.conn = ?")
        params.append(query.conn)
    if query.text is not None:
        clauses.append("m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)")
        params.append(" ".join(fts_terms(query.text)))
    return (" AND ".join(clauses) or "1"), params, needs_check
