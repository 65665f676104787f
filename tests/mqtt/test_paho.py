"""Differential tests against paho-mqtt's encoder.

paho's ``Client._send_*`` methods build the exact bytes a paho client puts on the wire;
a ``Client`` subclass keeps them instead of queueing them on a socket. Our decoder must
read paho's bytes into the packet we expect, and our encoder should write the same bytes
except where the specification allows another encoding (those cases are ``xfail`` with
the reason). v5 property blocks are also compared with ``paho.mqtt.properties.Properties``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from paho.mqtt import client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from explorer.mqtt.codec import decode, encode
from explorer.mqtt.enums import (
    WILL_PROPERTY,
    DisconnectReasonCode,
    PacketType,
    ProtocolVersion,
    RetainHandling,
)
from explorer.mqtt.packets import (
    NO_PROPERTIES,
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
    Subscribe,
    Subscription,
    Unsubscribe,
    Will,
)
from explorer.mqtt.properties import decode_properties, encode_properties
from tests.mqtt.strategies import properties as properties_strategy

V31, V311, V5 = ProtocolVersion.V31, ProtocolVersion.V311, ProtocolVersion.V5
_PAHO_PROTOCOL = {V31: paho.MQTTv31, V311: paho.MQTTv311, V5: paho.MQTTv5}


class _Capture(paho.Client):
    """A paho client whose outgoing packets are kept instead of sent."""

    def __init__(self, version: ProtocolVersion, client_id: str = "c") -> None:
        api = paho.CallbackAPIVersion.VERSION2  # type: ignore[attr-defined]
        super().__init__(api, client_id=client_id, protocol=_PAHO_PROTOCOL[version])
        self.sent: list[bytes] = []

    def _packet_queue(self, command: int, packet: Any, mid: int, qos: int, info: Any = None) -> Any:
        self.sent.append(bytes(packet))
        return paho.MQTTErrorCode.MQTT_ERR_SUCCESS  # type: ignore[attr-defined]


def _paho_props(kind: int, **values: Any) -> PahoProperties:
    props = PahoProperties(kind)  # type: ignore[no-untyped-call]
    for name, value in values.items():
        setattr(props, name, value)
    return props


def _connect_v5(client: _Capture) -> None:
    client.username_pw_set("user", "pw")
    will_props = _paho_props(PacketTypes.WILLMESSAGE, WillDelayInterval=5, ContentType="text/plain")
    client.will_set("w/t", b"gone", qos=1, retain=True, properties=will_props)
    client._connect_properties = _paho_props(
        PacketTypes.CONNECT, SessionExpiryInterval=60, ReceiveMaximum=10, UserProperty=[("k", "v")]
    )
    client._send_connect(30)


Build = Callable[[_Capture], object]

# name, version, how paho builds it, the packet we expect, why our bytes may differ (or None)
CASES: list[tuple[str, ProtocolVersion, Build, Packet, str | None]] = [
    (
        "connect-31",
        V31,
        lambda c: c._send_connect(60),
        Connect(protocol_version=V31, client_id="c", keep_alive=60),
        None,
    ),
    (
        "connect-311-will-user",
        V311,
        lambda c: [c.username_pw_set("u", "p"), c.will_set("w", b"bye", 2, False), c._send_connect(15)],  # type: ignore[func-returns-value]
        Connect(client_id="c", keep_alive=15, username="u", password=b"p", will=Will("w", b"bye", 2)),
        None,
    ),
    (
        "connect-5-properties-and-will-properties",
        V5,
        _connect_v5,
        Connect(
            protocol_version=V5,
            client_id="c",
            keep_alive=30,
            username="user",
            password=b"pw",
            will=Will(
                "w/t",
                b"gone",
                1,
                True,
                Properties(will_delay_interval=5, content_type="text/plain"),
            ),
            properties=Properties(
                session_expiry_interval=60, receive_maximum=10, user_properties=(("k", "v"),)
            ),
        ),
        None,
    ),
    ("publish-311-qos0", V311, lambda c: c._send_publish(0, b"a/b", b"hi"), Publish("a/b", b"hi"), None),
    (
        "publish-311-qos2-retain-dup",
        V311,
        lambda c: c._send_publish(9, b"a/b", b"x" * 300, 2, True, True),
        Publish("a/b", b"x" * 300, 2, True, True, 9),
        None,
    ),
    (
        "publish-5-properties",
        V5,
        lambda c: c._send_publish(
            3,
            b"s/t",
            b"{}",
            1,
            properties=_paho_props(
                PacketTypes.PUBLISH,
                PayloadFormatIndicator=1,
                MessageExpiryInterval=30,
                ResponseTopic="r",
                CorrelationData=b"\x01",
                UserProperty=[("a", "1"), ("a", "2")],
                TopicAlias=4,
            ),
        ),
        Publish(
            "s/t",
            b"{}",
            1,
            packet_id=3,
            properties=Properties(
                payload_format_indicator=1,
                message_expiry_interval=30,
                response_topic="r",
                correlation_data=b"\x01",
                user_properties=(("a", "1"), ("a", "2")),
                topic_alias=4,
            ),
        ),
        None,
    ),
    ("publish-5-no-properties", V5, lambda c: c._send_publish(0, b"t", b""), Publish("t", b""), None),
    ("puback-311", V311, lambda c: c._send_puback(7), Puback(7), None),
    ("pubrec-311", V311, lambda c: c._send_pubrec(7), Pubrec(7), None),
    ("pubrel-311", V311, lambda c: c._send_pubrel(7), Pubrel(7), None),
    ("pubcomp-311", V311, lambda c: c._send_pubcomp(7), Pubcomp(7), None),
    ("puback-5", V5, lambda c: c._send_puback(7), Puback(7), None),
    ("pingreq", V311, lambda c: c._send_pingreq(), Pingreq(), None),
    ("pingresp", V311, lambda c: c._send_pingresp(), Pingresp(), None),
    ("disconnect-311", V311, lambda c: c._send_disconnect(), Disconnect(), None),
    ("disconnect-5-bare", V5, lambda c: c._send_disconnect(), Disconnect(), None),
    (
        "disconnect-5-normal-reason-code",
        V5,
        lambda c: c._send_disconnect(ReasonCode(PacketTypes.DISCONNECT, identifier=0)),
        Disconnect(),
        "paho writes reason code 0 explicitly; we use the short form (MQTT 5.0 §3.14.2.1)",
    ),
    (
        "disconnect-5-reason-and-properties",
        V5,
        lambda c: c._send_disconnect(
            ReasonCode(PacketTypes.DISCONNECT, identifier=0x04),
            _paho_props(PacketTypes.DISCONNECT, ReasonString="bye", SessionExpiryInterval=0),
        ),
        Disconnect(
            DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE,
            Properties(reason_string="bye", session_expiry_interval=0),
        ),
        None,
    ),
    (
        "subscribe-311",
        V311,
        lambda c: c._send_subscribe(False, [(b"a/+", 1), (b"#", 2)]),
        Subscribe(1, (Subscription("a/+", 1), Subscription("#", 2))),
        None,
    ),
    (
        "subscribe-5-options-and-identifier",
        V5,
        lambda c: c._send_subscribe(
            False,
            [
                (b"a/b", SubscribeOptions(qos=2, noLocal=True, retainAsPublished=True, retainHandling=2)),
                (b"$share/g/x", SubscribeOptions(qos=0, retainHandling=1)),
            ],
            _paho_props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=12),
        ),
        Subscribe(
            1,
            (
                Subscription("a/b", 2, True, True, RetainHandling.DO_NOT_SEND),
                Subscription("$share/g/x", 0, retain_handling=RetainHandling.SEND_IF_NEW_SUBSCRIPTION),
            ),
            Properties(subscription_identifiers=(12,)),
        ),
        None,
    ),
    (
        "unsubscribe-311",
        V311,
        lambda c: c._send_unsubscribe(False, [b"a/+", b"#"]),
        Unsubscribe(1, ("a/+", "#")),
        None,
    ),
    (
        "unsubscribe-5-user-property",
        V5,
        lambda c: c._send_unsubscribe(
            False, [b"a"], _paho_props(PacketTypes.UNSUBSCRIBE, UserProperty=[("k", "v")])
        ),
        Unsubscribe(1, ("a",), Properties(user_properties=(("k", "v"),))),
        None,
    ),
]


def _paho_bytes(version: ProtocolVersion, build: Build) -> bytes:
    client = _Capture(version)
    client._sock = object()  # type: ignore[assignment]  # _send_publish needs a socket to build a packet
    try:
        build(client)
    finally:
        client._sock = None
    [data] = client.sent
    return data


@pytest.mark.parametrize(("name", "version", "build", "packet", "why"), CASES, ids=[c[0] for c in CASES])
def test_we_decode_what_paho_encodes(
    name: str, version: ProtocolVersion, build: Build, packet: Packet, why: str | None
) -> None:
    assert decode(_paho_bytes(version, build), version) == packet


@pytest.mark.parametrize(
    ("name", "version", "build", "packet", "why"),
    [
        pytest.param(*c, marks=pytest.mark.xfail(reason=c[4], strict=True)) if c[4] else pytest.param(*c)
        for c in CASES
    ],
    ids=[c[0] for c in CASES],
)
def test_we_encode_what_paho_encodes(
    name: str, version: ProtocolVersion, build: Build, packet: Packet, why: str | None
) -> None:
    assert encode(packet, version).hex(" ") == _paho_bytes(version, build).hex(" ")


_PAHO_KIND = {
    int(PacketType.CONNECT): PacketTypes.CONNECT,
    int(PacketType.CONNACK): PacketTypes.CONNACK,
    int(PacketType.PUBLISH): PacketTypes.PUBLISH,
    int(PacketType.PUBACK): PacketTypes.PUBACK,
    int(PacketType.SUBSCRIBE): PacketTypes.SUBSCRIBE,
    int(PacketType.SUBACK): PacketTypes.SUBACK,
    int(PacketType.UNSUBACK): PacketTypes.UNSUBACK,
    int(PacketType.DISCONNECT): PacketTypes.DISCONNECT,
    int(PacketType.AUTH): PacketTypes.AUTH,
    WILL_PROPERTY: PacketTypes.WILLMESSAGE,
}


def _to_paho(props: Properties, kind: int) -> PahoProperties:
    out = PahoProperties(_PAHO_KIND[kind])  # type: ignore[no-untyped-call]
    for field in props.__dataclass_fields__:
        value = getattr(props, field)
        if value is None or value == ():
            continue
        name = "".join(word.capitalize() for word in field.split("_"))
        name = {
            "SubscriptionIdentifiers": "SubscriptionIdentifier",
            "UserProperties": "UserProperty",
            "MaximumQos": "MaximumQoS",
        }.get(name, name)
        setattr(out, name, list(value) if isinstance(value, tuple) else value)
    return out


@pytest.mark.parametrize("kind", sorted(_PAHO_KIND), ids=lambda k: str(_PAHO_KIND[k]))
def test_property_blocks_match_paho_for_every_packet_type(kind: int) -> None:
    @settings(max_examples=150, deadline=None)
    @given(props=properties_strategy(kind))
    def check(props: Properties) -> None:
        theirs: bytes = _to_paho(props, kind).pack()  # type: ignore[no-untyped-call]
        assert decode_properties(theirs, 0, len(theirs), kind) == (props, len(theirs))
        if props is NO_PROPERTIES:
            assert theirs == b"\x00"
        assert encode_properties(props, kind) == theirs

    check()
