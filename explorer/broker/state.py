"""The broker as a Sans-I/O state machine: packets and clock ticks in, bytes out.

Inputs: :meth:`BrokerState.connection_made`, :meth:`receive_packet`,
:meth:`receive_error` (a malformed packet), :meth:`connection_lost`,
:meth:`handle_timer` with an injected ``now``, :meth:`publish` for messages made
inside the process ($SYS, the demo publisher). Outputs: each touched
:class:`~explorer.broker.session.Connection` has encoded packets in ``outbox`` and
possibly ``close_requested``; :meth:`take_dirty` hands them to the driver once per
read, so each connection gets one write per read.

Only MQTT semantics live here: no sockets, no asyncio, no WebSocket. Publish and
subscribe handling is in ``explorer.broker.routing``, the outbound QoS flow in
``explorer.broker.delivery``. A rule the client breaks ends its connection only
(with a v5 DISCONNECT carrying the reason code, MQTT 5.0 §4.13); nothing a client
sends may raise out of this class.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import replace

from explorer.broker.auth import Acl, PasswordFile
from explorer.broker.config import BrokerConfig
from explorer.broker.delivery import Outbound
from explorer.broker.routing import Router
from explorer.broker.session import BrokerSession, Connection, LinkState, Message, Stats, ack_bytes
from explorer.broker.sys_topics import sys_messages
from explorer.errors import MalformedPacket, PacketTooLarge
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import (
    ConnackReasonCode,
    ConnectReturnCode,
    DisconnectReasonCode,
    ProtocolVersion,
    PubcompReasonCode,
    PubrelReasonCode,
)
from explorer.mqtt.packets import (
    NO_PROPERTIES,
    Auth,
    Connack,
    Connect,
    Disconnect,
    Packet,
    Pingreq,
    Pingresp,
    Properties,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Subscribe,
    Unsubscribe,
    Will,
)

__all__ = ["BrokerState", "v3_return_code"]

_LOG = logging.getLogger("explorer.broker")
V5 = ProtocolVersion.V5
_NEVER = 0xFFFFFFFF

# MQTT 5.0 CONNACK reason -> nearest 3.1.1 return code (§3.2.2.3 of 3.1.1).
_V3_CODES = {
    ConnackReasonCode.UNSUPPORTED_PROTOCOL_VERSION: ConnectReturnCode.UNACCEPTABLE_PROTOCOL_VERSION,
    ConnackReasonCode.CLIENT_IDENTIFIER_NOT_VALID: ConnectReturnCode.IDENTIFIER_REJECTED,
    ConnackReasonCode.BAD_USER_NAME_OR_PASSWORD: ConnectReturnCode.BAD_USERNAME_OR_PASSWORD,
    ConnackReasonCode.NOT_AUTHORIZED: ConnectReturnCode.NOT_AUTHORIZED,
    ConnackReasonCode.BANNED: ConnectReturnCode.NOT_AUTHORIZED,
    ConnackReasonCode.BAD_AUTHENTICATION_METHOD: ConnectReturnCode.NOT_AUTHORIZED,
}


def v3_return_code(code: ConnackReasonCode) -> ConnectReturnCode:
    """The 3.1/3.1.1 CONNACK return code closest to an MQTT 5 reason code."""
    if code == ConnackReasonCode.SUCCESS:
        return ConnectReturnCode.ACCEPTED
    return _V3_CODES.get(code, ConnectReturnCode.SERVER_UNAVAILABLE)


class BrokerState:
    """All sessions, subscriptions and retained messages of one broker."""

    def __init__(
        self,
        config: BrokerConfig | None = None,
        *,
        passwords: PasswordFile | None = None,
        acl: Acl | None = None,
        now: float = 0.0,
    ) -> None:
        self.config = config or BrokerConfig()
        self.passwords = passwords
        self.acl = acl
        self.stats = Stats(started=now)
        self.connections: dict[int, Connection] = {}
        self.sessions: dict[str, BrokerSession] = {}
        self.dirty: dict[int, Connection] = {}
        self.outbound = Outbound(self.stats, self.dirty, self.config.max_queued)
        self.router = Router(self)
        self._ids = itertools.count(1)
        self._auto_ids = itertools.count(1)
        self._next_sys = now
        # Optional observer for views that list clients: told when a connection is
        # connected (CONNACK sent) and when it is closed.
        self.on_event: Callable[[LinkState, Connection], None] | None = None
        # Optional observer of the PUBLISH packets clients send (the demo's Sparkplug node reads its NCMD).
        self.on_publish: Callable[[Publish], None] | None = None

    # -- driver interface ------------------------------------------------------------------

    def connection_made(self, now: float, *, peer: str = "", transport: str = "tcp") -> Connection:
        conn = Connection(next(self._ids), peer, transport, opened=now, last_received=now)
        self.connections[conn.id] = conn
        return conn

    def take_dirty(self) -> list[Connection]:
        """Connections with bytes to send or a close request, since the last call."""
        if not self.dirty:
            return []
        conns = list(self.dirty.values())
        self.dirty.clear()
        return conns

    def receive_packet(self, conn: Connection, packet: Packet, now: float, raw: bytes | None = None) -> None:
        """Handle one decoded packet; ``raw`` (its exact bytes) lets a QoS 0 PUBLISH be forwarded as is."""
        if conn.closed or conn.close_requested:
            return
        conn.last_received = now
        try:
            if conn.session is None:
                if isinstance(packet, Connect):
                    self._connect(conn, packet, now)
                else:
                    # [MQTT-3.1.0-1] the first packet must be CONNECT.
                    self.protocol_violation(conn, f"expected CONNECT first, got {type(packet).__name__}")
                return
            if isinstance(packet, Publish):
                self.stats.publish_received += 1
                self.router.publish_received(conn, packet, now, raw)
                if self.on_publish is not None:
                    self.on_publish(packet)
            elif isinstance(packet, Puback):
                self._acked(conn, packet.packet_id, now, qos=1)
            elif isinstance(packet, Pubrec):
                self._pubrec(conn, packet, now)
            elif isinstance(packet, Pubrel):
                self._pubrel(conn, packet)
            elif isinstance(packet, Pubcomp):
                self._acked(conn, packet.packet_id, now, qos=2)
            elif isinstance(packet, Subscribe):
                self.router.subscribe(conn, packet, now)
            elif isinstance(packet, Unsubscribe):
                self.router.unsubscribe(conn, packet)
            elif isinstance(packet, Pingreq):
                self.send(conn, Pingresp())
            elif isinstance(packet, Disconnect):
                self._disconnect(conn, packet, now)
            elif isinstance(packet, Connect):
                # [MQTT-3.1.0-2] a second CONNECT is a protocol violation.
                self.protocol_violation(conn, "second CONNECT on one connection")
            elif isinstance(packet, Auth):
                self.protocol_violation(conn, "AUTH without an authentication method")
            else:
                self.protocol_violation(conn, f"a client must not send {type(packet).__name__}")
        except Exception:  # a bug must cost one connection, not the broker
            _LOG.exception("internal error handling a packet from %s", conn.label())
            self.close(conn, DisconnectReasonCode.IMPLEMENTATION_SPECIFIC_ERROR, code=1011)

    def receive_error(self, conn: Connection, error: MalformedPacket, now: float) -> None:
        """A packet from ``conn`` could not be decoded: DISCONNECT 0x81 (0x95 if too large)."""
        self.stats.protocol_errors += 1
        _LOG.warning("protocol error from %s: %s", conn.label(), error)
        if conn.session is None and "unsupported protocol" in error.reason:
            # [MQTT-3.1.2-2] answer an unsupported protocol level with return code 1, then close.
            self.send_raw(conn, encode(Connack(False, ConnectReturnCode.UNACCEPTABLE_PROTOCOL_VERSION)))
            self.stats.connections_refused += 1
            self.close(conn, None, code=1002)
            return
        if isinstance(error, PacketTooLarge):
            # Before the CONNECT (the packet is bounded by max_connect_size) there is no
            # DISCONNECT to send; over WebSocket the close code says it, RFC 6455 §7.4.1.
            self.close(conn, DisconnectReasonCode.PACKET_TOO_LARGE, code=1009, explanation=error.reason)
            return
        self.close(conn, DisconnectReasonCode.MALFORMED_PACKET, code=1002, explanation=error.reason)

    def connection_lost(self, conn: Connection, now: float) -> None:
        """The network connection is gone (whoever closed it)."""
        if conn.closed:
            return
        conn.closed = True
        self.connections.pop(conn.id, None)
        # Stay in ``dirty``: a taken-over connection still has its DISCONNECT 0x8E to send.
        session = conn.session
        if session is None or session.connection is not conn:
            return
        self.stats.clients_connected -= 1
        if _LOG.isEnabledFor(logging.INFO):  # the label is built only for a shown line
            _LOG.info(
                "disconnected: %s%s", conn.label(), "" if conn.disconnected_normally else " (no DISCONNECT)"
            )
        if self.on_event is not None:
            self.on_event(LinkState.CLOSED, conn)
        session.connection = None
        if conn.will is not None and not conn.disconnected_normally:
            delay = conn.will.properties.will_delay_interval or 0
            if delay and session.expiry_interval:
                session.pending_will = conn.will
                session.will_at = now + min(delay, session.expiry_interval)
            else:
                self._publish_will(conn.will, session, now)
        conn.will = None
        if session.expiry_interval == 0:
            self._end_session(session, now)
        else:
            session.expires_at = now + session.expiry_interval

    def handle_timer(self, now: float) -> None:
        """Keep alive, CONNECT timeout, delayed wills, session expiry, $SYS updates."""
        config = self.config
        for conn in list(self.connections.values()):
            if conn.close_requested:
                continue
            if conn.session is None:
                if now - conn.opened > config.connect_timeout:
                    _LOG.info("no CONNECT within %.0f s from %s", config.connect_timeout, conn.peer)
                    self.close(conn, None, code=1008)
            elif conn.keep_alive and now - conn.last_received > 1.5 * conn.keep_alive:
                # [MQTT-3.1.2-24] one and a half times the keep alive without a packet.
                _LOG.info("keep alive timeout: %s", conn.label())
                self.close(conn, DisconnectReasonCode.KEEP_ALIVE_TIMEOUT, code=1001)
        for session in list(self.sessions.values()):
            if session.connection is not None:
                continue
            if session.will_at is not None and now >= session.will_at and session.pending_will:
                will, session.pending_will, session.will_at = session.pending_will, None, None
                self._publish_will(will, session, now)
            if session.expires_at is not None and now >= session.expires_at:
                self._end_session(session, now)
        if config.sys_interval and now >= self._next_sys:
            self._next_sys = now + config.sys_interval
            for topic, payload in sys_messages(self, now):
                # Not counted in the statistics they report.
                message = Message(
                    topic, payload, qos=0, retain=True, properties=NO_PROPERTIES, publisher=None, received=now
                )
                self.router.store_retained(message)
                self.router.route(message, now)

    def next_deadline(self, now: float) -> float:
        return now + self.config.tick_interval

    def shutdown(self, now: float) -> None:
        """Server shutting down: DISCONNECT 0x8B to v5 clients, then every connection is lost.

        Wills of connected clients are published (MQTT 5.0 §3.1.2.5: the server closed the
        connection without a DISCONNECT from the client). The driver flushes between the two
        steps (:meth:`close_all`, then :meth:`drop_all`) so the DISCONNECTs reach the wire.
        """
        self.close_all()
        self.drop_all(now)

    def close_all(self) -> None:
        for conn in list(self.connections.values()):
            self.close(conn, DisconnectReasonCode.SERVER_SHUTTING_DOWN, code=1001)

    def drop_all(self, now: float) -> None:
        for conn in list(self.connections.values()):
            self.connection_lost(conn, now)

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 0,
        retain: bool = False,
        properties: Properties = NO_PROPERTIES,
        publisher: str | None = None,
        now: float,
    ) -> None:
        """Publish a message made inside the process; subscribers see an ordinary PUBLISH."""
        message = Message(
            topic, payload, qos=qos, retain=retain, properties=properties, publisher=publisher, received=now
        )
        self.stats.messages_received += 1
        self.router.store_retained(message)
        self.router.route(message, now)

    # -- helpers used by routing -----------------------------------------------------------

    def send(self, conn: Connection, packet: Packet) -> None:
        self.outbound.write(conn, encode(packet, conn.version or ProtocolVersion.V311))

    def send_raw(self, conn: Connection, data: bytes) -> None:
        self.outbound.write(conn, data)

    def close(
        self,
        conn: Connection,
        reason: DisconnectReasonCode | None,
        *,
        code: int = 1000,
        explanation: str = "",
    ) -> None:
        """Ask the driver to close ``conn``; v5 clients first get DISCONNECT ``reason``."""
        if conn.closed or conn.close_requested:
            return
        if reason is not None and conn.version == V5 and conn.session is not None:
            props = Properties(reason_string=explanation) if explanation else NO_PROPERTIES
            self.send(conn, Disconnect(reason, props))
        conn.close_requested = True
        conn.close_code = code
        self.dirty[conn.id] = conn

    def protocol_violation(self, conn: Connection, explanation: str) -> None:
        self.stats.protocol_errors += 1
        _LOG.warning("protocol error from %s: %s", conn.label(), explanation)
        self.close(conn, DisconnectReasonCode.PROTOCOL_ERROR, code=1002, explanation=explanation)

    # -- CONNECT / DISCONNECT --------------------------------------------------------------

    def _refuse(self, conn: Connection, version: ProtocolVersion, code: ConnackReasonCode, why: str) -> None:
        self.stats.connections_refused += 1
        _LOG.info("refused %s: %s (%s)", conn.peer or "client", code.name.lower(), why)
        rc: ConnackReasonCode | ConnectReturnCode = code if version == V5 else v3_return_code(code)
        self.send_raw(conn, encode(Connack(False, rc), version))
        self.close(conn, None, code=1008 if code in _V3_CODES else 1000)

    def _connect(self, conn: Connection, packet: Connect, now: float) -> None:
        version = packet.protocol_version
        config = self.config
        props = packet.properties
        if config.faults.only_mqtt311 and version == V5:
            # A 3.1.1 broker answers an unknown protocol level with return code 1 in a
            # 3.1.1 CONNACK and closes (MQTT 3.1.1 §3.1.2.2) [MQTT-3.1.2-2].
            self.stats.connections_refused += 1
            _LOG.info("refused %s: MQTT 5.0 (only-mqtt3.1.1 fault mode)", conn.peer or "client")
            answer = Connack(False, ConnectReturnCode.UNACCEPTABLE_PROTOCOL_VERSION)
            self.send_raw(conn, encode(answer, ProtocolVersion.V311))
            self.close(conn, None)
            return
        if config.faults.refuse_connect is not None:
            self._refuse(conn, version, config.faults.refuse_connect, "refuse-connect fault mode")
            return
        if props.authentication_method is not None:
            refusal = ConnackReasonCode.BAD_AUTHENTICATION_METHOD
            self._refuse(conn, version, refusal, "enhanced authentication is not supported")
            return
        if self.passwords is not None and packet.username is not None:
            if not self.passwords.verify(packet.username, packet.password):
                self._refuse(conn, version, ConnackReasonCode.BAD_USER_NAME_OR_PASSWORD, "bad credentials")
                return
        elif not config.anonymous_allowed:
            self._refuse(conn, version, ConnackReasonCode.NOT_AUTHORIZED, "anonymous clients not allowed")
            return
        client_id = packet.client_id
        assigned = None
        if not client_id:
            if version != V5 and not packet.clean_start:
                # [MQTT-3.1.3-8] an empty client id needs CleanSession = 1 in 3.1.1.
                self._refuse(conn, version, ConnackReasonCode.CLIENT_IDENTIFIER_NOT_VALID, "empty client id")
                return
            client_id = assigned = f"auto-{next(self._auto_ids)}-{conn.id}"
        if packet.will is not None and not self.router.will_allowed(client_id, packet.username, packet.will):
            self._refuse(conn, version, ConnackReasonCode.NOT_AUTHORIZED, "will topic not writable")
            return

        conn.version = version
        conn.client_id = client_id
        conn.username = packet.username
        conn.will = packet.will
        # v3: CleanSession 0 keeps the session "forever", which we cap like a v5 expiry.
        requested = 0 if packet.clean_start else _NEVER
        if version == V5:
            requested = props.session_expiry_interval or 0
        expiry = min(requested, config.max_session_expiry)
        server_keep_alive = self._server_keep_alive(version, packet.keep_alive)
        conn.keep_alive = packet.keep_alive if server_keep_alive is None else server_keep_alive
        conn.max_packet_out = props.maximum_packet_size
        conn.send_quota = min(props.receive_maximum or 65535, config.max_inflight)

        session = self.sessions.get(client_id)
        if session is not None and session.connection is not None:
            old = session.connection
            _LOG.info("session taken over: %s", old.label())
            self.close(old, DisconnectReasonCode.SESSION_TAKEN_OVER, code=1000)
            # The old connection's will goes out unless the session continues with a will delay.
            if old.will is not None:
                delay = old.will.properties.will_delay_interval or 0
                if packet.clean_start or not delay:
                    self._publish_will(old.will, session, now)
                old.will = None
            old.disconnected_normally = True
            self.connection_lost(old, now)
            session = self.sessions.get(client_id)
        if session is not None and packet.clean_start:
            if session.pending_will is not None:
                self._publish_will(session.pending_will, session, now)
            self._end_session(session, now)
            session = None
        present = session is not None
        if session is None:
            session = BrokerSession(client_id)
            self.sessions[client_id] = session
        # [MQTT-3.1.3-9] a new connection before the will delay cancels the will.
        session.pending_will = None
        session.will_at = None
        session.expires_at = None
        session.expiry_interval = expiry
        session.username = packet.username
        session.connection = conn
        conn.session = session
        self.stats.clients_connected += 1
        self.stats.clients_total += 1

        connack_props = NO_PROPERTIES
        if version == V5:
            connack_props = Properties(
                assigned_client_identifier=assigned,
                session_expiry_interval=expiry if expiry != requested else None,
                server_keep_alive=server_keep_alive,
                receive_maximum=config.receive_maximum,
                maximum_packet_size=config.max_packet_size,
                topic_alias_maximum=config.topic_alias_maximum,
            )
        code: ConnackReasonCode | ConnectReturnCode = (
            ConnackReasonCode.SUCCESS if version == V5 else ConnectReturnCode.ACCEPTED
        )
        # MQTT 3.1 has no Session Present flag: that byte is reserved there.
        self.send(conn, Connack(present and version != ProtocolVersion.V31, code, connack_props))
        if _LOG.isEnabledFor(logging.INFO):
            _LOG.info(
                "connected: %s MQTT %s%s%s",
                conn.label(),
                version.label,
                " user " + packet.username if packet.username else "",
                " (session present)" if present else "",
            )
        if self.on_event is not None:
            self.on_event(LinkState.CONNECTED, conn)
        if present:
            self.outbound.resend(session, now)

    def _server_keep_alive(self, version: ProtocolVersion, asked: int) -> int | None:
        """The keep alive the broker imposes on a client that asked for ``asked``, if any.

        A v5 client is told in CONNACK ([MQTT-3.1.2-21]: it must use that value). A 3.1/3.1.1
        client cannot be told; it is held to the same value all the same, so a client that
        asked for 0 (never time out) is closed after 1.5 times ``max_keep_alive`` of silence.
        """
        config = self.config
        if version == V5 and config.server_keep_alive is not None:
            return config.server_keep_alive
        limit = config.max_keep_alive
        if limit and (asked == 0 or asked > limit):
            return limit
        return None

    def _disconnect(self, conn: Connection, packet: Disconnect, now: float) -> None:
        session = conn.session
        assert session is not None
        if conn.version == V5:
            new_expiry = packet.properties.session_expiry_interval
            if new_expiry is not None:
                if session.expiry_interval == 0 and new_expiry:
                    # [MQTT-3.14.2-2] cannot set an expiry when CONNECT had none.
                    self.protocol_violation(conn, "DISCONNECT sets a session expiry after CONNECT had 0")
                    return
                session.expiry_interval = min(new_expiry, self.config.max_session_expiry)
        # [MQTT-3.1.2-10] only DISCONNECT 0x00 discards the will; 0x04 or an error code keeps it.
        conn.disconnected_normally = packet.reason_code == DisconnectReasonCode.NORMAL_DISCONNECTION
        conn.close_requested = True
        conn.close_code = 1000
        self.dirty[conn.id] = conn

    def _publish_will(self, will: Will, session: BrokerSession, now: float) -> None:
        props = will.properties
        if props.will_delay_interval is not None:
            props = replace(props, will_delay_interval=None)
        self.stats.messages_received += 1
        message = Message(
            will.topic,
            will.payload,
            qos=will.qos,
            retain=will.retain,
            properties=props,
            publisher=session.client_id,
            received=now,
        )
        self.router.store_retained(message)
        self.router.route(message, now)

    def _end_session(self, session: BrokerSession, now: float) -> None:
        if session.pending_will is not None:
            will, session.pending_will = session.pending_will, None
            self._publish_will(will, session, now)
        for topic_filter in list(session.subscriptions):
            self.router.trie.remove(session.client_id, topic_filter)
        session.subscriptions.clear()
        if self.sessions.get(session.client_id) is session:
            del self.sessions[session.client_id]

    # -- acknowledgements ------------------------------------------------------------------

    def _acked(self, conn: Connection, pid: int, now: float, *, qos: int) -> None:
        session = conn.session
        assert session is not None
        entry = session.inflight.get(pid)
        if entry is None or entry.qos != qos or (qos == 2 and not entry.released):
            _LOG.debug("unexpected acknowledgement %d from %s", pid, conn.label())
            return
        del session.inflight[pid]
        self.outbound.drain(session, now)

    def _pubrec(self, conn: Connection, packet: Pubrec, now: float) -> None:
        session = conn.session
        assert session is not None
        entry = session.inflight.get(packet.packet_id)
        if entry is None or entry.qos != 2:
            if conn.version == V5:
                self.send(conn, Pubrel(packet.packet_id, PubrelReasonCode.PACKET_IDENTIFIER_NOT_FOUND))
            return
        if packet.reason_code >= 0x80:
            # MQTT 5.0 §4.3.3: a PUBREC with an error code ends the flow.
            del session.inflight[packet.packet_id]
            self.outbound.drain(session, now)
            return
        entry.released = True
        self.send_raw(conn, ack_bytes(6, packet.packet_id))

    def _pubrel(self, conn: Connection, packet: Pubrel) -> None:
        session = conn.session
        assert session is not None
        if packet.packet_id in session.inbound_qos2:
            session.inbound_qos2.discard(packet.packet_id)
            self.send_raw(conn, ack_bytes(7, packet.packet_id))
        elif conn.version == V5:
            self.send(conn, Pubcomp(packet.packet_id, PubcompReasonCode.PACKET_IDENTIFIER_NOT_FOUND))
        else:
            self.send(conn, Pubcomp(packet.packet_id))
