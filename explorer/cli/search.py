"""``mqttws-explorer search FILE [--topic FILTER] [--since T] [--until T] [--text WORDS] [--json]``.

Prints the messages of a recording (or of a pcap/pcapng capture) that match: a topic
filter with MQTT wildcards, a time range (ISO 8601 or relative, such as ``-10m``) and
words of the topic or payload text (full-text index). One line per message, oldest
first (``--newest`` reverses), or JSON lines with ``--json``. The count goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from explorer.cli.sub import format_message
from explorer.model.topictree import TopicMessage
from explorer.recording import Message, Query, iso_time, parse_time
from explorer.recording.capture import open_file
from explorer.workspace.export import message_to_json

__all__ = ["message_json", "query_from_args", "register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "search",
        help="search the messages of a recording or capture",
        description="Search the messages of a recording (or a pcap/pcapng capture) by topic, time and words.",
        epilog="Times: ISO 8601 (2026-12-05T14:00:00Z; without an offset, local time), now, "
        "or relative to now (-30s, -10m, -2h, -1d).",
    )
    parser.add_argument("file", metavar="FILE", help="recording (.sqlite) or pcap/pcapng capture")
    add_query_arguments(parser)
    parser.add_argument("--text", metavar="WORDS", help="words that must all appear in the topic or payload")
    parser.add_argument("-n", "--limit", type=int, metavar="N", help="at most N messages")
    parser.add_argument("--newest", action="store_true", help="newest first")
    parser.add_argument("--json", action="store_true", help="JSON lines")
    parser.set_defaults(func=run)


def add_query_arguments(parser: argparse.ArgumentParser) -> None:
    """``--topic``, ``--since``, ``--until`` and ``--conn``, shared with ``stats`` and ``replay``."""
    parser.add_argument("-t", "--topic", metavar="FILTER", help="topic filter (+ and # wildcards)")
    parser.add_argument("--since", metavar="T", help="from this time on")
    parser.add_argument("--until", metavar="T", help="up to this time")
    parser.add_argument("--conn", type=int, metavar="N", help="only connection N")


def query_from_args(args: argparse.Namespace, now: float | None = None) -> Query:
    """The :class:`Query` of the parsed arguments.

    Raises:
        RecordingError: a bad filter or time, as a sentence.
    """
    now = time.time() if now is None else now
    since = parse_time(args.since, now) if getattr(args, "since", None) else None
    until = parse_time(args.until, now) if getattr(args, "until", None) else None
    text = getattr(args, "text", None)
    topic = getattr(args, "topic", None) or getattr(args, "filter", None)
    return Query(
        topic=topic, since_us=since, until_us=until, text=text, conn=getattr(args, "conn", None)
    ).validate()


def message_json(message: Message) -> dict[str, Any]:
    """The message export's JSON form plus the recording's ``id``, ``conn`` and ``direction``."""
    out = {"id": message.id, "time_iso": iso_time(message.time_us), "conn": message.conn}
    out["direction"] = message.direction
    if message.codec is not None:
        out["codec"] = message.codec
        if message.text is not None:
            out["decoded_text"] = message.text  # what full-text search matched for a binary payload
    out.update(
        message_to_json(
            TopicMessage(
                message.topic, message.payload, message.qos, message.retain, message.time, message.properties
            )
        )
    )
    return out


def run(args: argparse.Namespace) -> int:
    query = query_from_args(args)
    if args.limit is not None and args.limit < 1:
        from explorer.errors import ExplorerError

        raise ExplorerError("--limit must be at least 1")
    found = 0
    out = sys.stdout
    with open_file(args.file) as recording:
        for message in recording.search(query, limit=args.limit, newest_first=args.newest):
            if args.json:
                out.write(json.dumps(message_json(message), ensure_ascii=False) + "\n")
            elif message.text is not None and message.codec not in (None, "text", "json"):
                # A binary payload the codecs read: its decoded text is what the search matched.
                shown = message.text if len(message.text) <= 200 else message.text[:200] + "…"
                out.write(f"{iso_time(message.time_us)} {message.topic} [{message.codec}] {shown}\n")
            else:
                out.write(f"{iso_time(message.time_us)} {format_message(message.to_event())}\n")
            found += 1
    out.flush()
    print(f"{found:,} messages found", file=sys.stderr)
    return 0 if found else 1
