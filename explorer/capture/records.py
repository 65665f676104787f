"""Link-layer records: what the pcap and pcapng readers hand to the packet decoder.

A record is one captured frame with its link type and timestamp, before any protocol
parsing: the tuple ``(number, time, link_type, buffer, start, end)``, the frame being
``buffer[start:end]``. ``number`` counts packet records from 1 in file order, like
Wireshark's frame number, so problems can point at a frame a user can find. The frame
is left where the reader found it, in the block it read (which holds many records):
a consumer reads the headers it needs in place and copies only the bytes it keeps.
A plain tuple rather than an object: a capture holds millions of them, and both
readers build them in their innermost loop.

Both file formats produce the same records and report into the same
:class:`ReadState`, so everything above them (link layer, IP, TCP reassembly) ignores
which format a file is in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

__all__ = ["BLOCK_SIZE", "SUPPORTED_LINK_TYPES", "ReadState", "Record", "refill"]

# LINKTYPE_* values from https://www.tcpdump.org/linktypes.html
SUPPORTED_LINK_TYPES: dict[int, str] = {
    0: "BSD loopback (NULL)",
    1: "Ethernet",
    101: "raw IP",
    108: "OpenBSD loopback (LOOP)",
    113: "Linux cooked (SLL)",
    228: "raw IPv4",
    229: "raw IPv6",
    276: "Linux cooked v2 (SLL2)",
}

Record = tuple[int, float, int, bytes, int, int]
"""``(number, time, link_type, buffer, start, end)`` of one captured frame, ``buffer[start:end]``."""

BLOCK_SIZE = 1 << 20  # bytes read from the file at a time: the readers hold about this much


@dataclass(slots=True)
class ReadState:
    """What a reader found besides its records, updated as it goes.

    ``problems`` are sentences such as a truncated last block (a reader raises
    :class:`explorer.errors.CaptureError` instead when nothing sensible can be read);
    ``unsupported`` maps link types of skipped frames to their count; ``frames`` counts
    packet records read so far and ``offset`` the bytes of the file consumed (for a
    progress display).
    """

    name: str
    problems: list[str] = field(default_factory=list)
    unsupported: dict[int, int] = field(default_factory=dict)
    frames: int = 0
    offset: int = 0


def refill(file: BinaryIO, buffer: bytes, pos: int, need: int) -> bytes:
    """``buffer[pos:]`` followed by at least ``need`` more bytes from ``file`` when it
    has them (fewer at its end); a block at a time, so a reader never holds the file."""
    parts = [buffer[pos:]]
    have = len(buffer) - pos
    wanted = have + need
    while have < wanted:
        more = file.read(max(BLOCK_SIZE, wanted - have))
        if not more:
            break
        parts.append(more)
        have += len(more)
    return b"".join(parts)
