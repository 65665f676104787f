"""pcapng export of a trace: our reader and decoder get the same frames and packets back,
no secret is written, and tshark (when installed; always in CI) sees the WebSocket frames."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from explorer.capture import read_capture, read_capture_bytes
from explorer.cli.decode import classify, decode_connection
from explorer.model.events import FrameEvent, PacketEvent, TraceEvent
from explorer.model.trace import export_pcapng
from tests.capture.mqttws import SECRET, capture_bytes, deflate_stream, native_stream, websocket_stream
from tests.reference import SMALL_PCAPNG, needs_reference

REFERENCE = SMALL_PCAPNG


def _decode_all(data: bytes) -> list[TraceEvent]:
    capture = read_capture_bytes(data)
    seq = count().__next__
    events: list[TraceEvent] = []
    for conn in capture.connections:
        kind = classify(conn)
        assert kind in ("websocket", "mqtt")
        events += decode_connection(conn, kind, seq)
    return events


def _frames(events: list[TraceEvent]) -> list[tuple[object, ...]]:
    return [
        (e.conn, e.direction, e.index, e.opcode, e.fin, e.masked, e.mask_key, e.header, e.payload, e.parts)
        for e in events
        if isinstance(e, FrameEvent)
    ]


def _packets(events: list[TraceEvent]) -> list[tuple[object, ...]]:
    return [
        (e.conn, e.direction, e.packet_no, e.raw, e.frames, e.packet)
        for e in events
        if isinstance(e, PacketEvent)
    ]


def _roundtrip(events: list[TraceEvent], **options: Any) -> bytes:
    out = io.BytesIO()
    export_pcapng(events, out, ("127.0.0.1", 8080), seed=1, **options)
    return out.getvalue()


@pytest.mark.parametrize("split", [0, 3])
def test_exported_websocket_session_decodes_to_the_same_frames_and_packets(split: int) -> None:
    events = _decode_all(capture_bytes(websocket_stream(split)))
    again = _decode_all(_roundtrip(events))
    assert _frames(again) == _frames(events)
    assert _packets(again) == _packets(events)
    assert len(_packets(events)) == 5


def test_compressed_messages_are_exported_decompressed_and_decode_to_the_same_packets() -> None:
    events = _decode_all(capture_bytes(deflate_stream()))
    assert [e.packet.TYPE.name for e in events if isinstance(e, PacketEvent)] == [
        "CONNECT",
        "CONNACK",
        "PUBLISH",
        "PUBLISH",
        "DISCONNECT",
    ]
    assert [f.rsv1 for f in events if isinstance(f, FrameEvent)] == [True] * 5 + [False]
    exported = _roundtrip(events)
    assert SECRET not in exported
    again = _decode_all(exported)
    assert _packets(again) == _packets(events)
    assert [(f.opcode, f.fin, f.rsv1, f.payload) for f in again if isinstance(f, FrameEvent)] == [
        (f.opcode, f.fin, False, f.payload) for f in events if isinstance(f, FrameEvent)
    ]


def test_exported_native_mqtt_session_decodes_to_the_same_packets() -> None:
    events = _decode_all(capture_bytes(native_stream(), server_port=1883))
    again = _decode_all(_roundtrip(events))
    assert _packets(again) == _packets(events)
    assert _frames(events) == []


@needs_reference()
def test_exported_reference_capture_keeps_every_frame_and_packet() -> None:
    events = _decode_all(REFERENCE.read_bytes())
    exported = _roundtrip(events, servers={0: ("127.0.0.1", 19100), 1: ("127.0.0.1", 19100)})
    capture = read_capture_bytes(exported)
    assert [c.server.port for c in capture.connections] == [19100, 19100, 8080, 8080]
    assert all(c.problems == [] for c in capture.connections)
    again = _decode_all(exported)
    assert _frames(again) == _frames(events)
    assert _packets(again) == _packets(events)


def test_exported_capture_never_holds_the_connect_password_or_http_credentials() -> None:
    events = _decode_all(capture_bytes(websocket_stream(split=4)))
    data = _roundtrip(events)
    assert SECRET not in data
    assert b"dXNlcjpzM2NyZXQ=" not in data
    (connect,) = [
        e
        for e in _decode_all(data)
        if isinstance(e, PacketEvent) and e.packet_no == 0 and e.direction == "c2s"
    ]
    assert connect.raw.endswith(b"*" * len(SECRET))


def test_exported_times_keep_wall_clock_times() -> None:
    events = _decode_all(capture_bytes(websocket_stream()))
    first = read_capture_bytes(_roundtrip(events)).connections[0].chunks[0].time
    assert first == pytest.approx(events[0].time, abs=1e-6)


def test_exported_monotonic_times_are_shifted_by_the_given_offset() -> None:
    events = _decode_all(capture_bytes(websocket_stream(), start=1000.0))
    shifted = read_capture_bytes(_roundtrip(events, epoch_offset=5000.0)).connections[0].chunks[0].time
    assert shifted == pytest.approx(events[0].time + 5000.0, abs=1e-6)


def test_exported_monotonic_times_default_to_the_current_wall_clock() -> None:
    events = _decode_all(capture_bytes(websocket_stream(), start=time.monotonic()))
    before = time.time()
    shifted = read_capture_bytes(_roundtrip(events)).connections[0].chunks[0].time
    assert shifted >= before - 5.0
    assert shifted < 4e9


def test_export_to_a_path_writes_a_file_our_reader_opens(tmp_path: Path) -> None:
    events = _decode_all(capture_bytes(websocket_stream()))
    path = tmp_path / "trace.pcapng"
    assert export_pcapng(events, path, ("192.0.2.10", 443)) == 1
    (conn,) = read_capture(path).connections
    assert str(conn.server) == "192.0.2.10:443"
    assert conn.client.address == "127.0.0.1"
    assert conn.client.port >= 49152
    assert set(conn.ended) == {"c2s", "s2c"}


def _tshark() -> str:
    program = shutil.which("tshark")
    if program is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tshark must be installed in CI")
        pytest.skip("tshark is not installed")
    return program


def test_tshark_sees_the_upgrade_and_every_websocket_frame(tmp_path: Path) -> None:
    tshark = _tshark()
    events = _decode_all(capture_bytes(websocket_stream(split=5)))
    path = tmp_path / "trace.pcapng"
    export_pcapng(events, path, ("127.0.0.1", 8080), seed=3)
    result = subprocess.run(
        [
            tshark,
            "-r",
            str(path),
            "-d",
            "tcp.port==8080,http",
            "-Y",
            "websocket",
            "-T",
            "fields",
            "-e",
            "websocket.opcode",
            "-e",
            "websocket.payload_length",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    seen = []
    for line in result.stdout.splitlines():
        opcodes, lengths = line.split("\t")
        seen += list(zip(map(int, opcodes.split(",")), map(int, lengths.split(",")), strict=True))
    frames = [(e.opcode, e.payload_length) for e in events if isinstance(e, FrameEvent)]
    assert seen == frames
    upgrade = subprocess.run(
        [tshark, "-r", str(path), "-d", "tcp.port==8080,http", "-Y", "http.response.code == 101"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(upgrade.stdout.splitlines()) == 1


def test_a_session_with_an_ipv6_server_is_exported_over_ipv6() -> None:
    events = _decode_all(capture_bytes(websocket_stream(split=5)))
    out = io.BytesIO()
    export_pcapng(events, out, ("2001:db8::7", 8080), seed=3)
    capture = read_capture_bytes(out.getvalue())
    (conn,) = capture.connections
    assert (conn.client.address, conn.server.address, conn.server.port) == ("::1", "2001:db8::7", 8080)
    assert str(conn.server) == "[2001:db8::7]:8080"
    assert capture.problems == []
    assert conn.problems == []
    again = _decode_all(out.getvalue())
    frames = [(e.opcode, e.payload_length) for e in events if isinstance(e, FrameEvent)]
    assert [(e.opcode, e.payload_length) for e in again if isinstance(e, FrameEvent)] == frames


def test_tshark_reads_an_ipv6_export_with_valid_checksums(tmp_path: Path) -> None:
    tshark = _tshark()
    events = _decode_all(capture_bytes(websocket_stream(split=5)))
    path = tmp_path / "trace6.pcapng"
    export_pcapng(events, path, ("2001:db8::7", 8080), seed=3)
    result = subprocess.run(
        [
            tshark,
            "-r",
            str(path),
            "-o",
            "tcp.check_checksum:TRUE",
            "-d",
            "tcp.port==8080,http",
            "-Y",
            "websocket",
            "-T",
            "fields",
            "-e",
            "ipv6.dst",
            "-e",
            "tcp.checksum.status",
            "-e",
            "websocket.opcode",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert rows
    assert {row[0] for row in rows} == {"2001:db8::7", "::1"}  # frames both ways
    assert {row[1] for row in rows} == {"1"}  # checksum status 1: good (0 bad, 2 unverified)
    opcodes = [int(o) for row in rows for o in row[2].split(",")]
    assert opcodes == [e.opcode for e in events if isinstance(e, FrameEvent)]
