"""The decoder against Wireshark's ground truth for a real capture.

``shared/captures/small.pcapng`` holds four MQTT-over-WebSocket connections (MQTT.js and
paho clients, aedes and Mosquitto brokers; MQTT 3.1.1 and 5.0; packets split over many
frames). ``small.golden.json`` lists every frame and every packet as Wireshark 4.0
dissects them from the reassembled payload stream. Both are read-only references: the
decoder must agree with them field for field.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest

from explorer.capture import read_capture
from explorer.decoder import ConnectionDecoder
from explorer.masking import mask_password
from explorer.model.events import (
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    PacketEvent,
    TraceEvent,
)
from explorer.mqtt.codec import decode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import (
    Connack,
    Connect,
    Disconnect,
    Packet,
    Properties,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
)
from tests.reference import SMALL_GOLDEN, SMALL_PCAPNG, needs_reference

CAPTURE = SMALL_PCAPNG
GOLDEN = SMALL_GOLDEN

pytestmark = needs_reference()

Key = tuple[int, str]  # (conn, dir)


@dataclass
class Decoded:
    golden: dict[str, Any]
    events: list[TraceEvent]
    frames: dict[Key, list[FrameEvent]] = field(default_factory=lambda: defaultdict(list))
    packets: dict[Key, list[PacketEvent]] = field(default_factory=lambda: defaultdict(list))
    golden_frames: dict[Key, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    golden_packets: dict[Key, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    frame_local: dict[int, tuple[Key, int]] = field(default_factory=dict)  # golden index -> ours
    packet_local: dict[int, tuple[Key, int]] = field(default_factory=dict)
    versions: dict[int, ProtocolVersion | None] = field(default_factory=dict)
    decoders: dict[int, ConnectionDecoder] = field(default_factory=dict)


@pytest.fixture(scope="module")
def decoded() -> Decoded:
    golden = json.loads(GOLDEN.read_text())
    capture = read_capture(CAPTURE)
    assert capture.problems == []
    result = Decoded(golden, [])
    for connection in capture.connections:
        decoder = ConnectionDecoder(connection.index)
        for chunk in connection.chunks:
            decoder.receive_data(chunk.direction, chunk.data, chunk.time)
        for direction, time in connection.ended.items():
            decoder.receive_eof(direction, time)
        result.events += decoder.events_received()
        result.versions[connection.index] = decoder.mqtt_version
        result.decoders[connection.index] = decoder
        assert connection.client.port == golden["connections"][connection.index]["client_port"]
        assert connection.server.port == golden["connections"][connection.index]["server_port"]
    for event in result.events:
        if isinstance(event, FrameEvent):
            result.frames[event.conn, event.direction].append(event)
        elif isinstance(event, PacketEvent):
            result.packets[event.conn, event.direction].append(event)
    for frame in golden["frames"]:
        key = (frame["conn"], frame["dir"])
        result.frame_local[frame["index"]] = (key, len(result.golden_frames[key]))
        result.golden_frames[key].append(frame)
    for packet in sorted(golden["mqtt_packets"], key=lambda p: (p["conn"], p["dir"], p["stream_range"][0])):
        key = (packet["conn"], packet["dir"])
        result.packet_local[packet["index"]] = (key, len(result.golden_packets[key]))
        result.golden_packets[key].append(packet)
    return result


def test_capture_decodes_without_errors(decoded: Decoded) -> None:
    errors = [e for e in decoded.events if isinstance(e, ErrorReported)]
    assert errors == []
    summary = decoded.golden["summary"]
    assert sum(map(len, decoded.frames.values())) == summary["ws_frames"]
    assert sum(map(len, decoded.packets.values())) == summary["mqtt_packets"]


def test_connections_match(decoded: Decoded) -> None:
    requests = {e.conn: e for e in decoded.events if isinstance(e, HandshakeRequest)}
    responses = {e.conn: e for e in decoded.events if isinstance(e, HandshakeResponse)}
    for conn in decoded.golden["connections"]:
        i = conn["index"]
        assert requests[i].target == conn["request_uri"]
        offered = {k.lower(): v for k, v in requests[i].headers}["sec-websocket-protocol"]
        assert offered == conn["requested_protocol"]
        assert responses[i].status == conn["status"]
        assert responses[i].subprotocol == conn["negotiated_protocol"]
        assert decoded.decoders[i].negotiated_subprotocol == conn["negotiated_protocol"]
        assert decoded.decoders[i].handshake is not None
        assert decoded.decoders[i].handshake.ok


def test_every_frame_matches(decoded: Decoded) -> None:
    assert set(decoded.frames) == set(decoded.golden_frames)
    for key, golden_frames in decoded.golden_frames.items():
        ours = decoded.frames[key]
        assert len(ours) == len(golden_frames), key
        for mine, gold in zip(ours, golden_frames, strict=True):
            where = (key, gold["index"])
            assert (mine.conn, mine.direction) == (gold["conn"], gold["dir"]), where
            assert mine.fin is gold["fin"], where
            assert (mine.rsv1 << 2 | mine.rsv2 << 1 | mine.rsv3) == gold["rsv"], where
            assert mine.opcode == gold["opcode"], where
            assert mine.masked is gold["masked"], where
            assert mine.payload_length == gold["payload_length"] == len(mine.payload), where
            assert mine.header_length == gold["header_length"], where
            assert mine.length_encoding == gold["length_encoding"], where
            if "close_code" in gold:
                assert (mine.close_code, mine.close_reason) == (gold["close_code"], gold["close_reason"]), (
                    where
                )
            parts = [
                (decoded.packet_local[m["packet"]], m["part"], m["bytes_in_frame"]) for m in gold["mqtt"]
            ]
            assert [((key, p.packet_no), p.role, p.frame_end - p.frame_start) for p in mine.parts] == parts, (
                where
            )
            completed = [decoded.packet_local[n] for n in gold.get("mqtt_completed", [])]
            assert [(key, n) for n in mine.completed] == completed, where


def _properties(golden: list[dict[str, Any]]) -> Properties:
    """Properties as Wireshark lists them, converted to our field types."""
    values: dict[str, Any] = {}
    template = Properties()
    for prop in golden:
        name = prop["name"]
        if name == "user_property":
            values["user_properties"] = (*values.get("user_properties", ()), (prop["key"], prop["value"]))
        elif name == "subscription_identifier":
            values["subscription_identifiers"] = (
                *values.get("subscription_identifiers", ()),
                int(prop["value"]),
            )
        elif name in ("correlation_data", "authentication_data"):
            values[name] = prop["value"].encode()
        elif isinstance(getattr(template, name), str) or name in (
            "content_type",
            "response_topic",
            "assigned_client_identifier",
            "authentication_method",
            "response_information",
            "server_reference",
            "reason_string",
        ):
            values[name] = prop["value"]
        else:
            values[name] = int(prop["value"])
    return Properties(**values)


def _connect_flags(packet: Connect) -> int:
    flags = 0x02 if packet.clean_start else 0
    if packet.will is not None:
        flags |= 0x04 | packet.will.qos << 3 | (0x20 if packet.will.retain else 0)
    if packet.password is not None:
        flags |= 0x40
    if packet.username is not None:
        flags |= 0x80
    return flags


def _check_fields(packet: Packet, gold: dict[str, Any], aliases: dict[int, str]) -> None:
    """The decoded fields Wireshark shows for each packet type."""
    if "properties" in gold:
        props = packet.properties  # type: ignore[union-attr]
        assert props == _properties(gold["properties"])
    if isinstance(packet, Connect):
        c = gold["connect"]
        assert packet.protocol_name == c["protoname"]
        assert int(packet.protocol_version) == int(c["ver"])
        assert _connect_flags(packet) == int(c["conflags"], 16)
        assert packet.keep_alive == int(c["kalive"])
        assert packet.client_id == c["clientid"]
        assert packet.username == c.get("username")
        assert (packet.password is not None) is c.get("password_present", False)
        assert (packet.will.topic if packet.will else None) == c.get("willtopic")
        if "will_properties" in gold:
            assert packet.will is not None
            assert packet.will.properties == _properties(gold["will_properties"])
    elif isinstance(packet, Connack):
        assert packet.session_present is gold["connack"]["session_present"]
        assert int(packet.reason_code) == gold["connack"]["return_code"]
    elif isinstance(packet, Publish):
        assert (packet.dup, packet.qos, packet.retain) == (gold["dup"], gold["qos"], gold["retain"])
        assert packet.packet_id == gold.get("packet_id")
        assert len(packet.topic.encode()) == gold["topic_length"]
        alias = packet.properties.topic_alias
        if gold.get("topic_from_alias"):
            assert packet.topic == ""
            assert alias is not None
            assert aliases[alias] == gold["topic"]
        else:
            assert packet.topic == gold["topic"]
            if alias is not None:
                aliases[alias] = packet.topic
        assert len(packet.payload) == gold["payload_length"]
        assert packet.payload.hex() == gold["payload_hex"]
        assert hashlib.sha256(packet.payload).hexdigest() == gold["payload_sha256"]
    elif isinstance(packet, Subscribe):
        assert packet.packet_id == gold["packet_id"]
        assert len(packet.subscriptions) == len(gold["subscriptions"])
        for sub, g in zip(packet.subscriptions, gold["subscriptions"], strict=True):
            assert (sub.topic_filter, sub.qos) == (g["topic"], g["qos"])
            if "options" in g:
                options = (
                    sub.qos | sub.no_local << 2 | sub.retain_as_published << 3 | int(sub.retain_handling) << 4
                )
                assert options == g["options"]
    elif isinstance(packet, (Suback, Unsuback)):
        assert packet.packet_id == gold["packet_id"]
        assert [int(c) for c in packet.reason_codes] == gold["return_codes"]
    elif isinstance(packet, Unsubscribe):
        assert packet.packet_id == gold["packet_id"]
        assert list(packet.topic_filters) == gold["topics"]
    elif isinstance(packet, (Puback, Pubrec, Pubrel, Pubcomp)):
        assert packet.packet_id == gold["packet_id"]
        assert int(packet.reason_code) == gold.get("reason_code", 0)
    elif isinstance(packet, Disconnect):
        assert int(packet.reason_code) == gold.get("reason_code", 0)


def test_every_packet_matches(decoded: Decoded) -> None:
    assert set(decoded.packets) == set(decoded.golden_packets)
    for key, golden_packets in decoded.golden_packets.items():
        ours = decoded.packets[key]
        assert len(ours) == len(golden_packets), key
        aliases: dict[int, str] = {}
        for mine, gold in zip(ours, golden_packets, strict=True):
            where = (key, gold["index"], gold["type_name"])
            packet = mine.packet
            assert int(type(packet).TYPE) == gold["type"], where
            assert mine.raw[0] & 0x0F == gold["flags"], where
            assert len(mine.raw) == gold["total_length"], where
            header = len(mine.raw) - gold["remaining_length"]
            assert 2 <= header <= 5, where
            assert mine.stream_offset == gold["stream_range"][0], where
            golden_raw = bytes.fromhex(gold["packet_hex"])
            version = decoded.versions[key[0]]
            expected_raw = mask_password(golden_raw, decode(golden_raw, version))
            assert mine.raw == expected_raw, where
            if isinstance(packet, Connect) and packet.password is not None:
                assert golden_raw != expected_raw
                assert set(packet.password) == {ord("*")}
            frames = [decoded.frame_local[i] for i in gold["frames"]]
            assert [(key, i) for i in mine.frames] == frames, where
            assert (key, mine.frames[-1]) == decoded.frame_local[gold["completed_in_frame"]], where
            _check_fields(packet, gold, aliases)


def test_password_of_the_capture_appears_nowhere(decoded: Decoded) -> None:
    for gold in decoded.golden["mqtt_packets"]:
        if gold["type"] == 1 and gold["connect"].get("password_present"):
            raw = bytes.fromhex(gold["packet_hex"])
            connect = decode(raw)
            assert isinstance(connect, Connect)
            assert connect.password
            for event in decoded.events:
                assert connect.password not in repr(event).encode()
                for name in ("raw", "payload", "data"):
                    assert connect.password not in getattr(event, name, b"")
