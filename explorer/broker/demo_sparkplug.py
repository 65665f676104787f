"""The demo's Sparkplug B edge node: ``spBv1.0/demo-plant/.../edge-1`` with device ``pump-1``.

What a real edge node does (Eclipse Sparkplug 3.0.0): an NBIRTH naming every metric with
an alias and its datatype, with a ``bdSeq`` metric and ``seq`` 0; a DBIRTH for its device;
then NDATA and DDATA carrying metrics by alias only, ``seq`` rising by one per message
and wrapping after 255 ([tck-id-payloads-sequence-num-incrementing]). A subscriber that
joins late has missed the births, so the node is reborn (new NBIRTH and DBIRTH, ``seq``
0, the same ``bdSeq``: same MQTT session) when a host application sends the NCMD
``Node Control/Rebirth`` (as the explorers do on request), and every :data:`REBIRTH_EVERY`
ticks. No I/O, no clock of its own.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from explorer.codecs.base import CodecError
from explorer.codecs.sparkplug import decode_payload, encode_payload

__all__ = ["EDGE_NODE", "GROUP", "REBIRTH_EVERY", "SparkplugDemo", "SparkplugMessage"]

GROUP = "demo-plant"
EDGE_NODE = "edge-1"
DEVICE = "pump-1"
REBIRTH_EVERY = 50

# name, alias, datatype
_NODE_METRICS = (
    ("Node Control/Rebirth", 1, "Boolean"),
    ("Temperature", 2, "Double"),
    ("Pressure", 3, "Float"),
    ("Motor RPM", 4, "Int32"),
    ("Status", 5, "String"),
)
_DEVICE_METRICS = (
    ("Flow", 10, "Double"),
    ("Running", 11, "Boolean"),
    ("Vibration", 12, "Float"),
)


@dataclass(frozen=True, slots=True)
class SparkplugMessage:
    topic: str
    payload: bytes


class SparkplugDemo:
    def __init__(self, rng: random.Random, bd_seq: int = 0) -> None:
        self._rng = rng
        self.bd_seq = bd_seq
        self.seq = 0
        self.born = False
        self.rebirth_asked = False

    @property
    def command_topic(self) -> str:
        return self._topic("NCMD")

    def command(self, payload: bytes) -> None:
        """An NCMD for this node: ``Node Control/Rebirth`` = true asks for new births
        ([tck-id-topics-nbirth-rebirth-metric]); they go out at the next tick."""
        try:
            value = decode_payload(payload)
        except CodecError:
            return
        for metric in value.get("metrics", ()):
            if metric.get("name") == "Node Control/Rebirth" and metric.get("value") is True:
                self.rebirth_asked = True

    def _topic(self, kind: str, device: str | None = None) -> str:
        return f"spBv1.0/{GROUP}/{kind}/{EDGE_NODE}" + (f"/{device}" if device else "")

    def _next_seq(self) -> int:
        seq = self.seq
        self.seq = (self.seq + 1) % 256
        return seq

    def _values(self, now: float) -> dict[str, object]:
        rng = self._rng
        return {
            "Node Control/Rebirth": False,
            "Temperature": round(60 + 5 * math.sin(now / 30) + rng.uniform(-0.2, 0.2), 2),
            "Pressure": round(2.5 + 0.3 * math.sin(now / 45) + rng.uniform(-0.02, 0.02), 3),
            "Motor RPM": int(1450 + 50 * math.sin(now / 20) + rng.randint(-5, 5)),
            "Status": "running",
            "Flow": round(12 + 2 * math.sin(now / 25) + rng.uniform(-0.1, 0.1), 2),
            "Running": True,
            "Vibration": round(abs(rng.gauss(0.4, 0.1)), 3),
        }

    def births(self, now: float) -> list[SparkplugMessage]:
        """NBIRTH (seq 0, bdSeq) and the device's DBIRTH, every metric named with its alias."""
        self.seq = 0
        self.born = True
        values = self._values(now)
        stamp = int(now * 1000)
        node = [{"name": "bdSeq", "datatype": "UInt64", "value": self.bd_seq}]
        node += [{"name": n, "alias": a, "datatype": t, "value": values[n]} for n, a, t in _NODE_METRICS]
        device = [{"name": n, "alias": a, "datatype": t, "value": values[n]} for n, a, t in _DEVICE_METRICS]
        return [
            SparkplugMessage(
                self._topic("NBIRTH"),
                encode_payload({"timestamp": stamp, "seq": self._next_seq(), "metrics": node}),
            ),
            SparkplugMessage(
                self._topic("DBIRTH", DEVICE),
                encode_payload({"timestamp": stamp, "seq": self._next_seq(), "metrics": device}),
            ),
        ]

    def step(self, now: float, tick: int) -> list[SparkplugMessage]:
        """The births first, then NDATA by alias each tick and DDATA every other tick; rebirths."""
        if not self.born or self.rebirth_asked or tick % REBIRTH_EVERY == 0:
            self.rebirth_asked = False
            return self.births(now)
        values = self._values(now)
        stamp = int(now * 1000)
        changed = [m for m in _NODE_METRICS[1:4] if tick % 3 or m[0] != "Pressure"]
        node = [{"alias": a, "datatype": t, "value": values[n]} for n, a, t in changed]
        out = [
            SparkplugMessage(
                self._topic("NDATA"),
                encode_payload({"timestamp": stamp, "seq": self._next_seq(), "metrics": node}),
            )
        ]
        if tick % 2 == 0:
            device = [
                {"alias": a, "datatype": t, "value": values[n]}
                for n, a, t in _DEVICE_METRICS
                if n != "Running"
            ]
            out.append(
                SparkplugMessage(
                    self._topic("DDATA", DEVICE),
                    encode_payload({"timestamp": stamp, "seq": self._next_seq(), "metrics": device}),
                )
            )
        return out
