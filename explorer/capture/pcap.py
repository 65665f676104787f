"""Classic libpcap files: both byte orders, microsecond and nanosecond timestamps.

Layout (https://www.tcpdump.org/manpages/pcap-savefile.5.html and
draft-ietf-opsawg-pcap): a 24-byte file header whose magic number gives the byte
order and timestamp resolution, then records of a 16-byte header (seconds,
fraction, captured length, original length) plus the captured bytes.
"""

from __future__ import annotations

import struct

from explorer.capture.records import SUPPORTED_LINK_TYPES, LinkRecord, RecordSource
from explorer.errors import CaptureError

__all__ = ["PCAP_MAGICS", "read_pcap"]

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


def read_pcap(data: bytes, name: str) -> RecordSource:
    """Parse a whole pcap file already in memory.

    Raises:
        CaptureError: the header is not pcap, the link type is unsupported, or a
            record length is impossible. A record cut short by the end of the file is
            not an error: the records before it are returned with a problem noted.
    """
    magic = data[:4]
    if magic not in PCAP_MAGICS:
        raise CaptureError(f"{name} is not a pcap file")
    order, divisor = PCAP_MAGICS[magic]
    if len(data) < _FILE_HEADER:
        raise CaptureError(f"{name} is truncated: the pcap file header is incomplete")
    _major, _minor, _zone, _sigfigs, _snaplen, network = struct.unpack_from(order + "HHiIII", data, 4)
    # The upper bits carry the FCS length (draft-ietf-opsawg-pcap §4); the link type is below.
    link_type = network & 0x0FFFFFFF
    if link_type not in SUPPORTED_LINK_TYPES:
        raise CaptureError(f"{name} uses link type {link_type}, which is not supported")
    source = RecordSource()
    record_header = struct.Struct(order + "IIII")
    offset = _FILE_HEADER
    number = 0
    while offset < len(data):
        if len(data) - offset < _RECORD_HEADER:
            source.problems.append(
                f"the file is truncated at byte {len(data)}: the last record header is incomplete"
            )
            break
        seconds, fraction, captured, original = record_header.unpack_from(data, offset)
        if captured > _MAX_RECORD:
            raise CaptureError(
                f"{name} is corrupt: the record at byte {offset} claims {captured} captured bytes"
            )
        start = offset + _RECORD_HEADER
        end = start + captured
        number += 1
        if end > len(data):
            source.problems.append(
                f"the file is truncated at byte {len(data)}: frame {number} lacks "
                f"{end - len(data)} of its {captured} bytes"
            )
            break
        source.records.append(
            LinkRecord(number, seconds + fraction / divisor, link_type, data[start:end], original)
        )
        offset = end
    return source
