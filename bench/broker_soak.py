"""The embedded broker under its limits: a flood of idle and stalled clients beside a healthy pair.

The broker runs as ``mqttws-explorer broker`` in its own process on loopback, with the
limits set on its command line (:data:`BROKER_FLAGS`). This process then:

1. connects a healthy publisher and subscriber (MQTT 3.1.1 over TCP, QoS 1, from
   127.0.0.1) and measures them alone for :data:`BASELINE_S` seconds: the peer figures;
2. attacks from other loopback addresses (127.0.0.2 and up), all at once:
   - :data:`IDLE` connections that send a CONNECT with keep alive 0 and nothing more,
     :data:`PER_ADDRESS` per address (the per-address limit), plus :data:`OVER_ADDRESS`
     more from an address that is already full;
   - :data:`STALLED_CONNECT` connections that send most of a CONNECT (below the CONNECT
     limit) and stall; :data:`STALLED_PUBLISH` connected clients that send
     :data:`STALLED_BYTES` of a larger PUBLISH and stall (together far over the buffer
     budget);
   - :data:`SLOWLORIS` WebSocket upgrades that send a header byte every half second;
3. keeps the healthy pair running through the attack for :data:`ATTACK_S` seconds
   (longer than the flood plus the CONNECT timeout and the 1.5 x keep alive the broker
   imposes on idle clients), and counts the attacking connections the broker holds once
   all are open and at the end;
4. closes everything and reads the broker's RSS once more.

Printed: the broker's RSS at start, its peak (VmHWM) and after the attack, against the
bound its budgets give; the connections held at the attack's height and at its end; the
healthy pair's loss and publish-to-delivery latency p50/p99 alone and under attack; and
how long a new client from 127.0.0.1 waits for its CONNACK during the attack.

Loopback only; about 80 seconds; stops by itself. Needs 10,000+ file descriptors per
process (RLIMIT_NOFILE is raised to its hard limit; below what is needed it skips).
``python -m bench broker_soak`` or ``python -m bench.broker_soak [--idle N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connect, Puback, Publish, Subscribe, Subscription
from explorer.mqtt.reader import PacketReader

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
V311 = ProtocolVersion.V311

IDLE = 10_000
PER_ADDRESS = 1000
OVER_ADDRESS = 200
STALLED_CONNECT = 200
STALLED_PUBLISH = 100
STALLED_BYTES = 1 * MIB
SLOWLORIS = 200
BASELINE_S = 5.0
ATTACK_S = 50.0  # the flood (~15 s for 10,000) + 1.5 x MAX_KEEPALIVE + a margin
SETTLE_S = 3.0  # after the last connection is open: the budget has acted, no timeout yet
RATE = 200  # healthy messages per second
MAX_BUFFERED = 64 * MIB
MAX_KEEPALIVE = 20
CONNECT_TIMEOUT = 5
CONNECT_CONCURRENCY = 200
BROKER_FLAGS = [
    "--max-connections",
    "11000",
    "--max-connections-per-ip",
    str(PER_ADDRESS),
    "--max-buffered",
    str(MAX_BUFFERED),
    "--max-keepalive",
    str(MAX_KEEPALIVE),
    "--connect-timeout",
    str(CONNECT_TIMEOUT),
]


def _status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


class _Held(asyncio.Protocol):
    """An attacking connection: it only notices when the broker closes it."""

    def __init__(self, first: bytes) -> None:
        self.first = first
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.closed = loop.create_future()
        self.answered = loop.create_future()  # the first bytes from the broker, or its close

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.first:
            transport.write(self.first)

    def data_received(self, data: bytes) -> None:
        if not self.answered.done():
            self.answered.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.closed, self.answered):
            if not future.done():
                future.set_result(None)

    @property
    def held(self) -> bool:
        return self.transport is not None and not self.closed.done()


@dataclass
class _Attack:
    idle: list[_Held] = field(default_factory=list)
    over: list[_Held] = field(default_factory=list)
    stalled_connect: list[_Held] = field(default_factory=list)
    stalled_publish: list[_Held] = field(default_factory=list)
    slowloris: list[_Held] = field(default_factory=list)
    failed: int = 0  # connections refused before they were made (backlog, reset)

    def groups(self) -> dict[str, list[_Held]]:
        return {
            "idle (keep alive 0)": self.idle,
            "over the per-address limit": self.over,
            "stalled CONNECT": self.stalled_connect,
            "stalled PUBLISH": self.stalled_publish,
            "slowloris upgrades": self.slowloris,
        }

    def all(self) -> list[_Held]:
        return [held for group in self.groups().values() for held in group]


async def _open(
    port: int, source: str, first: bytes, gate: asyncio.Semaphore, attack: _Attack
) -> _Held | None:
    loop = asyncio.get_running_loop()
    async with gate:
        try:
            _transport, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: _Held(first), "127.0.0.1", port, local_addr=(source, 0)), 10
            )
        except (OSError, TimeoutError):
            attack.failed += 1
            return None
    return protocol


async def _group(count: int, port: int, sources: list[str], first: bytes, attack: _Attack) -> list[_Held]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    opened = await asyncio.gather(
        *(_open(port, sources[index % len(sources)], first, gate, attack) for index in range(count))
    )
    return [held for held in opened if held is not None]


async def _answered(group: list[_Held]) -> None:
    """Until the broker has answered (CONNACK) or closed every connection of ``group``."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(held.answered for held in group)), 10)


def _upgrade_request() -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n"
    ).encode()


async def _drip(held: list[_Held], stop: asyncio.Event) -> None:
    """Slowloris: one more header byte on every connection every half second, never the end."""
    filler = b"X-Slow: " + b"a" * 4000
    index = 0
    while not stop.is_set():
        for protocol in held:
            if protocol.held and protocol.transport is not None:
                protocol.transport.write(filler[index % len(filler) : index % len(filler) + 1])
        index += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def _attack(tcp_port: int, ws_port: int, idle: int, attack: _Attack, pid: int) -> int:
    """Open every attacking connection, idle ones first; the broker's RSS once those are in."""
    idle_sources = [f"127.0.0.{2 + index}" for index in range((idle + PER_ADDRESS - 1) // PER_ADDRESS)]
    connect = encode(Connect(V311, "", keep_alive=0))
    big_connect = encode(Connect(V311, "stalled", username="u", password=b"p" * 60_000))
    publish = encode(Publish("soak/stalled", bytes(4 * STALLED_BYTES)))[:STALLED_BYTES]
    others = ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
    attack.idle = await _group(idle, tcp_port, idle_sources, connect, attack)
    attack.over = await _group(OVER_ADDRESS, tcp_port, idle_sources[:1], connect, attack)
    await _answered(attack.idle + attack.over)
    rss_idle = _status(pid, "VmRSS")
    attack.stalled_connect = await _group(STALLED_CONNECT, tcp_port, others, big_connect[:-500], attack)
    attack.slowloris = await _group(SLOWLORIS, ws_port, others, _upgrade_request(), attack)
    attack.stalled_publish = await _group(STALLED_PUBLISH, tcp_port, ["127.0.2.1"], connect + publish, attack)
    return rss_idle


@dataclass
class _Pair:
    """A QoS 1 publisher and subscriber on 127.0.0.1; payloads carry their send time."""

    sent: dict[int, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    received: set[int] = field(default_factory=set)
    refused: int = 0

    async def run(self, port: int, start: int, count: int, stop_at: float) -> None:
        sub_reader, sub_writer = await asyncio.open_connection("127.0.0.1", port)
        sub_writer.write(encode(Connect(V311, f"healthy-sub-{start}", keep_alive=30)))
        sub_writer.write(encode(Subscribe(1, (Subscription("soak/healthy", 1),))))
        await sub_reader.readexactly(4 + 5)  # CONNACK, SUBACK
        pub_reader, pub_writer = await asyncio.open_connection("127.0.0.1", port)
        pub_writer.write(encode(Connect(V311, f"healthy-pub-{start}", keep_alive=30)))
        await pub_reader.readexactly(4)  # CONNACK
        receiving = asyncio.create_task(self._receive(sub_reader, sub_writer))
        draining = asyncio.create_task(self._drain(pub_reader))
        interval = 1 / RATE
        next_at = time.perf_counter()
        for seq in range(start, start + count):
            if time.perf_counter() > stop_at:
                break
            self.sent[seq] = time.perf_counter()
            payload = seq.to_bytes(8, "big") + bytes(56)
            pub_writer.write(encode(Publish("soak/healthy", payload, qos=1, packet_id=seq % 65535 + 1)))
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        # Late messages: give the last ones a moment, then stop.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._all_in(), 5)
        for task in (receiving, draining):
            task.cancel()
        for writer in (sub_writer, pub_writer):
            writer.close()

    async def _all_in(self) -> None:
        while not set(self.sent) <= self.received:
            await asyncio.sleep(0.05)

    async def _receive(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mqtt = PacketReader()
        while data := await reader.read(65536):
            now = time.perf_counter()
            for item in mqtt.receive_data(data):
                packet = item.packet
                if isinstance(packet, Publish) and len(packet.payload) >= 8:
                    seq = int.from_bytes(packet.payload[:8], "big")
                    if seq in self.sent and seq not in self.received:
                        self.received.add(seq)
                        self.latencies.append(now - self.sent[seq])
                    if packet.packet_id is not None:
                        writer.write(encode(Puback(packet.packet_id)))

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        while await reader.read(65536):
            pass

    def figures(self) -> str:
        lost = len(set(self.sent) - self.received)
        if not self.latencies:
            return f"{len(self.sent)} sent, none received"
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        return f"{len(self.sent):5d} sent, {lost} lost, latency p50 {p50:6.2f} ms, p99 {p99:7.2f} ms"


async def _connack_wait(port: int) -> float | None:
    """Seconds a new client from 127.0.0.1 waits for its CONNACK (None: refused)."""
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        writer.write(encode(Connect(V311, "", keep_alive=30)))
        data = await asyncio.wait_for(reader.read(4), 5)
        writer.close()
    except (OSError, TimeoutError):
        return None
    return time.perf_counter() - started if data[:1] == b"\x20" else None


def _held(group: list[_Held]) -> int:
    return sum(1 for held in group if held.held)


async def _soak(idle: int) -> None:
    command = [sys.executable, "-m", "explorer", "broker", "--ws-port", "0", "--tcp-port", "0"]
    proc = subprocess.Popen(
        [*command, "--sys-interval", "0", *BROKER_FLAGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        ws_port = int(proc.stdout.readline().decode().rsplit(":", 1)[1].split("/")[0])
        tcp_port = int(proc.stdout.readline().decode().rsplit(":", 1)[1])
        rss_start = _status(proc.pid, "VmRSS")
        print(f"broker flags: {' '.join(BROKER_FLAGS)}")
        baseline = await _pair_process(tcp_port, BASELINE_S)
        rss_quiet = _status(proc.pid, "VmRSS")

        attack = _Attack()
        stop = asyncio.Event()
        attack_started = time.perf_counter()
        pair = asyncio.create_task(_pair_process(tcp_port, ATTACK_S))
        rss_idle = await _attack(tcp_port, ws_port, idle, attack, proc.pid)
        flood_s = time.perf_counter() - attack_started
        dripping = asyncio.create_task(_drip(attack.slowloris, stop))
        height = {name: _held(group) for name, group in attack.groups().items()}
        rss_height = _status(proc.pid, "VmRSS")
        new_client = await _connack_wait(tcp_port)
        await asyncio.sleep(SETTLE_S)
        settled = {name: _held(group) for name, group in attack.groups().items()}
        under_attack = await pair
        end = {name: _held(group) for name, group in attack.groups().items()}
        stop.set()
        await dripping
        rss_peak = _status(proc.pid, "VmHWM")
        for held in attack.all():
            if held.transport is not None:
                held.transport.abort()
        await asyncio.sleep(2)  # the broker sees the closes and trims its heap on a timer tick
        rss_after = _status(proc.pid, "VmRSS")
        # A second wave of idle clients: memory freed by the first is used again, not added to.
        again = _Attack()
        idle_sources = [f"127.0.0.{2 + index}" for index in range((idle + PER_ADDRESS - 1) // PER_ADDRESS)]
        again.idle = await _group(
            idle, tcp_port, idle_sources, encode(Connect(V311, "", keep_alive=0)), again
        )
        await _answered(again.idle)
        rss_again = _status(proc.pid, "VmRSS")
        held_again = _held(again.idle)
        for held in again.idle:
            if held.transport is not None:
                held.transport.abort()
        await asyncio.sleep(2)
        rss_again_after = _status(proc.pid, "VmRSS")
    finally:
        proc.terminate()
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()

    held_total = sum(height.values())
    per_connection = max(0, rss_idle - rss_quiet) / max(1, height["idle (keep alive 0)"])
    # Buffers grow in steps (a bytearray up to 1/8 beyond what it holds) and a packet is
    # copied once as it completes: the budget's bytes may take up to a quarter more memory.
    bound = rss_quiet + held_total * per_connection + MAX_BUFFERED * 5 // 4
    buffers = rss_peak - rss_quiet - held_total * per_connection
    print(
        f"attack: {len(attack.all())} connections made in {flood_s:.1f} s ({attack.failed} failed to connect)"
    )
    columns = ("once all are open", f"{SETTLE_S:.0f} s later", f"at {ATTACK_S:.0f} s")
    print(f"{'held by the broker':32s} {columns[0]:>18s} {columns[1]:>12s} {columns[2]:>10s}")
    for name, count in height.items():
        print(f"  {name:30s} {count:18d} {settled[name]:12d} {end[name]:10d}")
    waited = "refused" if new_client is None else f"CONNACK after {new_client * 1000:.1f} ms"
    print(f"new client from 127.0.0.1 during the attack: {waited}")
    print(f"healthy pair alone (peer figures): {baseline}")
    print(f"healthy pair under attack:         {under_attack}")
    print(
        f"broker RSS: {rss_start / MIB:.0f} MiB at start, {rss_quiet / MIB:.0f} MiB with the pair, "
        f"{rss_height / MIB:.0f} MiB at the attack's height, peak {rss_peak / MIB:.0f} MiB, "
        f"{rss_after / MIB:.0f} MiB after the attack"
    )
    print(
        f"second wave of {held_again} idle connections: RSS {rss_again / MIB:.0f} MiB with them "
        f"(first wave: {rss_idle / MIB:.0f} MiB), {rss_again_after / MIB:.0f} MiB after they closed"
    )
    print(
        f"RSS bound: {rss_quiet / MIB:.0f} MiB + {held_total} held x {per_connection / 1024:.1f} KiB "
        f"(an idle connection's cost) + 1.25 x budget {MAX_BUFFERED / MIB:.0f} MiB = {bound / MIB:.0f} MiB; "
        f"peak {'within' if rss_peak <= bound else 'ABOVE'} it "
        f"(buffers at the peak: about {buffers / MIB:.0f} MiB)"
    )


def _raise_nofile(needed: int) -> str | None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        return f"RLIMIT_NOFILE hard limit {hard} is below the {needed} file descriptors needed"
    if soft == resource.RLIM_INFINITY or soft < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            return f"cannot raise RLIMIT_NOFILE to {hard}: {exc}"
    return None


async def _pair_process(port: int, seconds: float) -> str:
    """The healthy pair in a process of its own: the attack's load here does not slow it."""
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bench.broker_soak", "--pair", str(port), str(seconds)),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, _ = await proc.communicate()
    return out.decode().strip() or f"the pair failed (exit code {proc.returncode})"


async def _pair_main(port: int, seconds: float) -> None:
    pair = _Pair()
    await pair.run(port, 0, 10**9, time.perf_counter() + seconds)
    print(pair.figures())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.broker_soak", description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=IDLE, help="idle connections (default %(default)s)")
    parser.add_argument("--pair", nargs=2, metavar=("PORT", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pair:
        asyncio.run(_pair_main(int(args.pair[0]), float(args.pair[1])))
        return
    needed = args.idle + OVER_ADDRESS + STALLED_CONNECT + STALLED_PUBLISH + SLOWLORIS + 200
    problem = _raise_nofile(needed)
    if problem:
        print(f"broker_soak skipped: {problem}")
        return
    asyncio.run(_soak(args.idle))


if __name__ == "__main__":
    main()
