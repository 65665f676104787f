"""The asyncio listeners on loopback: WebSocket rules, robustness, limits and timeouts."""

from __future__ import annotations

import asyncio
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
    Pingreq,
    Pingresp,
    Publish,
    Subscribe,
    Subscription,
    Will,
)
from explorer.mqtt.reader import PacketReader
from tests.broker.rawclient import RawWebSocket, open_tcp, open_ws, read_mqtt

V5 = ProtocolVersion.V5


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(tick_interval=0.05, sys_interval=0)) as running:
        yield running


async def _ws_client(
    broker: Broker, client_id: str = "raw", version: ProtocolVersion = ProtocolVersion.V311
) -> RawWebSocket:
    assert broker.ws_port is not None
    ws = await open_ws(broker.ws_port)
    ws.version = version
    ws.mqtt = PacketReader(version)
    ws.send_packet(Connect(version, client_id))
    (connack,) = await ws.read_packets()
    assert isinstance(connack, Connack)
    return ws


async def _tcp_client(
    broker: Broker, client_id: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, PacketReader]:
    assert broker.tcp_port is not None
    reader, writer = await open_tcp(broker.tcp_port)
    writer.write(encode(Connect(ProtocolVersion.V311, client_id)))
    mqtt = PacketReader()
    assert await read_mqtt(reader, mqtt) == [Connack()]
    return reader, writer, mqtt


async def _still_serving(broker: Broker) -> None:
    reader, writer, mqtt = await _tcp_client(broker, "healthy")
    writer.write(encode(Pingreq()))
    assert await read_mqtt(reader, mqtt) == [Pingresp()]
    writer.close()


def test_urls_name_the_bound_ports() -> None:
    broker = Broker(BrokerConfig.ephemeral())
    assert broker.urls == []

    async def run() -> None:
        async with broker:
            assert broker.ws_url == f"ws://127.0.0.1:{broker.ws_port}/mqtt"
            assert broker.tcp_url == f"mqtt://127.0.0.1:{broker.tcp_port}"

    asyncio.run(run())


async def test_publish_over_ws_reaches_a_tcp_subscriber(broker: Broker) -> None:
    reader, writer, mqtt = await _tcp_client(broker, "sub")
    writer.write(encode(Subscribe(1, (Subscription("t/#"),))))
    await read_mqtt(reader, mqtt)
    ws = await _ws_client(broker, "pub")
    ws.send_packet(Publish("t/x", b"hello"))
    assert await read_mqtt(reader, mqtt) == [Publish("t/x", b"hello")]
    writer.close()
    await ws.close()


async def test_several_packets_in_one_frame_and_one_packet_over_frames_are_read(broker: Broker) -> None:
    ws = await _ws_client(broker)
    data = encode(Subscribe(1, (Subscription("a"),))) + encode(Pingreq())
    ws.send_frame(0x2, data[:3], fin=False)
    ws.send_frame(0x0, data[3:], fin=True)
    packets = await ws.read_packets()
    packets += [] if len(packets) == 2 else await ws.read_packets()
    assert [type(p).__name__ for p in packets] == ["Suback", "Pingresp"]
    await ws.close()


async def test_ping_frame_gets_a_pong_with_the_same_payload(broker: Broker) -> None:
    ws = await _ws_client(broker)
    ws.send_frame(0x9, b"beat")
    assert await ws.read_frame() == (True, 0xA, b"beat")
    await ws.close()


async def test_close_frame_is_echoed_and_the_connection_closed(broker: Broker) -> None:
    ws = await _ws_client(broker)
    ws.send_frame(0x8, (1001).to_bytes(2, "big") + b"bye")
    _fin, opcode, payload = await ws.read_frame()
    assert (opcode, int.from_bytes(payload[:2], "big")) == (0x8, 1001)
    assert await ws.at_eof() == b""


async def test_unmasked_client_frame_is_closed_with_1002(broker: Broker) -> None:
    ws = await _ws_client(broker)
    ws.send_frame(0x2, encode(Pingreq()), mask=False)
    _fin, opcode, payload = await ws.read_frame()
    assert (opcode, int.from_bytes(payload[:2], "big")) == (0x8, 1002)


async def test_text_frame_is_closed_with_1003(broker: Broker) -> None:
    ws = await _ws_client(broker)
    ws.send_frame(0x1, encode(Pingreq()))
    _fin, opcode, payload = await ws.read_frame()
    assert (opcode, int.from_bytes(payload[:2], "big")) == (0x8, 1003)


async def test_reserved_bits_are_closed_with_1002(broker: Broker) -> None:
    ws = await _ws_client(broker)
    ws.send_frame(0x2, encode(Pingreq()), rsv=0x40)
    _fin, opcode, payload = await ws.read_frame()
    assert (opcode, int.from_bytes(payload[:2], "big")) == (0x8, 1002)


async def test_malformed_packet_disconnects_only_its_sender_v5(broker: Broker) -> None:
    watcher_reader, watcher_writer, watcher_mqtt = await _tcp_client(broker, "watcher")
    watcher_writer.write(encode(Subscribe(1, (Subscription("wills/#"),))))
    await read_mqtt(watcher_reader, watcher_mqtt)
    bad = await open_ws(broker.ws_port)
    bad.version = V5
    bad.mqtt = PacketReader(V5)
    bad.send_packet(Connect(V5, "bad", will=Will("wills/bad", b"died")))
    assert isinstance((await bad.read_packets())[0], Connack)
    bad.send_frame(0x2, bytes((0x82, 3, 0, 1, 0)))  # SUBSCRIBE with no topic filter
    (disconnect,) = await bad.read_packets()
    assert disconnect == Disconnect(DisconnectReasonCode.MALFORMED_PACKET, disconnect.properties)  # type: ignore[union-attr]
    assert (await bad.read_frame())[1] == 0x8
    assert await read_mqtt(watcher_reader, watcher_mqtt) == [Publish("wills/bad", b"died")]
    await _still_serving(broker)
    watcher_writer.close()


async def test_packet_above_the_maximum_size_is_disconnected_with_0x95() -> None:
    async with Broker(BrokerConfig.ephemeral(max_packet_size=128)) as broker:
        assert broker.tcp_port is not None
        reader, writer = await open_tcp(broker.tcp_port)
        writer.write(encode(Connect(V5, "big")))
        mqtt = PacketReader(V5)
        await read_mqtt(reader, mqtt)
        writer.write(encode(Publish("t", b"x" * 500), V5))
        (disconnect,) = await read_mqtt(reader, mqtt)
        assert isinstance(disconnect, Disconnect)
        assert disconnect.reason_code == DisconnectReasonCode.PACKET_TOO_LARGE
        assert await reader.read() == b""


async def test_garbage_instead_of_http_gets_400(broker: Broker) -> None:
    assert broker.ws_port is not None
    reader, writer = await open_tcp(broker.ws_port)
    writer.write(b"\x10\x0c\x00\x04MQTT\x04\x02\x00<\x00\x00\r\n\r\n")
    data = await reader.read()
    assert data.startswith(b"HTTP/1.1 400")
    await _still_serving(broker)


@pytest.mark.parametrize(
    "first_bytes",
    [
        bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]),  # a TLS ClientHello
        b"\x10\x0c\x00\x04MQTT\x04\x02\x00<\x00\x00",  # an MQTT CONNECT
    ],
)
async def test_first_bytes_that_are_not_http_get_400_and_a_close_without_waiting(first_bytes: bytes) -> None:
    # An hour of handshake timeout: an answer can only come from reading the bytes.
    async with Broker(BrokerConfig.ephemeral(handshake_timeout=3600, sys_interval=0)) as broker:
        assert broker.ws_port is not None
        reader, writer = await open_tcp(broker.ws_port)
        writer.write(first_bytes)
        data = await asyncio.wait_for(reader.read(), 30)
        assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        assert data.endswith(b"this port serves MQTT over WebSocket (ws://).\n")
        await _still_serving(broker)


async def test_handshake_timeout_closes_a_silent_connection() -> None:
    async with Broker(BrokerConfig.ephemeral(handshake_timeout=0.1)) as broker:
        assert broker.ws_port is not None
        reader, _writer = await open_tcp(broker.ws_port)
        assert await asyncio.wait_for(reader.read(), 5) == b""


async def test_connect_timeout_closes_a_connection_without_connect() -> None:
    async with Broker(BrokerConfig.ephemeral(connect_timeout=0.1, tick_interval=0.05)) as broker:
        assert broker.tcp_port is not None
        reader, _writer = await open_tcp(broker.tcp_port)
        assert await asyncio.wait_for(reader.read(), 5) == b""


async def test_connection_limit_closes_extra_connections() -> None:
    async with Broker(BrokerConfig.ephemeral(max_connections=1)) as broker:
        first = await _tcp_client(broker, "first")
        reader, _writer = await open_tcp(broker.tcp_port)  # type: ignore[arg-type]
        assert await asyncio.wait_for(reader.read(), 5) == b""
        first[1].close()


async def test_stop_publishes_wills_of_connected_clients() -> None:
    broker = Broker(BrokerConfig.ephemeral())
    await broker.start()
    ws = await open_ws(broker.ws_port)
    ws.send_packet(Connect(ProtocolVersion.V311, "dev", will=Will("status/dev", b"offline", retain=True)))
    await ws.read_packets()
    await broker.stop()
    assert broker.state.router.retained["status/dev"].payload == b"offline"
    _fin, opcode, payload = await ws.read_frame()
    assert (opcode, int.from_bytes(payload[:2], "big")) == (0x8, 1001)  # RFC 6455 §7.4.1 going away


async def test_in_process_publish_is_seen_like_any_other(broker: Broker) -> None:
    ws = await _ws_client(broker)
    ws.send_packet(Subscribe(1, (Subscription("demo/#", qos=1),)))
    await ws.read_packets()
    broker.publish("demo/x", b"1", qos=1)
    (message,) = await ws.read_packets()
    assert isinstance(message, Publish)
    assert (message.topic, message.payload, message.qos) == ("demo/x", b"1", 1)
    await ws.close()


async def test_session_takeover_sends_0x8e_to_the_old_v5_connection(broker: Broker) -> None:
    old = await _ws_client(broker, "same", V5)
    new = await _ws_client(broker, "same", V5)
    (disconnect,) = await old.read_packets()
    assert disconnect == Disconnect(DisconnectReasonCode.SESSION_TAKEN_OVER)
    assert (await old.read_frame())[1] == 0x8
    new.send_packet(Pingreq())
    assert await new.read_packets() == [Pingresp()]


async def test_connect_subscribe_and_publish_pipelined_in_one_frame_v5(broker: Broker) -> None:
    from explorer.mqtt.packets import Properties, Suback

    assert broker.ws_port is not None
    ws = await open_ws(broker.ws_port)
    ws.version = V5
    ws.mqtt = PacketReader(V5)
    subscribe = Subscribe(1, (Subscription("a"),), Properties(subscription_identifiers=(5,)))
    ws.send_frame(
        0x2, encode(Connect(V5, "pipelined")) + encode(subscribe, V5) + encode(Publish("a", b"x"), V5)
    )
    packets: list[object] = []
    while len(packets) < 3:
        packets += await ws.read_packets()
    assert [type(p) for p in packets] == [Connack, Suback, Publish]
    assert packets[2].properties.subscription_identifiers == (5,)  # type: ignore[attr-defined]


def test_package_exports_the_broker_lazily() -> None:
    import explorer.broker

    assert explorer.broker.Broker is Broker


async def test_slow_consumer_gets_qos0_dropped_and_buffers_stay_bounded() -> None:
    high_water = 64 * 1024
    async with Broker(BrokerConfig.ephemeral(write_high_water=high_water, sys_interval=0)) as broker:
        reader, writer, mqtt = await _tcp_client(broker, "slow")
        writer.write(encode(Subscribe(1, (Subscription("flood"),))))
        await read_mqtt(reader, mqtt)
        # The subscriber now stops reading; the kernel buffers fill, then the transport's.
        (link,) = [link for link in broker.links if link.conn is not None and link.conn.client_id == "slow"]
        payload = b"x" * 1024
        for _ in range(20_000):
            broker.publish("flood", payload)
        assert broker.state.stats.messages_dropped > 0
        assert link.transport is not None
        assert link.transport.get_write_buffer_size() <= high_water + len(payload) + 16


async def test_busy_port_is_a_clear_error_naming_the_flag() -> None:
    from explorer.errors import ExplorerError

    async with Broker(BrokerConfig.ephemeral(tcp_port=None)) as first:
        second = Broker(BrokerConfig.ephemeral(ws_port=first.ws_port, tcp_port=None))
        with pytest.raises(ExplorerError, match="--ws-port 0"):
            await second.start()


async def test_demo_broker_serves_retained_status_and_live_sensor_data() -> None:
    async with Broker(BrokerConfig.ephemeral(demo=True, demo_rate=50)) as broker:
        ws = await _ws_client(broker, "viewer")
        ws.send_packet(Subscribe(1, (Subscription("demo/#"),)))
        topics: set[str] = set()
        while not any(t.endswith("/temperature") for t in topics):
            for packet in await ws.read_packets():
                if isinstance(packet, Publish):
                    topics.add(packet.topic)
        assert "demo/devices/plug-7/status" in topics
