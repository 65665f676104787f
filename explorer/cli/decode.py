"""``mqttws-explorer decode CAPTURE``: every handshake, frame and MQTT packet of a capture.

The capture is read once, as a stream (:class:`explorer.capture.pipeline.Pipeline`):
memory stays bounded whatever its size. What is decoded, and how gaps in TCP are
handled, is said in :mod:`explorer.capture.pipeline`.

The listing and ``--json`` are both made from the decoder's trace events: the listing
by :class:`explorer.present.listing.Listing` (the same formatter as ``sub --trace``), the
JSON form of an event by :func:`explorer.model.trace.event_to_json`. Output is grouped
by connection, in the order connections start; connections open at the same time are
kept apart in a spool (memory, then a temporary file) until the capture is read.

Narrowing (``--conn``, ``--topic``, ``--type``, ``--dir``, ``--errors-only``) is applied as
early as it can be: connections not asked for are never decoded, and events not asked
for are never formatted. ``--summary`` replaces the listing with counts per connection
and per topic. On a terminal, a progress line on stderr shows how far the reading is.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from itertools import count
from typing import Any

from explorer.capture import TcpConnection
from explorer.capture.pipeline import SNIFF, Kind, classify_bytes
from explorer.cli.codecopts import add_codec_arguments
from explorer.decoder import ConnectionDecoder
from explorer.errors import CaptureError
from explorer.model.events import Direction, ErrorReported, TraceEvent

__all__ = ["Kind", "classify", "decode_connection", "register", "run"]

_PACKET_TYPES = (
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "AUTH",
)


def _port(text: str) -> int:
    """argparse type for --port: a TCP port number, 1-65535."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port: give a number from 1 to 65535")
    return value


def _conn(text: str) -> int:
    """argparse type for --conn: a connection number as the listing shows it."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a connection number (0, 1, 2...)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is not a connection number (0, 1, 2...)")
    return value


def _types(text: str) -> frozenset[str]:
    """argparse type for --type: MQTT packet type names, comma separated."""
    names = frozenset(name.strip().upper() for name in text.split(",") if name.strip())
    unknown = sorted(names - set(_PACKET_TYPES))
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown packet type {', '.join(unknown) or repr(text)}: choose from {','.join(_PACKET_TYPES)}"
        )
    return names


def _topic(text: str) -> str:
    """argparse type for --topic: an MQTT topic filter (MQTT 5.0 §4.7.1)."""
    levels = text.split("/")
    if not text or any(
        ("#" in level and level != "#") or ("+" in level and level != "+") for level in levels
    ):
        raise argparse.ArgumentTypeError(f"{text!r} is not a topic filter ('+' and '#' fill a whole level)")
    if "#" in levels[:-1]:
        raise argparse.ArgumentTypeError(f"{text!r} is not a topic filter ('#' must be the last level)")
    return text


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "decode",
        help="decode the MQTT over WebSocket traffic of a pcap/pcapng capture",
        description="Decode every WebSocket handshake, frame and MQTT packet of a pcap or pcapng capture.",
    )
    parser.add_argument("capture", metavar="CAPTURE", help="pcap or pcapng file")
    parser.add_argument(
        "--port",
        type=_port,
        action="append",
        default=[],
        metavar="N",
        help="treat TCP port N as MQTT (WebSocket or native); may be repeated",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="JSON lines instead of the listing (a PUBLISH carries its payload's codec and decoded value)",
    )
    parser.add_argument(
        "--no-payload", dest="payload", action="store_false", help="no payload preview on PUBLISH lines"
    )
    parser.add_argument(
        "--conn",
        type=_conn,
        action="append",
        default=[],
        metavar="N",
        help="only connection N; may be repeated",
    )
    parser.add_argument(
        "--topic",
        type=_topic,
        action="append",
        default=[],
        metavar="FILTER",
        help="only PUBLISH packets whose topic matches FILTER (MQTT wildcards + and #); may be repeated",
    )
    parser.add_argument(
        "--type",
        type=_types,
        action="append",
        default=[],
        metavar="TYPES",
        help="only these MQTT packet types, e.g. PUBLISH,CONNECT (frames shown with the packets they carry)",
    )
    parser.add_argument("--dir", choices=("c2s", "s2c"), help="only one direction (client to server or back)")
    parser.add_argument(
        "--errors-only", action="store_true", help="only problems: errors and the connections that have them"
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="counts instead of the listing: per connection (handshake, packets by type, bytes, "
        "duration, problems) and per topic (messages, bytes)",
    )
    add_codec_arguments(parser)
    parser.set_defaults(func=run)


# The whole-connection form, for callers that hold a TcpConnection already.


def classify(conn: TcpConnection, ports: frozenset[int] = frozenset()) -> Kind:
    """What a connection carries, judged from the client's first bytes."""
    first = bytearray()
    for chunk in conn.chunks:
        if chunk.direction == "c2s":
            first += chunk.data
            if len(first) >= SNIFF:
                break
    kind = classify_bytes(bytes(first[:SNIFF]), conn.server.port, ports, final=True)
    assert kind is not None
    return kind


def decode_connection(conn: TcpConnection, kind: Kind, next_seq: Callable[[], int]) -> list[TraceEvent]:
    """Feed a connection's chunks through a ConnectionDecoder in capture order.

    A gap stops that direction: an ``ErrorReported`` (layer ``tcp``) says how many
    bytes are missing, then the decoder is told that direction ended.
    """
    decoder = ConnectionDecoder(conn=conn.index, websocket=kind == "websocket", next_seq=next_seq)
    events: list[TraceEvent] = []
    gaps = {gap.chunk_index: gap for gap in conn.gaps}
    stopped: dict[Direction, float] = {}
    for position in range(len(conn.chunks) + 1):
        gap = gaps.get(position)
        if gap is not None and gap.direction not in stopped:
            decoder.receive_eof(gap.direction, gap.time)
            events.extend(decoder.events_received())
            events.append(
                ErrorReported(
                    next_seq(),
                    gap.time,
                    conn.index,
                    gap.direction,
                    "tcp",
                    f"{gap.length} bytes missing from the capture at stream offset {gap.offset}; "
                    "decoding of this direction stops here",
                    gap.offset,
                )
            )
            stopped[gap.direction] = gap.time
        if position == len(conn.chunks):
            break
        chunk = conn.chunks[position]
        if chunk.direction in stopped:
            continue
        decoder.receive_data(chunk.direction, chunk.data, chunk.time)
        events.extend(decoder.events_received())
    for direction in ("c2s", "s2c"):
        if direction not in stopped:
            decoder.receive_eof(direction, conn.ended.get(direction, conn.last_time))
            events.extend(decoder.events_received())
    return events


class Progress:
    """A progress line on stderr: bytes read of the total, packets, rate, time left.

    Shown only when stderr is a terminal and the run has lasted more than ``delay``
    seconds; rewritten in place at most a few times a second, erased at the end.
    """

    def __init__(
        self, size: int | None, read: Callable[[], tuple[int, int]], *, delay: float | None = None
    ) -> None:
        if delay is None:
            # MQTTWS_PROGRESS_AFTER: seconds before the line shows (default 1)
            try:
                delay = float(os.environ.get("MQTTWS_PROGRESS_AFTER", "1"))
            except ValueError:
                delay = 1.0
        self._size = size
        self._read = read
        self._start = time.monotonic()
        self._delay = delay
        self._next = self._start + delay
        self._shown = False
        self._enabled = sys.stderr.isatty()

    def tick(self) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + 0.25
        done, frames = self._read()
        elapsed = now - self._start
        rate = frames / elapsed if elapsed > 0 else 0.0
        text = f"decode: {done / 1e6:,.1f} MB"
        if self._size:
            text += f" of {self._size / 1e6:,.1f} MB ({100 * done / self._size:.0f}%)"
        text += f", {frames:,} frames, {rate:,.0f} frames/s"
        if self._size and done:
            left = elapsed * (self._size - done) / done
            text += f", {left:.0f} s left"
        sys.stderr.write("\r" + text + "\x1b[K")
        sys.stderr.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from explorer.capture.pipeline import Pipeline
    from explorer.capture.reader import CaptureFile
    from explorer.cli.decodeout import Narrowing, make_output

    narrowing = Narrowing(
        conns=frozenset(args.conn) if args.conn else None,
        topics=tuple(args.topic),
        types=frozenset().union(*args.type) if args.type else None,
        direction=args.dir,
        errors_only=args.errors_only,
        payload=args.payload,
    )
    out = sys.stdout
    with CaptureFile(args.capture) as capture:
        output = make_output(out, capture, narrowing, json=args.json, summary=args.summary)
        if args.json and not args.summary:  # only the JSON lines decode payloads
            from explorer.cli.decodejson import JsonOutput, codec_fields

            assert isinstance(output, JsonOutput)
            output.publish_fields, output.publish_members = codec_fields(args)
        pipeline = Pipeline(
            capture,
            output,
            count().__next__,
            ports=frozenset(args.port),
            select=narrowing.conns,
            compact=True,
        )
        state = capture.state
        progress = Progress(capture.size, lambda: (state.offset, state.frames))
        try:
            pipeline.run(progress.tick)
        finally:
            progress.done()
        output.close(pipeline.connections)
    # A cut tail after decoded traffic is normal (a capture stopped mid-stream) and is
    # reported above; a file that yields nothing at all must not look like success.
    problems = capture.state.problems
    if capture.frame_count == 0:
        cut = f" ({problems[0]})" if problems else ""
        raise CaptureError(f"no packet could be read from {args.capture}{cut}")
    if problems and not output.decoded_any:
        raise CaptureError(f"nothing could be decoded from {args.capture} before it ends ({problems[0]})")
    return 0
