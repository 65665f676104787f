"""What both explorers' topic trees show of a row: whether it unfolds by itself, and
the last value beside its name.

A new user should see live topics at once without pressing keys, so the first two levels
unfold as they appear; ``$``-topics (``$SYS`` statistics) stay folded, or they would push
the application's topics out of view. While a search filter is set, every row unfolds so
each hit shows.

The value beside a topic is its last payload on one line: text as text (its first line,
cut with ``…``), a binary payload (CBOR, Protobuf, an image) as its size, never as raw
bytes; the message pane's Decoded tab shows what it holds.
"""

from __future__ import annotations

from explorer.model.topictree import TopicNode
from explorer.present.payload import text_view

__all__ = ["UNFOLD_DEPTH", "VALUE_CHARS", "unfolds_by_itself", "value_preview"]

VALUE_CHARS = 80
"""Characters of the last value a tree row shows at most."""

UNFOLD_DEPTH = 2
"""Rows at depth 1 and 2 (``demo``, ``demo/sensors``) unfold when they appear."""


def unfolds_by_itself(node: TopicNode, *, filtered: bool = False) -> bool:
    """Whether ``node`` is shown unfolded when it first appears."""
    if filtered:
        return True
    return node.depth <= UNFOLD_DEPTH and not node.topic.startswith("$")


def value_preview(node: TopicNode, width: int = VALUE_CHARS) -> str:
    """The last payload of ``node`` in brief for its tree row ("" when it has none)."""
    last = node.last
    if last is None:
        return ""
    payload = last.payload
    if not payload:
        return "(empty)"
    view = text_view(payload[: width * 4], limit=width * 4)
    if not view.valid_utf8:
        return f"<{len(payload):,} B binary>"
    text = view.text
    first = text.split("\n", 1)[0]
    cut = len(payload) > width * 4 or view.truncated or len(first) < len(text) or len(first) > width
    return first[:width] + ("…" if cut else "")
