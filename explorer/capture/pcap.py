"""Classic libpcap files: both byte orders, microsecond and nanosecond timestamps.

Layout (https://www.tcpdump.org/manpages/pcap-savefile.5.html and
draft-ietf-opsawg-pcap): a 24-byte file header whose magic number gives the byte
order and timestamp resolution, then records of a 16-byte header (seconds,
fraction, captured length, original length) plus the captured bytes. The file is
read a block at a time (:data:`explorer.capture.records.BLOCK_SIZE`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from explorer.capture.records import SUPPORTED_LINK_TYPES, ReadState, Record, refill
from explorer.errors import CaptureError

__all__ = ["PCAP_MAGICS", "iter_pcap"]

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


def iter_pcap(file: BinaryIO, head: bytes, state: ReadState) -> Iterator[Record]:
    """The records of a pcap file whose first bytes ``head`` were already read.

    Raises:
        CaptureError: the header is not pcap, the link type is unsupported, or a
            record length is impossible. A record cut short by the end of the file is
            not an error: the records before it come out and a problem is noted.
    """
    name = state.name
    magic = head[:4]
    if magic not in PCAP_MAGICS:
        raise CaptureError(f"{name} is not a pcap file")
    order, divisor = PCAP_MAGICS[magic]
    data = refill(file, head, 0, _FILE_HEADER - len(head))
    if len(data) < _FILE_HEADER:
        raise CaptureError(f"{name} is truncated: the pcap file header is incomplete")
    _major, _minor, _zone, _sigfigs, _snaplen, network = struct.unpack_from(order + "HHiIII", data, 4)
    # The upper bits carry the FCS length (draft-ietf-opsawg-pcap §4); the link type is below.
    link_type = network & 0x0FFFFFFF
    if link_type not in SUPPORTED_LINK_TYPES:
        raise CaptureError(f"{name} uses link type {link_type}, which is not supported")
    unpack = struct.Struct(order + "IIII").unpack_from
    pos = _FILE_HEADER
    base = 0  # file offset of data[0]
    number = 0
    while True:
        size = len(data)
        if size - pos < _RECORD_HEADER:
            base += pos
            data = refill(file, data, pos, _RECORD_HEADER)
            pos = 0
            size = len(data)
            if size == 0:
                break
            if size < _RECORD_HEADER:
                state.problems.append(
                    f"the file is truncated at byte {base + size}: the last record header is incomplete"
                )
                break
        seconds, fraction, captured, _original = unpack(data, pos)
        if captured > _MAX_RECORD:
            raise CaptureError(
                f"{name} is corrupt: the record at byte {base + pos} claims {captured} captured bytes"
            )
        end = pos + _RECORD_HEADER + captured
        if end > size:
            base += pos
            data = refill(file, data, pos, end - size)
            end -= pos
            pos = 0
            if end > len(data):
                state.problems.append(
                    f"the file is truncated at byte {base + len(data)}: frame {number + 1} lacks "
                    f"{end - len(data)} of its {captured} bytes"
                )
                break
        number += 1
        if not number & 0x3FF:  # for a progress display; exact at the end
            state.frames = number
            state.offset = base + end
        yield number, seconds + fraction / divisor, link_type, data, pos + _RECORD_HEADER, end
        pos = end
    state.frames = number
    state.offset = base + pos
