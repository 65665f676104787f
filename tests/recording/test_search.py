"""Search answers exactly what a brute-force scan of the same messages answers.

Hypothesis makes the messages (topics from a few levels, ``$`` topics included,
payloads of words, text and binary, times) and the queries (topic filters with ``+`` and
``#``, time ranges, words, prefixes); the scan below is written from the MQTT rules
(MQTT 5.0 §4.7) and plain word splitting, independently of the SQL the reader makes.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.model.events import MessageReceived
from explorer.mqtt.packets import Publish
from explorer.recording import Query, Recording, RecordingWriter
from explorer.recording.query import parse_time

LEVELS = ["a", "b", "c", "$SYS", "ab", ""]
WORDS = ["apple", "apricot", "banana", "cherry", "Apple", "x1", "déjà"]


def brute_topic(topic_filter: str, topic: str) -> bool:
    if topic_filter.startswith(("+", "#")) and topic.startswith("$"):
        return False
    f = topic_filter.split("/")
    t = topic.split("/")
    for i, level in enumerate(f):
        if level == "#":
            return True
        if i >= len(t) or (level != "+" and level != t[i]):
            return False
    return len(f) == len(t)


def brute_words(query: str, topic: str, text: str | None) -> bool:
    have = {w.lower() for w in re.split(r"[^0-9a-zA-Zéà]+", f"{topic} {text or ''}") if w}
    for raw in query.split():
        word = raw.rstrip("*").lower()
        if raw.endswith("*"):
            if not any(h.startswith(word) for h in have):
                return False
        elif word not in have:
            return False
    return True


topics = st.lists(st.sampled_from(LEVELS), min_size=1, max_size=3).map("/".join).filter(lambda t: t != "")
payloads = st.one_of(
    st.lists(st.sampled_from(WORDS), max_size=4).map(lambda ws: " ".join(ws).encode()),
    st.binary(max_size=8).map(lambda b: b"\x00\x01" + b),
)
messages = st.lists(st.tuples(topics, payloads, st.integers(0, 100)), min_size=1, max_size=40)
filters = st.one_of(
    topics,
    st.lists(st.sampled_from([*LEVELS[:5], "+"]), min_size=1, max_size=3).map("/".join),
    st.lists(st.sampled_from([*LEVELS[:5], "+"]), max_size=2).map(lambda ls: "/".join([*ls, "#"])),
)
word_queries = st.lists(
    st.sampled_from(["apple", "APPLE", "apr*", "banana", "cherry", "x1", "b", "a", "sys", "déjà"]),
    min_size=1,
    max_size=2,
).map(" ".join)
queries = st.lists(
    st.tuples(
        st.none() | filters,
        st.none() | st.integers(0, 100),
        st.none() | st.integers(0, 100),
        st.none() | word_queries,
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages, queries)
def test_search_equals_a_brute_force_scan(items: list[tuple[str, bytes, int]], asked: list[tuple]) -> None:
    items = sorted(items, key=lambda item: item[2])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.sqlite"
        writer = RecordingWriter(path, flush_interval=0.01)
        for seq, (topic, payload, second) in enumerate(items):
            writer.add(
                MessageReceived(seq, float(second), 0, topic, payload, 0, False, Publish(topic, payload))
            )
        writer.close()
        with Recording(path) as recording:
            rows = list(recording.search())
            assert [(r.topic, r.payload) for r in rows] == [(t, p) for t, p, _ in items]
            for topic_filter, since, until, words in asked:
                if since is not None and until is not None and since > until:
                    since, until = until, since
                query = Query(
                    topic=topic_filter,
                    since_us=None if since is None else since * 1_000_000,
                    until_us=None if until is None else until * 1_000_000,
                    text=words,
                )
                want = [
                    r.id
                    for r in rows
                    if (topic_filter is None or brute_topic(topic_filter, r.topic))
                    and (since is None or r.time_us >= since * 1_000_000)
                    and (until is None or r.time_us <= until * 1_000_000)
                    and (words is None or brute_words(words, r.topic, r.text))
                ]
                assert [r.id for r in recording.search(query)] == want, query
                assert [r.id for r in recording.search(query, newest_first=True, limit=3)] == want[::-1][:3]


def test_relative_and_iso_times() -> None:
    now = 1_800_000_000.0
    assert parse_time("-10m", now) == (now - 600) * 1_000_000
    assert parse_time("-2h", now) == (now - 7200) * 1_000_000
    assert parse_time("now", now) == now * 1_000_000
    assert parse_time("2027-01-15T08:00:00Z", now) == 1_800_000_000 * 1_000_000
    assert parse_time("2027-01-15T09:00:00+01:00", now) == 1_800_000_000 * 1_000_000
    assert parse_time("@1800000000.5", now) == 1_800_000_000_500_000
