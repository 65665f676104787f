"""``read_capture``: a pcap or pcapng file -> reassembled TCP connections.

The whole file is read into memory: the captures this tool is for (a session or
two of MQTT traffic) are small, and it keeps both readers simple and exact about
truncation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from explorer.capture.layers import parse_frame
from explorer.capture.pcap import PCAP_MAGICS, read_pcap
from explorer.capture.pcapng import PCAPNG_MAGIC, read_pcapng
from explorer.capture.records import RecordSource
from explorer.capture.tcp import TcpConnection, TcpReassembler
from explorer.errors import CaptureError

__all__ = ["Capture", "read_capture", "read_capture_bytes"]


@dataclass(slots=True)
class Capture:
    """What a capture file holds, as TCP connections.

    ``problems`` are file-level sentences (truncation, IP fragments, skipped link
    types); each connection has its own ``problems`` too.
    """

    name: str
    format: str  # "pcap" or "pcapng"
    frame_count: int
    connections: list[TcpConnection] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_capture(path: str | Path) -> Capture:
    """Read a pcap or pcapng file and reassemble its TCP connections.

    Raises:
        CaptureError: the file cannot be opened, is not a capture, is corrupt
            before its end, or uses only unsupported link types. A file cut short at
            its end is returned as far as it goes, with a problem noted.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CaptureError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CaptureError(f"{path} is a directory, not a capture file") from None
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return read_capture_bytes(data, str(path))


def read_capture_bytes(data: bytes, name: str = "capture") -> Capture:
    """Like :func:`read_capture` for bytes already in memory."""
    if not data:
        raise CaptureError(f"{name} is empty, not a capture file")
    source: RecordSource
    if data[:4] in PCAP_MAGICS:
        source, fmt = read_pcap(data, name), "pcap"
    elif data[:4] == PCAPNG_MAGIC:
        source, fmt = read_pcapng(data, name), "pcapng"
    else:
        raise CaptureError(f"{name} is not a pcap or pcapng capture file")
    capture = Capture(name=name, format=fmt, frame_count=len(source.records))
    capture.problems.extend(source.problems)
    if source.unsupported:
        kinds = ", ".join(f"{link} ({count} frames)" for link, count in sorted(source.unsupported.items()))
        if not source.records:
            raise CaptureError(f"{name} uses only unsupported link types: {kinds}")
        capture.problems.append(f"frames on unsupported link types skipped: {kinds}")
    reassembler = TcpReassembler()
    for record in source.records:
        segment = parse_frame(record, capture.problems)
        if segment is not None:
            reassembler.add(segment)
    capture.connections = reassembler.connections()
    return capture
