"""Topic names, topic filters, matching and shared subscriptions (MQTT 5.0 §4.7, §4.8.2).

Used by the encoder (we never send an invalid topic), the session and the broker (which
answer a peer's invalid topic with a reason code rather than a malformed-packet error).
"""

from __future__ import annotations

from explorer.errors import LocalProtocolError

__all__ = ["split_shared", "topic_matches", "validate_topic_filter", "validate_topic_name"]

_SHARE = "$share/"


def _check_common(text: str, what: str) -> None:
    if not text:
        raise LocalProtocolError(f"{what} must be at least one character long [MQTT-4.7.3-1]")
    if "\x00" in text:
        raise LocalProtocolError(f"{what} must not contain U+0000 [MQTT-4.7.3-2]")
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        raise LocalProtocolError(f"{what} contains a lone surrogate [MQTT-1.5.4-1]") from None
    if size > 0xFFFF:
        raise LocalProtocolError(f"{what} is {size} bytes long; the maximum is 65535 [MQTT-4.7.3-3]")


def validate_topic_name(topic: str) -> None:
    """Raise LocalProtocolError unless ``topic`` may appear in a PUBLISH."""
    _check_common(topic, "a topic name")
    if "+" in topic or "#" in topic:
        # [MQTT-3.3.2-2] wildcards are not allowed in a topic name
        raise LocalProtocolError(f"topic name {topic!r} must not contain the wildcards '+' or '#'")


def validate_topic_filter(topic_filter: str) -> None:
    """Raise LocalProtocolError unless ``topic_filter`` may appear in a SUBSCRIBE."""
    _check_common(topic_filter, "a topic filter")
    share, real = split_shared(topic_filter)
    if share is not None:
        # MQTT 5.0 §4.8.2: $share/{ShareName}/{filter}
        if not share or "+" in share or "#" in share:
            raise LocalProtocolError(
                f"share name {share!r} must be non-empty and contain no '+' or '#' [MQTT-4.8.2-1]"
            )
        if not real:
            raise LocalProtocolError(
                f"shared subscription {topic_filter!r} has no topic filter after the share name"
            )
    levels = real.split("/")
    last = len(levels) - 1
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != last):
            raise LocalProtocolError(
                f"in {topic_filter!r} '#' must be a whole level and the last one [MQTT-4.7.1-2]"
            )
        if "+" in level and level != "+":
            raise LocalProtocolError(f"in {topic_filter!r} '+' must occupy a whole level [MQTT-4.7.1-3]")


def split_shared(topic_filter: str) -> tuple[str | None, str]:
    """``"$share/g/a/b"`` -> ``("g", "a/b")``; any other filter -> ``(None, filter)``."""
    if not topic_filter.startswith(_SHARE):
        return None, topic_filter
    share, _, real = topic_filter[len(_SHARE) :].partition("/")
    return share, real


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches ``topic_filter`` (a shared filter matches like its inner filter).

    A filter starting with a wildcard does not match a topic starting with ``$``
    [MQTT-4.7.2-1]; ``a/#`` also matches ``a`` (§4.7.1.2).
    """
    _share, real = split_shared(topic_filter)
    if topic.startswith("$") and real[:1] in ("+", "#"):
        return False
    filters = real.split("/")
    levels = topic.split("/")
    for index, part in enumerate(filters):
        if part == "#":
            return True
        if index >= len(levels):
            return False
        if part != "+" and part != levels[index]:
            return False
    return len(filters) == len(levels)
