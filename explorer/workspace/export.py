"""Export of the received messages kept in a TopicTree, as JSON lines or CSV.

One row per kept message (the per-topic history), oldest first across all topics. The
payload is written as UTF-8 text when it is valid UTF-8 and as base64 otherwise; the
``encoding`` column/field says which, so a round trip is lossless. Messages never hold
a CONNECT password, and nothing else from the connection is written.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import datetime
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from explorer.errors import ExplorerError
from explorer.model.topictree import TopicMessage, TopicNode, TopicTree
from explorer.model.trace import properties_to_json

__all__ = [
    "EPOCH_2001",
    "MessageFormat",
    "export_messages",
    "iso_time",
    "iter_messages",
    "message_to_json",
    "wall_time",
]

MessageFormat = Literal["jsonl", "csv"]

PayloadDecoding = Callable[[TopicMessage], dict[str, Any]]
"""Extra JSON fields for one exported message (its payload decoded)."""

CSV_COLUMNS = ("time", "connection", "topic", "qos", "retain", "encoding", "payload", "properties")


def _payload_fields(payload: bytes) -> tuple[str, str]:
    try:
        return "utf-8", payload.decode("utf-8")
    except UnicodeDecodeError:
        return "base64", base64.b64encode(payload).decode("ascii")


def message_to_json(message: TopicMessage) -> dict[str, Any]:
    encoding, text = _payload_fields(message.payload)
    data: dict[str, Any] = {
        "time": message.time,
        "topic": message.topic,
        "qos": message.qos,
        "retain": message.retain,
        "encoding": encoding,
        "payload": text,
    }
    if message.properties:
        data["properties"] = properties_to_json(message.properties)
    return data


EPOCH_2001 = 978_307_200.0
"""Times below this are monotonic clock readings, not seconds since the epoch."""


def wall_time(value: float, offset: float) -> float:
    """A monotonic time as seconds since the epoch (times that already are stay as they are)."""
    return value if value >= EPOCH_2001 else value + offset


def iter_messages(
    tree: TopicTree, under: TopicNode | None = None, time_offset: float = 0.0
) -> Iterator[TopicMessage]:
    """Every kept message below ``under`` (default: all), oldest first.

    ``time_offset`` turns monotonic message times into wall-clock times (see :func:`wall_time`).
    """
    messages: list[TopicMessage] = []
    for node in tree.topics(under):
        messages.extend(node.history())
    messages.sort(key=lambda m: m.time)
    if time_offset:
        messages = [dataclasses.replace(m, time=wall_time(m.time, time_offset)) for m in messages]
    return iter(messages)


def iso_time(value: float) -> str:
    """Seconds since the epoch as ISO 8601 in UTC with microseconds: ``2026-12-05T15:20:01.250000Z``."""
    stamp = datetime.datetime.fromtimestamp(value, datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _write_jsonl(
    messages: Iterable[TopicMessage], handle: Any, connection: str, decode: PayloadDecoding | None = None
) -> int:
    count = 0
    for message in messages:
        data = message_to_json(message)
        if connection:
            data["connection"] = connection
        if decode is not None:
            data.update(decode(message))
        handle.write(json.dumps(data, ensure_ascii=False))
        handle.write("\n")
        count += 1
    return count


def _write_csv(messages: Iterable[TopicMessage], handle: Any, connection: str) -> int:
    writer = csv.writer(handle)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for message in messages:
        encoding, text = _payload_fields(message.payload)
        props = json.dumps(properties_to_json(message.properties)) if message.properties else ""
        writer.writerow(
            [
                iso_time(message.time),
                connection,
                message.topic,
                message.qos,
                int(message.retain),
                encoding,
                text,
                props,
            ]
        )
        count += 1
    return count


def export_messages(
    tree: TopicTree,
    path: Path | str,
    fmt: MessageFormat = "jsonl",
    *,
    under: TopicNode | None = None,
    time_offset: float = 0.0,
    connection: str = "",
    decode: PayloadDecoding | None = None,
) -> int:
    """Write the kept messages to ``path`` and return how many were written.

    ``decode`` adds fields to each JSON line (the Workspace's payload codecs: ``codec`` and
    ``decoded`` or ``decode_error``); the raw payload is written as before, untouched.

    ``time_offset`` is added to monotonic message times so the file holds seconds since
    the epoch (``Workspace.export_messages`` passes the live clock's offset). JSON lines
    keep them as numbers; CSV writes ISO 8601 in UTC (:func:`iso_time`). ``connection``
    (the broker's URL, without credentials) fills the ``connection`` column.

    Raises:
        ExplorerError: unknown format or the file cannot be written.
    """
    if fmt not in ("jsonl", "csv"):
        raise ExplorerError(f"unknown message export format {fmt!r}: use jsonl or csv")
    messages = iter_messages(tree, under, time_offset)
    try:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            if fmt == "jsonl":
                return _write_jsonl(messages, handle, connection, decode)
            return _write_csv(messages, handle, connection)
    except OSError as exc:
        raise ExplorerError(f"cannot write {path}: {exc.strerror or exc}") from None
