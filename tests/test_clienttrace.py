"""What the live client delivers from the one parse of the server's bytes.

``MqttClient`` reads each byte the server sends once, with the connection's decoder
(``explorer.client.trace``): the session acts on the decoder's packets, the WebSocket
transport on its frames. Here a server on loopback plays a script of server packets
to a real client, over TCP (``mqtt://``) and WebSocket (``ws://``), in several layouts:
one write per packet, all at once, byte by byte, fragmented frames, pings between and
inside fragmented messages. Every case checks what the user of the client sees: the
messages and their order, the errors, why the connection ended, and what the client
answered (acknowledgements, DISCONNECT with its reason code, pongs, close frames).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from explorer.broker.wsframes import FrameParser, WebSocketViolation, encode_frame
from explorer.client.driver import BrokerRefused, MqttClient
from explorer.client.options import ConnectionOptions
from explorer.errors import ConnectionFailed
from explorer.model.events import ErrorReported, MessageReceived, PacketEvent, StateChanged, TraceEvent
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
    Connect,
    Disconnect,
    Packet,
    Pingresp,
    Properties,
    Publish,
    Pubrel,
    Suback,
)
from explorer.mqtt.reader import PacketReader

V31, V311, V5 = ProtocolVersion.V31, ProtocolVersion.V311, ProtocolVersion.V5
TIMEOUT = 10.0
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


# ----------------------------------------------------------------- the scripts


@dataclass
class Stream:
    """Server packets (or raw bytes) and the client options they are meant for."""

    pieces: list[bytes]
    options: dict[str, object] = field(default_factory=dict)


def _packets(version: ProtocolVersion, *packets: Packet | bytes) -> list[bytes]:
    return [p if isinstance(p, bytes) else encode(p, version) for p in packets]


def _flow(version: ProtocolVersion) -> Stream:
    """QoS 0/1/2, retained, a QoS 2 resent before PUBREL, PINGRESP, an unexpected SUBACK."""
    props = (
        Properties(
            user_properties=(("k", "v"), ("k", "w")),
            content_type="text/plain",
            message_expiry_interval=30,
            payload_format_indicator=1,
            subscription_identifiers=(7,),
        )
        if version == V5
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
        _packets(version, Connack(), Publish("a", b"y" * 30), Publish("a", b"z" * 38), Publish("b", b"1")),
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


# ----------------------------------------------------------------- the server


def _frame(payload: bytes, opcode: int = 0x2, *, fin: bool = True) -> bytes:
    """A server frame (RFC 6455 §5.2): never masked."""
    return encode_frame(opcode, payload, fin=fin)


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


def _written(chunking: str, pieces: list[bytes]) -> list[bytes]:
    """Native MQTT: the server's writes."""
    data = b"".join(pieces)
    if chunking == "whole":
        return [data]
    if chunking == "per-packet":
        return pieces
    if chunking == "bytewise":
        return [data[i : i + 1] for i in range(len(data))]
    if chunking == "sevens":
        return [data[i : i + 7] for i in range(0, len(data), 7)]
    raise AssertionError(chunking)


@dataclass
class ClientSide:
    """What the client sent the server after its CONNECT."""

    packets: list[Packet] = field(default_factory=list)
    frames: list[tuple[int, bytes]] = field(default_factory=list)  # WebSocket: (opcode, payload)
    masked: list[bool] = field(default_factory=list)  # WebSocket: each frame's mask bit
    violation: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class ScriptServer:
    """Answers the upgrade (``ws``), waits for the CONNECT, writes its script (each write
    flushed), then ends the connection (a close frame, or TCP's end of stream) and keeps
    reading until the client is gone."""

    def __init__(self, websocket: bool, version: ProtocolVersion, writes: list[bytes]) -> None:
        self.websocket = websocket
        self.version = version
        self.writes = writes
        self.client = ClientSide()
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.client.done.set()
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.websocket:
            head = await reader.readuntil(b"\r\n\r\n")
            key = next(
                line.split(b":", 1)[1].strip()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
        frames = FrameParser(1 << 20)
        mqtt = PacketReader(self.version)
        connected = False
        ended = False
        while True:
            data = await reader.read(65536)
            if not data:
                return
            payloads = [data]
            if self.websocket:
                try:
                    parsed = frames.feed(data)
                except WebSocketViolation as exc:
                    self.client.violation = str(exc)
                    return
                self.client.frames.extend((opcode, payload) for opcode, _fin, payload in parsed)
                self.client.masked.extend(True for _ in parsed)  # FrameParser refuses unmasked frames
                payloads = [payload for opcode, _fin, payload in parsed if opcode in (0x0, 0x2)]
            for payload in payloads:
                for item in mqtt.receive_data(payload):
                    if item.packet is None:
                        continue
                    if connected:
                        self.client.packets.append(item.packet)
                    elif isinstance(item.packet, Connect):
                        connected = True
            if any(opcode == 0x8 for opcode, _payload in self.client.frames):
                return  # the client's close frame: the server closes TCP first (RFC 6455 §7.1.1)
            if connected and not ended:
                ended = True
                for chunk in self.writes:
                    writer.write(chunk)
                    await writer.drain()
                if self.websocket:
                    writer.write(_frame((1000).to_bytes(2, "big"), 0x8))
                elif writer.can_write_eof():
                    writer.write_eof()


@asynccontextmanager
async def _serve(
    websocket: bool, version: ProtocolVersion, writes: list[bytes]
) -> AsyncIterator[ScriptServer]:
    server = ScriptServer(websocket, version, writes)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"ws://127.0.0.1:{port}/mqtt" if websocket else f"mqtt://127.0.0.1:{port}"
    try:
        yield server
    finally:
        listener.close()
        await listener.wait_closed()


# ----------------------------------------------------------------- the client


@dataclass
class Outcome:
    """What the user of the client saw, and what the client answered."""

    refused: str | None = None  # connect() raised this
    messages: list[MessageReceived] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the ErrorReported sentences
    reason: str = ""  # why the connection ended
    traced: list[Packet] = field(default_factory=list)  # the server's packets in the trace
    client: ClientSide = field(default_factory=ClientSide)

    @property
    def arrived(self) -> list[tuple[str, bytes, int, bool]]:
        return [(m.topic, m.payload, m.qos, m.retain) for m in self.messages]

    @property
    def answers(self) -> list[tuple[str, int | None]]:
        """The client's packets after CONNECT: type and packet id (or reason code)."""
        out: list[tuple[str, int | None]] = []
        for packet in self.client.packets:
            if isinstance(packet, Disconnect):
                out.append(("Disconnect", int(packet.reason_code)))
            else:
                out.append((type(packet).__name__, getattr(packet, "packet_id", None)))
        return out


async def _run(websocket: bool, version: ProtocolVersion, stream: Stream, writes: list[bytes]) -> Outcome:
    outcome = Outcome()
    ended = asyncio.Event()

    def on_event(event: TraceEvent) -> None:
        if isinstance(event, MessageReceived):
            outcome.messages.append(event)
        elif isinstance(event, ErrorReported):
            outcome.errors.append(event.message)
        elif isinstance(event, PacketEvent) and event.direction == "s2c":
            outcome.traced.append(event.packet)
        elif isinstance(event, StateChanged) and event.state in ("disconnected", "closed"):
            outcome.reason = outcome.reason or event.detail
            ended.set()

    async with _serve(websocket, version, writes) as server:
        options = ConnectionOptions(url=server.url, client_id="twin", mqtt_version=version, **stream.options)  # type: ignore[arg-type]
        client = MqttClient(options, on_event=on_event)
        try:
            await asyncio.wait_for(client.connect(), TIMEOUT)
        except ConnectionFailed as exc:
            outcome.refused = f"{type(exc).__name__}: {exc}"
        await asyncio.wait_for(ended.wait(), TIMEOUT)
        await client.close()
        await asyncio.wait_for(server.client.done.wait(), TIMEOUT)
        outcome.client = server.client
    return outcome


# ----------------------------------------------------------------- what each script gives

MALFORMED = "the server sent a malformed packet"


def _expected(name: str, version: ProtocolVersion, outcome: Outcome, *, websocket: bool) -> None:
    """Each script ends as it must, whatever the transport and the layout."""
    v5 = version == V5
    closed = (
        "the broker closed the WebSocket (code 1000)" if websocket else "the broker closed the connection"
    )
    malformed = [e for e in outcome.errors if e.startswith(MALFORMED)]
    if name == "flow":
        assert outcome.refused is None
        assert outcome.arrived == [
            ("a/b", b"zero", 0, False),
            ("a/b", b"one", 1, False),
            ("a/c", b"two", 2, False),  # delivered once: the resent copy is acknowledged only
            ("r", b"kept", 0, True),
            ("p", b"x" * 300, 1, False),
            ("a/b", b"", 0, False),
        ]
        assert outcome.answers == [("Puback", 1), ("Pubrec", 2), ("Pubrec", 2), ("Pubcomp", 2), ("Puback", 3)]
        assert outcome.errors == [
            "QoS 2 PUBLISH id 2 received again: not delivered twice",
            "SUBACK for packet id 9, which has no SUBSCRIBE pending",
        ]
        assert outcome.reason == closed
        if v5:
            assert outcome.messages[4].packet.properties.user_properties == (("k", "v"), ("k", "w"))
    elif name == "refused":
        assert outcome.refused is not None
        assert outcome.refused.startswith(BrokerRefused.__name__)
        assert "not authorized" in outcome.refused.lower()
        assert outcome.messages == []
    elif name == "server-disconnect":
        assert outcome.refused is None
        assert outcome.arrived == [("a", b"1", 0, False)]
        assert outcome.answers == []
        if v5:
            assert outcome.reason == "the broker disconnected: 0x8B Server shutting down: going away"
        else:
            # MQTT 3.1.1 §3.14: only a client sends DISCONNECT
            sentence = "the server sent DISCONNECT, which a server may not send to a client here"
            assert outcome.reason == sentence
    elif name in ("malformed-body", "broken-header", "oversize", "oversize-fast"):
        assert outcome.refused is None
        first = b"y" * 30 if name == "oversize-fast" else b"1"
        assert outcome.arrived == [("a", first, 0, False)]
        assert len(malformed) == 1
        assert outcome.reason.startswith(MALFORMED)
        # MQTT 5.0 §4.13: the client closes with DISCONNECT 0x81; in 3.x it just closes
        assert outcome.answers == ([("Disconnect", DisconnectReasonCode.MALFORMED_PACKET)] if v5 else [])
    elif name == "before-connack":
        assert outcome.refused == "ConnectionFailed: the server sent PUBLISH before CONNACK"
        assert outcome.messages == []
        assert outcome.answers == ([("Disconnect", DisconnectReasonCode.PROTOCOL_ERROR)] if v5 else [])
    else:
        raise AssertionError(name)
    # Each message is the very packet of the trace, parsed once.
    assert all(
        any(m.packet is p for p in outcome.traced)
        for m in outcome.messages
        if not m.packet.properties.topic_alias
    )


@pytest.mark.parametrize("chunking", ["whole", "per-packet", "bytewise", "sevens"])
@pytest.mark.parametrize("name", list(STREAMS))
@pytest.mark.parametrize("version", [V311, V5, V31])
async def test_native_mqtt_scripts_give_the_messages_and_errors_they_hold(
    version: ProtocolVersion, name: str, chunking: str
) -> None:
    stream = STREAMS[name](version)
    outcome = await _run(False, version, stream, _written(chunking, stream.pieces))
    _expected(name, version, outcome, websocket=False)


@pytest.mark.parametrize("layout", ["per-packet", "coalesced", "split", "pings"])
@pytest.mark.parametrize("name", list(STREAMS))
@pytest.mark.parametrize("version", [V311, V5])
async def test_websocket_scripts_give_the_messages_and_errors_they_hold(
    version: ProtocolVersion, name: str, layout: str
) -> None:
    stream = STREAMS[name](version)
    outcome = await _run(True, version, stream, _framed(layout, stream.pieces))
    _expected(name, version, outcome, websocket=True)
    assert outcome.client.violation is None  # every frame the client sent was masked and well formed
    if layout == "pings" and outcome.refused is None:
        # Every ping read before the connection ended got its pong, with the same payload.
        pongs = [payload for opcode, payload in outcome.client.frames if opcode == 0xA]
        assert pongs
        assert set(pongs) <= {b"hi", b""}
    assert [opcode for opcode, _payload in outcome.client.frames].count(0x8) == 1  # one close frame


@pytest.mark.parametrize("websocket", [False, True], ids=["tcp", "ws"])
async def test_topic_aliases_are_resolved_and_an_unknown_one_ends_the_session(websocket: bool) -> None:
    stream = _aliases(V5)
    writes = [_frame(b"".join(stream.pieces))] if websocket else [b"".join(stream.pieces)]
    outcome = await _run(websocket, V5, stream, writes)
    assert [(t, p) for t, p, _q, _r in outcome.arrived] == [
        ("t/1", b"a"),
        ("t/1", b"b"),
        ("t/2", b"c"),
        ("t/2", b"d"),
    ]
    assert outcome.answers == [
        ("Puback", 1),
        ("Pubrec", 2),
        ("Disconnect", DisconnectReasonCode.PROTOCOL_ERROR),
    ]
    # The trace keeps the packets as they were on the wire.
    assert [p.topic for p in outcome.traced if isinstance(p, Publish)][:5] == ["t/1", "", "t/2", "", ""]
    assert outcome.messages[0].packet is outcome.traced[1]
    assert outcome.messages[1].packet is not outcome.traced[2]


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        pytest.param(lambda p: _frame(p, 0x1), 1003, id="text-frame"),
        pytest.param(
            lambda p: (
                bytes((0x82, 0x80 | len(p)))
                + b"\x01\x02\x03\x04"
                + bytes(b ^ (i % 4 + 1) for i, b in enumerate(p))
            ),
            1002,
            id="masked-frame",
        ),
        pytest.param(lambda p: bytes((0xA2, len(p))) + p, 1002, id="reserved-bit"),
        pytest.param(lambda p: bytes((0x80, len(p))) + p, 1002, id="stray-continuation"),
    ],
)
async def test_a_frame_the_client_refuses_ends_the_messages_where_it_stands(
    bad: Callable[[bytes], bytes], code: int
) -> None:
    """The messages before the frame arrive; the one it carries and all after it do not."""
    pieces = _packets(V5, Connack(), Publish("a", b"1"), Publish("bad", b"2"), Publish("b", b"3"))
    writes = [_frame(pieces[0]) + _frame(pieces[1]) + bad(pieces[2]) + _frame(pieces[3])]
    outcome = await _run(True, V5, Stream(pieces), writes)
    assert outcome.arrived == [("a", b"1", 0, False)]
    assert outcome.reason.endswith(f"the connection was closed with code {code}")
    closes = [payload for opcode, payload in outcome.client.frames if opcode == 0x8]
    assert [int.from_bytes(payload[:2], "big") for payload in closes] == [code]
    # The trace still shows what the server sent after it.
    assert [p.topic for p in outcome.traced if isinstance(p, Publish)] == ["a", "bad", "b"]
