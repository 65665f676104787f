"""Default subscriptions of the front ends, in one place so both show the same topics.

A connection made without any ``-t`` filter and without a profile's subscriptions
subscribes to :data:`DEFAULT_SUBSCRIPTIONS`. The embedded broker also publishes its
statistics under ``$SYS/``, which ``#`` does not match: a filter starting with a
wildcard never matches a topic name starting with ``$`` [MQTT-4.7.2-1]. So on the
embedded broker the front ends subscribe to :data:`EMBEDDED_SUBSCRIPTIONS`, which adds
``$SYS/#``.
"""

from __future__ import annotations

__all__ = ["DEFAULT_SUBSCRIPTIONS", "EMBEDDED_SUBSCRIPTIONS", "Subscriptions"]

Subscriptions = tuple[tuple[str, int], ...]
"""Topic filters with their requested QoS, in subscription order."""

DEFAULT_SUBSCRIPTIONS: Subscriptions = (("#", 0),)
"""Everything a broker lets through ``#`` (no ``$``-topics) [MQTT-4.7.2-1]."""

EMBEDDED_SUBSCRIPTIONS: Subscriptions = (("#", 0), ("$SYS/#", 0))
"""Everything on the embedded broker, its ``$SYS`` statistics included."""
