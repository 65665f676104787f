"""Connection status: what a status bar shows, as one immutable snapshot.

The Workspace keeps a :class:`StatusTracker` that watches the trace events as they pass
(handshake response, CONNECT/CONNACK, PINGREQ/PINGRESP, state changes, errors) and the
message count, and makes a :class:`ConnectionStatus` value on demand. A snapshot is a
plain frozen value so a view can compare it with the previous one and redraw only on a
difference.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from explorer.model.events import ErrorReported, HandshakeResponse, PacketEvent, StateChanged, TraceEvent
from explorer.mqtt.enums import PacketType, ProtocolVersion
from explorer.mqtt.packets import Connack, Connect

__all__ = ["ConnectionState", "ConnectionStatus", "RateMeter", "StatusTracker"]

ConnectionState = str
"""``idle``, ``connecting``, ``connected``, ``reconnecting``, ``disconnected``, ``failed``,
or a state named by the client's ``StateChanged`` events."""


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

    state: ConnectionState = "idle"
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

    @property
    def connected(self) -> bool:
        return self.state == "connected"


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

    def reset(self, url: str = "", state: ConnectionState = "idle") -> None:
        """Forget the previous connection (a new connect starts)."""
        self.state: ConnectionState = state
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
            self.state = event.state
            self.detail = event.detail
        elif kind is HandshakeResponse:
            assert isinstance(event, HandshakeResponse)
            self.subprotocol = event.subprotocol
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
