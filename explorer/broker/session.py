"""What the broker remembers per connection and per session, and the outbound QoS flow.

A :class:`Connection` lives as long as one network connection; a :class:`BrokerSession`
(MQTT 5.0 §4.1) outlives it when its expiry interval says so, holding subscriptions,
the QoS 1/2 messages in flight towards the client, the messages queued beyond the
in-flight window, and the QoS 2 packet ids received but not yet released. Nothing
here does I/O: encoded packets are appended to ``Connection.outbox`` and the driver
(``explorer.broker.server``) writes them.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from enum import StrEnum

from explorer.broker.trie import Subscriber
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import NO_PROPERTIES, Properties, Publish, Will
from explorer.mqtt.primitives import encode_varint

__all__ = [
    "BrokerSession",
    "Connection",
    "InFlight",
    "LinkState",
    "Message",
    "Queued",
    "Stats",
    "ack_bytes",
    "plain_publish",
]

V5 = ProtocolVersion.V5


@dataclass(slots=True)
class Stats:
    """Counters published under ``$SYS/broker/`` (see ``explorer.broker.sys_topics``)."""

    started: float = 0.0
    clients_connected: int = 0
    clients_total: int = 0
    messages_received: int = 0
    messages_sent: int = 0
    messages_dropped: int = 0
    publish_received: int = 0
    publish_sent: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0
    connections_refused: int = 0
    protocol_errors: int = 0


class Message:
    """One application message as routed: shared by every subscriber it goes to.

    ``encoded`` caches the QoS 0 PUBLISH bytes per (protocol version, retain flag), so a
    message fanned out to many subscribers is encoded once per variant.
    """

    __slots__ = (
        "encoded",
        "expires_at",
        "payload",
        "properties",
        "publisher",
        "qos",
        "received",
        "retain",
        "topic",
    )

    def __init__(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int,
        retain: bool,
        properties: Properties,
        publisher: str | None,
        received: float,
    ) -> None:
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.properties = properties
        self.publisher = publisher
        self.received = received
        expiry = properties.message_expiry_interval
        self.expires_at = None if expiry is None else received + expiry
        self.encoded: dict[tuple[int, bool], bytes] = {}

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def properties_for(self, version: int, identifiers: tuple[int, ...], now: float) -> Properties:
        """The properties as forwarded: expiry decremented (MQTT 5.0 §3.3.2.3.3), ids added."""
        if version != V5:
            return NO_PROPERTIES
        props = self.properties
        if props.topic_alias is not None:
            props = replace(props, topic_alias=None)
        if self.expires_at is not None and now > self.received:
            remaining = max(1, math.ceil(self.expires_at - now))
            props = replace(props, message_expiry_interval=remaining)
        if identifiers:
            props = replace(props, subscription_identifiers=identifiers)
        return props

    def qos0_bytes(self, version: int, retain: bool, now: float) -> bytes:
        key = (version, retain)
        data = self.encoded.get(key)
        if data is None or (self.expires_at is not None and now > self.received):
            if self.properties is NO_PROPERTIES or version != V5:
                data = plain_publish(self.topic, self.payload, retain, v5=version == V5)
            else:
                props = self.properties_for(version, (), now)
                packet = Publish(self.topic, self.payload, 0, retain, False, None, props)
                data = encode(packet, ProtocolVersion(version))
            if self.expires_at is None or now <= self.received:
                self.encoded[key] = data
        return data


def plain_publish(
    topic: str, payload: bytes, retain: bool, *, v5: bool, qos: int = 0, pid: int = 0, dup: bool = False
) -> bytes:
    """A PUBLISH without properties, built directly (MQTT 5.0 §3.3).

    The hot path of fan-out: the topic was validated when the message came in, so the
    general encoder's checks would only repeat work.
    """
    name = topic.encode()
    size = 2 + len(name) + len(payload) + (1 if v5 else 0) + (2 if qos else 0)
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (0x08 if dup else 0)
    head = bytes((first, size)) if size < 0x80 else bytes((first,)) + encode_varint(size)
    parts = [head, len(name).to_bytes(2, "big"), name]
    if qos:
        parts.append(pid.to_bytes(2, "big"))
    if v5:
        parts.append(b"\0")
    parts.append(payload)
    return b"".join(parts)


def ack_bytes(packet_type: int, pid: int) -> bytes:
    """A successful PUBACK (4), PUBREC (5), PUBREL (6) or PUBCOMP (7) without properties.

    Identical in 3.1.1 and 5.0: a 5.0 acknowledgement may leave out reason code 0x00
    and empty properties (MQTT 5.0 §3.4.2.1).
    """
    flags = 0x02 if packet_type == 6 else 0  # [MQTT-3.6.1-1] PUBREL's fixed header flags are 0010
    return bytes(((packet_type << 4) | flags, 2)) + pid.to_bytes(2, "big")


@dataclass(slots=True)
class InFlight:
    """A QoS 1/2 PUBLISH sent and not yet completed; ``released`` once PUBREC came."""

    message: Message
    qos: int
    retain: bool
    identifiers: tuple[int, ...]
    released: bool = False


@dataclass(slots=True)
class Queued:
    message: Message
    qos: int
    retain: bool
    identifiers: tuple[int, ...]


class LinkState(StrEnum):
    """Where a broker's connection is: waiting for CONNECT, connected, closing, closed."""

    AWAITING_CONNECT = "awaiting-connect"
    CONNECTED = "connected"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(slots=True)
class Connection:
    """One network connection (TCP or WebSocket) from CONNECT to close.

    Its state (:attr:`state`) follows from ``session``, ``close_requested`` and ``closed``,
    which the hot paths test directly.
    """

    id: int
    peer: str = ""
    transport: str = "tcp"
    owner: object = None  # the driver's object for this connection; opaque here
    opened: float = 0.0
    version: ProtocolVersion | None = None
    session: BrokerSession | None = None
    client_id: str = ""
    username: str | None = None
    keep_alive: int = 0
    last_received: float = 0.0
    will: Will | None = None
    max_packet_out: int | None = None
    send_quota: int = 65535
    aliases: dict[int, str] = field(default_factory=dict)
    congested: bool = False
    outbox: list[bytes] = field(default_factory=list)
    close_requested: bool = False
    close_code: int = 1000  # WebSocket close code when the broker closes (RFC 6455 §7.4.1)
    closed: bool = False
    disconnected_normally: bool = False

    @property
    def connected(self) -> bool:
        return self.session is not None and not self.closed and not self.close_requested

    def closing(self) -> bool:
        """Closed, or asked to close: nothing more is read from it."""
        return self.close_requested or self.closed

    @property
    def state(self) -> LinkState:
        if self.closed:
            return LinkState.CLOSED
        if self.close_requested:
            return LinkState.CLOSING
        return LinkState.AWAITING_CONNECT if self.session is None else LinkState.CONNECTED

    def label(self) -> str:
        name = self.client_id or "?"
        return f"{name} ({self.transport} {self.peer})" if self.peer else name


@dataclass(slots=True)
class BrokerSession:
    """State kept per client id (MQTT 5.0 §4.1)."""

    client_id: str
    connection: Connection | None = None
    subscriptions: dict[str, Subscriber] = field(default_factory=dict)
    inflight: dict[int, InFlight] = field(default_factory=dict)
    queue: deque[Queued] = field(default_factory=deque)
    inbound_qos2: set[int] = field(default_factory=set)
    next_packet_id: int = 1
    expiry_interval: int = 0
    expires_at: float | None = None
    pending_will: Will | None = None
    will_at: float | None = None
    username: str | None = None

    def allocate_packet_id(self) -> int:
        """The next packet id not in flight ([MQTT-2.2.1-3])."""
        pid = self.next_packet_id
        while pid in self.inflight:
            pid = pid % 65535 + 1
        self.next_packet_id = pid % 65535 + 1
        return pid
