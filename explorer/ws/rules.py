"""The rules of RFC 6455 as data: opcodes, close codes, control-frame limits, violations.

One table, read by every part that judges frames: the broker's frame reader
(``explorer.broker.wsframes``) and the explorer's frame indexer (``explorer.ws.framing``).
What belongs here: wire values and the questions answered from them alone (is this
opcode reserved, may this close code be sent), and :class:`Violation`: each rule a peer
can break, the close code that answers it and the words both readers say it with.
What does not: parsing, buffering, and any I/O. ``tests/ws/conformance/cases.py`` is
the one table of cases both readers are run against.
"""

from __future__ import annotations

from enum import Enum, IntEnum
from typing import Final

__all__ = [
    "CONTROL_OPCODES",
    "DATA_OPCODES",
    "MAX_CLOSE_REASON",
    "MAX_CONTROL_PAYLOAD",
    "OPCODE_NAMES",
    "RSV_BITS",
    "SENDABLE_CLOSE_CODES",
    "CloseCode",
    "Opcode",
    "Violation",
    "close_code_problem",
    "close_code_violation",
    "is_control",
    "is_reserved_opcode",
]


class Opcode(IntEnum):
    """Frame opcodes (RFC 6455 §5.2, §11.8); 0x3-0x7 and 0xB-0xF are reserved."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(IntEnum):
    """Status codes of a Close frame (RFC 6455 §7.4.1; 1012-1014 registered in §11.7)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002  # any framing rule broken
    UNSUPPORTED_DATA = 1003  # a data type the endpoint cannot accept (MQTT: text frames)
    NO_STATUS = 1005  # never sent: an empty Close frame reads as this
    ABNORMAL = 1006  # never sent: the connection ended without a Close frame
    INVALID_DATA = 1007  # e.g. a text frame or close reason that is not UTF-8
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015  # never sent


DATA_OPCODES: Final = frozenset({Opcode.TEXT, Opcode.BINARY})
CONTROL_OPCODES: Final = frozenset({Opcode.CLOSE, Opcode.PING, Opcode.PONG})
OPCODE_NAMES: Final[dict[int, str]] = {
    Opcode.CONTINUATION: "continuation",
    Opcode.TEXT: "text",
    Opcode.BINARY: "binary",
    Opcode.CLOSE: "close",
    Opcode.PING: "ping",
    Opcode.PONG: "pong",
}

# RFC 6455 §5.2: RSV1-3, which must be 0 unless an extension gives them a meaning.
RSV_BITS: Final = 0x70
# RFC 6455 §5.5: control frames carry at most 125 bytes and are never fragmented.
MAX_CONTROL_PAYLOAD: Final = 125
# A Close frame's reason after its 2-byte code (RFC 6455 §5.5.1).
MAX_CLOSE_REASON: Final = MAX_CONTROL_PAYLOAD - 2

# RFC 6455 §7.4.1/§7.4.2: the codes a peer may put in a Close frame; 1004 is reserved,
# 1005, 1006 and 1015 are never sent. 3000-4999 are for libraries and applications.
SENDABLE_CLOSE_CODES: Final = frozenset(
    {
        CloseCode.NORMAL,
        CloseCode.GOING_AWAY,
        CloseCode.PROTOCOL_ERROR,
        CloseCode.UNSUPPORTED_DATA,
        CloseCode.INVALID_DATA,
        CloseCode.POLICY_VIOLATION,
        CloseCode.MESSAGE_TOO_BIG,
        CloseCode.MANDATORY_EXTENSION,
        CloseCode.INTERNAL_ERROR,
        CloseCode.SERVICE_RESTART,
        CloseCode.TRY_AGAIN_LATER,
        CloseCode.BAD_GATEWAY,
    }
)


def is_control(opcode: int) -> bool:
    """Control frames have the high bit of the opcode set (RFC 6455 §5.5)."""
    return opcode >= 0x8


def is_reserved_opcode(opcode: int) -> bool:
    """0x3-0x7 (data) and 0xB-0xF (control) have no meaning yet (RFC 6455 §5.2)."""
    return opcode not in OPCODE_NAMES


class Violation(Enum):
    """A rule of RFC 6455 (or of MQTT over WebSocket) that a peer broke, with the close
    code that answers it (RFC 6455 §7.4.1) and its words, a template filled by
    :meth:`text`. The broker closes with ``code``; the indexer reports the text as a
    frame problem and keeps the violation beside it, so a client can answer the same."""

    RESERVED_BITS = (
        CloseCode.PROTOCOL_ERROR,
        "reserved bit set without a negotiated extension (RFC 6455 §5.2)",
    )
    UNMASKED_CLIENT_FRAME = (CloseCode.PROTOCOL_ERROR, "unmasked frame from the client (RFC 6455 §5.1)")
    MASKED_SERVER_FRAME = (CloseCode.PROTOCOL_ERROR, "masked frame from the server (RFC 6455 §5.1)")
    RESERVED_OPCODE = (CloseCode.PROTOCOL_ERROR, "reserved opcode 0x{opcode:X} (RFC 6455 §5.2)")
    LENGTH_NOT_MINIMAL = (
        CloseCode.PROTOCOL_ERROR,
        "payload length {length} not in its minimal encoding (RFC 6455 §5.2)",
    )
    LENGTH_TOP_BIT = (
        CloseCode.PROTOCOL_ERROR,
        "64-bit payload length with the most significant bit set (RFC 6455 §5.2)",
    )
    CONTROL_TOO_LONG = (
        CloseCode.PROTOCOL_ERROR,
        "control frame with a {length}-byte payload (RFC 6455 §5.5: at most 125)",
    )
    CONTROL_FRAGMENTED = (CloseCode.PROTOCOL_ERROR, "fragmented control frame (RFC 6455 §5.5)")
    RSV1_ON_CONTROL = (CloseCode.PROTOCOL_ERROR, "RSV1 set on a control frame (RFC 7692 §6.1)")
    CONTINUATION_ALONE = (
        CloseCode.PROTOCOL_ERROR,
        "continuation frame without a message to continue (RFC 6455 §5.4)",
    )
    MESSAGE_IN_MESSAGE = (
        CloseCode.PROTOCOL_ERROR,
        "new {kind} frame while a fragmented {open} message is unfinished (RFC 6455 §5.4)",
    )
    AFTER_CLOSE = (CloseCode.PROTOCOL_ERROR, "frame after a Close frame (RFC 6455 §5.5.1)")
    CLOSE_BODY_ONE_BYTE = (
        CloseCode.PROTOCOL_ERROR,
        "close frame body of 1 byte: a close code needs 2 bytes (RFC 6455 §5.5.1)",
    )
    CLOSE_CODE_NOT_SENDABLE = (
        CloseCode.PROTOCOL_ERROR,
        "close code {code} may not be sent in a Close frame (RFC 6455 §7.4)",
    )
    CLOSE_CODE_LOCAL_ONLY = (
        CloseCode.PROTOCOL_ERROR,
        "close code {code} may not be sent in a Close frame: it is only reported locally (RFC 6455 §7.4.1)",
    )
    CLOSE_REASON_NOT_UTF8 = (CloseCode.INVALID_DATA, "close reason is not valid UTF-8 (RFC 6455 §5.5.1)")
    TEXT_FRAME = (
        CloseCode.UNSUPPORTED_DATA,
        "MQTT over WebSocket needs binary frames, got text [MQTT-6.0.0-1]",
    )
    TOO_BIG = (
        CloseCode.MESSAGE_TOO_BIG,
        "frame payload of {length} bytes exceeds the limit of {limit} bytes",
    )

    def __init__(self, code: CloseCode, template: str) -> None:
        self.code = code
        self.template = template

    def text(self, **values: object) -> str:
        """The violation in words, with the values its template names."""
        return self.template.format(**values)


def close_code_violation(code: int) -> Violation | None:
    """Why ``code`` may not be sent in a Close frame (RFC 6455 §7.4.1, §7.4.2), or
    ``None`` when it may."""
    if code in SENDABLE_CLOSE_CODES or 3000 <= code <= 4999:
        return None
    if code in (CloseCode.NO_STATUS, CloseCode.ABNORMAL, CloseCode.TLS_HANDSHAKE):
        return Violation.CLOSE_CODE_LOCAL_ONLY
    return Violation.CLOSE_CODE_NOT_SENDABLE


def close_code_problem(code: int) -> str | None:
    """:func:`close_code_violation` in words."""
    violation = close_code_violation(code)
    return None if violation is None else violation.text(code=code)
