"""pcapng output with synthesized Ethernet/IPv4/TCP framing.

A live session has no packet capture, only the bytes each side sent. To let
Wireshark or tshark open a session, each connection is written as a plausible TCP
conversation: three-way handshake, data segments with true sequence and
acknowledgement numbers and checksums, and a FIN exchange. Nothing here knows about
WebSocket or MQTT; :mod:`explorer.capture.synthesis` decides which bytes each side sent.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["PcapngWriter", "TcpConversationWriter"]

_LINKTYPE_ETHERNET = 1
_TSRESOL_NANOSECONDS = 9
_MSS = 32768  # bytes of payload per synthesized segment (fits IPv4's 16-bit total length)
_MAC_CLIENT = b"\x02\x00\x00\x00\x00\x01"
_MAC_SERVER = b"\x02\x00\x00\x00\x00\x02"
_FIN, _SYN, _PSH, _ACK = 0x01, 0x02, 0x08, 0x10


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class PcapngWriter:
    """One section, one Ethernet interface with nanosecond timestamps, EPB per frame."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
        tsresol = struct.pack("<HHB3x", 9, 1, _TSRESOL_NANOSECONDS) + struct.pack("<HH", 0, 0)
        self._block(0x00000001, struct.pack("<HHI", _LINKTYPE_ETHERNET, 0, 0) + tsresol)

    def _block(self, kind: int, body: bytes) -> None:
        body += b"\x00" * (-len(body) % 4)
        total = len(body) + 12
        self._out.write(struct.pack("<II", kind, total) + body + struct.pack("<I", total))

    def write_frame(self, time: float, frame: bytes) -> None:
        ticks = max(0, round(time * 1e9))
        header = struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame))
        self._block(0x00000006, header + frame)


@dataclass(slots=True)
class _Side:
    address: bytes
    port: int
    mac: bytes
    seq: int


class TcpConversationWriter:
    """Writes one TCP connection's segments as Ethernet/IPv4 or Ethernet/IPv6 frames
    through a :class:`PcapngWriter` (IPv6 when the addresses are IPv6; both sides must
    be of one family)."""

    def __init__(
        self,
        writer: PcapngWriter,
        client: tuple[str, int],
        server: tuple[str, int],
        isn: tuple[int, int] = (0x1000_0000, 0x2000_0000),
    ) -> None:
        self._writer = writer
        client_ip, server_ip = ipaddress.ip_address(client[0]), ipaddress.ip_address(server[0])
        if client_ip.version != server_ip.version:
            raise ValueError(f"{client[0]} and {server[0]} are not of one address family")
        self._ipv6 = server_ip.version == 6
        self._sides = (
            _Side(client_ip.packed, client[1], _MAC_CLIENT, isn[0]),
            _Side(server_ip.packed, server[1], _MAC_SERVER, isn[1]),
        )
        self._ident = 0
        self._open = False

    def _segment(self, time: float, sender: int, flags: int, payload: bytes = b"") -> None:
        src, dst = self._sides[sender], self._sides[1 - sender]
        ack = dst.seq if flags & _ACK else 0
        tcp = struct.pack("!HHIIBBHHH", src.port, dst.port, src.seq, ack, 5 << 4, flags, 65535, 0, 0)
        length = len(tcp) + len(payload)
        if self._ipv6:
            pseudo = src.address + dst.address + struct.pack("!IxxxB", length, 6)  # RFC 8200 §8.1
        else:
            pseudo = src.address + dst.address + struct.pack("!BBH", 0, 6, length)  # RFC 9293 §3.1
        checksum = _checksum(pseudo + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", checksum) + tcp[18:]
        if self._ipv6:
            # RFC 8200 §3: version 6, no traffic class or flow label, next header TCP, hop limit 64
            ip = struct.pack("!IHBB16s16s", 6 << 28, length, 6, 64, src.address, dst.address)
            ether = dst.mac + src.mac + b"\x86\xdd"
        else:
            self._ident = (self._ident + 1) & 0xFFFF
            ip = struct.pack(
                "!BBHHHBBH4s4s", 0x45, 0, 20 + length, self._ident, 0x4000, 64, 6, 0, src.address, dst.address
            )
            ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
            ether = dst.mac + src.mac + b"\x08\x00"
        self._writer.write_frame(time, ether + ip + tcp + payload)
        src.seq = (src.seq + len(payload) + (1 if flags & (_SYN | _FIN) else 0)) % (1 << 32)

    def open(self, time: float) -> None:
        """Three-way handshake (RFC 9293 §3.5), 3 µs before ``time``."""
        self._segment(time - 3e-6, 0, _SYN)
        self._segment(time - 2e-6, 1, _SYN | _ACK)
        self._segment(time - 1e-6, 0, _ACK)
        self._open = True

    def send(self, time: float, sender: int, data: bytes) -> None:
        """``sender`` 0 is the client, 1 the server; large data is cut into several segments."""
        if not self._open:
            self.open(time)
        for start in range(0, len(data), _MSS):
            self._segment(time, sender, _PSH | _ACK, data[start : start + _MSS])

    def close(self, time: float, first: int = 0) -> None:
        """FIN from each side, then the last ACK."""
        if not self._open:
            return
        self._segment(time, first, _FIN | _ACK)
        self._segment(time + 1e-6, 1 - first, _FIN | _ACK)
        self._segment(time + 2e-6, first, _ACK)
        self._open = False
