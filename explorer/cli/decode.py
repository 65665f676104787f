"""``mqttws-explorer decode CAPTURE``: every handshake, frame and MQTT packet of a capture.

Which connections are decoded: a WebSocket upgrade on any port (the client's first
bytes are ``GET `` with ``Upgrade: websocket``), native MQTT over TCP (the client's
first bytes decode as a CONNECT), and anything on a ``--port`` given by the user
(WebSocket if it starts with ``GET ``, native MQTT otherwise). TLS is recognised by
its record header and reported, never decoded as garbage. Bytes the capture lacks (a
gap in TCP) stop the decoding of that direction, with an error saying so, instead of
feeding the decoder bytes that do not follow each other.

The listing and ``--json`` are both made from the decoder's trace events: the listing
by :class:`explorer.present.listing.Listing` (the same formatter as ``sub --trace``), the JSON
form of an event by :func:`explorer.model.trace.event_to_json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Literal, TextIO

from explorer.capture import TcpConnection, read_capture
from explorer.decoder import ConnectionDecoder
from explorer.errors import CaptureError, MalformedPacket
from explorer.model.events import (
    Direction,
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    PacketEvent,
    TraceEvent,
)
from explorer.model.trace import event_to_json, packet_to_json
from explorer.mqtt.codec import decode as decode_packet
from explorer.mqtt.codec import parse_fixed_header
from explorer.mqtt.packets import Connect
from explorer.present.listing import Listing

__all__ = ["Kind", "classify", "decode_connection", "register", "run"]

Kind = Literal["websocket", "mqtt", "tls", "unknown"]

# What counts as decoded traffic: a handshake, a WebSocket frame or an MQTT packet.
_DECODED = (HandshakeRequest, HandshakeResponse, FrameEvent, PacketEvent)
_SKIPPED = "not MQTT or WebSocket (use --port N to force): skipped"
_SNIFF = 8192  # client bytes looked at to classify a connection


def _port(text: str) -> int:
    """argparse type for --port: a TCP port number, 1-65535."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port: give a number from 1 to 65535")
    return value


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
    parser.add_argument("--json", action="store_true", help="JSON lines instead of the listing")
    parser.add_argument(
        "--no-payload", dest="payload", action="store_false", help="no payload preview on PUBLISH lines"
    )
    parser.set_defaults(func=run)


def _first_client_bytes(conn: TcpConnection) -> bytes:
    out = bytearray()
    for chunk in conn.chunks:
        if chunk.direction == "c2s":
            out += chunk.data
            if len(out) >= _SNIFF:
                break
    return bytes(out[:_SNIFF])


def _is_connect(data: bytes) -> bool:
    if data[:1] != b"\x10":
        return False
    try:
        header = parse_fixed_header(data, 0, len(data))
        if header is None:
            return False
        start, length = header
        return isinstance(decode_packet(data[: start + length]), Connect)
    except MalformedPacket:
        return False


def classify(conn: TcpConnection, ports: frozenset[int] = frozenset()) -> Kind:
    """What a connection carries, judged from the client's first bytes (see the module doc)."""
    first = _first_client_bytes(conn)
    if first[:2] == b"\x16\x03":  # TLS handshake record (RFC 8446 §5.1)
        return "tls"
    head = first.split(b"\r\n\r\n", 1)[0].lower()
    if first.startswith(b"GET ") and b"upgrade: websocket" in head:
        return "websocket"
    if _is_connect(first):
        return "mqtt"
    if conn.server.port in ports:
        return "websocket" if first.startswith(b"GET ") else "mqtt"
    return "unknown"


@dataclass(slots=True)
class Decoded:
    """One connection with its kind and its trace events (empty for TLS and unknown)."""

    conn: TcpConnection
    kind: Kind
    events: list[TraceEvent] = field(default_factory=list)


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


def _header_info(item: Decoded) -> dict[str, Any]:
    conn = item.conn
    info: dict[str, Any] = {
        "kind": "connection",
        "conn": conn.index,
        "client": str(conn.client),
        "server": str(conn.server),
        "protocol": item.kind,
        "start": conn.first_time,
    }
    for event in item.events:
        if isinstance(event, HandshakeRequest):
            info["request_uri"] = event.target
            offered = [v for k, v in event.headers if k.lower() == "sec-websocket-protocol"]
            info["subprotocol_offered"] = ", ".join(offered) if offered else None
        elif isinstance(event, HandshakeResponse):
            info["status"] = event.status
            info["reason"] = event.reason
            info["subprotocol_negotiated"] = event.subprotocol
    if item.kind == "tls":
        info["note"] = "TLS, encrypted: cannot decode"
    info["problems"] = list(conn.problems)
    return info


def _json_lines(item: Decoded, out: TextIO) -> None:
    write = out.write
    write(json.dumps(_header_info(item)) + "\n")
    packets = {(e.direction, e.packet_no): e for e in item.events if isinstance(e, PacketEvent)}
    for event in item.events:
        if isinstance(event, PacketEvent) and event.frames:
            continue  # reported inside the frame that completed it
        obj = event_to_json(event, frame_payload=event.payload if isinstance(event, FrameEvent) else None)
        if isinstance(event, FrameEvent):
            obj["packets"] = [
                _packet_json(packets[(event.direction, no)])
                for no in event.completed
                if (event.direction, no) in packets
            ]
        write(json.dumps(obj) + "\n")


def _packet_json(event: PacketEvent) -> dict[str, Any]:
    obj = packet_to_json(event.packet, event.raw)
    obj["packet_no"] = event.packet_no
    obj["frames"] = list(event.frames)
    obj["stream_offset"] = event.stream_offset
    return obj


def _listing(item: Decoded, listing: Listing) -> None:
    conn = item.conn
    notes = {"tls": ["TLS, encrypted: cannot decode"], "unknown": [_SKIPPED]}.get(item.kind, [])
    notes += [f"! capture: {problem}" for problem in conn.problems]
    listing.connection(conn.index, str(conn.client), str(conn.server), item.kind, item.events, notes=notes)
    listing.feed(item.events)
    listing.close()


def run(args: argparse.Namespace) -> int:
    capture = read_capture(args.capture)
    ports = frozenset(args.port)
    seq = count().__next__
    out: TextIO = sys.stdout
    base = min((c.first_time for c in capture.connections), default=0.0)
    listing = Listing(out.write, base=base, payload=args.payload)
    if not args.json:
        out.write(
            f"{capture.name}: {capture.format}, {capture.frame_count} frames, "
            f"{len(capture.connections)} TCP connections\n"
        )
        for problem in capture.problems:
            out.write(f"! capture: {problem}\n")
        out.write("\n")
    elif capture.problems:
        for problem in capture.problems:
            out.write(
                json.dumps({"kind": "error", "layer": "capture", "conn": None, "message": problem}) + "\n"
            )
    decoded_any = False
    for conn in capture.connections:
        kind = classify(conn, ports)
        item = Decoded(conn, kind)
        if kind in ("websocket", "mqtt"):
            item.events = decode_connection(conn, kind, seq)
            decoded_any = decoded_any or any(isinstance(event, _DECODED) for event in item.events)
        if args.json:
            _json_lines(item, out)
        else:
            _listing(item, listing)
            out.write("\n")
    out.flush()
    # A cut tail after decoded traffic is normal (a capture stopped mid-stream) and is
    # reported above; a file that yields nothing at all must not look like success.
    if capture.frame_count == 0:
        cut = f" ({capture.problems[0]})" if capture.problems else ""
        raise CaptureError(f"no packet could be read from {args.capture}{cut}")
    if capture.problems and not decoded_any:
        raise CaptureError(
            f"nothing could be decoded from {args.capture} before it ends ({capture.problems[0]})"
        )
    return 0
