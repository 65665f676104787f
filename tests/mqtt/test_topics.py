"""Topic name and filter validation, matching, and shared subscriptions (MQTT 5.0 §4.7, §4.8.2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from explorer.errors import LocalProtocolError
from explorer.mqtt.topics import split_shared, topic_matches, validate_topic_filter, validate_topic_name
from tests.mqtt.strategies import topic_filters, topic_names

VALID_NAMES = [
    "a",
    "a/b",
    "/",
    "/a",
    "a/",
    "a//b",
    "$SYS/broker/uptime",
    "sport/tennis/player1",
    "ü/漢字",
    " ",
]
INVALID_NAMES = [
    ("", "at least one character"),
    ("a/+", "wildcards"),
    ("a/#", "wildcards"),
    ("+", "wildcards"),
    ("a\x00b", "U+0000"),
    ("x" * 65536, "65535"),
    ("é" * 32768, "65535"),  # 65536 bytes in UTF-8
]

VALID_FILTERS = [
    "#",
    "+",
    "+/+",
    "+/#",
    "a/#",
    "a/+/b",
    "/+",
    "/#",
    "$SYS/#",
    "$share/group/a/+",
    "$share/g/#",
    "$shared/x",  # not a shared subscription: '$shared' is an ordinary first level
    "sport/tennis/player1/#",
]
INVALID_FILTERS = [
    ("", "at least one character"),
    ("a/#/b", "'#' must be a whole level and the last one"),
    ("a#", "'#' must be a whole level"),
    ("#/", "'#' must be a whole level"),
    ("a+", "'+' must occupy a whole level"),
    ("a/+b", "'+' must occupy a whole level"),
    ("$share/", "share name"),
    ("$share//a", "share name"),
    ("$share/g+/a", "share name"),
    ("$share/g#/a", "share name"),
    ("$share/g", "no topic filter after the share name"),
    ("$share/g/", "no topic filter after the share name"),
    ("$share/g/a#", "'#'"),
    ("a\x00", "U+0000"),
]


@pytest.mark.parametrize("topic", VALID_NAMES)
def test_valid_topic_names_are_accepted(topic: str) -> None:
    validate_topic_name(topic)


@pytest.mark.parametrize(("topic", "reason"), INVALID_NAMES, ids=[r for _, r in INVALID_NAMES])
def test_invalid_topic_names_are_refused_with_a_reason(topic: str, reason: str) -> None:
    with pytest.raises(LocalProtocolError) as info:
        validate_topic_name(topic)
    assert reason in str(info.value)


@pytest.mark.parametrize("topic_filter", VALID_FILTERS)
def test_valid_topic_filters_are_accepted(topic_filter: str) -> None:
    validate_topic_filter(topic_filter)


@pytest.mark.parametrize(("topic_filter", "reason"), INVALID_FILTERS, ids=[f for f, _ in INVALID_FILTERS])
def test_invalid_topic_filters_are_refused_with_a_reason(topic_filter: str, reason: str) -> None:
    with pytest.raises(LocalProtocolError) as info:
        validate_topic_filter(topic_filter)
    assert reason in str(info.value)


MATCHES = [
    # filter, topic, matches
    ("#", "a", True),
    ("#", "a/b/c", True),
    ("#", "/", True),
    ("#", "$SYS/uptime", False),  # [MQTT-4.7.2-1]
    ("+", "$SYS", False),
    ("+/#", "$SYS/uptime", False),
    ("+/uptime", "$SYS/uptime", False),
    ("$SYS/#", "$SYS/uptime", True),
    ("$SYS/#", "$SYS", True),
    ("$SYS/+", "$SYS/uptime", True),
    ("a/#", "a", True),  # '#' also matches the parent level (§4.7.1.2)
    ("a/#", "a/b", True),
    ("a/#", "a/b/c", True),
    ("a/#", "ab", False),
    ("a/#", "b/a", False),
    ("a/+", "a/b", True),
    ("a/+", "a/", True),  # an empty level is a level
    ("a/+", "a", False),
    ("a/+", "a/b/c", False),
    ("+/+", "/a", True),
    ("/+", "/a", True),
    ("+", "/a", False),
    ("+", "a", True),
    ("+", "", True),
    ("+/#", "a", True),
    ("+/#", "a/b/c", True),
    ("sport/tennis/+", "sport/tennis/player1", True),
    ("sport/tennis/+", "sport/tennis/player1/ranking", False),
    ("sport/+/player1", "sport/tennis/player1", True),
    ("a/b", "a/b", True),
    ("a/b", "a/B", False),
    ("a/b", "a/b/", False),
    ("$share/g/a/+", "a/b", True),
    ("$share/g/#", "a/b", True),
    ("$share/g/#", "$SYS/x", False),
    ("$share/g/a/+", "b/b", False),
]


@pytest.mark.parametrize(("topic_filter", "topic", "expected"), MATCHES)
def test_topic_matching(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


@pytest.mark.parametrize(
    ("topic_filter", "expected"),
    [
        ("$share/g/a/b", ("g", "a/b")),
        ("$share/group/#", ("group", "#")),
        ("a/b", (None, "a/b")),
        ("$SYS/#", (None, "$SYS/#")),
        ("$sharex/g/a", (None, "$sharex/g/a")),
    ],
)
def test_split_shared(topic_filter: str, expected: tuple[str | None, str]) -> None:
    assert split_shared(topic_filter) == expected


@settings(max_examples=300, deadline=None)
@given(topic=topic_names)
def test_a_topic_matches_itself_and_hash_unless_it_starts_with_dollar(topic: str) -> None:
    validate_topic_name(topic)
    assert topic_matches(topic, topic)
    assert topic_matches("#", topic) is not topic.startswith("$")


@settings(max_examples=300, deadline=None)
@given(topic_filter=topic_filters())
def test_generated_filters_are_valid(topic_filter: str) -> None:
    validate_topic_filter(topic_filter)
