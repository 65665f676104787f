"""Trace events to table rows and back.

What belongs here: the pure conversions between :mod:`explorer.model.events` values and
the columns of :mod:`explorer.recording.schema` (MQTT 5 properties as JSON, trace
events as a kind, two byte columns and a JSON ``info``), the text a payload is indexed
under, and the masking of secrets on the way in. No SQLite calls.

Secrets: the decoder already stars a CONNECT password and ``Authorization`` credentials
before any event exists; the handshake bytes and headers are masked here once more (the
same functions, idempotent), and headers the user marked secret are starred by name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, Final

from explorer.errors import MalformedPacket
from explorer.masking import mask_credentials, mask_header_values
from explorer.model.events import (
    Direction,
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    PacketEvent,
    PacketPart,
    StateChanged,
    TraceEvent,
)
from explorer.model.trace import properties_to_json
from explorer.mqtt.codec import decode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import NO_PROPERTIES, Connect, Properties

__all__ = [
    "EventRebuilder",
    "EventRow",
    "event_from_row",
    "event_row",
    "iso_time",
    "payload_text",
    "properties_from_json",
    "properties_json",
    "time_us",
]

EventRow = tuple[int, int, str, str | None, bytes | None, bytes | None, str | None]
"""``(time_us, conn, kind, direction, head, body, info)`` of the ``events`` table."""

_BYTES_PROPERTIES: Final = frozenset({"correlation_data", "authentication_data"})
_TEXT_LIMIT: Final = 64 * 1024  # characters of a payload indexed for text search
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # text has none but tab, CR, LF


def iso_time(us: int, timespec: str = "milliseconds") -> str:
    """Microseconds since the epoch as ISO 8601 UTC (``2026-12-05T15:04:05.123Z``)."""
    return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def time_us(seconds: float) -> int:
    """Seconds since the epoch -> integer microseconds."""
    return round(seconds * 1_000_000)


def properties_json(props: Properties | None) -> str | None:
    """MQTT 5 properties as a JSON object of the properties present, or None when none."""
    if props is None or props is NO_PROPERTIES or not props:
        return None
    return json.dumps(properties_to_json(props), separators=(",", ":"), ensure_ascii=False)


def properties_from_json(text: str | None) -> Properties:
    """The inverse of :func:`properties_json` (bytes from hex, pairs back to tuples)."""
    if not text:
        return NO_PROPERTIES
    data: dict[str, Any] = json.loads(text)
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name in _BYTES_PROPERTIES:
            values[name] = bytes.fromhex(value)
        elif name == "user_properties":
            values[name] = tuple((str(k), str(v)) for k, v in value)
        elif name == "subscription_identifiers":
            values[name] = tuple(int(v) for v in value)
        else:
            values[name] = value
    return Properties(**values)


def payload_text(payload: bytes) -> tuple[str | None, str | None]:
    """``(codec, text)`` for a payload: UTF-8 text without control characters (``text``,
    or ``json`` when it is shaped as a JSON object or array) or ``(None, None)`` for
    binary; the text is what full-text search indexes.

    Cheap on purpose (it runs for every message of a firehose): JSON is recognised by its
    brackets, not parsed.
    """
    if not payload:
        return "text", ""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None, None
    if _CONTROL.search(text) is not None:
        return None, None
    stripped = text.strip()
    first = stripped[:1]
    last = stripped[-1:]
    codec = "json" if (first == "{" and last == "}") or (first == "[" and last == "]") else "text"
    return codec, text[:_TEXT_LIMIT]


def _headers_json(headers: tuple[tuple[str, str], ...]) -> list[list[str]]:
    return [[name, value] for name, value in headers]


def event_row(event: TraceEvent, wall_offset: float, secret_names: Collection[str] = ()) -> EventRow | None:
    """The ``events`` row of a trace event, or None for a kind not kept there (messages)."""
    when = time_us(event.time + wall_offset)
    kind = type(event)
    if kind is FrameEvent:
        assert isinstance(event, FrameEvent)
        info: dict[str, Any] = {
            "index": event.index,
            "offset": event.stream_offset,
            "fin": event.fin,
            "rsv": [event.rsv1, event.rsv2, event.rsv3],
            "opcode": event.opcode,
            "masked": event.masked,
            "mask_key": event.mask_key.hex() if event.mask_key is not None else None,
            "length_encoding": event.length_encoding,
            "payload_length": event.payload_length,
            "parts": [
                [p.packet_no, p.role, p.frame_start, p.frame_end, p.packet_start, p.packet_end]
                for p in event.parts
            ],
            "completed": list(event.completed),
        }
        if event.close_code is not None or event.close_reason is not None:
            info["close"] = [event.close_code, event.close_reason]
        return (when, event.conn, "frame", event.direction, event.header, event.payload, json.dumps(info))
    if kind is PacketEvent:
        assert isinstance(event, PacketEvent)
        info = {"packet_no": event.packet_no, "offset": event.stream_offset, "frames": list(event.frames)}
        return (when, event.conn, "packet", event.direction, None, event.raw, json.dumps(info))
    if kind is HandshakeRequest:
        assert isinstance(event, HandshakeRequest)
        headers = mask_header_values(event.headers, secret_names)
        info = {"method": event.method, "target": event.target, "headers": _headers_json(headers)}
        raw = mask_credentials(event.raw, secret_names)
        return (when, event.conn, "handshake_request", "c2s", None, raw, json.dumps(info))
    if kind is HandshakeResponse:
        assert isinstance(event, HandshakeResponse)
        headers = mask_header_values(event.headers, secret_names)
        info = {
            "status": event.status,
            "reason": event.reason,
            "headers": _headers_json(headers),
            "subprotocol": event.subprotocol,
            "extensions": event.extensions,
        }
        raw = mask_credentials(event.raw, secret_names)
        return (when, event.conn, "handshake_response", "s2c", None, raw, json.dumps(info))
    if kind is StateChanged:
        assert isinstance(event, StateChanged)
        info = {"state": event.state, "detail": event.detail}
        return (when, event.conn, "state", None, None, None, json.dumps(info))
    if kind is ErrorReported:
        assert isinstance(event, ErrorReported)
        info = {"layer": event.layer, "message": event.message, "offset": event.offset}
        return (when, event.conn, "error", event.direction, None, event.data, json.dumps(info))
    return None


def _direction(text: str | None) -> Direction:
    return "s2c" if text == "s2c" else "c2s"


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(text)) for name, text in value)


class EventRebuilder:
    """Rebuilds trace events from ``events`` rows, in order, for one file.

    A packet is decoded again from its bytes, with the protocol version its connection's
    CONNECT announced (the CONNECT carries its own version).
    """

    def __init__(self) -> None:
        self._versions: dict[int, ProtocolVersion] = {}
        self._seq = 0

    def rebuild(self, row: EventRow) -> TraceEvent | None:
        """One event from one ``events`` row; None for a row that cannot be made into one."""
        when, conn, kind, direction, head, body, info_text = row
        time = when / 1_000_000
        info: dict[str, Any] = json.loads(info_text) if info_text else {}
        seq = self._seq
        self._seq += 1
        body = body or b""
        if kind == "frame":
            mask_key = info.get("mask_key")
            close = info.get("close") or [None, None]
            rsv = info.get("rsv", [False, False, False])
            return FrameEvent(
                seq,
                time,
                conn,
                _direction(direction),
                int(info["index"]),
                int(info["offset"]),
                bool(info["fin"]),
                bool(rsv[0]),
                bool(rsv[1]),
                bool(rsv[2]),
                int(info["opcode"]),
                bool(info["masked"]),
                bytes.fromhex(mask_key) if mask_key else None,
                info["length_encoding"],
                int(info["payload_length"]),
                head or b"",
                body,
                tuple(PacketPart(*part) for part in info.get("parts", ())),
                tuple(info.get("completed", ())),
                close[0],
                close[1],
            )
        if kind == "packet":
            version = self._versions.get(conn)
            try:
                packet = decode(body, version)
            except MalformedPacket:
                return None
            if isinstance(packet, Connect):
                self._versions[conn] = ProtocolVersion(packet.protocol_version)
            return PacketEvent(
                seq,
                time,
                conn,
                _direction(direction),
                int(info["packet_no"]),
                int(info["offset"]),
                packet,
                body,
                tuple(info.get("frames", ())),
            )
        if kind == "handshake_request":
            return HandshakeRequest(
                seq, time, conn, body, info["method"], info["target"], _headers(info["headers"])
            )
        if kind == "handshake_response":
            return HandshakeResponse(
                seq,
                time,
                conn,
                body,
                int(info["status"]),
                info["reason"],
                _headers(info["headers"]),
                info.get("subprotocol"),
                info.get("extensions"),
            )
        if kind == "state":
            return StateChanged(seq, time, conn, info.get("state", ""), info.get("detail", ""))
        if kind == "error":
            return ErrorReported(
                seq,
                time,
                conn,
                _direction(direction) if direction else None,
                info.get("layer", ""),
                info.get("message", ""),
                info.get("offset"),
                body,
            )
        return None


def event_from_row(row: EventRow, rebuilder: EventRebuilder | None = None) -> TraceEvent | None:
    """One row -> one event (a fresh :class:`EventRebuilder` when none is given)."""
    return (rebuilder or EventRebuilder()).rebuild(row)
