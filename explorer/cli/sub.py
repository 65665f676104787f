"""``mqttws-explorer sub URL -t FILTER [-t ...] [--qos N] [--json] [--trace]``.

With ``--profile NAME`` and no ``-t``, the profile's subscriptions are used.

Prints every message received on the given topic filters. ``--trace`` prints, live,
the HTTP upgrade and every WebSocket frame with the MQTT packets it carries, in the
same lines as ``decode`` prints for a capture (both use :class:`explorer.present.listing.Listing`).
``--json`` makes either form JSON lines (messages as in the message export, trace
events as :func:`explorer.model.trace.event_to_json`).

Runs until Ctrl-C, ``--count N`` messages or ``--duration S`` seconds; a connection
that ends by itself ends the command with exit code 1. The run loop here is shared with
``trace`` (:func:`run_live`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from explorer.cli.codecopts import registry_from_args
from explorer.cli.connopts import add_connection_arguments, options_from_args, profile_from_args
from explorer.cli.notices import connection_warnings
from explorer.client.driver import BrokerRefused, backoff_delay
from explorer.client.options import ConnectionOptions
from explorer.errors import ConnectionFailed, ExplorerError, LocalProtocolError
from explorer.model.events import ErrorReported, MessageReceived
from explorer.model.topictree import TopicMessage
from explorer.model.trace import event_to_json
from explorer.mqtt.packets import NO_PROPERTIES, Subscription
from explorer.mqtt.topics import validate_topic_filter
from explorer.present.gaps import Gap, GapTracker, gap_notice, gap_to_json
from explorer.present.listing import Listing
from explorer.present.payload import escape_text, looks_binary, text_view
from explorer.workspace import Batch, Workspace
from explorer.workspace.export import EPOCH_2001, message_to_json, wall_time

if TYPE_CHECKING:
    from explorer.codecs.stream import DecodedMessage, MessageDecoder

__all__ = [
    "check_filters",
    "connection_warnings",
    "format_message",
    "register",
    "run",
    "run_live",
    "subscriptions_from_args",
]

_ENDED_STATES = ("closed",)
_MAX_INLINE = 4096  # payload bytes printed per message line


def format_message(event: MessageReceived, decoded: DecodedMessage | None = None) -> str:
    """``topic payload`` on one line; binary payloads as hex, long ones truncated.

    With a decoding other than text or JSON, ``topic [codec] display text``; a payload
    its codec cannot read shows the error and the raw bytes. Sparkplug notices follow on
    lines of their own, starting with ``!``.
    """
    payload = event.payload
    flags = (" [retained]" if event.retain else "") + (f" [QoS {event.qos}]" if event.qos else "")
    if decoded is not None and decoded.decoded.codec not in ("text", "json", "raw"):
        result = decoded.decoded
        if result.error is not None:
            shown = payload[:_MAX_INLINE].hex(" ")
            more = f" … ({len(payload)} B)" if len(payload) > _MAX_INLINE else ""
            line = f"{event.topic}{flags} [{result.codec}: {result.error}] <{len(payload)} B> {shown}{more}"
        else:
            text = escape_text(result.text.replace("\n", "\\n"))
            if len(text) > _MAX_INLINE:
                text = text[:_MAX_INLINE] + f" … ({len(result.text):,} characters)"
            line = f"{event.topic}{flags} [{result.codec}] {text}"
        return "\n".join([line, *(f"! {notice}" for notice in decoded.notices)])
    if looks_binary(payload):
        shown = payload[:_MAX_INLINE].hex(" ")
        more = f" … ({len(payload)} B)" if len(payload) > _MAX_INLINE else ""
        return f"{event.topic}{flags} <{len(payload)} B binary> {shown}{more}"
    view = text_view(payload, limit=_MAX_INLINE)
    text = view.text.replace("\n", "\\n")
    more = f" {view.marker}" if view.truncated else ""
    return f"{event.topic}{flags} {text}{more}"


def _message_json(event: MessageReceived, time_offset: float) -> dict[str, Any]:
    """The message export's JSON form; ``time`` in seconds since the epoch."""
    properties = getattr(event.packet, "properties", None) or NO_PROPERTIES
    when = wall_time(event.time, time_offset)
    return message_to_json(
        TopicMessage(event.topic, event.payload, event.qos, event.retain, when, properties)
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sub",
        help="subscribe and print messages (and, with --trace, every frame)",
        description="Subscribe to topic filters and print the messages; --trace shows every frame live.",
    )
    parser.add_argument("url", nargs="?", help="broker URL, e.g. ws://localhost:8080/mqtt")
    parser.add_argument(
        "-t",
        "--topic",
        action="append",
        metavar="FILTER",
        help="topic filter; repeatable (default with --profile: the profile's subscriptions)",
    )
    parser.add_argument(
        "-q", "--qos", type=int, choices=(0, 1, 2), default=0, help="subscription QoS (default 0)"
    )
    parser.add_argument("--json", action="store_true", help="JSON lines")
    parser.add_argument("--trace", action="store_true", help="print every frame with its packets, live")
    parser.add_argument(
        "--no-payload",
        dest="payload",
        action="store_false",
        help="with --trace: leave the payload preview off PUBLISH lines",
    )
    parser.add_argument("-C", "--count", type=int, metavar="N", help="exit after N messages")
    parser.add_argument("-W", "--duration", type=float, metavar="S", help="exit after S seconds")
    add_connection_arguments(parser, codecs=True)
    parser.set_defaults(func=run)


def check_filters(filters: Iterable[str]) -> list[str]:
    out = []
    for topic_filter in filters:
        try:
            validate_topic_filter(topic_filter)
        except LocalProtocolError as exc:
            raise ExplorerError(f"invalid topic filter {topic_filter!r}: {exc}") from None
        out.append(topic_filter)
    return out


def subscriptions_from_args(args: argparse.Namespace, *, required: bool) -> list[str | Subscription]:
    """The ``-t`` filters, or without any the subscriptions of the ``--profile`` given.

    Raises:
        ExplorerError: ``required`` and neither ``-t`` nor a profile with subscriptions.
    """
    if args.topic:
        return list(check_filters(args.topic))
    profile = profile_from_args(args)
    if profile is not None and profile.subscriptions:
        check_filters(sub.topic_filter for sub in profile.subscriptions)
        return list(profile.subscriptions)
    if required:
        if profile is None:
            raise ExplorerError("give a topic filter with -t FILTER (or --profile NAME with subscriptions)")
        raise ExplorerError(
            f"profile {profile.name!r} has no subscriptions: give a topic filter with -t FILTER"
        )
    return []


def run(args: argparse.Namespace) -> int:
    filters = subscriptions_from_args(args, required=True)
    if args.count is not None and args.count < 1:
        raise ExplorerError("--count must be at least 1")
    if args.duration is not None and not args.duration > 0:  # also refuses nan
        raise ExplorerError("--duration must be positive")
    options = options_from_args(args)
    from explorer.codecs.stream import MessageDecoder

    decoder = MessageDecoder(registry_from_args(args, profile_from_args(args)))
    printer = _Printer(
        sys.stdout,
        json_lines=args.json,
        trace=args.trace,
        count=args.count,
        payload=args.payload,
        decoder=decoder,
    )
    try:
        return asyncio.run(
            run_live(
                options,
                filters,
                args.qos,
                printer.batch,
                duration=args.duration,
                trace_limit=10_000,
                on_gap=printer.gap,
            )
        )
    finally:
        printer.finish()


class _Printer:
    def __init__(
        self,
        out: TextIO,
        *,
        json_lines: bool,
        trace: bool,
        count: int | None,
        payload: bool = True,
        decoder: MessageDecoder | None = None,
    ) -> None:
        from explorer.codecs.stream import MessageDecoder

        self.out = out
        self.decoder = decoder if decoder is not None else MessageDecoder()
        self.json_lines = json_lines
        self.trace = trace
        self.remaining = count
        self.listing = Listing(out.write, payload=payload)
        self.time_offset = time.time() - time.monotonic()  # event times are monotonic

    def batch(self, batch: Batch) -> bool:
        """Print one batch; ``True`` when the requested count of messages is reached."""
        write = self.out.write
        if not self.trace:
            for warning in connection_warnings(batch.errors):
                print(warning, file=sys.stderr)
        if self.trace:
            if self.json_lines:
                for event in batch.events:
                    write(json.dumps(event_to_json(event)) + "\n")
            else:
                self.listing.feed(batch.events)
        done = False
        for message in batch.messages:
            if self.remaining is not None and self.remaining <= 0:
                break
            observation = self.decoder.observe(message.topic, message.payload, message.time)
            if not self.trace:
                properties = getattr(message.packet, "properties", None) or NO_PROPERTIES
                decoded = self.decoder.decode(
                    message.topic, message.payload, properties.content_type, observation=observation
                )
                if self.json_lines:
                    obj = _message_json(message, self.time_offset)
                    obj.update(decoded.decoded.to_json())
                    obj["payload_base64"] = base64.b64encode(message.payload).decode("ascii")
                    if decoded.sparkplug is not None:
                        obj["sparkplug"] = decoded.sparkplug.to_json()
                    write(json.dumps(obj, ensure_ascii=False) + "\n")
                else:
                    write(format_message(message, decoded) + "\n")
            if self.remaining is not None:
                self.remaining -= 1
                done = self.remaining <= 0
        if batch.dropped and not self.json_lines:
            write(f"! {batch.dropped} events not shown (output too slow)\n")
        self.out.flush()
        return done

    def gap(self, gap: Gap) -> None:
        """Mark an outage in JSON-lines output (``run_live`` says it on stderr)."""
        if self.json_lines and not self.trace:
            offset = self.time_offset if gap.start < EPOCH_2001 else 0.0
            self.out.write(json.dumps(gap_to_json(gap, time_offset=offset)) + "\n")

    def finish(self) -> None:
        """Print what the live listing still holds and the packets that never completed."""
        if self.trace and not self.json_lines:
            self.listing.close()
            self.out.flush()


async def _connect(
    workspace: Workspace, options: ConnectionOptions, stop: asyncio.Event, duration: float | None
) -> bool:
    """Connect; with ``options.reconnect``, keep trying with jittered backoff while the broker is away.

    A broker that answers and refuses (bad credentials, not authorized) is not retried:
    trying again cannot help. Returns False when Ctrl-C or the duration ended the waiting.
    """
    loop = asyncio.get_running_loop()
    deadline = None if duration is None else loop.time() + duration
    attempt = 0
    while True:
        try:
            await workspace.connect(options)
            if attempt:
                print("mqttws-explorer: connected", file=sys.stderr)
            return True
        except BrokerRefused:
            raise
        except ConnectionFailed as exc:
            if not options.reconnect:
                raise
            delay = backoff_delay(attempt, options.reconnect_initial_delay, options.reconnect_max_delay)
            if deadline is not None:
                delay = min(delay, max(0.0, deadline - loop.time()))
            print(
                f"mqttws-explorer: cannot connect ({exc}); trying again in {delay:.1f} s (--reconnect)",
                file=sys.stderr,
            )
            attempt += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        if stop.is_set() or (deadline is not None and loop.time() >= deadline):
            return False


def _hand_over_tail(workspace: Workspace, last_seq: int, on_batch: Callable[[Batch], bool]) -> None:
    """Hand ``on_batch`` the trace events after ``last_seq`` that no batch brought yet."""
    tail = tuple(workspace.trace.since(last_seq))
    if tail:
        errors = tuple(event for event in tail if isinstance(event, ErrorReported))
        on_batch(Batch(tail, (), errors, (), workspace.status))


async def run_live(
    options: ConnectionOptions,
    filters: Sequence[str | Subscription],
    qos: int,
    on_batch: Callable[[Batch], bool],
    *,
    duration: float | None = None,
    trace_limit: int = 100_000,
    after: Callable[[Workspace], Awaitable[None]] | None = None,
    before: Callable[[Workspace], None] | None = None,
    on_gap: Callable[[Gap], None] | None = None,
) -> int:
    """Connect, subscribe (a plain filter at ``qos``, a Subscription with its own options),
    hand every batch to ``on_batch`` until it returns True,
    the duration passes, Ctrl-C, or the connection ends; then disconnect cleanly.

    ``before`` runs with the Workspace before it connects (``record`` starts recording
    there); ``after`` runs with it once disconnected (``trace`` exports there). After an
    outage (``--reconnect``) a notice says on stderr how long it lasted and what was lost,
    and ``on_gap`` gets the :class:`Gap` (``sub --json`` marks it in its output).
    Returns the exit code: 0, or 1 when the connection ended by itself.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    code = 0
    try:
        async with Workspace(trace_limit=trace_limit, history_count=1, batch_capacity=100_000) as workspace:
            if before is not None:
                before(workspace)
            stream = workspace.events(max_rate_hz=20)
            last_seq = -1

            gaps = GapTracker()

            def deliver(batch: Batch) -> bool:
                nonlocal last_seq
                if batch.events:
                    last_seq = max(last_seq, batch.events[-1].seq)
                for event in batch.events:
                    gap = gaps.observe(event)
                    if gap is not None:
                        notice = gap_notice(gap, clean_start=options.clean_start)
                        print(f"mqttws-explorer: {notice}", file=sys.stderr)
                        if on_gap is not None:
                            on_gap(gap)
                return on_batch(batch)

            deliver(await anext(stream))
            try:
                connected = await _connect(workspace, options, stop, duration)
            except ConnectionFailed:
                # The upgrade, the CONNECT and a refusing CONNACK are in the trace: show them.
                _hand_over_tail(workspace, last_seq, on_batch)
                raise
            if not connected:
                if stop.is_set():
                    return 0
                print("mqttws-explorer: no connection within the duration given (-W)", file=sys.stderr)
                return 1
            for item in filters:
                if isinstance(item, Subscription):
                    topic_filter = item.topic_filter
                    codes = await workspace.subscribe(
                        topic_filter,
                        item.qos,
                        no_local=item.no_local,
                        retain_as_published=item.retain_as_published,
                        retain_handling=item.retain_handling,
                    )
                else:
                    topic_filter = item
                    codes = await workspace.subscribe(topic_filter, qos)
                if not codes or codes[0] >= 0x80:
                    refused = f"0x{codes[0]:02x}" if codes else "no reason code"
                    raise ConnectionFailed(
                        f"the broker refused the subscription to {topic_filter!r} ({refused})"
                    )
            ended: list[str] = []

            async def consume() -> None:
                async for batch in stream:
                    if deliver(batch):
                        return
                    if batch.status.state in _ENDED_STATES:
                        ended.append(batch.status.detail or "the connection ended")
                        return

            consumer = asyncio.create_task(consume())
            stopper = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({consumer, stopper}, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (consumer, stopper):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task  # re-raises what the consumer failed with
            if ended:
                print(f"mqttws-explorer: connection ended: {ended[0]}", file=sys.stderr)
                code = 1
            await workspace.disconnect()
            await stream.aclose()
            # The client's own DISCONNECT and close frames came after the last batch
            # taken: hand them over from the trace, as an export of it would hold them.
            _hand_over_tail(workspace, last_seq, on_batch)
            if after is not None:
                await after(workspace)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
    return code
