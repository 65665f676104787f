"""Golden packets: hand-written bytes checked against the MQTT 3.1, 3.1.1 and 5.0 texts.

One table drives the encoder and the decoder tests (``GOLDEN``: bytes <-> packet in both
directions), plus ``DECODE_ONLY`` for forms the decoder accepts but the encoder does not
produce (the spec allows several encodings). Bytes that must be rejected are in
``tests/mqtt/malformed.py``. Each byte string is written field by field with the spec's
layout in mind; comments give the remaining-length arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.mqtt.enums import (
    AuthReasonCode,
    ConnackReasonCode,
    ConnectReturnCode,
    DisconnectReasonCode,
    ProtocolVersion,
    PubackReasonCode,
    PubcompReasonCode,
    PubrecReasonCode,
    PubrelReasonCode,
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

V31, V311, V5 = ProtocolVersion.V31, ProtocolVersion.V311, ProtocolVersion.V5


def b(*parts: str | bytes) -> bytes:
    """Hex fields (``"00 04"``) and literal bytes (``b"MQTT"``) joined in order."""
    return b"".join(bytes.fromhex(p) if isinstance(p, str) else p for p in parts)


@dataclass(frozen=True)
class Case:
    name: str
    version: ProtocolVersion
    packet: Packet
    data: bytes

    def __str__(self) -> str:
        return self.name


# --- MQTT 5.0 property blocks used below -----------------------------------------------

# CONNECT properties, by identifier; 47 bytes.
CONNECT_PROPS = Properties(
    session_expiry_interval=120,
    authentication_method="SCRAM",
    authentication_data=b"\x01\x02",
    request_problem_information=0,
    request_response_information=1,
    receive_maximum=20,
    topic_alias_maximum=10,
    user_properties=(("k", "v"), ("k", "w")),
    maximum_packet_size=4096,
)
CONNECT_PROPS_BYTES = b(
    "2f",  # 47
    "11 00 00 00 78",  # Session Expiry Interval 120 (5)
    "15 00 05",
    b"SCRAM",  # Authentication Method (8)
    "16 00 02 01 02",  # Authentication Data (5)
    "17 00",  # Request Problem Information 0 (2)
    "19 01",  # Request Response Information 1 (2)
    "21 00 14",  # Receive Maximum 20 (3)
    "22 00 0a",  # Topic Alias Maximum 10 (3)
    "26 00 01",
    b"k",
    "00 01",
    b"v",  # User Property k=v (7)
    "26 00 01",
    b"k",
    "00 01",
    b"w",  # User Property k=w (7): repeated, order kept
    "27 00 00 10 00",  # Maximum Packet Size 4096 (5)
)

# Will properties (MQTT 5.0 §3.1.3.2); 43 bytes.
WILL_PROPS = Properties(
    payload_format_indicator=1,
    message_expiry_interval=60,
    content_type="text/plain",
    response_topic="r/t",
    correlation_data=b"\xab\xcd",
    will_delay_interval=5,
    user_properties=(("a", "b"),),
)
WILL_PROPS_BYTES = b(
    "2b",  # 43
    "01 01",  # Payload Format Indicator (2)
    "02 00 00 00 3c",  # Message Expiry Interval 60 (5)
    "03 00 0a",
    b"text/plain",  # Content Type (13)
    "08 00 03",
    b"r/t",  # Response Topic (6)
    "09 00 02 ab cd",  # Correlation Data (5)
    "18 00 00 00 05",  # Will Delay Interval 5 (5)
    "26 00 01",
    b"a",
    "00 01",
    b"b",  # User Property (7)
)

# CONNACK properties; 74 bytes.
CONNACK_PROPS = Properties(
    session_expiry_interval=10,
    assigned_client_identifier="srv",
    server_keep_alive=30,
    authentication_method="SCRAM",
    authentication_data=b"\xff",
    response_information="resp",
    server_reference="other",
    reason_string="ok",
    receive_maximum=10,
    topic_alias_maximum=5,
    maximum_qos=1,
    retain_available=0,
    user_properties=(("k", "v"),),
    maximum_packet_size=65536,
    wildcard_subscription_available=1,
    subscription_identifier_available=0,
    shared_subscription_available=1,
)
CONNACK_PROPS_BYTES = b(
    "4a",  # 74
    "11 00 00 00 0a",  # Session Expiry Interval (5)
    "12 00 03",
    b"srv",  # Assigned Client Identifier (6)
    "13 00 1e",  # Server Keep Alive 30 (3)
    "15 00 05",
    b"SCRAM",  # Authentication Method (8)
    "16 00 01 ff",  # Authentication Data (4)
    "1a 00 04",
    b"resp",  # Response Information (7)
    "1c 00 05",
    b"other",  # Server Reference (8)
    "1f 00 02",
    b"ok",  # Reason String (5)
    "21 00 0a",  # Receive Maximum (3)
    "22 00 05",  # Topic Alias Maximum (3)
    "24 01",  # Maximum QoS (2)
    "25 00",  # Retain Available (2)
    "26 00 01",
    b"k",
    "00 01",
    b"v",  # User Property (7)
    "27 00 01 00 00",  # Maximum Packet Size 65536 (5)
    "28 01",  # Wildcard Subscription Available (2)
    "29 00",  # Subscription Identifier Available (2)
    "2a 01",  # Shared Subscription Available (2)
)

# PUBLISH properties, two Subscription Identifiers (§3.3.2.3.8); 39 bytes.
PUBLISH_PROPS = Properties(
    payload_format_indicator=1,
    message_expiry_interval=60,
    content_type="json",
    response_topic="r/t",
    correlation_data=b"\x07",
    subscription_identifiers=(5, 128),
    topic_alias=3,
    user_properties=(("k", "v"),),
)
PUBLISH_PROPS_BYTES = b(
    "27",  # 39
    "01 01",  # (2)
    "02 00 00 00 3c",  # (5)
    "03 00 04",
    b"json",  # (7)
    "08 00 03",
    b"r/t",  # (6)
    "09 00 01 07",  # (4)
    "0b 05",  # Subscription Identifier 5 (2)
    "0b 80 01",  # Subscription Identifier 128, two-byte varint (3)
    "23 00 03",  # Topic Alias 3 (3)
    "26 00 01",
    b"k",
    "00 01",
    b"v",  # (7)
)

KV = b("26 00 01", b"k", "00 01", b"v")  # one User Property k=v, 7 bytes
UP = (("k", "v"),)


GOLDEN: list[Case] = [
    # ---------------------------------------------------------------- MQTT 3.1.1
    Case(
        "connect-311-minimal",
        V311,
        Connect(client_id="c1", keep_alive=60),
        # 2+4 name, 1 level, 1 flags, 2 keep alive, 2+2 client id = 14
        b("10 0e", "00 04", b"MQTT", "04", "02", "00 3c", "00 02", b"c1"),
    ),
    Case(
        "connect-311-will-user-password",
        V311,
        Connect(
            client_id="id",
            clean_start=False,
            keep_alive=10,
            username="u",
            password=b"p",
            will=Will("w/t", b"bye", qos=1, retain=True),
        ),
        # flags: user 0x80 | password 0x40 | will retain 0x20 | will QoS1 0x08 | will 0x04 = 0xec
        # 10 + 4 id + 5 will topic + 5 will payload + 3 user + 3 password = 30
        b(
            "10 1e",
            "00 04",
            b"MQTT",
            "04 ec 00 0a",
            "00 02",
            b"id",
            "00 03",
            b"w/t",
            "00 03",
            b"bye",
            "00 01",
            b"u",
            "00 01",
            b"p",
        ),
    ),
    Case(
        "connack-311-session-present",
        V311,
        Connack(session_present=True, reason_code=ConnectReturnCode.ACCEPTED),
        b("20 02 01 00"),
    ),
    Case(
        "connack-311-not-authorized",
        V311,
        Connack(reason_code=ConnectReturnCode.NOT_AUTHORIZED),
        b("20 02 00 05"),
    ),
    Case("publish-311-qos0", V311, Publish("a/b", b"hi"), b("30 07 00 03", b"a/b", b"hi")),
    Case(
        "publish-311-qos1-retain-dup",
        V311,
        Publish("t", b"x", qos=1, retain=True, dup=True, packet_id=7),
        b("3b 06 00 01", b"t", "00 07", b"x"),  # 0x30 | dup 0x08 | QoS1 0x02 | retain 0x01
    ),
    Case(
        "publish-311-qos2-empty-payload",
        V311,
        Publish("t", b"", qos=2, packet_id=0x1234),
        b("34 05 00 01", b"t", "12 34"),
    ),
    Case(
        "publish-311-two-byte-remaining-length",
        V311,
        Publish("t", bytes(200)),
        b("30 cb 01 00 01", b"t", bytes(200)),  # 203 = 0x4b + 1*128
    ),
    Case("puback-311", V311, Puback(7), b("40 02 00 07")),
    Case("pubrec-311", V311, Pubrec(7), b("50 02 00 07")),
    Case("pubrel-311", V311, Pubrel(7), b("62 02 00 07")),  # flags 0b0010 [MQTT-3.6.1-1]
    Case("pubcomp-311", V311, Pubcomp(7), b("70 02 00 07")),
    Case(
        "subscribe-311",
        V311,
        Subscribe(10, (Subscription("a/+", 1), Subscription("#", 0))),
        b("82 0c 00 0a", "00 03", b"a/+", "01", "00 01", b"#", "00"),  # 2 + 6 + 4
    ),
    Case(
        "suback-311-granted-and-failure",
        V311,
        Suback(10, (SubackReasonCode.GRANTED_QOS_1, SubackReasonCode.UNSPECIFIED_ERROR)),
        b("90 04 00 0a 01 80"),
    ),
    Case(
        "unsubscribe-311",
        V311,
        Unsubscribe(11, ("a/+", "#")),
        b("a2 0a 00 0b", "00 03", b"a/+", "00 01", b"#"),
    ),
    Case("unsuback-311", V311, Unsuback(11), b("b0 02 00 0b")),
    Case("pingreq-311", V311, Pingreq(), b("c0 00")),
    Case("pingresp-311", V311, Pingresp(), b("d0 00")),
    Case("disconnect-311", V311, Disconnect(), b("e0 00")),
    # ---------------------------------------------------------------- MQTT 3.1
    Case(
        "connect-31",
        V31,
        Connect(protocol_version=V31, client_id="c31", keep_alive=30),
        # 2+6 name, level 3, flags, keep alive, 2+3 id = 17
        b("10 11", "00 06", b"MQIsdp", "03", "02", "00 1e", "00 03", b"c31"),
    ),
    Case(
        "connect-31-user-password",
        V31,
        Connect(protocol_version=V31, client_id="c", username="u", password=b"pw"),
        b("10 16", "00 06", b"MQIsdp", "03 c2 00 3c", "00 01", b"c", "00 01", b"u", "00 02", b"pw"),
    ),
    Case("connack-31", V31, Connack(reason_code=ConnectReturnCode.IDENTIFIER_REJECTED), b("20 02 00 02")),
    Case(
        "publish-31-qos1",
        V31,
        Publish("x/y", b"1", qos=1, packet_id=1),
        b("32 08 00 03", b"x/y", "00 01", b"1"),
    ),
    Case("puback-31", V31, Puback(1), b("40 02 00 01")),
    Case("subscribe-31", V31, Subscribe(2, (Subscription("x/#", 2),)), b("82 08 00 02 00 03", b"x/#", "02")),
    Case("suback-31", V31, Suback(2, (SubackReasonCode.GRANTED_QOS_2,)), b("90 03 00 02 02")),
    Case("unsubscribe-31", V31, Unsubscribe(3, ("x/#",)), b("a2 07 00 03 00 03", b"x/#")),
    Case("unsuback-31", V31, Unsuback(3), b("b0 02 00 03")),
    Case("pingreq-31", V31, Pingreq(), b("c0 00")),
    Case("disconnect-31", V31, Disconnect(), b("e0 00")),
    # ---------------------------------------------------------------- MQTT 5.0
    Case(
        "connect-5-minimal",
        V5,
        Connect(protocol_version=V5, client_id="c1", keep_alive=60),
        # 2+4 name, level 5, flags, keep alive, property length 0, 2+2 id = 15
        b("10 0f", "00 04", b"MQTT", "05 02 00 3c", "00", "00 02", b"c1"),
    ),
    Case(
        "connect-5-every-property-and-will-property",
        V5,
        Connect(
            protocol_version=V5,
            client_id="cid",
            keep_alive=300,
            username="user",
            password=b"pw",
            will=Will("w", b"gone", qos=2, properties=WILL_PROPS),
            properties=CONNECT_PROPS,
        ),
        # flags: user 0x80 | password 0x40 | will QoS2 0x10 | will 0x04 | clean 0x02 = 0xd6
        # 10 + 48 props + 5 id + 44 will props + 3 will topic + 6 will payload + 6 user + 4 pw = 126
        b(
            "10 7e",
            "00 04",
            b"MQTT",
            "05 d6 01 2c",
            CONNECT_PROPS_BYTES,
            "00 03",
            b"cid",
            WILL_PROPS_BYTES,
            "00 01",
            b"w",
            "00 04",
            b"gone",
            "00 04",
            b"user",
            "00 02",
            b"pw",
        ),
    ),
    Case(
        "connect-5-password-without-username",
        V5,
        Connect(protocol_version=V5, client_id="", password=b"tok"),  # allowed in 5.0 (§3.1.2.9)
        b("10 12", "00 04", b"MQTT", "05 42 00 3c", "00", "00 00", "00 03", b"tok"),
    ),
    Case(
        "connack-5-every-property",
        V5,
        Connack(reason_code=ConnackReasonCode.SUCCESS, properties=CONNACK_PROPS),
        b("20 4d 00 00", CONNACK_PROPS_BYTES),  # 2 + 1 + 74 = 77
    ),
    Case(
        "connack-5-refused",
        V5,
        Connack(reason_code=ConnackReasonCode.NOT_AUTHORIZED),
        b("20 03 00 87 00"),
    ),
    Case(
        "connack-5-answered-by-a-311-server",
        V5,
        Connack(reason_code=ConnectReturnCode.UNACCEPTABLE_PROTOCOL_VERSION),
        b("20 02 00 01"),
    ),
    Case("publish-5-qos0-no-properties", V5, Publish("t", b"x"), b("30 05 00 01", b"t", "00", b"x")),
    Case(
        "publish-5-every-property",
        V5,
        Publish("t/1", b"{}", qos=1, packet_id=5, properties=PUBLISH_PROPS),
        b("32 31 00 03", b"t/1", "00 05", PUBLISH_PROPS_BYTES, b"{}"),  # 5 + 2 + 40 + 2 = 49
    ),
    Case(
        "publish-5-topic-alias-only",
        V5,
        Publish("", b"x", properties=Properties(topic_alias=2)),
        b("30 07 00 00 03 23 00 02", b"x"),
    ),
    Case("puback-5-short", V5, Puback(5), b("40 02 00 05")),  # §3.4.2.1: Success, no properties
    Case(
        "puback-5-reason-only",
        V5,
        Puback(5, PubackReasonCode.NO_MATCHING_SUBSCRIBERS),
        b("40 03 00 05 10"),
    ),
    Case(
        "puback-5-reason-and-properties",
        V5,
        Puback(5, PubackReasonCode.NOT_AUTHORIZED, Properties(reason_string="deny", user_properties=UP)),
        b("40 12 00 05 87 0e 1f 00 04", b"deny", KV),  # 2 + 1 + 1 + 14
    ),
    Case(
        "puback-5-success-with-properties",
        V5,
        Puback(5, properties=Properties(reason_string="note")),
        b("40 0b 00 05 00 07 1f 00 04", b"note"),
    ),
    Case("pubrec-5", V5, Pubrec(6, PubrecReasonCode.UNSPECIFIED_ERROR), b("50 03 00 06 80")),
    Case("pubrel-5", V5, Pubrel(6, PubrelReasonCode.PACKET_IDENTIFIER_NOT_FOUND), b("62 03 00 06 92")),
    Case("pubcomp-5", V5, Pubcomp(6, PubcompReasonCode.PACKET_IDENTIFIER_NOT_FOUND), b("70 03 00 06 92")),
    Case(
        "pubcomp-5-properties",
        V5,
        Pubcomp(6, properties=Properties(user_properties=UP)),
        b("70 0b 00 06 00 07", KV),
    ),
    Case(
        "subscribe-5-options-and-properties",
        V5,
        Subscribe(
            10,
            (
                Subscription(
                    "a/b",
                    2,
                    no_local=True,
                    retain_as_published=True,
                    retain_handling=RetainHandling.DO_NOT_SEND,
                ),
                Subscription("$share/g/c/#", 1, retain_handling=RetainHandling.SEND_IF_NEW_SUBSCRIPTION),
            ),
            Properties(subscription_identifiers=(7,), user_properties=UP),
        ),
        # options: QoS2 | no local 0x04 | RAP 0x08 | RH2 0x20 = 0x2e; QoS1 | RH1 0x10 = 0x11
        # 2 + (1 + 9) + 6 + 15 = 33
        b("82 21 00 0a 09 0b 07", KV, "00 03", b"a/b", "2e", "00 0c", b"$share/g/c/#", "11"),
    ),
    Case(
        "suback-5-every-reason-code",
        V5,
        Suback(10, tuple(SubackReasonCode)),
        b("90 0f 00 0a 00 00 01 02 80 83 87 8f 91 97 9e a1 a2"),
    ),
    Case(
        "suback-5-reason-string",
        V5,
        Suback(10, (SubackReasonCode.GRANTED_QOS_0,), Properties(reason_string="r")),
        b("90 08 00 0a 04 1f 00 01", b"r", "00"),
    ),
    Case(
        "unsubscribe-5",
        V5,
        Unsubscribe(11, ("a/b",), Properties(user_properties=UP)),
        b("a2 0f 00 0b 07", KV, "00 03", b"a/b"),
    ),
    Case(
        "unsuback-5-every-reason-code",
        V5,
        Unsuback(11, tuple(UnsubackReasonCode)),
        b("b0 0a 00 0b 00 00 11 80 83 87 8f 91"),
    ),
    Case("pingreq-5", V5, Pingreq(), b("c0 00")),
    Case("pingresp-5", V5, Pingresp(), b("d0 00")),
    Case("disconnect-5-short", V5, Disconnect(), b("e0 00")),  # §3.14.2.1
    Case(
        "disconnect-5-reason-only",
        V5,
        Disconnect(DisconnectReasonCode.SESSION_TAKEN_OVER),
        b("e0 01 8e"),
    ),
    Case(
        "disconnect-5-every-property",
        V5,
        Disconnect(
            DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE,
            Properties(
                session_expiry_interval=0, reason_string="bye", server_reference="s", user_properties=UP
            ),
        ),
        # 5 + 6 + 4 + 7 = 22 bytes of properties
        b("e0 18 04 16 11 00 00 00 00 1c 00 01", b"s", "1f 00 03", b"bye", KV),
    ),
    Case("auth-5-short", V5, Auth(), b("f0 00")),  # §3.15.2.1
    Case(
        "auth-5-every-property",
        V5,
        Auth(
            AuthReasonCode.CONTINUE_AUTHENTICATION,
            Properties(
                authentication_method="SCRAM",
                authentication_data=b"\x01\x02",
                reason_string="go",
                user_properties=UP,
            ),
        ),
        b("f0 1b 18 19 15 00 05", b"SCRAM", "16 00 02 01 02 1f 00 02", b"go", KV),
    ),
    Case(
        "auth-5-reauthenticate",
        V5,
        Auth(AuthReasonCode.RE_AUTHENTICATE),
        b("f0 02 19 00"),
    ),
]

# Accepted on decode; the encoder writes the shorter form found in GOLDEN instead.
DECODE_ONLY: list[Case] = [
    Case(
        "puback-5-empty-property-block",
        V5,
        Puback(5, PubackReasonCode.NO_MATCHING_SUBSCRIBERS),
        b("40 04 00 05 10 00"),
    ),
    Case("puback-5-success-explicit", V5, Puback(5), b("40 03 00 05 00")),
    Case("disconnect-5-normal-explicit", V5, Disconnect(), b("e0 02 00 00")),
    Case("disconnect-5-reason-byte-only", V5, Disconnect(), b("e0 01 00")),
    Case("auth-5-reason-byte-only", V5, Auth(AuthReasonCode.RE_AUTHENTICATE), b("f0 01 19")),
    Case(
        "publish-5-properties-in-another-order",
        V5,
        Publish("t", b"", properties=Properties(topic_alias=1, payload_format_indicator=0)),
        b("30 09 00 01", b"t", "05 23 00 01 01 00"),
    ),
    Case(
        "publish-311-non-minimal-remaining-length",
        V311,
        Publish("t", b""),
        b("30 83 80 00 00 01", b"t"),  # 3 encoded in three bytes: allowed on decode
    ),
]
