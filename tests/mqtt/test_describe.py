"""One-line summaries (golden strings) and password masking."""

from __future__ import annotations

import pytest

from explorer.masking import mask_password
from explorer.mqtt.codec import decode, encode
from explorer.mqtt.describe import describe
from explorer.mqtt.enums import (
    AuthReasonCode,
    ConnackReasonCode,
    ConnectReturnCode,
    DisconnectReasonCode,
    PubackReasonCode,
    RetainHandling,
    SubackReasonCode,
    UnsubackReasonCode,
)
from explorer.mqtt.packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    Packet,
    Pingreq,
    Pingresp,
    Properties,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
)
from tests.mqtt.golden import GOLDEN, V5, V31, V311

SECRET = b"s3cr3t-pa55"

DESCRIPTIONS: list[tuple[Packet, str]] = [
    (
        Publish("sensors/t", bytes(23), qos=1, retain=True, packet_id=7),
        "PUBLISH QoS1 id=7 sensors/t 23 B retain",
    ),
    (Publish("a/b", b""), "PUBLISH QoS0 a/b 0 B"),
    (Publish("a/b", b"", properties=Properties(topic_alias=3)), "PUBLISH QoS0 a/b 0 B alias=3"),
    (Publish("a/b", b"x", qos=2, dup=True, packet_id=1), "PUBLISH QoS2 id=1 a/b 1 B dup"),
    (
        Publish("", b"xy", properties=Properties(topic_alias=3, user_properties=(("k", "v"),))),
        "PUBLISH QoS0 <alias 3> 2 B user-props=1",
    ),
    (
        Connect(
            protocol_version=V5,
            client_id="mqttjs-311",
            keep_alive=60,
            username="bench",
            password=SECRET,
            will=Will("will/x", b"bye"),
        ),
        "CONNECT v5 id=mqttjs-311 clean keepalive=60 user=bench password=*** will=will/x",
    ),
    (Connect(client_id="c", clean_start=False, keep_alive=0), "CONNECT v3.1.1 id=c keepalive=0"),
    (Connect(protocol_version=V31, client_id="old"), "CONNECT v3.1 id=old clean keepalive=60"),
    (Connack(reason_code=ConnectReturnCode.ACCEPTED), "CONNACK 0 Accepted"),
    (
        Connack(session_present=True, reason_code=ConnectReturnCode.BAD_USERNAME_OR_PASSWORD),
        "CONNACK 4 Bad username or password session-present",
    ),
    (Connack(reason_code=ConnackReasonCode.SUCCESS), "CONNACK 0x00 Success"),
    (
        Connack(reason_code=ConnackReasonCode.NOT_AUTHORIZED, properties=Properties(reason_string="no")),
        "CONNACK 0x87 Not authorized reason='no'",
    ),
    (Puback(7), "PUBACK id=7"),
    (Puback(7, PubackReasonCode.NO_MATCHING_SUBSCRIBERS), "PUBACK id=7 0x10 No matching subscribers"),
    (Pubrec(8), "PUBREC id=8"),
    (Pubrel(8), "PUBREL id=8"),
    (Pubcomp(8), "PUBCOMP id=8"),
    (
        Subscribe(
            3,
            (
                Subscription("a/#", 1),
                Subscription(
                    "b",
                    2,
                    no_local=True,
                    retain_as_published=True,
                    retain_handling=RetainHandling.DO_NOT_SEND,
                ),
            ),
            Properties(subscription_identifiers=(5,)),
        ),
        "SUBSCRIBE id=3 [a/# QoS1, b QoS2 no-local rap rh=2] subid=5",
    ),
    (
        Suback(3, (SubackReasonCode.GRANTED_QOS_1, SubackReasonCode.NOT_AUTHORIZED)),
        "SUBACK id=3 [1, 0x87 Not authorized]",
    ),
    (Unsubscribe(4, ("a/#", "b")), "UNSUBSCRIBE id=4 [a/#, b]"),
    (Unsuback(4), "UNSUBACK id=4"),
    (
        Unsuback(4, (UnsubackReasonCode.SUCCESS, UnsubackReasonCode.NO_SUBSCRIPTION_EXISTED)),
        "UNSUBACK id=4 [0, 0x11 No subscription existed]",
    ),
    (Pingreq(), "PINGREQ"),
    (Pingresp(), "PINGRESP"),
    (Disconnect(), "DISCONNECT"),
    (Disconnect(DisconnectReasonCode.SESSION_TAKEN_OVER), "DISCONNECT 0x8E Session taken over"),
    (
        Auth(AuthReasonCode.CONTINUE_AUTHENTICATION, Properties(authentication_method="SCRAM-SHA-1")),
        "AUTH 0x18 Continue authentication method=SCRAM-SHA-1",
    ),
]


@pytest.mark.parametrize(("packet", "text"), DESCRIPTIONS, ids=[t for _, t in DESCRIPTIONS])
def test_describe_gives_the_expected_line(packet: Packet, text: str) -> None:
    assert describe(packet) == text


@pytest.mark.parametrize("case", GOLDEN, ids=str)
def test_every_golden_packet_has_a_one_line_summary_starting_with_its_type(case: object) -> None:
    line = describe(case.packet)  # type: ignore[attr-defined]
    assert "\n" not in line
    assert line.split()[0] == type(case.packet).__name__.upper()  # type: ignore[attr-defined]


@pytest.mark.parametrize("version", [V31, V311, V5], ids=lambda v: v.label)
def test_the_password_never_appears_in_a_summary_or_masked_bytes(version: object) -> None:
    packet = Connect(protocol_version=version, client_id="c", username="u", password=SECRET)  # type: ignore[arg-type]
    raw = encode(packet, version)  # type: ignore[arg-type]
    assert SECRET in raw
    assert SECRET.decode() not in describe(packet)
    assert "password=***" in describe(packet)
    masked = mask_password(raw, packet)
    assert SECRET not in masked
    assert len(masked) == len(raw)
    assert masked.endswith(b"*" * len(SECRET))
    assert masked[: -len(SECRET)] == raw[: -len(SECRET)]  # every other offset unchanged
    # the masked packet still decodes: only the password bytes differ
    assert decode(masked).password == b"*" * len(SECRET)  # type: ignore[union-attr]


def test_mask_password_leaves_other_packets_and_passwordless_connects_alone() -> None:
    publish = Publish("t", SECRET)
    raw = encode(publish)
    assert mask_password(raw, publish) is raw
    connect = Connect(client_id="c", username="u")
    raw = encode(connect)
    assert mask_password(raw, connect) == raw
