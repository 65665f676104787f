"""FrameIndexer: WebSocket frames (RFC 6455 §5.2) read from raw bytes, one direction.

The one frame reader of the indexer role: the trace decoder (``explorer.decoder``,
behind live connections, captures and ``decode``) reads every frame through it. The
broker's hot path has its own strict reader (``explorer.broker.wsframes``); both take
their rules from ``explorer.ws.rules`` and run the same conformance cases.

What belongs here: splitting one direction's byte stream (after the HTTP upgrade) into
frames, keeping what ``websockets.frames.Frame`` throws away (the raw header, the mask
key, the length encoding actually used, the stream offset), unmasking payloads, reading
close payloads, and noticing protocol errors. What does not: MQTT, HTTP, extensions
(a compressed payload is returned as it is on the wire), and any I/O.

Speed: :meth:`FrameIndexer.frames` reads a whole binary frame with nothing to check
(what a firehose is made of) in a few lines and hands it over as a :data:`PlainFrame`
tuple, consecutive ones in one list; every other frame goes through all the checks and
becomes a :class:`RawFrame`.

An explorer must show broken traffic rather than refuse it, so a protocol error is a
string in :attr:`RawFrame.problems` (with the rule broken, from the one table in
``explorer.ws.rules``, in :attr:`RawFrame.violations`), not an exception. Only a stream that cannot be
framed any further (a 64-bit length with its top bit set, or a frame above
``max_payload_size``) raises :class:`FramingError`, once; the indexer is then
:attr:`~FrameIndexer.broken` and ignores further data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from explorer.errors import RemoteProtocolError
from explorer.ws.mask import apply_mask
from explorer.ws.rules import (
    CONTROL_OPCODES,
    DATA_OPCODES,
    MAX_CONTROL_PAYLOAD,
    OPCODE_NAMES,
    Opcode,
    Violation,
)
from explorer.ws.rules import close_code_violation as _close_code_violation

__all__ = [
    "CLOSE_REASON_NOT_UTF8",
    "CONTROL_OPCODES",
    "DATA_OPCODES",
    "OPCODE_NAMES",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONTINUATION",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "FrameIndexer",
    "FramingError",
    "LengthEncoding",
    "PlainFrame",
    "RawFrame",
    "build_frame",
    "parse_close_payload",
    "plain_raw_frame",
]

# RFC 6455 §5.2 / §11.8 (the table is explorer.ws.rules; plain ints here for the hot path)
OP_CONTINUATION: Final = int(Opcode.CONTINUATION)
OP_TEXT: Final = int(Opcode.TEXT)
OP_BINARY: Final = int(Opcode.BINARY)
OP_CLOSE: Final = int(Opcode.CLOSE)
OP_PING: Final = int(Opcode.PING)
OP_PONG: Final = int(Opcode.PONG)

LengthEncoding = Literal["7bit", "16bit", "64bit"]

PlainFrame: TypeAlias = tuple[int, bytes, "bytes | None", bytes]
"""A whole binary frame with nothing to report, as :meth:`FrameIndexer.frames` hands
it over: ``(stream_offset, header, mask_key, payload)``, the payload unmasked. Everything
else about it is implied: FIN, no RSV bit, opcode binary, a 7-bit length, masked when
``mask_key`` is set, and it is a message of its own (:func:`plain_raw_frame`)."""

_PLAIN_FIRST_BYTE: Final = 0x80 | OP_BINARY  # FIN, no RSV bit, binary (RFC 6455 §5.2)
# A plain frame's size from its second byte (MASK bit, 7-bit length), per expect_masked;
# 0 for a 16- or 64-bit length or the wrong MASK bit. With expect_masked None every
# frame is checked in full.
_PLAIN_TOTALS: Final[dict[bool | None, tuple[int, ...]]] = {
    True: tuple(6 + (b & 0x7F) if b & 0x80 and b & 0x7F < 126 else 0 for b in range(256)),
    False: tuple(2 + b if b < 126 else 0 for b in range(256)),
    None: (0,) * 256,
}

# The one problem answered with close code 1007 rather than 1002 (RFC 6455 §7.4.1).
CLOSE_REASON_NOT_UTF8: Final = Violation.CLOSE_REASON_NOT_UTF8.text()


class FramingError(RemoteProtocolError):
    """The stream cannot be split into frames any further.

    Attributes:
        offset: stream offset of the first header byte of the offending frame.
        reason: what is wrong, in plain words.
        frames: the frames completed by the same ``receive_data`` call before the
            offending one; they are valid and should still be shown.
        violation: the rule broken (``explorer.ws.rules``).
        code: the close code that answers it (RFC 6455 §7.4.1): 1009 for a frame above
            the size limit, 1002 otherwise.
    """

    def __init__(
        self, offset: int, violation: Violation, reason: str, frames: list[RawFrame] | None = None
    ) -> None:
        super().__init__(f"WebSocket framing lost at byte {offset}: {reason}")
        self.offset = offset
        self.violation = violation
        self.code = int(violation.code)
        self.reason = reason
        self.frames: list[RawFrame] = frames if frames is not None else []


@dataclass(slots=True)
class RawFrame:
    """One frame exactly as it was on the wire, with its payload unmasked.

    Not frozen for the same reason as the packet classes: the indexer builds one per
    frame on the hot path, and a frozen ``__init__`` is several times slower.

    ``message_opcode`` is the opcode of the message the frame belongs to: the frame's own
    opcode for a data or control frame, the opcode of the first frame of the message for
    a continuation frame (RFC 6455 §5.4), ``None`` for a continuation frame outside any
    message and for reserved opcodes.
    """

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
    message_opcode: int | None
    close_code: int | None = None
    close_reason: str | None = None
    problems: tuple[str, ...] = ()
    violations: tuple[Violation, ...] = ()  # the rule behind each problem, in the same order

    @property
    def answer(self) -> int | None:
        """The close code a receiver answers this frame with (RFC 6455 §7.4.1), the
        first problem's, or ``None`` when nothing is wrong with it."""
        return int(self.violations[0].code) if self.violations else None

    @property
    def header_length(self) -> int:
        return len(self.header)

    @property
    def end_offset(self) -> int:
        """Stream offset just past the frame."""
        return self.stream_offset + len(self.header) + self.payload_length


def plain_raw_frame(frame: PlainFrame) -> RawFrame:
    """The :class:`RawFrame` a :data:`PlainFrame` stands for."""
    offset, header, mask_key, payload = frame
    return RawFrame(
        offset,
        True,
        False,
        False,
        False,
        OP_BINARY,
        mask_key is not None,
        mask_key,
        "7bit",
        len(payload),
        header,
        payload,
        OP_BINARY,
    )


def parse_close_payload(payload: bytes) -> tuple[int | None, str, tuple[str, ...]]:
    """Read a Close frame's body (RFC 6455 §5.5.1).

    Returns ``(code, reason, problems)``. An empty body is legal and has no code. The
    reason is decoded with replacement characters when it is not valid UTF-8, so it can
    still be shown; the problem says so.
    """
    code, reason, found = _read_close(payload)
    return code, reason, tuple(text for _violation, text in found)


def _read_close(payload: bytes) -> tuple[int | None, str, list[tuple[Violation, str]]]:
    """:func:`parse_close_payload` with the rule behind each problem."""
    if not payload:
        return None, "", []
    if len(payload) == 1:
        # RFC 6455 §5.5.1: if there is a body, its first two bytes are the status code
        return None, "", [(Violation.CLOSE_BODY_ONE_BYTE, Violation.CLOSE_BODY_ONE_BYTE.text())]
    code = (payload[0] << 8) | payload[1]
    found: list[tuple[Violation, str]] = []
    violation = _close_code_violation(code)  # RFC 6455 §7.4.1 / §7.4.2
    if violation is not None:
        found.append((violation, violation.text(code=code)))
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        # RFC 6455 §5.5.1: the reason is UTF-8
        reason = payload[2:].decode("utf-8", errors="replace")
        found.append((Violation.CLOSE_REASON_NOT_UTF8, CLOSE_REASON_NOT_UTF8))
    return code, reason, found


class FrameIndexer:
    """Split one direction's bytes into :class:`RawFrame` values, any chunking.

    Args:
        expect_masked: ``True`` for client-to-server bytes (every frame must be masked,
            RFC 6455 §5.1), ``False`` for server-to-client (none may be), ``None`` to
            not check.
        rsv1_allowed: an extension that uses RSV1 (permessage-deflate) was negotiated.
        max_payload_size: a frame announcing a longer payload breaks the stream instead
            of being buffered (``None``: no limit).
        start_offset: stream offset of the first byte fed.

    Attributes:
        consumed: stream offset just past the last complete frame.
        broken: a :class:`FramingError` was raised; further data is ignored.
    """

    __slots__ = (
        "_buf",
        "_closed",
        "_in_message",
        "_need",
        "broken",
        "consumed",
        "expect_masked",
        "max_payload_size",
        "rsv1_allowed",
    )

    def __init__(
        self,
        *,
        expect_masked: bool | None = None,
        rsv1_allowed: bool = False,
        max_payload_size: int | None = None,
        start_offset: int = 0,
    ) -> None:
        self.expect_masked = expect_masked
        self.rsv1_allowed = rsv1_allowed
        self.max_payload_size = max_payload_size
        self.consumed = start_offset
        self.broken = False
        self._buf = bytearray()
        self._need = 2
        self._in_message: int | None = None  # opcode of the fragmented message in progress
        self._closed = False  # a Close frame was seen

    @property
    def buffered(self) -> int:
        """Bytes received that do not yet make a complete frame."""
        return len(self._buf)

    @property
    def needed(self) -> int:
        """Total bytes the incomplete frame at :attr:`consumed` needs (at least), or 0."""
        return self._need if self._buf else 0

    @property
    def closed(self) -> bool:
        """A Close frame was seen (RFC 6455 §5.5.1: nothing may follow it)."""
        return self._closed

    @property
    def in_message(self) -> int | None:
        """Opcode of a fragmented message still waiting for its final frame."""
        return self._in_message

    def receive_data(self, data: bytes) -> list[RawFrame]:
        """Feed bytes; return the frames they complete, in order, each a :class:`RawFrame`.

        Raises:
            FramingError: once, when the stream cannot be framed any further.
        """
        frames: list[RawFrame] = []
        append = frames.append
        try:
            for item in self.frames(data):
                if isinstance(item, RawFrame):
                    append(item)
                else:
                    frames.extend(plain_raw_frame(plain) for plain in item)
        except FramingError as exc:
            exc.frames = frames
            raise
        return frames

    def frames(self, data: bytes) -> Iterator[list[PlainFrame] | RawFrame]:
        """Feed bytes; yield the frames they complete, in order: a whole binary frame
        with nothing to check (the frames a firehose is made of: FIN, no RSV bit, a
        7-bit length, masked as the direction requires, no fragmented message open, no
        Close frame before it) as a :data:`PlainFrame` tuple, consecutive ones together
        in a list; every other frame as a :class:`RawFrame`.

        Iterate to the end: the bytes of an incomplete frame at the end are kept for the
        next call, and :attr:`consumed` and :attr:`buffered` are brought up to date
        then (:attr:`in_message` and :attr:`closed` follow each frame).

        Raises:
            FramingError: once, when the stream cannot be framed any further (the
                frames before the offending one were yielded).
        """
        if self.broken:
            return
        if type(data) is not bytes:
            data = bytes(data)  # frames hold immutable bytes, whatever the caller read into
        buf: bytes
        if self._buf:
            self._buf += data
            if len(self._buf) < self._need:
                return
            buf = bytes(self._buf)
        else:
            buf = data
        end = len(buf)
        pos = 0
        offset = self.consumed
        expect_masked = self.expect_masked
        # A plain frame's size from its second byte, 0 for any other second byte.
        totals = _PLAIN_TOTALS[expect_masked]
        # The first byte of a plain frame, or one no byte equals while a fragmented
        # message is open or after a Close frame (changed by checked frames only).
        first = _PLAIN_FIRST_BYTE if self._in_message is None and not self._closed else -1
        need = 2
        run: list[PlainFrame] = []  # plain frames not yielded yet
        add = run.append
        try:
            while True:
                if end - pos < 2:
                    need = 2
                    break
                b0 = buf[pos]
                b1 = buf[pos + 1]
                total = totals[b1]
                if b0 == first and total:
                    if end - pos < total:
                        need = total
                        break
                    if expect_masked:
                        key = buf[pos + 2 : pos + 6]
                        add((offset, buf[pos : pos + 6], key, apply_mask(buf[pos + 6 : pos + total], key)))
                    else:
                        add((offset, buf[pos : pos + 2], None, buf[pos + 2 : pos + total]))
                    pos += total
                    offset += total
                    continue
                if run:
                    yield run
                    run = []
                    add = run.append
                length = b1 & 0x7F
                masked = b1 & 0x80 != 0
                head = 6 if masked else 2
                encoding: LengthEncoding = "7bit"
                if length == 126:
                    head += 2
                    if end - pos < head:
                        need = head
                        break
                    length = (buf[pos + 2] << 8) | buf[pos + 3]
                    encoding = "16bit"
                elif length == 127:
                    head += 8
                    if end - pos < head:
                        need = head
                        break
                    length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                    encoding = "64bit"
                    if length >> 63:
                        # RFC 6455 §5.2: the most significant bit MUST be 0
                        self._fail(offset, Violation.LENGTH_TOP_BIT)
                if self.max_payload_size is not None and length > self.max_payload_size:
                    self._fail(offset, Violation.TOO_BIG, length=length, limit=self.max_payload_size)
                total = head + length
                if end - pos < total:
                    need = total
                    break
                pstart = pos + head
                mask_key: bytes | None = None
                if masked:
                    mask = buf[pstart - 4 : pstart]
                    mask_key = mask
                    payload = apply_mask(buf[pstart : pstart + length], mask)
                else:
                    payload = buf[pstart : pstart + length]
                checked = self._checked_frame(
                    offset,
                    b0,
                    masked=masked,
                    mask_key=mask_key,
                    encoding=encoding,
                    length=length,
                    header=buf[pos:pstart],
                    payload=payload,
                )
                pos += total
                offset += total
                first = _PLAIN_FIRST_BYTE if self._in_message is None and not self._closed else -1
                yield checked
            if run:
                yield run
        finally:
            if not self.broken:
                # Also when the caller stopped early: what was yielded is consumed.
                self.consumed = offset
                self._need = need
                self._buf = bytearray(buf[pos:]) if pos < end else bytearray()

    def _fail(self, offset: int, violation: Violation, **values: object) -> None:
        """Mark the stream unframeable and raise."""
        self.broken = True
        self._buf = bytearray()
        self.consumed = offset
        raise FramingError(offset, violation, violation.text(**values))

    def _checked_frame(
        self,
        offset: int,
        b0: int,
        *,
        masked: bool,
        mask_key: bytes | None,
        encoding: LengthEncoding,
        length: int,
        header: bytes,
        payload: bytes,
    ) -> RawFrame:
        """Build a frame that is not a plain one, noting every problem (RFC 6455 §5)."""
        fin = b0 & 0x80 != 0
        rsv1 = b0 & 0x40 != 0
        rsv2 = b0 & 0x20 != 0
        rsv3 = b0 & 0x10 != 0
        opcode = b0 & 0x0F
        found: list[tuple[Violation, str]] = []

        def broke(violation: Violation, **values: object) -> None:
            found.append((violation, violation.text(**values)))

        if self._closed:
            broke(Violation.AFTER_CLOSE)  # RFC 6455 §5.5.1: nothing may follow a Close frame
        if self.expect_masked is not None and masked is not self.expect_masked:
            # RFC 6455 §5.1
            broke(Violation.UNMASKED_CLIENT_FRAME if self.expect_masked else Violation.MASKED_SERVER_FRAME)
        if (rsv1 and not self.rsv1_allowed) or rsv2 or rsv3:
            # RFC 6455 §5.2: RSV bits MUST be 0 unless an extension defines them
            broke(Violation.RESERVED_BITS)
        if (encoding == "16bit" and length < 126) or (encoding == "64bit" and length <= 0xFFFF):
            # RFC 6455 §5.2: the minimal number of bytes MUST be used to encode the length
            broke(Violation.LENGTH_NOT_MINIMAL, length=length)
        message_opcode: int | None = opcode
        close_code: int | None = None
        close_reason: str | None = None
        if opcode in CONTROL_OPCODES:
            # RFC 6455 §5.5: control frames have <= 125 bytes and are not fragmented;
            # they may be interleaved between the fragments of a message (§5.4)
            if length > MAX_CONTROL_PAYLOAD:
                broke(Violation.CONTROL_TOO_LONG, length=length)
            if not fin:
                broke(Violation.CONTROL_FRAGMENTED)
            if rsv1 and self.rsv1_allowed:
                broke(Violation.RSV1_ON_CONTROL)  # permessage-deflate is for data messages only
            if opcode == OP_CLOSE:
                close_code, close_reason, close_found = _read_close(payload)
                found.extend(close_found)
                self._closed = True
        elif opcode in DATA_OPCODES:
            if self._in_message is not None:
                # RFC 6455 §5.4: fragments of one message are not interleaved with another
                names = OPCODE_NAMES
                broke(Violation.MESSAGE_IN_MESSAGE, kind=names[opcode], open=names[self._in_message])
            self._in_message = None if fin else opcode
        elif opcode == OP_CONTINUATION:
            message_opcode = self._in_message
            if message_opcode is None:
                broke(Violation.CONTINUATION_ALONE)  # RFC 6455 §5.4
            elif fin:
                self._in_message = None
        else:
            # RFC 6455 §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved
            message_opcode = None
            broke(Violation.RESERVED_OPCODE, opcode=opcode)
        return RawFrame(
            offset,
            fin,
            rsv1,
            rsv2,
            rsv3,
            opcode,
            masked,
            mask_key,
            encoding,
            length,
            header,
            payload,
            message_opcode,
            close_code,
            close_reason,
            tuple(text for _violation, text in found),
            tuple(violation for violation, _text in found),
        )


def build_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    mask_key: bytes | None = None,
    rsv: int = 0,
    length_encoding: LengthEncoding | None = None,
) -> bytes:
    """Encode one frame (RFC 6455 §5.2), allowing what a strict encoder would refuse.

    ``length_encoding`` forces a (possibly non-minimal) length encoding and ``rsv`` sets
    the RSV bits (bit 2 = RSV1), so tests and benchmarks can build broken frames too.
    """
    length = len(payload)
    if length_encoding is None:
        length_encoding = "7bit" if length < 126 else "16bit" if length <= 0xFFFF else "64bit"
    head = bytearray([(0x80 if fin else 0) | (rsv & 0x7) << 4 | (opcode & 0xF)])
    mask_bit = 0x80 if mask_key is not None else 0
    if length_encoding == "7bit":
        if length > 125:
            raise ValueError(f"a payload of {length} bytes does not fit the 7-bit length")
        head.append(mask_bit | length)
    elif length_encoding == "16bit":
        if length > 0xFFFF:
            raise ValueError(f"a payload of {length} bytes does not fit the 16-bit length")
        head.append(mask_bit | 126)
        head += length.to_bytes(2, "big")
    else:
        head.append(mask_bit | 127)
        head += length.to_bytes(8, "big")
    if mask_key is not None:
        head += mask_key
        payload = apply_mask(payload, mask_key)
    return bytes(head) + payload
