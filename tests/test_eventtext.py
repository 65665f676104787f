"""One-line texts of trace events and the frame bytes a view may show."""

from __future__ import annotations

from explorer.masking import mask_password
from explorer.model.events import (
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    MessageReceived,
    PacketEvent,
    PacketPart,
    StateChanged,
)
from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Connect, Publish
from explorer.present.eventtext import (
    OPCODE_NAMES,
    display_frame_bytes,
    event_direction,
    event_kind,
    event_length,
    event_summary,
    frame_fields,
    frame_header_spans,
    frame_spans,
    opcode_name,
)

SECRET = b"pa55word"


def _frame(
    payload: bytes, parts: tuple[PacketPart, ...], direction: str = "c2s", index: int = 0
) -> FrameEvent:
    header = bytes([0x82, 0x80 | len(payload)]) + b"\x01\x02\x03\x04"
    return FrameEvent(
        seq=1,
        time=0.0,
        conn=0,
        direction=direction,  # type: ignore[arg-type]
        index=index,
        stream_offset=0,
        fin=True,
        rsv1=False,
        rsv2=False,
        rsv3=False,
        opcode=2,
        masked=True,
        mask_key=b"\x01\x02\x03\x04",
        length_encoding="7bit",
        payload_length=len(payload),
        header=header,
        payload=payload,
        parts=parts,
        completed=tuple(p.packet_no for p in parts if p.role in ("whole", "last")),
    )


def _connect_bytes() -> tuple[Connect, bytes]:
    packet = Connect(client_id="c1", username="alice", password=SECRET, keep_alive=30)
    return packet, encode(packet)


def test_summaries_name_each_layer_in_one_line() -> None:
    request = HandshakeRequest(
        seq=0, time=0.0, conn=0, raw=b"GET /mqtt HTTP/1.1\r\n\r\n", method="GET", target="/mqtt", headers=()
    )
    response = HandshakeResponse(
        seq=1,
        time=0.0,
        conn=0,
        raw=b"HTTP/1.1 101 x\r\n\r\n",
        status=101,
        reason="Switching Protocols",
        headers=(),
        subprotocol="mqtt",
    )
    publish = Publish(topic="a/b", payload=b"xyz")
    raw = encode(publish)
    packet = PacketEvent(
        seq=2,
        time=0.0,
        conn=0,
        direction="s2c",
        packet_no=3,
        stream_offset=0,
        packet=publish,
        raw=raw,
        frames=(4, 5, 6),
    )
    frame = _frame(raw, (PacketPart(3, "whole", 0, len(raw), 0, len(raw)),), direction="s2c", index=4)
    assert (event_kind(request), event_direction(request), event_summary(request)) == (
        "HTTP",
        "c2s",
        "GET /mqtt",
    )
    assert event_summary(response) == "101 Switching Protocols (subprotocol mqtt)"
    assert event_direction(response) == "s2c"
    assert event_summary(packet).endswith("[frames 4-6]")
    assert event_summary(packet).startswith("PUBLISH")
    assert event_length(packet) == len(raw)
    assert event_summary(frame) == f"#4 binary FIN {len(raw)} B masked (1 MQTT packet)"
    assert event_length(frame) == 6 + len(raw)
    assert event_summary(StateChanged(seq=3, time=0.0, conn=0, state="connected")) == "connected"
    assert (
        event_kind(MessageReceived(seq=4, time=0.0, conn=0, topic="t", payload=b"12", qos=0, retain=False))
        == "message"
    )
    error = ErrorReported(seq=5, time=0.0, conn=0, direction=None, layer="mqtt", message="bad")
    assert (event_summary(error), event_direction(error), event_length(error)) == ("mqtt: bad", "", None)


def test_frame_fields_and_spans_describe_the_header_and_the_packets() -> None:
    frame = _frame(
        b"\xc0\x00\xc0\x00", (PacketPart(1, "whole", 0, 2, 0, 2), PacketPart(2, "whole", 2, 4, 0, 2))
    )
    fields = dict(frame_fields(frame))
    assert fields["opcode"] == "0x2 (binary)"
    assert fields["masking key"] == "01 02 03 04"
    assert fields["payload length"] == "4 (7bit)"
    assert frame_spans(frame, base=6) == [(6, 8, "packet 1 (whole)"), (8, 10, "packet 2 (whole)")]


def test_display_bytes_mask_the_connect_password_exactly_when_the_packet_is_known() -> None:
    connect, raw = _connect_bytes()
    frame = _frame(raw, (PacketPart(0, "whole", 0, len(raw), 0, len(raw)),))
    masked = mask_password(raw, connect)
    event = PacketEvent(
        seq=1,
        time=0.0,
        conn=0,
        direction="c2s",
        packet_no=0,
        stream_offset=0,
        packet=connect,
        raw=masked,
        frames=(0,),
    )
    shown = display_frame_bytes(frame, [event])
    assert SECRET not in shown
    assert shown == masked
    assert b"alice" in shown


def test_display_bytes_blank_a_connect_whose_packet_is_not_held() -> None:
    _, raw = _connect_bytes()
    half = len(raw) // 2
    first = _frame(raw[:half], (PacketPart(0, "first", 0, half, 0, half),))
    last = _frame(raw[half:], (PacketPart(0, "last", 0, len(raw) - half, half, len(raw)),), index=1)
    shown = display_frame_bytes(first) + display_frame_bytes(last)
    assert SECRET not in shown
    assert shown == b"*" * len(raw)
    publish = encode(Publish(topic="t", payload=SECRET))
    server = _frame(publish, (PacketPart(5, "whole", 0, len(publish), 0, len(publish)),), direction="s2c")
    assert display_frame_bytes(server) == publish  # only CONNECT bytes are secret


def test_header_spans_split_off_the_masking_key_and_opcode_names_come_from_framing() -> None:
    frame = _frame(b"\xc0\x00", (PacketPart(1, "whole", 0, 2, 0, 2),))
    assert frame_header_spans(frame) == [(0, 2, "WebSocket header"), (2, 6, "masking key")]
    assert opcode_name(frame.opcode) == OPCODE_NAMES[2] == "binary"
    assert opcode_name(0x3) == "0x3"


def test_spans_name_the_packet_type_when_the_packet_is_known() -> None:
    connect, raw = _connect_bytes()
    frame = _frame(raw, (PacketPart(0, "whole", 0, len(raw), 0, len(raw)),))
    event = PacketEvent(
        seq=1,
        time=0.0,
        conn=0,
        direction="c2s",
        packet_no=0,
        stream_offset=0,
        packet=connect,
        raw=mask_password(raw, connect),
        frames=(0,),
    )
    assert frame_spans(frame, base=6, packets=[event]) == [
        (6, 6 + len(raw), f"packet 0 CONNECT bytes 0-{len(raw)} (whole)")
    ]
    assert frame_spans(frame) == [(0, len(raw), "packet 0 (whole)")]
