"""Wire values of MQTT 3.1, 3.1.1 and 5.0 as ``IntEnum``s.

One reason-code enum per packet type (MQTT 5.0 §2.4 and the tables in §3.x.2.1), so
that a code that is not valid for a packet cannot be built. Plain data only: no I/O.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "PROPERTY_TYPES",
    "PROPERTY_VALIDITY",
    "WILL_PROPERTY",
    "AuthReasonCode",
    "ConnackReasonCode",
    "ConnectReturnCode",
    "DisconnectReasonCode",
    "PacketType",
    "PropertyId",
    "PropertyType",
    "ProtocolVersion",
    "PubackReasonCode",
    "PubcompReasonCode",
    "PubrecReasonCode",
    "PubrelReasonCode",
    "QoS",
    "RetainHandling",
    "SubackReasonCode",
    "UnsubackReasonCode",
]


class ProtocolVersion(IntEnum):
    """The Protocol Level byte of CONNECT (3.1: 3, 3.1.1: 4, 5.0: 5)."""

    V31 = 3
    V311 = 4
    V5 = 5

    @property
    def label(self) -> str:
        return {3: "3.1", 4: "3.1.1", 5: "5.0"}[self.value]


class PacketType(IntEnum):
    """Control packet type: the high nibble of the first byte (MQTT 5.0 §2.1.2)."""

    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    PUBREC = 5
    PUBREL = 6
    PUBCOMP = 7
    SUBSCRIBE = 8
    SUBACK = 9
    UNSUBSCRIBE = 10
    UNSUBACK = 11
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14
    AUTH = 15


class QoS(IntEnum):
    AT_MOST_ONCE = 0
    AT_LEAST_ONCE = 1
    EXACTLY_ONCE = 2


class RetainHandling(IntEnum):
    """Subscription option bits 4-5 (MQTT 5.0 §3.8.3.1)."""

    SEND_ON_SUBSCRIBE = 0
    SEND_IF_NEW_SUBSCRIPTION = 1
    DO_NOT_SEND = 2


class PropertyType(IntEnum):
    BYTE = 1
    TWO_BYTE_INT = 2
    FOUR_BYTE_INT = 3
    VARIABLE_INT = 4
    UTF8_STRING = 5
    BINARY = 6
    UTF8_PAIR = 7


class PropertyId(IntEnum):
    """MQTT 5.0 property identifiers (§2.2.2.2, table 2-4)."""

    PAYLOAD_FORMAT_INDICATOR = 0x01
    MESSAGE_EXPIRY_INTERVAL = 0x02
    CONTENT_TYPE = 0x03
    RESPONSE_TOPIC = 0x08
    CORRELATION_DATA = 0x09
    SUBSCRIPTION_IDENTIFIER = 0x0B
    SESSION_EXPIRY_INTERVAL = 0x11
    ASSIGNED_CLIENT_IDENTIFIER = 0x12
    SERVER_KEEP_ALIVE = 0x13
    AUTHENTICATION_METHOD = 0x15
    AUTHENTICATION_DATA = 0x16
    REQUEST_PROBLEM_INFORMATION = 0x17
    WILL_DELAY_INTERVAL = 0x18
    REQUEST_RESPONSE_INFORMATION = 0x19
    RESPONSE_INFORMATION = 0x1A
    SERVER_REFERENCE = 0x1C
    REASON_STRING = 0x1F
    RECEIVE_MAXIMUM = 0x21
    TOPIC_ALIAS_MAXIMUM = 0x22
    TOPIC_ALIAS = 0x23
    MAXIMUM_QOS = 0x24
    RETAIN_AVAILABLE = 0x25
    USER_PROPERTY = 0x26
    MAXIMUM_PACKET_SIZE = 0x27
    WILDCARD_SUBSCRIPTION_AVAILABLE = 0x28
    SUBSCRIPTION_IDENTIFIER_AVAILABLE = 0x29
    SHARED_SUBSCRIPTION_AVAILABLE = 0x2A


_P = PropertyId
_T = PropertyType

PROPERTY_TYPES: dict[PropertyId, PropertyType] = {
    _P.PAYLOAD_FORMAT_INDICATOR: _T.BYTE,
    _P.MESSAGE_EXPIRY_INTERVAL: _T.FOUR_BYTE_INT,
    _P.CONTENT_TYPE: _T.UTF8_STRING,
    _P.RESPONSE_TOPIC: _T.UTF8_STRING,
    _P.CORRELATION_DATA: _T.BINARY,
    _P.SUBSCRIPTION_IDENTIFIER: _T.VARIABLE_INT,
    _P.SESSION_EXPIRY_INTERVAL: _T.FOUR_BYTE_INT,
    _P.ASSIGNED_CLIENT_IDENTIFIER: _T.UTF8_STRING,
    _P.SERVER_KEEP_ALIVE: _T.TWO_BYTE_INT,
    _P.AUTHENTICATION_METHOD: _T.UTF8_STRING,
    _P.AUTHENTICATION_DATA: _T.BINARY,
    _P.REQUEST_PROBLEM_INFORMATION: _T.BYTE,
    _P.WILL_DELAY_INTERVAL: _T.FOUR_BYTE_INT,
    _P.REQUEST_RESPONSE_INFORMATION: _T.BYTE,
    _P.RESPONSE_INFORMATION: _T.UTF8_STRING,
    _P.SERVER_REFERENCE: _T.UTF8_STRING,
    _P.REASON_STRING: _T.UTF8_STRING,
    _P.RECEIVE_MAXIMUM: _T.TWO_BYTE_INT,
    _P.TOPIC_ALIAS_MAXIMUM: _T.TWO_BYTE_INT,
    _P.TOPIC_ALIAS: _T.TWO_BYTE_INT,
    _P.MAXIMUM_QOS: _T.BYTE,
    _P.RETAIN_AVAILABLE: _T.BYTE,
    _P.USER_PROPERTY: _T.UTF8_PAIR,
    _P.MAXIMUM_PACKET_SIZE: _T.FOUR_BYTE_INT,
    _P.WILDCARD_SUBSCRIPTION_AVAILABLE: _T.BYTE,
    _P.SUBSCRIPTION_IDENTIFIER_AVAILABLE: _T.BYTE,
    _P.SHARED_SUBSCRIPTION_AVAILABLE: _T.BYTE,
}

# Pseudo packet type for the Will Properties inside CONNECT (MQTT 5.0 §3.1.3.2).
WILL_PROPERTY = 0

_C, _CA, _PU, _PA, _PR, _PL, _PC = (
    PacketType.CONNECT,
    PacketType.CONNACK,
    PacketType.PUBLISH,
    PacketType.PUBACK,
    PacketType.PUBREC,
    PacketType.PUBREL,
    PacketType.PUBCOMP,
)
_S, _SA, _U, _UA, _D, _A = (
    PacketType.SUBSCRIBE,
    PacketType.SUBACK,
    PacketType.UNSUBSCRIBE,
    PacketType.UNSUBACK,
    PacketType.DISCONNECT,
    PacketType.AUTH,
)
_W = WILL_PROPERTY
_ACKS = frozenset({_PA, _PR, _PL, _PC, _SA, _UA, _D, _A, _CA})

# Which packets may carry which property (MQTT 5.0 §2.2.2.2, table 2-4).
PROPERTY_VALIDITY: dict[PropertyId, frozenset[int]] = {
    _P.PAYLOAD_FORMAT_INDICATOR: frozenset({_PU, _W}),
    _P.MESSAGE_EXPIRY_INTERVAL: frozenset({_PU, _W}),
    _P.CONTENT_TYPE: frozenset({_PU, _W}),
    _P.RESPONSE_TOPIC: frozenset({_PU, _W}),
    _P.CORRELATION_DATA: frozenset({_PU, _W}),
    _P.SUBSCRIPTION_IDENTIFIER: frozenset({_PU, _S}),
    _P.SESSION_EXPIRY_INTERVAL: frozenset({_C, _CA, _D}),
    _P.ASSIGNED_CLIENT_IDENTIFIER: frozenset({_CA}),
    _P.SERVER_KEEP_ALIVE: frozenset({_CA}),
    _P.AUTHENTICATION_METHOD: frozenset({_C, _CA, _A}),
    _P.AUTHENTICATION_DATA: frozenset({_C, _CA, _A}),
    _P.REQUEST_PROBLEM_INFORMATION: frozenset({_C}),
    _P.WILL_DELAY_INTERVAL: frozenset({_W}),
    _P.REQUEST_RESPONSE_INFORMATION: frozenset({_C}),
    _P.RESPONSE_INFORMATION: frozenset({_CA}),
    _P.SERVER_REFERENCE: frozenset({_CA, _D}),
    _P.REASON_STRING: _ACKS,
    _P.RECEIVE_MAXIMUM: frozenset({_C, _CA}),
    _P.TOPIC_ALIAS_MAXIMUM: frozenset({_C, _CA}),
    _P.TOPIC_ALIAS: frozenset({_PU}),
    _P.MAXIMUM_QOS: frozenset({_CA}),
    _P.RETAIN_AVAILABLE: frozenset({_CA}),
    _P.USER_PROPERTY: frozenset({_C, _CA, _PU, _PA, _PR, _PL, _PC, _S, _SA, _U, _UA, _D, _A, _W}),
    _P.MAXIMUM_PACKET_SIZE: frozenset({_C, _CA}),
    _P.WILDCARD_SUBSCRIPTION_AVAILABLE: frozenset({_CA}),
    _P.SUBSCRIPTION_IDENTIFIER_AVAILABLE: frozenset({_CA}),
    _P.SHARED_SUBSCRIPTION_AVAILABLE: frozenset({_CA}),
}


class ConnectReturnCode(IntEnum):
    """CONNACK return codes of MQTT 3.1 and 3.1.1 (§3.2.2.3)."""

    ACCEPTED = 0
    UNACCEPTABLE_PROTOCOL_VERSION = 1
    IDENTIFIER_REJECTED = 2
    SERVER_UNAVAILABLE = 3
    BAD_USERNAME_OR_PASSWORD = 4
    NOT_AUTHORIZED = 5


class ConnackReasonCode(IntEnum):
    """MQTT 5.0 §3.2.2.2."""

    SUCCESS = 0x00
    UNSPECIFIED_ERROR = 0x80
    MALFORMED_PACKET = 0x81
    PROTOCOL_ERROR = 0x82
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83
    UNSUPPORTED_PROTOCOL_VERSION = 0x84
    CLIENT_IDENTIFIER_NOT_VALID = 0x85
    BAD_USER_NAME_OR_PASSWORD = 0x86
    NOT_AUTHORIZED = 0x87
    SERVER_UNAVAILABLE = 0x88
    SERVER_BUSY = 0x89
    BANNED = 0x8A
    BAD_AUTHENTICATION_METHOD = 0x8C
    TOPIC_NAME_INVALID = 0x90
    PACKET_TOO_LARGE = 0x95
    QUOTA_EXCEEDED = 0x97
    PAYLOAD_FORMAT_INVALID = 0x99
    RETAIN_NOT_SUPPORTED = 0x9A
    QOS_NOT_SUPPORTED = 0x9B
    USE_ANOTHER_SERVER = 0x9C
    SERVER_MOVED = 0x9D
    CONNECTION_RATE_EXCEEDED = 0x9F


class PubackReasonCode(IntEnum):
    """MQTT 5.0 §3.4.2.1."""

    SUCCESS = 0x00
    NO_MATCHING_SUBSCRIBERS = 0x10
    UNSPECIFIED_ERROR = 0x80
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83
    NOT_AUTHORIZED = 0x87
    TOPIC_NAME_INVALID = 0x90
    PACKET_IDENTIFIER_IN_USE = 0x91
    QUOTA_EXCEEDED = 0x97
    PAYLOAD_FORMAT_INVALID = 0x99


class PubrecReasonCode(IntEnum):
    """MQTT 5.0 §3.5.2.1 (same set as PUBACK)."""

    SUCCESS = 0x00
    NO_MATCHING_SUBSCRIBERS = 0x10
    UNSPECIFIED_ERROR = 0x80
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83
    NOT_AUTHORIZED = 0x87
    TOPIC_NAME_INVALID = 0x90
    PACKET_IDENTIFIER_IN_USE = 0x91
    QUOTA_EXCEEDED = 0x97
    PAYLOAD_FORMAT_INVALID = 0x99


class PubrelReasonCode(IntEnum):
    """MQTT 5.0 §3.6.2.1."""

    SUCCESS = 0x00
    PACKET_IDENTIFIER_NOT_FOUND = 0x92


class PubcompReasonCode(IntEnum):
    """MQTT 5.0 §3.7.2.1."""

    SUCCESS = 0x00
    PACKET_IDENTIFIER_NOT_FOUND = 0x92


class SubackReasonCode(IntEnum):
    """MQTT 5.0 §3.9.3; in 3.1.1 only 0, 1, 2 and 0x80 (Failure) exist."""

    GRANTED_QOS_0 = 0x00
    GRANTED_QOS_1 = 0x01
    GRANTED_QOS_2 = 0x02
    UNSPECIFIED_ERROR = 0x80
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83
    NOT_AUTHORIZED = 0x87
    TOPIC_FILTER_INVALID = 0x8F
    PACKET_IDENTIFIER_IN_USE = 0x91
    QUOTA_EXCEEDED = 0x97
    SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E
    SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1
    WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xA2


class UnsubackReasonCode(IntEnum):
    """MQTT 5.0 §3.11.3."""

    SUCCESS = 0x00
    NO_SUBSCRIPTION_EXISTED = 0x11
    UNSPECIFIED_ERROR = 0x80
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83
    NOT_AUTHORIZED = 0x87
    TOPIC_FILTER_INVALID = 0x8F
    PACKET_IDENTIFIER_IN_USE = 0x91


class DisconnectReasonCode(IntEnum):
    """MQTT 5.0 §3.14.2.1."""

    NORMAL_DISCONNECTION = 0x00
    DISCONNECT_WITH_WILL_MESSAGE = 0x04
    UNSPECIFIED_ERROR = 0x80
    MALFORMED_PACKET = 0x81
    PROTOCOL_ERROR = 0x82
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83
    NOT_AUTHORIZED = 0x87
    SERVER_BUSY = 0x89
    SERVER_SHUTTING_DOWN = 0x8B
    KEEP_ALIVE_TIMEOUT = 0x8D
    SESSION_TAKEN_OVER = 0x8E
    TOPIC_FILTER_INVALID = 0x8F
    TOPIC_NAME_INVALID = 0x90
    RECEIVE_MAXIMUM_EXCEEDED = 0x93
    TOPIC_ALIAS_INVALID = 0x94
    PACKET_TOO_LARGE = 0x95
    MESSAGE_RATE_TOO_HIGH = 0x96
    QUOTA_EXCEEDED = 0x97
    ADMINISTRATIVE_ACTION = 0x98
    PAYLOAD_FORMAT_INVALID = 0x99
    RETAIN_NOT_SUPPORTED = 0x9A
    QOS_NOT_SUPPORTED = 0x9B
    USE_ANOTHER_SERVER = 0x9C
    SERVER_MOVED = 0x9D
    SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E
    CONNECTION_RATE_EXCEEDED = 0x9F
    MAXIMUM_CONNECT_TIME = 0xA0
    SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1
    WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xA2


class AuthReasonCode(IntEnum):
    """MQTT 5.0 §3.15.2.1."""

    SUCCESS = 0x00
    CONTINUE_AUTHENTICATION = 0x18
    RE_AUTHENTICATE = 0x19
