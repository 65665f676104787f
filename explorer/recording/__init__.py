"""Recordings: a live session or a capture kept in an SQLite file, searched, counted, replayed.

Layers: ``schema`` (tables, opening a file as a recording), ``rows`` (trace events to
rows and back), ``writer`` (:class:`RecordingWriter`, a thread that writes batches),
``reader`` (:class:`Recording`, read-only), ``query`` (topic filters, times and words to
SQL), ``stats`` (top talkers). The file format is documented in ``docs/recording.md``.
"""

from __future__ import annotations

from explorer.recording.query import Query, parse_time, topic_matches
from explorer.recording.reader import ConnectionInfo, Message, Notice, Recording
from explorer.recording.rows import iso_time
from explorer.recording.schema import SCHEMA_VERSION, RecordingError
from explorer.recording.stats import TopicStat, TopicStats
from explorer.recording.writer import DEFAULT_MAX_SIZE, RecordingWriter, WriterStats, format_size, parse_size

__all__ = [
    "DEFAULT_MAX_SIZE",
    "SCHEMA_VERSION",
    "ConnectionInfo",
    "Message",
    "Notice",
    "Query",
    "Recording",
    "RecordingError",
    "RecordingWriter",
    "TopicStat",
    "TopicStats",
    "WriterStats",
    "format_size",
    "iso_time",
    "parse_size",
    "parse_time",
    "topic_matches",
]
