"""The only-mqtt3.1.1 fault mode: the embedded broker answers an MQTT 5.0 CONNECT the way a
3.1.1-only broker does (return code 1 in a 3.1.1 CONNACK, then it closes)."""

from __future__ import annotations

import asyncio

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ConnectReturnCode, ProtocolVersion
from explorer.mqtt.packets import Connack, Connect
from explorer.mqtt.reader import PacketReader
from tests.broker.rawclient import open_tcp, read_mqtt


async def test_only_311_answers_a_v5_connect_with_return_code_1_and_closes() -> None:
    config = BrokerConfig.ephemeral(sys_interval=0, faults=parse_faults(["only-mqtt3.1.1"]))
    async with Broker(config) as broker:
        assert broker.tcp_port is not None
        reader, writer = await open_tcp(broker.tcp_port)
        writer.write(encode(Connect(client_id="v5", protocol_version=ProtocolVersion.V5), ProtocolVersion.V5))
        answer = await asyncio.wait_for(reader.read(), 5)  # everything until the broker closes
        assert answer == bytes([0x20, 0x02, 0x00, 0x01])  # MQTT 3.1.1 §3.2: no properties
        writer.close()

        reader, writer = await open_tcp(broker.tcp_port)
        writer.write(encode(Connect(client_id="v311"), ProtocolVersion.V311))
        (connack,) = await read_mqtt(reader, PacketReader(ProtocolVersion.V311))
        assert isinstance(connack, Connack)
        assert connack.reason_code == ConnectReturnCode.ACCEPTED
        writer.close()
