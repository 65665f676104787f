"""``mqttws-explorer replay FILE URL|--profile NAME [--speed X | --max-rate N] [--filter F]``.

Publishes the messages of a recording (or of a capture) to a broker in their recorded
order, with their QoS, retain flag and MQTT 5 properties, at the recorded pace times
``--speed`` (default 1) or at most ``--max-rate`` messages a second. Properties the
broker sets on delivery (Topic Alias, Subscription Identifier) are not sent. With
``--topic-prefix P`` every topic becomes ``P`` + topic. On a terminal a progress bar
shows the way; the summary line says how many were sent, acknowledged (QoS 1 and 2) and
failed. Exit code 0 when none failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
import sys
import time
from typing import Any, TextIO

from explorer.cli.connopts import add_connection_arguments, options_from_args
from explorer.cli.search import add_query_arguments, query_from_args
from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions
from explorer.errors import ExplorerError
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import NO_PROPERTIES, Properties
from explorer.recording import Message, Recording
from explorer.recording.capture import open_file

__all__ = ["ReplayCounts", "register", "replay", "run"]

_IN_FLIGHT = 512  # publishes awaiting their acknowledgement at most
_BAR = 30


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="publish the messages of a recording or capture to a broker, in order",
        description="Publish a recording's messages to a broker in order, with QoS, retain and properties.",
    )
    parser.add_argument("file", metavar="FILE", help="recording or pcap/pcapng capture")
    parser.add_argument("url", nargs="?", help="broker URL (optional with --profile)")
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=_positive, metavar="X", help="X times the recorded pace (default 1)")
    pace.add_argument("--max-rate", type=_positive, metavar="N", help="as fast as possible, at most N msg/s")
    add_query_arguments(parser)
    parser.add_argument("--filter", metavar="F", help="only topics matching this filter (same as --topic)")
    parser.add_argument("--topic-prefix", default="", metavar="P", help="publish to P + the recorded topic")
    parser.add_argument(
        "--direction",
        choices=("s2c", "c2s", "all"),
        default="s2c",
        help="of a capture: the messages the broker delivered (s2c, default), those published (c2s), or all",
    )
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


@dataclasses.dataclass(slots=True)
class ReplayCounts:
    total: int = 0
    sent: int = 0
    acknowledged: int = 0
    needs_ack: int = 0
    failed: int = 0
    skipped_properties: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)


def _properties(message: Message, v5: bool) -> Properties:
    if not v5 or not message.properties_json:
        return NO_PROPERTIES
    # Set by the broker on delivery, not by the publisher (MQTT 5.0 §3.3.2.3.4, §3.3.2.3.8).
    return dataclasses.replace(message.properties, topic_alias=None, subscription_identifiers=())


class _Bar:
    def __init__(self, out: TextIO, total: int) -> None:
        self.out = out
        self.tty = out.isatty()
        self.total = max(total, 1)
        self._shown = 0.0

    def show(self, counts: ReplayCounts, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.tty or (not force and now - self._shown < 0.2):
            return
        self._shown = now
        done = counts.sent + counts.failed
        filled = int(_BAR * done / self.total)
        self.out.write(
            f"\r\x1b[2K[{'#' * filled}{'-' * (_BAR - filled)}] {100 * done // self.total:3d}% "
            f"{done:,}/{counts.total:,} · acknowledged {counts.acknowledged:,} · "
            f"failed {counts.failed:,}"
        )
        self.out.flush()

    def clear(self) -> None:
        if self.tty:
            self.out.write("\r\x1b[2K")
            self.out.flush()


async def replay(
    recording: Recording,
    messages: list[Message],
    options: ConnectionOptions,
    *,
    speed: float | None = None,
    max_rate: float | None = None,
    topic_prefix: str = "",
    bar: _Bar | None = None,
) -> ReplayCounts:
    """Publish ``messages`` in order; return the counts (a failure is counted, never raised
    once connected)."""
    counts = ReplayCounts(total=len(messages))
    v5 = options.mqtt_version == ProtocolVersion.V5
    client = MqttClient(options, message_queue_size=0)
    await client.connect()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    window = asyncio.Semaphore(_IN_FLIGHT)
    pending: set[asyncio.Task[None]] = set()

    async def publish(message: Message, properties: Properties) -> None:
        try:
            await client.publish(
                topic_prefix + message.topic, message.payload, message.qos, message.retain, properties
            )
            counts.sent += 1
            if message.qos:
                counts.acknowledged += 1
        except ExplorerError as exc:
            counts.failed += 1
            if len(counts.errors) < 5:
                counts.errors.append(f"{message.topic}: {exc}")
        finally:
            window.release()

    try:
        start = time.monotonic()
        first = messages[0].time if messages else 0.0
        for index, message in enumerate(messages):
            if stop.is_set():
                break
            due = None
            if max_rate is not None:
                due = start + index / max_rate
            elif speed is not None:
                due = start + (message.time - first) / speed
            if due is not None:
                delay = due - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                    if stop.is_set():
                        break
            properties = _properties(message, v5)
            if message.properties_json and not v5:
                counts.skipped_properties += 1
            if message.qos:
                counts.needs_ack += 1
            await window.acquire()
            # Tasks start in creation order and each writes its PUBLISH before its first
            # wait, so the broker gets the messages in recorded order.
            task = asyncio.create_task(publish(message, properties))
            pending.add(task)
            task.add_done_callback(pending.discard)
            if bar is not None:
                bar.show(counts)
        if pending:
            await asyncio.wait(pending)
        if bar is not None:
            bar.show(counts, force=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        for task in pending:
            task.cancel()
        with contextlib.suppress(ExplorerError):
            await client.close()
    return counts


def run(args: argparse.Namespace) -> int:
    if args.filter and args.topic:
        raise ExplorerError("give the topic filter once: --filter or --topic")
    query = query_from_args(args)
    given_version = args.mqtt_version
    with open_file(args.file) as recording:
        recorded_v5 = any(info.mqtt_version == "5.0" for info in recording.connections())
        if given_version is None and args.profile is None and recorded_v5:
            args.mqtt_version = "5"  # the recorded properties need MQTT 5
        options = options_from_args(args)
        messages = [
            message for message in recording.search(query) if args.direction in ("all", message.direction)
        ]
        speed = args.speed if args.speed is not None or args.max_rate is not None else 1.0
        bar = _Bar(sys.stderr, len(messages))
        started = time.monotonic()
        try:
            counts = asyncio.run(
                replay(
                    recording,
                    messages,
                    options,
                    speed=speed if args.max_rate is None else None,
                    max_rate=args.max_rate,
                    topic_prefix=args.topic_prefix,
                    bar=bar,
                )
            )
        finally:
            bar.clear()
    seconds = time.monotonic() - started
    for error in counts.errors:
        print(f"mqttws-explorer: failed: {error}", file=sys.stderr)
    if counts.skipped_properties:
        print(
            f"mqttws-explorer: warning: the MQTT 5 properties of {counts.skipped_properties:,} messages "
            "were not sent: connect with --mqtt-version 5",
            file=sys.stderr,
        )
    print(
        f"replayed {counts.total:,} messages to {options.endpoint.url()} in {seconds:.1f} s: "
        f"sent {counts.sent:,}, acknowledged {counts.acknowledged:,} of {counts.needs_ack:,} (QoS 1/2), "
        f"failed {counts.failed:,}"
    )
    return 0 if counts.failed == 0 and counts.sent == counts.total else 1
