"""The decoder on odd input: a non-ASCII upgrade key, a damaged CONNECT, MQTT 5 with
permessage-deflate whose CONNACK comes in the same read as the 101."""

from __future__ import annotations

import zlib

import pytest

from explorer.decoder import ConnectionDecoder
from explorer.model.events import (
    Direction,
    ErrorReported,
    FrameEvent,
    HandshakeResponse,
    PacketEvent,
    TraceEvent,
)
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack, Connect, Properties, Publish
from explorer.ws.framing import OP_BINARY, build_frame
from tests.capture.mqttws import request, response

PASSWORD = b"very-secret-password"
Sends = list[tuple[Direction, bytes]]


def _feed(sends: Sends, pieces: int = 0, *, websocket: bool = True) -> list[TraceEvent]:
    """Feed in order; with ``pieces``, every send is cut into reads of that many bytes."""
    decoder = ConnectionDecoder(websocket=websocket)
    for direction, data in sends:
        size = pieces or len(data)
        for at in range(0, len(data), size):
            decoder.receive_data(direction, data[at : at + size], 1.0)
    decoder.receive_eof("c2s", 2.0)
    decoder.receive_eof("s2c", 2.0)
    return decoder.events_received()


def _frame(packet: bytes, masked: bool = True) -> bytes:
    return build_frame(OP_BINARY, packet, mask_key=b"\x01\x02\x03\x04" if masked else None)


def test_a_non_ascii_upgrade_key_is_a_handshake_problem_and_the_rest_is_decoded() -> None:
    key_line = b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
    bad = request().replace(key_line, b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25\xe9ZQ==")
    assert bad != request()
    connect = encode(Connect(ProtocolVersion.V311, client_id="k"))
    events = _feed([("c2s", bad), ("s2c", response()), ("c2s", _frame(connect))])
    errors = [e for e in events if isinstance(e, ErrorReported)]
    assert any("Sec-WebSocket-Key" in e.message for e in errors)
    assert [type(e.packet).__name__ for e in events if isinstance(e, PacketEvent)] == ["Connect"]


def _bad_connects(version: ProtocolVersion) -> dict[str, bytes]:
    packet = encode(Connect(version, client_id="c", username="u", password=PASSWORD), version)
    flags = bytearray(packet)
    flags[0] = 0x11  # CONNECT flags must be 0 [MQTT-2.1.3-1]
    short = bytearray(packet)
    short[1] -= 3  # a Remaining Length too short: the password runs into the next packet
    cases = {"flags 0x11": bytes(flags), "remaining length too short": bytes(short) + b"\xc0\x00"}
    # A type byte damaged into another packet's: the body still reads as that packet
    # (the protocol name as a PUBLISH's topic, the password in its payload).
    for first in (0x30, 0x3A, 0x82):
        cases[f"type byte 0x{first:02X}"] = bytes([first]) + packet[1:]
    return cases


_KINDS = ["flags 0x11", "remaining length too short", "type byte 0x30", "type byte 0x3A", "type byte 0x82"]


@pytest.mark.parametrize("version", [ProtocolVersion.V311, ProtocolVersion.V5])
@pytest.mark.parametrize("kind", _KINDS)
@pytest.mark.parametrize("pieces", [0, 1, 5])
@pytest.mark.parametrize("websocket", [True, False])
def test_a_malformed_connect_never_shows_its_password(
    version: ProtocolVersion, kind: str, pieces: int, websocket: bool
) -> None:
    packet = _bad_connects(version)[kind]
    if websocket:
        sends: Sends = [("c2s", request()), ("s2c", response()), ("c2s", _frame(packet))]
    else:
        sends = [("c2s", packet)]
    events = _feed(sends, pieces, websocket=websocket)
    assert any(isinstance(e, ErrorReported) and e.layer == "mqtt" for e in events)
    for event in events:
        for name in ("data", "payload", "raw"):
            value = getattr(event, name, b"")
            assert PASSWORD[:8] not in value, f"{type(event).__name__}.{name}"
    for event in events:
        if isinstance(event, PacketEvent):
            assert PASSWORD[:8] not in repr(event.packet).encode(), type(event.packet).__name__
    if websocket:
        (frame,) = [e for e in events if isinstance(e, FrameEvent)]
        assert frame.payload[:2] == packet[:2]  # the header is still shown


def _deflate_session() -> Sends:
    """MQTT 5 over permessage-deflate; the server's 101 and CONNACK frame in one send."""
    out = zlib.compressobj(wbits=-15), zlib.compressobj(wbits=-15)

    def deflated(side: int, packet: bytes) -> bytes:
        data = out[side].compress(packet) + out[side].flush(zlib.Z_SYNC_FLUSH)
        return build_frame(OP_BINARY, data[:-4], mask_key=b"abcd" if side == 0 else None, rsv=4)

    connect = encode(Connect(ProtocolVersion.V5, client_id="z", password=PASSWORD), ProtocolVersion.V5)
    connack = encode(Connack(properties=Properties(topic_alias_maximum=5)), ProtocolVersion.V5)
    publish = encode(Publish("t/1", b"x", properties=Properties(content_type="a/b")), ProtocolVersion.V5)
    return [
        ("c2s", request(extensions="permessage-deflate")),
        ("c2s", deflated(0, connect)),
        ("s2c", response(extensions="permessage-deflate") + deflated(1, connack)),
        ("s2c", deflated(1, publish)),
    ]


@pytest.mark.parametrize("pieces", [0, 1, 3, 64])
def test_mqtt5_with_permessage_deflate_decodes_the_same_in_one_read_or_many(pieces: int) -> None:
    events = _feed(_deflate_session(), pieces)
    assert [e for e in events if isinstance(e, ErrorReported)] == []
    assert any(isinstance(e, HandshakeResponse) for e in events)
    packets = [e.packet for e in events if isinstance(e, PacketEvent)]
    assert [type(p).__name__ for p in packets] == ["Connect", "Connack", "Publish"]
    assert packets[1].properties.topic_alias_maximum == 5  # read as MQTT 5, not 3.1.1
    assert events == _feed(_deflate_session(), 0)
