"""Opening a capture: sniff its format, stream its records, or read it whole.

:class:`CaptureFile` reads a pcap or pcapng file a block at a time and yields its
frames as TCP segments (link layer, IP and IPv4 fragments handled on the way); the
``decode`` command drives TCP reassembly and decoding from it in one pass, so memory
does not grow with the file. :func:`read_capture` keeps the simple form for small
captures and tests: every connection with all its chunks.

A file is refused within its first bytes when it is not a capture (``/dev/zero``, a
text file, a directory): the first four bytes must be a pcap or pcapng magic number.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from explorer.capture.layers import FrameParser, TcpSegment
from explorer.capture.pcap import PCAP_MAGICS, PcapFile, iter_pcap
from explorer.capture.pcapng import PCAPNG_MAGIC, iter_pcapng
from explorer.capture.records import ReadState, Record
from explorer.capture.tcp import TcpConnection, TcpReassembler
from explorer.errors import CaptureError

__all__ = ["Capture", "CaptureFile", "read_capture", "read_capture_bytes"]


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


class CaptureFile:
    """A capture opened for one pass: :meth:`segments` yields its TCP segments.

    ``format`` is known once opened; ``state`` counts frames and bytes as they are read
    and collects file-level problems; ``size`` is the file's size when it has one (for
    a progress display), else ``None``. Use as a context manager, or call :meth:`close`.

    Raises:
        CaptureError: the file cannot be opened or is not a pcap/pcapng capture.
    """

    def __init__(self, source: str | Path | BinaryIO, name: str | None = None) -> None:
        self._own = not hasattr(source, "read")
        if self._own:
            path = Path(source)  # type: ignore[arg-type]
            name = name or str(path)
            try:
                self._file: BinaryIO = path.open("rb")
            except FileNotFoundError:
                raise CaptureError(f"{path}: no such file") from None
            except IsADirectoryError:
                raise CaptureError(f"{path} is a directory, not a capture file") from None
            except OSError as exc:
                raise CaptureError(f"{path}: cannot read ({exc.strerror or exc})") from None
        else:
            self._file = source  # type: ignore[assignment]
        self.name = name or "capture"
        self.state = ReadState(self.name)
        self.size: int | None = None
        self.frame_count = 0  # frames on supported link types, once :meth:`segments` is done
        try:
            info = os.fstat(self._file.fileno())
            if info.st_size > 0 and stat.S_ISREG(info.st_mode):
                self.size = info.st_size
        except (OSError, AttributeError, io.UnsupportedOperation):
            pass
        try:
            head = self._file.read(4)
        except OSError as exc:
            self.close()
            if exc.errno == 21:  # EISDIR
                raise CaptureError(f"{self.name} is a directory, not a capture file") from None
            raise CaptureError(f"{self.name}: cannot read ({exc.strerror or exc})") from None
        if not head:
            self.close()
            raise CaptureError(f"{self.name} is empty, not a capture file")
        self._records: Iterator[Record]
        self._pcap_head: bytes | None = None  # a pcap file's first bytes, for pcap()
        if head in PCAP_MAGICS:
            self.format = "pcap"
            self._pcap_head = head
            self._records = iter_pcap(self._file, head, self.state)
        elif head == PCAPNG_MAGIC:
            self.format = "pcapng"
            self._records = iter_pcapng(self._file, head, self.state)
        else:
            self.close()
            raise CaptureError(f"{self.name} is not a pcap or pcapng capture file")

    def __enter__(self) -> CaptureFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            self._file.close()

    def records(self) -> Iterator[Record]:
        """The raw link-layer records, once (see :mod:`explorer.capture.records`)."""
        return self._records

    def pcap(self) -> PcapFile | None:
        """A pcap file, for a caller that walks its records itself (instead of
        :meth:`records`, once); ``None`` for pcapng.

        Raises:
            CaptureError: the pcap file header is unusable.
        """
        head, self._pcap_head = self._pcap_head, None
        return None if head is None else PcapFile(self._file, head, self.state)

    def segments(self) -> Iterator[TcpSegment]:
        """Every TCP segment, in file order; file-level problems go to ``state.problems``.

        Raises:
            CaptureError: the file is corrupt before its end (see the readers).
        """
        parser = FrameParser(self.state.problems)
        parse = parser.parse
        for number, time, link, buffer, start, end in self._records:
            segment = parse(number, time, link, buffer[start:end])
            if segment is not None:
                yield segment
        parser.finish()
        self.finish_problems()

    def finish_problems(self) -> None:
        """Add the sentence about frames on unsupported link types (once, at the end)."""
        unsupported = self.state.unsupported
        self.frame_count = self.state.frames - sum(unsupported.values())
        if unsupported:
            kinds = ", ".join(f"{link} ({count} frames)" for link, count in sorted(unsupported.items()))
            if not self.frame_count:
                raise CaptureError(f"{self.name} uses only unsupported link types: {kinds}")
            self.state.problems.append(f"frames on unsupported link types skipped: {kinds}")
            unsupported.clear()


def read_capture(path: str | Path) -> Capture:
    """Read a pcap or pcapng file and reassemble its TCP connections, all in memory.

    Raises:
        CaptureError: the file cannot be opened, is not a capture, is corrupt
            before its end, or uses only unsupported link types. A file cut short at
            its end is returned as far as it goes, with a problem noted.
    """
    with CaptureFile(path) as capture:
        return _read_all(capture)


def read_capture_bytes(data: bytes, name: str = "capture") -> Capture:
    """Like :func:`read_capture` for bytes already in memory."""
    if not data:
        raise CaptureError(f"{name} is empty, not a capture file")
    with CaptureFile(io.BytesIO(data), name) as capture:
        return _read_all(capture)


def _read_all(capture: CaptureFile) -> Capture:
    reassembler = TcpReassembler()
    for segment in capture.segments():
        reassembler.add(segment)
    result = Capture(name=capture.name, format=capture.format, frame_count=capture.frame_count)
    result.problems.extend(capture.state.problems)
    result.connections = reassembler.connections()
    return result
