"""encode() and decode() against the golden table, plus every malformed form we know of."""

from __future__ import annotations

from enum import IntEnum

import pytest

from explorer.errors import LocalProtocolError, MalformedPacket, ProtocolError
from explorer.mqtt.codec import decode, encode
from explorer.mqtt.enums import (
    AuthReasonCode,
    ConnackReasonCode,
    DisconnectReasonCode,
    ProtocolVersion,
    PubackReasonCode,
    PubcompReasonCode,
    PubrecReasonCode,
    PubrelReasonCode,
    SubackReasonCode,
    UnsubackReasonCode,
)
from explorer.mqtt.packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
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
from explorer.mqtt.reader import PacketReader
from tests.mqtt.golden import DECODE_ONLY, GOLDEN, V5, V31, V311, Case
from tests.mqtt.malformed import MALFORMED, Bad


@pytest.mark.parametrize("case", GOLDEN, ids=str)
def test_encode_produces_the_golden_bytes(case: Case) -> None:
    assert encode(case.packet, case.version).hex(" ") == case.data.hex(" ")


@pytest.mark.parametrize("case", GOLDEN + DECODE_ONLY, ids=str)
def test_decode_reads_the_golden_bytes(case: Case) -> None:
    assert decode(case.data, case.version) == case.packet


@pytest.mark.parametrize("case", GOLDEN, ids=str)
def test_decode_accepts_bytearray_and_memoryview(case: Case) -> None:
    assert decode(bytearray(case.data), case.version) == case.packet  # type: ignore[arg-type]
    assert decode(memoryview(case.data), case.version) == case.packet  # type: ignore[arg-type]


def test_every_version_and_packet_type_is_in_the_golden_table() -> None:
    seen = {(case.version, type(case.packet).__name__) for case in GOLDEN}
    for version in (V311, V5):
        for name in (
            "Connect",
            "Connack",
            "Publish",
            "Puback",
            "Pubrec",
            "Pubrel",
            "Pubcomp",
            "Subscribe",
            "Suback",
            "Unsubscribe",
            "Unsuback",
            "Pingreq",
            "Pingresp",
            "Disconnect",
        ):
            assert (version, name) in seen
    assert (V5, "Auth") in seen
    assert {name for version, name in seen if version == V31} >= {
        "Connect",
        "Connack",
        "Publish",
        "Subscribe",
    }


@pytest.mark.parametrize("bad", MALFORMED, ids=str)
def test_decode_rejects_malformed_bytes_with_offset_and_reason(bad: Bad) -> None:
    with pytest.raises(MalformedPacket) as info:
        decode(bad.data, bad.version)
    assert bad.reason in info.value.reason
    assert info.value.offset == bad.offset
    assert info.value.fault == "remote"
    assert str(info.value).startswith(f"malformed packet at byte {bad.offset}: ")


def test_connect_carries_its_own_version_whatever_the_argument() -> None:
    v5_connect = next(c for c in GOLDEN if c.name == "connect-5-minimal")
    assert decode(v5_connect.data, None) == v5_connect.packet
    assert decode(v5_connect.data, ProtocolVersion.V311) == v5_connect.packet


def test_decode_without_version_reads_311() -> None:
    # a v5 short PUBACK form with reason code is a trailing byte in 3.1.1
    with pytest.raises(MalformedPacket):
        decode(bytes.fromhex("40 03 00 05 10"))
    assert decode(bytes.fromhex("40 02 00 05")) == Puback(5)


_ACK_CODES: list[tuple[type, type[IntEnum]]] = [
    (Puback, PubackReasonCode),
    (Pubrec, PubrecReasonCode),
    (Pubrel, PubrelReasonCode),
    (Pubcomp, PubcompReasonCode),
]


@pytest.mark.parametrize(("cls", "codes"), _ACK_CODES, ids=lambda x: getattr(x, "__name__", ""))
def test_every_acknowledgement_reason_code_in_short_and_long_form(cls: type, codes: type[IntEnum]) -> None:
    first = {Puback: 0x40, Pubrec: 0x50, Pubrel: 0x62, Pubcomp: 0x70}[cls]
    for code in codes:
        packet = cls(9, code)
        short = bytes((first, 3, 0, 9, code)) if code else bytes((first, 2, 0, 9))
        assert encode(packet, V5) == short
        assert decode(short, V5) == packet
        long_form = bytes((first, 4, 0, 9, code, 0))
        assert decode(long_form, V5) == packet


@pytest.mark.parametrize("code", list(DisconnectReasonCode), ids=lambda c: c.name)
def test_every_disconnect_reason_code(code: DisconnectReasonCode) -> None:
    packet = Disconnect(code)
    data = encode(packet, V5)
    assert data == (bytes((0xE0, 1, code)) if code else b"\xe0\x00")
    assert decode(data, V5) == packet


@pytest.mark.parametrize("code", list(AuthReasonCode), ids=lambda c: c.name)
def test_every_auth_reason_code(code: AuthReasonCode) -> None:
    packet = Auth(code)
    assert decode(encode(packet, V5), V5) == packet


@pytest.mark.parametrize(
    ("packet", "version", "fragment"),
    [
        (Publish("t", b"", qos=1), V311, "packet identifier"),
        (Publish("t", b"", qos=1, packet_id=0), V311, "packet identifier"),
        (Publish("t", b"", qos=0, packet_id=3), V311, "no packet identifier"),
        (Publish("t", b"", qos=3), V311, "QoS must be"),
        (Publish("t", b"", dup=True), V311, "DUP"),
        (Publish("a/+", b""), V311, "wildcards"),
        (Publish("", b""), V311, "at least one character"),
        (Publish("", b""), V5, "at least one character"),
        (Publish("a\x00b", b""), V311, "U+0000"),
        (Publish("x" * 65536, b""), V311, "65535"),
        (Publish("\ud800", b""), V311, "surrogate"),
        (Publish("t", b"", properties=Properties(topic_alias=1)), V311, "only in MQTT 5.0"),
        (Publish("t", b"", properties=Properties(session_expiry_interval=1)), V5, "not allowed in PUBLISH"),
        (Publish("t", b"", properties=Properties(topic_alias=0)), V5, "must not be 0"),
        (Publish("t", b"", properties=Properties(payload_format_indicator=2)), V5, "0 or 1"),
        (Publish("t", b"", properties=Properties(message_expiry_interval=2**32)), V5, "outside"),
        (Publish("t", b"", properties=Properties(subscription_identifiers=(0,))), V5, "outside"),
        (Publish("t", b"", properties=Properties(user_properties=(("a\x00", "b"),))), V5, "U+0000"),
        (Puback(0), V311, "packet identifier"),
        (Puback(70000), V311, "packet identifier"),
        (Puback(1, PubackReasonCode.NOT_AUTHORIZED), V311, "only in MQTT 5.0"),
        (Suback(1, (SubackReasonCode.NOT_AUTHORIZED,)), V311, "does not exist before MQTT 5.0"),
        (Suback(1, ()), V5, "at least one reason code"),
        (Unsuback(1, (UnsubackReasonCode.SUCCESS,)), V311, "only in MQTT 5.0"),
        (Unsuback(1), V5, "at least one reason code"),
        (Subscribe(1, ()), V311, "at least one topic filter"),
        (Subscribe(1, (Subscription("a/#/b"),)), V311, "'#'"),
        (Subscribe(1, (Subscription("a+"),)), V311, "'+'"),
        (Subscribe(1, (Subscription("a", no_local=True),)), V311, "only in MQTT 5.0"),
        (
            Subscribe(1, (Subscription("a"),), Properties(subscription_identifiers=(1, 2))),
            V5,
            "only one Subscription Identifier",
        ),
        (Unsubscribe(1, ()), V311, "at least one topic filter"),
        (Connect(client_id="c", password=b"p"), V311, "MQTT-3.1.2-22"),
        (Connect(client_id="c", will=Will("w/#", b"")), V311, "wildcards"),
        (Connect(client_id="c", will=Will("w", b"", qos=3)), V311, "QoS"),
        (Connect(client_id="c", keep_alive=70000), V311, "keep alive"),
        (Connect(client_id="c", properties=Properties(receive_maximum=5)), V311, "only in MQTT 5.0"),
        (
            Connect(protocol_version=V5, client_id="c", properties=Properties(topic_alias=5)),
            V5,
            "not allowed in CONNECT",
        ),
        (
            Connect(
                protocol_version=V5, client_id="c", will=Will("w", b"", properties=Properties(topic_alias=1))
            ),
            V5,
            "not allowed in Will",
        ),
        (Connack(reason_code=ConnackReasonCode.NOT_AUTHORIZED), V311, "does not exist before MQTT 5.0"),
        (Disconnect(DisconnectReasonCode.SERVER_BUSY), V311, "only in MQTT 5.0"),
        (Auth(), V311, "only in MQTT 5.0"),
        (Publish("t", bytes(268_435_456)), V311, "maximum"),
    ],
    ids=lambda x: x if isinstance(x, str) else None,
)
def test_encode_refuses_invalid_packets(packet: object, version: ProtocolVersion, fragment: str) -> None:
    with pytest.raises(LocalProtocolError) as info:
        encode(packet, version)  # type: ignore[arg-type]
    assert fragment in str(info.value)
    assert info.value.fault == "local"


def test_encode_refuses_an_object_that_is_not_a_packet() -> None:
    with pytest.raises(LocalProtocolError, match="not an MQTT packet"):
        encode("PUBLISH", V311)  # type: ignore[arg-type]


def test_errors_are_protocol_errors_a_view_can_print() -> None:
    with pytest.raises(ProtocolError) as info:
        decode(b"\x00\x00")
    assert "type 0 is reserved" in str(info.value)


def test_publish_payload_is_bytes_not_a_view() -> None:
    packet = decode(bytes.fromhex("30 05 00 01 74 68 69"))
    assert isinstance(packet, Publish)
    assert type(packet.payload) is bytes
    assert packet.payload == b"hi"


@pytest.mark.parametrize(
    ("packet", "version", "fragment"),
    [
        (Puback(1, DisconnectReasonCode.SERVER_BUSY), V5, "not a PUBACK reason code"),  # type: ignore[arg-type]
        (Pubrel(1, PubackReasonCode.NOT_AUTHORIZED), V5, "not a PUBREL reason code"),  # type: ignore[arg-type]
        (Disconnect(0x05), V5, "not a DISCONNECT reason code"),  # type: ignore[arg-type]
        (Auth(0x01), V5, "not a AUTH reason code"),  # type: ignore[arg-type]
        (Suback(1, (0x05,)), V5, "not a SUBACK reason code"),  # type: ignore[arg-type]
        (Unsuback(1, (0x05,)), V5, "not a UNSUBACK reason code"),  # type: ignore[arg-type]
        (Connack(reason_code=0x05), V5, "not a CONNACK reason code"),  # type: ignore[arg-type]
        (Connect(protocol_version=V311, client_id="c", protocol_name="MQIsdp"), V311, "does not go with"),
        (Connect(protocol_version=V31, client_id="c", protocol_name="MQTT"), V31, "does not go with"),
    ],
    ids=lambda x: x if isinstance(x, str) else None,
)
def test_encode_refuses_reason_codes_and_names_the_receiver_would_reject(
    packet: object, version: ProtocolVersion, fragment: str
) -> None:
    with pytest.raises(LocalProtocolError) as info:
        encode(packet, version)  # type: ignore[arg-type]
    assert fragment in str(info.value)


@pytest.mark.parametrize("first", [0x6A, 0x8A, 0xAA])
def test_mqtt_31_accepts_dup_on_pubrel_subscribe_and_unsubscribe_retries(first: int) -> None:
    body = {0x6A: b"\x00\x01", 0x8A: b"\x00\x01\x00\x01a\x01", 0xAA: b"\x00\x01\x00\x01a"}[first]
    data = bytes((first, len(body))) + body
    assert decode(data, V31) == decode(bytes((first & 0xF7, len(body))) + body, V31)
    with pytest.raises(MalformedPacket, match="0b0010"):
        decode(data, V311)
    [read] = PacketReader(V31).receive_data(data)
    assert read.error is None


@pytest.mark.parametrize(
    "packet",
    [
        Publish("t", "text"),  # type: ignore[arg-type]
        Publish("t", 5),  # type: ignore[arg-type]
        Connect(client_id="c", username="u", password="pw"),  # type: ignore[arg-type]
        Connect(client_id="c", will=Will("w", "gone")),  # type: ignore[arg-type]
    ],
    ids=["publish-str", "publish-int", "password-str", "will-str"],
)
def test_encode_refuses_payloads_that_are_not_bytes(packet: object) -> None:
    with pytest.raises(LocalProtocolError, match="must be bytes"):
        encode(packet)  # type: ignore[arg-type]


def test_encode_accepts_bytearray_and_memoryview_payloads() -> None:
    assert encode(Publish("t", bytearray(b"ab"))) == encode(Publish("t", b"ab"))  # type: ignore[arg-type]
    assert encode(Publish("t", memoryview(b"ab"), qos=1, packet_id=1)) == encode(  # type: ignore[arg-type]
        Publish("t", b"ab", qos=1, packet_id=1)
    )
