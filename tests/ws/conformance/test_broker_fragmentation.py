"""RFC 6455 §5.4 fragmentation, against the embedded broker over real sockets.

MQTT is a byte stream over WebSocket (MQTT 5.0 §6.0), so however a client fragments its
messages, and however TCP cuts the fragments, the broker must read the same packets.
Browsers send a large message as a first binary frame with FIN=0 and continuation
frames (Chromium uses 64 KiB ones), with pings possibly in between (§5.4, §5.5).
Modelled on the Autobahn test suite's section 5 (fragmentation) and its cases 9.x
(message and fragment sizes).
"""

from __future__ import annotations

import pytest

from explorer.broker.server import READ_SIZE, Broker
from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Connack, Connect, Puback, Publish
from tests.ws.conformance.peer import BrokerPeer, broker_has_read
from tests.ws.conformance.wire import chunks_at, close_body, fragments, frame, publish_of_size

KIB = 1024
MIB = 1024 * KIB

MESSAGE_SIZES = [1, 2, 125, 126, 4 * KIB, 65535, 64 * KIB, 65537, MIB, 4 * MIB]
FRAGMENT_SIZES = [1, 7, 125, 126, 4 * KIB, 64 * KIB]
MAX_FRAMES = 70_000  # bounds the run time: 1-byte fragments of 1 MiB would be a million frames


def _matrix() -> list[tuple[int, int]]:
    cases = []
    for message in MESSAGE_SIZES:
        whole = False  # one case where the message fits one frame is enough
        for fragment in FRAGMENT_SIZES:
            if fragment >= message:
                if whole:
                    continue
                whole = True
            if message // fragment <= MAX_FRAMES:
                cases.append((message, fragment))
    return cases


def _messages(message_size: int, fragment_size: int, packet_id: int = 1) -> tuple[Publish, list[bytes]]:
    """A QoS 1 PUBLISH sent as WebSocket messages of ``message_size`` bytes, each one
    fragmented into frames of ``fragment_size`` bytes. Messages below a whole PUBLISH
    carry a piece of one: MQTT packets may span messages."""
    publish = publish_of_size(max(message_size, 64), packet_id)
    data = encode(publish)
    wire: list[bytes] = []
    for start in range(0, len(data), message_size):
        wire += fragments(0x2, data[start : start + message_size], fragment_size)
    return publish, wire


async def _pair(broker: Broker, peers: list[BrokerPeer]) -> tuple[BrokerPeer, BrokerPeer]:
    receiver = await BrokerPeer.connected(broker.ws_port, "receiver", subscribe="frag/#")
    sender = await BrokerPeer.connected(broker.ws_port, "sender")
    peers += [receiver, sender]
    return sender, receiver


async def _delivered(receiver: BrokerPeer, publish: Publish) -> None:
    delivered = await receiver.next_packet()
    assert isinstance(delivered, Publish)
    assert (delivered.topic, delivered.qos, len(delivered.payload)) == (
        publish.topic,
        1,
        len(publish.payload),
    )
    assert delivered.payload == publish.payload  # byte for byte
    assert delivered.packet_id is not None
    receiver.send_packet(Puback(delivered.packet_id))  # keeps the broker's in-flight window open


async def test_1_mib_publish_in_16_continuation_fragments_of_64_kib(
    broker: Broker, peers: list[BrokerPeer]
) -> None:
    # A QoS 1 PUBLISH of exactly 1 MiB on the wire: a binary frame with FIN=0 and
    # 15 continuation frames of 64 KiB each, as Chromium sends it.
    publish = publish_of_size(MIB, packet_id=7)
    wire = fragments(0x2, encode(publish), 64 * KIB)
    assert len(wire) == 16
    assert wire[0][0] == 0x02
    assert all(piece[0] == 0x00 for piece in wire[1:-1])
    assert wire[-1][0] == 0x80
    sender, receiver = await _pair(broker, peers)
    await sender.send_chunks([b"".join(wire)])
    assert await sender.next_packet() == Puback(7)
    await _delivered(receiver, publish)


@pytest.mark.parametrize(("message_size", "fragment_size"), _matrix())
async def test_message_and_fragment_sizes(
    broker: Broker, peers: list[BrokerPeer], message_size: int, fragment_size: int
) -> None:
    publish, wire = _messages(message_size, fragment_size)
    sender, receiver = await _pair(broker, peers)
    await sender.send_chunks([b"".join(wire)])
    assert await sender.next_packet() == Puback(1)
    await _delivered(receiver, publish)


@pytest.mark.parametrize("opcode", [0x9, 0xA], ids=["ping", "pong"])
async def test_control_frames_between_every_fragment(
    broker: Broker, peers: list[BrokerPeer], opcode: int
) -> None:
    # RFC 6455 §5.4: control frames may be injected in the middle of a fragmented message;
    # each ping gets a pong with its payload (§5.5.3), an unsolicited pong is ignored.
    publish, wire = _messages(64 * KIB, 4 * KIB)
    interleaved = []
    for index, piece in enumerate(wire):
        interleaved += [piece, frame(opcode, f"between {index}".encode())]
    sender, receiver = await _pair(broker, peers)
    await sender.send_chunks([b"".join(interleaved)])
    pongs = []
    while True:
        _fin, got, payload = await sender.read_frame()
        if got == 0xA:
            pongs.append(payload.decode())
            continue
        assert got == 0x2
        assert sender.mqtt.receive_data(payload)[0].packet == Puback(1)
        break
    expected = [f"between {index}" for index in range(len(wire))] if opcode == 0x9 else []
    assert pongs == expected[: len(pongs)]
    await _delivered(receiver, publish)
    if opcode == 0x9:
        while len(pongs) < len(expected):  # pongs for pings after the last fragment
            _fin, got, payload = await sender.read_frame()
            assert got == 0xA
            pongs.append(payload.decode())
        assert pongs == expected


async def test_empty_fragments_are_allowed(broker: Broker, peers: list[BrokerPeer]) -> None:
    publish = publish_of_size(200)
    data = encode(publish)
    wire = [
        frame(0x2, b"", fin=False),
        frame(0x0, data[:100], fin=False),
        frame(0x0, b"", fin=False),
        frame(0x0, data[100:], fin=False),
        frame(0x0, b""),
    ]
    sender, receiver = await _pair(broker, peers)
    await sender.send_chunks([b"".join(wire)])
    assert await sender.next_packet() == Puback(1)
    await _delivered(receiver, publish)


def _cut_points(wire: list[bytes]) -> list[int]:
    """Every offset in frames of up to 300 bytes; around every header and boundary otherwise."""
    total = sum(map(len, wire))
    if total <= 4096:
        return list(range(1, total))
    points: set[int] = set()
    start = 0
    for piece in wire:
        points.update(range(max(1, start - 3), min(total, start + 20)))
        start += len(piece)
    points.update(range(READ_SIZE - 3, READ_SIZE + 4))
    return sorted(point for point in points if 0 < point < total)


@pytest.mark.parametrize(
    ("packet_size", "fragment_size"),
    [(300, 100), (300, 7), (1000, 200), (70_000, 20_000), (70_000, 65_537)],
    ids=["7bit", "tiny", "16bit", "16bit-large", "64bit"],
)
async def test_fragments_split_at_every_offset_across_reads(
    broker: Broker, peers: list[BrokerPeer], packet_size: int, fragment_size: int
) -> None:
    # The same fragmented message (with a ping between its first two fragments), cut in
    # two writes at each offset; the broker reads the first part before the second is sent.
    sender, receiver = await _pair(broker, peers)
    cuts_done = 0
    packet_id = 1
    base = publish_of_size(packet_size)
    pieces = fragments(0x2, encode(base), fragment_size)
    wire = [pieces[0], frame(0x9, b"cut"), *pieces[1:]]
    for cut in _cut_points(wire):
        publish = Publish(base.topic, base.payload, qos=1, packet_id=packet_id)
        pieces = fragments(0x2, encode(publish), fragment_size)
        data = b"".join([pieces[0], frame(0x9, b"cut"), *pieces[1:]])
        first, second = chunks_at(data, [cut])
        before = broker.state.stats.bytes_received
        await sender.send_chunks([first])
        await broker_has_read(broker, before + len(first))
        await sender.send_chunks([second])
        assert await sender.read_frame() == (True, 0xA, b"cut")
        assert await sender.next_packet() == Puback(packet_id)
        await _delivered(receiver, publish)
        packet_id = packet_id % 65535 + 1
        cuts_done += 1
    assert cuts_done == len(_cut_points(wire))


async def test_close_between_fragments_is_answered(broker: Broker, peers: list[BrokerPeer]) -> None:
    # RFC 6455 §5.4/§5.5.1: a close frame may arrive inside a fragmented message; the broker
    # echoes it and the unfinished message is dropped, never delivered.
    publish = publish_of_size(1000)
    pieces = fragments(0x2, encode(publish), 300)
    sender, receiver = await _pair(broker, peers)
    await sender.send_chunks([pieces[0] + frame(0x8, close_body(1000, b"bye")) + pieces[1]])
    closed = await sender.closed()
    assert closed.code == 1000
    assert closed.before == ()
    # The receiver still works, and got nothing of the unfinished message.
    receiver.send_packet(Publish("frag/after", b"next", qos=1, packet_id=9))
    got = [await receiver.next_packet(), await receiver.next_packet()]
    assert Puback(9) in got
    assert Publish("frag/after", b"next", qos=1, packet_id=1) in got


@pytest.mark.parametrize(
    ("wire", "code"),
    [
        ([frame(0x0, b"x")], 1002),  # continuation without a first frame
        ([frame(0x0, b"x", fin=False)], 1002),
        ([frame(0x2, b"\x30", fin=False), frame(0x2, b"\x00")], 1002),  # new message inside one
        ([frame(0x2, b"\x30", fin=False), frame(0x1, b"\x00")], 1002),
        ([frame(0x2, b"\xc0"), frame(0x0, b"\x00")], 1002),  # continuation after the final frame
        ([frame(0x1, b"\xc0", fin=False), frame(0x0, b"\x00")], 1003),  # MQTT needs binary [MQTT-6.0.0-1]
        ([frame(0x2, b"\xc0", fin=False), frame(0x9, b"p", fin=False)], 1002),  # fragmented ping
    ],
    ids=[
        "cont-alone",
        "cont-alone-nofin",
        "binary-in-binary",
        "text-in-binary",
        "cont-after-fin",
        "text",
        "frag-ping",
    ],
)
async def test_fragmentation_violations(
    broker: Broker, peers: list[BrokerPeer], wire: list[bytes], code: int
) -> None:
    peer = await BrokerPeer.open(broker.ws_port)
    peers.append(peer)
    peer.send_packet(Connect(client_id="violator"))
    assert await peer.next_packet() == Connack()
    await peer.send_chunks([b"".join(wire)])
    closed = await peer.closed()
    assert closed.code == code
