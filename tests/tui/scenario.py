"""A fixed, deterministic session for snapshot tests: the same bytes, times and topics every run.

The wire bytes of one MQTT over WebSocket connection (upgrade, CONNECT/CONNACK,
SUBSCRIBE/SUBACK, a few PUBLISHes, one of them split over two frames) go through the
real decoder with fixed timestamps; the resulting trace events and the messages they
deliver are ingested into a Workspace with a fixed clock. Screens drawn from it do
not depend on live traffic, ports or the time of day.
"""

from __future__ import annotations

from dataclasses import replace

from explorer.decoder import ConnectionDecoder
from explorer.model.events import MessageReceived, PacketEvent
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion, SubackReasonCode
from explorer.mqtt.packets import (
    Connack,
    Connect,
    Packet,
    Properties,
    Publish,
    Suback,
    Subscribe,
    Subscription,
)
from explorer.workspace import Workspace
from explorer.ws.framing import OP_BINARY, build_frame
from explorer.ws.handshake import accept_key

__all__ = ["T0", "scenario_workspace"]

T0 = 1000.0
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
REQUEST = (
    "GET /mqtt HTTP/1.1\r\nHost: broker.test:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
).encode()
RESPONSE = (
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Accept: {accept_key(KEY)}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
).encode()
MASK = bytes.fromhex("37fa213d")
V5 = ProtocolVersion.V5


def _frames(packet: Packet, *, masked: bool, split: int = 0) -> list[bytes]:
    raw = encode(packet, V5)
    mask = MASK if masked else None
    if not split:
        return [build_frame(OP_BINARY, raw, mask_key=mask)]
    return [
        build_frame(OP_BINARY, raw[:split], fin=False, mask_key=mask),
        build_frame(0, raw[split:], mask_key=mask),
    ]


def _messages() -> list[Publish]:
    return [
        Publish("demo/devices/thermostat-1/status", b"online", retain=True),
        Publish("demo/sensors/kitchen/temperature", b"21.5"),
        Publish("demo/sensors/kitchen/humidity", b"48"),
        Publish(
            "demo/sensors/livingroom/climate",
            b'{"temperature": 22.25, "humidity": 41, "battery": 0.93}',
            properties=Properties(content_type="application/json", user_properties=(("site", "home"),)),
        ),
        Publish("demo/sensors/kitchen/temperature", b"21.7"),
        Publish("demo/alerts/garage", b'{"level": "warning", "text": "door open for 10 min"}'),
        Publish("demo/sensors/kitchen/temperature", b"21.9"),
    ]


def scenario_workspace(password: bytes | None = None) -> Workspace:
    """A Workspace holding the fixed session (nothing connected, clock fixed at the last event).

    ``password`` puts a user name and that password in the CONNECT (views must hide it).
    """
    workspace = Workspace(clock=lambda: T0 + 10.0, config_dir="/nonexistent-config-dir")
    decoder = ConnectionDecoder(0)
    t = T0
    decoder.receive_data("c2s", REQUEST, t)
    decoder.receive_data("s2c", RESPONSE, t + 0.004)
    connect = Connect(client_id="explorer-snap", keep_alive=60, protocol_version=V5)
    if password is not None:
        connect = replace(connect, username="alice", password=password)
    for chunk in _frames(connect, masked=True):
        decoder.receive_data("c2s", chunk, t + 0.010)
    for chunk in _frames(Connack(), masked=False):
        decoder.receive_data("s2c", chunk, t + 0.012)
    subscribe = Subscribe(1, (Subscription("#"),))
    for chunk in _frames(subscribe, masked=True):
        decoder.receive_data("c2s", chunk, t + 0.020)
    for chunk in _frames(Suback(1, (SubackReasonCode(0),)), masked=False):
        decoder.receive_data("s2c", chunk, t + 0.021)
    for number, publish in enumerate(_messages()):
        split = 12 if number == 3 else 0  # the JSON message arrives in two frames
        for chunk in _frames(publish, masked=False, split=split):
            decoder.receive_data("s2c", chunk, t + 0.5 + number * 0.25)
    for event in decoder.events_received():
        workspace.ingest(event)
        if type(event) is PacketEvent and event.direction == "s2c" and isinstance(event.packet, Publish):
            packet = event.packet
            workspace.ingest(
                MessageReceived(
                    seq=workspace.next_seq(),
                    time=event.time,
                    conn=0,
                    topic=packet.topic,
                    payload=packet.payload,
                    qos=packet.qos,
                    retain=packet.retain,
                    packet=packet,
                )
            )
    return workspace
