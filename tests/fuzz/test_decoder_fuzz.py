"""Fuzzing the decoder and the capture reader on mutated real streams (Hypothesis, bounded).

Seeds are real MQTT-over-WebSocket and native MQTT sessions (MQTT 5 with a password,
properties, QoS 1, a split CONNECT, permessage-deflate, close frames) and, when the
reference capture is next to the repository, its four connections as recorded. Mutations
flip, overwrite, insert, delete, duplicate and cut bytes of one message, favouring the
values that break length fields and headers.

Targets, each checked for documented errors only, no example over 1 s (Hypothesis'
deadline) and bounded memory:

- :class:`explorer.decoder.ConnectionDecoder`, as a differential: the same bytes fed
  whole and cut into random pieces give the same events (the decoder never raises: what
  it cannot read becomes an ``ErrorReported``), and no CONNECT password shows;
- the capture pipeline (:class:`explorer.capture.pipeline.Pipeline` over
  :class:`explorer.capture.reader.CaptureFile`): mutated pcap and pcapng files give
  events or a one-line :class:`CaptureError`, nothing else.

An input that fails a check is written to ``tests/fuzz/corpus/decoder/found/`` before the
test fails; every file there is replayed through the checks on every run.
"""

from __future__ import annotations

import hashlib
import io
import struct
import tracemalloc
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.capture import read_capture
from explorer.capture.pipeline import Pipeline, Stream
from explorer.capture.reader import CaptureFile
from explorer.capture.tcp import TcpConnection
from explorer.decoder import ConnectionDecoder
from explorer.errors import CaptureError
from explorer.model.events import Direction, TraceEvent
from tests.capture.mqttws import SECRET, capture_bytes, deflate_stream, native_stream, websocket_stream
from tests.reference import SMALL_PCAPNG

FOUND = Path(__file__).resolve().parent / "corpus" / "decoder" / "found"
Sends = list[tuple[int, bytes]]  # (0 client / 1 server, bytes), in the order they were sent


def _seed_sessions() -> list[tuple[bool, Sends]]:
    seeds: list[tuple[bool, Sends]] = [
        (True, websocket_stream()),
        (True, websocket_stream(split=4)),
        (True, deflate_stream()),
        (False, native_stream()),
    ]
    if SMALL_PCAPNG.exists():
        for conn in read_capture(SMALL_PCAPNG).connections:
            seeds.append((True, [(0 if c.direction == "c2s" else 1, c.data) for c in conn.chunks]))
    return seeds


SEEDS = _seed_sessions()
_INTERESTING = [0x00, 0x01, 0x10, 0x11, 0x30, 0x7E, 0x7F, 0x80, 0x81, 0x82, 0x88, 0xC1, 0xFF]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bool, Sends, bool]:
    """A seed session with one to three of its messages damaged, and whether its password
    can only be where the CONNECT is (no mutation copied bytes elsewhere)."""
    websocket, sends = draw(st.sampled_from(SEEDS))
    sends = list(sends)
    single = True
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(sends) - 1))
        side, data = sends[at]
        data = bytearray(data)
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        how = draw(st.sampled_from(["flip", "set", "insert", "delete", "cut", "duplicate", "non-ascii"]))
        if how == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif how == "set" and data:
            data[pos] = draw(st.sampled_from(_INTERESTING) | st.integers(0, 255))
        elif how == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif how == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif how == "cut":
            del data[pos:]
        elif how == "duplicate":
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 32))]
            single = False
        elif how == "non-ascii" and data:
            data[pos] = draw(st.integers(0x80, 0xFF))
        sends[at] = (side, bytes(data))
    return websocket, sends, single


def _decode(websocket: bool, sends: Sends, cuts: Callable[[bytes], list[bytes]]) -> list[TraceEvent]:
    decoder = ConnectionDecoder(websocket=websocket)
    events: list[TraceEvent] = []
    names: tuple[Direction, Direction] = ("c2s", "s2c")
    for side, data in sends:
        for piece in cuts(data):
            decoder.receive_data(names[side], piece, 1.0)
            events += decoder.events_received()
    for direction in names:
        decoder.receive_eof(direction, 2.0)
        events += decoder.events_received()
    return events


def _leaks(events: list[TraceEvent]) -> list[str]:
    """Event fields that hold the seeds' CONNECT password (a long enough piece of it)."""
    found = []
    for event in events:
        for name in ("raw", "payload", "data"):
            value = getattr(event, name, b"")
            if isinstance(value, bytes) and SECRET[:10] in value:
                found.append(f"{type(event).__name__}.{name}")
    return found


def check_chunking(websocket: bool, sends: Sends, sizes: list[int], *, secret: bool = True) -> None:
    """Whole and cut into pieces of ``sizes`` (cycled): the same events, and (``secret``)
    no password."""

    def whole(data: bytes) -> list[bytes]:
        return [data]

    def pieces(data: bytes) -> list[bytes]:
        out, at, turn = [], 0, 0
        while at < len(data):
            size = sizes[turn % len(sizes)]
            out.append(data[at : at + size])
            at += size
            turn += 1
        return out

    tracemalloc.start()
    try:
        one = _decode(websocket, sends, whole)
        many = _decode(websocket, sends, pieces)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert one == many
    if secret:
        assert _leaks(one) == []
    size = sum(len(data) for _side, data in sends)
    assert peak < 2 * 1024 * 1024 + 64 * size, f"{peak} bytes for a {size}-byte stream"


def _encode_sends(websocket: bool, sends: Sends, secret: bool) -> bytes:
    out = bytearray((b"WS" if websocket else b"TC") + (b"1" if secret else b"0"))
    for side, data in sends:
        out += struct.pack("!BI", side, len(data)) + data
    return bytes(out)


def _decode_sends(blob: bytes) -> tuple[bool, Sends, bool]:
    websocket, secret, at, sends = blob[:2] == b"WS", blob[2:3] == b"1", 3, []
    while at < len(blob):
        side, length = struct.unpack_from("!BI", blob, at)
        sends.append((side, blob[at + 5 : at + 5 + length]))
        at += 5 + length
    return websocket, sends, secret


def _keep(kind: str, blob: bytes) -> None:
    FOUND.mkdir(parents=True, exist_ok=True)
    (FOUND / f"{kind}-{hashlib.sha256(blob).hexdigest()[:12]}.bin").write_bytes(blob)


_BOUNDED = settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])


@_BOUNDED
@given(session=mutated(), sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6))
def test_the_decoder_gives_the_same_events_in_any_chunking(
    session: tuple[bool, Sends, bool], sizes: list[int]
) -> None:
    websocket, sends, secret = session
    try:
        check_chunking(websocket, sends, sizes, secret=secret)
    except BaseException:
        _keep("stream", _encode_sends(websocket, sends, secret))
        raise


class _Sink:
    """A pipeline consumer that only counts (the pipeline is what is checked)."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, stream: Stream, base: float) -> None:
        del stream, base

    def events(self, stream: Stream, events: list[Any]) -> None:
        self.count += len(events)

    def finished(self, stream: Stream, conn: TcpConnection) -> None:
        del stream, conn


def check_capture(data: bytes) -> None:
    """A capture file's bytes: events, or a one-line CaptureError, and nothing else."""
    error = ""
    try:
        with CaptureFile(io.BytesIO(data), "fuzz.pcap") as capture:
            Pipeline(capture, _Sink(), count().__next__, compact=True).run()
    except CaptureError as exc:
        error = str(exc)
    assert "\n" not in error


_CAPTURES = [capture_bytes(websocket_stream(split=7)), capture_bytes(native_stream(), server_port=1883)]
if SMALL_PCAPNG.exists():
    _CAPTURES.append(SMALL_PCAPNG.read_bytes()[:20000])


@st.composite
def mutated_capture(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_CAPTURES)))
    for _ in range(draw(st.integers(1, 4))):
        if len(data) < 2:
            break
        pos = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["flip", "set", "insert", "delete", "cut", "length"]))
        if how == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif how == "set":
            data[pos] = draw(st.sampled_from(_INTERESTING) | st.integers(0, 255))
        elif how == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif how == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        elif how == "cut":
            del data[max(1, pos) :]
        else:  # a length field blown up (record or block lengths are 32-bit)
            data[pos : pos + 4] = draw(
                st.sampled_from([b"\xff\xff\xff\x7f", b"\x00\x00\x00\x00", b"\x0c\x00\x00\x00"])
            )
    return bytes(data)


@_BOUNDED
@given(data=mutated_capture())
def test_the_capture_reader_gives_events_or_one_line_errors(data: bytes) -> None:
    tracemalloc.start()
    try:
        check_capture(data)
        _now, peak = tracemalloc.get_traced_memory()
    except BaseException:
        _keep("capture", data)
        raise
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024 + 64 * len(data)


@pytest.mark.parametrize("path", sorted(FOUND.glob("*.bin")) if FOUND.exists() else [], ids=lambda p: p.name)
def test_found_inputs_stay_fixed(path: Path) -> None:
    blob = path.read_bytes()
    if path.name.startswith("capture-"):
        check_capture(blob)
        return
    websocket, sends, secret = _decode_sends(blob)
    for sizes in ([1], [7], [3, 11, 2], [1000]):
        check_chunking(websocket, sends, sizes, secret=secret)
