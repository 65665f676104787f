"""Headless ingest: a firehose of PUBLISH packets into a Workspace, no sockets.

Two measurements on the same synthesized server bytes:

1. **decoder path** (the headline, run over the full 1,000,000 messages): every server
   chunk goes through the ``ConnectionDecoder`` the live client uses (frame and packet
   trace events) and each decoded QoS 0 PUBLISH becomes a ``MessageReceived`` as the
   session makes it; every event goes to ``Workspace.ingest`` (trace buffer, topic
   tree, per-topic history, batch fan-out), with one ``events()`` subscriber draining
   batches as a view would. Peak RSS is measured after this run.
2. **full client receive path** (on a fresh Workspace, fewer messages): the same, plus
   the MQTT ``Session`` turning the packets the decoder made into ``MessageArrived``,
   exactly as ``MqttClient`` receives (``explorer.client.trace.ConnectionTrace``: each
   byte is parsed once, by the decoder, whose packets go to the session and whose
   notable frames to the WebSocket transport; websockets only does the upgrade).

The stream: the HTTP upgrade, CONNECT/CONNACK, then 1,000,000 QoS 0 PUBLISH packets
spread round-robin over 100,000 topics (``bench/NNN/NN/sN``, numeric payloads), one per
unmasked server frame, delivered in 64 KiB reads. Chunks are synthesized outside the
timed sections; the rate counts only the time spent in the client path and the
Workspace. Peak RSS is the process's maximum resident set (``ru_maxrss``).

Payload codecs are on: ``Workspace.ingest`` hands each ``spBv1.0/`` message to the payload
decoder as it arrives (Sparkplug B state needs every message in order) after a prefix test
that every message pays; other payloads are decoded only when a view shows them
(``python -m bench codecs`` gives those decode rates).

Targets: >= 50,000 messages/s sustained, RSS < 300 MB.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import struct
import sys
import time

from websockets.client import ClientProtocol
from websockets.uri import parse_uri

from explorer.client.options import ConnectionOptions
from explorer.client.trace import ConnectionTrace
from explorer.decoder import ConnectionDecoder
from explorer.gcpolicy import tune_gc
from explorer.model.events import MessageReceived, PacketEvent
from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Connack, Publish
from explorer.session.events import MessageArrived
from explorer.session.state import Session
from explorer.workspace import Workspace
from explorer.ws.framing import OP_BINARY, build_frame

MESSAGES = 1_000_000
TOPICS = 100_000
READ_SIZE = 65536
BATCH = 1_000  # messages synthesized per chunk group
RSS_TARGET_MB = 300
RATE_TARGET = 50_000
FULL_MESSAGES = 200_000


def _topic(index: int) -> str:
    return f"bench/{index // 1000:03d}/{index // 10 % 100:02d}/s{index % 10}"


def _frame(packet: bytes) -> bytes:
    """An unmasked binary server frame (RFC 6455 §5.2)."""
    size = len(packet)
    if size < 126:
        return bytes((0x82, size)) + packet
    return bytes((0x82, 126)) + struct.pack("!H", size) + packet


class ClientPath:
    """The receive side of ``MqttClient`` without the socket: the decoder and the session.

    With ``full=False`` only the decoder runs, and messages are made from its PUBLISH
    packet events (for QoS 0 without topic aliases that is all the session does).
    """

    def __init__(self, workspace: Workspace, *, full: bool = True) -> None:
        self.workspace = workspace
        self.full = full
        self.options = ConnectionOptions(url="ws://bench.test:8080/mqtt", client_id="bench")
        # The full path traces through a ConnectionTrace (whose decoder hands the server's
        # packets to the session); the decoder path through a bare decoder.
        self.trace = ConnectionTrace(
            0, self.options, next_seq=self._next_seq, emit=workspace.ingest, clock=time.monotonic
        )
        self.decoder = (
            self.trace.decoder
            if full
            else ConnectionDecoder(0, websocket=True, mqtt_version=self.options.mqtt_version)
        )
        self.protocol = ClientProtocol(parse_uri(self.options.url), subprotocols=None, max_size=None)
        self.session = Session(self.options)
        self.seq = 0
        self.decode_cpu = 0.0  # CPU seconds spent in the decoder (decoder path only)

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def handshake(self) -> None:
        request = self.protocol.connect()
        self.protocol.send_request(request)
        sent = b"".join(self.protocol.data_to_send())
        self._trace("c2s", sent)
        from websockets.utils import accept_key

        key = request.headers["Sec-WebSocket-Key"]
        response = (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
        ).encode()
        self._trace("s2c", response)
        self.protocol.receive_data(response)  # websockets sees the response head, no frame
        if self.protocol.handshake_exc is not None:
            raise RuntimeError(f"the upgrade failed: {self.protocol.handshake_exc}")
        self.session.send_connect()
        self._trace("c2s", build_frame(OP_BINARY, self.session.data_to_send(), mask_key=os.urandom(4)))
        connack = _frame(encode(Connack()))
        if not self.full:
            self._trace("s2c", connack)  # the decoder path has no session
            return
        self._receive_full(connack)
        if self.session.state.name != "CONNECTED":
            raise RuntimeError(f"the session did not connect: {self.session.events_received()}")

    def _trace(self, direction: str, data: bytes) -> None:
        if self.full:
            self.trace.tap(direction, data)  # type: ignore[arg-type]
            return
        ingest = self.workspace.ingest
        self.decoder.receive_data(direction, data, time.monotonic())  # type: ignore[arg-type]
        for event in self.decoder.events_received():
            ingest(event)

    def receive(self, data: bytes) -> None:
        """One socket read of the firehose."""
        if self.full:
            self._receive_full(data)
        else:
            self._decoder_only(data)

    def _receive_full(self, data: bytes) -> None:
        """One socket read, as ``WebSocketTransport`` + ``MqttClient`` handle it."""
        trace = self.trace
        trace.tap("s2c", data)
        if trace.frames:
            raise RuntimeError("a firehose of binary frames gave frames for the transport")
        session = self.session
        trace.deliver(session)
        ingest = self.workspace.ingest
        now = time.monotonic()
        for event in session.events_received():
            if type(event) is MessageArrived:
                publish = event.publish
                ingest(
                    MessageReceived(
                        seq=self._next_seq(),
                        time=now,
                        conn=0,
                        topic=publish.topic,
                        payload=publish.payload,
                        qos=publish.qos,
                        retain=publish.retain,
                        packet=publish,
                    )
                )
        session.data_to_send()

    def _decoder_only(self, data: bytes) -> None:
        ingest = self.workspace.ingest
        decoder = self.decoder
        began = time.process_time()
        decoder.receive_data("s2c", data, time.monotonic())
        events = decoder.events_received()
        now = time.monotonic()
        self.decode_cpu += time.process_time() - began
        for event in events:
            ingest(event)
            if type(event) is PacketEvent and type(event.packet) is Publish:
                publish = event.packet
                ingest(
                    MessageReceived(
                        seq=self._next_seq(),
                        time=now,
                        conn=0,
                        topic=publish.topic,
                        payload=publish.payload,
                        qos=publish.qos,
                        retain=publish.retain,
                        packet=publish,
                    )
                )


def _chunks(start: int, prefixes: list[bytes]) -> list[bytes]:
    """``BATCH`` PUBLISH frames from message ``start``, cut into socket-sized reads."""
    out = bytearray()
    for number in range(start, start + BATCH):
        prefix = prefixes[number % TOPICS]
        payload = b"%d.%d" % (number % 1000, number % 7)
        body = prefix + payload
        out += bytes((0x82, len(body) + 2, 0x30, len(body))) + body
    data = bytes(out)
    return [data[i : i + READ_SIZE] for i in range(0, len(data), READ_SIZE)]


async def _drain(workspace: Workspace, counts: list[int]) -> None:
    async for batch in workspace.events(max_rate_hz=20):
        counts[0] += 1
        counts[1] += len(batch.messages)


async def run(messages: int = MESSAGES, *, full: bool = False) -> dict[str, float]:
    workspace = Workspace()
    counts = [0, 0]
    viewer = asyncio.create_task(_drain(workspace, counts))
    await asyncio.sleep(0)
    path = ClientPath(workspace, full=full)
    path.handshake()
    prefixes = []
    for index in range(TOPICS):
        topic = _topic(index).encode()
        prefixes.append(struct.pack("!H", len(topic)) + topic)
    assert all(len(p) + 8 < 126 for p in prefixes)  # one-byte lengths in _chunks
    gc.collect()
    busy = 0.0
    cpu = 0.0
    window_busy = 0.0
    window_rates: list[float] = []
    for start in range(0, messages, BATCH):
        chunks = _chunks(start, prefixes)
        began = time.perf_counter()
        began_cpu = time.process_time()
        for chunk in chunks:
            path.receive(chunk)
        spent = time.perf_counter() - began
        cpu += time.process_time() - began_cpu
        busy += spent
        window_busy += spent
        if (start + BATCH) % 100_000 == 0:
            window_rates.append(100_000 / window_busy)
            window_busy = 0.0
            await asyncio.sleep(0)  # let the viewer take a batch, as the event loop would
    await asyncio.sleep(0)
    status = workspace.status
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    await workspace.close()
    await viewer
    return {
        "messages": workspace.tree.message_count,
        "topics": workspace.tree.topic_count,
        "rate": messages / busy,
        "cpu_rate": messages / cpu,
        "decoder_us": path.decode_cpu / messages * 1e6,
        "workspace_us": (cpu - path.decode_cpu) / messages * 1e6,
        "slowest_window": min(window_rates) if window_rates else messages / busy,
        "rss_mb": rss_mb,
        "trace_events": status.trace_size,
        "trace_dropped": status.dropped_events,
        "batches": counts[0],
    }


def main() -> None:
    tune_gc()  # the collector's thresholds as the headless commands set them (the Workspace sets none)
    messages = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else MESSAGES
    result = asyncio.run(run(messages))
    rate_ok = "ok" if result["rate"] >= RATE_TARGET else "BELOW TARGET"
    rss_ok = "ok" if result["rss_mb"] < RSS_TARGET_MB else "ABOVE TARGET"
    count, topics = int(result["messages"]), int(result["topics"])
    rate, slowest, cpu_rate = result["rate"], result["slowest_window"], result["cpu_rate"]
    held, dropped, batches = int(result["trace_events"]), int(result["trace_dropped"]), int(result["batches"])
    print(f"ingest: {count:,} messages over {topics:,} topics into a Workspace (payload codecs on)")
    print(f"  decoder path: sustained {rate:,.0f} msg/s (slowest 100k window {slowest:,.0f} msg/s)")
    print(f"    target >= {RATE_TARGET:,} msg/s: {rate_ok}")
    print(f"    per CPU second of this process: {cpu_rate:,.0f} msg/s (other load slows the wall clock)")
    print(
        f"    CPU per message: decoder {result['decoder_us']:.2f} us, message making and "
        f"Workspace.ingest {result['workspace_us']:.2f} us"
    )
    print(f"  peak RSS {result['rss_mb']:.0f} MB; target < {RSS_TARGET_MB} MB: {rss_ok}")
    print(f"  trace buffer: {held:,} events held, {dropped:,} dropped; {batches} batches to one view")
    full = asyncio.run(run(min(messages, FULL_MESSAGES), full=True))
    full_count, full_rate, full_cpu = int(full["messages"]), full["rate"], full["cpu_rate"]
    print(f"  full client receive path (+ MQTT Session), {full_count:,} messages:")
    print(f"    {full_rate:,.0f} msg/s ({full_cpu:,.0f} per CPU second)")


if __name__ == "__main__":
    main()
