"""RFC 6455 §5.4 fragmentation, against the embedded broker over real sockets.

MQTT is a byte stream over WebSocket (MQTT 5.0 §6.0), so however a client fragments its
messages, and however TCP cuts the fragments, the broker must read the same packets.
Browsers send a large message as a first binary frame with FIN=0 and continuation
frames (Chromium uses 64 KiB ones), with pings possibly in between (§5.4, §5.5).
"""

from __future__ import annotations

import hashlib

from explorer.broker.server import Broker
from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Puback, Publish
from tests.ws.conformance.peer import BrokerPeer
from tests.ws.conformance.wire import fragments

KIB = 1024
MIB = 1024 * KIB


def _payload(size: int) -> bytes:
    seed = hashlib.sha256(str(size).encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


async def _round_trip(broker: Broker, peers: list[BrokerPeer], wire: list[bytes], publish: Publish) -> None:
    """Send ``wire`` (the frames of ``publish``, cut any way), expect PUBACK and delivery."""
    receiver = await BrokerPeer.connected(broker.ws_port, "receiver", subscribe="frag/#")
    sender = await BrokerPeer.connected(broker.ws_port, "sender")
    peers += [receiver, sender]
    await sender.send_chunks(wire)
    assert await sender.next_packet() == Puback(publish.packet_id or 0)
    delivered = await receiver.next_packet()
    assert isinstance(delivered, Publish)
    assert (delivered.topic, delivered.qos) == (publish.topic, 1)
    assert delivered.payload == publish.payload  # byte for byte


async def test_1_mib_publish_in_16_continuation_fragments_of_64_kib(
    broker: Broker, peers: list[BrokerPeer]
) -> None:
    # A QoS 1 PUBLISH of exactly 1 MiB on the wire: a binary frame with FIN=0 and
    # 15 continuation frames of 64 KiB each, as Chromium sends it.
    overhead = len(encode(Publish("frag/big", b"x" * (MIB - 64), qos=1, packet_id=7))) - (MIB - 64)
    publish = Publish("frag/big", _payload(MIB - overhead), qos=1, packet_id=7)
    data = encode(publish)
    assert len(data) == MIB
    wire = fragments(0x2, data, 64 * KIB)
    assert len(wire) == 16
    await _round_trip(broker, peers, [b"".join(wire)], publish)
