"""What a session needs to know besides its state: the server's limits, packet ids, names.

Small values and helpers shared by ``explorer.session.state`` and the driver; no I/O.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from explorer.errors import LocalProtocolError
from explorer.mqtt.packets import Properties

__all__ = ["MAX_PACKET_ID", "PacketIds", "ServerLimits", "generate_client_id", "reason_text"]

MAX_PACKET_ID = 65535


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What the server's CONNACK allows (MQTT 5.0 §3.2.2.3); defaults apply to 3.1.1."""

    receive_maximum: int = 65535
    maximum_qos: int = 2
    retain_available: bool = True
    maximum_packet_size: int | None = None
    topic_alias_maximum: int = 0
    wildcard_subscription_available: bool = True
    subscription_identifier_available: bool = True
    shared_subscription_available: bool = True

    @classmethod
    def from_properties(cls, props: Properties) -> ServerLimits:
        def flag(value: int | None) -> bool:
            return value is None or value == 1

        return cls(
            receive_maximum=props.receive_maximum or 65535,
            maximum_qos=2 if props.maximum_qos is None else props.maximum_qos,
            retain_available=flag(props.retain_available),
            maximum_packet_size=props.maximum_packet_size,
            topic_alias_maximum=props.topic_alias_maximum or 0,
            wildcard_subscription_available=flag(props.wildcard_subscription_available),
            subscription_identifier_available=flag(props.subscription_identifier_available),
            shared_subscription_available=flag(props.shared_subscription_available),
        )


def reason_text(code: int) -> str:
    """``0x87 Not authorized`` for any MQTT reason or return code enum member (or int)."""
    name = getattr(code, "name", None)
    words = name.replace("_", " ").capitalize() if isinstance(name, str) else "unknown reason"
    return f"0x{int(code):02X} {words}"


def generate_client_id() -> str:
    """A client id valid in every version: 3.1 allows at most 23 characters [MQTT-3.1.3-5]."""
    return "mqttws-" + secrets.token_hex(6)


class PacketIds:
    """Packet identifiers of one session (MQTT 5.0 §2.2.1).

    An id stays taken from the packet that uses it until its flow ends: PUBACK,
    PUBCOMP (or a failing PUBREC), SUBACK, UNSUBACK [MQTT-2.2.1-3]. Ids are handed out
    in increasing order, wrapping at 65535, so a freed id is not reused at once.
    """

    __slots__ = ("_in_use", "_next")

    def __init__(self) -> None:
        self._next = 1
        self._in_use: set[int] = set()

    @property
    def in_use(self) -> frozenset[int]:
        return frozenset(self._in_use)

    def peek(self) -> int:
        """The id :meth:`take` would give, without taking it (encode first, then commit)."""
        if len(self._in_use) >= MAX_PACKET_ID:
            raise LocalProtocolError("all 65535 packet identifiers are in use")
        candidate = self._next
        while candidate in self._in_use:
            candidate = candidate % MAX_PACKET_ID + 1
        return candidate

    def take(self, packet_id: int) -> None:
        self._in_use.add(packet_id)
        self._next = packet_id % MAX_PACKET_ID + 1

    def release(self, packet_id: int) -> None:
        self._in_use.discard(packet_id)
