"""Captures of MQTT over WebSocket (and native MQTT) built for tests.

Packets come from our encoder; frames from ``explorer.ws.framing.build_frame``; TCP
and the capture file from :mod:`tests.capture.builders`.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence

from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ConnackReasonCode, ProtocolVersion
from explorer.mqtt.packets import Connack, Connect, Disconnect, Packet, Properties, Publish
from explorer.ws.framing import OP_BINARY, OP_CLOSE, OP_CONTINUATION, build_frame
from explorer.ws.handshake import accept_key
from tests.capture.builders import Conversation, ethernet, pcap_file, timed

SECRET = b"s3cret-pass-word"
KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def request(
    path: str = "/mqtt", protocol: str = "mqtt", auth: str | None = None, extensions: str | None = None
) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {KEY}",
        "Sec-WebSocket-Version: 13",
        f"Sec-WebSocket-Protocol: {protocol}",
    ]
    if auth:
        lines.append(f"Authorization: Basic {auth}")
    if extensions:
        lines.append(f"Sec-WebSocket-Extensions: {extensions}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def response(protocol: str = "mqtt", extensions: str | None = None) -> bytes:
    extra = f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else ""
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(KEY)}\r\nSec-WebSocket-Protocol: {protocol}\r\n{extra}\r\n"
    ).encode()


def session_packets() -> list[tuple[int, Packet]]:
    """(side, packet): a short MQTT 5 session with a password, properties and QoS 1."""
    return [
        (0, Connect(ProtocolVersion.V5, client_id="cap", username="user", password=SECRET)),
        (1, Connack(reason_code=ConnackReasonCode.SUCCESS, properties=Properties(topic_alias_maximum=5))),
        (0, Publish("a/b", b"hello", qos=1, packet_id=7, properties=Properties(content_type="text/plain"))),
        (1, Publish("big/payload", os.urandom(300), qos=0)),
        (0, Disconnect()),
    ]


def websocket_stream(split: int = 0) -> list[tuple[int, bytes]]:
    """(side, bytes) as sent; with ``split`` > 0 each packet is cut into frames of that size."""
    sent = [(0, request(auth="dXNlcjpzM2NyZXQ=")), (1, response())]
    for side, packet in session_packets():
        data = encode(packet, ProtocolVersion.V5)
        pieces = [data[i : i + split] for i in range(0, len(data), split)] if split else [data]
        for piece in pieces:
            key = os.urandom(4) if side == 0 else None
            sent.append((side, build_frame(OP_BINARY, piece, mask_key=key)))
    sent.append((0, build_frame(OP_CLOSE, b"\x03\xe8bye", mask_key=b"\x01\x02\x03\x04")))
    sent.append((1, build_frame(OP_CLOSE, b"\x03\xe8")))
    return sent


def deflate_stream() -> list[tuple[int, bytes]]:
    """Every MQTT packet as one permessage-deflate message (RFC 7692 §7.2.1), the last
    one cut into two frames; each direction keeps its compression context."""
    sent = [(0, request(extensions="permessage-deflate")), (1, response(extensions="permessage-deflate"))]
    compressors = [zlib.compressobj(wbits=-15), zlib.compressobj(wbits=-15)]
    packets = session_packets()
    for number, (side, packet) in enumerate(packets):
        deflated = compressors[side].compress(encode(packet, ProtocolVersion.V5))
        deflated += compressors[side].flush(zlib.Z_SYNC_FLUSH)
        deflated = deflated[:-4]  # drop the 00 00 ff ff tail
        key = os.urandom(4) if side == 0 else None
        if number == len(packets) - 1:
            half = len(deflated) // 2
            sent.append((side, build_frame(OP_BINARY, deflated[:half], fin=False, mask_key=key, rsv=4)))
            sent.append((side, build_frame(OP_CONTINUATION, deflated[half:], mask_key=key)))
        else:
            sent.append((side, build_frame(OP_BINARY, deflated, mask_key=key, rsv=4)))
    return sent


def native_stream() -> list[tuple[int, bytes]]:
    return [(side, encode(packet, ProtocolVersion.V5)) for side, packet in session_packets()]


def capture_bytes(
    sent: Sequence[tuple[int, bytes]], *, server_port: int = 8080, fin: bool = True, start: float = 1.7e9
) -> bytes:
    conv = Conversation(client=("127.0.0.1", 50123), server=("127.0.0.1", server_port))
    packets = conv.handshake()
    packets += [conv.send(side, data) for side, data in sent]
    if fin:
        packets += [conv.fin(0), conv.fin(1)]
    return pcap_file(timed(packets, ethernet, start=start))
