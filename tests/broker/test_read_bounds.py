"""The work per read callback is bounded: a backlog is served READ_SIZE bytes at a time.

A publisher far ahead of the broker must not get the whole backlog handled in one
callback (that stalls the event loop the broker shares with the explorer); and packets
and frames cut by the read buffer's edge must come out whole, with their own bytes.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import READ_SIZE, Broker
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import (
    Connack,
    Connect,
    Pingreq,
    Pingresp,
    Publish,
    Suback,
    Subscribe,
    Subscription,
)
from explorer.mqtt.reader import PacketReader
from tests.broker.rawclient import TIMEOUT, RawWebSocket, open_tcp, open_ws, read_mqtt

V311 = ProtocolVersion.V311


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    # A high write mark: the subscriber must get every QoS 0 message of the backlog.
    config = BrokerConfig.ephemeral(tick_interval=0.05, sys_interval=0, write_high_water=256 * 1024 * 1024)
    async with Broker(config) as running:
        yield running


async def _tcp(broker: Broker, client_id: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    assert broker.tcp_port is not None
    reader, writer = await open_tcp(broker.tcp_port)
    writer.write(encode(Connect(V311, client_id)))
    assert await read_mqtt(reader, PacketReader()) == [Connack()]
    return reader, writer


async def _subscriber(broker: Broker) -> tuple[asyncio.StreamReader, PacketReader]:
    reader, writer = await _tcp(broker, "sub")
    writer.write(encode(Subscribe(1, (Subscription("t/#"),))))
    mqtt = PacketReader()
    (suback,) = await read_mqtt(reader, mqtt)
    assert isinstance(suback, Suback)
    return reader, mqtt


async def _receive(reader: asyncio.StreamReader, mqtt: PacketReader, count: int) -> list[Publish]:
    """The next ``count`` PUBLISHes, however the broker's writes are cut."""
    out: list[Publish] = []
    while len(out) < count:
        data = await asyncio.wait_for(reader.read(1 << 20), TIMEOUT)
        assert data, f"subscriber closed after {len(out)} of {count} messages"
        for item in mqtt.receive_data(data):
            assert isinstance(item.packet, Publish), item
            out.append(item.packet)
    return out


def _backlog(total: int) -> list[Publish]:
    """QoS 0 PUBLISHes of uneven sizes, each payload its own random bytes, ``total`` bytes in all."""
    messages: list[Publish] = []
    size = 0
    index = 0
    while size < total:
        payload = os.urandom(17 + index * 37 % 300)
        message = Publish(f"t/{index}", payload)
        messages.append(message)
        size += len(encode(message))
        index += 1
    return messages


async def test_a_one_mebibyte_backlog_is_served_over_many_bounded_callbacks(broker: Broker) -> None:
    sub_reader, sub_mqtt = await _subscriber(broker)
    reader, writer = await _tcp(broker, "firehose")
    messages = _backlog(1 << 20)
    stream = b"".join(encode(message) for message in messages)
    assert len(stream) >= 1 << 20
    before = broker.reads
    writer.write(stream + encode(Pingreq()))  # all at once, as a publisher far ahead would
    assert await read_mqtt(reader, PacketReader()) == [Pingresp()]
    # Each callback takes at most READ_SIZE bytes, so the backlog needed at least this many.
    assert broker.reads - before >= len(stream) // READ_SIZE
    received = await _receive(sub_reader, sub_mqtt, len(messages))
    assert [(p.topic, p.payload) for p in received] == [(m.topic, m.payload) for m in messages]


async def test_another_connection_is_answered_while_a_backlog_is_pending(broker: Broker) -> None:
    sub_reader, sub_mqtt = await _subscriber(broker)
    other_reader, other_writer = await _tcp(broker, "other")
    reader, writer = await _tcp(broker, "firehose")
    messages = _backlog(4 << 20)
    writer.write(b"".join(encode(message) for message in messages))
    other_writer.write(encode(Pingreq()))
    assert await read_mqtt(other_reader, PacketReader()) == [Pingresp()]
    # Answered in the middle: the firehose's messages have not all been routed yet.
    assert broker.state.stats.bytes_received < sum(len(encode(m)) for m in messages)
    received = await _receive(sub_reader, sub_mqtt, len(messages))
    assert [p.payload for p in received] == [m.payload for m in messages]
    writer.write(encode(Pingreq()))
    assert await read_mqtt(reader, PacketReader()) == [Pingresp()]


@pytest.mark.parametrize("size", [READ_SIZE - 7, READ_SIZE + 1, 3 * READ_SIZE + 5, 1 << 20])
async def test_a_tcp_publish_cut_by_the_read_buffer_is_reassembled(broker: Broker, size: int) -> None:
    sub_reader, sub_mqtt = await _subscriber(broker)
    _reader, writer = await _tcp(broker, "pub")
    messages = [Publish("t/a", os.urandom(100)), Publish("t/big", os.urandom(size)), Publish("t/z", b"end")]
    writer.write(b"".join(encode(message) for message in messages))
    received = await _receive(sub_reader, sub_mqtt, len(messages))
    assert [(p.topic, p.payload) for p in received] == [(m.topic, m.payload) for m in messages]


@pytest.mark.parametrize("size", [READ_SIZE - 7, READ_SIZE + 1, 3 * READ_SIZE + 5, 1 << 20])
async def test_a_websocket_frame_cut_by_the_read_buffer_is_reassembled(broker: Broker, size: int) -> None:
    sub_reader, sub_mqtt = await _subscriber(broker)
    assert broker.ws_port is not None
    ws: RawWebSocket = await open_ws(broker.ws_port)
    assert ws.response.status == 101
    ws.send_packet(Connect(V311, "ws-pub"))
    assert await ws.read_packets() == [Connack()]
    messages = [Publish("t/a", os.urandom(100)), Publish("t/big", os.urandom(size)), Publish("t/z", b"end")]
    # One frame per packet, plus one packet cut across two frames: both kinds of
    # partial state (frame and packet) straddle read buffers.
    big = encode(messages[1])
    ws.send_packet(messages[0])
    ws.send_frame(0x2, big[: len(big) // 2])
    ws.send_frame(0x2, big[len(big) // 2 :])
    ws.send_packet(messages[2])
    received = await _receive(sub_reader, sub_mqtt, len(messages))
    assert [(p.topic, p.payload) for p in received] == [(m.topic, m.payload) for m in messages]
