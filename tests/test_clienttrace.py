"""ConnectionTrace: the session takes the server's packets from the trace decoder.

Every test runs two sessions side by side on the same server bytes: one reads them
itself (``Session.receive_data``, the reference), the other is fed by
``ConnectionTrace.deliver`` with the packets the trace decoder parsed. After every
delivery both must have reported the same events and written the same bytes (acks,
DISCONNECT with its reason code). Native MQTT is driven without sockets with chosen
chunkings (what ``TcpTransport.receive`` returns is exactly what it read); WebSocket
runs through the real ``WebSocketTransport`` against a scripted server on loopback,
so the frames the transport accepts and the ones the decoder sees are the real ones.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from websockets.utils import accept_key

from explorer.client.net import TcpTransport
from explorer.client.options import ConnectionOptions
from explorer.client.trace import ConnectionTrace
from explorer.client.websocket import WebSocketTransport
from explorer.model.events import ErrorReported, PacketEvent, TraceEvent
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import (
    ConnackReasonCode,
    ConnectReturnCode,
    DisconnectReasonCode,
    ProtocolVersion,
    SubackReasonCode,
)
from explorer.mqtt.packets import (
    Connack,
    Disconnect,
    Packet,
    Pingresp,
    Properties,
    Publish,
    Pubrel,
    Suback,
)
from explorer.session import MessageArrived, ProtocolViolation, Session, SessionEvent

V31, V311, V5 = ProtocolVersion.V31, ProtocolVersion.V311, ProtocolVersion.V5
VERSIONS = [V311, V5]


@dataclass
class Stream:
    """Server packets (or raw bytes) and the client options they are meant for."""

    pieces: list[bytes]
    options: dict[str, object] = field(default_factory=dict)


def _packets(version: ProtocolVersion, *packets: Packet | bytes) -> list[bytes]:
    return [p if isinstance(p, bytes) else encode(p, version) for p in packets]


def _flow(version: ProtocolVersion) -> Stream:
    """QoS 0/1/2, retained, a QoS 2 resent before PUBREL, PINGRESP, an unexpected SUBACK."""
    v5 = version == V5
    props = (
        Properties(
            user_properties=(("k", "v"), ("k", "w")),
            content_type="text/plain",
            message_expiry_interval=30,
            payload_format_indicator=1,
            subscription_identifiers=(7,),
        )
        if v5
        else Properties()
    )
    return Stream(
        _packets(
            version,
            Connack(),
            Publish("a/b", b"zero"),
            Publish("a/b", b"one", qos=1, packet_id=1),
            Publish("a/c", b"two", qos=2, packet_id=2),
            Publish("a/c", b"two", qos=2, packet_id=2, dup=True),
            Pubrel(2),
            Publish("r", b"kept", retain=True),
            Publish("p", b"x" * 300, qos=1, packet_id=3, properties=props),  # two-byte length
            Pingresp(),
            Suback(9, (SubackReasonCode.GRANTED_QOS_1,)),
            Publish("a/b", b""),
        )
    )


def _aliases(version: ProtocolVersion) -> Stream:
    """Topic aliases set, used, replaced; then an unknown alias (PROTOCOL_ERROR)."""
    alias = Properties(topic_alias=1)
    return Stream(
        _packets(
            version,
            Connack(),
            Publish("t/1", b"a", properties=alias),
            Publish("", b"b", properties=alias),
            Publish("t/2", b"c", qos=1, packet_id=1, properties=alias),
            Publish("", b"d", qos=2, packet_id=2, properties=alias),
            Publish("", b"e", properties=Properties(topic_alias=5)),
            Publish("after", b"not dispatched"),
        ),
        {"topic_alias_maximum": 10},
    )


def _refused(version: ProtocolVersion) -> Stream:
    code = ConnackReasonCode.NOT_AUTHORIZED if version == V5 else ConnectReturnCode.NOT_AUTHORIZED
    return Stream(_packets(version, Connack(reason_code=code), Publish("after", b"x")))


def _server_disconnect(version: ProtocolVersion) -> Stream:
    """A v5 DISCONNECT ends the session; in 3.x a server may not send it (protocol error)."""
    props = Properties(reason_string="going away") if version == V5 else Properties()
    disconnect = (
        Disconnect(DisconnectReasonCode.SERVER_SHUTTING_DOWN, props) if version == V5 else Disconnect()
    )
    return Stream(_packets(version, Connack(), Publish("a", b"1"), disconnect, Publish("after", b"x")))


def _malformed_body(version: ProtocolVersion) -> Stream:
    """A PUBLISH with QoS 3 (a body error: its length is known), then a valid one."""
    bad = bytes((0x36, 5, 0, 1)) + b"t" + b"\x00\x01"
    return Stream(_packets(version, Connack(), Publish("a", b"1"), bad, Publish("after", b"x")))


def _broken_header(version: ProtocolVersion) -> Stream:
    """A reserved packet type (0): no way to find the next packet."""
    return Stream(_packets(version, Connack(), Publish("a", b"1"), b"\x00\x02\x00\x00", Publish("b", b"2")))


def _oversize(version: ProtocolVersion) -> Stream:
    """A packet above the Maximum Packet Size the client announced."""
    return Stream(
        _packets(version, Connack(), Publish("a", b"1"), Publish("big", b"x" * 200), Publish("b", b"2")),
        {"maximum_packet_size": 64},
    )


def _oversize_firehose(version: ProtocolVersion) -> Stream:
    """Under the limit of 40 bytes QoS 0 PUBLISHes decode fast; one of 41 does not."""
    return Stream(
        _packets(version, Connack(), Publish("a", b"y" * 30), Publish("a", b"z" * 38), Publish("a", b"1")),
        {"maximum_packet_size": 40},
    )


def _before_connack(version: ProtocolVersion) -> Stream:
    return Stream(_packets(version, Publish("early", b"x"), Connack()))


STREAMS: dict[str, Callable[[ProtocolVersion], Stream]] = {
    "flow": _flow,
    "refused": _refused,
    "server-disconnect": _server_disconnect,
    "malformed-body": _malformed_body,
    "broken-header": _broken_header,
    "oversize": _oversize,
    "oversize-fast": _oversize_firehose,
    "before-connack": _before_connack,
}


def _options(version: ProtocolVersion, url: str, extra: dict[str, object]) -> ConnectionOptions:
    return ConnectionOptions(url=url, client_id="twin", mqtt_version=version, **extra)  # type: ignore[arg-type]


class Twins:
    """The reference session and the session fed from the trace, checked in step."""

    def __init__(self, options: ConnectionOptions) -> None:
        self.ref = Session(options, clock=lambda: 0.0)
        self.new = Session(options, clock=lambda: 0.0)
        self.trace_events: list[TraceEvent] = []
        self.trace = ConnectionTrace(
            0, options, next_seq=itertools.count().__next__, emit=self.trace_events.append, clock=lambda: 0.0
        )
        self.events: list[SessionEvent] = []
        self.written = b""

    def connect(self) -> bytes:
        self.ref.send_connect()
        self.new.send_connect()
        connect = self.new.data_to_send()
        assert self.ref.data_to_send() == connect
        return connect

    def deliver(self, data: bytes) -> None:
        """What the client does with one ``receive()``, on both paths; then compare."""
        self.ref.receive_data(data)
        self.trace.deliver(data, self.new)
        self.check()

    def check(self) -> None:
        events = self.new.events_received()
        assert events == self.ref.events_received()
        written = self.new.data_to_send()
        assert written == self.ref.data_to_send()
        assert self.new.state is self.ref.state
        self.events += events
        self.written += written

    def trace_packets(self) -> list[Packet]:
        return [e.packet for e in self.trace_events if isinstance(e, PacketEvent) and e.direction == "s2c"]


def _chunkings(data: bytes, pieces: list[bytes]) -> dict[str, list[bytes]]:
    return {
        "whole": [data],
        "per-packet": pieces,
        "bytewise": [data[i : i + 1] for i in range(len(data))],
        "sevens": [data[i : i + 7] for i in range(0, len(data), 7)],
    }


def _expected_outcome(name: str, twins: Twins) -> None:
    """Each stream ends as it must (the comparison alone would accept two wrong paths)."""
    violations = [e for e in twins.events if isinstance(e, ProtocolViolation)]
    if name in ("malformed-body", "broken-header", "oversize", "oversize-fast"):
        assert [v.message.split(":")[0] for v in violations] == ["the server sent a malformed packet"]
        if twins.new.version == V5:
            assert violations[0].reason_code == DisconnectReasonCode.MALFORMED_PACKET
            assert twins.written.endswith(encode(Disconnect(DisconnectReasonCode.MALFORMED_PACKET), V5))
    assert not twins.trace.reads_bytes  # every packet came from the decoder
    arrived = [e.publish.topic for e in twins.events if isinstance(e, MessageArrived)]
    assert "after" not in arrived
    assert "b" not in arrived


@pytest.mark.parametrize("chunking", ["whole", "per-packet", "bytewise", "sevens"])
@pytest.mark.parametrize("name", list(STREAMS))
@pytest.mark.parametrize("version", [*VERSIONS, V31])
def test_native_mqtt_streams_give_the_same_session_events_on_both_paths(
    version: ProtocolVersion, name: str, chunking: str
) -> None:
    stream = STREAMS[name](version)
    twins = Twins(_options(version, "mqtt://127.0.0.1:1883", stream.options))
    twins.trace.tap("c2s", twins.connect())
    data = b"".join(stream.pieces)
    for chunk in _chunkings(data, stream.pieces)[chunking]:
        twins.trace.tap("s2c", chunk)
        twins.deliver(chunk)
    _expected_outcome(name, twins)


def test_topic_aliases_are_resolved_without_touching_the_traced_packet() -> None:
    stream = _aliases(V5)
    twins = Twins(_options(V5, "mqtt://127.0.0.1:1883", stream.options))
    twins.trace.tap("c2s", twins.connect())
    for piece in stream.pieces:
        twins.trace.tap("s2c", piece)
        twins.deliver(piece)
    arrived = [e.publish for e in twins.events if isinstance(e, MessageArrived)]
    assert [(p.topic, p.payload) for p in arrived] == [
        ("t/1", b"a"),
        ("t/1", b"b"),
        ("t/2", b"c"),
        ("t/2", b"d"),
    ]
    traced = twins.trace_packets()
    assert [p.topic for p in traced if isinstance(p, Publish)] == ["t/1", "", "t/2", "", "", "after"]
    # A message that named its topic is the traced object itself; an aliased one a copy.
    assert arrived[0] is traced[1]
    assert arrived[2] is traced[3]
    assert arrived[1] is not traced[2]
    assert arrived[1].properties.topic_alias == 1
    assert [v.reason_code for v in twins.events if isinstance(v, ProtocolViolation)] == [
        DisconnectReasonCode.PROTOCOL_ERROR
    ]


def test_published_messages_are_the_packets_of_the_trace() -> None:
    stream = _flow(V5)
    twins = Twins(_options(V5, "mqtt://127.0.0.1:1883", stream.options))
    twins.trace.tap("c2s", twins.connect())
    data = b"".join(stream.pieces)
    twins.trace.tap("s2c", data)
    twins.deliver(data)
    traced = [id(p) for p in twins.trace_packets()]
    arrived = [e.publish for e in twins.events if isinstance(e, MessageArrived)]
    assert len(arrived) == 6
    assert all(id(p) in traced for p in arrived)


# ----------------------------------------------------------------- WebSocket on loopback


def _frame(payload: bytes, opcode: int = 0x2, *, fin: bool = True, mask: bytes | None = None) -> bytes:
    """A server frame (RFC 6455 §5.2); servers do not mask, except to test that rule."""
    head = bytes((0x80 * fin | opcode,))
    size = len(payload)
    bit = 0x80 if mask is not None else 0
    if size < 126:
        head += bytes((bit | size,))
    else:
        head += bytes((bit | 126,)) + size.to_bytes(2, "big")
    if mask is not None:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def _framed(layout: str, pieces: list[bytes]) -> list[bytes]:
    """The server's writes: frames laid out one way, each write flushed on its own."""
    if layout == "per-packet":
        return [_frame(p) for p in pieces]
    if layout == "coalesced":
        return [_frame(b"".join(pieces))]
    if layout == "split":
        out = []
        for p in pieces:
            third = max(1, len(p) // 3)
            parts = [p[:third], p[third : 2 * third], p[2 * third :]]
            out.append(_frame(parts[0], fin=False) + _frame(parts[1], 0x0, fin=False) + _frame(parts[2], 0x0))
        return out
    if layout == "pings":
        # Control frames between data frames and inside a fragmented message (§5.4).
        out = []
        for p in pieces:
            half = len(p) // 2
            out.append(
                _frame(b"hi", 0x9) + _frame(p[:half], fin=False) + _frame(b"", 0x9) + _frame(p[half:], 0x0)
            )
        return out
    raise AssertionError(layout)


async def _read_frame(reader: asyncio.StreamReader) -> int:
    """Read one client frame; return its opcode (-1 at the end of the stream)."""
    try:
        head = await reader.readexactly(2)
        size = head[1] & 0x7F
        if size == 126:
            size = int.from_bytes(await reader.readexactly(2), "big")
        elif size == 127:
            size = int.from_bytes(await reader.readexactly(8), "big")
        await reader.readexactly(size + (4 if head[1] & 0x80 else 0))
    except asyncio.IncompleteReadError:
        return -1
    return head[0] & 0x0F


@pytest.fixture
async def ws_server() -> AsyncIterator[tuple[int, asyncio.Queue[list[bytes]]]]:
    """Answers the upgrade, reads the client's CONNECT frame, writes its script (each
    write flushed) and a close frame, then closes once the client's close frame came."""
    scripts: asyncio.Queue[list[bytes]] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writes = await scripts.get()
        head = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Protocol: mqtt\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n\r\n"
        )
        await _read_frame(reader)  # the CONNECT: the session is waiting for CONNACK
        for data in [*writes, _frame((1000).to_bytes(2, "big"), 0x8)]:
            writer.write(data)
            await writer.drain()
        while await _read_frame(reader) not in (0x8, -1):
            pass  # until the client's close frame
        writer.close()  # RFC 6455 §7.1.1: the server closes TCP first

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], scripts


async def _run_websocket(
    port: int,
    scripts: asyncio.Queue[list[bytes]],
    stream: Stream,
    writes: list[bytes],
    version: ProtocolVersion,
) -> Twins:
    await scripts.put(writes)
    options = _options(version, f"ws://127.0.0.1:{port}/mqtt", stream.options)
    twins = Twins(options)
    transport = await WebSocketTransport.open(options, tap=twins.trace.tap)
    try:
        transport.send(twins.connect())
        while data := await transport.receive():
            twins.deliver(data)
    finally:
        await transport.close()
    twins.trace.end()
    return twins


@pytest.mark.parametrize("layout", ["per-packet", "coalesced", "split", "pings"])
@pytest.mark.parametrize("name", list(STREAMS))
@pytest.mark.parametrize("version", VERSIONS)
async def test_websocket_streams_give_the_same_session_events_on_both_paths(
    ws_server: tuple[int, asyncio.Queue[list[bytes]]], version: ProtocolVersion, name: str, layout: str
) -> None:
    port, scripts = ws_server
    stream = STREAMS[name](version)
    twins = await _run_websocket(port, scripts, stream, _framed(layout, stream.pieces), version)
    _expected_outcome(name, twins)
    assert twins.events  # the stream was read


async def test_websocket_topic_aliases_keep_the_wire_topic_in_the_trace(
    ws_server: tuple[int, asyncio.Queue[list[bytes]]],
) -> None:
    port, scripts = ws_server
    stream = _aliases(V5)
    twins = await _run_websocket(port, scripts, stream, _framed("coalesced", stream.pieces), V5)
    arrived = [e.publish.topic for e in twins.events if isinstance(e, MessageArrived)]
    assert arrived == ["t/1", "t/1", "t/2", "t/2"]
    assert [p.topic for p in twins.trace_packets() if isinstance(p, Publish)][:4] == ["t/1", "", "t/2", ""]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda p: _frame(p, 0x1), id="text-frame"),
        pytest.param(lambda p: _frame(p, mask=b"\x01\x02\x03\x04"), id="masked-frame"),
        pytest.param(lambda p: bytes((0xA2, len(p))) + p, id="reserved-bit"),
        pytest.param(lambda p: bytes((0x80, len(p))) + p, id="stray-continuation"),
    ],
)
async def test_frames_the_transport_refuses_give_the_same_session_events_on_both_paths(
    ws_server: tuple[int, asyncio.Queue[list[bytes]]], bad: Callable[[bytes], bytes]
) -> None:
    """Where the decoder and the transport disagree about a frame, the session reads
    what the transport delivered, exactly as it would read the bytes itself."""
    port, scripts = ws_server
    pieces = _packets(V5, Connack(), Publish("a", b"1"), Publish("bad", b"2"), Publish("b", b"3"))
    writes = [_frame(pieces[0]) + _frame(pieces[1]) + bad(pieces[2]) + _frame(pieces[3])]
    twins = await _run_websocket(port, scripts, Stream(pieces), writes, V5)
    arrived = [e.publish.topic for e in twins.events if isinstance(e, MessageArrived)]
    assert arrived[:1] == ["a"]
    assert "bad" not in arrived


async def test_tcp_transport_feeds_the_session_from_the_trace() -> None:
    """mqtt://: the decoder reads the TCP bytes themselves."""
    stream = _flow(V311)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        for piece in stream.pieces:
            writer.write(piece)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        options = _options(V311, f"mqtt://127.0.0.1:{port}", {})
        twins = Twins(options)
        transport = await TcpTransport.open(options, tap=twins.trace.tap)
        transport.send(twins.connect())
        while data := await transport.receive():
            twins.deliver(data)
        await transport.close()
    arrived = [e.publish for e in twins.events if isinstance(e, MessageArrived)]
    assert [p.payload for p in arrived] == [b"zero", b"one", b"two", b"kept", b"x" * 300, b""]
    traced = [id(p) for p in twins.trace_packets()]
    assert all(id(p) in traced for p in arrived)


def test_bytes_the_decoder_cannot_frame_are_read_by_the_session_itself() -> None:
    """A frame the decoder gives up on (a 64-bit length with its top bit set) stops its
    MQTT stream; should the transport still deliver bytes, the session reads them."""
    pieces = _packets(V5, Connack(), Publish("a", b"1"), Publish("b", b"2"))
    twins = Twins(_options(V5, "ws://127.0.0.1:1/mqtt", {}))
    twins.trace.tap("c2s", _upgrade_request())
    twins.trace.tap("s2c", _UPGRADE_RESPONSE)
    twins.trace.tap("c2s", _frame(twins.connect(), mask=b"\x00\x00\x00\x00"))
    twins.trace.tap("s2c", _frame(pieces[0]) + _frame(pieces[1]) + bytes((0x82, 127)) + bytes(8 * [0xFF]))
    twins.deliver(pieces[0] + pieces[1] + pieces[2])
    assert twins.trace.reads_bytes
    arrived = [e.publish.topic for e in twins.events if isinstance(e, MessageArrived)]
    assert arrived == ["a", "b"]
    assert any(isinstance(e, ErrorReported) and e.layer == "websocket" for e in twins.trace_events)


_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
_UPGRADE_RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Accept: " + accept_key(_KEY).encode() + b"\r\n\r\n"
)


def _upgrade_request() -> bytes:
    return (
        "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {_KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
    ).encode()
