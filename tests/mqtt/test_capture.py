"""Every MQTT packet of the reference capture decodes to the fields Wireshark reports.

``shared/captures/small.golden.json`` (next to the repository) lists each packet's exact bytes with the fields
decoded by Wireshark 4.0's dissector. Connections 2 and 3 are MQTT 5.0 (their CONNECT
says so), and the reader learns that from the CONNECT like it would on a live stream.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from explorer.mqtt.codec import decode, encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import (
    Connack,
    Connect,
    Disconnect,
    Packet,
    Properties,
    Publish,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
)
from explorer.mqtt.reader import PacketReader
from tests.reference import SMALL_GOLDEN, needs_reference

# The reference captures live next to the repository (see tests/test_golden_capture.py).
GOLDEN_FILE = SMALL_GOLDEN

pytestmark = needs_reference()

PACKETS: list[dict[str, Any]] = (
    json.loads(GOLDEN_FILE.read_text())["mqtt_packets"] if GOLDEN_FILE.exists() else []
)


def _versions(packets: list[dict[str, Any]]) -> dict[int, ProtocolVersion]:
    return {m["conn"]: ProtocolVersion(int(m["connect"]["ver"])) for m in packets if m["type"] == 1}


def _prop_value(props: Properties, name: str) -> list[str]:
    if name == "user_property":
        return [f"{k}={v}" for k, v in props.user_properties]
    if name == "subscription_identifier":
        return [str(s) for s in props.subscription_identifiers]
    value = getattr(props, name)
    if isinstance(value, bytes):
        return [value.decode("utf-8", "replace")]
    return [str(value)]


def _check_properties(packet: Packet, expected: list[dict[str, Any]]) -> None:
    props: Properties = packet.properties  # type: ignore[union-attr]
    wanted: dict[str, list[str]] = {}
    for item in expected:
        value = f"{item['key']}={item['value']}" if "key" in item else str(item["value"])
        wanted.setdefault(item["name"], []).append(value)
    for name, values in wanted.items():
        assert _prop_value(props, name) == values, name
    # and nothing more than Wireshark saw
    present = {f for f in props.__dataclass_fields__ if getattr(props, f) not in (None, ())}
    rename = {"user_properties": "user_property", "subscription_identifiers": "subscription_identifier"}
    assert {rename.get(f, f) for f in present} == set(wanted)


def _check(packet: Packet, m: dict[str, Any]) -> None:
    assert type(packet).__name__.upper() == m["type_name"]
    if "packet_id" in m:
        assert packet.packet_id == m["packet_id"]  # type: ignore[union-attr]
    if "properties" in m:
        _check_properties(packet, m["properties"])
    if isinstance(packet, Connect):
        c = m["connect"]
        assert packet.protocol_name == c["protoname"]
        assert int(packet.protocol_version) == int(c["ver"])
        assert packet.keep_alive == int(c["kalive"])
        assert packet.client_id == c["clientid"]
        assert packet.username == c.get("username")
        assert (packet.password is not None) == c.get("password_present", False)
        assert (packet.will.topic if packet.will else None) == c.get("willtopic")
        will = packet.will
        flags = (
            (packet.username is not None) << 7
            | (packet.password is not None) << 6
            | (will is not None and will.retain) << 5
            | (will.qos if will else 0) << 3
            | (will is not None) << 2
            | packet.clean_start << 1
        )
        assert flags == int(c["conflags"], 16)
    elif isinstance(packet, Connack):
        assert packet.session_present == m["connack"]["session_present"]
        assert int(packet.reason_code) == m["connack"]["return_code"]
    elif isinstance(packet, Publish):
        assert (packet.dup, packet.qos, packet.retain) == (m["dup"], m["qos"], m["retain"])
        if m.get("topic_from_alias"):
            # Wireshark shows the topic the alias stands for; the packet itself has none
            # (MQTT 5.0 §3.3.2.3.4): resolving aliases is the session's job, not the codec's.
            assert packet.topic == ""
            assert packet.properties.topic_alias is not None
            assert m["topic_length"] == 0
        else:
            assert packet.topic == m["topic"]
        assert packet.payload.hex() == m["payload_hex"]
    elif isinstance(packet, Subscribe):
        subs = [{"topic": s.topic_filter, "qos": s.qos} for s in packet.subscriptions]
        assert subs == [{"topic": s["topic"], "qos": s["qos"]} for s in m["subscriptions"]]
        for sub, raw in zip(packet.subscriptions, m["subscriptions"], strict=True):
            if "options" in raw:
                options = (
                    sub.qos | sub.no_local << 2 | sub.retain_as_published << 3 | sub.retain_handling << 4
                )
                assert options == raw["options"]
    elif isinstance(packet, (Suback, Unsuback)):
        assert [int(c) for c in packet.reason_codes] == m["return_codes"]
    elif isinstance(packet, Unsubscribe):
        assert list(packet.topic_filters) == m["topics"]
    if "reason_code" in m:
        assert int(packet.reason_code) == m["reason_code"]  # type: ignore[union-attr]
    if isinstance(packet, Disconnect) and "reason_code" not in m:
        assert packet.reason_code == 0


@pytest.mark.parametrize("m", PACKETS, ids=lambda m: f"{m['index']}-{m['type_name']}")
def test_capture_packet_decodes_to_wiresharks_fields(m: dict[str, Any]) -> None:
    version = _versions(PACKETS).get(m["conn"])
    data = bytes.fromhex(m["packet_hex"])
    assert len(data) == m["total_length"]
    packet = decode(data, version)
    _check(packet, m)
    # re-encoding gives a packet that decodes the same (bytes may differ in property order)
    again = encode(packet, version or ProtocolVersion.V311)
    assert decode(again, version) == packet


def test_capture_streams_read_with_the_stream_offsets_of_the_capture() -> None:
    streams: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for m in PACKETS:
        streams.setdefault((m["conn"], m["dir"]), []).append(m)
    for (_conn, direction), items in streams.items():
        data = b"".join(bytes.fromhex(m["packet_hex"]) for m in items)
        reader = PacketReader()
        if direction == "s2c":  # a server stream has no CONNECT to learn the version from
            reader.version = _versions(PACKETS).get(_conn)
        out = []
        for index in range(0, len(data), 5):
            out += reader.receive_data(data[index : index + 5])
        assert [[r.start, r.end] for r in out] == [m["stream_range"] for m in items]
        for read, m in zip(out, items, strict=True):
            assert read.error is None
            assert read.packet is not None
            _check(read.packet, m)
