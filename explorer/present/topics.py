"""Which topic tree rows both explorers unfold by themselves.

A new user should see live topics at once without pressing keys, so the first two levels
unfold as they appear; ``$``-topics (``$SYS`` statistics) stay folded, or they would push
the application's topics out of view. While a search filter is set, every row unfolds so
each hit shows.
"""

from __future__ import annotations

from explorer.model.topictree import TopicNode

__all__ = ["UNFOLD_DEPTH", "unfolds_by_itself"]

UNFOLD_DEPTH = 2
"""Rows at depth 1 and 2 (``demo``, ``demo/sensors``) unfold when they appear."""


def unfolds_by_itself(node: TopicNode, *, filtered: bool = False) -> bool:
    """Whether ``node`` is shown unfolded when it first appears."""
    if filtered:
        return True
    return node.depth <= UNFOLD_DEPTH and not node.topic.startswith("$")
