"""Server-side WebSocket framing after the upgrade, strict per RFC 6455.

The broker's hot path: each read from a client is cut into frames in one pass, and
the payloads of binary frames go straight to the MQTT reader (MQTT is a byte stream
over WebSocket, MQTT 5.0 §6.0, so fragments are not reassembled into messages first).
websockets' own parser would build a ``Frame`` object and a generator step per frame;
this one builds a tuple. Every rule a client can break is a
:class:`~explorer.ws.rules.Violation` from the table the frame indexer
(``explorer.ws.framing``) reports from too, raised as :class:`WebSocketViolation` with
the close code RFC 6455 §7.4.1 gives for it; ``tests/ws/conformance/cases.py`` runs the
same cases against both readers.
"""

from __future__ import annotations

from typing import Final

from websockets.speedups import apply_mask

from explorer.broker.faults import Faults
from explorer.ws.rules import (
    MAX_CLOSE_REASON,
    MAX_CONTROL_PAYLOAD,
    OPCODE_NAMES,
    RSV_BITS,
    Opcode,
    Violation,
    close_code_violation,
)

__all__ = [
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONT",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "FrameParser",
    "WebSocketViolation",
    "close_payload",
    "encode_frame",
    "frame_packets",
    "parse_close",
]

# The opcodes as plain ints for the hot path; the table is explorer.ws.rules.
OP_CONT: Final = int(Opcode.CONTINUATION)
OP_TEXT: Final = int(Opcode.TEXT)
OP_BINARY: Final = int(Opcode.BINARY)
OP_CLOSE: Final = int(Opcode.CLOSE)
OP_PING: Final = int(Opcode.PING)
OP_PONG: Final = int(Opcode.PONG)

Frame = tuple[int, bool, bytes]  # opcode, fin, unmasked payload

_KNOWN: Final = frozenset(int(opcode) for opcode in OPCODE_NAMES)


class WebSocketViolation(Exception):
    """The client broke RFC 6455; close the connection with ``code``.

    ``frames`` are the valid frames the same :meth:`FrameParser.feed` call completed
    before the offending one: they were sent first, so they are acted on first.
    """

    def __init__(self, violation: Violation, frames: list[Frame] | None = None, **values: object) -> None:
        reason = violation.text(**values)
        super().__init__(f"{reason} (close code {violation.code})")
        self.violation = violation
        self.code = int(violation.code)
        self.reason = reason
        self.frames: list[Frame] = frames if frames is not None else []


class FrameParser:
    """Incremental parser for frames a client sends (always masked, RFC 6455 §5.1).

    Args:
        max_payload: largest frame payload accepted; larger gets close code 1009.
        allow_text: accept text frames as data (the ``text-frames`` fault mode);
            otherwise a text frame gets close code 1003, as MQTT 5.0 §6.0 requires
            binary frames ([MQTT-6.0.0-1]).
    """

    __slots__ = ("_buffer", "_chunks", "_fragmented", "_need", "_pending", "allow_text", "max_payload")

    def __init__(self, max_payload: int, *, allow_text: bool = False) -> None:
        self._buffer = b""
        self._chunks: list[bytes] = []  # pieces of a large frame still arriving
        self._pending = 0  # bytes held in _buffer + _chunks
        self._need = 0  # size of the incomplete frame at the start of the buffer, once known
        self._fragmented = 0  # opcode of the fragmented message in progress, 0: none
        self.max_payload = max_payload
        self.allow_text = allow_text

    @property
    def buffered(self) -> int:
        """Bytes held of an incomplete frame."""
        return self._pending

    def feed(self, data: bytes) -> list[Frame]:
        """All complete frames in the bytes received so far.

        Raises:
            WebSocketViolation: at the first frame that breaks the protocol.
        """
        if self._need:
            # A large frame arriving in pieces: collect until complete (no quadratic copying).
            self._chunks.append(data)
            self._pending += len(data)
            if self._pending < self._need:
                return []
            buffer = b"".join((self._buffer, *self._chunks))
            self._chunks.clear()
            self._need = 0
        else:
            buffer = self._buffer + data if self._buffer else data
        frames: list[Frame] = []
        try:
            pos = self._frames(buffer, frames)
        except WebSocketViolation as exc:
            self._buffer = b""
            self._pending = 0
            exc.frames = frames
            raise
        self._buffer = buffer[pos:] if pos < len(buffer) else b""
        self._pending = len(self._buffer)
        return frames

    def _frames(self, buffer: bytes, frames: list[Frame]) -> int:
        """Append the complete frames at the start of ``buffer``; the offset past them."""
        pos = 0
        end = len(buffer)
        while end - pos >= 2:
            first = buffer[pos]
            second = buffer[pos + 1]
            fin = bool(first & 0x80)
            opcode = first & 0x0F
            if first & RSV_BITS:
                # RFC 6455 §5.2: RSV bits must be 0 unless an extension was negotiated (none is).
                raise WebSocketViolation(Violation.RESERVED_BITS)
            if not second & 0x80:
                # RFC 6455 §5.1: a server MUST close on an unmasked client frame.
                raise WebSocketViolation(Violation.UNMASKED_CLIENT_FRAME)
            length = second & 0x7F
            header = 6
            if length == 126:
                if end - pos < 8:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 4], "big")
                header = 8
                if length < 126:
                    raise WebSocketViolation(Violation.LENGTH_NOT_MINIMAL, length=length)
            elif length == 127:
                if end - pos < 14:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
                header = 14
                if length >> 63:
                    raise WebSocketViolation(Violation.LENGTH_TOP_BIT)
                if length < 65536:
                    raise WebSocketViolation(Violation.LENGTH_NOT_MINIMAL, length=length)
            if opcode not in _KNOWN:
                # RFC 6455 §5.2: 0x3-0x7 and 0xB-0xF have no meaning without an extension.
                raise WebSocketViolation(Violation.RESERVED_OPCODE, opcode=opcode)
            if opcode >= OP_CLOSE:  # a control frame (RFC 6455 §5.5)
                # RFC 6455 §5.5: control frames are not fragmented and carry at most 125 bytes.
                if not fin:
                    raise WebSocketViolation(Violation.CONTROL_FRAGMENTED)
                if length > MAX_CONTROL_PAYLOAD:
                    raise WebSocketViolation(Violation.CONTROL_TOO_LONG, length=length)
            elif opcode == OP_CONT:
                if not self._fragmented:
                    raise WebSocketViolation(Violation.CONTINUATION_ALONE)
            elif self._fragmented:
                raise WebSocketViolation(
                    Violation.MESSAGE_IN_MESSAGE,
                    kind=OPCODE_NAMES[opcode],
                    open=OPCODE_NAMES[self._fragmented],
                )
            elif opcode == OP_TEXT and not self.allow_text:
                # [MQTT-6.0.0-1] MQTT Control Packets MUST be sent in binary data frames.
                raise WebSocketViolation(Violation.TEXT_FRAME)
            if length > self.max_payload:
                raise WebSocketViolation(Violation.TOO_BIG, length=length, limit=self.max_payload)
            if end - pos < header + length:
                # Incomplete: parsed again from its first byte once complete, so no state
                # may change before this point (a FIN=0 frame cut by a read must not be
                # taken for a second message the next time round).
                self._need = header + length
                break
            if opcode < OP_CLOSE:
                # RFC 6455 §5.4: a message ends with its FIN frame; control frames between
                # its fragments (above) leave it open.
                if fin:
                    self._fragmented = 0
                elif opcode:
                    self._fragmented = opcode
            mask = buffer[pos + header - 4 : pos + header]
            payload = apply_mask(buffer[pos + header : pos + header + length], mask)
            frames.append((opcode, fin, payload))
            pos += header + length
        return pos


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """A server frame (unmasked, RFC 6455 §5.1) with the minimal length encoding."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        return bytes((first, length)) + payload
    if length < 65536:
        return bytes((first, 126)) + length.to_bytes(2, "big") + payload
    return bytes((first, 127)) + length.to_bytes(8, "big") + payload


def frame_packets(packets: list[bytes], faults: Faults) -> bytes:
    """The frames carrying MQTT packets written together: one binary frame per packet,
    or what the ``text-frames``, ``coalesce`` and ``split-frames=N`` fault modes ask."""
    opcode = OP_TEXT if faults.text_frames else OP_BINARY
    if faults.coalesce:
        return encode_frame(opcode, b"".join(packets))
    parts = faults.split_frames
    if parts > 1:
        out: list[bytes] = []
        for packet in packets:
            # N frames per packet (empty ones when the packet is shorter than N bytes).
            cuts = [len(packet) * i // parts for i in range(parts + 1)]
            for index in range(parts):
                piece = packet[cuts[index] : cuts[index + 1]]
                out.append(encode_frame(OP_CONT if index else opcode, piece, fin=index == parts - 1))
        return b"".join(out)
    if len(packets) == 1:
        return encode_frame(opcode, packets[0])
    return b"".join([encode_frame(opcode, packet) for packet in packets])


def close_payload(code: int, reason: str = "") -> bytes:
    """A close frame body; the reason is cut to fit (RFC 6455 §5.5), never inside a character."""
    text = reason.encode()
    if len(text) > MAX_CLOSE_REASON:
        text = text[:MAX_CLOSE_REASON].decode(errors="ignore").encode()
    return code.to_bytes(2, "big") + text


def parse_close(payload: bytes) -> tuple[int, str]:
    """Code and reason of a received close frame (RFC 6455 §5.5.1, §7.4).

    Raises:
        WebSocketViolation: 1002 for a one-byte payload or a code no peer may send,
            1007 for a reason that is not UTF-8.
    """
    if not payload:
        return 1005, ""
    if len(payload) == 1:
        raise WebSocketViolation(Violation.CLOSE_BODY_ONE_BYTE)
    code = int.from_bytes(payload[:2], "big")
    violation = close_code_violation(code)
    if violation is not None:
        raise WebSocketViolation(violation, code=code)
    try:
        reason = payload[2:].decode()
    except UnicodeDecodeError:
        # RFC 6455 §5.5.1 and §7.4.1: a reason that is not UTF-8 is invalid data.
        raise WebSocketViolation(Violation.CLOSE_REASON_NOT_UTF8) from None
    return code, reason
