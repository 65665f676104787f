"""The Workspace's files and recordings: a file shown read-only, the record toggle,
search and topic statistics.

:class:`SourcesMixin` is part of :class:`explorer.workspace.core.Workspace` (kept apart
so each module stays small): it opens a recording or a capture into the Workspace's
models (:mod:`explorer.workspace.filesource`), records the live session
(:mod:`explorer.workspace.recorder`), and answers searches and top-talker counts from
the file shown or the session's recording. It holds no protocol logic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from explorer.errors import ExplorerError
from explorer.model.events import ConnectionState, TraceEvent

if TYPE_CHECKING:
    from explorer.client.options import ConnectionOptions
    from explorer.model.topictree import TopicTree
    from explorer.model.trace import TraceBuffer
    from explorer.present.status import RateMeter, StatusTracker
    from explorer.recording import Message, Query, Recording
    from explorer.recording.stats import TopicStats
    from explorer.workspace.batching import Fanout
    from explorer.workspace.filesource import FileSource
    from explorer.workspace.recorder import RecordingSink, RecordingStatus

__all__ = ["SourcesMixin"]

_T = TypeVar("_T")


class SourcesMixin:
    """Files shown read-only, recordings, search and statistics of a Workspace."""

    # What the Workspace provides (see explorer.workspace.core).
    tree: TopicTree
    trace: TraceBuffer
    trace_limit: int
    options: ConnectionOptions | None
    subscriptions: dict[str, int]
    wall_offset: float
    clock: Callable[[], float]
    _tracker: StatusTracker
    _rate: RateMeter
    _fanout: Fanout
    _own_retained: set[str]
    _conn: int
    _file: FileSource | None
    _file_task: asyncio.Task[None] | None
    _live_stats: TopicStats | None
    _recording: RecordingSink | None
    _recorder: Callable[[TraceEvent], None] | None

    if TYPE_CHECKING:

        async def disconnect(self) -> None: ...

        def ingest(self, event: TraceEvent) -> None: ...

    # -- files (read-only) -------------------------------------------------------------

    @property
    def file(self) -> FileSource | None:
        """The recording or capture shown read-only, or None for a live session."""
        return self._file

    async def open_file(self, path: Path | str, conn: int | None = None) -> FileSource:
        """Show a recording, a pcap or a pcapng read-only: the live connection (if any)
        is closed (and a recording of it stopped), the models are emptied and filled from
        the file in the background
        (connection ``conn`` only, or all); :meth:`wait_loaded` waits for the end.

        Raises:
            RecordingError: not a recording or a capture, or a damaged recording.
            CaptureError: a capture that cannot be opened.
        """
        from explorer.workspace.filesource import FileSource

        source = FileSource(path)
        await self.close_file()
        await self.stop_recording()  # a recording holds the live session, never a file's events
        await self.disconnect()
        self._file = source
        self._start_loading(conn)
        return source

    async def show_file_connection(self, conn: int | None) -> None:
        """Show another connection of the open file (None: all of them)."""
        if self._file is None:
            return
        await self._stop_loading()
        self._start_loading(conn)

    def _start_loading(self, conn: int | None) -> None:
        source = self._file
        assert source is not None
        self.tree.clear()
        self.trace.clear()
        self._own_retained.clear()
        self.options = None
        self.subscriptions = {}
        label = source.name if conn is None else f"{source.name} (connection {conn})"
        self._tracker.reset(url=label, state=ConnectionState.FILE)
        self._rate.reset()
        self._file_task = asyncio.create_task(self._load_file(source, conn))
        self._fanout.notify()

    async def _load_file(self, source: FileSource, conn: int | None) -> None:
        try:
            await source.load(self, conn)
        finally:
            # The file's own state events (connected, closed...) passed through the
            # tracker; what the status shows now is the file.
            self._tracker.state = ConnectionState.FILE
            self._tracker.detail = source.error or ""
            self._fanout.notify()

    async def _stop_loading(self) -> None:
        task, self._file_task = self._file_task, None
        if task is not None and not task.done():
            task.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def wait_loaded(self) -> None:
        """Wait until the open file is loaded into the models.

        Raises:
            ExplorerError: the file could not be read to its end (as a sentence).
        """
        task = self._file_task
        if task is None:
            return
        try:
            await asyncio.shield(task)
        except (ExplorerError, OSError) as exc:
            raise ExplorerError(f"{self._file.name if self._file else 'file'}: {exc}") from None
        finally:
            self._fanout.notify()

    async def close_file(self) -> None:
        """Stop showing the file (the models keep what they hold until a connect)."""
        source = self._file
        if source is None:
            return
        await self._stop_loading()
        self._file = None
        source.close()

    # -- search and statistics (files and recordings) ---------------------------------

    async def search(self, query: Query, *, limit: int = 1000) -> list[Message]:
        """Messages matching ``query``, the newest first: in the open file, else in the
        live session's recording (what it has committed, a quarter second behind).

        Raises:
            ExplorerError: nothing to search (no file open and no recording), or a bad
                query, as one sentence.
        """

        def run(recording: Recording) -> list[Message]:
            return list(recording.search(query, limit=limit, newest_first=True))

        return await self._with_recording(run)

    async def topic_stats(self) -> tuple[TopicStats, bool]:
        """Per-topic statistics and whether they are live: over the open file (its
        connection shown), or over the live session since the first call (a collector is
        turned on then), or over its recording when one runs."""
        from explorer.recording import Query
        from explorer.recording.stats import TopicStats

        if self._file is None and (self._recording is None or not self._recording.active):
            if self._live_stats is None:
                self._live_stats = TopicStats()
            return self._live_stats, True
        conn = self._file.conn if self._file is not None else None

        def run(recording: Recording) -> TopicStats:
            return recording.topic_stats(Query(conn=conn))

        return await self._with_recording(run), self._file is None

    def track_topic_stats(self) -> None:
        """Count messages per topic from now on, for :meth:`topic_stats` of the live session."""
        from explorer.recording.stats import TopicStats

        if self._live_stats is None:
            self._live_stats = TopicStats()

    async def _with_recording(self, action: Callable[[Recording], _T]) -> _T:
        from explorer.recording import Recording, RecordingError

        if self._file is not None:
            source = self._file
            return await asyncio.to_thread(lambda: action(source.searchable()))
        sink = self._recording
        if sink is None:
            raise RecordingError("nothing to search yet: start a recording or open a file")
        path = sink.writer.path

        def run() -> _T:
            with Recording(path) as recording:
                return action(recording)

        return await asyncio.to_thread(run)

    # -- recording -------------------------------------------------------------------

    @property
    def recording(self) -> RecordingSink | None:
        """The recording in progress (or the last one, stopped), or None."""
        return self._recording

    def start_recording(
        self, path: Path | str, *, frames: bool = False, max_size: int | None = None
    ) -> RecordingSink:
        """Record from now on every message (and with ``frames`` every trace event) to a
        new recording file; the current connection's handshake goes in first.

        Raises:
            RecordingError: already recording, or the file exists or cannot be created.
        """
        from explorer.recording import DEFAULT_MAX_SIZE, RecordingError
        from explorer.workspace.recorder import RecordingSink

        if self._recording is not None and self._recording.active:
            raise RecordingError(f"already recording to {self._recording.writer.path}")
        sink = RecordingSink(
            path,
            frames=frames,
            max_size=max_size if max_size is not None else DEFAULT_MAX_SIZE,
            wall_offset=self.wall_offset,
            clock=self.clock,
        )
        if self.options is not None:
            sink.use_connection(self.options)
        sink.seed(self.trace, self._conn)
        self._recording = sink
        self._recorder = sink.add
        return sink

    async def stop_recording(self) -> RecordingStatus | None:
        """Stop the recording in progress: what is queued is written, the file closed.

        Raises:
            RecordingError: the last write failed (the file holds what was written before).
        """
        sink = self._recording
        if sink is None or not sink.active:
            return None
        self._recorder = None
        return await asyncio.to_thread(sink.close)
