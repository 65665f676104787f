"""A recording or a capture opened read-only into the Workspace's models.

:class:`FileSource` fills the same models a live connection fills (topic tree and
message history, trace buffer, handshake, status) from a file, for one connection or
all of them, through :meth:`explorer.workspace.Workspace.ingest`, so both front ends
show a file with the views they show a broker with. Loading is lazy and bounded:

* it runs as a task in chunks; reading happens in a worker thread (SQLite releases the
  GIL while it reads; a capture is decoded there), and each chunk is handed to the
  models on the event loop, so the first screen comes at once and the views stay
  responsive while the rest comes in;
* memory stays bounded by the models' own limits (history per topic and in total, the
  trace buffer's events and bytes); a recording's trace events beyond the trace
  buffer's size are left in the file and counted (the first ones, the handshake among
  them, are kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from explorer.model.events import TraceEvent
from explorer.recording.capture import CaptureReader, Item, capture_to_recording, is_capture
from explorer.recording.query import Query
from explorer.recording.reader import Recording


class Target(Protocol):
    """What a file fills: the Workspace's ``ingest`` and the size of its trace buffer."""

    trace_limit: int

    def ingest(self, event: TraceEvent) -> None: ...


__all__ = ["CHUNK", "FileConnection", "FileSource", "Target"]

CHUNK = 5_000  # rows handed to the models per turn of the event loop
_CAPTURE_BACKLOG = 8  # decoded batches waiting for the models at most

FileKind = Literal["recording", "capture"]


@dataclass(frozen=True, slots=True)
class FileConnection:
    """One connection of a file, for a connection picker."""

    conn: int
    source: str  # broker URL, or "client -> server" of a capture
    client_id: str | None
    messages: int | None  # None while a capture is still being read


class FileSource:
    """A file being shown read-only; :meth:`load` fills a Workspace from it.

    Raises (from the constructor):
        RecordingError: not a recording or a capture, or a damaged recording.
        CaptureError: a capture that cannot be opened.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.kind: FileKind = "capture" if is_capture(self.path) else "recording"
        self.recording: Recording | None = Recording(self.path) if self.kind == "recording" else None
        self.conn: int | None = None
        self.total_messages: int | None = None
        self.loaded_messages = 0
        self.loaded_events = 0
        self.skipped_events = 0
        self.done = False
        self.error: str | None = None
        self._capture_connections: list[FileConnection] = []
        self._lock = threading.Lock()
        self._converted: Recording | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def connections(self) -> list[FileConnection]:
        """The connections the file holds (for a capture: those read so far)."""
        if self.recording is None:
            return list(self._capture_connections)
        return [
            FileConnection(info.conn, info.source, info.client_id, info.messages)
            for info in self.recording.connections()
        ]

    @property
    def progress(self) -> float | None:
        """Share of the messages loaded (None when the total is not known yet)."""
        if self.done:
            return 1.0
        if not self.total_messages:
            return None
        return min(1.0, self.loaded_messages / self.total_messages)

    def searchable(self) -> Recording:
        """The file as a recording to search and count: itself, or for a capture a
        temporary recording made from it on first use (blocking: call from a thread)."""
        if self.recording is not None:
            return self.recording
        with self._lock:
            if self._converted is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="mqttws-capture-")
                target = Path(self._tmp.name) / "capture.recording"
                capture_to_recording(self.path, target)
                self._converted = Recording(target)
            return self._converted

    def close(self) -> None:
        if self.recording is not None:
            self.recording.close()
        with self._lock:
            if self._converted is not None:
                self._converted.close()
                self._converted = None
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    async def load(self, workspace: Target, conn: int | None = None) -> None:
        """Fill ``workspace`` from the file: connection ``conn`` only, or all."""
        self.conn = conn
        self.loaded_messages = self.loaded_events = self.skipped_events = 0
        self.done = False
        self.error = None
        try:
            if self.recording is not None:
                await self._load_recording(workspace, self.recording, conn)
            else:
                await self._load_capture(workspace, conn)
        except Exception as exc:  # a read error ends the load with a sentence, never a traceback
            self.error = str(exc)
            raise
        finally:
            self.done = True

    async def _load_recording(self, workspace: Target, recording: Recording, conn: int | None) -> None:
        query = Query(conn=conn)
        self.total_messages = recording.message_count(conn)
        limit = workspace.trace_limit
        ingest = workspace.ingest
        if not recording.has_frames:
            # No trace events kept: the handshakes of the connections table stand in.
            for event in await asyncio.to_thread(recording.handshake_events, conn):
                ingest(event)
                self.loaded_events += 1
        events = recording.events(conn)
        while self.loaded_events < limit:
            chunk = await asyncio.to_thread(_take, events, min(CHUNK, limit - self.loaded_events))
            if not chunk:
                break
            for event in chunk:
                ingest(event)
            self.loaded_events += len(chunk)
        if self.loaded_events >= limit:
            self.skipped_events = recording.event_count(conn) - self.loaded_events
        messages = (message.to_event() for message in recording.search(query))
        while True:
            batch = await asyncio.to_thread(_take, messages, CHUNK)
            if not batch:
                break
            for event in batch:
                ingest(event)
            self.loaded_messages += len(batch)

    async def _load_capture(self, workspace: Target, conn: int | None) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[list[Item] | None] = asyncio.Queue()
        room = threading.Semaphore(_CAPTURE_BACKLOG)
        stop = threading.Event()

        def hand_over(items: list[Item]) -> None:
            while not room.acquire(timeout=0.1):
                if stop.is_set():
                    raise _Stopped
            loop.call_soon_threadsafe(queue.put_nowait, items)

        reader = CaptureReader(self.path, hand_over, select=None if conn is None else (conn,))

        def run() -> None:
            try:
                reader.run()
            except _Stopped:
                pass
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        worker = asyncio.create_task(asyncio.to_thread(run))
        ingest = workspace.ingest
        try:
            while (items := await queue.get()) is not None:
                room.release()
                for start in range(0, len(items), CHUNK):
                    for item in items[start : start + CHUNK]:
                        if isinstance(item, tuple):
                            ingest(item[1])
                            self.loaded_messages += 1
                        else:
                            ingest(item)
                            self.loaded_events += 1
                    await asyncio.sleep(0)
                self._note_connections(reader)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await worker  # re-raises what the reader failed with
        self._note_connections(reader)
        self.total_messages = self.loaded_messages

    def _note_connections(self, reader: CaptureReader) -> None:
        # A load of one connection decodes only that one: the others stay listed.
        known = {item.conn: item for item in self._capture_connections}
        for index, kind, client, server in reader.connections:
            known[index] = FileConnection(index, f"{kind} {client} -> {server}", None, None)
        self._capture_connections = [known[index] for index in sorted(known)]


class _Stopped(Exception):
    """The load was cancelled while the capture reader waited for room."""


def _take(source: Iterator[Any], count: int) -> list[Any]:
    out = []
    for item in source:
        out.append(item)
        if len(out) >= count:
            break
    return out
