"""CONNACK refusals: one cause per MQTT 3.1.1 return code and per MQTT 5.0 reason code.

Kept apart from :mod:`explorer.diagnose.causes` because the two tables are long; the
causes module merges them into the one ``CAUSES`` table. Where 3.1.1 and 5.0 codes mean
the same thing (not authorized, bad user name or password, server unavailable) they
share a slug.
"""

from __future__ import annotations

from explorer.diagnose.model import Cause
from explorer.mqtt.enums import ConnackReasonCode, ConnectReturnCode

__all__ = ["connack_causes", "connack_slug"]

# MQTT 3.1.1 §3.2.2.3 return codes 1-5.
_V3_CONNACK: dict[ConnectReturnCode, tuple[str, str, str]] = {
    ConnectReturnCode.UNACCEPTABLE_PROTOCOL_VERSION: (
        "connack-unacceptable-protocol-version",
        "the server does not support the MQTT protocol level requested",
        "Connect with another MQTT version (--mqtt-version 3.1.1 or 3.1); --explore tries them.",
    ),
    ConnectReturnCode.IDENTIFIER_REJECTED: (
        "connack-identifier-rejected",
        "the client identifier is not allowed (empty, too long or with characters it refuses)",
        "Use a short alphanumeric client id (--client-id), or set clean session when it is empty.",
    ),
    ConnectReturnCode.SERVER_UNAVAILABLE: (
        "connack-server-unavailable",
        "the network connection is made but the MQTT service is unavailable",
        "Retry later and check the broker's health.",
    ),
    ConnectReturnCode.BAD_USERNAME_OR_PASSWORD: (
        "connack-bad-username-or-password",
        "the user name or password is wrong or malformed",
        "Check --username and the password (--password-stdin, --password-env or the profile's secret).",
    ),
    ConnectReturnCode.NOT_AUTHORIZED: (
        "connack-not-authorized",
        "the client is not authorized to connect",
        "Ask the broker's administrator for access, or use an authorized account.",
    ),
}

# MQTT 5.0 §3.2.2.2 reason codes 0x80 and above.
_V5_CONNACK: dict[ConnackReasonCode, tuple[str, str, str]] = {
    ConnackReasonCode.UNSPECIFIED_ERROR: (
        "connack-unspecified-error",
        "the server refused the connection without saying why",
        "Read the reason string and the broker's log.",
    ),
    ConnackReasonCode.MALFORMED_PACKET: (
        "connack-malformed-packet",
        "the server could not parse the CONNECT packet",
        "Check the MQTT version and any unusual CONNECT properties.",
    ),
    ConnackReasonCode.PROTOCOL_ERROR: (
        "connack-protocol-error",
        "the CONNECT packet broke a protocol rule the server enforces",
        "Remove unusual CONNECT fields or properties and read the reason string.",
    ),
    ConnackReasonCode.IMPLEMENTATION_SPECIFIC_ERROR: (
        "connack-implementation-specific-error",
        "the server refused the CONNECT for a reason of its own",
        "Read the reason string and the broker's log.",
    ),
    ConnackReasonCode.UNSUPPORTED_PROTOCOL_VERSION: (
        "connack-unsupported-protocol-version",
        "the server does not support the MQTT version requested",
        "Connect with MQTT 3.1.1 (--mqtt-version 3.1.1); --explore tries the versions.",
    ),
    ConnackReasonCode.CLIENT_IDENTIFIER_NOT_VALID: (
        "connack-client-identifier-not-valid",
        "the client identifier is valid MQTT but the server does not allow it",
        "Use another client id (--client-id).",
    ),
    ConnackReasonCode.BAD_USER_NAME_OR_PASSWORD: (
        "connack-bad-username-or-password",
        "the user name or password is wrong or malformed",
        "Check --username and the password (--password-stdin, --password-env or the profile's secret).",
    ),
    ConnackReasonCode.NOT_AUTHORIZED: (
        "connack-not-authorized",
        "the client is not authorized to connect",
        "Ask the broker's administrator for access, or use an authorized account.",
    ),
    ConnackReasonCode.SERVER_UNAVAILABLE: (
        "connack-server-unavailable",
        "the MQTT server is not available",
        "Retry later and check the broker's health.",
    ),
    ConnackReasonCode.SERVER_BUSY: (
        "connack-server-busy",
        "the server is busy",
        "Retry later, with backoff.",
    ),
    ConnackReasonCode.BANNED: (
        "connack-banned",
        "this client has been banned by the administrator",
        "Ask the broker's administrator why the client is banned.",
    ),
    ConnackReasonCode.BAD_AUTHENTICATION_METHOD: (
        "connack-bad-authentication-method",
        "the authentication method is not supported or does not match the one in use",
        "Check the authentication method, or leave it out for user name and password authentication.",
    ),
    ConnackReasonCode.TOPIC_NAME_INVALID: (
        "connack-topic-name-invalid",
        "the Will topic name is not malformed but the server does not accept it",
        "Use another Will topic.",
    ),
    ConnackReasonCode.PACKET_TOO_LARGE: (
        "connack-packet-too-large",
        "the CONNECT packet exceeds the server's maximum packet size",
        "Send a smaller Will message, fewer user properties or shorter credentials.",
    ),
    ConnackReasonCode.QUOTA_EXCEEDED: (
        "connack-quota-exceeded",
        "an implementation or administrative limit was exceeded",
        "Close other connections of this account or ask for a higher quota.",
    ),
    ConnackReasonCode.PAYLOAD_FORMAT_INVALID: (
        "connack-payload-format-invalid",
        "the Will payload does not match its Payload Format Indicator",
        "Send a UTF-8 Will payload or drop the payload format indicator.",
    ),
    ConnackReasonCode.RETAIN_NOT_SUPPORTED: (
        "connack-retain-not-supported",
        "the Will asks for retain but the server does not support retained messages",
        "Clear the Will's retain flag.",
    ),
    ConnackReasonCode.QOS_NOT_SUPPORTED: (
        "connack-qos-not-supported",
        "the Will QoS is higher than the server supports",
        "Lower the Will QoS.",
    ),
    ConnackReasonCode.USE_ANOTHER_SERVER: (
        "connack-use-another-server",
        "the server asks the client to use another server temporarily ({server_reference})",
        "Connect to the server named in the Server Reference property.",
    ),
    ConnackReasonCode.SERVER_MOVED: (
        "connack-server-moved",
        "the server has moved permanently ({server_reference})",
        "Update the URL to the server named in the Server Reference property.",
    ),
    ConnackReasonCode.CONNECTION_RATE_EXCEEDED: (
        "connack-connection-rate-exceeded",
        "the connection rate limit has been exceeded",
        "Connect less often; reconnect with backoff.",
    ),
}


def connack_causes() -> list[Cause]:
    """One cause per refusal meaning; 3.1.1 and 5.0 codes with the same meaning share it."""
    entries: dict[str, Cause] = {}
    for table in (_V3_CONNACK, _V5_CONNACK):
        for code, (slug, why, fix) in table.items():
            if slug in entries:
                continue
            entries[slug] = Cause(
                slug,
                "mqtt",
                f"CONNACK {code.name.replace('_', ' ').lower()}",
                f"The broker refused the connection with CONNACK {{connack_code}}: {why}. "
                "Reason string: {reason_string}.",
                fix,
            )
    return list(entries.values())


def connack_slug(code: int, version: int) -> str:
    """The cause slug for a refusing CONNACK code (return code in 3.x, reason code in 5.0)."""
    if version >= 5:
        try:
            return _V5_CONNACK[ConnackReasonCode(code)][0]
        except (ValueError, KeyError):
            return "connack-unspecified-error"
    try:
        return _V3_CONNACK[ConnectReturnCode(code)][0]
    except (ValueError, KeyError):
        return "connack-unspecified-error"
