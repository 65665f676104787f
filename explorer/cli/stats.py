"""``mqttws-explorer stats FILE|URL [--json] [--sort rate|bytes|messages|topic]``.

Top talkers: per topic and per subtree, messages, bytes, messages/s and bytes/s,
retained messages held and their size, and when each was last seen. Over a recording
(or a pcap/pcapng capture) the rates cover its span; for a broker URL the command
subscribes (``-t``, default ``#``) for ``--duration`` seconds (default 10) and counts live.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from explorer.cli.connopts import add_connection_arguments, options_from_args
from explorer.cli.search import add_query_arguments, query_from_args
from explorer.cli.sub import check_filters, run_live
from explorer.errors import ExplorerError
from explorer.present.recording import stats_cells
from explorer.recording import TopicStat, TopicStats, format_size
from explorer.recording.capture import open_file
from explorer.recording.stats import SORT_KEYS
from explorer.workspace import Batch

__all__ = ["format_table", "register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "stats",
        help="top talkers per topic and subtree, of a recording, a capture or a live broker",
        description="Messages, bytes, rates and retained messages per topic and subtree (top talkers first).",
    )
    parser.add_argument("source", metavar="FILE|URL", help="recording, pcap/pcapng capture, or broker URL")
    add_query_arguments(parser)
    parser.add_argument("--sort", choices=SORT_KEYS, default="rate", help="order of the rows (default rate)")
    parser.add_argument("-n", "--limit", type=int, default=None, metavar="N", help="the first N rows only")
    parser.add_argument("--topics-only", action="store_true", help="no subtree rows")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument(
        "-W", "--duration", type=float, default=None, metavar="S", help="live: seconds to count (default 10)"
    )
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


def _is_url(text: str) -> bool:
    return "://" in text


def format_table(rows: list[TopicStat]) -> list[str]:
    """The rows as aligned text lines, a header first."""
    header = ("TOPIC", "MSGS", "BYTES", "MSG/S", "BYTES/S", "RETAINED", "LAST SEEN")
    lines = [header, *(stats_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for line in lines:
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(line[1:-1], widths[1:-1], strict=True)]
        cells.append(line[-1])
        out.append("  ".join(cells))
    return out


def _live(args: argparse.Namespace) -> tuple[TopicStats, float]:
    filters = check_filters([args.topic or "#"])
    args.url = args.source
    options = options_from_args(args)
    duration = args.duration if args.duration is not None else 10.0
    if duration <= 0:
        raise ExplorerError("--duration must be positive")
    stats = TopicStats()
    dropped = [0]
    offset = time.time() - time.monotonic()

    def on_batch(batch: Batch) -> bool:
        for message in batch.messages:
            stats.add(message.topic, len(message.payload), message.retain, message.time + offset)
        dropped[0] += batch.dropped
        return False

    started = time.monotonic()
    asyncio.run(run_live(options, filters, 0, on_batch, duration=duration, trace_limit=1000))
    if dropped[0]:
        print(f"mqttws-explorer: {dropped[0]:,} events were not counted (too fast)", file=sys.stderr)
    return stats, time.monotonic() - started


def run(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise ExplorerError("--limit must be at least 1")
    if _is_url(args.source):
        stats, seconds = _live(args)
        span: float | None = seconds
    else:
        query = query_from_args(args)
        with open_file(args.source) as recording:
            stats = recording.topic_stats(query)
        span = None
    rows = stats.rows(sort=args.sort, subtrees=not args.topics_only, duration=span, limit=args.limit)
    seconds = span if span is not None else stats.span()
    if args.json:
        summary = {"messages": stats.messages, "bytes": stats.bytes, "topics": len(stats), "seconds": seconds}
        print(json.dumps({**summary, "rows": [row.to_json() for row in rows]}, ensure_ascii=False))
        return 0
    print(
        f"{stats.messages:,} messages, {format_size(stats.bytes)} on {len(stats):,} topics "
        f"over {seconds:,.1f} s"
    )
    for line in format_table(rows):
        print(line)
    return 0
