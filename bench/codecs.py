"""Payload codec decode rates, each beside the plain library call on the same payloads.

For each codec, a few thousand realistic payloads are decoded three ways in the same run:

- **detected**: ``CodecRegistry.decode(payload, topic)`` with no rule, as a message
  without a content type is shown (detection, then the JSON-like value, text, numbers);
- **by rule**: the same with a ``--codec`` rule naming the codec (no detection);
- **peer**: the bare library call a program would make (``msgpack.unpackb``,
  ``cbor2.loads``, ``json.loads``, protobuf's ``ParseFromString`` then ``MessageToDict``,
  ``gzip.decompress`` then ``json.loads``, Pillow's ``Image.open(...).size``);
- **Sparkplug state on arrival**: ``SparkplugTracker.observe`` (names from the BIRTH,
  seq checked), what the Workspace does for each ``spBv1.0/`` message.

Our path does more than the peer (a display text, the numeric leaves, JSON-safe values),
so the ratio shows what that costs. Decoding happens only when a message is shown,
exported, charted or searched (see ``bench/ingest.py`` for the ingest rate with codecs on).
"""

from __future__ import annotations

import gzip
import io
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbor2
import msgpack
from google.protobuf import json_format
from PIL import Image

from explorer.codecs import CodecRegistry, CodecRule
from explorer.codecs.protoc import load_schemas
from explorer.codecs.sparkplug import encode_payload, schemas

COUNT = 3000
ROUNDS = 5

PROTO = """
syntax = "proto3";
package bench;
message Telemetry { string room = 1; double temperature = 2; double humidity = 3; int64 counter = 4;
                    repeated float samples = 5; }
"""


def _telemetry(rng: random.Random) -> dict[str, Any]:
    return {
        "room": rng.choice(["kitchen", "hall", "garage"]),
        "temperature": round(rng.uniform(15, 30), 2),
        "humidity": round(rng.uniform(30, 70), 1),
        "counter": rng.randint(0, 1 << 40),
        "samples": [round(rng.uniform(0, 1), 3) for _ in range(8)],
    }


def _png(rng: random.Random) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (rng.randint(16, 64), rng.randint(16, 64)), (rng.randint(0, 255), 0, 0)).save(out, "PNG")
    return out.getvalue()


def _rate(fn: Callable[[bytes], Any], payloads: list[bytes]) -> float:
    rates = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        for payload in payloads:
            fn(payload)
        rates.append(len(payloads) / (time.perf_counter() - began))
    return statistics.median(rates)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else COUNT
    rng = random.Random(1)
    values = [_telemetry(rng) for _ in range(count)]
    with tempfile.TemporaryDirectory() as tmp:
        proto = Path(tmp) / "bench.proto"
        proto.write_text(PROTO)
        proto_schemas = load_schemas([str(proto)])
    telemetry_class = proto_schemas.message_class("bench.Telemetry")
    sparkplug_class = schemas().message_class("mqttws.sparkplug.b.SpPayload")
    sparkplug_values = [
        {
            "seq": i % 256,
            "timestamp": 1700000000000 + i,
            "metrics": [
                {"alias": 2, "datatype": "Double", "value": v["temperature"]},
                {"alias": 3, "datatype": "Float", "value": v["humidity"]},
                {"alias": 4, "datatype": "Int64", "value": v["counter"]},
            ],
        }
        for i, v in enumerate(values)
    ]
    pngs = [_png(rng) for _ in range(min(count, 500))]

    def protobuf_peer(data: bytes) -> Any:
        message = telemetry_class()
        message.ParseFromString(data)
        return json_format.MessageToDict(message)

    def sparkplug_peer(data: bytes) -> Any:
        message = sparkplug_class()
        message.ParseFromString(data)
        return json_format.MessageToDict(message)

    cases: list[tuple[str, str, str | None, list[bytes], Callable[[bytes], Any], str]] = [
        ("json", "t/json", None, [json.dumps(v).encode() for v in values], json.loads, "json.loads"),
        ("msgpack", "t/mp", None, [msgpack.packb(v) for v in values], msgpack.unpackb, "msgpack.unpackb"),
        ("cbor", "t/cbor", None, [cbor2.dumps(v) for v in values], cbor2.loads, "cbor2.loads"),
        (
            "protobuf",
            "t/pb",
            "bench.Telemetry",
            [proto_schemas.encode("bench.Telemetry", v) for v in values],
            protobuf_peer,
            "ParseFromString + MessageToDict",
        ),
        (
            "sparkplug",
            "spBv1.0/g/NDATA/e",
            None,
            [encode_payload(v) for v in sparkplug_values],
            sparkplug_peer,
            "ParseFromString + MessageToDict",
        ),
        (
            "gzip+json",
            "t/gz",
            None,
            [gzip.compress(json.dumps(v).encode()) for v in values],
            lambda data: json.loads(gzip.decompress(data)),
            "gzip.decompress + json.loads",
        ),
        (
            "image",
            "t/png",
            None,
            pngs,
            lambda data: Image.open(io.BytesIO(data)).size,
            "Pillow Image.open().size",
        ),
    ]
    detect = CodecRegistry(schemas=proto_schemas)
    sparkplug_case: tuple[list[bytes], Callable[[bytes], Any]] = ([], sparkplug_peer)
    print(f"codecs: decode rates, median of {ROUNDS} rounds, payloads/s (same payloads for each column)")
    head = f"{'codec':<10} {'payloads':>8} {'bytes':>6} {'detected':>10} {'by rule':>10} {'peer':>10}"
    print(f"  {head}  peer call")
    for name, topic, message, payloads, peer, peer_name in cases:
        rule_name = "protobuf" if name == "protobuf" else name
        ruled = CodecRegistry([CodecRule("#", rule_name, message)], proto_schemas)
        check = ruled.decode(payloads[0], topic)
        if check.error is not None or check.codec != name:
            raise RuntimeError(f"{name}: {check}")
        detected_rate = _rate(lambda data, topic=topic: detect.decode(data, topic), payloads)
        if name == "protobuf":  # a schema is never guessed: detection shows the wire view
            detected_rate = float("nan")
        rule_rate = _rate(lambda data, topic=topic, ruled=ruled: ruled.decode(data, topic), payloads)
        peer_rate = _rate(peer, payloads)
        size = statistics.mean(len(p) for p in payloads)
        detected_text = "n/a" if detected_rate != detected_rate else f"{detected_rate:,.0f}"
        print(
            f"  {name:<10} {len(payloads):>8,} {size:>6.0f} {detected_text:>10} {rule_rate:>10,.0f} "
            f"{peer_rate:>10,.0f}  {peer_name} (ours by rule = {rule_rate / peer_rate:.2f}x the peer)"
        )
        if name == "sparkplug":
            sparkplug_case = (payloads, peer)
    _tracker_rate(*sparkplug_case)
    _ingest_rates()


def _tracker_rate(payloads: list[bytes], peer: Callable[[bytes], Any]) -> None:
    """Sparkplug B on arrival: what the Workspace does for every ``spBv1.0/`` message."""
    from explorer.codecs.sparkplug_state import SparkplugTracker

    birth = encode_payload(
        {
            "seq": 255,
            "metrics": [
                {"name": "bdSeq", "datatype": "UInt64", "value": 0},
                {"name": "Temperature", "alias": 2, "datatype": "Double", "value": 0.0},
                {"name": "Humidity", "alias": 3, "datatype": "Float", "value": 0.0},
                {"name": "Counter", "alias": 4, "datatype": "Int64", "value": 0},
            ],
        }
    )
    rates = []
    for _ in range(ROUNDS):
        tracker = SparkplugTracker()
        tracker.observe("spBv1.0/g/NBIRTH/e", birth)
        began = time.perf_counter()
        for payload in payloads:
            tracker.observe("spBv1.0/g/NDATA/e", payload)
        rates.append(len(payloads) / (time.perf_counter() - began))
    ours = statistics.median(rates)
    theirs = _rate(peer, payloads)
    print(
        f"  sparkplug state on arrival (names from the BIRTH, seq checked): {ours:,.0f} msg/s "
        f"beside ParseFromString + MessageToDict {theirs:,.0f} msg/s ({ours / theirs:.2f}x)"
    )


def _ingest_rates(count: int = 200_000) -> None:
    """``Workspace.ingest`` of ready-made messages: plain topics beside a stream with 10% Sparkplug B.

    Sparkplug B messages are the only ones read on arrival; this shows what they cost the
    ingest path, both streams measured in the same run (see ``bench/ingest.py`` for the
    whole client path).
    """
    import asyncio

    from explorer.model.events import MessageReceived
    from explorer.workspace import Workspace

    birth = encode_payload(
        {
            "seq": 0,
            "metrics": [
                {"name": "bdSeq", "datatype": "UInt64", "value": 0},
                {"name": "Temperature", "alias": 2, "datatype": "Double", "value": 0.0},
                {"name": "Counter", "alias": 4, "datatype": "Int64", "value": 0},
            ],
        }
    )
    data = [
        encode_payload(
            {
                "seq": (i + 1) % 256,
                "metrics": [
                    {"alias": 2, "datatype": "Double", "value": i / 10},
                    {"alias": 4, "datatype": "Int64", "value": i},
                ],
            }
        )
        for i in range(count // 10)
    ]

    def stream(sparkplug: bool) -> list[MessageReceived]:
        out = []
        for i in range(count):
            if sparkplug and i % 10 == 0:
                out.append(MessageReceived(0, 0.0, 0, "spBv1.0/g/NDATA/e", data[i // 10], 0, False))
            else:
                out.append(MessageReceived(0, 0.0, 0, f"bench/{i % 1000}/v", b"21.5", 0, False))
        return out

    async def rate(sparkplug: bool) -> float:
        events = stream(sparkplug)
        async with Workspace() as workspace:
            workspace.ingest(MessageReceived(0, 0.0, 0, "spBv1.0/g/NBIRTH/e", birth, 0, False))
            began = time.process_time()
            for event in events:
                workspace.ingest(event)
            return count / (time.process_time() - began)

    plain = statistics.median(asyncio.run(rate(False)) for _ in range(3))
    mixed = statistics.median(asyncio.run(rate(True)) for _ in range(3))
    print(
        f"  Workspace.ingest per CPU second: plain topics {plain:,.0f} msg/s; with 10% Sparkplug B "
        f"(read on arrival) {mixed:,.0f} msg/s ({mixed / plain:.2f}x)"
    )


if __name__ == "__main__":
    main()
