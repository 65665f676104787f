"""ConnectionDecoder(server_packets=..., server_frames=..., max_packet_size=...): what the
decoder hands a live client.

The packet list receives the very ``PacketEvent`` of each server packet (fast path and
general path alike, never a client packet), and a ``ReadPacket`` with the error where
a packet could not be read, at the offsets the trace reports. The frame list receives
the server frames the client's transport acts on (pings, close, text frames, broken
frames, the error that stops the frames), each with its place in the MQTT stream, and
never a whole binary frame.
"""

from __future__ import annotations

import pytest

from explorer.decoder import ConnectionDecoder
from explorer.decoder.stream import ServerFrame, StreamItem
from explorer.errors import PacketTooLarge
from explorer.model.events import ErrorReported, PacketEvent
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion, SubackReasonCode
from explorer.mqtt.packets import Connack, Connect, Packet, Publish, Suback
from explorer.mqtt.reader import ReadPacket
from explorer.ws.framing import (
    CLOSE_REASON_NOT_UTF8,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_TEXT,
    FramingError,
    RawFrame,
    build_frame,
)
from tests.test_decoder import REQUEST, RESPONSE, chunked

V5 = ProtocolVersion.V5


def _server_frames(*payloads: bytes) -> bytes:
    return b"".join(build_frame(OP_BINARY, p) for p in payloads)


def _decode(
    s2c: bytes, mode: str | int, frames: list[ServerFrame] | None = None, **options: object
) -> tuple[ConnectionDecoder, list[StreamItem]]:
    sink: list[StreamItem] = []
    decoder = ConnectionDecoder(websocket=True, server_packets=sink, server_frames=frames, **options)  # type: ignore[arg-type]
    decoder.receive_data("c2s", REQUEST, 0.0)
    connect = encode(Connect(client_id="c", protocol_version=V5, password=b"secret"), V5)
    decoder.receive_data("c2s", build_frame(OP_BINARY, connect, mask_key=b"abcd"), 0.0)
    decoder.receive_data("s2c", RESPONSE, 0.0)
    for chunk in chunked(s2c, mode):
        decoder.receive_data("s2c", chunk, 0.0)
    return decoder, sink


@pytest.mark.parametrize("mode", ["whole", "bytes", 7])
def test_server_packets_are_the_trace_packet_events_in_wire_order(mode: str | int) -> None:
    packets: list[Packet] = [
        Connack(),
        Publish("fast", b"1"),  # one QoS 0 PUBLISH per frame: the fast path
        Publish("general", b"2", qos=1, packet_id=1),
        Suback(1, (SubackReasonCode.GRANTED_QOS_0,)),
        Publish("big", b"x" * 300),
    ]
    raw = [encode(p, V5) for p in packets]
    # One packet per frame, two packets in one frame, one packet over two frames.
    s2c = _server_frames(raw[0], raw[1], raw[2] + raw[3], raw[4][:100], raw[4][100:])
    decoder, sink = _decode(s2c, mode)
    traced = [e for e in decoder.events_received() if isinstance(e, PacketEvent)]
    assert [e.packet for e in sink if isinstance(e, PacketEvent)] == packets
    assert all(any(item is e for e in traced if e.direction == "s2c") for item in sink)
    assert decoder.server_stream_decoded == sum(len(r) for r in raw)


def test_malformed_packet_and_broken_stream_reach_the_list_at_the_trace_offsets() -> None:
    ok = encode(Connack(), V5)
    bad_body = bytes((0x36, 5, 0, 1)) + b"t\x00\x01"  # PUBLISH QoS 3
    broken = b"\x00\x02\x00\x00"  # reserved packet type 0
    decoder, sink = _decode(_server_frames(ok, bad_body + broken), "whole")
    errors = [e for e in decoder.events_received() if isinstance(e, ErrorReported) and e.layer == "mqtt"]
    failed = [item for item in sink if isinstance(item, ReadPacket)]
    assert [(item.start, item.end, item.raw) for item in failed] == [
        (len(ok), len(ok) + len(bad_body), bad_body),
        (len(ok) + len(bad_body), len(ok) + len(bad_body) + len(broken), b""),
    ]
    assert [item.error.offset for item in failed if item.error is not None] == [e.offset for e in errors]


@pytest.mark.parametrize("size", [40, 200])
def test_a_server_packet_above_the_clients_maximum_ends_the_servers_mqtt_stream(size: int) -> None:
    small, large = encode(Publish("t", b"x"), V5), encode(Publish("t", b"y" * size), V5)
    decoder, sink = _decode(_server_frames(small, large, small), "whole", max_packet_size=30)
    assert [type(item) for item in sink] == [PacketEvent, ReadPacket]
    failed = sink[1]
    assert isinstance(failed, ReadPacket)
    assert isinstance(failed.error, PacketTooLarge)
    assert (failed.error.offset, failed.error.size, failed.error.maximum) == (len(small), len(large), 30)
    errors = [e for e in decoder.events_received() if isinstance(e, ErrorReported) and e.layer == "mqtt"]
    assert [e.offset for e in errors] == [len(small)]


@pytest.mark.parametrize("mode", ["whole", "bytes", 7])
def test_frames_the_transport_acts_on_reach_the_frame_list_at_their_place_in_the_stream(
    mode: str | int,
) -> None:
    connack, publish = encode(Connack(), V5), encode(Publish("t", b"1"), V5)
    s2c = (
        build_frame(OP_BINARY, connack)
        + build_frame(OP_PING, b"hi")
        + build_frame(OP_BINARY, publish[:3], fin=False)
        + build_frame(OP_PING, b"")  # between the fragments of a message (RFC 6455 §5.4)
        + build_frame(OP_CONTINUATION, publish[3:])
        + build_frame(OP_BINARY, publish, rsv=0b100)  # RSV1 with no extension
        + build_frame(OP_TEXT, publish)
        + build_frame(OP_CLOSE, (1000).to_bytes(2, "big") + b"\xff")
    )
    frames: list[ServerFrame] = []
    _decoder, sink = _decode(s2c, mode, frames)
    assert [type(item) for item in sink] == [PacketEvent] * 4
    seen = [(offset, frame.opcode, frame.problems) for offset, frame in frames if isinstance(frame, RawFrame)]
    assert seen == [
        (len(connack), OP_PING, ()),
        (len(connack), OP_BINARY, ()),  # the fragments of a message, for its size
        (len(connack) + 3, OP_PING, ()),
        (len(connack) + 3, OP_CONTINUATION, ()),
        (
            len(connack) + len(publish),
            OP_BINARY,
            ("reserved bit set without a negotiated extension (RFC 6455 §5.2)",),
        ),
        (len(connack) + 2 * len(publish), OP_TEXT, ()),
        (len(connack) + 3 * len(publish), OP_CLOSE, (CLOSE_REASON_NOT_UTF8,)),
    ]
    pings = [
        frame.payload for _offset, frame in frames if isinstance(frame, RawFrame) and frame.opcode == OP_PING
    ]
    assert pings == [b"hi", b""]


def test_a_server_frame_above_the_limit_stops_the_frames_with_close_code_1009() -> None:
    connack = encode(Connack(), V5)
    huge = bytes((0x82, 0x7F)) + (1 << 40).to_bytes(8, "big")
    frames: list[ServerFrame] = []
    decoder, sink = _decode(build_frame(OP_BINARY, connack) + huge, "whole", frames, max_frame_size=1 << 20)
    assert [type(item) for item in sink] == [PacketEvent]
    [(offset, error)] = frames
    assert offset == len(connack)
    assert isinstance(error, FramingError)
    assert error.code == 1009
    assert "exceeds the limit of 1048576 bytes" in error.reason
    errors = [e for e in decoder.events_received() if isinstance(e, ErrorReported) and e.layer == "websocket"]
    assert [e.message for e in errors] == [error.explanation]
