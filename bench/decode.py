"""End-to-end decoding speed: one MQTT-over-WebSocket connection through ConnectionDecoder.

The stream: the HTTP upgrade (both directions), a CONNECT and a CONNACK, then 200,000
QoS 0 PUBLISH packets (15-byte topic, 64-byte payload), each in its own masked client
frame, fed in 64 KiB reads as a socket would deliver them. Printed beside it, on the
same bytes:

- websockets' own frame parser (``Frame.parse`` over a ``StreamReader``), frames/s;
- ``tshark`` (when installed) on a pcapng of the same connection written here with
  minimal Ethernet/IPv4/TCP framing. The server port is decoded as HTTP, so Wireshark
  follows the upgrade to WebSocket. Wireshark 4.0 registers no dissector for the
  negotiated subprotocol ``mqtt`` (its ``ws.protocol`` table has no MQTT entry and
  allows no Decode As), so a one-line Lua script adds it; timed is
  ``tshark -X lua_script:ws-mqtt.lua -n -r FILE -d tcp.port==P,http -Y mqtt -T fields
  -e mqtt.msgtype``, one run including start-up (CPU time of the child process), and
  packets/s counts the MQTT packets
  it printed. tshark reads each WebSocket message on its own, which is right for this
  stream (one packet per frame) though not in general.

Times are CPU seconds (``time.process_time`` here, ``getrusage`` for tshark): the
machine is shared, and wall-clock figures swing by a factor of two with its load.

Target: >= 500,000 MQTT packets/s end to end for ConnectionDecoder.
"""

from __future__ import annotations

import gc
import os
import resource
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from websockets.frames import Frame
from websockets.streams import StreamReader

from explorer.decoder import ConnectionDecoder
from explorer.model.events import ErrorReported, PacketEvent
from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Connack, Connect, Publish
from explorer.workspace.runtime import GC_GEN0_THRESHOLD
from explorer.ws.framing import OP_BINARY, build_frame
from explorer.ws.handshake import accept_key

COUNT = 200_000
TOPIC = "sensors/room/t1"
PAYLOAD = bytes(range(64))
READ_SIZE = 65536
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
PORT = 8883
TARGET = 500_000

REQUEST = (
    "GET /mqtt HTTP/1.1\r\nHost: bench.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
).encode()
RESPONSE = (
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Accept: {accept_key(KEY)}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
).encode()


def build_streams(count: int = COUNT) -> tuple[bytes, bytes, int]:
    """Client and server bytes, and the offset in the client stream where frames start."""
    publish = encode(Publish(TOPIC, PAYLOAD))
    frames = bytearray(build_frame(OP_BINARY, encode(Connect(client_id="bench")), mask_key=os.urandom(4)))
    for _ in range(count):
        frames += build_frame(OP_BINARY, publish, mask_key=os.urandom(4))
    client = REQUEST + bytes(frames)
    server = RESPONSE + build_frame(OP_BINARY, encode(Connack()))
    return client, server, len(REQUEST)


def _reads(data: bytes) -> list[bytes]:
    return [data[i : i + READ_SIZE] for i in range(0, len(data), READ_SIZE)]


def _best(fn: Callable[[], int], repeat: int = 3) -> tuple[float, int]:
    best = float("inf")
    result = 0
    for _ in range(repeat):
        started = time.process_time()
        result = fn()
        best = min(best, time.process_time() - started)
    return best, result


def time_decoder(client: bytes, server: bytes) -> tuple[float, int]:
    """Seconds and MQTT packets for ConnectionDecoder over both directions."""
    client_reads = _reads(client)
    server_reads = _reads(server)

    def run() -> int:
        decoder = ConnectionDecoder()
        packets = 0
        now = 0.0
        for data in server_reads:
            decoder.receive_data("s2c", data, now)
        for data in client_reads:
            decoder.receive_data("c2s", data, now)
            for event in decoder.events_received():
                if type(event) is PacketEvent:
                    packets += 1
                elif type(event) is ErrorReported:
                    raise AssertionError(event.message)
        for event in decoder.events_received():
            packets += type(event) is PacketEvent
        return packets

    return _best(run)


def time_websockets(frames: bytes) -> tuple[float, int]:
    """Seconds and frames for websockets' Frame.parse over a StreamReader, same reads."""
    reads = _reads(frames)

    def run() -> int:
        reader = StreamReader()
        count = 0
        parser = Frame.parse(reader.read_exact, mask=True)
        for data in reads:
            reader.feed_data(data)
            while True:
                try:
                    next(parser)
                except StopIteration:
                    count += 1
                    parser = Frame.parse(reader.read_exact, mask=True)
                else:
                    break
        return count

    return _best(run)


def write_pcapng(path: Path, client: bytes, server: bytes) -> None:
    """One TCP connection, Ethernet/IPv4/TCP, segments of a typical 1448-byte MSS.

    Small segments matter: Wireshark stops dissecting a frame after a fixed number of
    protocol layers, so a 60 KiB loopback segment holding hundreds of WebSocket frames
    would show only the first few dozen MQTT packets.
    """
    client_addr, server_addr = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    client_port = 50000
    seq = {"c2s": 1000, "s2c": 5000}
    clock = [1_700_000_000_000_000]  # microseconds

    def packet(direction: str, flags: int, payload: bytes = b"") -> bytes:
        src, dst = (client_addr, server_addr) if direction == "c2s" else (server_addr, client_addr)
        sport, dport = (client_port, PORT) if direction == "c2s" else (PORT, client_port)
        other = "s2c" if direction == "c2s" else "c2s"
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq[direction], seq[other], 5 << 4, flags, 65535, 0, 0)
        length = 20 + len(tcp) + len(payload)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, 0, 0x4000, 64, 6, 0, src, dst)
        checksum = 0
        for i in range(0, 20, 2):
            checksum += (ip[i] << 8) | ip[i + 1]
        checksum = (checksum & 0xFFFF) + (checksum >> 16)
        checksum = ~((checksum & 0xFFFF) + (checksum >> 16)) & 0xFFFF
        ip = ip[:10] + struct.pack("!H", checksum) + ip[12:]
        eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
        seq[direction] = (seq[direction] + len(payload) + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF
        return eth + ip + tcp + payload

    def block(kind: int, body: bytes) -> bytes:
        body += b"\x00" * (-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    def epb(frame: bytes) -> bytes:
        clock[0] += 10
        ts = clock[0]
        return block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame)) + frame)

    syn, ack, psh = 0x02, 0x10, 0x08
    out = [
        block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
        block(1, struct.pack("<HHI", 1, 0, 262144)),  # LINKTYPE_ETHERNET
        epb(packet("c2s", syn)),
        epb(packet("s2c", syn | ack)),
        epb(packet("c2s", ack)),
    ]
    segment = 1448
    out.append(epb(packet("c2s", psh | ack, client[: len(REQUEST)])))
    out.append(epb(packet("s2c", psh | ack, server)))
    for i in range(len(REQUEST), len(client), segment):
        out.append(epb(packet("c2s", psh | ack, client[i : i + segment])))
    path.write_bytes(b"".join(out))


def time_tshark(client: bytes, server: bytes) -> tuple[float, int] | None:
    """Seconds and MQTT packets for tshark on a pcapng of the same connection."""
    tshark = shutil.which("tshark")
    if tshark is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "decode-bench.pcapng"
        write_pcapng(path, client, server)
        lua = Path(tmp) / "ws-mqtt.lua"
        lua.write_text('DissectorTable.get("ws.protocol"):add("mqtt", Dissector.get("mqtt"))\n')
        command = [
            tshark,
            "-X",
            f"lua_script:{lua}",
            "-n",
            "-r",
            str(path),
            "-d",
            f"tcp.port=={PORT},http",
            "-Y",
            "mqtt",
            "-T",
            "fields",
            "-e",
            "mqtt.msgtype",
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, capture_output=True, check=False, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        elapsed = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        if done.returncode != 0:
            print(f"tshark failed: {done.stderr.strip()[:300]}")
            return None
        packets = sum(len(line.split(",")) for line in done.stdout.splitlines() if line.strip())
        return elapsed, packets


def main() -> None:
    client, server, frames_at = build_streams()
    size = len(client) + len(server)
    print(f"stream: {size:,} bytes, {COUNT:,} PUBLISH QoS 0 (64-byte payload), one per masked frame")
    print(f"(CPU seconds, best of 3 runs for Python; machine load average {os.getloadavg()[0]:.2f})")

    thresholds = gc.get_threshold()
    seconds, packets = time_decoder(client, server)
    assert packets == COUNT + 2, packets
    default_rate = packets / seconds
    default_seconds = seconds

    # As the entry points run it (explorer.workspace.runtime.tune_gc: the events are acyclic, so a
    # larger first-generation threshold only removes collector overhead).
    gc.set_threshold(GC_GEN0_THRESHOLD, thresholds[1], thresholds[2])
    try:
        seconds, packets = time_decoder(client, server)
    finally:
        gc.set_threshold(*thresholds)
    rate = packets / seconds
    verdict = "meets" if rate >= TARGET else "below"
    print(
        f"ConnectionDecoder       {rate:>12,.0f} MQTT packets/s  ({seconds:.3f} s, both directions, "
        f"gc as the app sets it; {verdict} the {TARGET:,}/s target)"
    )
    print(f"  same, CPython default gc {default_rate:>9,.0f} MQTT packets/s  ({default_seconds:.3f} s)")

    seconds, frames = time_websockets(client[frames_at:])
    assert frames == COUNT + 1, frames
    rate = frames / seconds
    print(f"websockets Frame.parse  {rate:>12,.0f} frames/s        ({seconds:.3f} s, frames only, no MQTT)")

    result = time_tshark(client, server)
    if result is None:
        print("tshark                  not installed or failed: skipped")
    else:
        seconds, tshark_packets = result
        print(
            f"tshark                  {tshark_packets / seconds:>12,.0f} MQTT packets/s  "
            f"({seconds:.3f} s, {tshark_packets:,} packets shown, one run incl. start-up)"
        )


if __name__ == "__main__":
    main()
