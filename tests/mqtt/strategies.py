"""Hypothesis strategies that build valid MQTT packets for a given protocol version."""

from __future__ import annotations

from typing import Any, Literal

from hypothesis import strategies as st

from explorer.mqtt.enums import (
    PROPERTY_TYPES,
    PROPERTY_VALIDITY,
    WILL_PROPERTY,
    AuthReasonCode,
    ConnackReasonCode,
    ConnectReturnCode,
    DisconnectReasonCode,
    PacketType,
    PropertyId,
    PropertyType,
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
    NO_PROPERTIES,
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

_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)

# MQTT strings: any code point but U+0000 and the surrogates [MQTT-1.5.4-1..2].
text = st.text(st.characters(blacklist_categories=_SURROGATES, blacklist_characters="\x00"), max_size=20)
level = st.text(st.characters(blacklist_categories=_SURROGATES, blacklist_characters="\x00/+#"), max_size=6)
topic_names = st.lists(level, min_size=1, max_size=5).map("/".join).filter(bool)
packet_ids = st.integers(1, 0xFFFF)
payloads = st.binary(max_size=300)


@st.composite
def topic_filters(draw: st.DrawFn) -> str:
    levels = draw(st.lists(st.one_of(level, st.just("+")), min_size=1, max_size=5))
    if draw(st.booleans()):
        levels.append("#")
    result = "/".join(levels)
    if not result:
        result = "#"
    if draw(st.integers(0, 5)) == 0:
        share = draw(
            st.text(
                st.characters(blacklist_categories=_SURROGATES, blacklist_characters="\x00/+#"),
                min_size=1,
                max_size=5,
            )
        )
        result = f"$share/{share}/{result}"
    return result


def _value(pid: PropertyId) -> st.SearchStrategy[Any]:
    kind = PROPERTY_TYPES[pid]
    if pid in (
        PropertyId.PAYLOAD_FORMAT_INDICATOR,
        PropertyId.REQUEST_PROBLEM_INFORMATION,
        PropertyId.REQUEST_RESPONSE_INFORMATION,
        PropertyId.MAXIMUM_QOS,
        PropertyId.RETAIN_AVAILABLE,
        PropertyId.WILDCARD_SUBSCRIPTION_AVAILABLE,
        PropertyId.SUBSCRIPTION_IDENTIFIER_AVAILABLE,
        PropertyId.SHARED_SUBSCRIPTION_AVAILABLE,
    ):
        return st.integers(0, 1)
    nonzero = pid in (PropertyId.RECEIVE_MAXIMUM, PropertyId.MAXIMUM_PACKET_SIZE, PropertyId.TOPIC_ALIAS)
    low = 1 if nonzero else 0
    if kind == PropertyType.BYTE:
        return st.integers(low, 0xFF)
    if kind == PropertyType.TWO_BYTE_INT:
        return st.integers(low, 0xFFFF)
    if pid == PropertyId.MAXIMUM_PACKET_SIZE:
        return st.integers(1, 268_435_455)  # larger values mean nothing; paho refuses them
    if kind == PropertyType.FOUR_BYTE_INT:
        return st.integers(low, 0xFFFFFFFF)
    if kind == PropertyType.UTF8_STRING:
        return text
    if kind == PropertyType.BINARY:
        return st.binary(max_size=20)
    raise AssertionError(pid)


def properties(
    packet_type: int, *, exclude: frozenset[PropertyId] = frozenset()
) -> st.SearchStrategy[Properties]:
    """Any valid property set for ``packet_type`` (a PacketType or WILL_PROPERTY)."""
    allowed = [p for p, where in PROPERTY_VALIDITY.items() if packet_type in where and p not in exclude]
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for pid in allowed:
        if pid == PropertyId.USER_PROPERTY:
            optional["user_properties"] = st.lists(st.tuples(text, text), max_size=3).map(tuple)
        elif pid == PropertyId.SUBSCRIPTION_IDENTIFIER:
            most = 3 if packet_type == PacketType.PUBLISH else 1
            ids = st.lists(st.integers(1, 268_435_455), min_size=1, max_size=most).map(tuple)
            optional["subscription_identifiers"] = ids
        else:
            optional[pid.name.lower()] = _value(pid)
    return st.one_of(
        st.just(NO_PROPERTIES),
        st.fixed_dictionaries({}, optional=optional).map(lambda kw: Properties(**kw)),
    )


def _props(version: ProtocolVersion, packet_type: int) -> st.SearchStrategy[Properties]:
    return properties(packet_type) if version == V5 else st.just(NO_PROPERTIES)


@st.composite
def connects(draw: st.DrawFn, version: ProtocolVersion) -> Connect:
    will = None
    if draw(st.booleans()):
        will = Will(
            draw(topic_names),
            draw(payloads),
            draw(st.integers(0, 2)),
            draw(st.booleans()),
            draw(_props(version, WILL_PROPERTY)),
        )
    username = draw(st.none() | text)
    password = draw(st.none() | st.binary(max_size=20))
    if version != V5 and username is None:
        password = None  # [MQTT-3.1.2-22]
    return Connect(
        protocol_version=version,
        client_id=draw(text),
        clean_start=draw(st.booleans()),
        keep_alive=draw(st.integers(0, 0xFFFF)),
        username=username,
        password=password,
        will=will,
        properties=draw(_props(version, PacketType.CONNECT)),
    )


@st.composite
def publishes(draw: st.DrawFn, version: ProtocolVersion) -> Publish:
    qos = draw(st.integers(0, 2))
    props = draw(_props(version, PacketType.PUBLISH))
    topic = draw(topic_names)
    if version == V5 and props.topic_alias is not None and draw(st.booleans()):
        topic = ""
    return Publish(
        topic,
        draw(payloads),
        qos,
        draw(st.booleans()),
        draw(st.booleans()) if qos else False,
        draw(packet_ids) if qos else None,
        props,
    )


def _ack(version: ProtocolVersion, cls: Any, codes: Any, kind: PacketType) -> st.SearchStrategy[Packet]:
    if version != V5:
        return st.builds(cls, packet_ids)
    return st.builds(cls, packet_ids, st.sampled_from(codes), properties(kind))


@st.composite
def subscribes(draw: st.DrawFn, version: ProtocolVersion) -> Subscribe:
    def sub() -> st.SearchStrategy[Subscription]:
        if version != V5:
            return st.builds(Subscription, topic_filters(), st.integers(0, 2))
        return st.builds(
            Subscription,
            topic_filters(),
            st.integers(0, 2),
            st.booleans(),
            st.booleans(),
            st.sampled_from(RetainHandling),
        )

    subs = draw(st.lists(sub(), min_size=1, max_size=4).map(tuple))
    return Subscribe(draw(packet_ids), subs, draw(_props(version, PacketType.SUBSCRIBE)))


def packets(version: ProtocolVersion) -> st.SearchStrategy[Packet]:
    """Every packet type valid in ``version``."""
    v3_suback = [c for c in SubackReasonCode if c in (0, 1, 2, 0x80)]
    choices: list[st.SearchStrategy[Any]] = [
        connects(version),
        publishes(version),
        _ack(version, Puback, PubackReasonCode, PacketType.PUBACK),
        _ack(version, Pubrec, PubrecReasonCode, PacketType.PUBREC),
        _ack(version, Pubrel, PubrelReasonCode, PacketType.PUBREL),
        _ack(version, Pubcomp, PubcompReasonCode, PacketType.PUBCOMP),
        subscribes(version),
        st.builds(Unsubscribe, packet_ids, st.lists(topic_filters(), min_size=1, max_size=4).map(tuple)),
        st.just(Pingreq()),
        st.just(Pingresp()),
    ]
    if version == V5:
        choices += [
            st.builds(
                Connack, st.booleans(), st.sampled_from(ConnackReasonCode), properties(PacketType.CONNACK)
            ),
            st.builds(
                Suback,
                packet_ids,
                st.lists(st.sampled_from(SubackReasonCode), min_size=1, max_size=5).map(tuple),
                properties(PacketType.SUBACK),
            ),
            st.builds(
                Unsubscribe,
                packet_ids,
                st.lists(topic_filters(), min_size=1, max_size=4).map(tuple),
                properties(PacketType.UNSUBSCRIBE),
            ),
            st.builds(
                Unsuback,
                packet_ids,
                st.lists(st.sampled_from(UnsubackReasonCode), min_size=1, max_size=5).map(tuple),
                properties(PacketType.UNSUBACK),
            ),
            st.builds(Disconnect, st.sampled_from(DisconnectReasonCode), properties(PacketType.DISCONNECT)),
            st.builds(Auth, st.sampled_from(AuthReasonCode), properties(PacketType.AUTH)),
        ]
    else:
        choices += [
            st.builds(Connack, st.booleans(), st.sampled_from(ConnectReturnCode)),
            st.builds(
                Suback, packet_ids, st.lists(st.sampled_from(v3_suback), min_size=1, max_size=5).map(tuple)
            ),
            st.builds(Unsuback, packet_ids),
            st.just(Disconnect()),
        ]
    return st.one_of(choices)
