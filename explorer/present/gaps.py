"""Outages of a reconnecting connection, found in its trace events, and the words for them.

A client with reconnection on loses its connection, waits, and connects again; what was
published meanwhile is lost unless the broker kept the session (and even then QoS 0
messages are gone). :class:`GapTracker` follows the ``StateChanged`` events and the
CONNACK of each new connection and reports each outage once, as a :class:`Gap`, when
the connection is back; :func:`gap_notice` and :func:`gap_to_json` say it for a person
and for a JSON-lines reader.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from explorer.model.events import PacketEvent, StateChanged, TraceEvent
from explorer.mqtt.packets import Connack

__all__ = ["Gap", "GapTracker", "gap_notice", "gap_to_json"]


@dataclass(frozen=True, slots=True)
class Gap:
    """One outage: from the connection's loss to the next CONNACK (event-clock seconds)."""

    start: float
    end: float
    reason: str
    session_present: bool
    attempts: int

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


class GapTracker:
    """Watches trace events; :meth:`observe` returns a :class:`Gap` when a lost connection is back."""

    def __init__(self) -> None:
        self._connected = False
        self._lost_at: float | None = None
        self._reason = ""
        self._attempts = 0
        self._session_present = False

    def observe(self, event: TraceEvent) -> Gap | None:
        if isinstance(event, PacketEvent):
            if event.direction == "s2c" and isinstance(event.packet, Connack):
                self._session_present = bool(event.packet.session_present)
            return None
        if not isinstance(event, StateChanged):
            return None
        state = event.state
        if state == "connected":
            gap = None
            if self._lost_at is not None:
                gap = Gap(self._lost_at, event.time, self._reason, self._session_present, self._attempts)
            self._connected = True
            self._lost_at = None
            self._attempts = 0
            return gap
        if state == "disconnected" and self._connected:
            self._connected = False
            self._lost_at = event.time
            self._reason = event.detail
        elif state == "connecting" and self._lost_at is not None:
            self._attempts += 1
            self._session_present = False
        return None


def gap_notice(gap: Gap, *, clean_start: bool) -> str:
    """One line for stderr: how long the connection was down, why, and what was lost."""
    tries = "" if gap.attempts <= 1 else f", {gap.attempts} attempts"
    head = f"reconnected after {gap.seconds:.1f} s offline ({gap.reason or 'connection lost'}{tries})"
    if gap.session_present:
        lost = (
            "the broker kept the session: QoS 1 and 2 messages queued meanwhile follow; "
            "QoS 0 messages published meanwhile are lost"
        )
    elif clean_start:
        lost = "messages published meanwhile are lost (clean session: the broker kept nothing for us)"
    else:
        lost = "messages published meanwhile are lost (the broker had no session to resume)"
    return f"{head}; {lost}"


def gap_to_json(gap: Gap, *, time_offset: float = 0.0) -> dict[str, Any]:
    """The gap marker of JSON-lines output: ``{"gap": {...}}``, times in seconds since the epoch."""
    return {
        "gap": {
            "start": gap.start + time_offset,
            "end": gap.end + time_offset,
            "seconds": round(gap.seconds, 3),
            "reason": gap.reason,
            "session_present": gap.session_present,
            "attempts": gap.attempts,
        }
    }
