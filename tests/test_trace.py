"""TraceBuffer bounds and lookups; the JSON form of events; JSONL export without secrets."""

from __future__ import annotations

import io
import json
from itertools import count
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.capture import read_capture_bytes
from explorer.cli.decode import classify, decode_connection
from explorer.model.events import (
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    MessageReceived,
    PacketEvent,
    PacketPart,
    StateChanged,
    TraceEvent,
)
from explorer.model.trace import (
    TraceBuffer,
    _event_size,
    event_to_json,
    export_jsonl,
    masked_frame_payloads,
    packet_to_json,
)
from explorer.mqtt.enums import ProtocolVersion, SubackReasonCode
from explorer.mqtt.packets import Connect, Properties, Publish, Suback
from tests.capture.mqttws import SECRET, capture_bytes, websocket_stream


def _state(seq: int, conn: int = 0) -> StateChanged:
    return StateChanged(seq, float(seq), conn, "connected")


def _frame(seq: int, index: int, parts: tuple[PacketPart, ...] = (), payload: bytes = b"abc") -> FrameEvent:
    return FrameEvent(
        seq, float(seq), 0, "c2s", index, 0, True, False, False, False, 2, True, b"\x01\x02\x03\x04",
        "7bit", len(payload), b"\x82\x83\x01\x02\x03\x04", payload, parts,
    )  # fmt: skip


def _packet(seq: int, no: int, frames: tuple[int, ...]) -> PacketEvent:
    return PacketEvent(seq, float(seq), 0, "c2s", no, 0, Publish("t", b"x"), b"\x30\x04\x00\x01tx", frames)


def _session_events() -> list[TraceEvent]:
    capture = read_capture_bytes(capture_bytes(websocket_stream(split=4)))
    (conn,) = capture.connections
    return decode_connection(conn, classify(conn), count().__next__)


# TraceBuffer


def test_buffer_drops_the_oldest_beyond_max_events_and_counts_them() -> None:
    buffer = TraceBuffer(max_events=3)
    buffer.extend(_state(i) for i in range(5))
    assert len(buffer) == 3
    assert buffer.dropped == 2
    assert [e.seq for e in buffer] == [2, 3, 4]
    assert buffer[0].seq == 2
    assert buffer[-1].seq == 4
    assert [e.seq for e in buffer[1:]] == [3, 4]
    assert buffer.first_position == 2
    assert buffer.next_position == 5
    assert buffer.at(1) is None
    assert buffer.at(4) is not None


def test_buffer_index_out_of_range_raises_index_error() -> None:
    buffer = TraceBuffer()
    buffer.append(_state(0))
    with pytest.raises(IndexError):
        buffer[1]


def test_buffer_drops_by_bytes_too() -> None:
    buffer = TraceBuffer(max_events=1000, max_bytes=3000)
    for i in range(10):
        buffer.append(ErrorReported(i, 0.0, 0, None, "mqtt", "x", data=b"\x00" * 1000))
    assert buffer.bytes <= 3000
    assert buffer.dropped == 10 - len(buffer)
    assert buffer[-1].seq == 9


def test_buffer_keeps_one_event_even_when_it_alone_exceeds_max_bytes() -> None:
    buffer = TraceBuffer(max_bytes=10)
    buffer.append(ErrorReported(0, 0.0, 0, None, "mqtt", "big", data=b"\x00" * 100))
    assert len(buffer) == 1


def test_since_returns_newer_events_after_drops() -> None:
    buffer = TraceBuffer(max_events=5)
    buffer.extend(_state(i * 2) for i in range(10))  # seqs 0, 2, ... 18; 10..18 kept
    assert [e.seq for e in buffer.since(13)] == [14, 16, 18]
    assert [e.seq for e in buffer.since(-1)] == [10, 12, 14, 16, 18]
    assert buffer.since(18) == []


def test_since_works_when_sequence_numbers_do_not_increase() -> None:
    buffer = TraceBuffer()
    buffer.extend([_state(5), _state(1), _state(7), _state(3)])
    assert [e.seq for e in buffer.since(2)] == [5, 7, 3]


def test_since_stays_right_across_many_drops() -> None:
    buffer = TraceBuffer(max_events=10)
    buffer.extend(_state(i) for i in range(20_000))
    assert [e.seq for e in buffer.since(19_995)] == [19_996, 19_997, 19_998, 19_999]


def test_clear_forgets_events_without_counting_drops() -> None:
    buffer = TraceBuffer(max_events=2)
    buffer.extend(_state(i) for i in range(3))
    buffer.clear()
    assert len(buffer) == 0
    assert buffer.dropped == 1


def test_frame_and_packet_lookup_links_the_frames_of_one_packet() -> None:
    buffer = TraceBuffer()
    first = _frame(0, 0, (PacketPart(0, "first", 0, 3, 0, 3),))
    last = _frame(1, 1, (PacketPart(0, "last", 0, 3, 3, 6),))
    packet = _packet(2, 0, (0, 1))
    buffer.extend([first, last, packet])
    assert buffer.frame(0, "c2s", 1) is last
    assert buffer.frame(0, "s2c", 1) is None
    assert buffer.frames_of(packet) == [first, last]
    assert buffer.packets_in(first) == [packet]
    assert buffer.packet(0, "c2s", 0) is packet


def test_lookups_forget_dropped_frames() -> None:
    buffer = TraceBuffer(max_events=2)
    first = _frame(0, 0)
    buffer.extend([first, _frame(1, 1), _packet(2, 0, (0, 1))])
    assert buffer.frame(0, "c2s", 0) is None
    packet = buffer[-1]
    assert isinstance(packet, PacketEvent)
    assert [f.index for f in buffer.frames_of(packet)] == [1]


def test_max_events_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_events"):
        TraceBuffer(max_events=0)


def test_buffer_wraps_its_ring_and_keeps_order_positions_and_bytes() -> None:
    buffer = TraceBuffer(max_events=4)
    events = [_frame(i, i, payload=b"x" * i) for i in range(11)]
    buffer.extend(events)
    assert list(buffer) == events[7:]
    assert buffer[:2] == events[7:9]
    assert [buffer.at(p) for p in range(6, 12)] == [None, *events[7:], None]
    assert buffer.bytes == sum(_event_size(e) for e in events[7:])
    assert buffer.frame(0, "c2s", 10) is events[10]
    assert buffer.frame(0, "c2s", 6) is None


def test_buffer_lowering_max_events_drops_the_oldest() -> None:
    buffer = TraceBuffer(max_events=10)
    events = [_state(i) for i in range(8)]
    buffer.extend(events)
    buffer.max_events = 3
    assert list(buffer) == events[5:]
    assert buffer.dropped == 5
    assert buffer.first_position == 5
    buffer.append(_state(8))
    assert [e.seq for e in buffer] == [6, 7, 8]
    with pytest.raises(ValueError, match="max_events"):
        buffer.max_events = 0


def test_buffer_lowering_max_bytes_drops_the_oldest() -> None:
    buffer = TraceBuffer(max_bytes=None)
    buffer.extend(ErrorReported(i, 0.0, 0, None, "mqtt", "x", data=b"\x00" * 1000) for i in range(5))
    one = buffer.bytes // 5
    buffer.max_bytes = 2 * one
    assert [e.seq for e in buffer] == [3, 4]
    assert buffer.bytes == 2 * one


def test_since_is_right_again_after_clear_ends_a_decreasing_run() -> None:
    buffer = TraceBuffer()
    buffer.extend([_state(5), _state(1)])
    buffer.clear()
    buffer.extend(_state(i) for i in range(10, 20))
    assert [e.seq for e in buffer.since(16)] == [17, 18, 19]


class _Model:
    """The plain-list meaning of a TraceBuffer: what the ring must behave like."""

    def __init__(self, max_events: int, max_bytes: int | None) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.events: list[TraceEvent] = []
        self.first = 0
        self.dropped = 0

    def trim(self) -> None:
        while len(self.events) > self.max_events or (
            self.max_bytes is not None
            and sum(map(_event_size, self.events)) > self.max_bytes
            and len(self.events) > 1
        ):
            del self.events[0]
            self.first += 1
            self.dropped += 1


_ops = st.lists(
    st.one_of(
        st.tuples(st.just("frame"), st.integers(0, 1), st.integers(0, 300)),
        st.tuples(st.just("packet"), st.integers(0, 1), st.integers(0, 300)),
        st.tuples(st.just("state"), st.integers(0, 1), st.integers(0, 0)),
        st.tuples(st.just("error"), st.integers(0, 1), st.integers(0, 2000)),
        st.tuples(st.just("seq back"), st.integers(0, 0), st.integers(1, 5)),
        st.tuples(st.just("clear"), st.integers(0, 0), st.integers(0, 0)),
        st.tuples(st.just("max_events"), st.integers(0, 0), st.integers(1, 12)),
        st.tuples(st.just("max_bytes"), st.integers(0, 0), st.integers(0, 3000)),
    ),
    max_size=80,
)


@given(max_events=st.integers(1, 12), max_bytes=st.one_of(st.none(), st.integers(0, 3000)), ops=_ops)
@settings(max_examples=300, deadline=None)
def test_buffer_behaves_like_a_plain_list_with_the_same_bounds(
    max_events: int, max_bytes: int | None, ops: list[tuple[str, int, int]]
) -> None:
    buffer = TraceBuffer(max_events=max_events, max_bytes=max_bytes)
    model = _Model(max_events, max_bytes)
    seq = 0
    numbers = {"frame": 0, "packet": 0}
    for op, conn, value in ops:
        seq += 1
        event: TraceEvent | None = None
        if op == "frame":
            event = _frame(seq, numbers[op], payload=b"f" * value)
            event.conn = conn
            # Numbers repeat now and then, as after a reconnection reusing a number.
            numbers[op] = (numbers[op] + 1) % 7
        elif op == "packet":
            event = _packet(seq, numbers[op], (numbers["frame"],))
            event.raw = b"p" * value
            event.conn = conn
            numbers[op] = (numbers[op] + 1) % 7
        elif op == "state":
            event = _state(seq, conn)
        elif op == "error":
            event = ErrorReported(seq, 0.0, conn, None, "mqtt", "x", data=b"e" * value)
        elif op == "seq back":
            seq -= value + 1
            event = _state(seq)
        elif op == "clear":
            buffer.clear()
            model.first += len(model.events)
            model.events = []
        elif op == "max_events":
            buffer.max_events = model.max_events = value
        else:
            buffer.max_bytes = model.max_bytes = value
        if event is not None:
            buffer.append(event)
            model.events.append(event)
        model.trim()

        assert list(buffer) == model.events
        assert len(buffer) == len(model.events)
        assert (buffer.first_position, buffer.next_position) == (model.first, model.first + len(model.events))
        assert buffer.dropped == model.dropped
        assert buffer.bytes == sum(map(_event_size, model.events))
        for position in range(model.first - 2, model.first + len(model.events) + 2):
            index = position - model.first
            expected = model.events[index] if 0 <= index < len(model.events) else None
            assert buffer.at(position) is expected
        if model.events:
            assert buffer[-1] is model.events[-1]
            assert buffer[1:-1] == model.events[1:-1]
        for cut in (-1, seq - 3, seq):
            assert buffer.since(cut) == [e for e in model.events if e.seq > cut]
        frames: dict[tuple[int, str, int], FrameEvent] = {}
        packets: dict[tuple[int, str, int], PacketEvent] = {}
        for held in model.events:
            if isinstance(held, FrameEvent):
                frames[(held.conn, held.direction, held.index)] = held
            elif isinstance(held, PacketEvent):
                packets[(held.conn, held.direction, held.packet_no)] = held
        for conn in (0, 1):
            for number in range(7):
                assert buffer.frame(conn, "c2s", number) is frames.get((conn, "c2s", number))
                assert buffer.packet(conn, "c2s", number) is packets.get((conn, "c2s", number))


# JSON


def test_connect_json_never_holds_the_password() -> None:
    packet = Connect(ProtocolVersion.V5, client_id="c", username="u", password=SECRET)
    obj = packet_to_json(packet)
    assert obj["password"] == "***"
    assert obj["password_present"] is True
    assert SECRET.decode() not in json.dumps(obj)
    assert SECRET.hex() not in json.dumps(obj)


def test_publish_json_has_the_fields_a_reader_needs() -> None:
    packet = Publish("a/b", b"hello", qos=1, retain=True, packet_id=9, properties=Properties(topic_alias=3))
    obj = packet_to_json(packet, b"\x33" + b"\x00" * 5)
    assert obj["type"] == "PUBLISH"
    assert obj["flags"] == 3
    assert (obj["topic"], obj["qos"], obj["retain"], obj["packet_id"]) == ("a/b", 1, True, 9)
    assert obj["payload_length"] == 5
    assert obj["payload_hex"] == b"hello".hex()
    assert obj["properties"] == {"topic_alias": 3}


def test_reason_codes_are_written_with_their_names() -> None:
    obj = packet_to_json(Suback(4, (SubackReasonCode.GRANTED_QOS_1, SubackReasonCode.NOT_AUTHORIZED)))
    assert obj["reason_codes"] == [
        {"value": 1, "name": "granted_qos_1"},
        {"value": 0x87, "name": "not_authorized"},
    ]


def test_handshake_json_masks_authorization() -> None:
    raw = b"GET / HTTP/1.1\r\nAuthorization: Basic c2VjcmV0\r\n\r\n"
    event = HandshakeRequest(0, 0.0, 0, raw, "GET", "/", (("Authorization", "Basic c2VjcmV0"),))
    text = json.dumps(event_to_json(event))
    assert "c2VjcmV0" not in text
    assert event_to_json(event)["kind"] == "handshake_request"


def test_frame_json_without_an_exact_mask_blanks_a_connect_it_carries() -> None:
    connect = b"\x10\x05abcde"
    event = _frame(0, 0, (PacketPart(0, "first", 0, 7, 0, 7),), payload=connect + b"\xc0\x00")
    obj = event_to_json(event)
    assert obj["payload_hex"] == (b"*" * 7 + b"\xc0\x00").hex()
    assert obj["fin"] is True
    assert obj["mask_key"] == "01020304"


def test_every_event_kind_has_a_json_form() -> None:
    events: list[TraceEvent] = [
        _state(0),
        MessageReceived(1, 0.0, 0, "t", b"x", 0, False),
        ErrorReported(2, 0.0, 0, "c2s", "mqtt", "bad", 4, b"\x00"),
    ]
    kinds = [event_to_json(e)["kind"] for e in events]
    assert kinds == ["state", "message", "error"]
    json.dumps([event_to_json(e) for e in events])


# JSONL export


def test_masked_frame_payloads_blank_exactly_the_password() -> None:
    events = _session_events()
    masked = masked_frame_payloads(events)
    joined = b"".join(
        masked.get((e.conn, e.direction, e.index), e.payload)
        for e in events
        if isinstance(e, FrameEvent) and e.direction == "c2s"
    )
    assert SECRET not in joined
    assert b"user" in joined
    assert b"*" * len(SECRET) in joined


def test_jsonl_export_writes_one_parseable_object_per_event_and_no_secret(tmp_path: Path) -> None:
    events = _session_events()
    path = tmp_path / "trace.jsonl"
    assert export_jsonl(events, path) == len(events)
    text = path.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [obj["seq"] for obj in lines] == [e.seq for e in events]
    for secret in (SECRET.decode(), SECRET.hex(), "dXNlcjpzM2NyZXQ="):
        assert secret not in text
    packets = [obj["packet"]["type"] for obj in lines if obj["kind"] == "packet"]
    assert packets == ["CONNECT", "CONNACK", "PUBLISH", "PUBLISH", "DISCONNECT"]


def test_jsonl_export_to_an_open_file() -> None:
    out = io.StringIO()
    export_jsonl([_state(1), _state(2)], out)
    assert [json.loads(line)["state"] for line in out.getvalue().splitlines()] == ["connected", "connected"]


def test_jsonl_export_to_an_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    from explorer.errors import ExplorerError

    with pytest.raises(ExplorerError, match="cannot write"):
        export_jsonl([_state(1)], tmp_path / "missing-dir" / "trace.jsonl")
