"""Malformed packets: bytes that must be rejected, with the offset and reason expected.

Each entry is written by hand from the rule it breaks; ``version`` ``None`` means the
decoder's default (3.1.1), which CONNECT ignores anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.mqtt.enums import ProtocolVersion
from tests.mqtt.golden import V5, V311, b


@dataclass(frozen=True)
class Bad:
    name: str
    version: ProtocolVersion | None
    data: bytes
    offset: int
    reason: str  # a fragment of the reason

    def __str__(self) -> str:
        return self.name


MALFORMED: list[Bad] = [
    Bad("reserved-type-0", V311, b("00 00"), 0, "type 0 is reserved"),
    Bad("pubrel-flags", V311, b("60 02 00 01"), 0, "flags must be 0b0010"),
    Bad("subscribe-flags", V311, b("80 06 00 01 00 01", b"a", "00"), 0, "flags must be 0b0010"),
    Bad("unsubscribe-flags", V311, b("a0 05 00 01 00 01", b"a"), 0, "flags must be 0b0010"),
    Bad("puback-flags", V311, b("41 02 00 01"), 0, "flags must be 0"),
    Bad("publish-qos-3", V311, b("36 05 00 01", b"t", "00 01"), 0, "QoS must not be 3"),
    Bad("publish-dup-on-qos0", V311, b("38 04 00 01", b"tx"), 0, "DUP must be 0"),
    Bad("remaining-length-5-bytes", V311, b("30 ff ff ff ff 01"), 4, "longer than 4 bytes"),
    Bad("remaining-length-mismatch", V311, b("40 02 00"), 3, "announces"),
    Bad("too-short", V311, b("c0"), 1, "at least 2 bytes"),
    Bad("remaining-length-truncated", V311, b("30 80"), 2, "truncated"),
    Bad("topic-invalid-utf8", V311, b("30 05 00 02 c3 28", b"x"), 4, "not valid UTF-8"),
    Bad("topic-surrogate", V311, b("30 05 00 03 ed a0 80"), 4, "not valid UTF-8"),
    Bad("topic-nul", V311, b("30 05 00 02", b"a", "00", b"x"), 5, "U+0000"),
    Bad("topic-length-past-end", V311, b("30 04 00 05", b"ab"), 2, "runs past the end"),
    Bad("publish-qos1-packet-id-0", V311, b("32 05 00 01", b"t", "00 00"), 5, "must not be 0"),
    Bad("publish-qos1-packet-id-missing", V311, b("32 03 00 01", b"t"), 5, "needs 2 bytes"),
    Bad("puback-packet-id-0", V311, b("40 02 00 00"), 2, "must not be 0"),
    Bad("puback-311-trailing-byte", V311, b("40 03 00 07 00"), 4, "unexpected bytes"),
    Bad("pingreq-trailing-byte", V311, b("c0 01 00"), 2, "unexpected bytes"),
    Bad("disconnect-311-trailing-byte", V311, b("e0 01 00"), 2, "unexpected bytes"),
    Bad("subscribe-no-filters", V311, b("82 02 00 01"), 4, "at least one topic filter"),
    Bad("subscribe-packet-id-0", V311, b("82 06 00 00 00 01", b"a", "00"), 2, "must not be 0"),
    Bad("subscribe-options-missing", V311, b("82 05 00 01 00 01", b"a"), 7, "options are missing"),
    Bad("subscribe-311-reserved-option-bits", V311, b("82 06 00 01 00 01", b"a", "04"), 7, "bits 7-2"),
    Bad("subscribe-qos-3", V311, b("82 06 00 01 00 01", b"a", "03"), 7, "QoS must not be 3"),
    Bad("unsubscribe-no-filters", V311, b("a2 02 00 01"), 4, "at least one topic filter"),
    Bad("suback-311-unknown-code", V311, b("90 03 00 01 87"), 4, "not a valid SUBACK"),
    Bad("suback-no-codes", V311, b("90 02 00 01"), 4, "at least one reason code"),
    Bad("unsuback-311-trailing", V311, b("b0 03 00 01 00"), 4, "unexpected bytes"),
    Bad("connack-311-unknown-code", V311, b("20 02 00 06"), 3, "not a valid CONNACK"),
    Bad("connack-reserved-flags", V311, b("20 02 02 00"), 2, "bits 7-1"),
    Bad("connack-short", V311, b("20 01 00"), 2, "at least 2 bytes"),
    Bad("auth-in-311", V311, b("f0 00"), 0, "only in MQTT 5.0"),
    Bad(
        "connect-reserved-flag",
        None,
        b("10 0e 00 04", b"MQTT", "04 03 00 3c 00 02", b"c1"),
        9,
        "MQTT-3.1.2-3",
    ),
    Bad(
        "connect-will-qos-without-will",
        None,
        b("10 0e 00 04", b"MQTT", "04 0a 00 3c 00 02", b"c1"),
        9,
        "without a Will",
    ),
    Bad(
        "connect-will-retain-without-will",
        None,
        b("10 0e 00 04", b"MQTT", "04 22 00 3c 00 02", b"c1"),
        9,
        "without a Will",
    ),
    Bad(
        "connect-will-qos-3",
        None,
        b("10 0e 00 04", b"MQTT", "04 1e 00 3c 00 02", b"c1"),
        9,
        "MQTT-3.1.2-14",
    ),
    Bad(
        "connect-311-password-without-username",
        None,
        b("10 11 00 04", b"MQTT", "04 42 00 3c 00 02", b"c1", "00 01", b"p"),
        9,
        "MQTT-3.1.2-22",
    ),
    Bad(
        "connect-unknown-protocol",
        None,
        b("10 0e 00 04", b"MQTX", "04 02 00 3c 00 02", b"c1"),
        2,
        "unsupported",
    ),
    Bad(
        "connect-name-level-mismatch",
        None,
        b("10 0e 00 04", b"MQTT", "03 02 00 3c 00 02", b"c1"),
        2,
        "unsupported",
    ),
    Bad(
        "connect-trailing-byte",
        None,
        b("10 0f 00 04", b"MQTT", "04 02 00 3c 00 02", b"c1", "00"),
        16,
        "unexpected bytes",
    ),
    Bad(
        "connect-will-missing", None, b("10 0e 00 04", b"MQTT", "04 06 00 3c 00 02", b"c1"), 16, "will topic"
    ),
    Bad("connect-truncated-before-level", None, b("10 06 00 04", b"MQTT"), 8, "protocol level"),
    Bad("puback-5-unknown-reason", V5, b("40 03 00 05 01"), 4, "not a valid PUBACK"),
    Bad("puback-5-property-not-allowed", V5, b("40 07 00 05 00 03 23 00 01"), 6, "not allowed in PUBACK"),
    Bad("puback-5-property-length-past-end", V5, b("40 04 00 05 00 05"), 6, "runs past the end"),
    Bad(
        "publish-5-duplicate-property", V5, b("30 0a 00 01", b"t", "06 23 00 01 23 00 02"), 9, "appears twice"
    ),
    Bad("publish-5-unknown-property", V5, b("30 06 00 01", b"t", "02 05 00"), 6, "unknown property"),
    Bad("publish-5-payload-format-2", V5, b("30 06 00 01", b"t", "02 01 02"), 6, "must be 0 or 1"),
    Bad("publish-5-topic-alias-0", V5, b("30 07 00 01", b"t", "03 23 00 00"), 6, "must not be 0"),
    Bad("publish-5-empty-topic-without-alias", V5, b("30 03 00 00 00"), 2, "no Topic Alias"),
    Bad("publish-5-property-truncated", V5, b("30 06 00 01", b"t", "02 02 00"), 7, "needs 4 bytes"),
    Bad("publish-5-bad-user-property", V5, b("30 08 00 01", b"t", "04 26 00 01 00"), 9, "U+0000"),
    Bad(
        "subscribe-5-two-subscription-identifiers",
        V5,
        b("82 0b 00 01 04 0b 01 0b 02 00 01", b"a", "00"),
        7,
        "appears twice",
    ),
    Bad("subscribe-5-reserved-option-bits", V5, b("82 07 00 01 00 00 01", b"a", "40"), 8, "bits 7-6"),
    Bad("subscribe-5-retain-handling-3", V5, b("82 07 00 01 00 00 01", b"a", "30"), 8, "Retain Handling 3"),
    Bad("suback-5-unknown-code", V5, b("90 04 00 01 00 03"), 5, "not a valid SUBACK"),
    Bad("unsuback-5-no-codes", V5, b("b0 03 00 01 00"), 5, "at least one reason code"),
    Bad("unsuback-5-unknown-code", V5, b("b0 04 00 01 00 01"), 5, "not a valid UNSUBACK"),
    Bad("connack-5-unknown-code", V5, b("20 03 00 01 00"), 3, "not a valid CONNACK"),
    Bad("connack-5-property-not-allowed", V5, b("20 05 00 00 02 01 01"), 5, "not allowed in CONNACK"),
    Bad("disconnect-5-unknown-code", V5, b("e0 01 05"), 2, "not a valid DISCONNECT"),
    Bad("disconnect-5-trailing", V5, b("e0 03 00 00 00"), 4, "unexpected bytes"),
    Bad("auth-5-unknown-code", V5, b("f0 01 01"), 2, "not a valid AUTH"),
    Bad(
        "connect-5-will-property-not-allowed",
        None,
        b("10 16 00 04", b"MQTT", "05 06 00 3c 00 00 01", b"c", "02 23 01 00 01", b"w", "00 00"),
        17,
        "not allowed in Will",
    ),
]
