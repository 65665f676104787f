"""Classic libpcap files: both byte orders, microsecond and nanosecond timestamps.

Layout (https://www.tcpdump.org/manpages/pcap-savefile.5.html and
draft-ietf-opsawg-pcap): a 24-byte file header whose magic number gives the byte
order and timestamp resolution, then records of a 16-byte header (seconds,
fraction, captured length, original length) plus the captured bytes. The file is
read a block at a time (:data:`explorer.capture.records.BLOCK_SIZE`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

from explorer.capture.records import SUPPORTED_LINK_TYPES, ReadState, Record, refill
from explorer.errors import CaptureError

__all__ = ["PCAP_MAGICS", "PcapFile", "iter_pcap"]

# magic as read little-endian -> (byte order prefix, fraction divisor)
PCAP_MAGICS: dict[bytes, tuple[str, float]] = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e6),
    b"\xa1\xb2\xc3\xd4": (">", 1e6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e9),
    b"\xa1\xb2\x3c\x4d": (">", 1e9),
}

_FILE_HEADER = 24
_RECORD_HEADER = 16
# A record larger than this is a corrupt length field, not a packet (libpcap uses 256 KiB).
_MAX_RECORD = 16 * 1024 * 1024


class PcapFile:
    """A pcap file whose first bytes ``head`` were already read, open for one pass.

    :meth:`records` yields its records. A caller may instead walk them itself, reading
    each frame where it lies without a tuple per record (``decode``'s pipeline), by
    following :meth:`records` step by step: from :attr:`data` at :attr:`pos`, a record
    header (:attr:`unpack`: seconds, fraction, captured and original lengths) then the
    frame; :meth:`check` a captured length over :attr:`largest`, :meth:`more` when the buffer ends
    before a header or a frame does, :meth:`progress` now and then, :meth:`finish` at
    the end.

    Raises:
        CaptureError: the header is not pcap or the link type is unsupported (when
            made); a record length is impossible (:meth:`check`). A record cut short by
            the end of the file is not an error: the records before it come out and a
            problem is noted (:meth:`more`).
    """

    def __init__(self, file: BinaryIO, head: bytes, state: ReadState) -> None:
        self.file = file
        self.state = state
        name = state.name
        magic = head[:4]
        if magic not in PCAP_MAGICS:
            raise CaptureError(f"{name} is not a pcap file")
        order, self.divisor = PCAP_MAGICS[magic]
        data = refill(file, head, 0, _FILE_HEADER - len(head))
        if len(data) < _FILE_HEADER:
            raise CaptureError(f"{name} is truncated: the pcap file header is incomplete")
        _major, _minor, _zone, _sigfigs, _snaplen, network = struct.unpack_from(order + "HHiIII", data, 4)
        # The upper bits carry the FCS length (draft-ietf-opsawg-pcap §4); the link type is below.
        self.link_type = network & 0x0FFFFFFF
        if self.link_type not in SUPPORTED_LINK_TYPES:
            raise CaptureError(f"{name} uses link type {self.link_type}, which is not supported")
        self.unpack: Callable[[bytes, int], tuple[int, int, int, int]] = struct.Struct(
            order + "IIII"
        ).unpack_from
        self.largest = _MAX_RECORD  # captured bytes a record may claim; more: see check()
        self.data = data
        self.pos = _FILE_HEADER
        self.base = 0  # file offset of the buffer's first byte

    def records(self) -> Iterator[Record]:
        """Every record, in file order (see :mod:`explorer.capture.records`)."""
        data, pos, unpack, divisor, link_type = self.data, self.pos, self.unpack, self.divisor, self.link_type
        check, more, largest = self.check, self.more, self.largest
        number = 0
        while True:
            at = pos + _RECORD_HEADER
            if at > len(data):
                data = more(data, pos, _RECORD_HEADER, number)
                pos = 0
                if not data:
                    break
                continue
            seconds, fraction, captured, _original = unpack(data, pos)
            if captured > largest:
                check(captured, pos)
            end = at + captured
            if end > len(data):
                data = more(data, pos, end - pos, number)
                pos = 0
                if not data:
                    break
                continue
            number += 1
            if not number & 0x3FF:
                self.progress(number, end)
            yield number, seconds + fraction / divisor, link_type, data, at, end
            pos = end
        self.finish(number, pos)

    def check(self, captured: int, pos: int) -> None:
        """Refuse a record (at ``pos`` in the buffer) that claims an impossible length."""
        if captured > self.largest:
            raise CaptureError(
                f"{self.state.name} is corrupt: the record at byte {self.base + pos} claims "
                f"{captured} captured bytes"
            )

    def more(self, data: bytes, pos: int, need: int, number: int) -> bytes:
        """The buffer from ``pos`` on, with at least ``need`` bytes: the next record's
        header (16) or all of it, after ``number`` records. ``b""`` when the file ends
        first (a problem is noted unless it ends where a record would start)."""
        self.base += pos
        data = refill(self.file, data, pos, need - (len(data) - pos))
        if len(data) >= need:
            return data
        if len(data) >= _RECORD_HEADER:
            self.state.problems.append(
                f"the file is truncated at byte {self.base + len(data)}: frame {number + 1} lacks "
                f"{need - len(data)} of its {need - _RECORD_HEADER} bytes"
            )
        elif data:
            self.state.problems.append(
                f"the file is truncated at byte {self.base + len(data)}: the last record header is incomplete"
            )
        return b""

    def progress(self, number: int, end: int) -> None:
        """Records read and bytes of the file consumed so far (for a progress display)."""
        self.state.frames = number
        self.state.offset = self.base + end

    def finish(self, number: int, pos: int) -> None:
        """The end of the records: their number and the bytes consumed, exact."""
        self.progress(number, pos)


def iter_pcap(file: BinaryIO, head: bytes, state: ReadState) -> Iterator[Record]:
    """The records of a pcap file whose first bytes ``head`` were already read
    (see :class:`PcapFile`)."""
    yield from PcapFile(file, head, state).records()
