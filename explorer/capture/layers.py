"""From a captured frame to a TCP segment: link layer, IPv4/IPv6, TCP header.

Only what reassembly needs is kept (addresses, ports, sequence and acknowledgement
numbers, flags, payload). Frames that are not TCP over IP are skipped silently;
frames that are TCP but cannot be used (IP fragments, damaged headers) produce a
problem sentence so the user knows bytes are missing.
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from dataclasses import dataclass

from explorer.capture.records import LinkRecord

__all__ = ["TCP_ACK", "TCP_FIN", "TCP_RST", "TCP_SYN", "TcpSegment", "parse_frame"]

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_ACK = 0x10

_ETHERTYPE_IPV4 = 0x0800
_ETHERTYPE_IPV6 = 0x86DD
_VLAN_TAGS = (0x8100, 0x88A8, 0x9100)  # 802.1Q, 802.1ad and the old QinQ value
_IPPROTO_TCP = 6
# IPv6 extension headers that use the generic (next, length in 8-octet units - 1) layout.
_IPV6_EXTENSIONS = {0, 43, 60, 135, 139, 140}
_IPV6_FRAGMENT = 44
_IPV6_AH = 51
# BSD loopback address families for IPv6 differ per OS (NetBSD 24, FreeBSD 28, Darwin 30).
_AF_INET = 2
_AF_INET6 = {10, 24, 28, 30}


@functools.lru_cache(maxsize=4096)
def _ipv4_text(packed: bytes) -> str:
    return str(ipaddress.IPv4Address(packed))


@functools.lru_cache(maxsize=4096)
def _ipv6_text(packed: bytes) -> str:
    return str(ipaddress.IPv6Address(packed))


@dataclass(slots=True, frozen=True)
class TcpSegment:
    """The parts of one TCP segment that reassembly uses."""

    number: int
    time: float
    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    ack: int
    flags: int
    payload: bytes
    truncated: bool = False  # the capture holds fewer payload bytes than were sent


def _network_layer(record: LinkRecord) -> tuple[int, bytes] | None:
    """Return (ethertype, bytes after the link header), or None for non-IP frames."""
    data = record.data
    link = record.link_type
    if link == 1:
        if len(data) < 14:
            return None
        (ethertype,) = struct.unpack_from("!H", data, 12)
        offset = 14
        while ethertype in _VLAN_TAGS and len(data) >= offset + 4:
            (ethertype,) = struct.unpack_from("!H", data, offset + 2)
            offset += 4
        return ethertype, data[offset:]
    if link in (101, 228, 229):
        if not data:
            return None
        version = data[0] >> 4
        return (_ETHERTYPE_IPV4 if version == 4 else _ETHERTYPE_IPV6 if version == 6 else 0), data
    if link == 113:
        if len(data) < 16:
            return None
        return struct.unpack_from("!H", data, 14)[0], data[16:]
    if link == 276:
        if len(data) < 20:
            return None
        return struct.unpack_from("!H", data, 0)[0], data[20:]
    if link in (0, 108):
        if len(data) < 4:
            return None
        # NULL stores the family in the capturing host's byte order; LOOP in network order.
        family = int.from_bytes(data[:4], "big" if link == 108 else "little")
        if family > 0xFFFF:
            family = int.from_bytes(data[:4], "big")
        if family == _AF_INET:
            return _ETHERTYPE_IPV4, data[4:]
        if family in _AF_INET6:
            return _ETHERTYPE_IPV6, data[4:]
        return None
    return None


def parse_frame(record: LinkRecord, problems: list[str]) -> TcpSegment | None:
    """Decode a frame down to TCP; append a sentence to ``problems`` for unusable TCP frames."""
    found = _network_layer(record)
    if found is None:
        return None
    ethertype, ip = found
    frame = record.number
    truncated = False
    if ethertype == _ETHERTYPE_IPV4:
        if len(ip) < 20 or ip[0] >> 4 != 4:
            return None
        header_length = (ip[0] & 0x0F) * 4  # options included (RFC 791 §3.1)
        (total_length, _ident, frag, _ttl, proto) = struct.unpack_from("!HHHBB", ip, 2)
        if proto != _IPPROTO_TCP:
            return None
        if frag & 0x3FFF:  # More Fragments set or a non-zero fragment offset
            problems.append(f"frame {frame}: IPv4 fragment not reassembled; its bytes are missing")
            return None
        if header_length < 20 or total_length < header_length:
            problems.append(f"frame {frame}: damaged IPv4 header")
            return None
        if total_length > len(ip):
            truncated = True
        # Trim link-layer padding (short Ethernet frames) using the IP length.
        src = _ipv4_text(ip[12:16])
        dst = _ipv4_text(ip[16:20])
        tcp = ip[header_length:total_length]
    elif ethertype == _ETHERTYPE_IPV6:
        if len(ip) < 40 or ip[0] >> 4 != 6:
            return None
        (payload_length, next_header) = struct.unpack_from("!HB", ip, 4)
        src = _ipv6_text(ip[8:24])
        dst = _ipv6_text(ip[24:40])
        end = 40 + payload_length
        if end > len(ip):
            truncated = True
        offset = 40
        while next_header != _IPPROTO_TCP:
            if len(ip) < offset + 8:
                return None
            if next_header in _IPV6_EXTENSIONS:
                next_header, length = ip[offset], (ip[offset + 1] + 1) * 8
            elif next_header == _IPV6_AH:
                next_header, length = ip[offset], (ip[offset + 1] + 2) * 4  # RFC 4302 §2.2
            elif next_header == _IPV6_FRAGMENT:
                (frag,) = struct.unpack_from("!H", ip, offset + 2)
                if frag & 0xFFF9:  # offset or More Fragments: a real fragment (RFC 8200 §4.5)
                    if ip[offset] == _IPPROTO_TCP:
                        problems.append(
                            f"frame {frame}: IPv6 fragment not reassembled; its bytes are missing"
                        )
                    return None
                next_header, length = ip[offset], 8  # an atomic fragment carries the whole packet
            else:
                return None
            offset += length
        tcp = ip[offset:end]
    else:
        return None
    if len(tcp) < 20:
        if truncated:
            problems.append(f"frame {frame}: the capture cut the TCP header (snap length)")
        return None
    sport, dport, seq, ack, offset_flags = struct.unpack_from("!HHIIH", tcp, 0)
    data_offset = (offset_flags >> 12) * 4
    if data_offset < 20 or data_offset > len(tcp):
        if truncated:
            problems.append(f"frame {frame}: the capture cut the TCP header (snap length)")
        else:
            problems.append(f"frame {frame}: damaged TCP header")
        return None
    return TcpSegment(
        number=frame,
        time=record.time,
        src=src,
        sport=sport,
        dst=dst,
        dport=dport,
        seq=seq,
        ack=ack,
        flags=offset_flags & 0x3F,
        payload=tcp[data_offset:],
        truncated=truncated,
    )
