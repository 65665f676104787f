"""A pcap or pcapng capture as a read-only source of trace events and messages.

What belongs here: turning a capture into what a live connection would have produced,
with the capture reader (:mod:`explorer.capture`) and the decoder that ``decode`` uses
(each connection classified from its first bytes, then fed through a
``ConnectionDecoder``), plus the messages of a capture: every PUBLISH in either
direction, topic aliases resolved per connection and direction (MQTT 5.0 §3.3.2.3.4).
:func:`capture_to_recording` writes the lot into a recording so that ``search``,
``stats`` and ``replay`` read captures and recordings the same way.
"""

from __future__ import annotations

import contextlib
import itertools
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from explorer.capture import read_capture
from explorer.cli.decode import classify, decode_connection
from explorer.model.events import Direction, MessageReceived, PacketEvent, TraceEvent
from explorer.mqtt.packets import Publish
from explorer.recording.reader import Recording
from explorer.recording.writer import RecordingWriter, WriterStats

__all__ = [
    "CAPTURE_MAGICS",
    "CaptureConnection",
    "capture_to_recording",
    "is_capture",
    "messages_of",
    "open_file",
    "read_capture_events",
]

CAPTURE_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)


def is_capture(path: str | Path) -> bool:
    """Whether the file starts like a pcap or pcapng capture."""
    try:
        with Path(path).open("rb") as handle:
            return handle.read(4) in CAPTURE_MAGICS
    except OSError:
        return False


@dataclass(slots=True)
class CaptureConnection:
    """One decoded TCP connection of a capture."""

    conn: int
    kind: str
    client: str
    server: str
    events: list[TraceEvent] = field(default_factory=list)


def read_capture_events(path: str | Path) -> tuple[list[CaptureConnection], list[str]]:
    """Every MQTT or MQTT-over-WebSocket connection of a capture with its trace events,
    and the capture's problems (sentences).

    Raises:
        CaptureError: the file is not a capture or cannot be read.
    """
    capture = read_capture(path)
    counter = itertools.count()
    out = []
    for tcp in capture.connections:
        kind = classify(tcp)
        if kind not in ("websocket", "mqtt"):
            continue
        events = decode_connection(tcp, kind, lambda: next(counter))
        out.append(CaptureConnection(tcp.index, kind, str(tcp.client), str(tcp.server), events))
    return out, list(capture.problems)


def messages_of(events: Iterable[TraceEvent]) -> Iterator[tuple[Direction, MessageReceived]]:
    """The application messages among trace events: each PUBLISH, with its direction."""
    aliases: dict[tuple[int, str], dict[int, str]] = {}
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
            table = aliases.setdefault((event.conn, event.direction), {})
            if topic:
                table[alias] = topic
            else:
                topic = table.get(alias, "")
        if not topic:
            continue
        yield (
            event.direction,
            MessageReceived(
                event.seq, event.time, event.conn, topic, packet.payload, packet.qos, packet.retain, packet
            ),
        )


def capture_to_recording(path: str | Path, out: str | Path, *, frames: bool = True) -> WriterStats:
    """Write a capture's connections, messages (and with ``frames`` every trace event)
    into a new recording ``out``.

    Raises:
        CaptureError: the capture cannot be read.
        RecordingError: ``out`` cannot be created.
    """
    connections, _ = read_capture_events(path)
    items: list[tuple[float, int, TraceEvent | tuple[Direction, MessageReceived]]] = []
    for connection in connections:
        items.extend((event.time, len(items), event) for event in connection.events)
        items.extend((message[1].time, len(items), message) for message in messages_of(connection.events))
    items.sort(key=lambda item: (item[0], item[1]))  # capture time across connections
    writer = RecordingWriter(out, frames=frames, source=Path(path).name, queue_limit=1 << 62)
    try:
        for _, _, item in items:
            if isinstance(item, tuple):
                direction, message = item
                if direction == "s2c":
                    writer.add(message)
                else:
                    writer.add_published(message)
            else:
                writer.add(item)
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
