"""The Workspace's recording sink: the live session written to a recording file.

:class:`RecordingSink` wraps a :class:`explorer.recording.RecordingWriter` for the
Workspace: it is fed every event the Workspace ingests (one bounded-queue append on the
views' loop; the writing happens on the writer's thread), it seeds a recording started
mid-session with the handshake and connection events still in the trace buffer, and it
makes the :class:`RecordingStatus` a status line shows (file, size, rate, drops).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from explorer.client.options import ConnectionOptions
from explorer.errors import ExplorerError
from explorer.model.events import HandshakeRequest, HandshakeResponse, PacketEvent, StateChanged, TraceEvent
from explorer.mqtt.packets import Connack, Connect
from explorer.present.status import RateMeter
from explorer.recording.writer import DEFAULT_MAX_SIZE, RecordingWriter, WriterStats

__all__ = ["RecordingSink", "RecordingStatus", "public_url"]


def public_url(url: str) -> str:
    """``url`` without its userinfo (a password there never lands in a recording)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, ""))


@dataclass(frozen=True, slots=True)
class RecordingStatus:
    """What a status line says about a recording in progress (or just ended)."""

    path: str
    messages: int
    file_size: int
    max_size: int
    msgs_per_s: float
    dropped: int
    evicted: int
    active: bool
    error: str | None = None


class RecordingSink:
    """A recording of the Workspace's events, started and stopped by the user.

    Args:
        path: the new recording file.
        frames: keep every trace event with its bytes.
        max_size: the file's size budget.
        wall_offset: the Workspace's offset from event times to epoch seconds.
        source: the broker URL (userinfo is removed here).
        secret_names: HTTP headers whose values are starred.
        clock: monotonic seconds for the rate.

    Raises:
        RecordingError: the file exists or cannot be created.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        frames: bool = False,
        max_size: int = DEFAULT_MAX_SIZE,
        wall_offset: float = 0.0,
        source: str = "",
        secret_names: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.writer = RecordingWriter(
            path,
            frames=frames,
            max_size=max_size,
            wall_offset=wall_offset,
            source=public_url(source) if source else "",
            secret_names=tuple(secret_names),
        )
        self.add = self.writer.add  # the hot path: one bound call per event
        self._rate = RateMeter(clock)
        self._final: WriterStats | None = None

    def use_connection(self, options: ConnectionOptions) -> None:
        """Name the broker in the recording (without userinfo) and star the headers
        ``options`` marks secret, for the connections made from now on."""
        try:
            self.writer.source = options.endpoint.url()
        except ExplorerError:
            self.writer.source = ""
        self.writer.secret_names = tuple(name for name, _ in options.secret_headers)

    def seed(self, events: Iterable[TraceEvent], conn: int) -> None:
        """Queue the events that describe connection ``conn`` so far (from the trace
        buffer), so a recording started mid-session still holds its handshake."""
        for event in events:
            if event.conn != conn:
                continue
            kind = type(event)
            if kind in (HandshakeRequest, HandshakeResponse, StateChanged):
                self.add(event)
            elif kind is PacketEvent:
                assert isinstance(event, PacketEvent)
                if isinstance(event.packet, Connect | Connack):
                    self.add(event)

    @property
    def active(self) -> bool:
        return self._final is None

    def status(self) -> RecordingStatus:
        stats = self._final or self.writer.stats
        return RecordingStatus(
            path=stats.path,
            messages=stats.messages,
            file_size=stats.file_size,
            max_size=stats.max_size,
            msgs_per_s=self._rate.rate(stats.messages) if self._final is None else 0.0,
            dropped=stats.dropped,
            evicted=stats.evicted,
            active=self._final is None,
            error=self.writer.error,
        )

    def take_notices(self) -> list[str]:
        return self.writer.take_notices()

    def close(self) -> RecordingStatus:
        """Write what is queued and close the file.

        Raises:
            RecordingError: the last write failed.
        """
        if self._final is None:
            self._final = self.writer.close()
        return self.status()
