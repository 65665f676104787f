"""RFC 6455 from the client's side: MqttClient and its WebSocket transport against a
scripted server on loopback (``scripted.py``) that fragments, interleaves pings, closes
with reasons, and breaks the rules a server can break.

What is handled must work (the message arrives byte for byte, every ping gets its pong);
what is broken must end the connection with the close code RFC 6455 §7.4.1 gives, sent
to the server, and one sentence for the user naming the rule: never a traceback. The
table of broken frames every reader answers (``cases.py``) runs here too, as a server
sends it.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys

import pytest

from explorer.client import websocket
from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions
from explorer.errors import ConnectionFailed, HandshakeError
from explorer.model.events import MessageReceived, StateChanged, TraceEvent
from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Connack, Puback, Publish
from explorer.ws.framing import FrameIndexer, RawFrame
from tests.ws.conformance.cases import BEFORE_PUBLISH, SERVER_CASES, Case, before
from tests.ws.conformance.scripted import ClientLog, ScriptedServer, scripted_server, server_frame
from tests.ws.conformance.wire import close_body

CONNACK = encode(Connack())
TIMEOUT = 10.0


def _fragmented(data: bytes, size: int, *, between: bytes = b"") -> bytes:
    """``data`` as a binary message in fragments of ``size``, ``between`` after each but the last."""
    pieces = [data[start : start + size] for start in range(0, len(data), size)]
    out = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        out.append(server_frame(0x2 if index == 0 else 0x0, piece, fin=last))
        if not last:
            out.append(between)
    return b"".join(out)


class Ended:
    """The client's state changes; waits for its connection to end."""

    def __init__(self) -> None:
        self.states: list[StateChanged] = []
        self.changed = asyncio.Event()

    def __call__(self, event: TraceEvent) -> None:
        if isinstance(event, StateChanged):
            self.states.append(event)
            self.changed.set()

    async def reason(self) -> str:
        async with asyncio.timeout(TIMEOUT):
            while not any(state.state in ("disconnected", "closed") for state in self.states):
                self.changed.clear()
                await self.changed.wait()
        return next(state.detail for state in self.states if state.state in ("disconnected", "closed"))


async def _client_log(server: ScriptedServer) -> ClientLog:
    async with asyncio.timeout(TIMEOUT):
        while not server.clients:
            await asyncio.sleep(0)
        await server.clients[0].done.wait()
    return server.clients[0]


# -- handled ---------------------------------------------------------------------------------


async def test_connack_in_1_byte_fragments_with_pings_between() -> None:
    ping = server_frame(0x9, b"are you there")
    async with scripted_server([_fragmented(CONNACK, 1, between=ping)]) as server:
        client = MqttClient(ConnectionOptions(url=server.url))
        assert await asyncio.wait_for(client.connect(), TIMEOUT) == Connack()
        await client.close()
        log = await _client_log(server)
    # RFC 6455 §5.5.3: each ping answered with a pong carrying the same payload.
    assert log.payloads(0xA) == [b"are you there"] * (len(CONNACK) - 1)
    assert log.close_code == 1000
    assert log.violation is None


@pytest.mark.parametrize(
    ("size", "fragment"),
    [(1 << 20, 64 << 10), (1 << 20, 1 << 20), (4 << 20, 4096)],
    ids=["1MiB/64K", "1MiB", "4MiB/4K"],
)
async def test_large_fragmented_publish_arrives_byte_for_byte(size: int, fragment: int) -> None:
    payload = (hashlib.sha256(b"seed").digest() * (size // 32 + 1))[:size]
    publish = encode(Publish("big/one", payload))
    ping = server_frame(0x9, b"mid")
    script = [server_frame(0x2, CONNACK), _fragmented(publish, fragment, between=ping)]
    async with scripted_server(script) as server:
        client = MqttClient(ConnectionOptions(url=server.url))
        await asyncio.wait_for(client.connect(), TIMEOUT)
        async with asyncio.timeout(TIMEOUT):
            message = await anext(client.messages())
        await client.close()
        log = await _client_log(server)
    assert (message.topic, len(message.payload)) == ("big/one", size)
    assert message.payload == payload
    assert log.payloads(0xA) == [b"mid"] * (-(-len(publish) // fragment) - 1)


def _client_frames(log: ClientLog) -> list[RawFrame]:
    """The client's frames as they were on the wire, read by the explorer's own indexer."""
    return FrameIndexer(expect_masked=True).receive_data(bytes(log.raw))


async def test_a_ping_gets_a_masked_pong_with_its_payload_and_a_fresh_key() -> None:
    pings = [server_frame(0x9, payload) for payload in (b"one", b"two", b"\x00" * 125)]
    # The pings come before the CONNACK: once connect() returns, they have been read.
    async with scripted_server([*pings, server_frame(0x2, CONNACK)]) as server:
        client = MqttClient(ConnectionOptions(url=server.url))
        await asyncio.wait_for(client.connect(), TIMEOUT)
        await client.close()
        log = await _client_log(server)
    frames = _client_frames(log)
    assert [frame.problems for frame in frames] == [()] * len(frames)  # all masked (RFC 6455 §5.1)
    pongs = [frame for frame in frames if frame.opcode == 0xA]
    assert [frame.payload for frame in pongs] == [b"one", b"two", b"\x00" * 125]
    keys = [frame.mask_key for frame in frames]
    assert len(set(keys)) == len(keys)  # RFC 6455 §5.3: a fresh key for every frame
    assert frames[-1].opcode == 0x8
    assert frames[-1].close_code == 1000


async def test_frames_in_the_same_read_as_the_101_are_read_once_and_answered() -> None:
    # The ping and the CONNACK come with the upgrade's answer: websockets sees the head only,
    # the decoder the frames; the pong goes out and the session takes the CONNACK.
    early = server_frame(0x9, b"early") + server_frame(0x2, CONNACK)
    recorder = Ended()
    async with scripted_server([], after_upgrade=early) as server:
        client = MqttClient(ConnectionOptions(url=server.url), on_event=recorder)
        assert await asyncio.wait_for(client.connect(), TIMEOUT) == Connack()
        await client.close()
        log = await _client_log(server)
    assert log.payloads(0xA) == [b"early"]
    assert log.close_code == 1000
    assert log.violation is None


@pytest.mark.parametrize(
    ("after_upgrade", "expected"),
    [
        (
            server_frame(0x8, close_body(1013, b"try later")),
            "the broker closed the WebSocket (code 1013: try later)",
        ),
        (
            server_frame(0x3, b"x"),
            "the broker sent a broken WebSocket frame: reserved opcode 0x3 (RFC 6455 §5.2); "
            "the connection was closed with code 1002",
        ),
    ],
    ids=["close", "violation"],
)
async def test_a_close_or_a_broken_frame_with_the_101_ends_the_connection_before_connack(
    after_upgrade: bytes, expected: str
) -> None:
    async with scripted_server([], after_upgrade=after_upgrade) as server:
        client = MqttClient(ConnectionOptions(url=server.url))
        with pytest.raises(ConnectionFailed) as info:
            await asyncio.wait_for(client.connect(), TIMEOUT)
        log = await _client_log(server)
    assert str(info.value) == expected
    code = 1013 if expected.startswith("the broker closed") else 1002
    assert log.close_code == code


async def test_a_server_that_never_answers_our_close_frame_is_left_after_the_close_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # RFC 6455 §7.1.2: the client waits for the server's close frame, but not for ever.
    monkeypatch.setattr(websocket, "CLOSE_TIMEOUT", 0.2)
    async with scripted_server([server_frame(0x2, CONNACK)], silent_close=True) as server:
        client = MqttClient(ConnectionOptions(url=server.url))
        await asyncio.wait_for(client.connect(), TIMEOUT)
        await asyncio.wait_for(client.close(), TIMEOUT)
        log = await _client_log(server)  # the client closed TCP itself
    assert log.close_code == 1000
    assert _client_frames(log)[-1].masked


async def test_an_upgrade_answer_too_large_for_the_decoder_fails_the_handshake_at_once() -> None:
    # websockets takes up to 128 header lines of 8 KiB; the decoder reads a head of 64 KiB:
    # the client says so instead of waiting for a CONNACK it could never read.
    padding = b"".join(b"X-Pad-%d: %s\r\n" % (index, b"a" * 1000) for index in range(100))
    async with scripted_server([server_frame(0x2, CONNACK)], extra_headers=padding) as server:
        client = MqttClient(ConnectionOptions(url=server.url))
        with pytest.raises(HandshakeError) as info:
            await asyncio.wait_for(client.connect(), TIMEOUT)
    assert str(info.value).startswith("the server's answer to the WebSocket upgrade has a head of ")
    assert str(info.value).endswith("bytes; at most 65536 are read")


async def test_a_fragmented_message_above_the_limit_fails_with_1009(monkeypatch: pytest.MonkeyPatch) -> None:
    # RFC 6455 §10.4: a limit on the whole message, not only on each frame. The limit (the
    # largest MQTT packet) is lowered so that a test can cross it.
    monkeypatch.setattr(websocket, "MAX_MESSAGE", 1000)
    small = encode(Publish("frag/small", b"s" * 500))
    large = encode(Publish("frag/large", b"l" * 1200))
    ended = Ended()
    messages: list[MessageReceived] = []

    def on_event(event: TraceEvent) -> None:
        ended(event)
        if isinstance(event, MessageReceived):
            messages.append(event)

    script = [server_frame(0x2, CONNACK) + _fragmented(small, 300) + _fragmented(large, 400)]
    async with scripted_server(script) as server:
        client = MqttClient(ConnectionOptions(url=server.url), on_event=on_event)
        await asyncio.wait_for(client.connect(), TIMEOUT)
        reason = await ended.reason()
        log = await _client_log(server)
        await client.close()
    assert [m.topic for m in messages] == ["frag/small"]  # 500 bytes in two fragments: under it
    assert reason == (
        "the broker sent a fragmented WebSocket message above 1000 bytes, larger than any MQTT packet; "
        "the connection was closed with code 1009"
    )
    assert log.close_code == 1009


async def test_unsolicited_pong_is_ignored() -> None:
    script = [server_frame(0xA, b"unasked") + server_frame(0x2, CONNACK)]
    async with scripted_server(script) as server:
        client = MqttClient(ConnectionOptions(url=server.url))
        assert await asyncio.wait_for(client.connect(), TIMEOUT) == Connack()
        await client.close()
        log = await _client_log(server)
    assert log.payloads(0xA) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (close_body(1001, b"going away"), "the broker closed the WebSocket (code 1001: going away)"),
        (close_body(4000, "κόσμε".encode()), "the broker closed the WebSocket (code 4000: κόσμε)"),
        (close_body(1008), "the broker closed the WebSocket (code 1008)"),
        (b"", "the broker closed the WebSocket (a close frame with no code)"),
    ],
    ids=["1001-reason", "4000-utf8", "1008", "empty"],
)
async def test_close_from_the_server_is_reported_and_echoed(body: bytes, expected: str) -> None:
    ended = Ended()
    async with scripted_server([server_frame(0x2, CONNACK) + server_frame(0x8, body)]) as server:
        client = MqttClient(ConnectionOptions(url=server.url), on_event=ended)
        await asyncio.wait_for(client.connect(), TIMEOUT)
        assert await ended.reason() == expected
        log = await _client_log(server)
    # RFC 6455 §5.5.1: the client answers with a close frame echoing the code.
    code = int.from_bytes(body[:2], "big") if body else 1005
    assert log.close_code == code
    await client.close()


# -- broken ----------------------------------------------------------------------------------

VIOLATIONS = [
    ("opcode-3", server_frame(0x3, b"x"), 1002, "reserved opcode 0x3 (RFC 6455 §5.2)"),
    ("opcode-b", server_frame(0xB, b""), 1002, "reserved opcode 0xB (RFC 6455 §5.2)"),
    (
        "rsv1",
        server_frame(0x2, b"\xd0\x00", rsv=0x40),
        1002,
        "reserved bit set without a negotiated extension",
    ),
    ("rsv3", server_frame(0x9, b"", rsv=0x10), 1002, "reserved bit set without a negotiated extension"),
    (
        "masked",
        bytes((0x82, 0x82)) + b"\0\0\0\0\xd0\x00",
        1002,
        "masked frame from the server (RFC 6455 §5.1)",
    ),
    ("ping-126", server_frame(0x9, b"x" * 126), 1002, "control frame with a 126-byte payload (RFC 6455 §5.5"),
    ("ping-frag", server_frame(0x9, b"x", fin=False), 1002, "fragmented control frame (RFC 6455 §5.5)"),
    ("close-1byte", server_frame(0x8, b"\x03"), 1002, "close frame body of 1 byte"),
    (
        "close-1005",
        server_frame(0x8, close_body(1005)),
        1002,
        "close code 1005 may not be sent in a Close frame",
    ),
    (
        "close-999",
        server_frame(0x8, close_body(999)),
        1002,
        "close code 999 may not be sent in a Close frame",
    ),
    (
        "close-utf8",
        server_frame(0x8, close_body(1000, b"\xed\xa0\x80")),
        1007,
        "close reason is not valid UTF-8",
    ),
    ("cont-alone", server_frame(0x0, b"\xd0\x00"), 1002, "continuation frame without a message to continue"),
    (
        "binary-in-binary",
        server_frame(0x2, b"\xd0", fin=False) + server_frame(0x2, b"\x00"),
        1002,
        "new binary frame while a fragmented binary message is unfinished (RFC 6455 §5.4)",
    ),
    (
        "length-not-minimal",
        bytes((0x82, 126, 0, 2)) + b"\xd0\x00",
        1002,
        "payload length 2 not in its minimal encoding (RFC 6455 §5.2)",
    ),
    ("text", server_frame(0x1, b"\xd0\x00"), 1003, "MQTT in a text frame"),
    (
        "oversize",
        bytes((0x82, 0x7F)) + (1 << 40).to_bytes(8, "big"),
        1009,
        "a WebSocket frame larger than any MQTT packet (frame payload of 1099511627776 bytes exceeds "
        "the limit of 268435460 bytes)",
    ),
    (
        "length-top-bit",
        bytes((0x82, 0x7F)) + (1 << 63).to_bytes(8, "big"),
        1002,
        "64-bit payload length with the most significant bit set (RFC 6455 §5.2)",
    ),
]


@pytest.mark.parametrize(
    ("wire", "code", "sentence"),
    [case[1:] for case in VIOLATIONS],
    ids=[case[0] for case in VIOLATIONS],
)
async def test_broken_server_frames_fail_the_connection_with_the_right_code(
    wire: bytes, code: int, sentence: str
) -> None:
    ended = Ended()
    async with scripted_server([server_frame(0x2, CONNACK) + wire]) as server:
        client = MqttClient(ConnectionOptions(url=server.url), on_event=ended)
        await asyncio.wait_for(client.connect(), TIMEOUT)
        reason = await ended.reason()
        log = await _client_log(server)
        await client.close()
    assert sentence in reason
    assert reason.endswith(f"the connection was closed with code {code}")
    assert "\n" not in reason
    assert "Traceback" not in reason
    assert log.close_code == code  # the client told the server why (RFC 6455 §7.1.7)
    assert log.violation is None


# The table every frame reader answers (cases.py), as a server sends it. A frame above the
# limit is there for readers limited to 1 KiB; the client's limit is the largest MQTT packet
# (the "oversize" case above).
TABLE = [case for case in SERVER_CASES if case.name != "above-the-limit"]


@pytest.mark.parametrize("case", TABLE, ids=[case.name for case in TABLE])
async def test_the_table_of_broken_frames_fails_the_client_after_it_acted_on_the_frame_before(
    case: Case,
) -> None:
    messages: list[MessageReceived] = []
    ended = Ended()

    def on_event(event: TraceEvent) -> None:
        ended(event)
        if isinstance(event, MessageReceived):
            messages.append(event)

    script = [server_frame(0x2, CONNACK) + before(mask=False) + case.build(mask=False)]
    async with scripted_server(script) as server:
        client = MqttClient(ConnectionOptions(url=server.url), on_event=on_event)
        await asyncio.wait_for(client.connect(), TIMEOUT)
        reason = await ended.reason()
        log = await _client_log(server)
        await client.close()
    code = int(case.violation.code)
    if case.name == "continuation-after-the-end":
        # Its first two frames carry a whole PINGREQ, which no server may send: that
        # comes first on the wire, so the session says so; the close code is the table's.
        assert reason == "the server sent PINGREQ, which a server may not send to a client here"
    else:
        assert reason.startswith("the broker sent a ")
        assert case.violation.template.split("{")[0] in reason  # the rule, in the table's words
        assert reason.endswith(f"the connection was closed with code {code}")
    # The frame before the broken one was acted on first: its message arrived and was
    # acknowledged before the client's close frame, which carries the table's code.
    assert [(m.topic, m.payload, m.qos) for m in messages] == [
        (BEFORE_PUBLISH.topic, BEFORE_PUBLISH.payload, BEFORE_PUBLISH.qos)
    ]
    sent = [(opcode, payload) for opcode, _fin, payload in log.frames if opcode != 0xA]
    assert [opcode for opcode, _payload in sent] == [0x2, 0x2, 0x8]  # CONNECT, PUBACK, close
    # Every ping before the broken frame got its pong; the broken frame got none.
    assert log.payloads(0xA) == [payload for opcode, payload, *_ in case.frames[:-1] if opcode == 0x9]
    assert sent[1][1] == encode(Puback(BEFORE_PUBLISH.packet_id or 0))
    assert log.close_code == code
    assert log.violation is None


async def test_broken_frame_before_connack_is_a_clear_connect_failure() -> None:
    async with scripted_server([server_frame(0x2, b"\x20", rsv=0x40)]) as server:
        client = MqttClient(ConnectionOptions(url=server.url))
        with pytest.raises(ConnectionFailed) as info:
            await asyncio.wait_for(client.connect(), TIMEOUT)
        await _client_log(server)
    assert str(info.value) == (
        "the broker sent a broken WebSocket frame: reserved bit set without a negotiated extension "
        "(RFC 6455 §5.2); the connection was closed with code 1002"
    )


async def test_sub_prints_one_line_for_a_broken_server() -> None:
    # What the user sees: one sentence naming the rule, exit status 1, no traceback.
    async with scripted_server([server_frame(0x2, CONNACK) + server_frame(0x3, b"x")]) as server:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "explorer",
            "sub",
            server.url,
            "-t",
            "#",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    assert out == b""
    assert err.decode() == (
        "mqttws-explorer: the connection ended: the broker sent a broken WebSocket frame: reserved opcode "
        "0x3 (RFC 6455 §5.2); the connection was closed with code 1002\n"
    )
