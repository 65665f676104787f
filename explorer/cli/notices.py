"""Warnings the connecting commands print on stderr, kept light to import.

``pub`` needs them without the rest of ``sub`` (its listing, message formats and
subscription flow), so that one publish starts fast.
"""

from __future__ import annotations

from collections.abc import Iterable

from explorer.model.events import ErrorReported, TraceEvent

__all__ = ["connection_warnings"]


def connection_warnings(events: Iterable[TraceEvent]) -> list[str]:
    """One-line warnings for the problems a plain listing would not show.

    The client reports a WebSocket handshake it accepted anyway (a subprotocol the
    server did not echo, or one it was not offered) as an ``ErrorReported`` of layer
    ``websocket``; only ``--trace`` shows those, and a browser would refuse the
    connection, so ``sub`` and ``pub`` print them on stderr.
    """
    return [
        f"mqttws-explorer: warning: {event.message}"
        for event in events
        if isinstance(event, ErrorReported) and event.layer == "websocket"
    ]
