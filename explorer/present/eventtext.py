"""One-line texts and display bytes for trace events, shared by the front ends.

A trace table (Qt or Textual) shows each event as a kind, a direction and a summary;
a frame inspector shows the frame's header fields and its bytes. Those texts are made
here once so both views say the same thing (DESIGN rule 5). A frame's payload is shown
with any CONNECT password blanked (DESIGN rule 7): :func:`display_frame_bytes` uses the
already-masked ``PacketEvent.raw`` when it is known, and blanks the whole CONNECT
otherwise.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from explorer.masking import blank_span
from explorer.model.events import (
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    MessageReceived,
    PacketEvent,
    StateChanged,
    TraceEvent,
)
from explorer.mqtt.packets import Connect
from explorer.ws.framing import OPCODE_NAMES

__all__ = [
    "EVENT_KIND_LABELS",
    "OPCODE_NAMES",
    "display_frame_bytes",
    "event_direction",
    "event_kind",
    "event_length",
    "event_summary",
    "frame_fields",
    "frame_header_spans",
    "frame_span",
    "frame_spans",
    "opcode_name",
]

EVENT_KIND_LABELS: dict[type, str] = {
    HandshakeRequest: "HTTP",
    HandshakeResponse: "HTTP",
    FrameEvent: "WS",
    PacketEvent: "MQTT",
    StateChanged: "state",
    MessageReceived: "message",
    ErrorReported: "error",
}

_CONNECT_FIRST_BYTE = 0x10


def event_kind(event: TraceEvent) -> str:
    """``HTTP``, ``WS``, ``MQTT``, ``state``, ``message`` or ``error``."""
    return EVENT_KIND_LABELS.get(type(event), type(event).__name__)


def event_direction(event: TraceEvent) -> str:
    """``c2s``/``s2c`` (handshake request and response included), or ``""``."""
    if isinstance(event, FrameEvent | PacketEvent):
        return event.direction
    if isinstance(event, ErrorReported):
        return event.direction or ""
    if isinstance(event, HandshakeRequest):
        return "c2s"
    if isinstance(event, HandshakeResponse):
        return "s2c"
    return ""


def event_length(event: TraceEvent) -> int | None:
    """Bytes on the wire for handshake, frame and packet events; ``None`` otherwise."""
    if isinstance(event, FrameEvent):
        return len(event.header) + event.payload_length
    if isinstance(event, PacketEvent | HandshakeRequest | HandshakeResponse):
        return len(event.raw)
    return None


def frame_span(frames: Iterable[int]) -> str:
    """``frame 3``, ``frames 0-16`` for a run, ``frames 1,4,5`` otherwise; ``""`` for none."""
    numbers = list(frames)
    if not numbers:
        return ""
    if len(numbers) == 1:
        return f"frame {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"frames {numbers[0]}-{numbers[-1]}"
    return "frames " + ",".join(str(n) for n in numbers)


def event_summary(event: TraceEvent) -> str:
    """One line: ``GET /mqtt``, ``101 Switching Protocols (mqtt)``, ``#3 binary FIN 23 B``..."""
    if isinstance(event, PacketEvent):
        text = event.summary
        if len(event.frames) > 1:
            text += f"  [{frame_span(event.frames)}]"
        return text
    if isinstance(event, FrameEvent):
        opcode = OPCODE_NAMES.get(event.opcode, f"opcode {event.opcode:#x}")
        parts = [f"#{event.index}", opcode, "FIN" if event.fin else "no-FIN"]
        if event.rsv1:
            parts.append("RSV1")
        parts.append(f"{event.payload_length} B")
        if event.masked:
            parts.append("masked")
        if event.close_code is not None:
            parts.append(f"close {event.close_code} {event.close_reason or ''}".rstrip())
        packets = dict.fromkeys(part.packet_no for part in event.parts)
        if packets:
            parts.append(f"({len(packets)} MQTT packet{'s' if len(packets) != 1 else ''})")
        return " ".join(parts)
    if isinstance(event, HandshakeRequest):
        return f"{event.method} {event.target}"
    if isinstance(event, HandshakeResponse):
        text = f"{event.status} {event.reason}"
        if event.subprotocol:
            text += f" (subprotocol {event.subprotocol})"
        return text
    if isinstance(event, StateChanged):
        return f"{event.state} {event.detail}".rstrip()
    if isinstance(event, MessageReceived):
        return f"{event.topic} {len(event.payload)} B"
    return f"{event.layer}: {event.message}"


def opcode_name(opcode: int) -> str:
    """``binary``, ``close``...; a reserved opcode (RFC 6455 §5.2) as ``0x3``."""
    return OPCODE_NAMES.get(opcode, f"0x{opcode:x}")


def frame_fields(frame: FrameEvent) -> list[tuple[str, str]]:
    """The header fields of a frame (RFC 6455 §5.2) as ``(name, value)`` rows."""
    opcode = OPCODE_NAMES.get(frame.opcode, "reserved")
    rows = [
        ("direction", frame.direction),
        ("frame", f"#{frame.index} of connection {frame.conn}"),
        ("stream offset", str(frame.stream_offset)),
        ("FIN", "1" if frame.fin else "0"),
        ("RSV1 RSV2 RSV3", f"{int(frame.rsv1)} {int(frame.rsv2)} {int(frame.rsv3)}"),
        ("opcode", f"{frame.opcode:#x} ({opcode})"),
        ("MASK", "1" if frame.masked else "0"),
        ("masking key", frame.mask_key.hex(" ") if frame.mask_key else "none"),
        ("payload length", f"{frame.payload_length} ({frame.length_encoding})"),
        ("header length", f"{len(frame.header)} B"),
    ]
    if frame.close_code is not None:
        rows.append(("close code", str(frame.close_code)))
        rows.append(("close reason", frame.close_reason or ""))
    return rows


def frame_header_spans(frame: FrameEvent) -> list[tuple[int, int, str]]:
    """Byte spans of ``frame.header``: the header fields, then the masking key when there is one.

    RFC 6455 §5.2: the 4-byte masking key is the header's last field.
    """
    size = len(frame.header)
    key = len(frame.mask_key) if frame.masked and frame.mask_key else 0
    spans = [(0, size - key, "WebSocket header")]
    if key:
        spans.append((size - key, size, "masking key"))
    return spans


def frame_spans(
    frame: FrameEvent, base: int = 0, packets: Iterable[PacketEvent] = ()
) -> list[tuple[int, int, str]]:
    """Byte spans ``(start, end, label)`` of each MQTT packet part in the payload.

    ``base`` shifts them, e.g. by ``len(frame.header)`` for a dump of header + payload.
    A part whose complete packet is among ``packets`` is labelled with the packet's
    type and the part's byte range within the packet.
    """
    known = {p.packet_no: p for p in packets if p.conn == frame.conn and p.direction == frame.direction}
    spans = []
    for part in frame.parts:
        packet = known.get(part.packet_no)
        if packet is None:
            label = f"packet {part.packet_no} ({part.role})"
        else:
            where = f"bytes {part.packet_start}-{part.packet_end}"
            label = f"packet {part.packet_no} {packet.packet.TYPE.name} {where} ({part.role})"
        spans.append((base + part.frame_start, base + part.frame_end, label))
    return spans


def display_frame_bytes(frame: FrameEvent, packets: Iterable[PacketEvent] = ()) -> bytes:
    """The frame's payload as it may be shown: CONNECT password bytes replaced by ``*``.

    ``packets`` are the complete packets with bytes in this frame (their ``raw`` is
    already masked); a CONNECT part whose packet is not among them is blanked whole.
    """
    known = {p.packet_no: p for p in packets if p.conn == frame.conn and p.direction == frame.direction}
    payload = bytearray(frame.payload)
    for part in frame.parts:
        packet = known.get(part.packet_no)
        if packet is not None:
            if isinstance(packet.packet, Connect) and packet.packet.password:
                payload[part.frame_start : part.frame_end] = packet.raw[part.packet_start : part.packet_end]
            continue
        starts_connect = (
            part.packet_start == 0
            and part.frame_start < len(payload)
            and payload[part.frame_start] == _CONNECT_FIRST_BYTE
        )
        # Packet 0 of the client's stream is the CONNECT [MQTT-3.1.0-1].
        if (frame.direction == "c2s" and part.packet_no == 0) or starts_connect:
            blank_span(payload, part.frame_start, part.frame_end)
    return bytes(payload)
