"""The one table of RFC 6455 violations, run against both frame readers.

Each case is bytes a peer sends that break one rule, and the rule
(``explorer.ws.rules.Violation``, which carries the close code RFC 6455 §7.4.1 gives).
The same table is read by:

- ``test_readers.py``: the broker's hot-path reader (``explorer.broker.wsframes``) and
  the indexer (``explorer.ws.framing.FrameIndexer``, the decoder's one frame reader),
  fed whole, byte by byte and in random cuts, in both directions (a client's frames
  masked, a server's not);
- ``test_broker_frames.py``: the embedded broker over a real socket, which must close
  with the case's code after acting on the frames sent before it;
- ``test_client_transport.py``: the live client over a real socket (the cases a server
  can send), which must do the same.

``BEFORE`` is a valid frame sent first each time: both readers must hand it over
before they object.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Publish
from explorer.ws.rules import Violation
from tests.ws.conformance.wire import close_body, frame

__all__ = ["BEFORE_PUBLISH", "CASES", "CLIENT_CASES", "LIMIT", "SERVER_CASES", "Case", "before"]

LIMIT = 1024  # the largest frame payload both readers are given in the table's runs
BEFORE_PUBLISH = Publish("before/violation", b"acted on first", qos=1, packet_id=5)


def before(*, mask: bool) -> bytes:
    """The valid frame sent ahead of each case."""
    return frame(0x2, encode(BEFORE_PUBLISH), mask=mask)


@dataclass(frozen=True, slots=True)
class Case:
    """One broken frame sequence.

    ``build(mask)`` gives the bytes with client masking (``True``) or as a server sends
    them; ``violation`` is the rule both readers must name. ``sender``: the case exists
    for frames from that side only (masking rules). ``broker_only``: a rule of MQTT over
    WebSocket that the broker enforces and the indexer leaves to the MQTT layer (a text
    frame is good WebSocket).
    """

    name: str
    violation: Violation
    frames: tuple[tuple[int, bytes, bool, int, int | None], ...]  # opcode, payload, fin, rsv, length bytes
    raw: bytes | None = None  # bytes sent as they are instead of frames (a header alone)
    broker_only: bool = False
    sender: str | None = None  # "client" or "server": a case for frames from that side only

    def build(self, *, mask: bool) -> bytes:
        if self.raw is not None:
            if self.sender is not None:
                return self.raw  # masked or not on purpose
            # a header alone: the mask bit as the sender sets it, and a mask key
            return self.raw[:1] + bytes([self.raw[1] | 0x80]) + self.raw[2:] + b"mask" if mask else self.raw
        return b"".join(
            frame(opcode, payload, fin=fin, rsv=rsv, mask=mask, length_bytes=length)
            for opcode, payload, fin, rsv, length in self.frames
        )


def _case(name: str, violation: Violation, *frames: tuple[int, bytes, bool, int, int | None]) -> Case:
    return Case(name, violation, frames)


def _one(
    opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0, length: int | None = None
) -> tuple:  # type: ignore[type-arg]
    return (opcode, payload, fin, rsv, length)


CASES: list[Case] = [
    # RFC 6455 §5.2: reserved bits without a negotiated extension
    *(
        _case(f"rsv{rsv >> 4:x}-{name}", Violation.RESERVED_BITS, _one(opcode, b"", rsv=rsv))
        for rsv in (0x40, 0x20, 0x10, 0x70)
        for opcode, name in ((0x2, "binary"), (0x9, "ping"), (0x8, "close"))
    ),
    _case(
        "rsv1-continuation",
        Violation.RESERVED_BITS,
        _one(0x2, b"\xc0", fin=False),
        _one(0x0, b"\x00", rsv=0x40),
    ),
    # RFC 6455 §5.2: reserved opcodes
    *(
        _case(f"opcode-{opcode:x}", Violation.RESERVED_OPCODE, _one(opcode))
        for opcode in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)
    ),
    # RFC 6455 §5.2: the minimal length encoding, and the 64-bit length's top bit
    _case("16bit-for-2", Violation.LENGTH_NOT_MINIMAL, _one(0x2, b"\xc0\x00", length=2)),
    _case("64bit-for-2", Violation.LENGTH_NOT_MINIMAL, _one(0x2, b"\xc0\x00", length=8)),
    _case("64bit-for-200", Violation.LENGTH_NOT_MINIMAL, _one(0x2, b"\xc0\x00" * 100, length=8)),
    Case(
        "64bit-msb",
        Violation.LENGTH_TOP_BIT,
        (),
        raw=bytes((0x82, 0x7F)) + (1 << 63).to_bytes(8, "big"),
    ),
    # RFC 6455 §5.5: control frames carry at most 125 bytes and are never fragmented
    _case("ping-126", Violation.CONTROL_TOO_LONG, _one(0x9, b"x" * 126)),
    _case("pong-126", Violation.CONTROL_TOO_LONG, _one(0xA, b"x" * 126)),
    _case("close-126", Violation.CONTROL_TOO_LONG, _one(0x8, close_body(1000, b"x" * 124))),
    _case("ping-fragmented", Violation.CONTROL_FRAGMENTED, _one(0x9, b"p", fin=False)),
    _case("close-fragmented", Violation.CONTROL_FRAGMENTED, _one(0x8, close_body(1000), fin=False)),
    # RFC 6455 §5.4: fragmentation
    _case("continuation-alone", Violation.CONTINUATION_ALONE, _one(0x0, b"\xc0\x00")),
    _case(
        "continuation-after-the-end",
        Violation.CONTINUATION_ALONE,
        _one(0x2, b"\xc0", fin=False),
        _one(0x0, b"\x00"),
        _one(0x0, b""),
    ),
    _case(
        "binary-in-binary",
        Violation.MESSAGE_IN_MESSAGE,
        _one(0x2, b"\xc0", fin=False),
        _one(0x2, b"\xc0\x00"),
    ),
    _case(
        "binary-in-binary-after-a-ping",
        Violation.MESSAGE_IN_MESSAGE,
        _one(0x2, b"\xc0", fin=False),
        _one(0x9, b"between"),
        _one(0x2, b"\xc0\x00"),
    ),
    # RFC 6455 §5.5.1, §7.4: the close frame's body
    _case("close-1-byte", Violation.CLOSE_BODY_ONE_BYTE, _one(0x8, b"\x03")),
    *(
        _case(f"close-{code}", Violation.CLOSE_CODE_NOT_SENDABLE, _one(0x8, close_body(code)))
        for code in (0, 999, 1004, 1016, 1100, 2000, 2999, 5000, 65535)
    ),
    *(
        _case(f"close-{code}", Violation.CLOSE_CODE_LOCAL_ONLY, _one(0x8, close_body(code)))
        for code in (1005, 1006, 1015)
    ),
    *(
        _case(f"close-reason-{index}", Violation.CLOSE_REASON_NOT_UTF8, _one(0x8, close_body(1000, reason)))
        for index, reason in enumerate(
            [
                b"\xff",  # never valid
                b"\x80",  # lone continuation byte
                b"\xc0\xaf",  # overlong "/"
                b"\xed\xa0\x80",  # UTF-16 surrogate half
                b"\xf4\x90\x80\x80",  # above U+10FFFF
                b"\xe2\x82",  # truncated at the end
            ]
        )
    ),
    # A frame above the reader's limit, refused from its header alone (RFC 6455 §7.4.1 1009)
    Case(
        "above-the-limit",
        Violation.TOO_BIG,
        (),
        raw=bytes((0x82, 0x7F)) + (100 << 20).to_bytes(8, "big"),
    ),
    # RFC 6455 §5.1: a client masks every frame
    Case("unmasked", Violation.UNMASKED_CLIENT_FRAME, (), raw=b"\x82\x02\xc0\x00", sender="client"),
    Case(
        "masked", Violation.MASKED_SERVER_FRAME, (), raw=b"\x82\x82\x00\x00\x00\x00\xc0\x00", sender="server"
    ),
    # [MQTT-6.0.0-1]: MQTT goes in binary frames (the broker's rule; the indexer reads text as text)
    Case("text", Violation.TEXT_FRAME, (_one(0x1, b"\xc0\x00"),), broker_only=True, sender="client"),
]

CLIENT_CASES = [case for case in CASES if case.sender != "server"]  # frames a client sends
SERVER_CASES = [case for case in CASES if case.sender != "client"]  # frames a server sends
