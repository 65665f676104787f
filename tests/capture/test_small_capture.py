"""The shared reference capture: four WebSocket connections reassembled byte for byte.

Ground truth is ``small.golden.json`` (Wireshark's dissection). A minimal frame walk
written here (RFC 6455 §5.2 header layout) checks that each direction's stream holds
exactly the frames Wireshark saw, and that the binary frame payloads concatenate to
exactly the MQTT packets Wireshark saw.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from explorer.capture import Capture, TcpConnection, read_capture
from tests.reference import SMALL_GOLDEN, SMALL_PCAPNG, needs_reference

CAPTURE = SMALL_PCAPNG
GOLDEN = SMALL_GOLDEN

pytestmark = needs_reference()


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def capture() -> Capture:
    return read_capture(CAPTURE)


def _frames(stream: bytes) -> list[tuple[int, int, bytes]]:
    """(opcode, payload length, unmasked payload) for each frame after the HTTP upgrade."""
    pos = stream.index(b"\r\n\r\n") + 4
    frames = []
    while pos < len(stream):
        b0, b1 = stream[pos], stream[pos + 1]
        length = b1 & 0x7F
        pos += 2
        if length == 126:
            length = int.from_bytes(stream[pos : pos + 2], "big")
            pos += 2
        elif length == 127:
            length = int.from_bytes(stream[pos : pos + 8], "big")
            pos += 8
        key = b""
        if b1 & 0x80:
            key = stream[pos : pos + 4]
            pos += 4
        payload = stream[pos : pos + length]
        if key:
            payload = bytes(byte ^ key[i % 4] for i, byte in enumerate(payload))
        frames.append((b0 & 0x0F, length, payload))
        pos += length
    return frames


def test_reference_capture_has_the_four_golden_connections(capture: Capture, golden: dict[str, Any]) -> None:
    assert capture.format == "pcapng"
    assert capture.problems == []
    got = [(c.index, c.client.port, c.server.port) for c in capture.connections]
    want = [(c["index"], c["client_port"], c["server_port"]) for c in golden["connections"]]
    assert got == want


def test_reference_connections_are_clean_and_closed(capture: Capture) -> None:
    for conn in capture.connections:
        assert conn.problems == [], conn.problems
        assert conn.gaps == []
        assert conn.role_evidence == "syn"
        assert set(conn.ended) == {"c2s", "s2c"}
        assert conn.client.address == conn.server.address == "127.0.0.1"


def test_reference_streams_start_with_the_http_upgrade(capture: Capture, golden: dict[str, Any]) -> None:
    for conn, want in zip(capture.connections, golden["connections"], strict=True):
        request = conn.stream("c2s")
        assert request.startswith(f"GET {want['request_uri']} HTTP/1.1\r\n".encode())
        assert conn.stream("s2c").startswith(f"HTTP/1.1 {want['status']} ".encode())
        assert conn.chunks[0].direction == "c2s"


def _golden_frames(golden: dict[str, Any], conn: int, direction: str) -> list[dict[str, Any]]:
    return [f for f in golden["frames"] if f["conn"] == conn and f["dir"] == direction]


@pytest.mark.parametrize("direction", ["c2s", "s2c"])
def test_reference_streams_hold_exactly_the_golden_frames(
    capture: Capture, golden: dict[str, Any], direction: str
) -> None:
    for conn in capture.connections:
        frames = _frames(conn.stream(direction))  # type: ignore[arg-type]
        want = _golden_frames(golden, conn.index, direction)
        assert [(op, n) for op, n, _ in frames] == [(f["opcode"], f["payload_length"]) for f in want]


@pytest.mark.parametrize("direction", ["c2s", "s2c"])
def test_reference_frame_payloads_concatenate_to_the_golden_mqtt_packets(
    capture: Capture, golden: dict[str, Any], direction: str
) -> None:
    for conn in capture.connections:
        mqtt = b"".join(p for op, _n, p in _frames(conn.stream(direction)) if op == 2)  # type: ignore[arg-type]
        packets = [p for p in golden["mqtt_packets"] if p["conn"] == conn.index and p["dir"] == direction]
        want = bytes.fromhex("".join(p["packet_hex"] for p in packets))
        assert mqtt == want


def _chunk_order(conn: TcpConnection) -> list[str]:
    return [c.direction for c in conn.chunks]


def test_reference_chunks_interleave_both_directions_in_capture_order(capture: Capture) -> None:
    for conn in capture.connections:
        order = _chunk_order(conn)
        assert "s2c" in order
        assert order.index("s2c") > 0  # the response follows the request
        times = [c.time for c in conn.chunks]
        assert times == sorted(times)
