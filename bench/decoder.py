"""The trace decoder in process: ``ConnectionDecoder`` over 200,000 QoS 0 PUBLISH frames.

The stream: the HTTP upgrade, then 200,000 QoS 0 PUBLISH packets (topics over 100
names, 64-byte payloads), one per WebSocket frame, fed in 64 KiB reads as a socket
delivers them: the server's unmasked frames (what the live client and the probe read)
and the client's masked frames (what ``decode`` reads in a capture). Each is timed
making trace events (the live client, the UIs) and compact records (``decode``), with
the collector thresholds the commands set (``explorer.gcpolicy``).

Printed beside it, on the same reads: websockets' own frame parser (``Frame.parse``
over a ``StreamReader``), which makes frames only, no MQTT and no events.

Times are CPU seconds of this process (``time.process_time``), medians of 3: the
machine is shared and wall-clock figures swing with its load.

Target: >= 500,000 packets/s for trace events.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from websockets.frames import Frame
from websockets.streams import StreamReader

from explorer.decoder import ConnectionDecoder
from explorer.gcpolicy import tune_gc
from explorer.model.events import Direction
from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Publish
from explorer.ws.framing import OP_BINARY, build_frame
from explorer.ws.handshake import accept_key

__all__ = ["main"]

COUNT = 200_000
READ_SIZE = 65536
TARGET = 500_000
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
REQUEST = (
    "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
).encode()
RESPONSE = (
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Accept: {accept_key(KEY)}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
).encode()


def _reads(masked: bool) -> list[bytes]:
    key = b"\x01\x02\x03\x04" if masked else None
    frames = b"".join(
        build_frame(OP_BINARY, encode(Publish(f"sensors/room/t{i % 100}", bytes(64))), mask_key=key)
        for i in range(COUNT)
    )
    return [frames[i : i + READ_SIZE] for i in range(0, len(frames), READ_SIZE)]


def _median_rate(run: Callable[[], int]) -> float:
    rates = []
    for _ in range(3):
        started = time.process_time()
        done = run()
        rates.append(done / (time.process_time() - started))
    return statistics.median(rates)


def _decoder(direction: Direction, reads: list[bytes], *, compact: bool) -> Callable[[], int]:
    def run() -> int:
        decoder = ConnectionDecoder(websocket=True, compact=compact)
        decoder.receive_data("c2s", REQUEST, 0.0)
        decoder.receive_data("s2c", RESPONSE, 0.0)
        take = decoder.items_received if compact else decoder.events_received
        take()
        items = 0
        for chunk in reads:
            decoder.receive_data(direction, chunk, 1.0)
            items += len(take())
        if items < COUNT:
            raise RuntimeError(f"the decoder gave {items} items for {COUNT} packets")
        return COUNT

    return run


def _websockets(reads: list[bytes], *, masked: bool) -> Callable[[], int]:
    def run() -> int:
        reader = StreamReader()
        parser = Frame.parse(reader.read_exact, mask=masked)
        frames = 0
        for data in reads:
            reader.feed_data(data)
            while True:
                try:
                    next(parser)
                except StopIteration:
                    frames += 1
                    parser = Frame.parse(reader.read_exact, mask=masked)
                    continue
                break
        return frames

    return run


def main() -> None:
    tune_gc()
    print(f"Trace decoder in process: {COUNT:,} QoS 0 PUBLISH, one per frame, {READ_SIZE // 1024} KiB reads")
    verdicts = []
    for direction, masked in (("s2c", False), ("c2s", True)):
        reads = _reads(masked)
        side = "server frames (unmasked)" if direction == "s2c" else "client frames (masked)"
        events = _median_rate(_decoder(direction, reads, compact=False))
        compact = _median_rate(_decoder(direction, reads, compact=True))
        peer = _median_rate(_websockets(reads, masked=masked))
        print(f"  {side}")
        print(f"    ConnectionDecoder, trace events     {events:>10,.0f} packets/s")
        print(f"    ConnectionDecoder, compact records  {compact:>10,.0f} packets/s")
        print(f"    websockets Frame.parse (frames only) {peer:>9,.0f} frames/s  ({events / peer:.1f}x)")
        verdicts.append(events >= TARGET)
    met = "met" if all(verdicts) else "NOT met"
    print(f"  target >= {TARGET:,} packets/s for trace events: {met}")


if __name__ == "__main__":
    main()
