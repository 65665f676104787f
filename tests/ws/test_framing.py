"""FrameIndexer against RFC 6455 §5.7's examples, hand-made broken frames, and the
websockets library's own parser on random valid streams in random chunkings."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.exceptions import ProtocolError
from websockets.frames import Close, Frame, Opcode
from websockets.streams import StreamReader

from explorer.ws.framing import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameIndexer,
    FramingError,
    RawFrame,
    build_frame,
    parse_close_payload,
)

MASK = bytes.fromhex("37fa213d")


def feed(data: bytes, chunks: list[int] | None = None, **kwargs: object) -> list[RawFrame]:
    """Feed ``data`` cut at ``chunks`` (sizes, cycled) and collect every frame."""
    indexer = FrameIndexer(**kwargs)  # type: ignore[arg-type]
    frames: list[RawFrame] = []
    if chunks is None:
        frames += indexer.receive_data(data)
    else:
        pos = 0
        i = 0
        while pos < len(data):
            size = chunks[i % len(chunks)]
            frames += indexer.receive_data(data[pos : pos + size])
            pos += size
            i += 1
    assert indexer.buffered == 0
    assert indexer.consumed == len(data)
    return frames


def chunkings(data: bytes) -> Iterator[list[int] | None]:
    yield None
    yield [1]
    yield [2, 3]
    rng = random.Random(len(data))
    yield [rng.randint(1, 40) for _ in range(20)]


# RFC 6455 §5.7 examples, byte for byte.


@pytest.mark.parametrize("masked", [False, True])
def test_rfc6455_single_frame_text_hello(masked: bool) -> None:
    data = bytes.fromhex("810548656c6c6f") if not masked else bytes.fromhex("818537fa213d7f9f4d5158")
    for chunks in chunkings(data):
        (frame,) = feed(data, chunks)
        assert frame.opcode == OP_TEXT
        assert frame.fin
        assert frame.payload == b"Hello"
        assert frame.masked is masked
        assert frame.mask_key == (MASK if masked else None)
        assert frame.header == data[: 6 if masked else 2]
        assert frame.length_encoding == "7bit"
        assert frame.payload_length == 5
        assert frame.problems == ()


def test_rfc6455_fragmented_text_attributes_continuation_to_text() -> None:
    data = bytes.fromhex("010348656c") + bytes.fromhex("80026c6f")
    for chunks in chunkings(data):
        first, last = feed(data, chunks)
        assert (first.opcode, first.fin, first.payload) == (OP_TEXT, False, b"Hel")
        assert (last.opcode, last.fin, last.payload) == (OP_CONTINUATION, True, b"lo")
        assert last.message_opcode == OP_TEXT
        assert last.stream_offset == 5
        assert first.problems == last.problems == ()


def test_rfc6455_ping_and_masked_pong() -> None:
    data = bytes.fromhex("890548656c6c6f") + bytes.fromhex("8a8537fa213d7f9f4d5158")
    ping, pong = feed(data)
    assert (ping.opcode, ping.payload, ping.masked) == (OP_PING, b"Hello", False)
    assert (pong.opcode, pong.payload, pong.masked, pong.mask_key) == (OP_PONG, b"Hello", True, MASK)
    assert pong.stream_offset == 7


def test_rfc6455_256_bytes_use_16bit_length() -> None:
    payload = bytes(range(256))
    data = bytes.fromhex("827e0100") + payload
    for chunks in chunkings(data):
        (frame,) = feed(data, chunks)
        assert frame.length_encoding == "16bit"
        assert frame.payload_length == 256
        assert frame.header == bytes.fromhex("827e0100")
        assert frame.payload == payload
        assert frame.problems == ()


def test_rfc6455_64kib_uses_64bit_length() -> None:
    payload = os.urandom(65536)
    data = bytes.fromhex("827f0000000000010000") + payload
    (frame,) = feed(data, [4096])
    assert frame.length_encoding == "64bit"
    assert frame.header_length == 10
    assert frame.payload == payload
    assert frame.problems == ()


# Problems are reported per frame, and framing goes on.


def test_non_minimal_length_encoding_is_reported_and_kept() -> None:
    data = build_frame(OP_BINARY, b"abc", length_encoding="16bit") + build_frame(
        OP_BINARY, b"de", length_encoding="64bit"
    )
    first, second = feed(data)
    assert first.length_encoding == "16bit"
    assert second.length_encoding == "64bit"
    assert first.payload == b"abc"
    assert second.payload == b"de"
    assert "minimal" in first.problems[0]
    assert "minimal" in second.problems[0]


def test_control_frame_too_long_and_fragmented_are_reported() -> None:
    data = build_frame(OP_PING, b"x" * 126) + build_frame(OP_PONG, b"", fin=False)
    long_ping, fragmented_pong = feed(data)
    assert any("at most 125" in p for p in long_ping.problems)
    assert any("fragmented control frame" in p for p in fragmented_pong.problems)


def test_reserved_opcode_is_reported_and_framing_continues() -> None:
    data = build_frame(0x3, b"zz") + build_frame(0xB, b"") + build_frame(OP_BINARY, b"ok")
    first, second, third = feed(data)
    assert "reserved opcode 0x3" in first.problems[0]
    assert "reserved opcode 0xB" in second.problems[0]
    assert first.message_opcode is None
    assert third.payload == b"ok"
    assert third.problems == ()


def test_continuation_without_message_is_reported() -> None:
    (frame,) = feed(build_frame(OP_CONTINUATION, b"x"))
    assert frame.message_opcode is None
    assert "without a message" in frame.problems[0]


def test_new_data_frame_inside_fragmented_message_is_reported() -> None:
    data = build_frame(OP_BINARY, b"a", fin=False) + build_frame(OP_TEXT, b"b")
    _, interloper = feed(data)
    assert "unfinished" in interloper.problems[0]


def test_control_frames_interleaved_in_fragments_are_fine() -> None:
    data = (
        build_frame(OP_BINARY, b"a", fin=False)
        + build_frame(OP_PING, b"p")
        + build_frame(OP_CONTINUATION, b"b", fin=False)
        + build_frame(OP_PONG, b"")
        + build_frame(OP_CONTINUATION, b"c")
    )
    frames = feed(data)
    assert [f.problems for f in frames] == [()] * 5
    assert [f.message_opcode for f in frames] == [OP_BINARY, OP_PING, OP_BINARY, OP_PONG, OP_BINARY]


def test_reserved_bits_are_reported_unless_rsv1_is_negotiated() -> None:
    data = build_frame(OP_BINARY, b"x", rsv=0b100) + build_frame(OP_BINARY, b"y", rsv=0b011)
    plain = feed(data)
    assert plain[0].rsv1
    assert "reserved bit" in plain[0].problems[0]
    assert plain[1].rsv2
    assert plain[1].rsv3
    negotiated = feed(data, rsv1_allowed=True)
    assert negotiated[0].problems == ()
    assert "reserved bit" in negotiated[1].problems[0]
    (ping,) = feed(build_frame(OP_PING, b"", rsv=0b100), rsv1_allowed=True)
    assert "control frame" in ping.problems[0]


def test_masking_direction_is_checked() -> None:
    masked = build_frame(OP_BINARY, b"x", mask_key=MASK)
    unmasked = build_frame(OP_BINARY, b"x")
    assert "unmasked frame from the client" in feed(unmasked, expect_masked=True)[0].problems[0]
    assert "masked frame from the server" in feed(masked, expect_masked=False)[0].problems[0]
    assert feed(masked, expect_masked=True)[0].problems == ()
    assert feed(unmasked, expect_masked=False)[0].problems == ()


def test_frame_after_close_is_reported() -> None:
    data = build_frame(OP_CLOSE, b"\x03\xe8") + build_frame(OP_BINARY, b"late")
    close, late = feed(data)
    assert close.close_code == 1000
    assert close.problems == ()
    assert "after a Close frame" in late.problems[0]


@pytest.mark.parametrize(
    ("body", "code", "reason", "problem"),
    [
        (b"", None, "", None),
        (b"\x03\xe8", 1000, "", None),
        (b"\x0f\xa0bye", 4000, "bye", None),
        (b"\x03", None, "", "1 byte"),
        (b"\x03\xe8\xff\xfe", 1000, "\ufffd\ufffd", "UTF-8"),
        (b"\x03\xed", 1005, "", "may not be sent"),
        (b"\x03\xee", 1006, "", "may not be sent"),
        (b"\x03\xec", 1004, "", "may not be sent"),
        (b"\x00\x01", 1, "", "may not be sent"),
        (b"\x13\x88", 5000, "", "may not be sent"),
    ],
)
def test_close_payload_is_read_and_checked(
    body: bytes, code: int | None, reason: str, problem: str | None
) -> None:
    assert parse_close_payload(body)[:2] == (code, reason)
    (frame,) = feed(build_frame(OP_CLOSE, body, mask_key=MASK))
    assert (frame.close_code, frame.close_reason) == (code, reason)
    if problem is None:
        assert frame.problems == ()
    else:
        assert problem in frame.problems[0]


def test_64bit_length_with_msb_set_breaks_the_stream_once() -> None:
    good = build_frame(OP_BINARY, b"ok")
    bad = bytes([0x82, 0x7F]) + (1 << 63).to_bytes(8, "big")
    indexer = FrameIndexer()
    with pytest.raises(FramingError) as info:
        indexer.receive_data(good + bad + b"more")
    assert info.value.offset == len(good)
    assert [f.payload for f in info.value.frames] == [b"ok"]
    assert indexer.broken
    assert indexer.receive_data(good) == []
    assert "most significant bit" in str(info.value)


def test_payload_above_limit_breaks_the_stream() -> None:
    indexer = FrameIndexer(max_payload_size=10)
    with pytest.raises(FramingError) as info:
        indexer.receive_data(build_frame(OP_BINARY, b"x" * 11)[:3])
    assert info.value.offset == 0
    assert "exceeds the limit" in info.value.explanation


def test_incomplete_frame_stays_buffered_with_needed_size() -> None:
    data = build_frame(OP_BINARY, b"x" * 300, mask_key=MASK)
    indexer = FrameIndexer(start_offset=100)
    assert indexer.receive_data(data[:1]) == []
    assert indexer.receive_data(data[1:50]) == []
    assert indexer.buffered == 50
    assert indexer.needed == len(data)
    (frame,) = indexer.receive_data(data[50:] + data[:3])
    assert frame.stream_offset == 100
    assert frame.end_offset == 100 + len(data)
    assert indexer.consumed == 100 + len(data)
    assert indexer.buffered == 3


# Cross-check against websockets' parser on random valid streams.


def websockets_parse(data: bytes, *, mask: bool) -> list[Frame]:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames = []
    while reader.buffer:
        parser = Frame.parse(reader.read_exact, mask=mask)
        try:
            next(parser)
        except StopIteration as done:
            frames.append(done.value)
        else:  # pragma: no cover - the stream was built whole
            raise AssertionError("websockets wanted more data")
    return frames


LENGTHS = st.one_of(st.sampled_from([0, 1, 125, 126, 127, 65535, 65536]), st.integers(0, 300))


@st.composite
def valid_streams(draw: st.DrawFn) -> tuple[bytes, bool, list[tuple[int, bool, bytes]]]:
    """A stream of whole and fragmented messages with control frames between fragments."""
    masked = draw(st.booleans())
    rng = random.Random(draw(st.integers(0, 2**32)))
    frames: list[tuple[int, bool, bytes]] = []
    data = bytearray()

    def add(opcode: int, fin: bool, payload: bytes) -> None:
        key = rng.randbytes(4) if masked else None
        data.extend(build_frame(opcode, payload, fin=fin, mask_key=key))
        frames.append((opcode, fin, payload))

    for _ in range(draw(st.integers(1, 4))):
        opcode = draw(st.sampled_from([OP_BINARY, OP_TEXT, OP_PING, OP_PONG]))
        if opcode in (OP_PING, OP_PONG):
            add(opcode, True, rng.randbytes(draw(st.integers(0, 125))))
            continue
        fragments = draw(st.integers(1, 3))
        for i in range(fragments):
            payload = rng.randbytes(draw(LENGTHS))
            if opcode == OP_TEXT:
                payload = bytes(b % 0x60 + 0x20 for b in payload)
            add(opcode if i == 0 else OP_CONTINUATION, i == fragments - 1, payload)
            if i < fragments - 1 and draw(st.booleans()):
                add(OP_PING, True, b"ping")
    if draw(st.booleans()):
        add(OP_CLOSE, True, draw(st.sampled_from([b"", b"\x03\xe8", b"\x0f\xa1reason"])))
    return bytes(data), masked, frames


@settings(max_examples=150, deadline=None)
@given(stream=valid_streams(), cuts=st.lists(st.integers(1, 70000), min_size=1, max_size=8))
def test_frames_match_websockets_parser_in_any_chunking(
    stream: tuple[bytes, bool, list[tuple[int, bool, bytes]]], cuts: list[int]
) -> None:
    data, masked, built = stream
    ours = feed(data, cuts, expect_masked=masked)
    theirs = websockets_parse(data, mask=masked)
    assert len(ours) == len(theirs) == len(built)
    offset = 0
    for mine, ref, (opcode, fin, payload) in zip(ours, theirs, built, strict=True):
        assert mine.opcode == ref.opcode.value == opcode
        assert mine.fin is ref.fin is fin
        assert (mine.rsv1, mine.rsv2, mine.rsv3) == (ref.rsv1, ref.rsv2, ref.rsv3)
        assert mine.payload == ref.data == payload
        assert mine.masked is masked
        assert mine.stream_offset == offset
        assert mine.problems == ()
        length = len(payload)
        assert mine.length_encoding == ("7bit" if length < 126 else "16bit" if length < 65536 else "64bit")
        offset = mine.end_offset


@settings(max_examples=200, deadline=None)
@given(
    b0=st.integers(0, 255),
    length=st.sampled_from([0, 5, 125, 126, 130]),
    masked=st.booleans(),
)
def test_a_frame_websockets_rejects_always_has_a_problem(b0: int, length: int, masked: bool) -> None:
    data = build_frame(
        b0 & 0x0F, b"q" * length, fin=bool(b0 & 0x80), rsv=b0 >> 4 & 7, mask_key=MASK if masked else None
    )
    (mine,) = feed(data, expect_masked=masked)
    try:
        (frame,) = websockets_parse(data, mask=masked)
        if frame.opcode == Opcode.CLOSE:
            Close.parse(frame.data)  # websockets checks the close body in its protocol layer
    except (ProtocolError, UnicodeDecodeError):
        assert mine.problems
    else:
        continuation_alone = mine.opcode == OP_CONTINUATION
        assert bool(mine.problems) is continuation_alone


@pytest.mark.parametrize("masked", [True, False])
def test_plain_frames_are_the_frames_the_full_checks_make(masked: bool) -> None:
    # A plain frame (whole, binary, 7-bit, masked as the direction requires) is read by
    # the indexer's short path; with expect_masked=None every frame takes the full checks.
    rng = random.Random(5)
    payloads = [rng.randbytes(rng.randint(0, 125)) for _ in range(40)]
    data = b"".join(
        build_frame(OP_BINARY, p, mask_key=rng.randbytes(4) if masked else None) for p in payloads
    )
    for chunks in chunkings(data):
        short = feed(data, chunks, expect_masked=masked)
        assert short == feed(data, chunks, expect_masked=None)
        assert [f.payload for f in short] == payloads
        assert all(type(f.payload) is bytes and type(f.header) is bytes for f in short)


def test_frames_yields_plain_runs_and_checked_frames_in_wire_order() -> None:
    plain = build_frame(OP_BINARY, b"abc", mask_key=MASK)
    start = build_frame(OP_BINARY, b"12", mask_key=MASK, fin=False)  # opens a fragmented message
    ping = build_frame(OP_PING, b"p", mask_key=MASK)
    last = build_frame(OP_CONTINUATION, b"34", mask_key=MASK)
    indexer = FrameIndexer(expect_masked=True)
    got = list(indexer.frames(plain * 2 + start + plain + ping + last + plain))
    kinds = [type(item).__name__ for item in got]
    # inside the fragmented message a plain-looking frame is checked (and reported)
    assert kinds == ["list", "RawFrame", "RawFrame", "RawFrame", "RawFrame", "list"]
    assert got[0] == [(0, plain[:6], MASK, b"abc"), (len(plain), plain[:6], MASK, b"abc")]
    assert got[2].problems  # type: ignore[union-attr]
    assert indexer.consumed == len(plain) * 4 + len(start) + len(ping) + len(last)


def test_a_run_of_plain_frames_comes_before_the_error_that_stops_the_frames() -> None:
    plain = build_frame(OP_BINARY, b"abc", mask_key=MASK)
    broken = bytes((0x82, 0xFF)) + (1 << 63).to_bytes(8, "big") + MASK
    indexer = FrameIndexer(expect_masked=True)
    frames = indexer.frames(plain * 2 + broken)
    assert len(next(frames)) == 2  # type: ignore[arg-type]
    with pytest.raises(FramingError) as info:
        next(frames)
    assert info.value.offset == 2 * len(plain)
    assert indexer.broken


def test_a_caller_that_stops_early_leaves_the_rest_unread() -> None:
    frame = build_frame(OP_BINARY, b"abc", mask_key=MASK)
    ping = build_frame(OP_PING, b"p", mask_key=MASK)
    indexer = FrameIndexer(expect_masked=True)
    frames = indexer.frames(frame + ping + frame * 2)
    next(frames)
    frames.close()
    assert (indexer.consumed, indexer.buffered) == (len(frame), len(ping) + 2 * len(frame))
    assert [f.payload for f in indexer.receive_data(b"")] == [b"p", b"abc", b"abc"]
