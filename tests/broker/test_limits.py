"""The broker's memory and connection limits, seen from real sockets on loopback.

What a client without credentials can make the broker hold is bounded: a partial
CONNECT by ``max_connect_size``, all partial packets and outgoing buffers together by
``max_buffered``, connections by ``max_connections`` and ``max_connections_per_ip``,
and time by the CONNECT timeout and the keep alive the broker imposes (``max_keep_alive``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import DisconnectReasonCode, ProtocolVersion
from explorer.mqtt.packets import (
    Connack,
    Connect,
    Disconnect,
    Packet,
    Pingreq,
    Pingresp,
    Properties,
    Publish,
    Suback,
    Subscribe,
    Subscription,
    Will,
)
from explorer.mqtt.primitives import encode_varint
from explorer.mqtt.reader import PacketReader
from tests.broker.rawclient import (
    OPEN_WRITERS,
    TIMEOUT,
    open_tcp,
    open_ws,
    read_mqtt,
    upgrade_request,
)

V311 = ProtocolVersion.V311
V5 = ProtocolVersion.V5
KIB = 1024


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    config = BrokerConfig.ephemeral(sys_interval=0, tick_interval=0.05)
    async with Broker(config) as running:
        yield running


async def _open_from(
    port: int, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    OPEN_WRITERS.append(writer)
    return reader, writer


async def _mqtt_client(
    port: int,
    client_id: str,
    version: ProtocolVersion = V311,
    *,
    source: str = "127.0.0.1",
    keep_alive: int = 60,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, PacketReader, Connack]:
    reader, writer = await _open_from(port, source)
    writer.write(encode(Connect(version, client_id, keep_alive=keep_alive), version))
    mqtt = PacketReader(version)
    packets = await read_mqtt(reader, mqtt)
    assert packets, f"{client_id}: closed instead of CONNACK"
    connack = packets[0]
    assert isinstance(connack, Connack)
    return reader, writer, mqtt, connack


async def _eof(reader: asyncio.StreamReader) -> bytes:
    """Everything until the broker closes the connection (a reset counts as a close)."""
    data = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), TIMEOUT):
            data += chunk
    except ConnectionResetError:
        pass
    return data


async def _healthy_pair(port: int) -> None:
    """A subscriber and a publisher on 127.0.0.1 still get a message through."""
    sub_reader, sub_writer, sub_mqtt, _ = await _mqtt_client(port, "healthy-sub")
    sub_writer.write(encode(Subscribe(1, (Subscription("health/#", 1),))))
    (suback,) = await read_mqtt(sub_reader, sub_mqtt)
    assert isinstance(suback, Suback)
    _, pub_writer, _, _ = await _mqtt_client(port, "healthy-pub")
    pub_writer.write(encode(Publish("health/ok", b"ok")))
    (message,) = await read_mqtt(sub_reader, sub_mqtt)
    assert isinstance(message, Publish)
    assert message.payload == b"ok"


# -- a CONNECT is bounded before authentication ---------------------------------------------------


async def test_a_partial_connect_above_the_connect_limit_is_closed_from_its_fixed_header(
    broker: Broker,
) -> None:
    assert broker.tcp_port is not None
    reader, writer = await open_tcp(broker.tcp_port)
    # A CONNECT announcing 8 MiB; only its first bytes are sent. The connect timeout is 10 s:
    # a close within the test's timeout can only come from reading the fixed header.
    writer.write(b"\x10" + encode_varint(8 * 1024 * 1024) + b"\x00\x04MQTT\x05")
    await writer.drain()
    assert await _eof(reader) == b""
    await _healthy_pair(broker.tcp_port)


async def test_a_websocket_frame_above_the_connect_limit_before_connect_gets_1009(broker: Broker) -> None:
    assert broker.ws_port is not None
    reader, writer = await open_tcp(broker.ws_port)
    writer.write(upgrade_request())
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    # The header of a 1 MiB binary frame (masked), and a first piece of it.
    writer.write(
        bytes((0x82, 0x80 | 127)) + (1024 * 1024).to_bytes(8, "big") + os.urandom(4) + b"\x00" * 1000
    )
    await writer.drain()
    data = await _eof(reader)
    assert data[:1] == b"\x88"  # a close frame
    assert int.from_bytes(data[2:4], "big") == 1009  # RFC 6455 §7.4.1 message too big


async def test_a_connect_below_the_limit_and_a_large_publish_after_it_are_accepted(broker: Broker) -> None:
    assert broker.tcp_port is not None
    reader, writer = await open_tcp(broker.tcp_port)
    will = Will("wills/big", b"w" * (60 * KIB))
    writer.write(encode(Connect(V311, "big-will", will=will)))
    assert await read_mqtt(reader, PacketReader()) == [Connack()]
    sub_reader, sub_writer, sub_mqtt, _ = await _mqtt_client(broker.tcp_port, "sub")
    sub_writer.write(encode(Subscribe(1, (Subscription("big"),))))
    await read_mqtt(sub_reader, sub_mqtt)
    writer.write(encode(Publish("big", b"p" * (1024 * KIB))))
    (message,) = await read_mqtt(sub_reader, sub_mqtt)
    assert isinstance(message, Publish)
    assert len(message.payload) == 1024 * KIB


async def test_a_pipelined_publish_after_connect_is_not_held_to_the_connect_limit() -> None:
    config = BrokerConfig.ephemeral(sys_interval=0, max_connect_size=1024)
    async with Broker(config) as broker:
        assert broker.tcp_port is not None
        sub_reader, sub_writer, sub_mqtt, _ = await _mqtt_client(broker.tcp_port, "sub")
        sub_writer.write(encode(Subscribe(1, (Subscription("pipe"),))))
        await read_mqtt(sub_reader, sub_mqtt)
        reader, writer = await open_tcp(broker.tcp_port)
        writer.write(encode(Connect(V311, "pipe")) + encode(Publish("pipe", b"x" * (8 * KIB))))
        assert await read_mqtt(reader, PacketReader()) == [Connack()]
        (message,) = await read_mqtt(sub_reader, sub_mqtt)
        assert isinstance(message, Publish)
        assert len(message.payload) == 8 * KIB


# -- one budget for every connection's buffered bytes ---------------------------------------------


async def _stall(
    port: int, client_id: str, size: int, whole: int | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, PacketReader]:
    """A v5 client that sends ``size`` bytes of a PUBLISH of ``whole`` bytes, and stops."""
    reader, writer, mqtt, _ = await _mqtt_client(port, client_id, V5)
    writer.write(encode(Publish("stall", b"s" * (whole or 2 * size)), V5)[:size])
    return reader, writer, mqtt


async def test_connections_over_the_buffer_budget_are_closed_with_0x97_and_the_rest_keep_working() -> None:
    config = BrokerConfig.ephemeral(sys_interval=0, max_buffered=1024 * KIB)
    async with Broker(config) as broker:
        assert broker.tcp_port is not None
        first = await _stall(broker.tcp_port, "stall-1", 600 * KIB, 900 * KIB)
        second = await _stall(broker.tcp_port, "stall-2", 600 * KIB, 900 * KIB)
        reads = {
            asyncio.ensure_future(read_mqtt(first[0], first[2])): first,
            asyncio.ensure_future(read_mqtt(second[0], second[2])): second,
        }
        done, pending = await asyncio.wait(reads, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        assert len(done) == 1, "no connection was closed for the budget"
        (closed,) = done
        (disconnect,) = closed.result()
        assert isinstance(disconnect, Disconnect)
        assert disconnect.reason_code == DisconnectReasonCode.QUOTA_EXCEEDED  # MQTT 5.0 §4.13
        assert await _eof(reads[closed][0]) == b""
        assert broker.buffered <= config.max_buffered
        await _healthy_pair(broker.tcp_port)
        # The other one finishes its packet and is served.
        (survivor,) = pending
        _reader, writer, _mqtt = reads[survivor]
        writer.write(encode(Publish("stall", b"s" * (900 * KIB)), V5)[600 * KIB :] + encode(Pingreq(), V5))
        assert await survivor == [Pingresp()]


async def test_a_websocket_connection_over_the_budget_gets_close_code_1013() -> None:
    config = BrokerConfig.ephemeral(sys_interval=0, max_buffered=256 * KIB)
    async with Broker(config) as broker:
        ws = await open_ws(broker.ws_port)
        ws.send_packet(Connect(V311, "ws-stall"))
        assert await ws.read_packets() == [Connack()]
        # One frame announcing 512 KiB, 300 KiB of it sent: over the budget alone.
        key = os.urandom(4)
        ws.writer.write(
            bytes((0x82, 0x80 | 127)) + (512 * KIB).to_bytes(8, "big") + key + b"\x00" * (300 * KIB)
        )
        _fin, opcode, payload = await ws.read_frame()
        assert opcode == 0x8
        assert int.from_bytes(payload[:2], "big") == 1013  # try again later: the server is short of memory
        assert broker.tcp_port is not None
        await _healthy_pair(broker.tcp_port)


async def test_memory_held_by_closed_connections_leaves_the_budget(broker: Broker) -> None:
    assert broker.tcp_port is not None
    _reader, writer, _mqtt = await _stall(broker.tcp_port, "gone", 300 * KIB)
    # The PINGREQ of another client on the same loop: the stalled bytes were read by then.
    ping_reader, ping_writer, ping_mqtt, _ = await _mqtt_client(broker.tcp_port, "pinger")
    writer.close()
    await writer.wait_closed()
    ping_writer.write(encode(Pingreq()))
    assert await read_mqtt(ping_reader, ping_mqtt) == [Pingresp()]
    # Both connections are gone or idle: nothing is held beyond a few bytes.
    ping_writer.close()
    await ping_writer.wait_closed()
    await _healthy_pair(broker.tcp_port)
    assert broker.buffered < 4 * KIB


# -- connection counts ----------------------------------------------------------------------------


async def test_connections_per_ip_are_limited_and_other_addresses_still_get_in() -> None:
    config = BrokerConfig.ephemeral(sys_interval=0, max_connections_per_ip=3)
    async with Broker(config) as broker:
        assert broker.tcp_port is not None
        for index in range(3):
            await _mqtt_client(broker.tcp_port, f"crowd-{index}", source="127.0.0.2")
        reader, writer = await _open_from(broker.tcp_port, "127.0.0.2")
        writer.write(encode(Connect(V311, "one-too-many")))
        assert await _eof(reader) == b""
        await _healthy_pair(broker.tcp_port)


async def test_keep_alive_zero_clients_cannot_lock_everyone_out() -> None:
    # Two addresses fill the broker with clients that asked for no keep alive at all.
    config = BrokerConfig.ephemeral(
        sys_interval=0, tick_interval=0.05, max_connections=6, max_connections_per_ip=3, max_keep_alive=1
    )
    async with Broker(config) as broker:
        assert broker.tcp_port is not None
        idle = []
        for source in ("127.0.0.2", "127.0.0.3"):
            for index in range(3):
                idle.append(
                    await _mqtt_client(broker.tcp_port, f"{source}-{index}", source=source, keep_alive=0)
                )
        reader, _writer = await _open_from(broker.tcp_port)
        assert await _eof(reader) == b""  # full
        # MQTT 3.1.1 cannot be told a keep alive: silent ones are closed after 1.5 x max_keep_alive.
        for idle_reader, *_ in idle:
            assert await _eof(idle_reader) == b""
        await _healthy_pair(broker.tcp_port)


@pytest.mark.parametrize(("asked", "imposed"), [(0, 30), (31, 30), (600, 30), (30, None), (10, None)])
async def test_v5_clients_get_a_server_keep_alive_when_theirs_is_zero_or_above_the_maximum(
    asked: int, imposed: int | None
) -> None:
    config = BrokerConfig.ephemeral(sys_interval=0, max_keep_alive=30)
    async with Broker(config) as broker:
        assert broker.tcp_port is not None
        *_, connack = await _mqtt_client(broker.tcp_port, "ka", V5, keep_alive=asked)
        # [MQTT-3.1.2-21] the client uses the Server Keep Alive instead of its own.
        assert connack.properties.server_keep_alive == imposed


async def test_a_v5_client_that_ignores_the_server_keep_alive_is_closed_with_0x8d() -> None:
    config = BrokerConfig.ephemeral(sys_interval=0, tick_interval=0.05, max_keep_alive=1)
    async with Broker(config) as broker:
        assert broker.tcp_port is not None
        reader, _writer, mqtt, connack = await _mqtt_client(broker.tcp_port, "silent", V5, keep_alive=0)
        assert connack.properties.server_keep_alive == 1
        (disconnect,) = await read_mqtt(reader, mqtt)
        assert isinstance(disconnect, Disconnect)
        assert disconnect.reason_code == DisconnectReasonCode.KEEP_ALIVE_TIMEOUT


async def test_a_slowloris_upgrade_is_closed_at_the_handshake_timeout() -> None:
    config = BrokerConfig.ephemeral(sys_interval=0, handshake_timeout=0.3)
    async with Broker(config) as broker:
        assert broker.ws_port is not None
        reader, writer = await open_tcp(broker.ws_port)
        request = upgrade_request()
        closed = asyncio.ensure_future(_eof(reader))
        for byte in request[:-4]:  # one byte every 20 ms: never complete, never silent
            if closed.done():
                break
            writer.write(bytes((byte,)))
            await asyncio.sleep(0.02)
        assert closed.done(), "the upgrade was still open after the whole request but its end"
        assert await closed == b""


# -- the Subscription Identifier is the broker's to send --------------------------------------------


async def test_a_publish_with_a_subscription_identifier_is_a_protocol_error(broker: Broker) -> None:
    assert broker.tcp_port is not None
    reader, writer, mqtt, _ = await _mqtt_client(broker.tcp_port, "subid", V5)
    watcher = await _mqtt_client(broker.tcp_port, "watcher", V5)
    watcher[1].write(encode(Subscribe(1, (Subscription("t"),)), V5))
    await read_mqtt(watcher[0], watcher[2])
    writer.write(encode(Publish("t", b"x", properties=Properties(subscription_identifiers=(7,))), V5))
    packets: list[Packet] = await read_mqtt(reader, mqtt)
    (disconnect,) = packets
    assert isinstance(disconnect, Disconnect)
    # [MQTT-3.3.4-6], MQTT 5.0 §3.3.2.3.8 and §4.13: a protocol error, 0x82.
    assert disconnect.reason_code == DisconnectReasonCode.PROTOCOL_ERROR
    assert await _eof(reader) == b""
    # Nothing was forwarded: the watcher's next packet is its PINGRESP.
    watcher[1].write(encode(Pingreq(), V5))
    assert await read_mqtt(watcher[0], watcher[2]) == [Pingresp()]
