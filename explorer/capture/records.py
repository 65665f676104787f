"""Link-layer records: what the pcap and pcapng readers hand to the packet decoder.

A record is one captured frame with its link type and timestamp, before any
protocol parsing. Both file formats produce the same record type so everything above
them (link layer, IP, TCP reassembly) ignores which format a file is in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SUPPORTED_LINK_TYPES", "LinkRecord", "RecordSource"]

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


@dataclass(slots=True, frozen=True)
class LinkRecord:
    """One captured frame.

    ``number`` counts packet records from 1 in file order, like Wireshark's frame
    number, so problems can point at a frame a user can find. ``original_length`` is
    the length on the wire; a smaller ``len(data)`` means the capture cut the frame
    (snap length).
    """

    number: int
    time: float
    link_type: int
    data: bytes
    original_length: int


@dataclass(slots=True)
class RecordSource:
    """Everything a file reader found: the records plus file-level problems.

    ``problems`` are sentences such as a truncated last block; a reader raises
    :class:`explorer.errors.CaptureError` instead when nothing sensible can be read.
    ``unsupported`` maps link types seen on packets we had to skip to their count.
    """

    records: list[LinkRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unsupported: dict[int, int] = field(default_factory=dict)
