"""The rules of RFC 6455 as data: opcodes, close codes, control-frame limits.

One table, read by every part that judges frames: the broker's frame reader
(``explorer.broker.wsframes``) and the explorer's frame indexer (``explorer.ws.framing``).
What belongs here: wire values and the questions answered from them alone (is this
opcode reserved, may this close code be sent, which code answers which violation).
What does not: parsing, buffering, and any I/O.
"""

from __future__ import annotations

from enum import IntEnum
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
    "close_code_problem",
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


def close_code_problem(code: int) -> str | None:
    """Why ``code`` may not be sent in a Close frame, or ``None`` when it may."""
    if code in SENDABLE_CLOSE_CODES or 3000 <= code <= 4999:
        return None
    if code in (CloseCode.NO_STATUS, CloseCode.ABNORMAL, CloseCode.TLS_HANDSHAKE):
        return f"close code {code} may not be sent in a Close frame: it is only reported locally (§7.4.1)"
    return f"close code {code} may not be sent in a Close frame (RFC 6455 §7.4)"
