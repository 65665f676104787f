"""RecordingWriter: trace events into a recording, written by a thread of its own.

The caller (a front end's event loop, the ``record`` command) only appends each event to
a bounded queue, which costs about as much as appending to a list. A writer thread
takes what is queued every ``flush_interval`` seconds (sooner when a batch is full) and
writes it in one transaction, so a crash loses at most the batch being written and the
file stays readable up to the last commit (SQLite WAL, ``synchronous=NORMAL``).

Nothing is lost silently: an event that finds the queue full is dropped and counted
(:attr:`RecordingWriter.dropped`), and the writer adds a notice row saying how many. A
size budget (``max_size``) drops the oldest messages and trace events once the file's
used pages pass it, and says so in the same way. Notices are also handed to the caller
through :meth:`RecordingWriter.take_notices`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from explorer import __version__
from explorer.masking import mask_credentials, mask_header_values
from explorer.model.events import (
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    MessageReceived,
    PacketEvent,
    StateChanged,
    TraceEvent,
)
from explorer.mqtt.enums import PacketType
from explorer.mqtt.packets import NO_PROPERTIES, Connack, Connect, Publish
from explorer.recording.rows import (
    EventRow,
    event_row,
    iso_time,
    payload_text,
    properties_json,
    time_us,
)
from explorer.recording.schema import RecordingError, connect_writer

if TYPE_CHECKING:
    from explorer.codecs import CodecRegistry

__all__ = ["DEFAULT_MAX_SIZE", "MIN_MAX_SIZE", "RecordingWriter", "WriterStats", "format_size", "parse_size"]

DEFAULT_MAX_SIZE: Final = 1_000_000_000
MIN_MAX_SIZE: Final = 1_000_000
_EVICT_TO: Final = 0.9  # after an eviction the used pages are at most this share of the budget
_BATCH: Final = 20_000  # events per transaction at most
_UNITS: Final = {"": 1, "B": 1, "K": 1000, "KB": 1000, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9}
_UNITS_BINARY: Final = {"KIB": 1024, "MIB": 1024**2, "GIB": 1024**3}
_TEXT_LIMIT: Final = 64 * 1024  # characters of decoded text kept and indexed
_CONNECTION_PACKETS: Final = (PacketType.CONNECT, PacketType.CONNACK)


def parse_size(text: str) -> int:
    """``500M``, ``1GB``, ``2GiB``, ``1000000`` -> bytes.

    Raises:
        ValueError: not a size, as a sentence.
    """
    raw = text.strip().upper().replace(" ", "")
    number = raw.rstrip("KMGIB")
    unit = raw[len(number) :]
    factor = _UNITS.get(unit) or _UNITS_BINARY.get(unit)
    try:
        value = float(number)
    except ValueError:
        factor = None
    if factor is None or not value > 0:
        raise ValueError(f"{text!r} is not a size: write e.g. 500M, 1G or 2GiB")
    return int(value * factor)


def format_size(size: float) -> str:
    """Bytes as ``812 B``, ``3.4 MB``, ``1.0 GB`` (decimal units, as ``--max-size`` reads them)."""
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{int(size)} B"


@dataclass(frozen=True, slots=True)
class WriterStats:
    """What the writer has done so far (for a status line)."""

    path: str
    messages: int  # messages committed to the file since the start
    events: int  # trace events committed (with frames)
    queued: int  # events waiting for the writer
    dropped: int  # events dropped because the queue was full
    evicted: int  # messages dropped from the file for the size budget
    file_size: int  # bytes of the database and its write-ahead log
    max_size: int
    closed: bool


class _Connection:
    """What the ``connections`` table holds about one connection, kept while recording."""

    __slots__ = (
        "client_id",
        "conn",
        "detail",
        "ended_us",
        "mqtt_version",
        "request",
        "request_headers",
        "response",
        "response_headers",
        "started_us",
        "state",
        "status",
        "subprotocol",
    )

    def __init__(self, conn: int, started_us: int) -> None:
        self.conn = conn
        self.started_us = started_us
        self.ended_us: int | None = None
        self.state = ""
        self.detail = ""
        self.client_id: str | None = None
        self.mqtt_version: str | None = None
        self.subprotocol: str | None = None
        self.status: int | None = None
        self.request: bytes | None = None
        self.response: bytes | None = None
        self.request_headers: str | None = None
        self.response_headers: str | None = None

    def row(self, source: str) -> tuple[Any, ...]:
        return (
            self.conn,
            source,
            self.started_us,
            self.ended_us,
            self.state,
            self.detail,
            self.client_id,
            self.mqtt_version,
            self.subprotocol,
            self.status,
            self.request,
            self.response,
            self.request_headers,
            self.response_headers,
        )


class RecordingWriter:
    """Writes trace events into a new recording file from a thread of its own.

    Args:
        path: the new file (an existing file is refused, never overwritten).
        frames: keep every trace event (handshake, frames, packets) with its bytes, not
            only the messages and the connections.
        max_size: bytes the file's used pages may take before the oldest rows go.
        wall_offset: added to event times to make them seconds since the epoch (events
            from a live client carry ``time.monotonic()``; captures carry epoch times: 0).
        source: where the traffic comes from (a URL without userinfo, a file name).
        secret_names: HTTP header names whose values are starred (``--secret-header``).
        queue_limit: events waiting for the writer at most; beyond it they are dropped
            and counted.
        flush_interval: seconds between transactions while traffic is light.
        clock: wall-clock seconds for notices.
        codecs: reads binary payloads for the ``codec`` and ``text`` columns (the
            built-in detection when None; text and JSON are recognised without it).

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
        secret_names: Collection[str] = (),
        queue_limit: int = 500_000,
        flush_interval: float = 0.25,
        clock: Callable[[], float] = time.time,
        codecs: CodecRegistry | None = None,
    ) -> None:
        if max_size < MIN_MAX_SIZE:
            raise RecordingError(f"a recording needs a size budget of at least {format_size(MIN_MAX_SIZE)}")
        self.path = Path(path)
        self.frames = frames
        self.max_size = max_size
        self.wall_offset = wall_offset
        self.source = source
        if codecs is None:
            from explorer.codecs import CodecRegistry

            codecs = CodecRegistry()
        self.codecs: CodecRegistry | None = codecs
        self.secret_names = tuple(secret_names)
        self._limit = queue_limit
        self._interval = flush_interval
        self._clock = clock
        started = iso_time(time_us(clock()), "seconds")
        meta = {
            "created": started,
            "tool": f"mqttws-explorer {__version__}",
            "source": source,
            "frames": "1" if frames else "0",
            "max_size": str(max_size),
        }
        self._db: sqlite3.Connection | None = connect_writer(self.path, meta)
        self._pending: deque[TraceEvent | tuple[str, MessageReceived]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._error: str | None = None
        self._notices: deque[str] = deque()
        self._conns: dict[int, _Connection] = {}
        self._dirty: set[int] = set()
        self._next_id = 1
        self._first_id = 1
        self.dropped = 0
        self._dropped_noted = 0
        self.messages = 0
        self.events = 0
        self.evicted = 0
        self._file_size = 0
        self._thread = threading.Thread(target=self._run, name=f"recording {self.path.name}", daemon=True)
        self._thread.start()

    # -- the caller's side (hot path) ---------------------------------------------------

    def add(self, event: TraceEvent) -> None:
        """Queue one trace event; never blocks. Events the recording does not keep
        (frames and packets without ``frames``) are skipped here, before the queue."""
        kind = type(event)
        if kind is not MessageReceived and not self.frames:
            if kind is FrameEvent:
                return
            if kind is PacketEvent:
                assert isinstance(event, PacketEvent)
                if event.packet.TYPE not in _CONNECTION_PACKETS:
                    return
        pending = self._pending
        if len(pending) >= self._limit:
            self.dropped += 1
            return
        pending.append(event)
        if len(pending) == _BATCH:
            self._wake.set()

    def add_published(self, event: MessageReceived) -> None:
        """Queue a message sent by the client (``c2s``), as read from a capture."""
        pending = self._pending
        if len(pending) >= self._limit:
            self.dropped += 1
            return
        pending.append(("c2s", event))

    def add_many(self, events: Collection[TraceEvent]) -> None:
        for event in events:
            self.add(event)

    def wait_below(self, count: int) -> None:
        """Block until at most ``count`` events wait for the writer (for producers that
        may wait, such as a capture being converted; never on a UI's loop)."""
        while len(self._pending) > count and self._thread.is_alive():
            self._wake.set()
            time.sleep(0.005)

    def take_notices(self) -> list[str]:
        """Notices (budget reached, events dropped, a write error) not taken yet."""
        out = []
        while self._notices:
            out.append(self._notices.popleft())
        return out

    @property
    def stats(self) -> WriterStats:
        return WriterStats(
            path=str(self.path),
            messages=self.messages,
            events=self.events,
            queued=len(self._pending),
            dropped=self.dropped,
            evicted=self.evicted,
            file_size=self._file_size,
            max_size=self.max_size,
            closed=self._db is None,
        )

    @property
    def error(self) -> str | None:
        """Why writing stopped (the disk is full...), or None while it works."""
        return self._error

    def close(self) -> WriterStats:
        """Write what is queued, end the writer thread and close the file (idempotent).

        Raises:
            RecordingError: the last write failed.
        """
        self._stopping = True
        self._wake.set()
        self._thread.join()
        if self._error is not None:
            raise RecordingError(f"recording {self.path} stopped: {self._error}")
        return self.stats

    # -- the writer thread --------------------------------------------------------------

    def _run(self) -> None:
        db = self._db
        assert db is not None
        try:
            while True:
                stopping = self._stopping
                if not stopping and len(self._pending) < _BATCH:
                    self._wake.wait(self._interval)
                    self._wake.clear()
                while self._pending:
                    self._write_batch(db)
                    if not self._stopping and len(self._pending) < _BATCH:
                        break
                self._note_drops(db)
                self._file_size = self._size()
                if stopping:
                    break
            self._finish(db)
        except (sqlite3.Error, OSError) as exc:
            self._error = str(exc)
            self._notices.append(f"recording {self.path} stopped: {exc}")
            self._stopping = True
            self._pending.clear()
            with contextlib.suppress(sqlite3.Error):
                db.close()
        finally:
            self._db = None

    def _size(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += Path(f"{self.path}{suffix}").stat().st_size
        return total

    def _write_batch(self, db: sqlite3.Connection) -> None:
        pending = self._pending
        offset = self.wall_offset
        messages: list[tuple[Any, ...]] = []
        texts: list[tuple[int, str, str | None]] = []
        rows: list[EventRow] = []
        next_id = self._next_id
        count = 0
        size = 0
        # A batch takes a small share of the budget, so the file does not grow far past it
        # before the budget is enforced after the commit.
        size_limit = self.max_size // 16
        # Binary payloads go through the codecs (MessagePack, CBOR, Protobuf, Sparkplug...),
        # which take tens of microseconds each: at most this long per batch, so that a
        # binary firehose is still recorded in full (its later rows without decoded text).
        binary_budget = self._interval * 0.3
        add_message = messages.append
        add_text = texts.append
        popleft = pending.popleft
        # The hot loop of a firehose: local names, no helper call that can be avoided.
        while count < _BATCH and size < size_limit:
            try:
                event = popleft()
            except IndexError:
                break
            count += 1
            direction = "s2c"
            if type(event) is tuple:
                direction, event = event
            kind = type(event)
            if kind is MessageReceived:
                message = cast(MessageReceived, event)
                payload = message.payload
                topic = message.topic
                length = len(payload)
                size += length + 64
                packet = message.packet
                props = None
                if type(packet) is Publish and packet.properties is not NO_PROPERTIES:
                    props = properties_json(packet.properties)
                codec, text = payload_text(payload)
                if codec is None and binary_budget > 0:
                    began = time.perf_counter()
                    content_type = packet.properties.content_type if type(packet) is Publish else None
                    codec, text = self._decode_binary(payload, topic, content_type)
                    binary_budget -= time.perf_counter() - began
                add_message(
                    (
                        next_id,
                        round((message.time + offset) * 1_000_000),
                        message.conn,
                        direction,
                        topic,
                        message.qos,
                        1 if message.retain else 0,
                        props,
                        payload,
                        length,
                        codec,
                        text,
                    )
                )
                add_text((next_id, topic, text))
                next_id += 1
                continue
            assert not isinstance(event, tuple)
            self._observe(event, offset)
            if self.frames:
                row = event_row(event, offset, self.secret_names)
                if row is not None:
                    rows.append(row)
                    size += len(row[4] or b"") + len(row[5] or b"") + len(row[6] or "") + 64
        db.execute("BEGIN")
        try:
            if messages:
                db.executemany("INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", messages)
                db.executemany("INSERT INTO messages_fts (rowid, topic, text) VALUES (?,?,?)", texts)
            if rows:
                db.executemany(
                    "INSERT INTO events (time_us, conn, kind, direction, head, body, info) "
                    "VALUES (?,?,?,?,?,?,?)",
                    rows,
                )
            if self._dirty:
                db.executemany(
                    "INSERT OR REPLACE INTO connections VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [self._conns[conn].row(self.source) for conn in sorted(self._dirty)],
                )
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        self._dirty.clear()
        self._next_id = next_id
        self.messages += len(messages)
        self.events += len(rows)
        self._enforce_budget(db)

    def _decode_binary(
        self, payload: bytes, topic: str, content_type: str | None
    ) -> tuple[str | None, str | None]:
        registry = self.codecs
        if registry is None:
            return None, None
        try:
            decoded = registry.decode(payload, topic, content_type)
        except Exception:  # a codec's bug must not stop the recording
            return None, None
        if not decoded.ok or decoded.codec in ("raw", "hex", "base64", "image"):
            return decoded.codec if decoded.ok else None, None
        return decoded.codec, decoded.text[:_TEXT_LIMIT] or None

    def _connection(self, conn: int, when: int) -> _Connection:
        record = self._conns.get(conn)
        if record is None:
            record = self._conns[conn] = _Connection(conn, when)
        self._dirty.add(conn)
        return record

    def _observe(self, event: TraceEvent, offset: float) -> None:
        """Keep the ``connections`` row of the event's connection up to date."""
        when = time_us(event.time + offset)
        record = self._connection(event.conn, when)
        kind = type(event)
        if kind is HandshakeRequest:
            assert isinstance(event, HandshakeRequest)
            record.request = mask_credentials(event.raw, self.secret_names)
            record.request_headers = json.dumps(mask_header_values(event.headers, self.secret_names))
        elif kind is HandshakeResponse:
            assert isinstance(event, HandshakeResponse)
            record.response = mask_credentials(event.raw, self.secret_names)
            record.response_headers = json.dumps(mask_header_values(event.headers, self.secret_names))
            record.status = event.status
            record.subprotocol = event.subprotocol
        elif kind is StateChanged:
            assert isinstance(event, StateChanged)
            record.state = event.state
            record.detail = event.detail
            if event.state == "closed":
                record.ended_us = when
        elif kind is PacketEvent:
            assert isinstance(event, PacketEvent)
            packet = event.packet
            if isinstance(packet, Connect):
                record.client_id = packet.client_id
                record.mqtt_version = packet.protocol_version.label
            elif isinstance(packet, Connack) and packet.properties.assigned_client_identifier:
                record.client_id = packet.properties.assigned_client_identifier
        elif kind is ErrorReported:
            assert isinstance(event, ErrorReported)
            record.detail = f"{event.layer}: {event.message}"

    def _notice(self, db: sqlite3.Connection, kind: str, count: int, message: str) -> None:
        db.execute(
            "INSERT INTO notices (time_us, kind, count, message) VALUES (?,?,?,?)",
            (time_us(self._clock()), kind, count, message),
        )
        self._notices.append(message)

    def _note_drops(self, db: sqlite3.Connection) -> None:
        dropped = self.dropped
        new = dropped - self._dropped_noted
        if new <= 0:
            return
        self._dropped_noted = dropped
        self._notice(db, "dropped", new, f"{new:,} events not recorded: the writer fell behind (queue full)")

    def _used(self, db: sqlite3.Connection) -> int:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        return int((pages - free) * page_size)

    def _enforce_budget(self, db: sqlite3.Connection) -> None:
        # Deleting rows leaves pages part full, so one pass may free less than it aimed at.
        for _ in range(8):
            used = self._used(db)
            if used <= self.max_size:
                return
            self._evict(db, used)

    def _evict(self, db: sqlite3.Connection, used: int) -> None:
        rows = self._next_id - self._first_id
        if rows <= 0:
            db.execute("DELETE FROM events WHERE id <= (SELECT min(id) + count(*) / 10 FROM events)")
            return
        per_row = used / rows
        drop = min(rows, int((used - self.max_size * _EVICT_TO) / per_row) + 1)
        cutoff = self._first_id + drop
        limit_row = db.execute("SELECT max(time_us) FROM messages WHERE id < ?", (cutoff,)).fetchone()
        until = limit_row[0] if limit_row and limit_row[0] is not None else 0
        db.execute("BEGIN")
        try:
            db.execute(
                "INSERT INTO messages_fts (messages_fts, rowid, topic, text) "
                "SELECT 'delete', id, topic, text FROM messages WHERE id < ?",
                (cutoff,),
            )
            db.execute("DELETE FROM messages WHERE id < ?", (cutoff,))
            db.execute("DELETE FROM events WHERE time_us <= ?", (until,))
            when = iso_time(until, "seconds")
            self._notice(
                db,
                "evicted",
                drop,
                f"size budget {format_size(self.max_size)} reached: dropped the {drop:,} oldest messages "
                f"(up to {when})",
            )
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        self._first_id = cutoff
        self.evicted += drop

    def _finish(self, db: sqlite3.Connection) -> None:
        ended = iso_time(time_us(self._clock()), "seconds")
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('ended', ?)", (ended,))
        with contextlib.suppress(sqlite3.Error):
            db.execute("PRAGMA optimize")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        self._file_size = self._size()
