"""Recording: a recording file opened read-only.

What belongs here: reading what :class:`explorer.recording.writer.RecordingWriter` wrote
(messages by query, connections, notices, trace events, topic statistics), always
through :mod:`explorer.recording.query` so that searches use the indexes. Reading never
changes the file. Rows are made into small frozen values; payloads stay bytes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.model.events import HandshakeRequest, HandshakeResponse, MessageReceived, TraceEvent
from explorer.mqtt.packets import Properties, Publish
from explorer.recording.query import (
    DISTINCT_TOPICS_SQL,
    MAX_TOPICS,
    Query,
    query_sql,
    topic_matches,
    wildcard_prefix,
)
from explorer.recording.rows import EventRebuilder, properties_from_json
from explorer.recording.schema import RecordingError, connect_reader
from explorer.recording.stats import TopicStats

__all__ = ["ConnectionInfo", "Message", "Notice", "Recording"]

_MESSAGE_COLUMNS = (
    "m.id, m.time_us, m.conn, m.direction, m.topic, m.qos, m.retain, m.properties, m.payload, m.codec, m.text"
)


@dataclass(frozen=True, slots=True)
class Message:
    """One recorded message."""

    id: int
    time_us: int
    conn: int
    direction: str
    topic: str
    qos: int
    retain: bool
    properties_json: str | None
    payload: bytes
    codec: str | None
    text: str | None

    @property
    def time(self) -> float:
        """Seconds since the epoch."""
        return self.time_us / 1_000_000

    @property
    def properties(self) -> Properties:
        return properties_from_json(self.properties_json)

    def to_event(self, seq: int = 0) -> MessageReceived:
        """The message as the trace event a live client would have made (epoch time)."""
        props = self.properties
        packet = Publish(self.topic, self.payload, self.qos, self.retain, properties=props)
        return MessageReceived(
            seq, self.time, self.conn, self.topic, self.payload, self.qos, self.retain, packet
        )


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """One row of the ``connections`` table, with its message count."""

    conn: int
    source: str
    started_us: int | None
    ended_us: int | None
    state: str
    detail: str
    client_id: str | None
    mqtt_version: str | None
    subprotocol: str | None
    status: int | None
    request: bytes | None
    response: bytes | None
    messages: int


@dataclass(frozen=True, slots=True)
class Notice:
    time_us: int
    kind: str
    count: int
    message: str


def _message(row: tuple[Any, ...]) -> Message:
    return Message(
        row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7], bytes(row[8]), row[9], row[10]
    )


def _pairs(text: str | None) -> tuple[tuple[str, str], ...]:
    if not text:
        return ()
    return tuple((str(name), str(value)) for name, value in json.loads(text))


def _connection_info(row: tuple[Any, ...], messages: int) -> ConnectionInfo:
    (
        conn,
        source,
        started,
        ended,
        state,
        detail,
        client_id,
        version,
        subprotocol,
        status,
        request,
        response,
    ) = row
    return ConnectionInfo(
        conn,
        source,
        started,
        ended,
        state,
        detail,
        client_id,
        version,
        subprotocol,
        status,
        request,
        response,
        messages,
    )


class Recording:
    """A recording opened for reading.

    Raises:
        RecordingError: from :func:`explorer.recording.schema.connect_reader` (no such
            file, not a recording, damaged, newer schema), as one sentence.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = connect_reader(self.path)
        self.meta = dict(self._fetch("SELECT key, value FROM meta"))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------

    def _fetch(self, sql: str, params: Any = ()) -> list[Any]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise RecordingError(f"{self.path} cannot be read: {exc}") from None

    def _iterate(self, sql: str, params: Any = (), size: int = 2000) -> Iterator[Any]:
        try:
            cursor = self._db.execute(sql, params)
            while rows := cursor.fetchmany(size):
                yield from rows
        except sqlite3.DatabaseError as exc:
            raise RecordingError(f"{self.path} cannot be read: {exc}") from None

    # -- what the file holds ----------------------------------------------------------

    @property
    def has_frames(self) -> bool:
        return self.meta.get("frames") == "1"

    def message_count(self, conn: int | None = None) -> int:
        if conn is None:
            return int(self._fetch("SELECT count(*) FROM messages")[0][0])
        return int(self._fetch("SELECT count(*) FROM messages WHERE conn = ?", (conn,))[0][0])

    def time_range(self) -> tuple[int, int] | None:
        """First and last message time (microseconds), or None when there is none."""
        row = self._fetch("SELECT min(time_us), max(time_us) FROM messages")[0]
        return None if row[0] is None else (int(row[0]), int(row[1]))

    def connections(self) -> list[ConnectionInfo]:
        counts = dict(self._fetch("SELECT conn, count(*) FROM messages GROUP BY conn"))
        rows = self._fetch(
            "SELECT conn, source, started_us, ended_us, state, detail, client_id, mqtt_version, "
            "subprotocol, status, request, response FROM connections ORDER BY conn"
        )
        out = [_connection_info(tuple(row), counts.pop(row[0], 0)) for row in rows]
        # Messages of a connection whose row was not written (cut short before its batch).
        out.extend(
            ConnectionInfo(conn, "", None, None, "", "", None, None, None, None, None, None, count)
            for conn, count in sorted(counts.items())
        )
        return sorted(out, key=lambda info: info.conn)

    def notices(self) -> list[Notice]:
        return [
            Notice(*row)
            for row in self._fetch("SELECT time_us, kind, count, message FROM notices ORDER BY id")
        ]

    # -- messages ---------------------------------------------------------------------

    def search(
        self, query: Query | None = None, *, limit: int | None = None, newest_first: bool = False
    ) -> Iterator[Message]:
        """Messages matching ``query`` in recording order (or the newest first).

        Raises:
            RecordingError: a bad query (see :meth:`Query.validate`) or an unreadable file.
        """
        query = (query or Query()).validate()
        where, params, needs_check = query_sql(query, self._wildcard_topics(query))
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT {_MESSAGE_COLUMNS} FROM messages AS m WHERE {where} ORDER BY m.id {order}"
        if limit is not None and not needs_check:
            sql += f" LIMIT {int(limit)}"
        found = 0
        topic_filter = query.topic
        for row in self._iterate(sql, params):
            if needs_check and topic_filter is not None and not topic_matches(topic_filter, row[4]):
                continue
            yield _message(row)
            found += 1
            if limit is not None and found >= limit:
                return

    def _wildcard_topics(self, query: Query) -> list[str] | None:
        """The topics a ``+`` filter matches, or None (no ``+``, or too many to list)."""
        topic_filter = query.topic
        if topic_filter is None or "+" not in topic_filter:
            return None
        low, high = wildcard_prefix(topic_filter)
        out = []
        for (topic,) in self._iterate(DISTINCT_TOPICS_SQL, (low, high, high)):
            if topic_matches(topic_filter, topic):
                out.append(topic)
                if len(out) > MAX_TOPICS:
                    return None
        return out

    def message(self, message_id: int) -> Message | None:
        rows = self._fetch(f"SELECT {_MESSAGE_COLUMNS} FROM messages AS m WHERE m.id = ?", (message_id,))
        return _message(rows[0]) if rows else None

    # -- trace events (recordings made with frames) -----------------------------------

    def events(self, conn: int | None = None) -> Iterator[TraceEvent]:
        """The trace events kept with ``frames``, rebuilt, in order (one connection or all)."""
        where = "" if conn is None else "WHERE conn = ?"
        params = () if conn is None else (conn,)
        rebuilder = EventRebuilder()
        sql = f"SELECT time_us, conn, kind, direction, head, body, info FROM events {where} ORDER BY id"
        for row in self._iterate(sql, params):
            event = rebuilder.rebuild(row)
            if event is not None:
                yield event

    def handshake_events(self, conn: int | None = None) -> list[TraceEvent]:
        """The HTTP upgrade of each connection (or of ``conn``) as trace events, from the
        ``connections`` table: what a recording made without frames still shows."""
        where = "" if conn is None else "WHERE conn = ?"
        params = () if conn is None else (conn,)
        rows = self._fetch(
            "SELECT conn, started_us, request, request_headers, response, response_headers, status, "
            f"subprotocol FROM connections {where} ORDER BY conn",
            params,
        )
        out: list[TraceEvent] = []
        for (
            number,
            started,
            request,
            request_headers,
            response,
            response_headers,
            status,
            subprotocol,
        ) in rows:
            when = (started or 0) / 1_000_000
            if request:
                raw = bytes(request)
                method, _, rest = raw.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
                target = rest.rsplit(" ", 1)[0]
                headers = _pairs(request_headers)
                out.append(HandshakeRequest(len(out), when, number, raw, method, target, headers))
            if response:
                raw = bytes(response)
                line = raw.split(b"\r\n", 1)[0].decode("latin-1")
                reason = line.split(" ", 2)[2] if line.count(" ") >= 2 else ""
                headers = _pairs(response_headers)
                out.append(
                    HandshakeResponse(
                        len(out), when, number, raw, int(status or 0), reason, headers, subprotocol
                    )
                )
        return out

    def event_count(self, conn: int | None = None) -> int:
        if conn is None:
            return int(self._fetch("SELECT count(*) FROM events")[0][0])
        return int(self._fetch("SELECT count(*) FROM events WHERE conn = ?", (conn,))[0][0])

    # -- statistics -------------------------------------------------------------------

    def topic_stats(self, query: Query | None = None) -> TopicStats:
        """Per-topic counts over the recording (or the part ``query`` selects)."""
        query = (query or Query()).validate()
        where, params, needs_check = query_sql(query, self._wildcard_topics(query))
        rows = self._fetch(
            "SELECT m.topic, count(*), sum(m.size), min(m.time_us), max(m.time_us), "
            "max(CASE WHEN m.retain THEN m.id END) "
            f"FROM messages AS m WHERE {where} GROUP BY m.topic",
            params,
        )
        retained_ids = [row[5] for row in rows if row[5] is not None]
        sizes: dict[int, int] = {}
        for start in range(0, len(retained_ids), 500):
            chunk = retained_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sizes.update(self._fetch(f"SELECT id, size FROM messages WHERE id IN ({marks})", chunk))
        stats = TopicStats()
        for topic, count, size, first, last, retained_id in rows:
            if needs_check and query.topic is not None and not topic_matches(query.topic, topic):
                continue
            retained = sizes.get(retained_id) if retained_id is not None else None
            stats.add_topic(
                topic, count, size or 0, first=first / 1_000_000, last=last / 1_000_000, retained=retained
            )
        return stats
