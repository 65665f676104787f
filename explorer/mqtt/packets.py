"""MQTT control packets as plain data.

Each packet type is a ``@dataclass(slots=True)``. They are values: code never mutates
a packet after building it. They are not ``frozen`` because a frozen dataclass's
``__init__`` costs about six times as much (one ``object.__setattr__`` per field), and
the decoder builds hundreds of thousands of packets per second.

MQTT 3.1 and 3.1.1 packets use the same classes; fields that only exist in 5.0
(properties, reason codes on acknowledgements) keep their defaults there. The codec
(``explorer.mqtt.codec``) turns these into bytes and back; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NewType, TypeAlias

from explorer.mqtt.enums import (
    AuthReasonCode,
    ConnackReasonCode,
    ConnectReturnCode,
    DisconnectReasonCode,
    PacketType,
    ProtocolVersion,
    PubackReasonCode,
    PubcompReasonCode,
    PubrecReasonCode,
    PubrelReasonCode,
    RetainHandling,
    SubackReasonCode,
    UnsubackReasonCode,
)

__all__ = [
    "NO_PROPERTIES",
    "PACKET_CLASSES",
    "Auth",
    "Connack",
    "Connect",
    "Disconnect",
    "Packet",
    "Pingreq",
    "Pingresp",
    "Properties",
    "Puback",
    "Pubcomp",
    "Publish",
    "Pubrec",
    "Pubrel",
    "Suback",
    "Subscribe",
    "Subscription",
    "TopicFilter",
    "TopicName",
    "Unsuback",
    "Unsubscribe",
    "Will",
]

TopicName = NewType("TopicName", str)
TopicFilter = NewType("TopicFilter", str)

UserProperties: TypeAlias = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Properties:
    """MQTT 5.0 properties (§2.2.2). ``None`` means absent.

    ``user_properties`` keeps wire order and duplicates (§3.1.2.11.8: order preserved).
    ``subscription_identifiers`` is a tuple because a PUBLISH may carry several (§3.3.2.3.8).
    Which properties a packet may carry is checked by the codec against
    ``explorer.mqtt.enums.PROPERTY_VALIDITY``.
    """

    payload_format_indicator: int | None = None
    message_expiry_interval: int | None = None
    content_type: str | None = None
    response_topic: str | None = None
    correlation_data: bytes | None = None
    subscription_identifiers: tuple[int, ...] = ()
    session_expiry_interval: int | None = None
    assigned_client_identifier: str | None = None
    server_keep_alive: int | None = None
    authentication_method: str | None = None
    authentication_data: bytes | None = None
    request_problem_information: int | None = None
    will_delay_interval: int | None = None
    request_response_information: int | None = None
    response_information: str | None = None
    server_reference: str | None = None
    reason_string: str | None = None
    receive_maximum: int | None = None
    topic_alias_maximum: int | None = None
    topic_alias: int | None = None
    maximum_qos: int | None = None
    retain_available: int | None = None
    user_properties: UserProperties = ()
    maximum_packet_size: int | None = None
    wildcard_subscription_available: int | None = None
    subscription_identifier_available: int | None = None
    shared_subscription_available: int | None = None

    def __bool__(self) -> bool:
        return self != NO_PROPERTIES


NO_PROPERTIES = Properties()


@dataclass(frozen=True, slots=True)
class Will:
    """The Will Message of a CONNECT (MQTT 5.0 §3.1.2.5, §3.1.3.2-3.1.3.4)."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Subscription:
    """One topic filter with its Subscription Options (MQTT 5.0 §3.8.3.1)."""

    topic_filter: str
    qos: int = 0
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: RetainHandling = RetainHandling.SEND_ON_SUBSCRIBE


@dataclass(slots=True)
class Connect:
    """CONNECT (§3.1). ``protocol_name`` is ``MQIsdp`` for 3.1 and ``MQTT`` otherwise."""

    TYPE: ClassVar[PacketType] = PacketType.CONNECT
    protocol_version: ProtocolVersion = ProtocolVersion.V311
    client_id: str = ""
    clean_start: bool = True
    keep_alive: int = 60
    username: str | None = None
    password: bytes | None = None
    will: Will | None = None
    properties: Properties = NO_PROPERTIES
    protocol_name: str = ""  # empty: the standard name for the version

    def __post_init__(self) -> None:
        if not self.protocol_name:
            self.protocol_name = "MQIsdp" if self.protocol_version == ProtocolVersion.V31 else "MQTT"


@dataclass(slots=True)
class Connack:
    """CONNACK (§3.2). ``reason_code`` is a ConnectReturnCode in 3.1/3.1.1."""

    TYPE: ClassVar[PacketType] = PacketType.CONNACK
    session_present: bool = False
    reason_code: ConnackReasonCode | ConnectReturnCode = ConnackReasonCode.SUCCESS
    properties: Properties = NO_PROPERTIES


@dataclass(slots=True)
class Publish:
    """PUBLISH (§3.3). ``packet_id`` is ``None`` exactly when ``qos == 0``.

    ``topic`` may be empty in 5.0 when a Topic Alias stands for it (§3.3.2.3.4).
    """

    TYPE: ClassVar[PacketType] = PacketType.PUBLISH
    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    dup: bool = False
    packet_id: int | None = None
    properties: Properties = NO_PROPERTIES


@dataclass(slots=True)
class Puback:
    TYPE: ClassVar[PacketType] = PacketType.PUBACK
    packet_id: int
    reason_code: PubackReasonCode = PubackReasonCode.SUCCESS
    properties: Properties = NO_PROPERTIES


@dataclass(slots=True)
class Pubrec:
    TYPE: ClassVar[PacketType] = PacketType.PUBREC
    packet_id: int
    reason_code: PubrecReasonCode = PubrecReasonCode.SUCCESS
    properties: Properties = NO_PROPERTIES


@dataclass(slots=True)
class Pubrel:
    TYPE: ClassVar[PacketType] = PacketType.PUBREL
    packet_id: int
    reason_code: PubrelReasonCode = PubrelReasonCode.SUCCESS
    properties: Properties = NO_PROPERTIES


@dataclass(slots=True)
class Pubcomp:
    TYPE: ClassVar[PacketType] = PacketType.PUBCOMP
    packet_id: int
    reason_code: PubcompReasonCode = PubcompReasonCode.SUCCESS
    properties: Properties = NO_PROPERTIES


@dataclass(slots=True)
class Subscribe:
    TYPE: ClassVar[PacketType] = PacketType.SUBSCRIBE
    packet_id: int
    subscriptions: tuple[Subscription, ...]
    properties: Properties = NO_PROPERTIES


@dataclass(slots=True)
class Suback:
    TYPE: ClassVar[PacketType] = PacketType.SUBACK
    packet_id: int
    reason_codes: tuple[SubackReasonCode, ...]
    properties: Properties = NO_PROPERTIES


@dataclass(slots=True)
class Unsubscribe:
    TYPE: ClassVar[PacketType] = PacketType.UNSUBSCRIBE
    packet_id: int
    topic_filters: tuple[str, ...]
    properties: Properties = NO_PROPERTIES


@dataclass(slots=True)
class Unsuback:
    """UNSUBACK (§3.11). In 3.1.1 there are no reason codes: ``reason_codes == ()``."""

    TYPE: ClassVar[PacketType] = PacketType.UNSUBACK
    packet_id: int
    reason_codes: tuple[UnsubackReasonCode, ...] = ()
    properties: Properties = NO_PROPERTIES


@dataclass(slots=True)
class Pingreq:
    TYPE: ClassVar[PacketType] = PacketType.PINGREQ


@dataclass(slots=True)
class Pingresp:
    TYPE: ClassVar[PacketType] = PacketType.PINGRESP


@dataclass(slots=True)
class Disconnect:
    TYPE: ClassVar[PacketType] = PacketType.DISCONNECT
    reason_code: DisconnectReasonCode = DisconnectReasonCode.NORMAL_DISCONNECTION
    properties: Properties = NO_PROPERTIES


@dataclass(slots=True)
class Auth:
    TYPE: ClassVar[PacketType] = PacketType.AUTH
    reason_code: AuthReasonCode = AuthReasonCode.SUCCESS
    properties: Properties = NO_PROPERTIES


Packet: TypeAlias = (
    Connect
    | Connack
    | Publish
    | Puback
    | Pubrec
    | Pubrel
    | Pubcomp
    | Subscribe
    | Suback
    | Unsubscribe
    | Unsuback
    | Pingreq
    | Pingresp
    | Disconnect
    | Auth
)

PACKET_CLASSES: dict[PacketType, type[Packet]] = {
    PacketType.CONNECT: Connect,
    PacketType.CONNACK: Connack,
    PacketType.PUBLISH: Publish,
    PacketType.PUBACK: Puback,
    PacketType.PUBREC: Pubrec,
    PacketType.PUBREL: Pubrel,
    PacketType.PUBCOMP: Pubcomp,
    PacketType.SUBSCRIBE: Subscribe,
    PacketType.SUBACK: Suback,
    PacketType.UNSUBSCRIBE: Unsubscribe,
    PacketType.UNSUBACK: Unsuback,
    PacketType.PINGREQ: Pingreq,
    PacketType.PINGRESP: Pingresp,
    PacketType.DISCONNECT: Disconnect,
    PacketType.AUTH: Auth,
}
