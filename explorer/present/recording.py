"""Recordings and files in both explorers: what the record toggle, the file and connection
picker, the search view and the Stats view show, made once.

No toolkit and no I/O: the front ends hand in values (a recording's status, a file's
progress, messages found, topic statistics) and render the texts and rows made here;
they bind keys and clicks to the Workspace's intents (``start_recording``,
``open_file``, ``show_file_connection``, ``search``, ``topic_stats``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final, Protocol

from explorer.present.status import Priority, Severity, StatusField, StatusLine
from explorer.recording.query import Query, parse_time
from explorer.recording.reader import Message
from explorer.recording.rows import iso_time, time_us
from explorer.recording.stats import SORT_KEYS, SortKey, TopicStat, TopicStats
from explorer.recording.writer import format_size

__all__ = [
    "FILE_TYPES",
    "NO_LIVE_SESSION",
    "SEARCH_LIMIT",
    "STATS_COLUMNS",
    "PickerRow",
    "SearchForm",
    "SearchRow",
    "default_recording_name",
    "file_status_text",
    "next_sort",
    "not_in_tree_text",
    "picker_rows",
    "recorded_text",
    "recording_status_text",
    "search_rows",
    "search_summary",
    "source_text",
    "stats_cells",
    "stats_title",
    "with_source_field",
]

NO_LIVE_SESSION: Final = "a file is shown read-only: there is no live session to record"
"""What the record toggle says while a file is shown."""

SEARCH_LIMIT: Final = 1000
"""Rows a search view shows at most (the newest first); the CLI has no limit."""

FILE_TYPES: Final = (
    ("Recordings and captures", ("*.sqlite", "*.db", "*.recording", "*.pcap", "*.pcapng")),
    ("All files", ("*",)),
)
"""File → Open filters: a name and its patterns."""

STATS_COLUMNS: Final = ("Topic", "Msgs", "Bytes", "Msg/s", "Bytes/s", "Retained", "Last seen")
_PREVIEW: Final = 80


class RecordingLike(Protocol):
    """What :class:`explorer.workspace.recorder.RecordingStatus` offers."""

    @property
    def path(self) -> str: ...
    @property
    def messages(self) -> int: ...
    @property
    def file_size(self) -> int: ...
    @property
    def msgs_per_s(self) -> float: ...
    @property
    def dropped(self) -> int: ...
    @property
    def evicted(self) -> int: ...
    @property
    def active(self) -> bool: ...
    @property
    def error(self) -> str | None: ...


class ConnectionLike(Protocol):
    """What :class:`explorer.workspace.filesource.FileConnection` offers."""

    @property
    def conn(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def messages(self) -> int | None: ...


class FileLike(Protocol):
    """What :class:`explorer.workspace.filesource.FileSource` offers."""

    @property
    def name(self) -> str: ...
    @property
    def conn(self) -> int | None: ...
    @property
    def loaded_messages(self) -> int: ...
    @property
    def total_messages(self) -> int | None: ...
    @property
    def done(self) -> bool: ...
    @property
    def error(self) -> str | None: ...


def source_text(file: FileLike | None, recording: RecordingLike | None) -> str:
    """The status line's word on the source: the file shown, else the recording in progress."""
    if file is not None:
        return file_status_text(
            file.name,
            conn=file.conn,
            loaded=file.loaded_messages,
            total=file.total_messages,
            done=file.done,
            error=file.error,
        )
    return recording_status_text(recording)


def default_recording_name(now: float | None = None) -> str:
    """``recording-20261205-155200.sqlite``: a new name at each toggle."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    return f"recording-{stamp}.sqlite"


def recording_status_text(status: RecordingLike | None) -> str:
    """The record toggle's part of the status line: empty when not recording."""
    if status is None or not status.active:
        return ""
    name = status.path.rsplit("/", 1)[-1]
    text = f"● REC {name} {format_size(status.file_size)} {status.msgs_per_s:,.0f} msg/s"
    if status.error:
        return f"{text} stopped: {status.error}"
    if status.dropped:
        text += f" ({status.dropped:,} dropped)"
    if status.evicted:
        text += f" ({status.evicted:,} oldest dropped for the size budget)"
    return text


def with_source_field(line: StatusLine, text: str) -> StatusLine:
    """``line`` with the file shown or the recording in progress right after the URL,
    where a narrow screen never cuts it (a recording is red, as a record light is)."""
    if not text:
        return line
    fields = list(line.fields)
    index = next((i + 1 for i, item in enumerate(fields) if item.key == "url"), len(fields))
    severity = Severity.ERROR if text.startswith("●") else Severity.NORMAL
    key = "recording" if text.startswith("●") else "file"
    fields.insert(index, StatusField(key, text, severity, Priority.ESSENTIAL))
    return replace(line, fields=tuple(fields))


def file_status_text(
    name: str, *, conn: int | None, loaded: int, total: int | None, done: bool, error: str | None
) -> str:
    """The status line's word on a file shown read-only (its name and connection are
    the status line's URL field already)."""
    del name, conn
    text = "read-only"
    if error:
        return f"{text}: {error}"
    if done:
        return f"{text}, {loaded:,} messages"
    if total:
        return f"{text}, loading {loaded:,} of {total:,} messages ({100 * loaded // total}%)"
    return f"{text}, loading: {loaded:,} messages so far"


@dataclass(frozen=True, slots=True)
class PickerRow:
    """One choice of the connection picker (``conn`` None: every connection)."""

    conn: int | None
    label: str


def picker_rows(connections: Sequence[ConnectionLike]) -> list[PickerRow]:
    """ "All connections" first, then each connection with what identifies it."""
    known = [c.messages for c in connections if c.messages is not None]
    total = f" ({sum(known):,} messages)" if known and len(known) == len(connections) else ""
    rows = [PickerRow(None, f"All connections{total}")]
    for item in connections:
        parts = [f"#{item.conn}", item.source or "connection"]
        if item.client_id:
            parts.append(f"client {item.client_id}")
        if item.messages is not None:
            parts.append(f"{item.messages:,} messages")
        rows.append(PickerRow(item.conn, "  ".join(parts)))
    return rows


@dataclass(frozen=True, slots=True)
class SearchForm:
    """The search view's fields, as typed."""

    topic: str = ""
    since: str = ""
    until: str = ""
    text: str = ""

    def query(self, conn: int | None = None, now: float | None = None) -> Query:
        """The query the fields ask for.

        Raises:
            RecordingError: a bad topic filter, time or word list, as one sentence.
        """
        when = time.time() if now is None else now
        return Query(
            topic=self.topic.strip() or None,
            since_us=parse_time(self.since, when) if self.since.strip() else None,
            until_us=parse_time(self.until, when) if self.until.strip() else None,
            text=self.text.strip() or None,
            conn=conn,
        ).validate()


@dataclass(frozen=True, slots=True)
class SearchRow:
    """One message found: the cells of its row and the message it opens."""

    time: str
    topic: str
    flags: str
    preview: str
    message: Message


def _preview(message: Message) -> str:
    if message.text is not None:
        text = message.text.replace("\r", " ").replace("\n", " ")
        return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"
    shown = message.payload[:24].hex(" ")
    return f"<{len(message.payload)} B> {shown}" + (" …" if len(message.payload) > 24 else "")


def search_rows(messages: Iterable[Message]) -> list[SearchRow]:
    rows = []
    for message in messages:
        flags = f"QoS {message.qos}" + (" retained" if message.retain else "")
        rows.append(SearchRow(iso_time(message.time_us), message.topic, flags, _preview(message), message))
    return rows


def search_summary(count: int, limit: int = SEARCH_LIMIT) -> str:
    if count == 0:
        return "no message matches"
    if count >= limit:
        return f"the newest {limit:,} matching messages (narrow the search to see others)"
    return f"{count:,} matching messages, newest first"


def next_sort(sort: SortKey) -> SortKey:
    """The Stats view's sort key after the next press of its sort key."""
    index = SORT_KEYS.index(sort)
    nxt: SortKey = SORT_KEYS[(index + 1) % len(SORT_KEYS)]
    return nxt


def stats_title(stats: TopicStats, sort: SortKey, *, live: bool) -> str:
    where = "live" if live else "over the file"
    return (
        f"Top talkers {where}: {stats.messages:,} messages, {format_size(stats.bytes)} "
        f"on {len(stats):,} topics "
        f"in {stats.span():,.0f} s, by {sort}"
    )


def stats_cells(row: TopicStat) -> tuple[str, ...]:
    """One row of the Stats view (and of ``stats``), in :data:`STATS_COLUMNS` order."""
    retained = f"{row.retained} ({format_size(row.retained_bytes)})" if row.retained else "-"
    seen = iso_time(time_us(row.last_seen), "seconds") if row.last_seen else "-"
    return (
        row.name,
        f"{row.messages:,}",
        format_size(row.bytes),
        f"{row.msgs_per_s:,.1f}",
        format_size(row.bytes_per_s) + "/s",
        retained,
        seen,
    )


def recorded_text(status: RecordingLike) -> str:
    """What a stopped recording says: ``recorded 2,222 messages into FILE (770.1 kB)``."""
    return f"recorded {status.messages:,} messages into {status.path} ({format_size(status.file_size)})"


def not_in_tree_text(topic: str) -> str:
    """Why a search result cannot be opened in the message view (its topic is not loaded yet)."""
    return f"{topic} is not in the topic tree (not loaded yet?)"
