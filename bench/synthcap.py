"""Synthetic MQTT-over-WebSocket captures of any size, written straight to disk.

Each connection: TCP handshake, the HTTP upgrade both ways, CONNECT and CONNACK, then
QoS 0 PUBLISH packets (15-byte topic, 64-byte payload of random bytes, a new one for
every packet), one packet per masked client frame, and a FIN exchange. ``per_segment``
puts each frame in its own TCP segment (a chatty client; about 160 bytes of file per
packet); otherwise client bytes go out in 1448-byte segments (a firehose; about 90
bytes per packet). Connections are interleaved
round robin so that several are open at once. The file is written in pieces: a capture
of a million packets never sits in memory.

Used by ``bench/decode.py`` and by the memory test of ``decode``.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

__all__ = ["PORT", "TOPIC", "write_capture"]

PORT = 8883
TOPIC = "sensors/room/t1"
PAYLOAD = bytes(range(64))
_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 §1.3's example key and answer
_REQUEST = (
    "GET /mqtt HTTP/1.1\r\nHost: bench.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {_KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
).encode()
_RESPONSE = (
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Accept: {_ACCEPT}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
).encode()
_CONNECT = bytes.fromhex("101100044d5154540402003c0005") + b"bench"
_CONNACK = bytes.fromhex("20020000")
_DISCONNECT = bytes.fromhex("e000")
_PUBLISH_HEAD = bytes([0x30, 2 + len(TOPIC) + len(PAYLOAD), 0, len(TOPIC)]) + TOPIC.encode()
_SYN, _ACK, _PSH, _FIN = 0x02, 0x10, 0x08, 0x01
_MSS = 1448


def _frame(payload: bytes, masked: bool) -> bytes:
    """One FIN binary frame (RFC 6455 §5.2), payloads under 126 bytes."""
    if not masked:
        return bytes([0x82, len(payload)]) + payload
    key = os.urandom(4)
    n = len(payload)
    stream = (key * (n // 4 + 1))[:n]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")
    return bytes([0x82, 0x80 | n]) + key + body


class _Conn:
    def __init__(self, number: int) -> None:
        self.client = bytes([10, 0, number >> 8 & 0xFF, number & 0xFF or 1])
        self.server = bytes([10, 255, 0, 1])
        self.port = 40000 + number
        self.seq = {True: 1000 + number, False: 900000 + number}

    def packet(self, from_client: bool, flags: int, payload: bytes = b"") -> bytes:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        sport, dport = (self.port, PORT) if from_client else (PORT, self.port)
        tcp = struct.pack(
            "!HHIIBBHHH",
            sport,
            dport,
            self.seq[from_client],
            self.seq[not from_client],
            5 << 4,
            flags,
            65535,
            0,
            0,
        )
        length = 40 + len(payload)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, 0, 0x4000, 64, 6, 0, src, dst)
        self.seq[from_client] = (
            self.seq[from_client] + len(payload) + (1 if flags & 0x03 else 0)
        ) & 0xFFFFFFFF
        return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + tcp + payload


def write_capture(path: Path, packets: int, *, connections: int = 1, per_segment: bool = True) -> int:
    """Write a pcap file with ``packets`` PUBLISH packets spread over ``connections``;
    return the number of MQTT packets in it (PUBLISH plus CONNECT, CONNACK, DISCONNECT)."""
    conns = [_Conn(i + 1) for i in range(connections)]
    clock = [1_700_000_000_000_000]  # microseconds
    out = bytearray()

    with path.open("wb") as file:
        file.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))

        def emit(frame: bytes) -> None:
            clock[0] += 7
            seconds, micros = divmod(clock[0], 1_000_000)
            out.extend(struct.pack("<IIII", seconds, micros, len(frame), len(frame)))
            out.extend(frame)
            if len(out) > 1 << 20:
                file.write(out)
                out.clear()

        for conn in conns:
            emit(conn.packet(True, _SYN))
            emit(conn.packet(False, _SYN | _ACK))
            emit(conn.packet(True, _ACK))
            emit(conn.packet(True, _PSH | _ACK, _REQUEST))
            emit(conn.packet(False, _PSH | _ACK, _RESPONSE))
            emit(conn.packet(True, _PSH | _ACK, _frame(_CONNECT, True)))
            emit(conn.packet(False, _PSH | _ACK, _frame(_CONNACK, False)))
        share = [packets // connections + (1 if i < packets % connections else 0) for i in range(connections)]
        pending = [bytearray() for _ in conns]
        batch = 64
        remaining = list(share)
        while any(remaining):
            for i, conn in enumerate(conns):
                todo = min(batch, remaining[i])
                remaining[i] -= todo
                for _ in range(todo):
                    frame = _frame(_PUBLISH_HEAD + os.urandom(len(PAYLOAD)), True)
                    if per_segment:
                        emit(conn.packet(True, _PSH | _ACK, frame))
                    else:
                        pending[i] += frame
                        while len(pending[i]) >= _MSS:
                            emit(conn.packet(True, _PSH | _ACK, bytes(pending[i][:_MSS])))
                            del pending[i][:_MSS]
                if not remaining[i] and pending[i]:
                    emit(conn.packet(True, _PSH | _ACK, bytes(pending[i])))
                    pending[i].clear()
        for conn in conns:
            emit(conn.packet(True, _PSH | _ACK, _frame(_DISCONNECT, True)))
            emit(conn.packet(True, _FIN | _ACK))
            emit(conn.packet(False, _FIN | _ACK))
            emit(conn.packet(True, _ACK))
        file.write(out)
    return packets + 3 * connections
