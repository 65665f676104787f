"""A scripted server for Session tests: our codec on the server side, an injected clock.

The server's bytes reach the session as they do in the live client: parsed once by the
connection's decoder (``explorer.client.trace.ConnectionTrace``), whose packets the
session takes. A CONNECT from the session starts a new network connection, and so a new
decoder.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from explorer.client.options import ConnectionOptions
from explorer.client.trace import ConnectionTrace
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ConnackReasonCode, ConnectReturnCode, ProtocolVersion
from explorer.mqtt.packets import NO_PROPERTIES, Connack, Connect, Packet, Properties
from explorer.mqtt.reader import PacketReader
from explorer.session import Connected, Session, SessionEvent


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


class ServerBytes:
    """The server's bytes on one network connection, read as the live client reads them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.trace = ConnectionTrace(
            0,
            session.options,
            next_seq=itertools.count().__next__,
            emit=lambda event: None,
            clock=lambda: 0.0,
        )

    def feed(self, data: bytes) -> None:
        self.trace.tap("s2c", data)
        self.trace.deliver(self.session)


class ScriptedServer:
    """Reads what the session sends and answers with packets we choose."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.version = session.version
        self.reader = PacketReader(session.version)
        self.wire = ServerBytes(session)

    def take(self) -> list[Packet]:
        """Packets the session has written since the last call."""
        items = self.reader.receive_data(self.session.data_to_send())
        packets = []
        for item in items:
            assert item.packet is not None, item.error
            if isinstance(item.packet, Connect):
                self.wire = ServerBytes(self.session)  # a new network connection
            packets.append(item.packet)
        return packets

    def send_bytes(self, data: bytes) -> list[SessionEvent]:
        self.wire.feed(data)
        return self.session.events_received()

    def send(self, *packets: Packet) -> list[SessionEvent]:
        return self.send_bytes(b"".join(encode(p, self.version) for p in packets))


def make_session(
    version: ProtocolVersion = ProtocolVersion.V5, **options: object
) -> tuple[Session, ScriptedServer, Clock]:
    clock = Clock()
    opts = ConnectionOptions(url="mqtt://127.0.0.1:1883", mqtt_version=version).with_changes(**options)
    session = Session(opts, clock=clock)
    return session, ScriptedServer(session), clock


def connect(
    session: Session,
    server: ScriptedServer,
    *,
    properties: Properties = NO_PROPERTIES,
    session_present: bool = False,
) -> Connected:
    """CONNECT, then an accepting CONNACK; returns the Connected event."""
    session.send_connect()
    server.take()
    code = ConnackReasonCode.SUCCESS if session.version == ProtocolVersion.V5 else ConnectReturnCode.ACCEPTED
    events = server.send(Connack(session_present=session_present, reason_code=code, properties=properties))
    connected = [e for e in events if isinstance(e, Connected)]
    assert len(connected) == 1, events
    return connected[0]
