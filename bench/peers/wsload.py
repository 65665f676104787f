"""A load generator for MQTT 3.1.1 brokers over WebSocket, cheap enough not to be what is measured.

Why not a client library: paho-mqtt or MQTT.js spend more CPU per message than a fast
broker does, so the broker would look only as fast as the client. Here every frame is
prepared once and stamped in place:

- Client frames carry the mask key 0 (RFC 6455 §5.3 requires a mask; a server cannot
  tell a zero key from any other), so payloads are sent as they are, not XORed.
- A publisher writes batches of pre-built PUBLISH frames with one ``transport.write``;
  each payload starts with the send time (``time.perf_counter_ns``, 8 bytes big
  endian), and subscribers subtract it from the arrival time: the end-to-end latency.
- Subscribers parse WebSocket frames and MQTT packets in one pass per read, and count.
- The publisher keeps at most ``window`` messages unreceived (closed loop), so latency
  measures the broker, not a queue the generator built up.

:func:`wire_ceiling` runs the same publisher and subscribers with the broker replaced by
a socket pair: what the generator itself can do on this machine. :func:`null_sink`
serves WebSocket upgrades and CONNACKs only, the ceiling for the connect scenario.

Only what the benchmark needs is implemented: MQTT 3.1.1, QoS 0 and 1, no TLS.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import struct
import sys
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Link",
    "Result",
    "connect_storm",
    "fan_out",
    "null_sink",
    "open_link",
    "retained_burst",
    "wire_ceiling",
]

PAYLOAD_SIZE = 64
WINDOW = 1000  # messages published but not yet received by every subscriber
BATCH = 50  # PUBLISH frames per write
STALL = 15.0  # seconds without progress before a run is declared stalled
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_now = time.perf_counter_ns


class Stalled(Exception):
    """The broker stopped delivering (dropped messages, or too slow to finish)."""


@dataclass
class Result:
    """One scenario on one broker: a rate and the latency percentiles (milliseconds)."""

    count: int
    seconds: float
    latencies_ns: array[int]
    note: str = ""
    broker_cpu: float | None = None  # CPU seconds the broker process used, when known

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ns:
            return float("nan")
        ordered = sorted(self.latencies_ns)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1e6


# -- packets ---------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


def _utf8(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def client_frame(payload: bytes) -> bytes:
    """A masked binary frame with mask key 0 (RFC 6455 §5.2)."""
    size = len(payload)
    if size < 126:
        head = bytes([0x82, 0x80 | size])
    elif size < 65536:
        head = bytes([0x82, 0x80 | 126]) + struct.pack(">H", size)
    else:
        head = bytes([0x82, 0x80 | 127]) + struct.pack(">Q", size)
    return head + b"\x00\x00\x00\x00" + payload


def server_frame(payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return bytes([0x82, size]) + payload
    if size < 65536:
        return bytes([0x82, 126]) + struct.pack(">H", size) + payload
    return bytes([0x82, 127]) + struct.pack(">Q", size) + payload


def connect_packet(client_id: str, keep_alive: int = 120) -> bytes:
    # MQTT 3.1.1 §3.1: protocol name, level 4, flags 0x02 (clean session).
    return _packet(0x10, _utf8("MQTT") + bytes([4, 0x02]) + struct.pack(">H", keep_alive) + _utf8(client_id))


def subscribe_packet(packet_id: int, topic_filter: str, qos: int) -> bytes:
    return _packet(0x82, struct.pack(">H", packet_id) + _utf8(topic_filter) + bytes([qos]))


DISCONNECT = b"\xe0\x00"


class PublishBatch:
    """``BATCH`` PUBLISH frames in one buffer; only time stamps (and packet ids) change."""

    def __init__(
        self, topic: str, qos: int, retain: bool = False, masked: bool = True, size: int = BATCH
    ) -> None:
        topic_bytes = _utf8(topic)
        header = 0x30 | (qos << 1) | int(retain)
        body_len = len(topic_bytes) + (2 if qos else 0) + PAYLOAD_SIZE
        packet = bytes([header]) + _varint(body_len) + topic_bytes + (b"\x00\x00" if qos else b"")
        self.pid_offset = len(packet) - 2
        payload = bytes(PAYLOAD_SIZE)
        frame = (client_frame if masked else server_frame)(packet + payload)
        prefix = len(frame) - PAYLOAD_SIZE - len(packet)
        self.frame_size = len(frame)
        self.ts_offset = prefix + len(packet)
        self.pid_offset += prefix
        self.qos = qos
        self.size = size
        self.buffer = bytearray(frame * size)
        self.next_pid = 1

    def stamp(self, count: int, topics: list[bytes] | None = None) -> bytes:
        """The first ``count`` frames, time stamped now (and numbered for QoS 1)."""
        stamp = struct.pack(">Q", _now())
        buffer = self.buffer
        size = self.frame_size
        for index in range(count):
            base = index * size
            buffer[base + self.ts_offset : base + self.ts_offset + 8] = stamp
            if self.qos:
                pid = self.next_pid
                self.next_pid = 1 if pid == 65535 else pid + 1
                buffer[base + self.pid_offset : base + self.pid_offset + 2] = pid.to_bytes(2, "big")
        return bytes(memoryview(buffer)[: count * size])


# -- the client ------------------------------------------------------------------------------


class Link(asyncio.Protocol):
    """One WebSocket MQTT client connection: counts PUBLISHes and PUBACKs, records latency."""

    def __init__(self, progress: asyncio.Event, *, upgraded: bool = False, masked: bool = True) -> None:
        self.progress = progress
        self.transport: asyncio.Transport | None = None
        self.upgraded = upgraded
        self.masked = masked
        self.head = b""
        self.ws = b""
        self.mq = b""
        self.received = 0
        self.acked = 0
        self.latencies: array[int] = array("q")
        self.latency_base: int | None = None  # measure from this instant instead of the payload
        self.count_prefix: bytes | None = None  # count only PUBLISHes whose topic starts so
        self.waiters: dict[int, asyncio.Future[bytes]] = {}  # packet type -> next such packet
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        for waiter in self.waiters.values():
            if not waiter.done():
                waiter.set_exception(ConnectionError("connection closed"))
        self.progress.set()

    def expect(self, packet_type: int) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.waiters[packet_type] = future
        return future

    def send(self, mqtt: bytes) -> None:
        assert self.transport is not None
        self.transport.write(client_frame(mqtt) if self.masked else server_frame(mqtt))

    def data_received(self, data: bytes) -> None:
        now = _now()
        if not self.upgraded:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.head[: self.head.find(b"\r\n")]
            data = self.head[end + 4 :]
            self.head = b""
            self.upgraded = True
            waiter = self.waiters.pop(0, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(status)
            if not data:
                return
        buf = self.ws + data if self.ws else data
        size = len(buf)
        pos = 0
        parts = []
        while pos + 2 <= size:
            length = buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if pos + 4 > size:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                start = pos + 4
            elif length == 127:
                if pos + 10 > size:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + length
            if end > size:
                break
            opcode = buf[pos] & 0x0F
            if opcode <= 2:
                parts.append(buf[start:end])
            elif opcode == 9 and self.transport is not None:  # ping: RFC 6455 §5.5.3 pong
                self.transport.write(bytes([0x8A, 0x80 | length]) + b"\x00\x00\x00\x00" + buf[start:end])
            pos = end
        self.ws = buf[pos:] if pos < size else b""
        if not parts:
            return
        mq = self.mq + b"".join(parts) if self.mq else (parts[0] if len(parts) == 1 else b"".join(parts))
        size = len(mq)
        pos = 0
        received = 0
        latencies = self.latencies
        base = self.latency_base
        prefix = self.count_prefix
        acks = []
        while pos + 2 <= size:
            first = mq[pos]
            length = mq[pos + 1]
            start = pos + 2
            if length & 0x80:
                length &= 0x7F
                shift = 7
                while True:
                    if start >= size:
                        length = -1
                        break
                    byte = mq[start]
                    start += 1
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    if byte < 0x80:
                        break
                if length < 0:
                    break
            end = start + length
            if end > size:
                break
            kind = first >> 4
            if kind == 3:
                topic_end = start + 2 + ((mq[start] << 8) | mq[start + 1])
                at = topic_end
                if first & 0x06:
                    acks.append(mq[at : at + 2])
                    at += 2
                if prefix is None or mq.startswith(prefix, start + 2):
                    received += 1
                    if base is None:
                        latencies.append(now - int.from_bytes(mq[at : at + 8], "big"))
                    else:
                        latencies.append(now - base)
            elif kind == 4:
                self.acked += 1
            else:
                waiter = self.waiters.pop(kind, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(mq[pos:end])
            pos = end
        self.mq = mq[pos:] if pos < size else b""
        if acks and self.transport is not None:
            make = client_frame if self.masked else server_frame
            self.transport.write(b"".join(make(b"\x40\x02" + pid) for pid in acks))
        if received:
            self.received += received
        self.progress.set()


def _upgrade_request(host: str, port: int, path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
    ).encode()


async def open_link(host: str, port: int, path: str, client_id: str, progress: asyncio.Event) -> Link:
    """Upgrade, CONNECT, wait for CONNACK.

    One timeout covers the three steps: a timer per step would be the generator's own
    cost in the connect storm, the same for every broker but counted as theirs.
    """
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(STALL):
        _, link = await loop.create_connection(lambda: Link(progress), host, port)
        assert link.transport is not None
        handshake = link.expect(0)
        link.transport.write(_upgrade_request(host, port, path))
        status = await handshake
        if b" 101 " not in status + b" ":
            raise ConnectionError(f"upgrade refused: {status.decode(errors='replace')}")
        connack = link.expect(2)
        link.send(connect_packet(client_id))
        reply = await connack
    if reply[-1] != 0:
        raise ConnectionError(f"CONNACK return code {reply[-1]}")
    return link


async def subscribe(link: Link, topic_filter: str, qos: int) -> None:
    suback = link.expect(9)
    link.send(subscribe_packet(1, topic_filter, qos))
    await asyncio.wait_for(suback, STALL)


async def close_links(links: list[Link]) -> None:
    for link in links:
        if link.transport is not None and not link.transport.is_closing():
            link.send(DISCONNECT)
            link.transport.close()
    for link in links:
        try:
            await asyncio.wait_for(asyncio.shield(link.closed), 5)
        except TimeoutError:
            if link.transport is not None:
                link.transport.abort()


# -- scenarios -------------------------------------------------------------------------------


async def _pump(
    write: Callable[[bytes], None],
    batch: PublishBatch,
    count: int,
    progress: asyncio.Event,
    done: Callable[[], int],
) -> None:
    """Publish ``count`` messages keeping at most WINDOW of them undelivered."""
    sent = 0
    while sent < count:
        room = done() + WINDOW - sent
        if room <= 0:
            progress.clear()
            try:
                await asyncio.wait_for(progress.wait(), STALL)
            except TimeoutError:
                raise Stalled(f"no progress for {STALL:.0f} s after {done()} of {count}") from None
            continue
        chunk = min(room, batch.size, count - sent)
        write(batch.stamp(chunk))
        sent += chunk
    while done() < count:
        progress.clear()
        try:
            await asyncio.wait_for(progress.wait(), STALL)
        except TimeoutError:
            raise Stalled(f"no progress for {STALL:.0f} s after {done()} of {count}") from None


async def fan_out(
    host: str, port: int, path: str, *, subscribers: int, count: int, qos: int, warmup: int = 2000
) -> Result:
    """One publisher, ``subscribers`` subscribers on the same topic; ``count`` messages."""
    progress = asyncio.Event()
    topic = f"bench/fan/{os.getpid()}/{_now()}"
    links: list[Link] = []
    try:
        pub = await open_link(host, port, path, f"pub-{_now()}", progress)
        links.append(pub)
        subs = []
        for index in range(subscribers):
            sub = await open_link(host, port, path, f"sub{index}-{_now()}", progress)
            links.append(sub)
            await subscribe(sub, topic, qos)
            subs.append(sub)
        batch = PublishBatch(topic, qos)
        assert pub.transport is not None
        write = pub.transport.write

        def delivered(base_received: list[int], base_acked: int) -> Callable[[], int]:
            def done() -> int:
                least = min(s.received - b for s, b in zip(subs, base_received, strict=True))
                return min(least, pub.acked - base_acked) if qos else least

            return done

        if warmup:
            await _pump(write, batch, warmup, progress, delivered([s.received for s in subs], pub.acked))
        for sub in subs:
            del sub.latencies[:]
        started = time.perf_counter()
        await _pump(write, batch, count, progress, delivered([s.received for s in subs], pub.acked))
        seconds = time.perf_counter() - started
        latencies = array("q")
        for sub in subs:
            latencies.extend(sub.latencies)
        return Result(count * subscribers, seconds, latencies)
    finally:
        await close_links(links)


async def connect_storm(host: str, port: int, path: str, *, count: int, concurrency: int = 10) -> Result:
    """``count`` connections opened ``concurrency`` at a time: TCP, upgrade, CONNECT/CONNACK.

    The connections stay open until all are made (the broker holds ``count`` clients at
    the end), then are closed outside the timed part.
    """
    progress = asyncio.Event()
    latencies = array("q")
    remaining = iter(range(count))
    links: list[Link] = []

    async def worker() -> None:
        for index in remaining:
            began = _now()
            links.append(await open_link(host, port, path, f"storm{index}-{began}", progress))
            latencies.append(_now() - began)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return Result(count, time.perf_counter() - started, latencies)
    finally:
        await close_links(links)


async def retained_burst(host: str, port: int, path: str, *, count: int) -> Result:
    """Store ``count`` retained messages, then time a late ``#`` subscriber receiving them all."""
    progress = asyncio.Event()
    prefix = f"bench/retained/{_now()}/"
    links: list[Link] = []
    try:
        pub = await open_link(host, port, path, f"rpub-{_now()}", progress)
        links.append(pub)
        assert pub.transport is not None
        # Distinct topics: one frame each, stamped once (the stamp is unused here).
        frames = [client_frame(_retained(prefix, index)) for index in range(count)]
        window = 200
        sent = 0
        while sent < count:
            if sent - pub.acked >= window:
                progress.clear()
                await asyncio.wait_for(progress.wait(), STALL)
                continue
            chunk = min(BATCH, count - sent, window - (sent - pub.acked))
            pub.transport.write(b"".join(frames[sent : sent + chunk]))
            sent += chunk
        while pub.acked < count:
            progress.clear()
            await asyncio.wait_for(progress.wait(), STALL)
        sub = await open_link(host, port, path, f"rsub-{_now()}", progress)
        links.append(sub)
        sub.count_prefix = prefix.encode()
        started = time.perf_counter()
        sub.latency_base = _now()
        await subscribe(sub, "#", 0)
        note = ""
        while sub.received < count:
            progress.clear()
            try:
                await asyncio.wait_for(progress.wait(), STALL)
            except TimeoutError:
                note = f"only {sub.received} of {count} retained messages arrived"
                break
        seconds = time.perf_counter() - started
        return Result(sub.received, seconds, sub.latencies, note)
    finally:
        # Clear what we stored so that the next run starts empty.
        if links and links[0].transport is not None and not links[0].transport.is_closing():
            clear = [client_frame(_packet(0x31, _utf8(f"{prefix}{index}"))) for index in range(count)]
            links[0].transport.write(b"".join(clear))
        await close_links(links)


def _retained(prefix: str, index: int) -> bytes:
    # QoS 1, retained: the PUBACKs tell when the broker has stored every message.
    body = _utf8(f"{prefix}{index}") + struct.pack(">H", index % 65535 + 1) + struct.pack(">Q", _now())
    return _packet(0x33, body + bytes(PAYLOAD_SIZE - 8))


async def wire_ceiling(*, subscribers: int, count: int, qos: int) -> Result:
    """The generator alone: publisher frames go straight to the subscribers' sockets."""
    loop = asyncio.get_running_loop()
    progress = asyncio.Event()
    subs: list[Link] = []
    writers: list[asyncio.Transport] = []
    for _ in range(subscribers):
        near, far = socket.socketpair()
        transport, _ = await loop.create_connection(asyncio.Protocol, sock=near)
        writers.append(transport)
        _, sub = await loop.create_connection(lambda: Link(progress, upgraded=True), sock=far)
        subs.append(sub)
    batch = PublishBatch("bench/fan/wire", qos, masked=False)

    def write(data: bytes) -> None:
        for transport in writers:
            transport.write(data)

    bases = [s.received for s in subs]

    def done() -> int:
        return min(s.received - b for s, b in zip(subs, bases, strict=True))

    started = time.perf_counter()
    await _pump(write, batch, count, progress, done)
    seconds = time.perf_counter() - started
    latencies = array("q")
    for sub in subs:
        latencies.extend(sub.latencies)
    for transport in writers:
        transport.close()
    for sub in subs:
        if sub.transport is not None:
            sub.transport.close()
    return Result(count * subscribers, seconds, latencies)


# -- the null sink ---------------------------------------------------------------------------


class _NullBroker(asyncio.Protocol):
    """Accepts the upgrade, answers CONNECT with CONNACK, ignores everything else."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.head = b""
        self.upgraded = False

    def data_received(self, data: bytes) -> None:
        if self.upgraded:
            if data[:1] == b"\x82" and len(data) > 6 and data[6] == 0x10:
                self.transport.write(server_frame(b"\x20\x02\x00\x00"))
            return
        self.head += data
        if b"\r\n\r\n" not in self.head:
            return
        key = b""
        for line in self.head.split(b"\r\n"):
            if line.lower().startswith(b"sec-websocket-key:"):
                key = line.split(b":", 1)[1].strip()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
        )
        self.upgraded = True
        rest = self.head[self.head.find(b"\r\n\r\n") + 4 :]
        if rest:
            self.data_received(rest)


async def null_sink() -> None:
    """Serve on a free loopback port, print it, run until stdin closes."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_NullBroker, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(null_sink())
