"""Connection status: what the status line of both front ends shows, made once.

The Workspace keeps a :class:`StatusTracker` that watches the trace events as they pass
(handshake request and response, CONNECT/CONNACK, PINGREQ/PINGRESP, state changes, errors)
and the message count, and makes a :class:`ConnectionStatus` value on demand. A snapshot is a
plain frozen value so a view can compare it with the previous one and redraw only on a
difference.

:func:`status_line` turns a snapshot into the :class:`StatusLine` both front ends render:
the fields in order, each with its text, its :class:`Severity` (the one colour rule: a UI
maps a severity to its own colour) and a priority saying which fields give way first on a
narrow screen. Warnings about the link (no subprotocol echoed, TLS verification off) stay
on the line for as long as the connection lasts. Nothing here does I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import assert_never

from explorer.model.events import (
    ConnectionState,
    ErrorReported,
    HandshakeRequest,
    HandshakeResponse,
    PacketEvent,
    StateChanged,
    TraceEvent,
)
from explorer.mqtt.enums import PacketType, ProtocolVersion
from explorer.mqtt.packets import Connack, Connect

__all__ = [
    "ConnectionState",
    "ConnectionStatus",
    "Priority",
    "RateMeter",
    "Severity",
    "StatusField",
    "StatusLine",
    "StatusTracker",
    "format_count",
    "format_size",
    "state_severity",
    "status_line",
]


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """One snapshot of the active connection, for status lines and status bars.

    ``msgs_per_s`` is measured over the last two seconds of the Workspace clock;
    ``dropped_events`` counts trace events the bounded trace buffer let go (the oldest
    first); ``rtt_ms`` is the latest PINGREQ to PINGRESP (or CONNECT to CONNACK) time.
    ``history_count`` / ``history_bytes`` are the per-topic history limits,
    ``history_kept_bytes`` the history held now over all topics and
    ``history_total_bytes`` its limit.
    """

    state: ConnectionState = ConnectionState.IDLE
    url: str = ""
    subprotocol: str | None = None
    tls_version: str | None = None
    cipher: str | None = None
    mqtt_version: str | None = None
    client_id: str | None = None
    rtt_ms: float | None = None
    msgs_per_s: float = 0.0
    messages: int = 0
    topics: int = 0
    dropped_events: int = 0
    trace_size: int = 0
    trace_limit: int = 0
    history_count: int = 0
    history_bytes: int = 0
    history_kept_bytes: int = 0
    history_total_bytes: int = 0
    detail: str = ""
    last_error: str | None = None
    embedded: bool = False
    insecure: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def connected(self) -> bool:
        return self.state is ConnectionState.CONNECTED


class RateMeter:
    """Messages per second over a sliding window, on an injected clock."""

    def __init__(self, clock: Callable[[], float], window: float = 2.0) -> None:
        self._clock = clock
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def rate(self, count: int) -> float:
        """Record ``count`` (a running total) now and return the rate over the window."""
        now = self._clock()
        samples = self._samples
        if not samples or now > samples[-1][0]:
            samples.append((now, count))
        else:
            samples[-1] = (samples[-1][0], count)
        # Keep as anchor the newest sample at least one window old.
        while len(samples) > 1 and now - samples[1][0] >= self._window:
            samples.popleft()
        first_time, first_count = samples[0]
        span = now - first_time
        if span <= 0:
            return 0.0
        return max(0.0, (count - first_count) / span)

    def reset(self) -> None:
        self._samples.clear()


class StatusTracker:
    """Follows the trace events of the active connection and remembers what status shows.

    ``observe`` runs on the hot path for every event, so it looks only at the rare
    event types and returns at once for frames, PUBLISH packets and messages.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(
        self, url: str = "", state: ConnectionState = ConnectionState.IDLE, *, insecure: bool = False
    ) -> None:
        """Forget the previous connection (a new connect starts)."""
        self.state: ConnectionState = state
        self.insecure = insecure
        self.offered_subprotocols: tuple[str, ...] = ()
        self.warnings: tuple[str, ...] = ()
        self.detail = ""
        self.url = url
        self.subprotocol: str | None = None
        self.tls_version: str | None = None
        self.cipher: str | None = None
        self.mqtt_version: ProtocolVersion | None = None
        self.client_id: str | None = None
        self.rtt_ms: float | None = None
        self.last_error: str | None = None
        self._ping_sent: float | None = None
        self._connect_sent: float | None = None

    def observe(self, event: TraceEvent) -> None:
        kind = type(event)
        if kind is PacketEvent:
            assert isinstance(event, PacketEvent)
            self._observe_packet(event)
        elif kind is StateChanged:
            assert isinstance(event, StateChanged)
            self.state = ConnectionState(event.state)
            self.detail = event.detail
        elif kind is HandshakeRequest:
            assert isinstance(event, HandshakeRequest)
            self.offered_subprotocols = _offered_subprotocols(event.headers)
            self.subprotocol = None
            self.warnings = ()
        elif kind is HandshakeResponse:
            assert isinstance(event, HandshakeResponse)
            self.subprotocol = event.subprotocol
            warning = subprotocol_warning(self.offered_subprotocols, event.subprotocol, event.status)
            self.warnings = (warning,) if warning else ()
        elif kind is ErrorReported:
            assert isinstance(event, ErrorReported)
            self.last_error = f"{event.layer}: {event.message}"

    def _observe_packet(self, event: PacketEvent) -> None:
        packet_type = event.packet.TYPE
        if packet_type is PacketType.PUBLISH:
            return
        if packet_type is PacketType.PINGREQ and event.direction == "c2s":
            self._ping_sent = event.time
        elif packet_type is PacketType.PINGRESP and event.direction == "s2c":
            if self._ping_sent is not None:
                self.rtt_ms = max(0.0, (event.time - self._ping_sent) * 1000.0)
                self._ping_sent = None
        elif packet_type is PacketType.CONNECT and event.direction == "c2s":
            assert isinstance(event.packet, Connect)
            self._connect_sent = event.time
            self.mqtt_version = event.packet.protocol_version
            self.client_id = event.packet.client_id or None
        elif packet_type is PacketType.CONNACK and event.direction == "s2c":
            assert isinstance(event.packet, Connack)
            if self._connect_sent is not None:
                self.rtt_ms = max(0.0, (event.time - self._connect_sent) * 1000.0)
                self._connect_sent = None
            assigned = event.packet.properties.assigned_client_identifier
            if assigned:
                self.client_id = assigned


def _offered_subprotocols(headers: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The ``Sec-WebSocket-Protocol`` values a request offered, in order."""
    offered: list[str] = []
    for name, value in headers:
        if name.lower() == "sec-websocket-protocol":
            offered.extend(item.strip() for item in value.split(",") if item.strip())
    return tuple(offered)


def subprotocol_warning(offered: tuple[str, ...], chosen: str | None, status: int = 101) -> str | None:
    """What is wrong with the server's subprotocol answer, in a few words (None: nothing).

    [MQTT-6.0.0-4] the server selects one of the offered MQTT subprotocols; RFC 6455 §4.1
    (item 6) a value that was not offered fails the connection in a browser.
    """
    if status != 101:
        return None
    if chosen is None and offered:
        return f"no subprotocol echoed (offered {', '.join(offered)})"
    if chosen is not None and chosen not in offered:
        return f"subprotocol {chosen} was not offered"
    return None


class Severity(StrEnum):
    """How a status field should look; each UI maps a severity to its colours once."""

    NORMAL = "normal"
    QUIET = "quiet"  # secondary facts, drawn dim
    GOOD = "good"  # connected
    BUSY = "busy"  # connecting, reconnecting
    WARNING = "warning"  # works, but something is off
    ERROR = "error"  # failed, or the link ended


class Priority(IntEnum):
    """Which fields give way first when the line is too narrow (the highest number first)."""

    ESSENTIAL = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3


@dataclass(frozen=True, slots=True)
class StatusField:
    """One field of the status line: a stable key, its text, and how it looks."""

    key: str
    text: str
    severity: Severity = Severity.NORMAL
    priority: Priority = Priority.MEDIUM
    tooltip: str = ""


SEPARATOR = "  │ "
"""What the terminal explorer puts between two fields (counted by :meth:`StatusLine.fit`)."""


@dataclass(frozen=True, slots=True)
class StatusLine:
    """The status line both front ends draw: fields in order, and the window title."""

    fields: tuple[StatusField, ...]
    title: str
    state: ConnectionState

    def field(self, key: str) -> StatusField | None:
        for item in self.fields:
            if item.key == key:
                return item
        return None

    def text(self, key: str) -> str:
        item = self.field(key)
        return item.text if item is not None else ""

    @property
    def plain(self) -> str:
        return SEPARATOR.join(item.text for item in self.fields)

    def fit(self, width: int, *, separator: int = len(SEPARATOR)) -> tuple[StatusField, ...]:
        """The fields that fit in ``width`` cells: the lowest priorities give way first.

        Order is kept; an essential field stays even when it does not fit (the UI cuts
        it with an ellipsis then).
        """
        kept = list(self.fields)

        def length() -> int:
            return sum(len(item.text) for item in kept) + separator * max(0, len(kept) - 1) + 2

        for level in (Priority.LOW, Priority.MEDIUM, Priority.HIGH):
            if length() <= width:
                break
            # Drop this level's fields from the end of the line until it fits.
            for item in reversed([f for f in kept if f.priority is level]):
                kept.remove(item)
                if length() <= width:
                    break
        return tuple(kept)


def state_severity(state: ConnectionState) -> Severity:
    """The one colour rule of connection states."""
    match state:
        case ConnectionState.CONNECTED:
            return Severity.GOOD
        case ConnectionState.CONNECTING | ConnectionState.RECONNECTING:
            return Severity.BUSY
        case ConnectionState.FAILED | ConnectionState.DISCONNECTED | ConnectionState.CLOSED:
            return Severity.ERROR
        case ConnectionState.IDLE | ConnectionState.FILE:
            return Severity.NORMAL
        case _:
            assert_never(state)


def format_count(value: int) -> str:
    """A count in a few characters: 9,999, then 12k, then 12M."""
    if value >= 10_000_000:
        return f"{value / 1_000_000:.0f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:,}"


def format_size(value: int) -> str:
    if value >= 1024 * 1024:
        return f"{value / (1024 * 1024):.0f} MiB"
    if value >= 1024:
        return f"{value / 1024:.0f} KiB"
    return f"{value} B"


def status_line(status: ConnectionStatus, *, paused: bool = False) -> StatusLine:
    """The fields of the status line for ``status`` (``paused``: the frame list stands still)."""
    state = status.state
    fields: list[StatusField] = [
        StatusField("state", str(state), state_severity(state), Priority.ESSENTIAL, status.last_error or ""),
    ]
    if status.url:
        url = status.url + (" (embedded broker)" if status.embedded else "")
        fields.append(StatusField("url", url, Severity.NORMAL, Priority.ESSENTIAL))
    else:
        fields.append(StatusField("url", "no connection", Severity.QUIET, Priority.ESSENTIAL))
    if status.insecure:
        fields.append(
            StatusField(
                "insecure",
                "TLS not verified (insecure)",
                Severity.WARNING,
                Priority.ESSENTIAL,
                "certificate verification is off: the server is not authenticated",
            )
        )
    if status.warnings:
        fields.append(
            StatusField("warning", "; ".join(status.warnings), Severity.WARNING, Priority.ESSENTIAL)
        )
    websocket = status.url.startswith(("ws://", "wss://"))
    if status.subprotocol:
        fields.append(StatusField("subprotocol", f"subprotocol {status.subprotocol}", priority=Priority.HIGH))
    elif websocket and status.state is ConnectionState.CONNECTED:
        fields.append(StatusField("subprotocol", "no subprotocol", Severity.WARNING, Priority.HIGH))
    if status.tls_version:
        tls = status.tls_version + (f" {status.cipher}" if status.cipher else "")
        fields.append(StatusField("tls", tls, priority=Priority.LOW))
    elif status.url:
        fields.append(StatusField("tls", "no TLS", Severity.QUIET, Priority.LOW))
    if status.mqtt_version:
        fields.append(StatusField("mqtt", f"MQTT {status.mqtt_version}", priority=Priority.HIGH))
    if status.rtt_ms is not None:
        fields.append(StatusField("rtt", f"rtt {status.rtt_ms:.1f} ms", Severity.QUIET, Priority.LOW))
    fields.append(StatusField("rate", f"{status.msgs_per_s:,.0f} msg/s", priority=Priority.ESSENTIAL))
    fields.append(
        StatusField(
            "counts",
            f"{format_count(status.messages)} msgs · {format_count(status.topics)} topics",
            priority=Priority.MEDIUM,
        )
    )
    limits = (
        f"trace buffer: {status.trace_size:,} of {status.trace_limit:,} events kept; "
        f"history: {status.history_count} messages and {format_size(status.history_bytes)} per topic"
    )
    if status.dropped_events:
        fields.append(
            StatusField(
                "drops",
                f"{format_count(status.dropped_events)} trace events dropped",
                Severity.WARNING,
                Priority.MEDIUM,
                limits,
            )
        )
    else:
        fields.append(StatusField("drops", "no drops", Severity.QUIET, Priority.LOW, limits))
    fields.append(
        StatusField(
            "trace",
            f"trace {format_count(status.trace_size)}/{format_count(status.trace_limit)}",
            Severity.QUIET,
            Priority.LOW,
            limits,
        )
    )
    fields.append(
        StatusField(
            "history",
            f"history {status.history_count}/topic, {format_size(status.history_bytes)}",
            Severity.QUIET,
            Priority.LOW,
            limits,
        )
    )
    if paused:
        fields.append(StatusField("paused", "PAUSED", Severity.WARNING, Priority.ESSENTIAL))
    if state.ended and (status.last_error or status.detail):
        fields.append(
            StatusField("error", status.last_error or status.detail, Severity.ERROR, Priority.ESSENTIAL)
        )
    title = f"{status.url or 'not connected'} ({state}) · mqttws-explorer"
    return StatusLine(tuple(fields), title, state)
