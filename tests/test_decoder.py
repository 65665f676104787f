"""ConnectionDecoder on synthesized traffic: our encoder's packets, cut into frames by a
frame builder, cut into TCP chunks; the expected parts are computed independently from
packet and frame boundaries."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.decoder import ConnectionDecoder
from explorer.errors import MalformedPacket
from explorer.model.events import (
    Direction,
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    PacketEvent,
    PacketPart,
    TraceEvent,
)
from explorer.mqtt.codec import decode, encode
from explorer.mqtt.enums import ConnackReasonCode, ProtocolVersion, SubackReasonCode
from explorer.mqtt.packets import (
    Connack,
    Connect,
    Disconnect,
    Packet,
    Pingreq,
    Properties,
    Puback,
    Publish,
    Suback,
    Subscribe,
    Subscription,
    Unsubscribe,
    Will,
)
from explorer.ws.framing import OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_TEXT, build_frame
from explorer.ws.handshake import accept_key

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
PASSWORD = b"hunter2-very-secret"
REQUEST = (
    "GET /mqtt HTTP/1.1\r\nHost: broker.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
).encode()
RESPONSE = (
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Accept: {accept_key(KEY)}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
).encode()

CONNECT = Connect(
    client_id="sensor-1",
    username="alice",
    password=PASSWORD,
    will=Will("will/sensor-1", b"gone", qos=1),
    keep_alive=30,
)
CLIENT_PACKETS: list[Packet] = [
    Publish("a/b", b"x" * 3),
    Publish("sensors/t", b"23.5", qos=1, packet_id=7, retain=True),
    Publish("big", bytes(range(256)) * 3, qos=2, packet_id=8),
    Subscribe(1, (Subscription("a/#", qos=1), Subscription("b/+", qos=2))),
    Unsubscribe(2, ("a/#",)),
    Pingreq(),
    Puback(9),
    Publish("e", b"", qos=0),
]


@dataclass
class Wire:
    """One direction as sent: its bytes, frame payload boundaries and packet boundaries."""

    data: bytes
    frame_payloads: list[tuple[int, bytes]]  # (opcode, unmasked payload) per frame
    packet_bounds: list[tuple[int, int]]  # MQTT stream [start, end) per packet


def frame_stream(
    packets: Sequence[Packet],
    cuts: Iterable[int],
    *,
    masked: bool,
    version: ProtocolVersion = ProtocolVersion.V311,
    rng: random.Random | None = None,
) -> Wire:
    """Encode packets, concatenate, cut the MQTT stream at ``cuts`` into binary frames."""
    rng = rng or random.Random(1)
    stream = b""
    bounds = []
    for packet in packets:
        raw = encode(packet, version)
        bounds.append((len(stream), len(stream) + len(raw)))
        stream += raw
    points = sorted({c for c in cuts if 0 < c < len(stream)} | {0, len(stream)})
    data = b""
    payloads = []
    for lo, hi in itertools.pairwise(points):
        payload = stream[lo:hi]
        data += build_frame(OP_BINARY, payload, mask_key=rng.randbytes(4) if masked else None)
        payloads.append((OP_BINARY, payload))
    return Wire(data, payloads, bounds)


def expected_parts(wire: Wire) -> list[tuple[tuple[PacketPart, ...], tuple[int, ...]]]:
    """Parts and completed packets per frame, from the boundaries alone."""
    out = []
    pos = 0
    for _, payload in wire.frame_payloads:
        lo, hi = pos, pos + len(payload)
        parts = []
        completed = []
        for no, (start, end) in enumerate(wire.packet_bounds):
            if end <= lo or start >= hi:
                continue
            first, last = start >= lo, end <= hi
            role = {(True, True): "whole", (True, False): "first", (False, True): "last"}.get(
                (first, last), "middle"
            )
            a, b = max(start, lo), min(end, hi)
            parts.append(PacketPart(no, role, a - lo, b - lo, a - start, b - start))  # type: ignore[arg-type]
            if last:
                completed.append(no)
        out.append((tuple(parts), tuple(completed)))
        pos = hi
    return out


def chunked(data: bytes, mode: str | int) -> list[bytes]:
    if mode == "whole":
        return [data]
    if mode == "bytes":
        return [data[i : i + 1] for i in range(len(data))]
    rng = random.Random(mode)
    chunks = []
    pos = 0
    while pos < len(data):
        size = rng.randint(1, 50)
        chunks.append(data[pos : pos + size])
        pos += size
    return chunks


def run(
    c2s: bytes,
    s2c: bytes,
    mode: str | int = "whole",
    *,
    eof: bool = False,
    decoder: ConnectionDecoder | None = None,
) -> list[TraceEvent]:
    """Feed both directions interleaved chunk by chunk (client first), times increasing."""
    decoder = decoder or ConnectionDecoder(conn=3)
    a, b = chunked(c2s, mode), chunked(s2c, mode)
    t = 0.0
    for i in range(max(len(a), len(b))):
        for direction, chunks in (("c2s", a), ("s2c", b)):
            if i < len(chunks):
                t += 1.0
                decoder.receive_data(direction, chunks[i], t)  # type: ignore[arg-type]
    if eof:
        decoder.receive_eof("c2s", t + 1)
        decoder.receive_eof("s2c", t + 2)
    return decoder.events_received()


def of(events: list[TraceEvent], kind: type, direction: Direction | None = None) -> list:  # type: ignore[type-arg]
    return [e for e in events if type(e) is kind and (direction is None or e.direction == direction)]


def assert_no_password(events: list[TraceEvent]) -> None:
    for event in events:
        assert PASSWORD not in repr(event).encode()
        for name in ("raw", "payload", "data"):
            assert PASSWORD[:6] not in getattr(event, name, b""), (name, event)


def masked_connect_raw(packet: Connect, version: ProtocolVersion = ProtocolVersion.V311) -> bytes:
    raw = encode(packet, version)
    assert packet.password is not None
    return raw[: -len(packet.password)] + b"*" * len(packet.password)


def check_direction(
    events: list[TraceEvent], direction: Direction, wire: Wire, packets: Sequence[Packet]
) -> None:
    frames = of(events, FrameEvent, direction)
    assert [f.index for f in frames] == list(range(len(wire.frame_payloads)))
    expected = expected_parts(wire)
    for frame, (payload_opcode, payload), (parts, completed) in zip(
        frames, wire.frame_payloads, expected, strict=True
    ):
        assert frame.opcode == payload_opcode
        assert (frame.parts, frame.completed) == (parts, completed)
        assert frame.payload_length == len(payload)
        if PASSWORD not in payload:
            assert frame.payload == payload or b"*" in frame.payload
    decoded = of(events, PacketEvent, direction)
    assert [p.packet_no for p in decoded] == list(range(len(packets)))
    for event, packet, (start, end) in zip(decoded, packets, wire.packet_bounds, strict=True):
        assert event.stream_offset == start
        assert event.frames == tuple(
            i for i, (parts, _) in enumerate(expected) if any(p.packet_no == event.packet_no for p in parts)
        )
        if isinstance(packet, Connect):
            assert event.packet == replace(packet, password=b"*" * len(PASSWORD))
            assert event.raw == masked_connect_raw(packet)
        else:
            assert event.packet == packet
            assert event.raw == encode(packet)
        assert len(event.raw) == end - start


def test_handshake_then_packets_in_both_directions() -> None:
    client = frame_stream([CONNECT, *CLIENT_PACKETS], [], masked=True)
    server_packets: list[Packet] = [Connack(), Suback(1, (SubackReasonCode.GRANTED_QOS_1,))]
    server = frame_stream(server_packets, [], masked=False)
    events = run(REQUEST + client.data, RESPONSE + server.data)
    assert isinstance(events[0], HandshakeRequest)
    assert events[0].raw == REQUEST
    assert events[0].target == "/mqtt"
    response = of(events, HandshakeResponse)[0]
    assert (response.status, response.subprotocol) == (101, "mqtt")
    assert of(events, ErrorReported) == []
    check_direction(events, "c2s", client, [CONNECT, *CLIENT_PACKETS])
    check_direction(events, "s2c", server, server_packets)
    assert all(e.conn == 3 for e in events)
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert_no_password(events)


@pytest.mark.parametrize("mode", ["whole", "bytes", 7, 99])
def test_one_packet_over_many_frames_and_many_packets_per_frame(mode: str | int) -> None:
    packets = [CONNECT, *CLIENT_PACKETS]
    total = sum(len(encode(p)) for p in packets)
    rng = random.Random(5)
    cuts = [1, 2, 3, 5, 8, 13] + [rng.randrange(total) for _ in range(15)]
    client = frame_stream(packets, cuts, masked=True)
    server = frame_stream([Connack()], [1, 2, 3], masked=False)
    decoder = ConnectionDecoder()
    events = run(REQUEST + client.data, RESPONSE + server.data, mode, decoder=decoder)
    assert of(events, ErrorReported) == []
    check_direction(events, "c2s", client, packets)
    check_direction(events, "s2c", server, [Connack()])
    assert decoder.negotiated_subprotocol == "mqtt"
    assert decoder.mqtt_version == ProtocolVersion.V311
    assert_no_password(events)
    # each frame event comes before the packet events it completes
    position = {id(e): i for i, e in enumerate(events)}
    for frame in of(events, FrameEvent):
        for packet in of(events, PacketEvent, frame.direction):
            if packet.packet_no in frame.completed:
                assert position[id(frame)] < position[id(packet)]


PACKET_POOL = [CONNECT, *CLIENT_PACKETS]


@settings(max_examples=60, deadline=None)
@given(
    picks=st.lists(st.integers(0, len(PACKET_POOL) - 1), min_size=1, max_size=8),
    cuts=st.lists(st.integers(0, 1200), max_size=12),
    mode=st.sampled_from(["whole", "bytes", 1, 2, 3]),
)
def test_any_packets_any_frames_any_chunking(picks: list[int], cuts: list[int], mode: str | int) -> None:
    packets = [PACKET_POOL[i] for i in picks]
    client = frame_stream(packets, cuts, masked=True)
    events = run(REQUEST + client.data, b"", mode)
    assert of(events, ErrorReported) == []
    check_direction(events, "c2s", client, packets)
    assert_no_password(events)


def test_server_packets_are_read_with_the_version_of_the_clients_connect() -> None:
    v5 = ProtocolVersion.V5
    connect = Connect(protocol_version=v5, client_id="c5", properties=Properties(session_expiry_interval=60))
    connack = Connack(
        reason_code=ConnackReasonCode.SUCCESS,
        properties=Properties(topic_alias_maximum=10, assigned_client_identifier="x"),
    )
    publish = Publish("t", b"p", qos=1, packet_id=3, properties=Properties(user_properties=(("k", "v"),)))
    client = frame_stream([connect], [], masked=True, version=v5)
    server = frame_stream([connack, publish], [5], masked=False, version=v5)
    decoder = ConnectionDecoder()
    events = run(REQUEST + client.data, b"", decoder=decoder)
    events += run(b"", RESPONSE + server.data, decoder=decoder)
    assert decoder.mqtt_version == v5
    assert [p.packet for p in of(events, PacketEvent, "s2c")] == [connack, publish]


def test_fragmented_message_with_interleaved_ping_feeds_mqtt_in_order() -> None:
    publish = encode(Publish("frag/topic", b"0123456789"))
    data = (
        build_frame(OP_BINARY, publish[:4], fin=False, mask_key=b"abcd")
        + build_frame(OP_PING, b"are you there", mask_key=b"efgh")
        + build_frame(OP_CONTINUATION, publish[4:10], fin=False, mask_key=b"ijkl")
        + build_frame(OP_CONTINUATION, publish[10:], mask_key=b"mnop")
    )
    events = run(REQUEST + data, b"", "bytes")
    frames = of(events, FrameEvent)
    assert [f.opcode for f in frames] == [OP_BINARY, OP_PING, OP_CONTINUATION, OP_CONTINUATION]
    assert frames[1].parts == ()
    assert frames[1].payload == b"are you there"
    assert [p.role for f in frames for p in f.parts] == ["first", "middle", "last"]
    (packet,) = of(events, PacketEvent)
    assert packet.frames == (0, 2, 3)
    assert packet.packet == Publish("frag/topic", b"0123456789")
    assert of(events, ErrorReported) == []


def test_text_frames_are_reported_and_decoded_anyway() -> None:
    raw = encode(Pingreq()) + encode(Publish("t", b"v"))
    data = build_frame(OP_TEXT, raw[:3], fin=False, mask_key=b"abcd") + build_frame(
        OP_CONTINUATION, raw[3:], mask_key=b"abcd"
    )
    data += build_frame(OP_TEXT, encode(Pingreq()), mask_key=b"abcd")
    events = run(REQUEST + data, b"")
    errors = of(events, ErrorReported)
    assert len(errors) == 1
    assert "MQTT-6.0.0-1" in errors[0].message
    assert errors[0].layer == "websocket"
    assert errors[0].offset == 0
    assert [p.packet for p in of(events, PacketEvent)] == [Pingreq(), Publish("t", b"v"), Pingreq()]


def test_close_frames_carry_code_and_reason() -> None:
    client = build_frame(OP_CLOSE, b"\x03\xe8done", mask_key=b"abcd")
    server = build_frame(OP_CLOSE, b"")
    events = run(REQUEST + client, RESPONSE + server)
    c, s = of(events, FrameEvent)
    assert (c.close_code, c.close_reason, c.parts) == (1000, "done", ())
    assert (s.close_code, s.close_reason, s.direction) == (None, "", "s2c")
    assert of(events, ErrorReported) == []


def test_frame_problems_are_reported_at_the_frame_offset() -> None:
    first = build_frame(OP_BINARY, encode(Pingreq()), mask_key=b"abcd")
    unmasked = build_frame(OP_BINARY, encode(Pingreq()))
    events = run(REQUEST + first + unmasked, b"")
    (error,) = of(events, ErrorReported)
    assert error.offset == len(first)
    assert "unmasked" in error.message
    assert len(of(events, PacketEvent)) == 2


def test_malformed_packet_body_is_skipped_and_decoding_continues() -> None:
    good = encode(Publish("a", b"1"))
    bad = bytes([0x40, 0x01, 0x00])  # PUBACK needs a 2-byte packet id
    after = encode(Publish("b", b"2"))
    for mode in ("whole", "bytes"):
        data = build_frame(OP_BINARY, good + bad + after[:2], mask_key=b"abcd") + build_frame(
            OP_BINARY, after[2:], mask_key=b"abcd"
        )
        events = run(REQUEST + data, b"", mode)
        (error,) = of(events, ErrorReported)
        assert error.layer == "mqtt"
        assert len(good) <= error.offset < len(good) + len(bad)
        assert error.data == bad
        assert [p.packet for p in of(events, PacketEvent)] == [Publish("a", b"1"), Publish("b", b"2")]
        assert [p.packet_no for p in of(events, PacketEvent)] == [0, 2]
        first_frame = of(events, FrameEvent)[0]
        assert [(p.packet_no, p.role) for p in first_frame.parts] == [
            (0, "whole"),
            (1, "whole"),
            (2, "first"),
        ]


def test_broken_fixed_header_stops_mqtt_but_frames_go_on() -> None:
    good = encode(Publish("a", b"1"))
    bad = bytes([0x00, 0x00])  # packet type 0 is reserved
    data = (
        build_frame(OP_BINARY, good + bad, mask_key=b"abcd")
        + build_frame(OP_BINARY, encode(Pingreq()), mask_key=b"abcd")
        + build_frame(OP_PING, b"", mask_key=b"abcd")
    )
    for mode in ("whole", "bytes", 3):
        events = run(REQUEST + data, b"", mode)
        (error,) = of(events, ErrorReported)
        assert error.offset == len(good)
        assert "not read as MQTT" in error.message
        assert [p.packet for p in of(events, PacketEvent)] == [Publish("a", b"1")]
        frames = of(events, FrameEvent)
        assert len(frames) == 3
        assert frames[1].parts == ()


@pytest.mark.parametrize("mode", ["whole", "bytes"])
def test_truncated_frame_and_packet_are_reported_at_eof(mode: str) -> None:
    publish = encode(Publish("topic", b"payload"))
    frame = build_frame(OP_BINARY, publish[:5], mask_key=b"abcd")
    cut = build_frame(OP_BINARY, publish[5:], mask_key=b"abcd")[:-2]
    events = run(REQUEST + frame + cut, b"", mode, eof=True)
    errors = of(events, ErrorReported)
    ws_error, mqtt_error = errors
    assert ws_error.layer == "websocket"
    assert ws_error.offset == len(frame)
    assert "inside a frame" in ws_error.message
    assert mqtt_error.layer == "mqtt"
    assert mqtt_error.offset == 0
    assert mqtt_error.data == publish[:5]
    assert of(events, PacketEvent) == []


def test_truncated_connect_never_shows_its_password() -> None:
    raw = encode(CONNECT)
    data = b"".join(
        build_frame(OP_BINARY, raw[i : i + 4], mask_key=b"abcd") for i in range(0, len(raw) - 3, 4)
    )
    events = run(REQUEST + data, b"", "bytes", eof=True)
    assert of(events, PacketEvent) == []
    frames = of(events, FrameEvent)
    assert len(frames) == len(range(0, len(raw) - 3, 4))
    (error,) = of(events, ErrorReported)
    assert error.layer == "mqtt"
    assert "inside an MQTT packet" in error.message
    assert b"alice" not in error.data
    assert_no_password(events)
    assert [e.seq for e in events] == sorted(e.seq for e in events)


def test_malformed_connect_never_shows_its_password() -> None:
    raw = bytearray(encode(CONNECT))
    raw[9] = 0xC1  # reserved connect flag set [MQTT-3.1.2-3]
    events = run(
        REQUEST
        + build_frame(OP_BINARY, bytes(raw[:20]), mask_key=b"abcd")
        + build_frame(OP_BINARY, bytes(raw[20:]), mask_key=b"abcd"),
        b"",
    )
    (error,) = of(events, ErrorReported)
    assert error.layer == "mqtt"
    assert_no_password(events)
    assert len(of(events, FrameEvent)) == 2


def test_password_masked_even_with_events_collected_between_frames() -> None:
    raw = encode(CONNECT)
    decoder = ConnectionDecoder()
    collected: list[TraceEvent] = []
    decoder.receive_data("c2s", REQUEST, 0.0)
    for i in range(len(raw)):
        decoder.receive_data("c2s", build_frame(OP_BINARY, raw[i : i + 1], mask_key=b"abcd"), float(i))
        collected += decoder.events_received()
    assert_no_password(collected)
    frames = of(collected, FrameEvent)
    assert len(frames) == len(raw)
    assert b"".join(f.payload for f in frames) == masked_connect_raw(CONNECT)
    assert [f.time for f in frames] == [float(i) for i in range(len(raw))]
    assert [e.seq for e in collected] == sorted(e.seq for e in collected)


def test_refused_upgrade_ends_frame_decoding_with_the_body_in_the_response() -> None:
    body = b"Forbidden: bad token"
    refusal = b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    decoder = ConnectionDecoder()
    events = run(REQUEST, refusal + b"trailing", decoder=decoder)
    decoder.receive_data("c2s", build_frame(OP_BINARY, encode(Pingreq()), mask_key=b"abcd"), 9.0)
    events += decoder.events_received()
    response = of(events, HandshakeResponse)[0]
    assert response.status == 403
    assert response.raw == refusal
    assert of(events, FrameEvent) == []
    messages = [e.message for e in of(events, ErrorReported)]
    assert any("403" in m for m in messages)
    assert any("refused upgrade" in m for m in messages)
    assert decoder.handshake is not None
    assert not decoder.handshake.ok


def test_mqtt_sent_without_upgrade_is_explained() -> None:
    events = run(encode(CONNECT) + b"\r\n\r\n", b"")
    (error,) = of(events, ErrorReported)
    assert error.layer == "http"
    assert "without a WebSocket upgrade" in error.message
    assert PASSWORD not in error.data


def test_authorization_header_is_masked() -> None:
    request = REQUEST.replace(b"\r\n\r\n", b"\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n")
    (event,) = run(request, b"")
    assert isinstance(event, HandshakeRequest)
    assert b"YWxpY2U6c2VjcmV0" not in event.raw
    assert len(event.raw) == len(request)
    assert ("Authorization", "Basic " + "*" * 16) in event.headers


def test_unframeable_stream_is_reported_once() -> None:
    bad = bytes([0x82, 0xFF]) + (1 << 63).to_bytes(8, "big") + b"mask"
    decoder = ConnectionDecoder()
    events = run(
        REQUEST + build_frame(OP_BINARY, encode(Pingreq()), mask_key=b"abcd") + bad, b"", decoder=decoder
    )
    decoder.receive_data("c2s", b"more bytes", 5.0)
    decoder.receive_data("c2s", b"and more", 6.0)
    events += decoder.events_received()
    errors = of(events, ErrorReported)
    assert len(errors) == 1
    assert errors[0].offset == len(build_frame(OP_BINARY, encode(Pingreq()), mask_key=b"abcd"))
    assert len(of(events, PacketEvent)) == 1


@pytest.mark.parametrize("mode", ["whole", "bytes", 11])
def test_native_mqtt_over_tcp_has_packets_only(mode: str | int) -> None:
    c2s = b"".join(encode(p) for p in PACKET_POOL)
    s2c = encode(Connack()) + encode(Disconnect())
    events = run(c2s, s2c, mode, decoder=ConnectionDecoder(websocket=False))
    assert {type(e) for e in events} == {PacketEvent}
    client = of(events, PacketEvent, "c2s")
    assert [e.packet for e in client][1:] == CLIENT_PACKETS
    assert all(e.frames == () for e in events)
    assert [e.stream_offset for e in client][:2] == [0, len(encode(CONNECT))]
    assert_no_password(events)


def test_shared_sequence_numbers_and_times_come_from_the_caller() -> None:
    counter = iter(range(1000, 2000))
    first = ConnectionDecoder(0, next_seq=lambda: next(counter))
    second = ConnectionDecoder(1, next_seq=lambda: next(counter))
    first.receive_data("c2s", REQUEST, 10.5)
    second.receive_data("c2s", REQUEST, 11.5)
    first.receive_data("c2s", build_frame(OP_BINARY, encode(Pingreq()), mask_key=b"abcd"), 12.5)
    events = second.events_received() + first.events_received()
    assert sorted(e.seq for e in events) == [1000, 1001, 1002, 1003]
    assert sorted(e.time for e in events) == [10.5, 11.5, 12.5, 12.5]


def test_empty_data_frames_have_no_parts() -> None:
    data = build_frame(OP_BINARY, b"", mask_key=b"abcd") + build_frame(
        OP_BINARY, encode(Pingreq()), mask_key=b"abcd"
    )
    events = run(REQUEST + data, b"")
    empty, ping = of(events, FrameEvent)
    assert (empty.parts, empty.completed) == ((), ())
    assert ping.completed == (0,)


@settings(max_examples=200, deadline=None)
@given(
    junk=st.binary(max_size=300),
    framed=st.booleans(),
    websocket=st.booleans(),
    mode=st.sampled_from(["whole", "bytes", 4]),
)
def test_random_bytes_never_raise_and_never_vanish(
    junk: bytes, framed: bool, websocket: bool, mode: str | int
) -> None:
    payload = encode(CONNECT)[:10] + junk
    if websocket:
        body = build_frame(OP_BINARY, payload, mask_key=b"abcd") if framed else junk
        c2s, s2c = REQUEST + body, RESPONSE + junk
    else:
        c2s, s2c = payload, junk
    events = run(c2s, s2c, mode, eof=True, decoder=ConnectionDecoder(websocket=websocket))
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    for direction, sent, head in (("c2s", c2s, REQUEST), ("s2c", s2c, RESPONSE)):
        mine = [e for e in events if getattr(e, "direction", None) == direction]
        if len(sent) > (len(head) if websocket else 0):
            # whatever was sent shows up as something: a frame, a packet or an error
            assert any(type(e) in (FrameEvent, PacketEvent, ErrorReported) for e in mine), direction
    assert_no_password(events)


def one_per_frame(packets: Sequence[Packet], version: ProtocolVersion = ProtocolVersion.V311) -> Wire:
    """Each packet in its own frame: the shape of a firehose."""
    bounds: list[int] = []
    pos = 0
    for packet in packets:
        pos += len(encode(packet, version))
        bounds.append(pos)
    return frame_stream(packets, bounds, masked=True, version=version)


@pytest.mark.parametrize("version", [ProtocolVersion.V311, ProtocolVersion.V5])
@pytest.mark.parametrize("mode", ["whole", "bytes", 13, 200])
def test_firehose_of_one_publish_per_frame_mixed_with_other_packets(
    version: ProtocolVersion, mode: str | int
) -> None:
    connect = replace(CONNECT, protocol_version=version)
    packets: list[Packet] = [connect]
    for i in range(40):
        topic = ("a/b", "a/c", "zz/long/topic/name", "a/b")[i % 4]
        packets.append(Publish(topic, bytes([i]) * (i % 7), retain=i % 5 == 0))
        if i % 9 == 0:
            packets.append(Publish(topic, b"q1", qos=1, packet_id=i + 1))
        if i % 13 == 0:
            packets.append(Pingreq())
    client = one_per_frame(packets, version)
    decoder = ConnectionDecoder()
    events = run(REQUEST + client.data, b"", mode, decoder=decoder)
    assert of(events, ErrorReported) == []
    frames = of(events, FrameEvent, "c2s")
    assert [f.completed for f in frames] == [(i,) for i in range(len(packets))]
    decoded = of(events, PacketEvent, "c2s")
    assert [e.packet for e in decoded][1:] == packets[1:]
    assert [e.raw for e in decoded][1:] == [encode(p, version) for p in packets[1:]]
    assert [e.frames for e in decoded] == [(i,) for i in range(len(packets))]
    assert [e.stream_offset for e in decoded] == [start for start, _ in client.packet_bounds]
    assert [f.stream_offset for f in frames] == sorted(f.stream_offset for f in frames)
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert_no_password(events)
    # events built by the fast path have every field set, like those built by __init__
    for event in events:
        assert replace(event) == event
        if isinstance(event, PacketEvent):
            assert replace(event.packet) == event.packet  # type: ignore[type-var]


def test_fast_path_is_on_for_the_current_event_classes() -> None:
    from explorer.decoder.fastpath import FAST_PATH_AVAILABLE

    assert FAST_PATH_AVAILABLE


@pytest.mark.parametrize("topic", [b"a\x00b", b"\xff\xfe", b"", b"ok"])
def test_odd_topic_in_a_one_publish_frame_is_read_as_the_codec_reads_it(topic: bytes) -> None:
    good = encode(Publish("ok", b"1"))
    body = len(topic).to_bytes(2, "big") + topic + b"payload"
    odd = bytes([0x30, len(body)]) + body
    try:
        expected: Packet | None = decode(odd)
    except MalformedPacket:
        expected = None
    data = b"".join(build_frame(OP_BINARY, p, mask_key=b"abcd") for p in (good, odd, good))
    for mode in ("whole", "bytes"):
        events = run(REQUEST + data, b"", mode)
        decoded = of(events, PacketEvent)
        if expected is None:
            (error,) = of(events, ErrorReported)
            assert error.layer == "mqtt"
            assert len(good) <= error.offset < len(good) + len(odd)
            assert [e.packet for e in decoded] == [Publish("ok", b"1")] * 2
            assert [e.packet_no for e in decoded] == [0, 2]
        else:
            assert of(events, ErrorReported) == []
            assert [e.packet for e in decoded] == [Publish("ok", b"1"), expected, Publish("ok", b"1")]
        assert decoded[-1].stream_offset == len(good) + len(odd)


def test_broken_header_after_fast_frames_keeps_true_offsets() -> None:
    first = encode(Publish("fast", b"path"))
    good = encode(Publish("a", b"1"))
    bad = bytes([0xF3, 0x00])  # AUTH with flags set: reserved bits [MQTT-2.1.3-1]
    data = build_frame(OP_BINARY, first, mask_key=b"abcd") + build_frame(
        OP_BINARY, good + bad, mask_key=b"efgh"
    )
    for mode in ("whole", "bytes"):
        events = run(REQUEST + data, b"", mode)
        (error,) = of(events, ErrorReported)
        assert error.offset == len(first) + len(good)
        decoded = of(events, PacketEvent)
        assert [(e.packet_no, e.stream_offset) for e in decoded] == [(0, 0), (1, len(first))]
        assert decoded[1].packet == Publish("a", b"1")
        assert of(events, FrameEvent)[1].parts[0].role == "whole"


def deflate_session(
    client_no_context_takeover: bool, packets: Sequence[Packet], *, fragment: bool
) -> tuple[bytes, bytes, list[bytes]]:
    """Client and server bytes from websockets' own client and server with
    permessage-deflate negotiated; each packet sent as one message (optionally in 3
    fragments with a ping between)."""
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import (
        ClientPerMessageDeflateFactory,
        ServerPerMessageDeflateFactory,
    )
    from websockets.server import ServerProtocol
    from websockets.uri import parse_uri

    client = ClientProtocol(
        parse_uri("ws://broker.test/mqtt"),
        subprotocols=["mqtt"],  # type: ignore[list-item]
        extensions=[ClientPerMessageDeflateFactory(client_no_context_takeover=client_no_context_takeover)],
    )
    server = ServerProtocol(subprotocols=["mqtt"], extensions=[ServerPerMessageDeflateFactory()])  # type: ignore[list-item]
    client.send_request(client.connect())
    c2s = b"".join(client.data_to_send())
    server.receive_data(c2s)
    (request,) = server.events_received()
    server.send_response(server.accept(request))  # type: ignore[arg-type]
    s2c = b"".join(server.data_to_send())
    client.receive_data(s2c)
    raws = [encode(p) for p in packets]
    for raw in raws:
        if fragment and len(raw) >= 3:
            third = len(raw) // 3
            client.send_binary(raw[:third], fin=False)
            client.send_ping(b"mid")
            client.send_continuation(raw[third : 2 * third], fin=False)
            client.send_continuation(raw[2 * third :], fin=True)
        else:
            client.send_binary(raw)
    c2s += b"".join(client.data_to_send())
    server.send_binary(encode(Connack()))
    s2c += b"".join(server.data_to_send())
    return c2s, s2c, raws


@pytest.mark.parametrize("no_takeover", [False, True])
@pytest.mark.parametrize("fragment", [False, True])
@pytest.mark.parametrize("mode", ["whole", "bytes", 9])
def test_permessage_deflate_messages_are_inflated_and_decoded(
    no_takeover: bool, fragment: bool, mode: str | int
) -> None:
    packets: list[Packet] = [CONNECT, *CLIENT_PACKETS, *CLIENT_PACKETS]
    c2s, s2c, raws = deflate_session(no_takeover, packets, fragment=fragment)
    decoder = ConnectionDecoder()
    events = run(c2s, s2c, mode, decoder=decoder)
    assert of(events, ErrorReported) == []
    assert decoder.handshake is not None
    assert any(e.startswith("permessage-deflate") for e in decoder.handshake.extensions)
    decoded = of(events, PacketEvent, "c2s")
    assert [e.packet for e in decoded][1:] == packets[1:]
    assert decoded[0].raw == masked_connect_raw(CONNECT)
    data_frames = [f for f in of(events, FrameEvent, "c2s") if f.opcode != OP_PING]
    assert any(f.rsv1 for f in data_frames)
    # the frames' (inflated) payloads put together are the MQTT stream, password starred
    assert b"".join(f.payload for f in data_frames) == masked_connect_raw(CONNECT) + b"".join(raws[1:])
    for frame in data_frames:
        for part in frame.parts:
            assert part.frame_end - part.frame_start == part.packet_end - part.packet_start
    assert [p.packet for p in of(events, PacketEvent, "s2c")] == [Connack()]
    assert_no_password(events)


def test_corrupt_deflate_data_is_reported_and_stops_mqtt() -> None:
    c2s, s2c, _ = deflate_session(False, [Pingreq()], fragment=False)
    body = build_frame(OP_BINARY, b"\xff\xff\xff\xff", mask_key=b"abcd", rsv=0b100)
    head_end = c2s.index(b"\r\n\r\n") + 4
    events = run(c2s[:head_end] + body + build_frame(OP_BINARY, encode(Pingreq()), mask_key=b"abcd"), s2c)
    errors = of(events, ErrorReported)
    assert len(errors) == 1
    assert "cannot be inflated" in errors[0].message
    assert errors[0].offset == 0
    assert of(events, PacketEvent, "c2s") == []
    assert len(of(events, FrameEvent, "c2s")) == 2


def test_bytearray_and_memoryview_input_give_bytes_in_events() -> None:
    data = REQUEST + build_frame(OP_BINARY, encode(Publish("t", b"v")), mask_key=b"abcd")
    decoder = ConnectionDecoder()
    decoder.receive_data("c2s", bytearray(data[:50]), 1.0)
    decoder.receive_data("c2s", memoryview(data)[50:], 2.0)
    events = decoder.events_received()
    (frame,) = of(events, FrameEvent)
    (packet,) = of(events, PacketEvent)
    assert type(frame.payload) is bytes
    assert type(frame.header) is bytes
    assert type(packet.raw) is bytes
    assert packet.packet == Publish("t", b"v")


def _mixed_firehose(version: ProtocolVersion) -> list[Packet]:
    """QoS 0 PUBLISHes of every shape the fast path takes or leaves, among others."""
    packets: list[Packet] = [replace(CONNECT, protocol_version=version)]
    for i in range(30):
        packets.append(
            Publish(("a/b", "a/c", "t/\u00e9", "a/b")[i % 4], bytes([i]) * (i % 5), retain=i % 3 == 0)
        )
        if i % 7 == 0:
            packets.append(Publish("q/1", b"q1", qos=1, packet_id=i + 1))
        if i % 11 == 0:
            packets.append(Publish("big", b"x" * 200))  # a 16-bit frame length: checked in full
        if version == ProtocolVersion.V5 and i % 5 == 0:
            packets.append(Publish("p", b"v", properties=Properties(content_type="text/plain")))
    return packets


def _events_either_way(c2s: bytes, mode: str | int, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list]:  # type: ignore[type-arg]
    from explorer.decoder import fastpath

    fast = run(REQUEST + c2s, RESPONSE, mode, eof=True)
    with monkeypatch.context() as patch:
        patch.setattr(fastpath, "FAST_PATH_AVAILABLE", False)  # every packet through the PacketReader
        general = run(REQUEST + c2s, RESPONSE, mode, eof=True)
    return fast, general


@pytest.mark.parametrize("version", [ProtocolVersion.V311, ProtocolVersion.V5])
@pytest.mark.parametrize("mode", ["whole", "bytes", 5, 300])
def test_fast_path_makes_the_events_of_the_general_path(
    version: ProtocolVersion, mode: str | int, monkeypatch: pytest.MonkeyPatch
) -> None:
    packets = _mixed_firehose(version)
    wire = one_per_frame(packets, version)
    odd = [
        b"\x30\x05\x00\x02\xc3\x28x",
        b"\x30\x05\x00\x02a\x00x",
        b"\x30\x03\x00\x00x",
    ]  # bad or empty topics
    data = wire.data + b"".join(build_frame(OP_BINARY, p, mask_key=b"abcd") for p in odd) + wire.data[-40:]
    fast, general = _events_either_way(data, mode, monkeypatch)
    assert fast == general
    assert len(of(fast, PacketEvent)) > len(packets)
    assert len(of(fast, ErrorReported)) >= 2  # the bad topics, read by the general path in both


def test_fast_path_keeps_the_maximum_packet_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from explorer.decoder import fastpath
    from explorer.decoder.stream import DirectionDecoder
    from explorer.mqtt.reader import PacketReader

    raw = encode(Publish("t", b"x" * 30))
    big = encode(Publish("t", b"x" * 31))  # one byte above the reader's Maximum Packet Size
    data = b"".join(build_frame(OP_BINARY, p, mask_key=b"abcd") for p in (raw, big, raw))
    seen: list[list[TraceEvent]] = []
    for fast in (True, False):
        with monkeypatch.context() as patch:
            patch.setattr(fastpath, "FAST_PATH_AVAILABLE", fast)
            events: list[TraceEvent] = []
            counter = itertools.count()
            side = DirectionDecoder(
                1, "c2s", events, counter.__next__, reader=PacketReader(max_packet_size=len(raw))
            )
            side.receive_frames(data, 1.0)
            seen.append(events)
    assert seen[0] == seen[1]
    assert [e.packet for e in of(seen[0], PacketEvent)] == [Publish("t", b"x" * 30)]
    (error,) = of(seen[0], ErrorReported)
    assert error.offset == len(raw)
    assert f"at byte {len(raw)}:" in error.message
    assert "exceeds the maximum" in error.message


@pytest.mark.parametrize("mode", ["bytes", 3, 17, 200])
def test_a_batch_of_reads_makes_the_events_of_the_reads_one_by_one(mode: str | int) -> None:
    # Mixed frames (plain, fragmented with a ping between, a close), a bad topic, then a
    # frame that cannot be framed: each frame and error keeps the time of its own read.
    wire = one_per_frame(_mixed_firehose(ProtocolVersion.V311))
    odd = build_frame(OP_BINARY, b"\x30\x05\x00\x02\xc3\x28x", mask_key=b"abcd")
    message = encode(Publish("frag/t", b"y" * 40))
    fragmented = (
        build_frame(OP_BINARY, message[:20], fin=False, mask_key=b"abcd")
        + build_frame(OP_PING, b"p", mask_key=b"abcd")
        + build_frame(OP_CONTINUATION, message[20:], mask_key=b"abcd")
    )
    unframeable = bytes((0x82, 0xFF)) + (1 << 63).to_bytes(8, "big") + b"abcd"
    more = one_per_frame([Publish("after", b"1"), Pingreq()]).data
    data = wire.data + odd + fragmented + more + unframeable + b"never read"
    reads = [(chunk, float(i)) for i, chunk in enumerate(chunked(REQUEST + data, mode))]
    one_by_one = ConnectionDecoder(conn=1)
    batched = ConnectionDecoder(conn=1)
    one_by_one.receive_data("s2c", RESPONSE, 0.0)
    batched.receive_data("s2c", RESPONSE, 0.0)
    for data_, time in reads:
        one_by_one.receive_data("c2s", data_, time)
    for start in range(0, len(reads), 7):
        batched.receive_batch("c2s", reads[start : start + 7])
    expected = one_by_one.events_received()
    assert batched.events_received() == expected
    errors = of(expected, ErrorReported)
    assert [e.layer for e in errors] == ["mqtt", "websocket"]
    assert "most significant bit" in errors[-1].message
