"""The demo publisher: realistic sensor traffic so that a new user sees live data at once.

It publishes into the broker state like any other publisher (subscribers receive
ordinary PUBLISH packets, retained messages are stored, $SYS counts them): JSON
telemetry, plain numbers, retained ``status`` and ``config`` topics, a PNG camera
thumbnail, an MQTT 5 message with properties (content type, user properties,
message expiry, response topic, correlation data), MessagePack, CBOR and gzip-compressed
JSON payloads, a Sparkplug B edge node with a device (:mod:`explorer.broker.demo_sparkplug`),
and now and then a burst.

:class:`DemoPublisher` makes the messages (deterministic with a seeded RNG, no I/O,
no clock of its own) so it is testable without sleeping; :func:`run_demo` paces it.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import random
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cbor2
import msgpack

from explorer.broker.demo_sparkplug import SparkplugDemo
from explorer.mqtt.packets import NO_PROPERTIES, Properties, Publish

if TYPE_CHECKING:
    from explorer.broker.server import Broker

__all__ = ["DEMO_PREFIX", "DemoMessage", "DemoPublisher", "run_demo"]

DEMO_PREFIX = "demo"
_ROOMS = ("livingroom", "kitchen", "bedroom", "garage")
_DEVICES = ("thermostat-1", "plug-7", "camera-frontdoor")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def thumbnail_png(tick: int, width: int = 64, height: int = 48) -> bytes:
    """A small camera frame as a real PNG (8-bit RGB): a sky, a door, a moving figure."""
    rows = []
    person = (tick * 3) % (width + 10) - 5
    for y in range(height):
        row = bytearray([0])  # filter type 0 (None) for each scanline, PNG §9.2
        for x in range(width):
            if 20 <= x < 36 and 10 <= y < 44:
                pixel = (120, 70, 30) if not (32 <= x < 34 and 26 <= y < 28) else (230, 200, 40)
            elif abs(x - person) < 3 and 24 <= y < 44:
                pixel = (200, 40, 60)
            elif y >= 44:
                pixel = (90, 90, 90)
            else:
                pixel = (40 + 3 * y, 110 + 2 * y, 200)
            row += bytes(pixel)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # IHDR: 8-bit truecolour
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _png_chunk(b"IEND", b"")
    )


@dataclass(frozen=True, slots=True)
class DemoMessage:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: Properties = NO_PROPERTIES


class DemoPublisher:
    """Makes the demo messages; :meth:`startup` once, then :meth:`step` per tick."""

    def __init__(self, *, seed: int | None = None, prefix: str = DEMO_PREFIX, burst_every: int = 50) -> None:
        self._rng = random.Random(seed)
        self.prefix = prefix
        self.burst_every = burst_every
        self._tick = 0
        self.sparkplug = SparkplugDemo(self._rng)

    def startup(self) -> list[DemoMessage]:
        """Retained status and configuration, published once."""
        p = self.prefix
        out: list[DemoMessage] = []
        for device in _DEVICES:
            out.append(DemoMessage(f"{p}/devices/{device}/status", b"online", qos=1, retain=True))
            config = {"device": device, "firmware": "2.4.1", "report_interval_s": 5, "units": "metric"}
            out.append(DemoMessage(f"{p}/devices/{device}/config", json.dumps(config).encode(), 1, True))
        return out

    def step(self, now: float) -> list[DemoMessage]:
        """The messages for one tick (``now`` in seconds, any epoch)."""
        rng = self._rng
        p = self.prefix
        self._tick += 1
        tick = self._tick
        room = _ROOMS[tick % len(_ROOMS)]
        base = 21.0 + 2.0 * math.sin(now / 60.0 + _ROOMS.index(room))
        temperature = round(base + rng.uniform(-0.3, 0.3), 2)
        humidity = round(45 + 10 * math.sin(now / 90.0) + rng.uniform(-1, 1), 1)
        out = [
            DemoMessage(f"{p}/sensors/{room}/temperature", f"{temperature}".encode()),
            DemoMessage(f"{p}/sensors/{room}/humidity", f"{humidity}".encode()),
        ]
        kind = tick % 5
        if kind == 0:
            telemetry = {
                "room": room,
                "temperature": temperature,
                "humidity": humidity,
                "battery": round(rng.uniform(3.4, 4.1), 2),
                "rssi": rng.randint(-90, -40),
                "ts": round(now, 3),
            }
            out.append(DemoMessage(f"{p}/sensors/{room}/telemetry", json.dumps(telemetry).encode(), qos=1))
            energy = {"power_w": round(rng.uniform(0, 2300), 1), "voltage": round(rng.uniform(228, 232), 1)}
            energy["on"] = energy["power_w"] > 5
            out.append(DemoMessage(f"{p}/devices/plug-7/energy", msgpack.packb(energy)))
        elif kind == 1:
            out.append(DemoMessage(f"{p}/camera/frontdoor/thumbnail", thumbnail_png(tick)))
            air = {
                "co2_ppm": rng.randint(400, 1400),
                "voc_index": rng.randint(20, 300),
                "pm25": rng.randint(1, 40),
            }
            cbor_props = Properties(content_type="application/cbor")
            out.append(DemoMessage(f"{p}/sensors/{room}/air", cbor2.dumps(air), 0, False, cbor_props))
        elif kind == 2:
            props = Properties(
                payload_format_indicator=1,
                content_type="application/json",
                message_expiry_interval=300,
                response_topic=f"{p}/alerts/ack",
                correlation_data=tick.to_bytes(4, "big"),
                user_properties=(("severity", "warning"), ("source", "thermostat-1")),
            )
            alert = {"alert": "door-open", "room": room, "seconds": rng.randint(5, 120)}
            out.append(DemoMessage(f"{p}/alerts/door", json.dumps(alert).encode(), 1, False, props))
        elif kind == 3:
            power = round(rng.uniform(0, 2300), 1)
            out.append(DemoMessage(f"{p}/devices/plug-7/power", f"{power}".encode()))
            history = {"device": "thermostat-1", "readings": [round(base + 0.1 * i, 2) for i in range(20)]}
            compressed = gzip.compress(json.dumps(history).encode(), mtime=0)
            out.append(DemoMessage(f"{p}/devices/thermostat-1/history", compressed))
        out.extend(DemoMessage(m.topic, m.payload) for m in self.sparkplug.step(now, tick))
        if self.burst_every and tick % self.burst_every == 0:
            count = rng.randint(20, 60)
            out.extend(DemoMessage(f"{p}/burst/{i % 8}", f"{tick}:{i}".encode()) for i in range(count))
        return out


async def run_demo(broker: Broker, *, rate: float = 5.0, seed: int | None = None) -> None:
    """Publish the demo into ``broker`` about ``rate`` ticks per second until cancelled."""
    demo = DemoPublisher(seed=seed)
    client_id = "mqttws-explorer-demo"
    batch = demo.startup()
    sparkplug = demo.sparkplug

    def on_publish(packet: Publish) -> None:
        if packet.topic == sparkplug.command_topic:
            sparkplug.command(packet.payload)

    broker.state.on_publish = on_publish
    interval = 1.0 / rate if rate > 0 else 1.0
    state = broker.state
    while True:
        now = broker.clock()
        for message in batch:
            state.publish(
                message.topic,
                message.payload,
                qos=message.qos,
                retain=message.retain,
                properties=message.properties,
                publisher=client_id,
                now=now,
            )
        broker.flush()  # one write per subscriber per tick, bursts included
        await asyncio.sleep(interval)
        batch = demo.step(broker.clock())
