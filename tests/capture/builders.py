"""Small, independent writers for capture files used as test input.

Written from the format specifications, separately from ``explorer.capture``'s own
pcapng writer, so reader tests do not check our code against itself.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp(
    sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"", options: bytes = b""
) -> bytes:
    assert len(options) % 4 == 0
    offset = (20 + len(options)) // 4
    header = struct.pack(
        "!HHIIHHHH", sport, dport, seq % 2**32, ack % 2**32, (offset << 12) | flags, 65535, 0, 0
    )
    return header + options + payload


def ipv4(src: str, dst: str, segment: bytes, *, options: bytes = b"", frag: int = 0, proto: int = 6) -> bytes:
    assert len(options) % 4 == 0
    ihl = 5 + len(options) // 4
    total = ihl * 4 + len(segment)
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x40 | ihl,
        0,
        total,
        1,
        frag,
        64,
        proto,
        0,
        ipaddress.IPv4Address(src).packed,
        ipaddress.IPv4Address(dst).packed,
    )
    return header + options + segment


def ipv6(src: str, dst: str, segment: bytes, *, extensions: Sequence[tuple[int, bytes]] = ()) -> bytes:
    """``extensions``: (header type, body) pairs, each body padded to its header's unit."""
    chain = b""
    types = [t for t, _ in extensions] + [6]
    for i, (_kind, body) in enumerate(extensions):
        nxt = types[i + 1]
        if _kind == 44:  # fragment header: fixed 8 bytes
            chain += bytes([nxt, 0]) + body
        else:
            total = 2 + len(body)
            assert total % 8 == 0
            chain += bytes([nxt, total // 8 - 1]) + body
    payload = chain + segment
    header = struct.pack(
        "!IHBB16s16s",
        6 << 28,
        len(payload),
        types[0],
        64,
        ipaddress.IPv6Address(src).packed,
        ipaddress.IPv6Address(dst).packed,
    )
    return header + payload


def ethernet(ip: bytes, *, vlans: Sequence[int] = (), pad_to: int = 0) -> bytes:
    ethertype = 0x0800 if ip[0] >> 4 == 4 else 0x86DD
    frame = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
    for vid in vlans:
        frame += struct.pack("!HH", 0x8100, vid)
    frame += struct.pack("!H", ethertype) + ip
    return frame.ljust(pad_to, b"\x00")


def sll(ip: bytes) -> bytes:
    proto = 0x0800 if ip[0] >> 4 == 4 else 0x86DD
    return struct.pack("!HHH8sH", 0, 772, 6, b"\x00" * 8, proto) + ip


def sll2(ip: bytes) -> bytes:
    proto = 0x0800 if ip[0] >> 4 == 4 else 0x86DD
    return struct.pack("!HHIHBB8s", proto, 0, 1, 772, 0, 6, b"\x00" * 8) + ip


def null(ip: bytes, *, order: str = "<", family6: int = 30) -> bytes:
    family = 2 if ip[0] >> 4 == 4 else family6
    return struct.pack(order + "I", family) + ip


LINK_WRAPPERS: dict[int, Callable[[bytes], bytes]] = {
    1: ethernet,
    101: lambda ip: ip,
    228: lambda ip: ip,
    229: lambda ip: ip,
    113: sll,
    276: sll2,
    0: null,
    108: lambda ip: null(ip, order=">", family6=24),
}


def pcap_file(
    frames: Sequence[tuple[float, bytes]],
    *,
    link_type: int = 1,
    order: str = "<",
    nanoseconds: bool = False,
    snaplen: int = 262144,
) -> bytes:
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    units = 10**9 if nanoseconds else 10**6
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, link_type)]
    for time, data in frames:
        ticks = round(time * units)
        captured = data[:snaplen]
        out.append(
            struct.pack(order + "IIII", ticks // units, ticks % units, len(captured), len(data)) + captured
        )
    return b"".join(out)


def _block(order: str, kind: int, body: bytes) -> bytes:
    body = body + b"\x00" * (-len(body) % 4)
    total = 12 + len(body)
    return struct.pack(order + "II", kind, total) + body + struct.pack(order + "I", total)


def _option(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


@dataclass
class Interface:
    link_type: int = 1
    tsresol: int | None = None  # raw if_tsresol byte
    tsoffset: int | None = None


@dataclass
class Packet:
    time: float
    data: bytes
    interface: int = 0
    kind: str = "epb"  # "epb", "spb", "opb"


def pcapng_section(
    interfaces: Sequence[Interface],
    packets: Sequence[Packet],
    *,
    order: str = "<",
    extra_blocks: Sequence[tuple[int, bytes]] = (),
) -> bytes:
    out = _block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    for kind, body in extra_blocks:
        out += _block(order, kind, body)
    for iface in interfaces:
        options = b""
        if iface.tsresol is not None:
            options += _option(order, 9, bytes([iface.tsresol]))
        if iface.tsoffset is not None:
            options += _option(order, 14, struct.pack(order + "q", iface.tsoffset))
        if options:
            options += _option(order, 0, b"")
        out += _block(order, 1, struct.pack(order + "HHI", iface.link_type, 0, 0) + options)
    for packet in packets:
        iface = interfaces[packet.interface]
        if iface.tsresol is None:
            units = 10**6
        elif iface.tsresol & 0x80:
            units = 2 ** (iface.tsresol & 0x7F)
        else:
            units = 10**iface.tsresol
        ticks = round((packet.time - (iface.tsoffset or 0)) * units)
        high, low = ticks >> 32, ticks & 0xFFFFFFFF
        n = len(packet.data)
        if packet.kind == "epb":
            body = struct.pack(order + "IIIII", packet.interface, high, low, n, n) + packet.data
            out += _block(order, 6, body)
        elif packet.kind == "opb":
            body = struct.pack(order + "HHIIII", packet.interface, 0, high, low, n, n) + packet.data
            out += _block(order, 2, body)
        else:
            out += _block(order, 3, struct.pack(order + "I", n) + packet.data)
    return out


class Conversation:
    """Builds the IP packets of one TCP connection with real sequence numbers.

    ``send(side, data)`` returns a segment and advances that side's sequence number;
    tests then reorder, duplicate or drop the returned packets.
    """

    def __init__(
        self,
        client: tuple[str, int] = ("10.0.0.1", 50000),
        server: tuple[str, int] = ("10.0.0.2", 1883),
        *,
        isn: tuple[int, int] = (1000, 5000),
        v6: bool = False,
    ) -> None:
        self.ends = (client, server)
        self.next = [isn[0], isn[1]]
        self.v6 = v6

    def packet(self, side: int, seq: int, flags: int, payload: bytes = b"", ack: int | None = None) -> bytes:
        (src, sport), (dst, dport) = self.ends[side], self.ends[1 - side]
        ack_value = self.next[1 - side] if ack is None else ack
        segment = tcp(sport, dport, seq, ack_value, flags, payload)
        return ipv6(src, dst, segment) if self.v6 else ipv4(src, dst, segment)

    def handshake(self) -> list[bytes]:
        c_isn, s_isn = self.next
        out = [
            self.packet(0, c_isn, SYN, ack=0),
            self.packet(1, s_isn, SYN | ACK, ack=c_isn + 1),
        ]
        self.next = [c_isn + 1, s_isn + 1]
        out.append(self.packet(0, self.next[0], ACK))
        return out

    def send(self, side: int, data: bytes, flags: int = PSH | ACK) -> bytes:
        pkt = self.packet(side, self.next[side], flags, data)
        self.next[side] += len(data) + (1 if flags & FIN else 0)
        return pkt

    def fin(self, side: int) -> bytes:
        return self.send(side, b"", FIN | ACK)


def timed(
    packets: Sequence[bytes], wrap: Callable[[bytes], bytes] | None = None, start: float = 1000.0
) -> list[tuple[float, bytes]]:
    """Give packets increasing timestamps 1 ms apart (optionally wrapping each in a link header)."""
    return [(start + i / 1000, wrap(p) if wrap else p) for i, p in enumerate(packets)]
