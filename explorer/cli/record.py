"""``mqttws-explorer record URL|--profile NAME -t FILTER --out FILE [--duration S] [--frames]``.

Subscribes like ``sub`` and writes every message (with ``--frames`` every handshake,
frame and packet too) into a recording file (:mod:`explorer.recording`). On a terminal
a status line shows the messages, the file size and the rate while it runs; at the end
a summary line says what was recorded, and notices (size budget reached, messages the
disk could not keep up with) are printed as they happen. Runs until Ctrl-C,
``--duration`` or the connection ends.

Subscriptions use QoS 2 by default so messages are kept at the QoS they were published
with; with MQTT 5 they ask for Retain As Published, so the retain flag is the publisher's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from explorer.cli.connopts import add_connection_arguments, options_from_args
from explorer.cli.sub import run_live, subscriptions_from_args
from explorer.errors import ExplorerError
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Subscription
from explorer.recording import DEFAULT_MAX_SIZE, format_size, parse_size
from explorer.workspace import Batch, Workspace
from explorer.workspace.recorder import RecordingSink, RecordingStatus

__all__ = ["register", "run", "size_argument"]

_REFRESH = 0.5  # seconds between status line updates


def size_argument(text: str) -> int:
    """argparse type for ``--max-size``."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "record",
        help="record messages (and with --frames every frame) into an SQLite recording",
        description="Subscribe and record every message into a recording (SQLite; see docs/recording.md).",
    )
    parser.add_argument("url", nargs="?", help="broker URL, e.g. ws://localhost:8080/mqtt")
    parser.add_argument(
        "-t",
        "--topic",
        action="append",
        metavar="FILTER",
        help="topic filter; repeatable (default with --profile: the profile's subscriptions)",
    )
    parser.add_argument("--out", "-o", required=True, metavar="FILE", help="the new recording file")
    parser.add_argument(
        "-q",
        "--qos",
        type=int,
        choices=(0, 1, 2),
        default=2,
        help="subscription QoS (default 2: as published)",
    )
    parser.add_argument("-W", "--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument(
        "--frames", action="store_true", help="also keep every handshake, frame and packet with its bytes"
    )
    parser.add_argument(
        "--max-size",
        type=size_argument,
        default=DEFAULT_MAX_SIZE,
        metavar="SIZE",
        help="size budget, e.g. 500M or 2G (default 1G); past it the oldest rows go, with a notice",
    )
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


class _Progress:
    """The status line on a terminal and the notices, drawn from the batches."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.sink: RecordingSink | None = None
        self.started = time.monotonic()
        self._shown = 0.0
        self._line = False

    def batch(self, batch: Batch) -> bool:
        sink = self.sink
        if sink is None:
            return False
        for notice in sink.take_notices():
            self._clear()
            print(f"mqttws-explorer: {notice}", file=self.out)
        now = time.monotonic()
        if self.tty and now - self._shown >= _REFRESH:
            self._shown = now
            status = sink.status()
            text = (
                f"recording {status.path}: {status.messages:,} messages, {format_size(status.file_size)}, "
                f"{status.msgs_per_s:,.0f} msg/s"
            )
            if status.dropped:
                text += f", {status.dropped:,} dropped"
            self.out.write("\r\x1b[2K" + text)
            self.out.flush()
            self._line = True
        return False

    def _clear(self) -> None:
        if self._line:
            self.out.write("\r\x1b[2K")
            self._line = False

    def finish(self, status: RecordingStatus | None, source: str) -> None:
        self._clear()
        if self.sink is not None:
            for notice in self.sink.take_notices():
                print(f"mqttws-explorer: {notice}", file=self.out)
        if status is None:
            return
        seconds = time.monotonic() - self.started
        text = (
            f"recorded {status.messages:,} messages from {source} in {seconds:.1f} s into {status.path} "
            f"({format_size(status.file_size)})"
        )
        extra = []
        if status.dropped:
            extra.append(f"{status.dropped:,} not recorded (the disk fell behind)")
        if status.evicted:
            extra.append(f"{status.evicted:,} oldest dropped for the size budget")
        if extra:
            text += ": " + ", ".join(extra)
        print(text)


def run(args: argparse.Namespace) -> int:
    filters = subscriptions_from_args(args, required=True)
    if args.duration is not None and args.duration <= 0:
        raise ExplorerError("--duration must be positive")
    options = options_from_args(args)
    v5 = options.mqtt_version == ProtocolVersion.V5
    subscriptions: list[str | Subscription] = []
    for item in filters:
        if isinstance(item, Subscription):
            subscriptions.append(item)
        else:
            # Retain As Published keeps the publisher's retain flag (MQTT 5.0 §3.8.3.1).
            subscriptions.append(Subscription(item, qos=args.qos, retain_as_published=v5))
    progress = _Progress(sys.stderr)
    final: list[RecordingStatus | None] = [None]

    def before(workspace: Workspace) -> None:
        progress.sink = workspace.start_recording(args.out, frames=args.frames, max_size=args.max_size)

    async def after(workspace: Workspace) -> None:
        final[0] = await workspace.stop_recording()

    failed = False
    try:
        code = asyncio.run(
            run_live(
                options,
                subscriptions,
                args.qos,
                progress.batch,
                duration=args.duration,
                trace_limit=10_000,
                before=before,
                after=after,
            )
        )
    except ExplorerError:
        failed = True
        raise
    finally:
        status = final[0]
        if status is None and progress.sink is not None:
            status = progress.sink.close()  # ended by an error: what was recorded is kept
        if failed and status is not None and status.messages == 0:
            _remove_empty(Path(args.out))  # nothing recorded: leave no empty file behind
            status = None
        progress.finish(status, options.endpoint.url())
    return code


def _remove_empty(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            Path(f"{path}{suffix}").unlink()
