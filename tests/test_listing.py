"""The trace listing shared by ``decode`` and ``sub --trace``: fed whole, event by
event and cut at every point, it says the same about frames and packets."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from explorer.decoder import ConnectionDecoder
from explorer.decoder.fastpath import expand_fast
from explorer.model.events import (
    Direction,
    ErrorReported,
    FrameEvent,
    PacketEvent,
    StateChanged,
    TraceEvent,
)
from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Connect, Publish
from explorer.present.eventtext import event_summary
from explorer.present.listing import Listing, frame_line, frame_span
from explorer.ws.framing import OP_BINARY, OP_CONTINUATION, build_frame
from explorer.ws.handshake import accept_key

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
PASSWORD = b"listing-canary-pw"
PUBLISH = Publish("split/topic", b"0123456789")
PREVIEW = '  payload (10 B): "0123456789"'
LAST = len(encode(PUBLISH)) - 12  # bytes of the PUBLISH in its third frame


def _handshake() -> list[tuple[Direction, bytes]]:
    request = (
        "GET /mqtt HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
    ).encode()
    response = (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(KEY)}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
    ).encode()
    return [("c2s", request), ("s2c", response)]


def _split(data: bytes, cuts: list[int], *, masked: bool) -> list[bytes]:
    """``data`` as one WebSocket message whose fragments end at ``cuts``."""
    bounds = [0, *cuts, len(data)]
    pieces = [data[a:b] for a, b in itertools.pairwise(bounds)]
    mask = b"\x01\x02\x03\x04" if masked else None
    return [
        build_frame(OP_BINARY if n == 0 else OP_CONTINUATION, piece, fin=n == len(pieces) - 1, mask_key=mask)
        for n, piece in enumerate(pieces)
    ]


def _decode(stream: list[tuple[Direction, bytes]], *, eof: bool = False) -> list[TraceEvent]:
    decoder = ConnectionDecoder(0, websocket=True)
    events: list[TraceEvent] = []
    for n, (direction, data) in enumerate(stream):
        decoder.receive_data(direction, data, 100.0 + n)
        events.extend(decoder.events_received())
    if eof:
        for direction in ("c2s", "s2c"):
            decoder.receive_eof(direction, 200.0)
            events.extend(decoder.events_received())
    return events


def split_publish_events() -> list[TraceEvent]:
    """Upgrade, a CONNECT with a password over two frames, a PUBLISH over three."""
    connect = encode(Connect(client_id="x", username="u", password=PASSWORD))
    publish = encode(PUBLISH)
    stream: list[tuple[Direction, bytes]] = _handshake()
    stream += [("c2s", f) for f in _split(connect, [9], masked=True)]
    stream += [("s2c", f) for f in _split(publish, [5, 12], masked=False)]
    return _decode(stream)


def _listing(batches: list[list[TraceEvent]], *, base: float | None = None) -> list[str]:
    out: list[str] = []
    listing = Listing(out.append, base=base)
    for batch in batches:
        listing.feed(batch)
    listing.close()
    assert all(text.endswith("\n") and text.count("\n") == 1 for text in out)
    return [text.rstrip("\n") for text in out]


def test_a_whole_batch_lists_handshake_frames_parts_and_the_completed_packet_span() -> None:
    lines = _listing([split_publish_events()])
    assert lines[0] == f"   +0.000000 c2s HTTP GET /mqtt ({len(_handshake()[0][1])} B)"
    assert lines[1].startswith("   +1.000000 s2c HTTP 101 Switching Protocols (")
    assert lines[1].endswith(" B)  subprotocol: mqtt")
    assert "      CONNECT #0 part 1/2 (9 B)" in lines
    assert "      PUBLISH #0 part 1/3 (5 B)" in lines
    assert "      PUBLISH #0 part 2/3 (7 B)" in lines
    assert f"      PUBLISH #0 part 3/3 ({LAST} B)" in lines
    assert "      -> #0 PUBLISH QoS0 split/topic 10 B  [frames 0-2]" + PREVIEW in lines
    assert not any("never completed" in line for line in lines)


def test_frame_lines_show_fin_rsv_mask_length_and_opcode() -> None:
    frames = [e for e in split_publish_events() if isinstance(e, FrameEvent)]
    assert frame_line(frames[0], 100.0) == (
        "   +2.000000 c2s #0 binary no-FIN rsv=000 mask=01020304 len=9 (7bit)"
    )
    assert frame_line(frames[-1], 100.0).endswith(
        f"s2c #2 continuation FIN rsv=000 unmasked len={LAST} (7bit)"
    )


def test_event_by_event_each_frame_is_listed_once_with_the_parts_known_so_far() -> None:
    events = split_publish_events()
    lines = _listing([[event] for event in events])
    frame_lines = [line for line in lines if re.search(r" (c2s|s2c) #\d+ ", line)]
    assert len(frame_lines) == sum(isinstance(e, FrameEvent) for e in events)
    # The type is read from the packet's first byte; the total is known with the last part.
    assert "      PUBLISH #0 part 1/? (5 B)" in lines
    assert "      PUBLISH #0 part 2/? (7 B)" in lines
    assert f"      PUBLISH #0 part 3/3 ({LAST} B)" in lines
    assert "      -> #0 PUBLISH QoS0 split/topic 10 B  [frames 0-2]" + PREVIEW in lines


@pytest.mark.parametrize("cut", range(1, 9))
def test_any_batch_boundary_lists_the_same_lines_up_to_unknown_totals(cut: int) -> None:
    events = split_publish_events()
    assert cut < len(events)
    whole = _listing([events])
    cut_up = _listing([events[:cut], events[cut:]])
    assert len(cut_up) == len(whole)
    for got, want in zip(cut_up, whole, strict=True):
        if got != want:
            assert re.sub(r"part (\d+)/\?", r"part \1/N", got) == re.sub(
                r"part (\d+)/\d+", r"part \1/N", want
            )


def test_a_frame_waits_for_the_packets_it_completes() -> None:
    events = split_publish_events()
    last_frame = max(n for n, e in enumerate(events) if isinstance(e, FrameEvent))
    assert isinstance(events[last_frame + 1], PacketEvent)
    out: list[str] = []
    listing = Listing(out.append)
    listing.feed(events[: last_frame + 1])
    written = len(out)
    assert "s2c #2 continuation" not in "".join(out)
    listing.feed(events[last_frame + 1 :])
    assert "s2c #2 continuation" in out[written]
    assert out[-1] == "      -> #0 PUBLISH QoS0 split/topic 10 B  [frames 0-2]" + PREVIEW + "\n"


def test_a_frame_whose_packets_were_dropped_is_held_for_one_batch_only() -> None:
    events = split_publish_events()
    last_frame = max(n for n, e in enumerate(events) if isinstance(e, FrameEvent))
    out: list[str] = []
    listing = Listing(out.append)
    listing.feed(events[: last_frame + 1])
    assert "s2c #2 continuation" not in "".join(out)
    listing.feed([StateChanged(99, 107.0, 0, "closed")])  # the PacketEvent was lost
    assert "s2c #2 continuation" in "".join(out)
    assert out[-1] == "   +7.000000 connection 0 closed\n"


def test_completed_packet_lines_say_what_the_trace_tables_say() -> None:
    events = split_publish_events()
    lines = _listing([events])
    for packet in (e for e in events if isinstance(e, PacketEvent)):
        head = f"      -> #{packet.packet_no} {event_summary(packet)}"
        assert any(line == head or line.startswith(head + "  payload (") for line in lines)


def test_publish_lines_preview_the_payload_unless_told_not_to() -> None:
    events = split_publish_events()
    assert "      -> #0 PUBLISH QoS0 split/topic 10 B  [frames 0-2]" + PREVIEW in _listing([events])
    out: list[str] = []
    listing = Listing(out.append, payload=False)
    listing.feed(events)
    listing.close()
    assert "      -> #0 PUBLISH QoS0 split/topic 10 B  [frames 0-2]\n" in out
    assert not any("payload (" in line for line in out)


def test_the_connect_password_is_masked_in_every_line() -> None:
    for batches in ([split_publish_events()], [[e] for e in split_publish_events()]):
        text = "\n".join(_listing(batches))
        assert "password=***" in text
        assert PASSWORD.decode() not in text
        assert PASSWORD.hex() not in text


def test_a_packet_that_never_completes_is_named_on_close() -> None:
    publish = encode(PUBLISH)
    stream = _handshake() + [("s2c", f) for f in _split(publish, [5, 12], masked=False)[:2]]
    lines = _listing([_decode(stream)])
    assert "      PUBLISH #0 part 1/? (5 B)" in lines
    assert lines[-1] == "  ! mqtt s2c: PUBLISH #0 never completed (12 B in frames 0-1)"


def test_a_closed_connection_names_its_unfinished_packets_at_once() -> None:
    publish = encode(PUBLISH)
    stream = [*_handshake(), ("s2c", _split(publish, [5], masked=False)[0])]
    out: list[str] = []
    listing = Listing(out.append)
    listing.feed([*_decode(stream), StateChanged(99, 104.5, 0, "closed", "peer went away")])
    assert out[-2:] == [
        "   +4.500000 connection 0 closed: peer went away\n",
        "  ! mqtt s2c: PUBLISH #0 never completed (5 B in frame 0)\n",
    ]
    listing.close()
    assert len(out) == 2 + out.index("   +4.500000 connection 0 closed: peer went away\n")


def test_native_mqtt_packets_and_errors_have_their_own_lines() -> None:
    decoder = ConnectionDecoder(3, websocket=False)
    decoder.receive_data("c2s", encode(Connect(client_id="n")), 10.0)
    events = decoder.events_received()
    events.append(ErrorReported(50, 10.5, 3, "c2s", "tcp", "12 bytes missing", 40))
    events.append(ErrorReported(51, 10.6, 3, None, "capture", "truncated file"))
    connect = events[0]
    assert isinstance(connect, PacketEvent)
    lines = _listing([events], base=9.0)
    assert lines == [
        f"   +1.000000 c2s #0 {event_summary(connect)}",
        "  ! tcp c2s at 40: 12 bytes missing",
        "  ! capture: truncated file",
    ]


def test_the_connection_header_brings_the_upgrade_and_notes_together() -> None:
    out: list[str] = []
    listing = Listing(out.append)
    listing.connection(
        2, "127.0.0.1:5000", "127.0.0.1:9001", "websocket", split_publish_events(), notes=["! capture: x"]
    )
    assert out == [
        "connection 2: 127.0.0.1:5000 -> 127.0.0.1:9001  websocket\n",
        "  GET /mqtt  subprotocol offered: mqtt, negotiated: mqtt  status: 101 Switching Protocols\n",
        "  ! capture: x\n",
    ]
    out.clear()
    listing.connection(3, "a:1", "b:2", "websocket")
    assert out[1] == "  GET ?  subprotocol offered: -, negotiated: -  status: -\n"
    out.clear()
    listing.connection(4, "a:1", "b:443", "tls", notes=["TLS, encrypted: cannot decode"])
    assert out == ["connection 4: a:1 -> b:443  tls\n", "  TLS, encrypted: cannot decode\n"]


@pytest.mark.parametrize(
    ("frames", "text"),
    [((), ""), ((4,), "frame 4"), ((0, 1, 2), "frames 0-2"), ((1, 4, 5), "frames 1,4,5")],
)
def test_frame_span_names_runs_and_lists(frames: tuple[int, ...], text: str) -> None:
    assert frame_span(frames) == text


_PAYLOADS = [
    b"",
    b"hello world",
    b"line\nnext\tcolumn",
    b'{"t": 21.5, "unit": "\xc2\xb0C"}',
    "h\u00e9llo \u20ac and more text that is longer than sixty characters for the cut".encode(),
    b"\x00\x01\x02 control \x1b[2J",
    b"\x80\x81 not UTF-8, no byte it never holds",
    b"\xef\xbf\xbd\xff written-out U+FFFD beside a byte UTF-8 never holds",
    b"\xff" * 20,
    b"\xfe" * 21,
    bytes(range(256))[:100],
    bytes(range(120, 220)),
]


def _compact_records() -> tuple[list[object], list[TraceEvent]]:
    """Compact records from a real decoder (both directions, many payloads and topics,
    retained or not), and the events each stands for."""
    rng = random.Random(7)
    payloads = _PAYLOADS + [rng.randbytes(rng.randrange(1, 90)) for _ in range(300)]
    connect = encode(Connect(client_id="x"))
    stream: list[tuple[Direction, bytes]] = _handshake()
    stream.append(("c2s", build_frame(OP_BINARY, connect, mask_key=b"\x01\x02\x03\x04")))
    stream.append(("s2c", build_frame(OP_BINARY, b"\x20\x02\x00\x00")))
    topics = ["a/b", "100%/sure %d %s", "\u6e29\u5ea6/\u00e9t\u00e9", "x" * 20]
    for n, payload in enumerate(payloads):
        data = encode(Publish(topics[n % len(topics)], payload, retain=n % 3 == 0))
        if n % 2:
            stream.append(("s2c", build_frame(OP_BINARY, data)))
        else:
            stream.append(("c2s", build_frame(OP_BINARY, data, mask_key=rng.randbytes(4))))
    decoder = ConnectionDecoder(0, websocket=True, compact=True)
    items: list[object] = []
    for n, (direction, data) in enumerate(stream):
        decoder.receive_data(direction, data, 100.0 + n / 7)
        items.extend(decoder.items_received())
    records = [item for item in items if type(item) is tuple]
    assert len(records) == len(payloads)
    events: list[TraceEvent] = []
    for item in items:
        events.extend(expand_fast(item) if type(item) is tuple else [item])  # type: ignore[arg-type]
    return items, events


@pytest.mark.parametrize("payload", [True, False])
def test_compact_records_are_listed_as_the_events_they_stand_for(payload: bool) -> None:
    items, events = _compact_records()
    want: list[str] = []
    by_events = Listing(want.append, base=99.0, payload=payload)
    by_events.feed(events)
    by_events.close()
    got: list[str] = []
    by_records = Listing(got.append, base=99.0, payload=payload)
    by_records.feed(items)  # type: ignore[arg-type]
    by_records.close()
    assert "".join(got) == "".join(want)
    records = [item for item in items if type(item) is tuple]
    expected: list[str] = []
    Listing(expected.append, base=99.0, payload=payload).feed(
        [event for record in records for event in expand_fast(record)]  # type: ignore[arg-type]
    )
    at_once = Listing(print, base=99.0, payload=payload).fast_bytes(records)  # type: ignore[arg-type]
    assert at_once.decode() == "".join(expected)
    text = "".join(want)
    assert text.count(" PUBLISH QoS0 ") == len(records)
    if payload:
        assert "payload (21 B, binary): " + "fe " * 19 + "fe …" in text
        assert 'payload (11 B): "hello world"' in text
        assert "100%/sure %d %s" in text
