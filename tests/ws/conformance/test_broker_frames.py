"""RFC 6455 framing rules against the embedded broker over real sockets.

Modelled on the Autobahn test suite's sections: 1 (framing: payload lengths in every
length encoding), 2 (pings and pongs), 3 (reserved bits), 4 (opcodes), 7 (close
handling, close codes, UTF-8 in close reasons) and 9 (limits). Every violation must be
answered with the close code RFC 6455 §7.4.1 gives, after the frames sent before it
were acted on, and the broker then closes TCP (§7.1.1).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.mqtt.codec import decode, encode
from explorer.mqtt.packets import Connack, Connect, Pingreq, Pingresp, Puback
from explorer.ws.rules import SENDABLE_CLOSE_CODES
from tests.ws.conformance.cases import BEFORE_PUBLISH, CLIENT_CASES, Case, before
from tests.ws.conformance.peer import BrokerPeer
from tests.ws.conformance.wire import close_body, frame, publish_of_size

PUBLISH = encode(publish_of_size(64, packet_id=5))


async def _session(broker: Broker, peers: list[BrokerPeer]) -> BrokerPeer:
    peer = await BrokerPeer.open(broker.ws_port)
    peers.append(peer)
    peer.send_packet(Connect(client_id=f"peer{len(peers)}"))
    assert await peer.next_packet() == Connack()
    return peer


async def _answered_by_close(peer: BrokerPeer, code: int) -> None:
    closed = await peer.closed()
    assert closed.code == code, closed


# -- 1. framing ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [12, 125, 126, 127, 128, 65535, 65536, 65537, 1 << 20])
async def test_payload_lengths_in_every_encoding(broker: Broker, peers: list[BrokerPeer], size: int) -> None:
    # 7-bit lengths up to 125, 16-bit up to 65535, 64-bit above (RFC 6455 §5.2).
    peer = await _session(broker, peers)
    peer.send(frame(0x2, encode(publish_of_size(size, packet_id=3))))
    assert await peer.next_packet() == Puback(3)


async def test_many_packets_in_one_frame_and_one_packet_over_many_frames(
    broker: Broker, peers: list[BrokerPeer]
) -> None:
    # MQTT is a byte stream over WebSocket (MQTT 5.0 §6.0): frames and packets need not line up.
    peer = await _session(broker, peers)
    pings = encode(Pingreq()) * 3
    peer.send(frame(0x2, pings + PUBLISH[:10]) + frame(0x2, PUBLISH[10:]))
    assert [await peer.next_packet() for _ in range(4)] == [Pingresp(), Pingresp(), Pingresp(), Puback(5)]


@pytest.mark.parametrize(
    "data",
    [
        frame(0x2, encode(Pingreq()), length_bytes=2),  # 16-bit length for 2 bytes
        frame(0x2, encode(Pingreq()), length_bytes=8),  # 64-bit length for 2 bytes
        frame(0x2, b"\xc0\x00" * 100, length_bytes=8),  # 64-bit length below 65536
        bytes((0x82, 0xFF)) + (1 << 63).to_bytes(8, "big") + b"mask",  # 64-bit length with its top bit set
        frame(0x2, encode(Pingreq()), mask=False),  # unmasked client frame (§5.1)
    ],
    ids=["16bit-for-2", "64bit-for-2", "64bit-for-200", "64bit-msb", "unmasked"],
)
async def test_framing_violations_are_1002(broker: Broker, peers: list[BrokerPeer], data: bytes) -> None:
    peer = await _session(broker, peers)
    peer.send(data)
    await _answered_by_close(peer, 1002)


# -- 2. pings and pongs ----------------------------------------------------------------------


@pytest.mark.parametrize("payload", [b"", b"hello", bytes(range(125)), bytes(range(256))[-125:]])
async def test_ping_is_answered_with_a_pong_carrying_its_payload(
    broker: Broker, peers: list[BrokerPeer], payload: bytes
) -> None:
    peer = await _session(broker, peers)
    peer.send(frame(0x9, payload))
    assert await peer.read_frame() == (True, 0xA, payload)  # RFC 6455 §5.5.3


async def test_ping_cut_at_every_byte(broker: Broker, peers: list[BrokerPeer]) -> None:
    peer = await _session(broker, peers)
    data = frame(0x9, b"slowly")
    await peer.send_chunks([data[index : index + 1] for index in range(len(data))])
    assert await peer.read_frame() == (True, 0xA, b"slowly")


async def test_ten_pings_get_ten_pongs_in_order(broker: Broker, peers: list[BrokerPeer]) -> None:
    peer = await _session(broker, peers)
    peer.send(b"".join(frame(0x9, f"ping {index}".encode()) for index in range(10)))
    assert [await peer.read_frame() for _ in range(10)] == [
        (True, 0xA, f"ping {index}".encode()) for index in range(10)
    ]


async def test_unsolicited_pong_is_ignored(broker: Broker, peers: list[BrokerPeer]) -> None:
    peer = await _session(broker, peers)
    peer.send(frame(0xA, b"unasked") + frame(0x2, PUBLISH))
    assert await peer.next_packet() == Puback(5)  # no frame before it: the pong got no answer


@pytest.mark.parametrize(
    "data",
    [frame(0x9, b"x" * 126), frame(0x9, b"x" * 65536), frame(0x9, b"p", fin=False), frame(0xA, b"x" * 126)],
    ids=["ping-126", "ping-64k", "ping-fragmented", "pong-126"],
)
async def test_control_frame_limits_are_1002(broker: Broker, peers: list[BrokerPeer], data: bytes) -> None:
    # RFC 6455 §5.5: at most 125 bytes, never fragmented.
    peer = await _session(broker, peers)
    peer.send(data)
    await _answered_by_close(peer, 1002)


# -- 3. reserved bits, 4. opcodes ------------------------------------------------------------

RSV = [0x40, 0x20, 0x10, 0x60, 0x50, 0x30, 0x70]


@pytest.mark.parametrize("rsv", RSV, ids=[f"rsv{value >> 4}" for value in RSV])
@pytest.mark.parametrize("opcode", [0x2, 0x9, 0x8, 0x0], ids=["binary", "ping", "close", "cont"])
async def test_reserved_bits_are_1002_after_the_frames_before_them(
    broker: Broker, peers: list[BrokerPeer], rsv: int, opcode: int
) -> None:
    # RFC 6455 §5.2: no extension was negotiated, so RSV1-3 must be 0. The PUBLISH sent
    # before the bad frame is acknowledged; the ping sent after it gets no pong.
    peer = await _session(broker, peers)
    first = frame(0x2, PUBLISH[:4], fin=False) if opcode == 0x0 else frame(0x2, PUBLISH)
    bad = frame(opcode, PUBLISH[4:] if opcode == 0x0 else b"", rsv=rsv)
    peer.send(first + bad + frame(0x9, b"after"))
    if opcode != 0x0:
        assert await peer.next_packet() == Puback(5)
    await _answered_by_close(peer, 1002)


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
async def test_reserved_opcodes_are_1002(broker: Broker, peers: list[BrokerPeer], opcode: int) -> None:
    peer = await _session(broker, peers)
    peer.send(frame(0x2, PUBLISH) + frame(opcode, b"") + frame(0x9, b"after"))
    assert await peer.next_packet() == Puback(5)
    await _answered_by_close(peer, 1002)


async def test_text_frame_is_1003(broker: Broker, peers: list[BrokerPeer]) -> None:
    # RFC 6455 §7.4.1 1003 (data it cannot accept): MQTT needs binary frames [MQTT-6.0.0-1].
    peer = await _session(broker, peers)
    peer.send(frame(0x1, b"\xc0\x00"))
    await _answered_by_close(peer, 1003)


# -- 7. close handling -----------------------------------------------------------------------

VALID_CODES = [*sorted(SENDABLE_CLOSE_CODES), 3000, 3999, 4000, 4999]
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


@pytest.mark.parametrize("code", VALID_CODES)
async def test_close_with_a_valid_code_is_echoed(broker: Broker, peers: list[BrokerPeer], code: int) -> None:
    # RFC 6455 §5.5.1: answer a close with a close, typically echoing the code.
    peer = await _session(broker, peers)
    peer.send(frame(0x8, close_body(code, b"done")))
    await _answered_by_close(peer, code)


@pytest.mark.parametrize("code", INVALID_CODES)
async def test_close_with_an_invalid_code_is_1002(broker: Broker, peers: list[BrokerPeer], code: int) -> None:
    peer = await _session(broker, peers)
    peer.send(frame(0x8, close_body(code)))
    await _answered_by_close(peer, 1002)


async def test_empty_close_is_answered_with_1000(broker: Broker, peers: list[BrokerPeer]) -> None:
    peer = await _session(broker, peers)
    peer.send(frame(0x8, b""))
    await _answered_by_close(peer, 1000)


async def test_close_with_one_byte_is_1002(broker: Broker, peers: list[BrokerPeer]) -> None:
    peer = await _session(broker, peers)
    peer.send(frame(0x8, b"\x03"))
    await _answered_by_close(peer, 1002)


async def test_nothing_after_a_close_is_acted_on(broker: Broker, peers: list[BrokerPeer]) -> None:
    # RFC 6455 §5.5.1: after sending a close an endpoint sends no more data; a server
    # that received one reads no further.
    peer = await _session(broker, peers)
    peer.send(frame(0x8, close_body(1000)) + frame(0x2, PUBLISH) + frame(0x9, b"after"))
    closed = await peer.closed()
    assert (closed.code, closed.before) == (1000, ())


@pytest.mark.parametrize(
    "reason",
    ["", "bye", "κόσμε", "\U0001f600 smile", "\u00e9" * 61, "x" * 123],
    ids=["empty", "ascii", "greek", "astral", "2byte-max", "123"],
)
async def test_close_reasons_in_valid_utf8_are_accepted(
    broker: Broker, peers: list[BrokerPeer], reason: str
) -> None:
    peer = await _session(broker, peers)
    peer.send(frame(0x8, close_body(1000, reason.encode())))
    await _answered_by_close(peer, 1000)


INVALID_UTF8 = [
    b"\xff",  # never valid
    b"\x80",  # lone continuation byte
    b"\xc0\xaf",  # overlong "/"
    b"\xe0\x80\xaf",  # overlong, 3 bytes
    b"\xed\xa0\x80",  # UTF-16 surrogate half
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xe2\x82",  # truncated at the end
    b"ok \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",  # Autobahn 6.4's shape
]


@pytest.mark.parametrize("reason", INVALID_UTF8, ids=[f"seq{index}" for index in range(len(INVALID_UTF8))])
async def test_close_reason_not_in_utf8_is_1007(
    broker: Broker, peers: list[BrokerPeer], reason: bytes
) -> None:
    # RFC 6455 §5.5.1 (the reason is UTF-8) and §7.4.1 (1007: data not consistent with its type).
    peer = await _session(broker, peers)
    peer.send(frame(0x8, close_body(1000, reason)))
    await _answered_by_close(peer, 1007)


async def test_close_above_125_bytes_is_1002(broker: Broker, peers: list[BrokerPeer]) -> None:
    peer = await _session(broker, peers)
    peer.send(frame(0x8, close_body(1000, b"x" * 124)))
    await _answered_by_close(peer, 1002)


async def test_close_before_connect_is_echoed(broker: Broker, peers: list[BrokerPeer]) -> None:
    peer = await BrokerPeer.open(broker.ws_port)
    peers.append(peer)
    peer.send(frame(0x8, close_body(1001, b"leaving")))
    await _answered_by_close(peer, 1001)


# -- 9. limits -------------------------------------------------------------------------------


@pytest.fixture
async def small_broker() -> AsyncIterator[Broker]:
    """A broker whose largest packet is 1 KiB (so its largest frame is 1040 bytes)."""
    config = BrokerConfig.ephemeral(sys_interval=0, tcp_port=None, max_packet_size=1024)
    async with Broker(config) as running:
        yield running


async def test_frame_above_the_limit_is_1009_before_its_payload_arrives(
    small_broker: Broker, peers: list[BrokerPeer]
) -> None:
    # Only the header of a 100 MiB frame is sent: the broker refuses it from the length,
    # without buffering (RFC 6455 §7.4.1 1009: a message too big to process).
    peer = await _session(small_broker, peers)
    peer.send(bytes((0x82, 0xFF)) + (100 << 20).to_bytes(8, "big") + b"mask")
    await _answered_by_close(peer, 1009)


async def test_fragments_under_the_limit_are_accepted(small_broker: Broker, peers: list[BrokerPeer]) -> None:
    # The limit is per frame: a 1 KiB packet in 8 fragments of 128 bytes passes.
    peer = await _session(small_broker, peers)
    data = encode(publish_of_size(1024, packet_id=4))
    pieces = [data[start : start + 128] for start in range(0, 1024, 128)]
    peer.send(
        b"".join(
            frame(0x2 if index == 0 else 0x0, piece, fin=index == len(pieces) - 1)
            for index, piece in enumerate(pieces)
        )
    )
    assert await peer.next_packet() == Puback(4)


# -- the table both frame readers run (cases.py), over a real socket ------------------------


@pytest.mark.parametrize("case", CLIENT_CASES, ids=lambda case: case.name)
async def test_every_case_of_the_table_closes_with_its_code_after_the_frame_before_it(
    small_broker: Broker, peers: list[BrokerPeer], case: Case
) -> None:
    peer = await _session(small_broker, peers)
    peer.send(before(mask=True) + case.build(mask=True))
    closed = await peer.closed()
    assert closed.code == case.violation.code, closed
    assert closed.reason.startswith(case.violation.template.split("{")[0][:40])
    acked = [decode(payload) for _fin, opcode, payload in closed.before if opcode == 0x2]
    assert Puback(BEFORE_PUBLISH.packet_id) in acked  # the frame sent first was acted on


async def test_publish_and_close_in_one_read_get_the_puback_then_the_echo(
    broker: Broker, peers: list[BrokerPeer]
) -> None:
    # The PUBLISH came first, so its PUBACK goes out before the close frame, after which
    # nothing may be sent (RFC 6455 §5.5.1).
    peer = await _session(broker, peers)
    peer.send(frame(0x2, PUBLISH) + frame(0x8, close_body(1001, b"bye")))
    closed = await peer.closed()
    assert closed.code == 1001
    assert [decode(payload) for _fin, opcode, payload in closed.before if opcode == 0x2] == [Puback(5)]
