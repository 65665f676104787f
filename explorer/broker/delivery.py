"""Outbound delivery: from a routed message to PUBLISH bytes in a connection's outbox.

Rules in this file: QoS is the minimum of the message's and the subscription's
(MQTT 5.0 §3.8.4); QoS 1/2 messages beyond the in-flight window (the client's
Receive Maximum, §4.9) wait in the session queue, which is bounded (``max_queued``,
newest dropped); QoS 0 messages to an offline session are not queued, and QoS 0 to a
congested connection (write buffer above the high-water mark) are dropped: that is
the slow consumer policy. Expired messages are dropped when their turn comes
(§3.3.2.3.3). A packet larger than the client's Maximum Packet Size is discarded as if
it had been sent ([MQTT-3.1.2-25]).
"""

from __future__ import annotations

from explorer.broker.session import BrokerSession, Connection, InFlight, Message, Queued, Stats, plain_publish
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import NO_PROPERTIES, Publish, Pubrel

__all__ = ["Outbound"]

V5 = ProtocolVersion.V5


class Outbound:
    """Puts messages into sessions; owned by :class:`explorer.broker.state.BrokerState`."""

    def __init__(self, stats: Stats, dirty: dict[int, Connection], max_queued: int) -> None:
        self.stats = stats
        self.dirty = dirty
        self.max_queued = max_queued

    def write(self, conn: Connection, data: bytes) -> None:
        conn.outbox.append(data)
        self.dirty[conn.id] = conn

    def deliver(
        self,
        session: BrokerSession,
        message: Message,
        *,
        qos: int,
        retain: bool,
        identifiers: tuple[int, ...],
        now: float,
    ) -> None:
        conn = session.connection
        qos = min(qos, message.qos)
        if qos == 0:
            if conn is None or not conn.connected or conn.congested:
                self.stats.messages_dropped += 1
                return
            version = conn.version or 4
            if identifiers:
                props = message.properties_for(version, identifiers, now)
                packet = Publish(message.topic, message.payload, 0, retain, False, None, props)
                data = encode(packet, ProtocolVersion(version))
            else:
                data = message.qos0_bytes(version, retain, now)
            if conn.max_packet_out is not None and len(data) > conn.max_packet_out:
                self.stats.messages_dropped += 1
                return
            conn.outbox.append(data)
            self.dirty[conn.id] = conn
            self.stats.messages_sent += 1
            return
        item = Queued(message, qos, retain, identifiers)
        if (
            conn is not None
            and conn.connected
            and not session.queue
            and len(session.inflight) < conn.send_quota
        ):
            self._send_new(session, conn, item, now)
            return
        if len(session.queue) >= self.max_queued:
            self.stats.messages_dropped += 1
            return
        session.queue.append(item)

    def _send_new(self, session: BrokerSession, conn: Connection, item: Queued, now: float) -> None:
        pid = session.allocate_packet_id()
        entry = InFlight(item.message, item.qos, item.retain, item.identifiers)
        if self._send_publish(conn, entry, pid, dup=False, now=now):
            session.inflight[pid] = entry

    def _send_publish(self, conn: Connection, entry: InFlight, pid: int, *, dup: bool, now: float) -> bool:
        """Encode and queue; False when the packet could not go (too large for the client)."""
        version = conn.version or 4
        message = entry.message
        if not entry.identifiers and (message.properties is NO_PROPERTIES or version != V5):
            v5 = version == V5
            data = plain_publish(
                message.topic, message.payload, entry.retain, v5=v5, qos=entry.qos, pid=pid, dup=dup
            )
        else:
            props = message.properties_for(version, entry.identifiers, now)
            packet = Publish(message.topic, message.payload, entry.qos, entry.retain, dup, pid, props)
            data = encode(packet, ProtocolVersion(version))
        if conn.max_packet_out is not None and len(data) > conn.max_packet_out:
            # [MQTT-3.1.2-25] discard as if sent and acknowledged.
            self.stats.messages_dropped += 1
            return False
        self.write(conn, data)
        self.stats.messages_sent += 1
        return True

    def drain(self, session: BrokerSession, now: float) -> None:
        """Move queued messages into the in-flight window while it has room."""
        conn = session.connection
        if conn is None or not conn.connected:
            return
        queue = session.queue
        while queue and len(session.inflight) < conn.send_quota:
            item = queue.popleft()
            if item.message.expired(now):
                self.stats.messages_dropped += 1
                continue
            self._send_new(session, conn, item, now)

    def resend(self, session: BrokerSession, now: float) -> None:
        """After a reconnect with a session present, resend what was in flight ([MQTT-4.4.0-1])."""
        conn = session.connection
        if conn is None:
            return
        version = ProtocolVersion(conn.version or 4)
        for pid, entry in list(session.inflight.items()):
            if entry.released:
                self.write(conn, encode(Pubrel(pid), version))
            elif entry.message.expired(now) or not self._send_publish(conn, entry, pid, dup=True, now=now):
                del session.inflight[pid]
        self.drain(session, now)
