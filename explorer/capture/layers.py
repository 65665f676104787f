"""From a captured frame to a TCP segment: link layer, IPv4/IPv6, TCP header.

Only what reassembly needs is kept (addresses, ports, sequence and acknowledgement
numbers, flags, payload). Frames that are not TCP over IP are skipped silently;
frames that are TCP but cannot be used (IPv6 fragments, damaged headers) produce a
problem sentence so the user knows bytes are missing.

IPv4 fragments are reassembled (RFC 791 §3.2, RFC 815): the fragments of one
datagram (source, destination, protocol, identification) are kept until the last one
completes it. The datagram counts as arriving with its last fragment. Memory stays
bounded: a datagram still incomplete after :data:`FRAGMENT_TIMEOUT` seconds of capture
time, or when more than :data:`MAX_DATAGRAMS` wait at once, is dropped and reported.
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from typing import NamedTuple

__all__ = [
    "FRAGMENT_TIMEOUT",
    "MAX_DATAGRAMS",
    "TCP_ACK",
    "TCP_FIN",
    "TCP_RST",
    "TCP_SYN",
    "FrameParser",
    "TcpSegment",
]

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

FRAGMENT_TIMEOUT = 30.0  # seconds of capture time a datagram waits for its fragments
MAX_DATAGRAMS = 256  # incomplete datagrams kept at once
_MAX_DATAGRAM = 65535  # RFC 791 §3.1: Total Length is 16 bits
_ipv4_header = struct.Struct("!HHHBB").unpack_from
_tcp_header = struct.Struct("!HHIIH").unpack_from


@functools.lru_cache(maxsize=4096)
def _ipv4_text(packed: bytes) -> str:
    return str(ipaddress.IPv4Address(packed))


@functools.lru_cache(maxsize=4096)
def _ipv6_text(packed: bytes) -> str:
    return str(ipaddress.IPv6Address(packed))


class TcpSegment(NamedTuple):
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


def _network_layer(link: int, data: bytes) -> tuple[int, bytes] | None:
    """Return (ethertype, bytes after the link header), or None for non-IP frames."""
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


class _Datagram:
    """The fragments of one IPv4 datagram seen so far."""

    __slots__ = ("first_frame", "first_time", "header", "pieces", "total")

    def __init__(self, frame: int, time: float) -> None:
        self.first_frame = frame
        self.first_time = time
        self.header = b""  # the first fragment's header, with its options
        self.pieces: dict[int, bytes] = {}  # fragment offset in bytes -> data
        self.total: int | None = None  # length of the data, known from the last fragment

    def complete(self) -> bytes | None:
        if self.total is None or not self.header:
            return None
        have = 0
        for start in sorted(self.pieces):
            if start > have:
                return None
            have = max(have, start + len(self.pieces[start]))
        if have < self.total:
            return None
        data = bytearray(self.total)
        for start in sorted(self.pieces):  # the first copy of overlapping bytes wins below
            piece = self.pieces[start][: max(0, self.total - start)]
            data[start : start + len(piece)] = piece
        return bytes(data)


class FrameParser:
    """Frames -> TCP segments, reassembling IPv4 fragments on the way (see the module doc).

    ``problems`` receives a sentence for every TCP frame that cannot be used.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self._datagrams: dict[bytes, _Datagram] = {}
        self._done: dict[bytes, float] = {}  # datagrams completed lately: a late copy is no news

    def parse(self, number: int, time: float, link: int, data: bytes) -> TcpSegment | None:
        """Decode a frame down to TCP; None for anything else (or a fragment still waiting)."""
        if link == 1 and len(data) >= 34 and data[12:14] == b"\x08\x00":
            ip = data[14:]  # the common case first: Ethernet, IPv4, no VLAN tag
            ethertype = _ETHERTYPE_IPV4
        else:
            found = _network_layer(link, data)
            if found is None:
                return None
            ethertype, ip = found
        problems = self.problems
        truncated = False
        if ethertype == _ETHERTYPE_IPV4:
            if len(ip) < 20 or ip[0] >> 4 != 4:
                return None
            header_length = (ip[0] & 0x0F) * 4  # options included (RFC 791 §3.1)
            (total_length, _ident, frag, _ttl, proto) = _ipv4_header(ip, 2)
            if proto != _IPPROTO_TCP:
                return None
            if header_length < 20 or total_length < header_length:
                problems.append(f"frame {number}: damaged IPv4 header")
                return None
            if frag & 0x3FFF:  # More Fragments set or a non-zero fragment offset
                whole = self._fragment(number, time, ip, header_length)
                if whole is None:
                    return None
                ip = whole
                header_length = (ip[0] & 0x0F) * 4
                total_length = len(ip)
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
                                f"frame {number}: IPv6 fragment not reassembled; its bytes are missing"
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
                problems.append(f"frame {number}: the capture cut the TCP header (snap length)")
            return None
        sport, dport, seq, ack, offset_flags = _tcp_header(tcp, 0)
        data_offset = (offset_flags >> 12) * 4
        if data_offset < 20 or data_offset > len(tcp):
            if truncated:
                problems.append(f"frame {number}: the capture cut the TCP header (snap length)")
            else:
                problems.append(f"frame {number}: damaged TCP header")
            return None
        return TcpSegment(
            number, time, src, sport, dst, dport, seq, ack, offset_flags & 0x3F, tcp[data_offset:], truncated
        )

    def _fragment(self, number: int, time: float, ip: bytes, header_length: int) -> bytes | None:
        """Keep one fragment; return the whole datagram (header + data) once complete."""
        (total_length, ident, frag) = struct.unpack_from("!HHH", ip, 2)
        self._expire(time)
        key = ip[12:20] + ident.to_bytes(2, "big")
        datagram = self._datagrams.get(key)
        if datagram is None:
            done = self._done.get(key)
            if done is not None and time - done <= FRAGMENT_TIMEOUT:
                return None  # a duplicate of a fragment already used

            if len(self._datagrams) >= MAX_DATAGRAMS:
                oldest = next(iter(self._datagrams))
                self._drop(oldest)
            datagram = self._datagrams[key] = _Datagram(number, time)
        start = (frag & 0x1FFF) * 8  # RFC 791 §3.1: Fragment Offset in units of 8 octets
        piece = ip[header_length:total_length]
        if start + len(piece) > _MAX_DATAGRAM:
            self.problems.append(f"frame {number}: IPv4 fragment beyond 65,535 bytes; its bytes are missing")
            return None
        datagram.pieces.setdefault(start, piece)
        if start == 0:
            datagram.header = ip[:header_length]
        if not frag & 0x2000:  # the last fragment (More Fragments clear)
            datagram.total = start + len(piece)
        whole = datagram.complete()
        if whole is None:
            return None
        del self._datagrams[key]
        self._done[key] = time
        if len(self._done) > MAX_DATAGRAMS:
            del self._done[next(iter(self._done))]
        header = bytearray(datagram.header)
        length = len(header) + len(whole)
        header[2:4] = length.to_bytes(2, "big")
        header[6:8] = b"\x00\x00"
        return bytes(header) + whole

    def _expire(self, now: float) -> None:
        while self._datagrams:
            key, oldest = next(iter(self._datagrams.items()))
            if now - oldest.first_time <= FRAGMENT_TIMEOUT:
                return
            self._drop(key)

    def _drop(self, key: bytes, why: str = "") -> None:
        datagram = self._datagrams.pop(key, None)
        if datagram is not None:
            why = why or (
                f"frame {datagram.first_frame}: IPv4 fragment of a datagram that never completed; "
                "its bytes are missing"
            )
            self.problems.append(why)

    def finish(self) -> None:
        """End of capture: datagrams still missing fragments are reported."""
        for key in list(self._datagrams):
            self._drop(key)
