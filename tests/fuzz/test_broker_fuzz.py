"""Fuzzing the broker's readers on mutated real streams (Hypothesis, bounded in time).

Seeds are what paho-mqtt sent to the broker over TCP and WebSocket, MQTT 3.1.1 and 5.0
(``tests/fuzz/corpus/broker/seeds``, recorded by ``tests.fuzz.record_broker_seeds``).
Mutations flip, overwrite, insert, delete, duplicate and cut bytes, favouring the values
that break length fields, and the result is fed in random pieces.

Targets, each checked for documented errors only, no example over 1 s (Hypothesis'
deadline) and bounded buffering:

- the HTTP upgrade parser (:class:`explorer.broker.upgrade.Upgrade`): never raises, answers
  or waits, and holds at most its request limit;
- the WebSocket frame reader (:class:`explorer.broker.wsframes.FrameParser`): frames or
  :class:`WebSocketViolation`, holding at most one frame of the allowed size;
- the MQTT packet reader with the broker's limits (:class:`explorer.mqtt.reader.PacketReader`):
  packets or :class:`MalformedPacket`, holding at most the CONNECT limit before a CONNECT
  and the packet limit after it;
- the running broker over loopback: after each mutated stream it has logged no internal
  error, holds no more than its buffer budget, and still serves a healthy client at once.

An input that fails a check is written to ``tests/fuzz/corpus/broker/found/`` before the
test fails; every file there is replayed through all the checks on every run.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.broker.config import BrokerConfig
from explorer.broker.server import READ_SIZE, Broker
from explorer.broker.upgrade import Upgrade, UpgradeResult
from explorer.broker.wsframes import FrameParser, WebSocketViolation
from explorer.errors import MalformedPacket
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack, Connect, Pingreq, Pingresp
from explorer.mqtt.primitives import encode_varint
from explorer.mqtt.reader import PacketReader

CORPUS = Path(__file__).resolve().parent / "corpus" / "broker"
SEEDS = {path.name: path.read_bytes() for path in sorted((CORPUS / "seeds").glob("*.bin"))}
FOUND = CORPUS / "found"

MAX_CONNECT = 512
MAX_PACKET = 4096
BUDGET = 256 * 1024
REQUEST_LIMIT = 16 * 1024  # explorer.broker.upgrade's limit on a request


def _split_request(stream: bytes) -> tuple[bytes, bytes]:
    end = stream.find(b"\r\n\r\n")
    return (stream, b"") if end < 0 else (stream[: end + 4], stream[end + 4 :])


TCP_SEEDS = [data for name, data in SEEDS.items() if "-tcp-" in name]
WS_SEEDS = [data for name, data in SEEDS.items() if "-ws-" in name]
REQUESTS = [_split_request(data)[0] for data in WS_SEEDS]
FRAMES = [_split_request(data)[1] for data in WS_SEEDS]


def test_the_seeds_are_there() -> None:
    assert len(TCP_SEEDS) >= 2
    assert len(WS_SEEDS) >= 2
    assert all(request.startswith(b"GET /mqtt HTTP/1.1\r\n") for request in REQUESTS)


# -- mutations ---------------------------------------------------------------------------------------

_EDGE_BYTES = st.sampled_from([0x00, 0x01, 0x7E, 0x7F, 0x80, 0xFE, 0xFF, 0x0D, 0x0A, 0x20, 0x3A])


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    # One seed, or a few end to end (a stream longer than the limits).
    data = bytearray(b"".join(draw(st.lists(st.sampled_from(seeds), min_size=1, max_size=4))))
    for _ in range(draw(st.integers(1, 6))):
        # Anywhere, or in the first bytes (the upgrade's request line, the CONNECT's header).
        pos = draw(st.integers(0, 4) | st.integers(0, max(0, len(data) - 1)))
        pos = min(pos, max(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "edge", "insert", "delete", "duplicate", "cut", "length"]))
        if not data:
            data += draw(st.binary(min_size=1, max_size=8))
        elif kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "edge":
            data[pos] = draw(_EDGE_BYTES)
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        elif kind == "duplicate":
            size = draw(st.integers(1, 64))
            data[pos:pos] = data[pos : pos + size] * draw(st.integers(1, 8))
        elif kind == "cut":
            del data[pos:]
        elif draw(st.booleans()):  # a length field turned large: a long varint, a 64-bit frame length
            data[pos : pos + 4] = draw(st.sampled_from([b"\xff\xff\xff\x7f", b"\x7f", b"\xfe\xff\xff\xff"]))
        else:  # a Remaining Length anywhere around the limits
            data[pos + 1 : pos + 2] = encode_varint(draw(st.integers(0, 4 * MAX_PACKET)))
    return bytes(data)


@st.composite
def pieces(draw: st.DrawFn, data: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


_KEPT: dict[str, Path] = {}  # target -> the file of its last failing input in this run


def _keep(target: str, data: bytes) -> None:
    """Write a failing input; while Hypothesis shrinks it, each smaller one replaces the last."""
    FOUND.mkdir(parents=True, exist_ok=True)
    previous = _KEPT.get(target)
    if previous is not None:
        previous.unlink(missing_ok=True)
    path = _KEPT[target] = FOUND / f"{target}-{hashlib.sha256(data).hexdigest()[:12]}.bin"
    path.write_bytes(data)


def _kept_on_failure(target: str, data: bytes, check: Callable[[], None]) -> None:
    try:
        check()
    except BaseException:
        _keep(target, data)
        raise


# -- the checks ----------------------------------------------------------------------------------------


def check_upgrade(data: bytes, chunks: list[bytes]) -> None:
    upgrade = Upgrade(BrokerConfig.ephemeral())
    fed = 0
    for chunk in chunks:
        result = upgrade.receive_data(chunk)
        fed += len(chunk)
        if result is not None:
            assert isinstance(result, UpgradeResult)
            assert result.response.startswith(b"HTTP/1.1 ")
            assert result.accepted == (result.status == 101)
            return
        # Waiting for more: only while the request can still be within its limit.
        assert fed <= REQUEST_LIMIT + len(chunk) + 4


def check_frames(data: bytes, chunks: list[bytes]) -> None:
    frames = FrameParser(MAX_PACKET + 16)
    mqtt = PacketReader(max_packet_size=MAX_PACKET, max_connect_size=MAX_CONNECT)
    for chunk in chunks:
        try:
            payloads = [payload for opcode, _fin, payload in frames.feed(chunk) if opcode in (0x0, 0x2)]
        except WebSocketViolation as exc:
            code = exc.code
            assert 1000 <= code <= 1015  # RFC 6455 §7.4.1
            return
        # RFC 6455: a frame header is at most 14 bytes; the frame at most the limit.
        assert frames.buffered <= 14 + MAX_PACKET + 16 + len(chunk)
        for payload in payloads:
            if not _mqtt_ok(mqtt, payload):
                return


def _mqtt_ok(mqtt: PacketReader, chunk: bytes) -> bool:
    """Feed one piece; False once the stream is broken (the broker closes there)."""
    try:
        items = mqtt.receive_data(chunk)
    except MalformedPacket:
        return False
    for item in items:
        assert (item.packet is None) != (item.error is None)
        if item.error is not None:
            return False
    bound = MAX_PACKET if mqtt.version is not None else MAX_CONNECT
    assert mqtt.buffered < bound
    return not mqtt.broken


def check_packets(data: bytes, chunks: list[bytes]) -> None:
    mqtt = PacketReader(max_packet_size=MAX_PACKET, max_connect_size=MAX_CONNECT)
    for chunk in chunks:
        if not _mqtt_ok(mqtt, chunk):
            return


_FAST = settings(max_examples=400, deadline=1000, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(st.data())
def test_upgrade_parser_on_mutated_requests(data: st.DataObject) -> None:
    stream = data.draw(mutated(REQUESTS + WS_SEEDS))
    chunks = data.draw(pieces(stream))
    _kept_on_failure("upgrade", stream, lambda: check_upgrade(stream, chunks))


@_FAST
@given(st.data())
def test_frame_reader_on_mutated_client_frames(data: st.DataObject) -> None:
    stream = data.draw(mutated(FRAMES))
    chunks = data.draw(pieces(stream))
    _kept_on_failure("frames", stream, lambda: check_frames(stream, chunks))


@_FAST
@given(st.data())
def test_packet_reader_on_mutated_mqtt_streams(data: st.DataObject) -> None:
    stream = data.draw(mutated(TCP_SEEDS))
    chunks = data.draw(pieces(stream))
    _kept_on_failure("packets", stream, lambda: check_packets(stream, chunks))


# -- the running broker ----------------------------------------------------------------------------------


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _BrokerThread:
    """The broker on its own event loop in a thread; the test talks to it over sockets."""

    def __init__(self, config: BrokerConfig) -> None:
        self.broker = Broker(config)
        self.loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),), daemon=True)

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        async with self.broker:
            self._started.set()
            await self._stop.wait()

    def __enter__(self) -> Broker:
        self._thread.start()
        assert self._started.wait(10), "the broker did not start"
        return self.broker

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[Broker, _Errors]]:
    config = BrokerConfig.ephemeral(
        sys_interval=0,
        tick_interval=0.05,
        max_connect_size=MAX_CONNECT,
        max_packet_size=MAX_PACKET,
        max_buffered=BUDGET,
        handshake_timeout=1.0,
        connect_timeout=1.0,
    )
    errors = _Errors()
    logger = logging.getLogger("explorer.broker")
    logger.addHandler(errors)
    try:
        with _BrokerThread(config) as broker:
            yield broker, errors
    finally:
        logger.removeHandler(errors)


def _send(port: int, chunks: list[bytes]) -> None:
    """Send the pieces, then read what comes back for a moment (a reset is a close too)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
            sock.settimeout(0.05)
            while sock.recv(READ_SIZE):
                pass
        except (TimeoutError, ConnectionError):
            pass


def _healthy(port: int) -> None:
    """A well-behaved client is served within a second."""
    with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
        sock.sendall(encode(Connect(ProtocolVersion.V311, "healthy")) + encode(Pingreq()))
        reader = PacketReader()
        packets: list[object] = []
        while len(packets) < 2:
            data = sock.recv(READ_SIZE)
            assert data, "the healthy client was closed"
            packets += [item.packet for item in reader.receive_data(data)]
        assert packets == [Connack(), Pingresp()]


def check_broker(broker: Broker, errors: _Errors, websocket: bool, chunks: list[bytes]) -> None:
    port = broker.ws_port if websocket else broker.tcp_port
    assert port is not None
    assert broker.tcp_port is not None
    _send(port, chunks)
    _healthy(broker.tcp_port)
    assert not errors.records, errors.records[0].getMessage()
    assert broker.buffered <= BUDGET


@settings(
    max_examples=80,
    deadline=None,  # each socket operation has its own 1 s timeout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.data())
def test_the_broker_survives_mutated_streams_and_serves_a_healthy_client(
    running: tuple[Broker, _Errors], data: st.DataObject
) -> None:
    broker, errors = running
    websocket = data.draw(st.booleans())
    stream = data.draw(mutated(WS_SEEDS if websocket else TCP_SEEDS))
    chunks = data.draw(pieces(stream))
    target = "broker-ws" if websocket else "broker-tcp"
    _kept_on_failure(target, stream, lambda: check_broker(broker, errors, websocket, chunks))


# -- every input kept so far -----------------------------------------------------------------------------


def _found() -> list[Path]:
    return sorted(FOUND.glob("*.bin")) if FOUND.is_dir() else []


@pytest.mark.parametrize("path", _found(), ids=lambda path: path.name)
def test_found_inputs_replay_cleanly(path: Path, running: tuple[Broker, _Errors]) -> None:
    stream = path.read_bytes()
    request, frames = _split_request(stream)
    check_upgrade(stream, [stream])
    check_frames(frames, [frames])
    check_packets(stream, [stream])
    broker, errors = running
    check_broker(
        broker, errors, path.name.startswith(("broker-ws", "upgrade", "frames", "repro-ws")), [stream]
    )
    # And byte by byte, where the readers' state between pieces matters.
    check_packets(stream, [stream[i : i + 1] for i in range(min(len(stream), 2048))])
    assert request or frames or not stream
