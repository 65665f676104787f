"""Record what a real client sends to the broker: the seeds of the broker fuzz tests.

``python -m tests.fuzz.record_broker_seeds`` runs the embedded broker, puts a recording
TCP proxy in front of it and drives paho-mqtt through it over TCP and WebSocket, MQTT
3.1.1 and 5.0 (connect with a will and a user name, subscribe and publish at every QoS,
MQTT 5 properties, unsubscribe, disconnect). The bytes each client sent are written to
``tests/fuzz/corpus/broker/seeds/``; the fuzz tests mutate them. Run it again only to
change the seeds.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from tests.broker.paho_helper import Paho

__all__ = ["SEEDS", "main"]

SEEDS = Path(__file__).resolve().parent / "corpus" / "broker" / "seeds"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: bytearray | None) -> None:
    while data := await reader.read(65536):
        if record is not None:
            record += data
        writer.write(data)
        await writer.drain()
    writer.close()


async def _serve(
    recorded: list[bytearray], ready: threading.Event, ports: dict[str, int], stop: asyncio.Event
) -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:

        def proxy_to(port: int):  # type: ignore[no-untyped-def]
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
                record = bytearray()
                recorded.append(record)
                await asyncio.gather(_pipe(reader, up_writer, record), _pipe(up_reader, writer, None))

            return handle

        servers = []
        for name, port in (("tcp", broker.tcp_port), ("ws", broker.ws_port)):
            assert port is not None
            server = await asyncio.start_server(proxy_to(port), "127.0.0.1", 0)
            servers.append(server)
            ports[name] = server.sockets[0].getsockname()[1]
        ready.set()
        await stop.wait()
        for server in servers:
            server.close()


def _session(port: int, websocket: bool, protocol: mqtt.MQTTProtocolVersion) -> None:
    v5 = protocol == mqtt.MQTTv5
    client = Paho(port, websocket=websocket, protocol=protocol, client_id=f"seed-{int(websocket)}{int(v5)}")
    client.client.username_pw_set("alice", "not-a-secret")
    client.client.will_set("seed/will", b"gone", qos=1, retain=True)
    client.connect(keepalive=30)
    for qos in (0, 1, 2):
        client.subscribe(f"seed/{qos}/#", qos)
    for qos in (0, 1, 2):
        extra = {"ContentType": "text/plain", "MessageExpiryInterval": 60} if v5 else {}
        client.publish(f"seed/{qos}/x", b"payload %d" % qos * 8, qos, **extra)
        client.get()
    client.publish("seed/retained", b"kept", 1, retain=True)
    client.client.unsubscribe("seed/0/#")
    time.sleep(0.2)  # the UNSUBACK; paho has no blocking call for it
    client.stop()


def main() -> int:
    recorded: list[bytearray] = []
    ready = threading.Event()
    ports: dict[str, int] = {}
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(_serve(recorded, ready, ports, stop),))
    thread.start()
    ready.wait(10)
    SEEDS.mkdir(parents=True, exist_ok=True)
    try:
        for transport in ("tcp", "ws"):
            for name, protocol in (("v311", mqtt.MQTTv311), ("v5", mqtt.MQTTv5)):
                count = len(recorded)
                _session(ports[transport], transport == "ws", protocol)
                time.sleep(0.2)  # the proxy's last read
                data = bytes(b"".join(recorded[count:]))
                (SEEDS / f"paho-{transport}-{name}.bin").write_bytes(data)
                print(f"{transport} {name}: {len(data)} bytes")
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
