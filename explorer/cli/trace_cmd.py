"""``mqttws-explorer trace URL [-t FILTER] --export out.pcapng|out.jsonl [--duration S]``.

Connects, optionally subscribes, records every byte of the connection as trace events
(the HTTP upgrade, every WebSocket frame both ways, every MQTT packet), and when the
duration passes or on Ctrl-C disconnects cleanly and writes the trace: pcapng (opens
in Wireshark and tshark; for wss, the decrypted bytes) or JSON lines. The CONNECT
password never reaches the file.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from explorer.cli.connopts import add_connection_arguments, options_from_args
from explorer.cli.sub import run_live, subscriptions_from_args
from explorer.errors import ExplorerError
from explorer.workspace import Batch, TraceFormat, Workspace

__all__ = ["export_format", "register", "run"]


def export_format(path: str, explicit: str | None) -> TraceFormat:
    """The export format: ``--format`` if given, else from the file extension."""
    if explicit is not None:
        if explicit not in ("pcapng", "jsonl"):
            raise ExplorerError(f"unknown --format {explicit!r}: use pcapng or jsonl")
        return "pcapng" if explicit == "pcapng" else "jsonl"
    suffix = Path(path).suffix.lower()
    if suffix in (".pcapng", ".pcap"):
        return "pcapng"
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    raise ExplorerError(
        f"cannot tell the export format of {path!r}: name it .pcapng or .jsonl, or give --format"
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "trace",
        help="record a connection's frames and packets to pcapng or JSON lines",
        description="Connect, record every handshake byte, frame and packet, and export the trace.",
    )
    parser.add_argument("url", nargs="?", help="broker URL, e.g. ws://localhost:8080/mqtt")
    parser.add_argument(
        "-t",
        "--topic",
        action="append",
        default=[],
        metavar="FILTER",
        help="subscribe; repeatable (default with --profile: the profile's subscriptions)",
    )
    parser.add_argument(
        "-q", "--qos", type=int, choices=(0, 1, 2), default=0, help="subscription QoS (default 0)"
    )
    parser.add_argument("--export", required=True, metavar="FILE", help="output file: .pcapng or .jsonl")
    parser.add_argument(
        "--format", choices=("pcapng", "jsonl"), help="export format (default: from the extension)"
    )
    parser.add_argument(
        "-W", "--duration", type=float, metavar="S", help="stop after S seconds (default: Ctrl-C)"
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=1_000_000,
        metavar="N",
        help="trace events kept (oldest dropped; default 1e6)",
    )
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    fmt = export_format(args.export, args.format)
    filters = subscriptions_from_args(args, required=False)
    if args.duration is not None and not args.duration > 0:  # also refuses nan
        raise ExplorerError("--duration must be positive")
    if args.limit < 1:
        raise ExplorerError("--limit must be at least 1")
    target = Path(args.export)
    if not target.parent.is_dir():
        raise ExplorerError(f"cannot write {args.export}: directory {str(target.parent)!r} does not exist")
    options = options_from_args(args)
    written: list[int] = []

    async def export(workspace: Workspace) -> None:
        written.append(workspace.export_trace(target, fmt))
        if workspace.status.dropped_events:
            print(
                f"mqttws-explorer: the oldest {workspace.status.dropped_events} events were dropped "
                f"(--limit {args.limit})",
                file=sys.stderr,
            )

    def on_batch(batch: Batch) -> bool:
        return False

    code = asyncio.run(
        run_live(
            options, filters, args.qos, on_batch, duration=args.duration, trace_limit=args.limit, after=export
        )
    )
    if written:
        print(f"wrote {written[0]} trace events to {args.export} ({fmt})")
    return code
