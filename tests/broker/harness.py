"""An in-memory client for BrokerState: packets in, decoded packets out, no sockets."""

from __future__ import annotations

from typing import Any

from explorer.broker.config import BrokerConfig
from explorer.broker.session import Connection
from explorer.broker.state import BrokerState
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack, Connect, Packet, Publish, Subscribe, Subscription
from explorer.mqtt.reader import PacketReader

V311 = ProtocolVersion.V311
V5 = ProtocolVersion.V5
V31 = ProtocolVersion.V31


def make_state(**config: Any) -> BrokerState:
    config.setdefault("sys_interval", 0)
    return BrokerState(BrokerConfig.ephemeral(**config), now=0.0)


class Client:
    """One connection to ``state``; ``sent`` packets go through the real codec both ways."""

    def __init__(self, state: BrokerState, version: ProtocolVersion = V311, now: float = 0.0) -> None:
        self.state = state
        self.version = version
        self.conn: Connection = state.connection_made(now, peer="test")
        self.reader = PacketReader(version)
        self.inbox: list[Packet] = []
        self.held: list[Packet] = []  # packets that came with the CONNACK (resent session state)

    def send(self, packet: Packet, now: float = 0.0) -> None:
        # Round-trip through the codec so that the broker sees exactly what a peer would send.
        data = encode(packet, self.version)
        for item in PacketReader(self.version).receive_data(data):
            assert item.packet is not None
            self.state.receive_packet(self.conn, item.packet, now)

    def receive(self) -> list[Packet]:
        """Packets the broker queued for this client since the last call."""
        self.state.take_dirty()
        data = b"".join(self.conn.outbox)
        self.conn.outbox.clear()
        packets = [item.packet for item in self.reader.receive_data(data) if item.packet is not None]
        if self.held:
            packets[:0] = self.held
            self.held = []
        self.inbox.extend(packets)
        return packets

    def publishes(self) -> list[Publish]:
        return [p for p in self.receive() if isinstance(p, Publish)]

    def is_closed(self) -> bool:
        """Whether the broker asked to close this connection (a method, so checks are not narrowed)."""
        return self.conn.close_requested

    def lose(self, now: float = 0.0) -> None:
        """The network connection drops (no DISCONNECT)."""
        self.state.connection_lost(self.conn, now)


def connect(
    state: BrokerState,
    client_id: str = "c1",
    version: ProtocolVersion = V311,
    now: float = 0.0,
    **fields: Any,
) -> Client:
    client = Client(state, version, now)
    client.send(Connect(version, client_id, **fields), now)
    packets = client.receive()
    assert packets, "no CONNACK"
    assert isinstance(packets[0], Connack)
    client.connack = packets[0]  # type: ignore[attr-defined]
    client.held = packets[1:]
    return client


def subscribe(client: Client, *filters: str, qos: int = 0, pid: int = 1, **options: Any) -> list[Packet]:
    subs = tuple(Subscription(f, qos, **options) for f in filters)
    client.send(Subscribe(pid, subs))
    return client.receive()
