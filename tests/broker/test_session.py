"""The direct PUBLISH builder matches the codec byte for byte."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from explorer.broker.session import plain_publish
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Publish

_TOPIC = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="+#\x00"), min_size=1)


@given(
    topic=_TOPIC,
    payload=st.binary(max_size=300),
    qos=st.integers(0, 2),
    retain=st.booleans(),
    dup=st.booleans(),
    pid=st.integers(1, 65535),
    version=st.sampled_from(list(ProtocolVersion)),
)
def test_plain_publish_equals_the_codec(
    topic: str, payload: bytes, qos: int, retain: bool, dup: bool, pid: int, version: ProtocolVersion
) -> None:
    dup = dup and qos > 0
    packet = Publish(topic, payload, qos, retain, dup, pid if qos else None)
    built = plain_publish(topic, payload, retain, v5=version == ProtocolVersion.V5, qos=qos, pid=pid, dup=dup)
    assert built == encode(packet, version)


@given(pid=st.integers(1, 65535), version=st.sampled_from(list(ProtocolVersion)))
def test_ack_bytes_equal_the_codec(pid: int, version: ProtocolVersion) -> None:
    from explorer.broker.session import ack_bytes
    from explorer.mqtt.packets import Puback, Pubcomp, Pubrec, Pubrel

    for kind, cls in ((4, Puback), (5, Pubrec), (6, Pubrel), (7, Pubcomp)):
        assert ack_bytes(kind, pid) == encode(cls(pid), version)
