"""The SQLite schema of a recording, and opening a file as one.

What belongs here: the table definitions (documented for other tools in
``docs/recording.md``; keep the two in step), the schema version kept in
``PRAGMA user_version``, the connection settings (WAL, ``synchronous=NORMAL``), and the
checks that turn "this is not a recording" into one sentence. Nothing here writes rows.

Times are integers: microseconds since the Unix epoch, UTC (``time_us``). The views
``messages_iso`` and ``notices_iso`` add ISO 8601 text for tools that read them as they are.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from explorer.errors import ExplorerError

__all__ = [
    "FORMAT_NAME",
    "SCHEMA_VERSION",
    "SQLITE_MAGIC",
    "RecordingError",
    "connect_reader",
    "connect_writer",
    "create_schema",
    "is_sqlite",
]

SCHEMA_VERSION: Final = 1
FORMAT_NAME: Final = "mqttws-explorer recording"
SQLITE_MAGIC: Final = b"SQLite format 3\x00"


class RecordingError(ExplorerError):
    """A recording cannot be created, written or read; the message is one sentence."""


_TABLES: Final = f"""
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    time_us INTEGER NOT NULL,
    kind TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL
);
CREATE TABLE connections (
    conn INTEGER PRIMARY KEY,
    source TEXT NOT NULL DEFAULT '',
    started_us INTEGER,
    ended_us INTEGER,
    state TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    client_id TEXT,
    mqtt_version TEXT,
    subprotocol TEXT,
    status INTEGER,
    request BLOB,
    response BLOB,
    request_headers TEXT,
    response_headers TEXT
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    time_us INTEGER NOT NULL,
    conn INTEGER NOT NULL,
    direction TEXT NOT NULL DEFAULT 'in',
    topic TEXT NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    properties TEXT,
    payload BLOB NOT NULL,
    size INTEGER NOT NULL,
    codec TEXT,
    text TEXT
);
CREATE INDEX messages_topic_time ON messages (topic, time_us);
CREATE INDEX messages_time ON messages (time_us);
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    topic, text, content='messages', content_rowid='id', detail=none, columnsize=0
);
INSERT INTO messages_fts (messages_fts, rank) VALUES ('pgsz', 16000);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    time_us INTEGER NOT NULL,
    conn INTEGER NOT NULL,
    kind TEXT NOT NULL,
    direction TEXT,
    head BLOB,
    body BLOB,
    info TEXT
);
CREATE INDEX events_conn ON events (conn, id);
CREATE VIEW messages_iso AS
    SELECT id, strftime('%Y-%m-%dT%H:%M:%fZ', time_us / 1000000.0, 'unixepoch') AS time,
           time_us, conn, direction, topic, qos, retain, properties, size, codec, text, payload
    FROM messages;
CREATE VIEW notices_iso AS
    SELECT id, strftime('%Y-%m-%dT%H:%M:%fZ', time_us / 1000000.0, 'unixepoch') AS time,
           kind, count, message
    FROM notices;
PRAGMA user_version = {SCHEMA_VERSION};
"""


def create_schema(db: sqlite3.Connection, meta: dict[str, str]) -> None:
    """Create every table of an empty database and fill ``meta``."""
    db.executescript(_TABLES)
    db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [("format", FORMAT_NAME), *meta.items()])


def _sniff(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RecordingError(f"{path} is a directory, not a recording") from None
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read ({exc.strerror or exc})") from None


def is_sqlite(path: Path) -> bool:
    """Whether the file starts like an SQLite database (a recording or another one)."""
    return _sniff(path) == SQLITE_MAGIC


def _check(db: sqlite3.Connection, path: Path) -> None:
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" not in tables or "messages" not in tables:
            raise RecordingError(f"{path} is an SQLite database but not a recording (no messages table)")
        row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise RecordingError(f"{path} is damaged and cannot be read as a recording ({exc})") from None
    if row is None or row[0] != FORMAT_NAME:
        raise RecordingError(f"{path} is an SQLite database but not a recording")
    if version > SCHEMA_VERSION:
        raise RecordingError(
            f"{path} is a recording of schema version {version}; this version reads up to {SCHEMA_VERSION}"
        )


def connect_reader(path: str | Path) -> sqlite3.Connection:
    """Open a recording to read it; nothing in the file is changed by reading.

    A recording cut short by a crash is read up to its last committed batch (its
    write-ahead log is read by SQLite, which needs the directory to be writable); a
    recording in progress is read up to the writer's last commit.

    Raises:
        RecordingError: no such file, not SQLite, another SQLite database, a newer
            schema, or a damaged file; as one sentence.
    """
    path = Path(path)
    head = _sniff(path)
    if head != SQLITE_MAGIC:
        if not head:
            raise RecordingError(f"{path} is empty, not a recording")
        raise RecordingError(f"{path} is not a recording (not an SQLite file)")
    # No write-ahead log next to it: no writer has it open and it ended cleanly, so it is
    # read as immutable (no -shm/-wal files are made beside it). With a log (a recording in
    # progress, or one cut short), SQLite reads the log too.
    live = Path(f"{path}-wal").exists()
    options = "mode=ro" if live else "mode=ro&immutable=1"
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?{options}", uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise RecordingError(f"{path}: cannot open ({exc})") from None
    try:
        _check(db, path)
        db.execute("PRAGMA query_only = 1")
    except BaseException:
        db.close()
        raise
    return db


def connect_writer(path: str | Path, meta: dict[str, str]) -> sqlite3.Connection:
    """Create a new recording at ``path`` (which must not exist) and return its connection.

    Raises:
        RecordingError: the file exists or cannot be created.
    """
    path = Path(path)
    if path.exists():
        raise RecordingError(
            f"{path} already exists: choose another file name (a recording never overwrites)"
        )
    try:
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA page_size = 16384")  # before anything is written; fewer, fuller pages
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA cache_size = -65536")  # 64 MiB: the indexes' hot pages stay in memory
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA journal_size_limit = 67108864")
        db.execute("PRAGMA wal_autocheckpoint = 256")  # the log stays near 4 MiB (16 KiB pages)
        create_schema(db, meta)
    except sqlite3.Error as exc:
        raise RecordingError(f"cannot create the recording {path}: {exc}") from None
    except OSError as exc:
        raise RecordingError(f"cannot create the recording {path}: {exc.strerror or exc}") from None
    return db
