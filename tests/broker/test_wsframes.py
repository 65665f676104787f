"""The server-side frame parser against RFC 6455, cross-checked with websockets' own frames."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from websockets.frames import Frame, Opcode

from explorer.broker.wsframes import FrameParser, WebSocketViolation, encode_frame, parse_close
from tests.broker.rawclient import client_frame


def _feed(data: bytes, **options: bool) -> list[tuple[int, bool, bytes]]:
    return FrameParser(1 << 20, **options).feed(data)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536])
def test_masked_frames_of_every_length_encoding_are_unmasked(size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    assert _feed(client_frame(0x2, payload)) == [(0x2, True, payload)]


def test_frames_split_at_every_byte_are_reassembled() -> None:
    data = client_frame(0x2, b"hello") + client_frame(0x9, b"p")
    parser = FrameParser(1024)
    out = []
    for index in range(len(data)):
        out += parser.feed(data[index : index + 1])
    assert out == [(0x2, True, b"hello"), (0x9, True, b"p")]


def test_unmasked_client_frame_is_1002() -> None:
    with pytest.raises(WebSocketViolation) as info:
        _feed(client_frame(0x2, b"x", mask=False))
    assert info.value.code == 1002


def test_text_frame_is_1003_unless_allowed() -> None:
    with pytest.raises(WebSocketViolation) as info:
        _feed(client_frame(0x1, b"x"))
    assert info.value.code == 1003
    assert _feed(client_frame(0x1, b"x"), allow_text=True) == [(0x1, True, b"x")]


@pytest.mark.parametrize(
    "data",
    [
        client_frame(0x9, b"x", fin=False),  # fragmented control frame (§5.5)
        client_frame(0x9, b"x" * 126),  # control payload above 125 (§5.5)
        client_frame(0x0, b"x"),  # continuation with nothing to continue (§5.4)
        client_frame(0x2, b"x", fin=False) + client_frame(0x2, b"y"),  # new message inside a fragmented one
        client_frame(0x3, b"x"),  # reserved opcode (§5.2)
        client_frame(0x2, b"x", rsv=0x40),  # RSV1 without an extension (§5.2)
        bytes((0x82, 0xFE, 0x00, 0x05)) + b"\0\0\0\0" + b"x" * 5,  # 16-bit length for 5 bytes (§5.2 minimal)
    ],
)
def test_protocol_violations_are_1002(data: bytes) -> None:
    with pytest.raises(WebSocketViolation) as info:
        _feed(data)
    assert info.value.code == 1002


def test_frame_above_the_maximum_is_1009() -> None:
    with pytest.raises(WebSocketViolation) as info:
        FrameParser(10).feed(client_frame(0x2, b"x" * 11))
    assert info.value.code == 1009


def test_close_payload_rules() -> None:
    assert parse_close(b"") == (1005, "")
    assert parse_close((1000).to_bytes(2, "big") + b"bye") == (1000, "bye")
    for bad, code in [
        (b"\x03", 1002),
        ((1005).to_bytes(2, "big"), 1002),
        ((1000).to_bytes(2, "big") + b"\xff", 1007),
    ]:
        with pytest.raises(WebSocketViolation) as info:
            parse_close(bad)
        assert info.value.code == code


@pytest.mark.parametrize("size", [0, 125, 126, 70000])
def test_encoded_server_frames_parse_in_websockets(size: int) -> None:
    payload = b"z" * size
    data = encode_frame(0x2, payload)
    chunks = iter([data])
    frame = _parse_with_websockets(chunks)
    assert frame == Frame(Opcode.BINARY, payload)


def _parse_with_websockets(chunks: Iterator[bytes]) -> Frame:
    from websockets.streams import StreamReader

    reader = StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as stop:
        frame: Frame = stop.value
        return frame
    raise AssertionError("incomplete frame")


def test_large_frame_arriving_in_many_chunks_is_assembled_once_complete() -> None:
    payload = bytes(range(256)) * 4096
    data = client_frame(0x2, payload) + client_frame(0xA, b"")
    parser = FrameParser(2 << 20)
    out = []
    for start in range(0, len(data), 4096):
        out += parser.feed(data[start : start + 4096])
    assert out == [(0x2, True, payload), (0xA, True, b"")]


@pytest.mark.parametrize("cut", [1, 2, 5, 6, 7, 100])
def test_fragmented_message_cut_inside_its_frames_keeps_its_state(cut: int) -> None:
    # RFC 6455 §5.4: a FIN=0 frame that arrives in two reads is still the first fragment.
    data = client_frame(0x2, b"a" * 200, fin=False) + client_frame(0x9, b"p") + client_frame(0x0, b"b" * 50)
    parser = FrameParser(1024)
    out = []
    for start in range(0, len(data), cut):
        out += parser.feed(data[start : start + cut])
    assert out == [(0x2, False, b"a" * 200), (0x9, True, b"p"), (0x0, True, b"b" * 50)]
