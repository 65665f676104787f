"""Sparkplug B state across messages: edge nodes, devices, metric aliases, seq and bdSeq.

Feed every message of a ``spBv1.0/...`` topic, in arrival order, to
:meth:`SparkplugTracker.observe`; it decodes the payload with the metric names learnt
from the BIRTH certificates and returns the notices a reader should see. Rules kept
(Eclipse Sparkplug 3.0.0):

- An NBIRTH names every metric of the edge node with its alias and datatype, and a
  DBIRTH those of a device; aliases are unique across the edge node, so a DDATA alias
  is looked up in its device's BIRTH and then the node's
  ([tck-id-payloads-alias-birth-requirement], [tck-id-payloads-alias-uniqueness]).
- ``seq`` is one counter per edge node over NBIRTH, NDATA, DBIRTH, DDATA and DDEATH: each
  message carries the previous one plus one, 255 wrapping to 0
  ([tck-id-payloads-sequence-num-incrementing]); NDEATH carries none. A jump is a gap.
- The NBIRTH carries a ``bdSeq`` metric, and the NDEATH (normally the node's Will
  message, delivered by the broker) carries the same value
  ([tck-id-payloads-nbirth-bdseq], [tck-id-payloads-ndeath-bdseq]); a mismatch means the
  death belongs to an older session.
- DATA before any BIRTH cannot be read by name: a host application asks for a rebirth
  (§5.15 / [tck-id-operational-behavior-host-reordering-rebirth]); the NCMD metric
  ``Node Control/Rebirth`` = true is that request ([tck-id-topics-nbirth-rebirth-metric]).
- NBIRTH sets a node online, NDEATH offline with all its devices; DBIRTH and DDEATH the
  device (§5.7, §5.13).

No I/O, no clock: times are given by the caller.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from explorer.codecs.base import CodecError, Decoded
from explorer.codecs.sparkplug import (
    DataType,
    MessageType,
    SparkplugTopic,
    decode_payload,
    parse_topic,
    payload_numbers,
    payload_text,
)

__all__ = [
    "HISTORY",
    "DeviceState",
    "MetricState",
    "NodeState",
    "Observation",
    "SparkplugTracker",
]

HISTORY = 500
"""Numeric values kept per metric, for charts."""

REBIRTH_METRIC = "Node Control/Rebirth"
_SEQ_TYPES = frozenset(
    {MessageType.NBIRTH, MessageType.NDATA, MessageType.DBIRTH, MessageType.DDATA, MessageType.DDEATH}
)


@dataclass(slots=True)
class MetricState:
    name: str
    alias: int | None
    datatype: str | None
    value: Any = None
    time: float = 0.0
    history: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=HISTORY))

    def update(self, value: Any, time: float) -> None:
        self.value = value
        self.time = time
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.history.append((time, float(value)))


@dataclass(slots=True)
class DeviceState:
    name: str
    online: bool = False
    born: bool = False
    metrics: dict[str, MetricState] = field(default_factory=dict)
    aliases: dict[int, tuple[str, int]] = field(default_factory=dict)


@dataclass(slots=True)
class NodeState:
    group: str
    edge_node: str
    online: bool = False
    born: bool = False
    bd_seq: int | None = None
    seq: int | None = None
    gaps: int = 0
    rebirth_requests: int = 0
    metrics: dict[str, MetricState] = field(default_factory=dict)
    aliases: dict[int, tuple[str, int]] = field(default_factory=dict)
    devices: dict[str, DeviceState] = field(default_factory=dict)
    notices: deque[str] = field(default_factory=lambda: deque(maxlen=50))

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.edge_node)


@dataclass(frozen=True, slots=True)
class Observation:
    """What one Sparkplug message says: its topic parts, its decoding, and the notices."""

    topic: SparkplugTopic
    decoded: Decoded
    notices: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message_type": self.topic.message_type.name}
        if self.notices:
            out["notices"] = list(self.notices)
        return out


def _text(parts: SparkplugTopic, value: Any) -> str:
    return payload_text(value, parts)


def _bd_seq(value: dict[str, Any]) -> int | None:
    for metric in value.get("metrics", ()):
        if metric.get("name") == "bdSeq" and isinstance(metric.get("value"), int):
            return int(metric["value"])
    return None


class SparkplugTracker:
    """Edge nodes and devices seen on ``spBv1.0/...``, by ``(group, edge node)``."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[str, str], NodeState] = {}
        self.hosts: dict[str, bool] = {}
        self.version = 0  # bumped by every observation, for views to know when to redraw

    def __iter__(self) -> Iterator[NodeState]:
        return iter(self.nodes.values())

    def node(self, group: str, edge_node: str) -> NodeState:
        key = (group, edge_node)
        node = self.nodes.get(key)
        if node is None:
            node = self.nodes[key] = NodeState(group, edge_node)
        return node

    def observe(self, topic: str, payload: bytes, time: float = 0.0) -> Observation | None:
        """Take one message; None when the topic is not a Sparkplug B topic."""
        parts = parse_topic(topic)
        if parts is None:
            return None
        self.version += 1
        if parts.message_type == MessageType.STATE:
            return self._state(parts, payload)
        node = self.node(parts.group, parts.edge_node)
        device = None
        if parts.device is not None:
            device = node.devices.get(parts.device)
            if device is None:
                device = node.devices[parts.device] = DeviceState(parts.device)
        aliases = dict(node.aliases)
        if device is not None and parts.message_type != MessageType.DBIRTH:
            aliases.update(device.aliases)
        try:
            value = decode_payload(payload, aliases)
        except CodecError as exc:
            decoded = Decoded("sparkplug", payload, error=str(exc), note=parts.message_type.name)
            return Observation(parts, decoded, (f"{parts.message_type.name} does not decode: {exc}",))
        except RecursionError:
            decoded = Decoded("sparkplug", payload, error="not Sparkplug B: nested too deeply")
            return Observation(parts, decoded, ())
        notices = self._apply(node, device, parts, value, time)
        for notice in notices:
            node.notices.append(notice)
        decoded = Decoded(
            "sparkplug",
            payload,
            value,
            note=parts.message_type.name,
            text_of=partial(_text, parts),
            numbers_of=payload_numbers,
        )
        return Observation(parts, decoded, tuple(notices))

    def _state(self, parts: SparkplugTopic, payload: bytes) -> Observation:
        try:
            value: Any = json.loads(payload)
        except (ValueError, RecursionError):
            text = payload.decode("utf-8", "replace")
            value = {"online": text.strip().upper() == "ONLINE", "text": text}  # Sparkplug 2.x plain text
        online = bool(value.get("online")) if isinstance(value, dict) else False
        self.hosts[parts.edge_node] = online
        text = f"STATE host {parts.edge_node} {'online' if online else 'offline'}"
        return Observation(parts, Decoded("sparkplug", payload, value, text, {}, note="STATE"))

    def _apply(
        self,
        node: NodeState,
        device: DeviceState | None,
        parts: SparkplugTopic,
        value: dict[str, Any],
        time: float,
    ) -> list[str]:
        kind = parts.message_type
        notices: list[str] = []
        where = f"{parts.group}/{parts.edge_node}" + (f"/{parts.device}" if parts.device else "")
        if kind in _SEQ_TYPES:
            notices += self._check_seq(node, kind, value.get("seq"), where)
        if kind == MessageType.NBIRTH:
            node.online = node.born = True
            node.aliases.clear()
            node.metrics.clear()
            for known in node.devices.values():  # a new node session needs new DBIRTHs (§5.7)
                known.online = False
            node.bd_seq = _bd_seq(value)
            if node.bd_seq is None:
                notices.append(f"NBIRTH of {where} has no bdSeq metric [tck-id-payloads-nbirth-bdseq]")
            self._learn(node.aliases, node.metrics, value, time)
        elif kind == MessageType.NDEATH:
            death = _bd_seq(value)
            if node.born and node.bd_seq is not None and death is not None and death != node.bd_seq:
                notices.append(
                    f"NDEATH of {where} has bdSeq {death} but its NBIRTH had {node.bd_seq}: "
                    "it ends an older session [tck-id-payloads-ndeath-bdseq]"
                )
            elif death is None:
                notices.append(f"NDEATH of {where} has no bdSeq metric [tck-id-payloads-ndeath-bdseq]")
            if death is None or node.bd_seq is None or death == node.bd_seq:
                node.online = False
                for known in node.devices.values():
                    known.online = False
        elif kind == MessageType.DBIRTH and device is not None:
            if not node.born:
                notices.append(f"DBIRTH of {where} before any NBIRTH of its edge node")
            device.online = device.born = True
            device.aliases.clear()
            device.metrics.clear()
            self._learn(device.aliases, device.metrics, value, time)
        elif kind == MessageType.DDEATH and device is not None:
            device.online = False
        elif kind in (MessageType.NDATA, MessageType.DDATA):
            born = node.born if device is None else device.born
            if not born:
                birth = "NBIRTH" if device is None else "DBIRTH"
                notices.append(
                    f"{kind.name} of {where} before any {birth}: metric names are unknown, "
                    "a host application would request a rebirth (§5.15)"
                )
            target = node.metrics if device is None else device.metrics
            for metric in value.get("metrics", ()):
                name = metric.get("name")
                if name is None:
                    if "alias" in metric and born:
                        notices.append(f"{kind.name} of {where}: alias {metric['alias']} is not in the BIRTH")
                    name = f"alias {metric.get('alias', '?')}"
                state = target.get(name)
                if state is None:
                    state = target[name] = MetricState(name, metric.get("alias"), metric.get("datatype"))
                state.update(metric.get("value"), time)
        elif kind in (MessageType.NCMD, MessageType.DCMD):
            for metric in value.get("metrics", ()):
                if metric.get("name") == REBIRTH_METRIC and metric.get("value") is True:
                    node.rebirth_requests += 1
                    notices.append(f"rebirth requested for {where} (NCMD {REBIRTH_METRIC})")
        return notices

    @staticmethod
    def _check_seq(node: NodeState, kind: MessageType, seq: Any, where: str) -> list[str]:
        if not isinstance(seq, int):
            node.seq = None
            return [f"{kind.name} of {where} has no seq [tck-id-payloads-sequence-num-always-included]"]
        out = []
        if seq > 255:
            out.append(f"{kind.name} of {where} has seq {seq}, above 255")
        if kind != MessageType.NBIRTH and node.seq is not None:
            expected = (node.seq + 1) % 256
            if seq != expected:
                missing = (seq - expected) % 256
                node.gaps += 1
                out.append(
                    f"seq gap at {where}: expected {expected}, got {seq} ({missing} messages missing or "
                    "out of order) [tck-id-payloads-sequence-num-incrementing]"
                )
        node.seq = seq % 256
        return out

    @staticmethod
    def _learn(
        aliases: dict[int, tuple[str, int]],
        metrics: dict[str, MetricState],
        value: dict[str, Any],
        time: float,
    ) -> None:
        for metric in value.get("metrics", ()):
            name = metric.get("name")
            if name is None:
                continue
            datatype_name = metric.get("datatype")
            number = DataType[datatype_name].value if datatype_name in DataType.__members__ else 0
            if "alias" in metric:
                aliases[int(metric["alias"])] = (name, number)
            state = MetricState(name, metric.get("alias"), datatype_name)
            state.update(metric.get("value"), time)
            metrics[name] = state
