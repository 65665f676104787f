"""Trace events: everything a user can see about a connection is one of these.

Pure data. The decoder (``explorer.decoder``) makes handshake, frame, packet and error
events from raw bytes; the client and broker drivers add state and message events.
The views, the CLI and the exporters consume them; nobody re-parses bytes.

Events are ``@dataclass(slots=True)`` values (not frozen, for the same hot-path reason
as the packets: see ``explorer.mqtt.packets``). ``seq`` is unique and increasing per
event source; ``time`` is seconds (``time.monotonic()`` for live traffic, the capture
timestamp for captures); ``conn`` names one connection within a source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, TypeAlias

from explorer.mqtt.packets import Packet

__all__ = [
    "ConnectionState",
    "Direction",
    "ErrorReported",
    "FrameEvent",
    "HandshakeRequest",
    "HandshakeResponse",
    "MessageReceived",
    "PacketEvent",
    "PacketPart",
    "StateChanged",
    "TraceEvent",
]

Direction = Literal["c2s", "s2c"]
LengthEncoding = Literal["7bit", "16bit", "64bit"]
PartRole = Literal["whole", "first", "middle", "last"]


class ConnectionState(StrEnum):
    """Where a connection is in its life, as ``StateChanged.state`` and the status line say.

    A ``StrEnum``: JSON exports and the CLI print the same words as before (``.value``).
    ``idle`` (nothing tried yet) -> ``connecting`` -> ``connected``; then ``disconnected``
    (the link ended), ``reconnecting`` (a new attempt is due), ``closed`` (the client is
    done for good) or ``failed`` (the connect attempt did not succeed). ``file``: the views
    show a recording or a capture, not a connection.
    """

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"
    FAILED = "failed"
    FILE = "file"

    @property
    def active(self) -> bool:
        """A link is up or being set up (what a Disconnect action can act on)."""
        return self in (ConnectionState.CONNECTING, ConnectionState.CONNECTED, ConnectionState.RECONNECTING)

    @property
    def ended(self) -> bool:
        """The link is down and nothing will bring it back by itself."""
        return self in (ConnectionState.DISCONNECTED, ConnectionState.CLOSED, ConnectionState.FAILED)


@dataclass(slots=True)
class PacketPart:
    """The bytes of one MQTT packet that lie in one frame.

    ``packet_no`` numbers the MQTT packets of one direction of one connection from 0.
    ``frame_start``/``frame_end`` index the frame's (unmasked) payload;
    ``packet_start``/``packet_end`` index the packet's own bytes.
    """

    packet_no: int
    role: PartRole
    frame_start: int
    frame_end: int
    packet_start: int
    packet_end: int


@dataclass(slots=True)
class HandshakeRequest:
    """The client's HTTP upgrade request, byte for byte."""

    seq: int
    time: float
    conn: int
    raw: bytes
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]


@dataclass(slots=True)
class HandshakeResponse:
    """The server's HTTP response to the upgrade, byte for byte (body included if any)."""

    seq: int
    time: float
    conn: int
    raw: bytes
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    subprotocol: str | None = None
    extensions: str | None = None


@dataclass(slots=True)
class FrameEvent:
    """One WebSocket frame (RFC 6455 §5.2) with the MQTT packets it carries.

    ``stream_offset`` is where the frame's first header byte sits in this direction's
    byte stream (after the HTTP upgrade). ``payload`` is unmasked; for a frame of a
    message compressed with permessage-deflate (RFC 7692) it holds the frame's inflated
    bytes, while ``payload_length`` stays the length on the wire. ``parts`` lists every
    MQTT packet with bytes in this frame, in order; ``completed`` the packet numbers that
    end in this frame (their ``PacketEvent``s follow this event).
    """

    seq: int
    time: float
    conn: int
    direction: Direction
    index: int  # frame number within this direction of this connection, from 0
    stream_offset: int
    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool
    opcode: int
    masked: bool
    mask_key: bytes | None
    length_encoding: LengthEncoding
    payload_length: int
    header: bytes
    payload: bytes
    parts: tuple[PacketPart, ...] = ()
    completed: tuple[int, ...] = ()
    close_code: int | None = None
    close_reason: str | None = None

    @property
    def header_length(self) -> int:
        return len(self.header)


@dataclass(slots=True)
class PacketEvent:
    """One complete MQTT packet.

    ``raw`` are the packet's exact bytes except that a CONNECT password is replaced by
    ``*`` bytes of the same length (so offsets stay true and no secret is kept).
    ``frames`` are the ``index`` values of every frame that carried a part of it (for
    native MQTT over TCP, empty). ``summary`` is ``explorer.mqtt.describe.describe()``,
    made on demand because most events of a firehose are never looked at.
    """

    seq: int
    time: float
    conn: int
    direction: Direction
    packet_no: int
    stream_offset: int  # offset of the first byte in this direction's MQTT byte stream
    packet: Packet
    raw: bytes
    frames: tuple[int, ...]

    @property
    def summary(self) -> str:
        from explorer.mqtt.describe import describe

        return describe(self.packet)


@dataclass(slots=True)
class StateChanged:
    """A connection moved to a new state (``connecting``, ``connected``, ``closed``...)."""

    seq: int
    time: float
    conn: int
    state: ConnectionState
    detail: str = ""


@dataclass(slots=True)
class MessageReceived:
    """An application message delivered to us (after topic alias resolution)."""

    seq: int
    time: float
    conn: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    packet: Packet | None = None


@dataclass(slots=True)
class ErrorReported:
    """Something could not be decoded or failed; decoding goes on where it can.

    ``layer`` is one of ``http``, ``websocket``, ``mqtt``, ``tcp``, ``tls``, ``capture``,
    ``connect`` (before any layer answered), ``broker`` (the embedded broker itself).
    ``offset`` is the byte offset in this direction's stream where the problem was seen.
    """

    seq: int
    time: float
    conn: int
    direction: Direction | None
    layer: str
    message: str
    offset: int | None = None
    data: bytes = field(default=b"")


TraceEvent: TypeAlias = (
    HandshakeRequest
    | HandshakeResponse
    | FrameEvent
    | PacketEvent
    | StateChanged
    | MessageReceived
    | ErrorReported
)
