"""A pcap or pcapng capture as a read-only source of trace events and messages.

What belongs here: turning a capture into what a live connection would have produced,
with the streaming capture pipeline (:class:`explorer.capture.pipeline.Pipeline`: the
file is read block by block, connections classified from their first bytes and decoded
as their bytes come), plus the messages of a capture: every PUBLISH in either direction,
topic aliases resolved per connection and direction (MQTT 5.0 §3.3.2.3.4).
:func:`capture_to_recording` writes the lot into a recording so that ``search``,
``stats`` and ``replay`` read captures and recordings the same way.
"""

from __future__ import annotations

import contextlib
import itertools
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from explorer.capture.pipeline import Pipeline, Stream
from explorer.capture.reader import CaptureFile
from explorer.capture.tcp import TcpConnection
from explorer.model.events import Direction, MessageReceived, PacketEvent, TraceEvent
from explorer.mqtt.packets import Publish
from explorer.recording.reader import Recording
from explorer.recording.writer import RecordingWriter, WriterStats

__all__ = [
    "CAPTURE_MAGICS",
    "CaptureReader",
    "MessageExtractor",
    "capture_to_recording",
    "is_capture",
    "open_file",
]

CAPTURE_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)

Item = TraceEvent | tuple[Direction, MessageReceived]
"""A trace event, or a message with its direction (``c2s``: published by the client)."""


def is_capture(path: str | Path) -> bool:
    """Whether the file starts like a pcap or pcapng capture."""
    try:
        with Path(path).open("rb") as handle:
            return handle.read(4) in CAPTURE_MAGICS
    except OSError:
        return False


class MessageExtractor:
    """The application messages among trace events: each PUBLISH, with its direction."""

    def __init__(self) -> None:
        self._aliases: dict[tuple[int, str], dict[int, str]] = {}

    def take(self, events: Iterable[TraceEvent]) -> Iterator[tuple[Direction, MessageReceived]]:
        for event in events:
            if type(event) is not PacketEvent:
                continue
            assert isinstance(event, PacketEvent)
            packet = event.packet
            if type(packet) is not Publish:
                continue
            assert isinstance(packet, Publish)
            topic = packet.topic
            alias = packet.properties.topic_alias
            if alias is not None:
                table = self._aliases.setdefault((event.conn, event.direction), {})
                if topic:
                    table[alias] = topic
                else:
                    topic = table.get(alias, "")
            if not topic:
                continue
            message = MessageReceived(
                event.seq, event.time, event.conn, topic, packet.payload, packet.qos, packet.retain, packet
            )
            yield event.direction, message


class CaptureReader:
    """Reads a capture in one pass, handing each batch of a connection's items (trace
    events followed by the messages among them) to ``on_items`` as it is decoded.

    ``connections`` lists ``(conn, kind, client, server)`` of every MQTT or
    MQTT-over-WebSocket connection seen so far; ``select`` limits decoding to some.

    Raises:
        CaptureError: the file is not a capture or is corrupt before its end.
    """

    def __init__(
        self,
        path: str | Path,
        on_items: Callable[[list[Item]], None],
        *,
        select: Iterable[int] | None = None,
    ) -> None:
        self.path = Path(path)
        self._on_items = on_items
        self._select = frozenset(select) if select is not None else None
        self._messages = MessageExtractor()
        self.connections: list[tuple[int, str, str, str]] = []
        self.problems: list[str] = []
        self.file = CaptureFile(self.path)

    # Consumer of the pipeline -------------------------------------------------------

    def started(self, stream: Stream, base: float) -> None:
        del base

    def events(self, stream: Stream, events: list[TraceEvent]) -> None:
        items: list[Item] = list(events)
        items.extend(self._messages.take(events))
        self._on_items(items)

    def finished(self, stream: Stream, conn: TcpConnection) -> None:
        if stream.kind in ("websocket", "mqtt"):
            self.connections.append((stream.index, stream.kind, str(conn.client), str(conn.server)))

    # --------------------------------------------------------------------------------

    def run(self, tick: Callable[[], None] | None = None) -> None:
        """Read the whole capture (``tick`` is called every few thousand segments)."""
        try:
            pipeline = Pipeline(self.file, self, itertools.count().__next__, select=self._select)
            pipeline.run(tick)
        finally:
            self.problems = list(self.file.state.problems)
            self.file.close()


def capture_to_recording(path: str | Path, out: str | Path, *, frames: bool = True) -> WriterStats:
    """Write a capture's connections, messages (and with ``frames`` every trace event)
    into a new recording ``out``.

    Raises:
        CaptureError: the capture cannot be read.
        RecordingError: ``out`` cannot be created.
    """
    writer = RecordingWriter(out, frames=frames, source=Path(path).name, queue_limit=1 << 62)

    def write(items: list[Item]) -> None:
        writer.wait_below(200_000)  # the decoder may outrun the disk: memory stays bounded
        for item in items:
            if isinstance(item, tuple):
                direction, message = item
                if direction == "s2c":
                    writer.add(message)
                else:
                    writer.add_published(message)
            else:
                writer.add(item)

    try:
        CaptureReader(path, write).run()
    finally:
        stats = writer.close()
    return stats


@contextlib.contextmanager
def open_file(path: str | Path) -> Iterator[Recording]:
    """A recording, or a capture made into a temporary recording, opened for reading.

    Raises:
        RecordingError: not a recording (one sentence).
        CaptureError: a capture that cannot be read.
    """
    if is_capture(path):
        with tempfile.TemporaryDirectory(prefix="mqttws-capture-") as tmp:
            target = Path(tmp) / "capture.recording"
            capture_to_recording(path, target)
            recording = Recording(target)
            try:
                yield recording
            finally:
                recording.close()
        return
    recording = Recording(path)
    try:
        yield recording
    finally:
        recording.close()
