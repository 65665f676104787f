"""What an MQTT client session tells its driver, as plain data.

These are protocol outcomes (a CONNACK accepted, a QoS 2 flow completed, the server
disconnected), not trace events: the trace is made from the raw bytes by
``explorer.decoder``. The driver (``explorer.client.driver``) turns these into futures,
``MessageReceived`` trace events and ``StateChanged`` events.

Events marked *terminal* leave the session ``CLOSED``: the driver must close the
network connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from explorer.mqtt.packets import (
    Auth,
    Connack,
    Disconnect,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Suback,
    Unsuback,
)

__all__ = [
    "Anomaly",
    "AuthReceived",
    "ConnectRefused",
    "Connected",
    "MessageArrived",
    "PingAnswered",
    "ProtocolViolation",
    "PublishCompleted",
    "ServerDisconnected",
    "SessionEvent",
    "SubscribeCompleted",
    "TimedOut",
    "UnsubscribeCompleted",
]


@dataclass(slots=True)
class Connected:
    """CONNACK accepted the connection."""

    connack: Connack
    session_present: bool


@dataclass(slots=True)
class ConnectRefused:
    """*Terminal.* CONNACK refused the connection; ``message`` says why, with the code."""

    connack: Connack
    message: str


@dataclass(slots=True)
class AuthReceived:
    """The server sent AUTH (MQTT 5.0 §4.12): answer with ``Session.send_auth``."""

    auth: Auth


@dataclass(slots=True)
class MessageArrived:
    """An application message for us. ``publish.topic`` is resolved from its alias.

    A QoS 2 message that arrives again with a packet id we still hold was already
    delivered (method B, MQTT 5.0 §4.3.3): it yields an ``Anomaly``, not this.
    """

    publish: Publish


@dataclass(slots=True)
class PublishCompleted:
    """The QoS 1 or QoS 2 flow of one of our PUBLISHes ended.

    ``ok`` is false when the server answered with a reason code of 0x80 or above;
    ``message`` then names it. ``ack`` is the PUBACK, the failing PUBREC or the PUBCOMP
    (``None`` when the server's session lost the message and it was sent again, which
    cannot happen for a completed flow).
    """

    packet_id: int
    qos: int
    ack: Puback | Pubrec | Pubcomp | None
    ok: bool
    message: str = ""


@dataclass(slots=True)
class SubscribeCompleted:
    packet_id: int
    suback: Suback


@dataclass(slots=True)
class UnsubscribeCompleted:
    packet_id: int
    unsuback: Unsuback


@dataclass(slots=True)
class ServerDisconnected:
    """*Terminal.* The server sent DISCONNECT (MQTT 5.0 §3.14); ``message`` has its reason."""

    disconnect: Disconnect
    message: str


@dataclass(slots=True)
class ProtocolViolation:
    """*Terminal.* The server broke a rule; we closed (with DISCONNECT ``reason_code`` in 5.0)."""

    message: str
    reason_code: int | None


@dataclass(slots=True)
class TimedOut:
    """*Terminal.* No CONNACK, or no PINGRESP, in time."""

    what: Literal["connack", "pingresp"]
    message: str


@dataclass(slots=True)
class PingAnswered:
    """The server answered a PINGREQ: it has read every packet sent before it (§4.6 ordering).

    ``count`` is how many PINGREQs of this network connection are answered now.
    """

    count: int


@dataclass(slots=True)
class Anomaly:
    """Something odd but survivable (an ack for an unknown packet id, a QoS 2 duplicate)."""

    message: str


SessionEvent: TypeAlias = (
    Connected
    | ConnectRefused
    | AuthReceived
    | MessageArrived
    | PublishCompleted
    | SubscribeCompleted
    | UnsubscribeCompleted
    | ServerDisconnected
    | ProtocolViolation
    | TimedOut
    | PingAnswered
    | Anomaly
)
