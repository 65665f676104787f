"""The client Session paired in memory with the embedded broker's BrokerState: no sockets.

Both state machines share only bytes: the session's output is read into packets for
the broker, the broker's outbox is fed to the session, all on one injected clock.
"""

from __future__ import annotations

from explorer.broker.config import BrokerConfig
from explorer.broker.session import Connection
from explorer.broker.state import BrokerState
from explorer.client.options import ConnectionOptions
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Pingreq, Properties, Subscription
from explorer.mqtt.reader import PacketReader
from explorer.session import (
    Connected,
    MessageArrived,
    PublishCompleted,
    Session,
    SessionEvent,
    SubscribeCompleted,
)
from tests.session.helpers import Clock, ServerBytes


class Link:
    """One network connection between a Session and the BrokerState."""

    def __init__(self, broker: BrokerState, session: Session, clock: Clock) -> None:
        self.broker = broker
        self.session = session
        self.clock = clock
        self.conn: Connection = broker.connection_made(clock.now, peer="memory")
        self.reader = PacketReader()
        self.events: list[SessionEvent] = []
        self.to_broker: list[type] = []
        self.to_client = bytearray()
        self.wire = ServerBytes(session)  # the broker's bytes, read as the live client reads them

    def pump(self) -> list[SessionEvent]:
        """Move bytes both ways until both sides are quiet; return the session's new events."""
        new: list[SessionEvent] = []
        while True:
            moved = False
            data = self.session.data_to_send()
            if data:
                moved = True
                for item in self.reader.receive_data(data):
                    assert item.packet is not None, item.error
                    self.to_broker.append(type(item.packet))
                    self.broker.receive_packet(self.conn, item.packet, self.clock.now)
            self.broker.take_dirty()
            if self.conn.outbox:
                moved = True
                out = b"".join(self.conn.outbox)
                self.conn.outbox.clear()
                self.to_client += out
                self.wire.feed(out)
            new.extend(self.session.events_received())
            if not moved:
                self.events.extend(new)
                return new

    def lose(self) -> None:
        self.broker.connection_lost(self.conn, self.clock.now)
        self.session.connection_lost()


def open_session(
    broker: BrokerState, clock: Clock, version: ProtocolVersion = ProtocolVersion.V5, **options: object
) -> Link:
    opts = ConnectionOptions(url="mqtt://memory", mqtt_version=version).with_changes(**options)
    session = Session(opts, clock=clock)
    link = Link(broker, session, clock)
    session.send_connect()
    events = link.pump()
    assert any(isinstance(e, Connected) for e in events), events
    return link


def make_broker(clock: Clock, **config: object) -> BrokerState:
    return BrokerState(BrokerConfig.ephemeral(sys_interval=0, **config), now=clock.now)


def test_paired_publish_every_qos_reaches_the_subscriber_and_frees_ids() -> None:
    clock = Clock()
    broker = make_broker(clock)
    sub = open_session(broker, clock)
    pub = open_session(broker, clock, ProtocolVersion.V311)
    sub.session.send_subscribe([Subscription("s/#", qos=2)])
    assert any(isinstance(e, SubscribeCompleted) for e in sub.pump())
    for qos in (0, 1, 2):
        packet_id = pub.session.send_publish("s/1", f"m{qos}".encode(), qos=qos)
        completed = [e for e in pub.pump() if isinstance(e, PublishCompleted)]
        if qos:
            assert [(c.packet_id, c.ok) for c in completed] == [(packet_id, True)]
        arrived = [e for e in sub.pump() if isinstance(e, MessageArrived)]
        assert [(m.publish.payload, m.publish.qos) for m in arrived] == [(f"m{qos}".encode(), qos)]
    assert pub.session.packet_ids_in_use == frozenset()
    assert sub.session.held_inbound_ids == frozenset()


def test_paired_window_follows_the_broker_receive_maximum() -> None:
    clock = Clock()
    broker = make_broker(clock, receive_maximum=2)
    link = open_session(broker, clock)
    assert link.session.limits.receive_maximum == 2
    for n in range(5):
        link.session.send_publish("w", bytes([n]), qos=2)
    assert (link.session.in_flight, link.session.queued) == (2, 3)
    completed = [e for e in link.pump() if isinstance(e, PublishCompleted)]
    assert len(completed) == 5
    assert (link.session.in_flight, link.session.queued) == (0, 0)


def test_paired_keep_alive_ping_is_answered() -> None:
    clock = Clock()
    broker = make_broker(clock)
    link = open_session(broker, clock, keep_alive=30)
    deadline = link.session.next_deadline()
    assert deadline is not None
    clock.now = deadline
    link.session.handle_timer(clock.now)
    link.pump()
    assert link.to_broker[-1] is Pingreq
    assert link.session.next_deadline() == clock.now + 30  # PINGRESP came back
    assert link.to_client.endswith(b"\xd0\x00")  # PINGRESP bytes


def test_paired_persistent_session_is_resumed_with_queued_messages() -> None:
    clock = Clock()
    broker = make_broker(clock)
    options = {"client_id": "resume-me", "clean_start": False, "session_expiry_interval": 600}
    link = open_session(broker, clock, **options)
    link.session.send_subscribe([Subscription("q", qos=1)])
    link.pump()
    link.lose()
    other = open_session(broker, clock)
    other.session.send_publish("q", b"while away", qos=1, properties=Properties(content_type="text/plain"))
    other.pump()
    again = Link(broker, link.session, clock)
    link.session.send_connect()
    events = again.pump()
    connected = next(e for e in events if isinstance(e, Connected))
    assert connected.session_present
    (message,) = [e for e in events if isinstance(e, MessageArrived)]
    assert message.publish.payload == b"while away"
    assert message.publish.properties.content_type == "text/plain"
