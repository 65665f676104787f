"""Micro benchmark of the MQTT codec's hot path: QoS 0 PUBLISH through PacketReader and decode().

200,000 packets with a 15-byte topic and a 64-byte payload, for 3.1.1 and 5.0, fed as
one big chunk, in 64 KiB chunks (what a socket read delivers) and as one packet per chunk;
also decode() and encode(). Prints packets per second.

The one-big-chunk figure includes the garbage collector walking the 400,000 objects that
one call returns at once; the 64 KiB figure is the one a live connection sees.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from explorer.mqtt.codec import decode, encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Publish
from explorer.mqtt.reader import PacketReader

COUNT = 200_000
TOPIC = "sensors/room/t1"  # 15 bytes
PAYLOAD = bytes(range(64))


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def run() -> dict[str, float]:
    """Return packets per second for each scenario."""
    results: dict[str, float] = {}
    for version in (ProtocolVersion.V311, ProtocolVersion.V5):
        packet = Publish(TOPIC, PAYLOAD)
        raw = encode(packet, version)
        stream = raw * COUNT
        chunks = [raw] * COUNT
        reads = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
        label = version.label

        def one_chunk(version: ProtocolVersion = version, stream: bytes = stream) -> None:
            out = PacketReader(version).receive_data(stream)
            assert len(out) == COUNT

        def per_packet(version: ProtocolVersion = version, chunks: list[bytes] = chunks) -> None:
            feed = PacketReader(version).receive_data
            for chunk in chunks:
                feed(chunk)

        def socket_reads(version: ProtocolVersion = version, reads: list[bytes] = reads) -> None:
            feed = PacketReader(version).receive_data
            total = 0
            for chunk in reads:
                total += len(feed(chunk))
            assert total == COUNT

        def decode_each(version: ProtocolVersion = version, chunks: list[bytes] = chunks) -> None:
            for chunk in chunks:
                decode(chunk, version)

        def encode_each(version: ProtocolVersion = version, packet: Publish = packet) -> None:
            for _ in range(COUNT):
                encode(packet, version)

        results[f"reader v{label} one chunk"] = COUNT / _best(one_chunk)
        results[f"reader v{label} 64 KiB chunks"] = COUNT / _best(socket_reads)
        results[f"reader v{label} packet per chunk"] = COUNT / _best(per_packet)
        results[f"decode() v{label}"] = COUNT / _best(decode_each)
        results[f"encode() v{label}"] = COUNT / _best(encode_each)
    return results


def main() -> None:
    print(f"MQTT codec, {COUNT} QoS 0 PUBLISH, topic {len(TOPIC)} B, payload {len(PAYLOAD)} B")
    for name, rate in run().items():
        print(f"  {name:<34} {rate:>12,.0f} packets/s  ({1e6 / rate:.2f} µs/packet)")


if __name__ == "__main__":
    main()
