"""Causes of the probe's publish step (``probe --publish-size N``): size limits and refusals.

A server's frame, message or packet limit shows only when a message above it is sent:
a WebSocket server closes with 1009, some close the connection without a word, and an
MQTT 5 broker states its Maximum Packet Size in CONNACK (MQTT 5.0 §3.2.2.3.6) or answers
DISCONNECT 0x95. Kept apart from :mod:`explorer.diagnose.causes`, which merges them
into the one ``CAUSES`` table.
"""

from __future__ import annotations

from explorer.diagnose.model import Cause

__all__ = ["PUBLISH_CAUSES"]

_LIMITS_FIX = (
    "Raise the limit where it is set: the broker (mosquitto: message_size_limit or "
    "max_packet_size; EMQX: mqtt.max_packet_size and the listener's websocket "
    "max_frame_size; HiveMQ: max-packet-size), the WebSocket server or bridge "
    "(websockets/ws: max_size / maxPayload) or a proxy in front; or keep messages below it."
)

PUBLISH_CAUSES: tuple[Cause, ...] = (
    Cause(
        "limit-mqtt-maximum-packet-size",
        "publish",
        "Message above the broker's Maximum Packet Size",
        "The broker's CONNACK says Maximum Packet Size {server_maximum_packet_size} B, and a "
        "PUBLISH of {publish_size} B is a {packet_size} B packet: a client must not send it "
        "[MQTT-3.2.2-15], and the broker would close the connection if it did.",
        "Keep messages below {server_maximum_packet_size} B (less the topic and header), or raise "
        "the broker's maximum packet size (mosquitto: max_packet_size; EMQX: mqtt.max_packet_size).",
    ),
    Cause(
        "limit-ws-message-too-big",
        "publish",
        "Message too big for the WebSocket server (1009)",
        "The server closed with 1009 (message too big) when a PUBLISH of {publish_size} B "
        "({packet_size} B packet, one WebSocket message) arrived: {close_reason}. Its WebSocket "
        "frame or message limit, or that of a proxy in front, is below {packet_size} B "
        "({size_bounds}).",
        _LIMITS_FIX,
    ),
    Cause(
        "limit-silent-drop",
        "publish",
        "Connection dropped after a large message",
        "The connection was closed without a close frame or DISCONNECT right after a PUBLISH of "
        "{publish_size} B ({packet_size} B packet): a frame, message or packet size limit that "
        "the server (or a proxy) enforces by dropping the connection ({size_bounds}).",
        _LIMITS_FIX + " Then read the server's log for the limit it hit.",
    ),
    Cause(
        "limit-mqtt-packet-too-large",
        "publish",
        "Packet too large (DISCONNECT 0x95)",
        "The broker answered the PUBLISH of {publish_size} B ({packet_size} B packet) with "
        "{close_code}: the packet is above its maximum packet size ({size_bounds}).",
        "Keep messages smaller, or raise the broker's maximum packet size (mosquitto: "
        "max_packet_size; EMQX: mqtt.max_packet_size; HiveMQ: max-packet-size).",
    ),
    Cause(
        "publish-refused",
        "publish",
        "Publish refused by PUBACK",
        "The broker answered the PUBLISH of {publish_size} B with PUBACK {puback_code}.",
        "0x87 means the account may not publish to the probe's topic "
        "(mqttws-explorer/probe/...): allow it in the broker's ACL; 0x97 is a quota; 0x95 a "
        "packet size limit.",
    ),
    Cause(
        "publish-closed",
        "publish",
        "Closed after a publish",
        "The connection was closed with {close_code} after a PUBLISH of {publish_size} B "
        "({packet_size} B packet).",
        "Read the close reason and the broker's log: the account may not publish to the probe's "
        "topic, or a size limit applies.",
    ),
    Cause(
        "publish-no-puback",
        "publish",
        "No PUBACK",
        "A QoS 1 PUBLISH of {publish_size} B ({packet_size} B packet) got no PUBACK within "
        "{timeout} s while the connection stayed open.",
        "Some brokers drop a message they refuse without telling (MQTT 3.1.1 has no negative "
        "PUBACK): check the broker's ACL and size limits in its log.",
    ),
)
