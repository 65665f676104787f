"""The MQTT client session as a Sans-I/O state machine (MQTT 3.1, 3.1.1 and 5.0).

Packets in (``receive_packets``: the server's packets as the connection's decoder parsed
them, ``explorer.client.trace``; the session never reads bytes), bytes out (``data_to_send``), outcomes out
(``events_received``), intents in (``send_connect``, ``send_subscribe``,
``send_publish``...), time in (``next_deadline`` / ``handle_timer(now)``). No
sockets, no asyncio, no sleeping: the driver (``explorer.client.driver``) owns all I/O and
the clock is injected, so keep alive and retries are tested without waiting.

What lives here: the connection states, CONNECT/CONNACK/AUTH, the inbound flows
(QoS 2 method B: deliver on PUBLISH, hold the id until PUBREL), inbound Topic Alias
resolution, keep alive, and the server's limits from CONNACK. Beside it:
``explorer.session.outbound`` (our QoS 1/2 flows, the window bounded by the server's
Receive Maximum) and ``explorer.session.limits`` (packet ids: never reused while in
flight, a QoS 2 id released only by PUBCOMP). What does not belong: the trace (``explorer.decoder`` sees
the same bytes), reconnect policy and resubscription (the driver's choice).

States: ``IDLE`` -> ``send_connect`` -> ``CONNECTING`` -> CONNACK accepted ->
``CONNECTED`` -> (``send_disconnect`` | server DISCONNECT | protocol error | timeout |
``connection_lost``) -> ``CLOSED`` -> ``send_connect`` again on a new network
connection, keeping the session (in-flight messages, held QoS 2 ids) for resumption.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import TypeAlias

from explorer.client.options import ConnectionOptions
from explorer.errors import LocalProtocolError, MalformedPacket, PacketTooLarge
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import (
    AuthReasonCode,
    ConnectReturnCode,
    DisconnectReasonCode,
    ProtocolVersion,
    PubcompReasonCode,
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
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
)
from explorer.session.events import (
    Anomaly,
    AuthReceived,
    Connected,
    ConnectRefused,
    MessageArrived,
    PingAnswered,
    ProtocolViolation,
    ServerDisconnected,
    SessionEvent,
    SubscribeCompleted,
    TimedOut,
    UnsubscribeCompleted,
)
from explorer.session.limits import PacketIds, ServerLimits, generate_client_id, reason_text
from explorer.session.outbound import OutboundFlows

__all__ = ["ReceivedPacket", "ServerLimits", "Session", "SessionState", "generate_client_id", "reason_text"]

ReceivedPacket: TypeAlias = tuple[Packet | MalformedPacket, int]
"""One server packet parsed elsewhere, for :meth:`Session.receive_packets`: the packet
(or the error that stopped its parsing) and its size in bytes on the wire."""


class SessionState(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSED = "closed"


class Session:
    """One MQTT client session, independent of any network connection.

    Args:
        options: CONNECT settings (version, client id, keep alive, will, limits...).
        clock: monotonic seconds; injected so tests control time.
        connack_timeout: seconds to wait for CONNACK after CONNECT.
        ping_timeout: seconds to wait for PINGRESP; defaults to the keep alive interval.
    """

    def __init__(
        self,
        options: ConnectionOptions,
        *,
        clock: Callable[[], float] = time.monotonic,
        connack_timeout: float | None = None,
        ping_timeout: float | None = None,
    ) -> None:
        self.options = options
        self.version = options.mqtt_version
        self.client_id = options.client_id or generate_client_id()
        self._clock = clock
        self._connack_timeout = connack_timeout if connack_timeout is not None else options.handshake_timeout
        self._ping_timeout = ping_timeout
        self.state = SessionState.IDLE
        self.limits = ServerLimits()
        self.keep_alive = options.keep_alive
        self.connack: Connack | None = None
        self._events: list[SessionEvent] = []
        self._out = bytearray()
        self._received = 0  # bytes taken by receive_packets on this network connection
        self._ids = PacketIds()
        self._flows = OutboundFlows(
            self._ids, self._send, self._write, self._emit, v5=self.version == ProtocolVersion.V5
        )
        self._subscribes: dict[int, Subscribe] = {}
        self._unsubscribes: dict[int, Unsubscribe] = {}
        self._inbound_qos2: set[int] = set()  # ids delivered, awaiting PUBREL (method B)
        self._aliases: dict[int, str] = {}
        self._receive_maximum = options.receive_maximum or 65535
        self._alias_maximum = options.topic_alias_maximum or 0
        self._last_sent = 0.0
        self._connect_sent_at: float | None = None
        self._ping_sent_at: float | None = None
        self._pings_sent = 0  # PINGREQs of this network connection, and their PINGRESPs
        self._pings_answered = 0

    # ----------------------------------------------------------------- I/O triad

    def receive_packets(self, items: Iterable[ReceivedPacket]) -> None:
        """Feed the server's packets parsed by the connection's decoder, in wire order; then
        call :meth:`events_received` and :meth:`data_to_send`. Each packet is parsed once:
        a ``MessageArrived`` holds the caller's ``Publish`` (a copy only when a Topic Alias
        is resolved). A packet above our Maximum Packet Size or an error item (the bytes
        were no packet) fails the session with MALFORMED_PACKET, and nothing after it is
        dispatched."""
        if self.state in (SessionState.IDLE, SessionState.CLOSED):
            return
        limit = self.options.maximum_packet_size
        for packet, size in items:
            if self.closed:
                return
            offset = self._received
            self._received = offset + size
            if limit is not None and size > limit and not isinstance(packet, MalformedPacket):
                packet = PacketTooLarge(offset, size, limit)  # [MQTT-3.1.2-25], as PacketReader says it
            if isinstance(packet, MalformedPacket):  # nothing after it is dispatched
                self._fail(
                    DisconnectReasonCode.MALFORMED_PACKET, f"the server sent a malformed packet: {packet}"
                )
                return
            self._dispatch(packet)

    def events_received(self) -> list[SessionEvent]:
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` must next be called, on the injected clock; ``None``: never."""
        if self.state is SessionState.CONNECTING and self._connect_sent_at is not None:
            return self._connect_sent_at + self._connack_timeout
        if self.state is not SessionState.CONNECTED or self.keep_alive <= 0:
            return None
        if self._ping_sent_at is not None:
            return self._ping_sent_at + self._pingresp_wait()
        return self._last_sent + self.keep_alive

    def handle_timer(self, now: float) -> None:
        """Act on the deadlines that have passed at ``now``."""
        if self.state is SessionState.CONNECTING and self._connect_sent_at is not None:
            if now >= self._connect_sent_at + self._connack_timeout:
                self.state = SessionState.CLOSED
                self._events.append(
                    TimedOut("connack", f"no CONNACK within {self._connack_timeout:g} s after CONNECT")
                )
            return
        if self.state is not SessionState.CONNECTED or self.keep_alive <= 0:
            return
        if self._ping_sent_at is not None:
            wait = self._pingresp_wait()
            if now >= self._ping_sent_at + wait:
                # MQTT 5.0 §3.1.2.10: no PINGRESP in a reasonable time: close the connection.
                self.state = SessionState.CLOSED
                self._events.append(
                    TimedOut("pingresp", f"no PINGRESP within {wait:g} s (keep alive timeout)")
                )
            return
        if now >= self._last_sent + self.keep_alive:
            # [MQTT-3.1.2-23]: a control packet at least every Keep Alive seconds.
            self._send(Pingreq())
            self._pings_sent += 1
            self._ping_sent_at = now

    def connection_lost(self) -> None:
        """The network connection ended: keep what a resumed session needs, drop the rest."""
        self.state = SessionState.CLOSED
        self._received = 0
        self._aliases.clear()  # MQTT 5.0 §3.3.2.3.4: aliases last one network connection
        for packet_id in list(self._subscribes) + list(self._unsubscribes):
            self._ids.release(packet_id)
        self._subscribes.clear()
        self._unsubscribes.clear()
        self._ping_sent_at = None
        self._pings_sent = self._pings_answered = 0
        self._connect_sent_at = None

    # ----------------------------------------------------------------- intents

    def send_connect(self) -> None:
        """Start a network connection's MQTT handshake with CONNECT (§3.1)."""
        if self.state in (SessionState.CONNECTING, SessionState.CONNECTED):
            raise LocalProtocolError(f"cannot send CONNECT: the session is {self.state.value}")
        opts = self.options
        v5 = self.version == ProtocolVersion.V5
        packet = Connect(
            protocol_version=self.version,
            client_id=self.client_id,
            clean_start=opts.clean_start,
            keep_alive=opts.keep_alive,
            username=opts.username,
            password=opts.password,
            will=opts.will,
            properties=opts.connect_properties() if v5 else NO_PROPERTIES,
        )
        data = encode(packet, self.version)
        if self.state is SessionState.CLOSED:
            self._received = 0
        self.state = SessionState.CONNECTING
        self.keep_alive = opts.keep_alive
        self.connack = None
        self._write(data)
        self._connect_sent_at = self._clock()

    def send_auth(
        self, reason_code: AuthReasonCode = AuthReasonCode.CONTINUE_AUTHENTICATION, *, properties: Properties
    ) -> None:
        """Answer an AUTH challenge, or re-authenticate (MQTT 5.0 §4.12)."""
        self._require(SessionState.CONNECTING, SessionState.CONNECTED)
        self._send(Auth(reason_code=reason_code, properties=properties))

    def send_subscribe(
        self,
        subscriptions: Sequence[Subscription],
        *,
        subscription_identifier: int | None = None,
        user_properties: tuple[tuple[str, str], ...] = (),
    ) -> int:
        """Send SUBSCRIBE; returns its packet id (the answer is a ``SubscribeCompleted``)."""
        self._require(SessionState.CONNECTED)
        props = NO_PROPERTIES
        if subscription_identifier is not None or user_properties:
            props = Properties(
                subscription_identifiers=(subscription_identifier,) if subscription_identifier else (),
                user_properties=user_properties,
            )
        packet_id = self._ids.peek()
        packet = Subscribe(packet_id=packet_id, subscriptions=tuple(subscriptions), properties=props)
        data = encode(packet, self.version)
        self._ids.take(packet_id)
        self._subscribes[packet_id] = packet
        self._write(data)
        return packet_id

    def send_unsubscribe(
        self, topic_filters: Sequence[str], *, user_properties: tuple[tuple[str, str], ...] = ()
    ) -> int:
        """Send UNSUBSCRIBE; returns its packet id (the answer is an ``UnsubscribeCompleted``)."""
        self._require(SessionState.CONNECTED)
        props = Properties(user_properties=user_properties) if user_properties else NO_PROPERTIES
        packet_id = self._ids.peek()
        packet = Unsubscribe(packet_id=packet_id, topic_filters=tuple(topic_filters), properties=props)
        data = encode(packet, self.version)
        self._ids.take(packet_id)
        self._unsubscribes[packet_id] = packet
        self._write(data)
        return packet_id

    def send_ping(self, now: float) -> int:
        """Send PINGREQ now; returns its number, which a ``PingAnswered`` count reaches when answered.

        A server handles a connection's packets in order, so its PINGRESP proves it read
        every packet sent before the PINGREQ without closing the connection: the only
        answer a QoS 0 PUBLISH can get. The keep alive timer then waits for this PINGRESP.
        """
        self._require(SessionState.CONNECTED)
        self._send(Pingreq())
        self._pings_sent += 1
        self._ping_sent_at = now
        return self._pings_sent

    def send_publish(
        self,
        topic: str,
        payload: bytes = b"",
        qos: int = 0,
        retain: bool = False,
        properties: Properties = NO_PROPERTIES,
    ) -> int | None:
        """Publish; returns the packet id for QoS 1/2 (completion is a ``PublishCompleted``).

        Beyond the server's Receive Maximum the PUBLISH waits in a queue and goes out as
        acknowledgements free the window [MQTT-3.3.4-9].

        Raises:
            LocalProtocolError: the server's CONNACK forbids it (QoS above Maximum QoS,
                retain not available, too large, topic alias above its maximum) or the
                packet is invalid.
        """
        self._require(SessionState.CONNECTED)
        limits = self.limits
        if qos > limits.maximum_qos:
            # [MQTT-3.2.2-11]
            raise LocalProtocolError(f"the server accepts at most QoS {limits.maximum_qos}, not QoS {qos}")
        if retain and not limits.retain_available:
            # [MQTT-3.2.2-14]
            raise LocalProtocolError("the server does not support retained messages (Retain Available = 0)")
        alias = properties.topic_alias
        if alias is not None and not 0 < alias <= limits.topic_alias_maximum:
            # [MQTT-3.3.2-9]
            raise LocalProtocolError(
                f"topic alias {alias} is outside the server's range 1..{limits.topic_alias_maximum}"
            )
        packet_id = self._ids.peek() if qos else None
        packet = Publish(
            topic=topic, payload=payload, qos=qos, retain=retain, packet_id=packet_id, properties=properties
        )
        data = encode(packet, self.version)
        self._check_size(len(data))
        if packet_id is None:
            self._write(data)
            return None
        self._ids.take(packet_id)
        self._flows.submit(packet, data)
        return packet_id

    def send_disconnect(
        self,
        reason_code: DisconnectReasonCode = DisconnectReasonCode.NORMAL_DISCONNECTION,
        properties: Properties = NO_PROPERTIES,
    ) -> None:
        """Clean close (§3.14): DISCONNECT; the driver then closes the network connection."""
        if self.state is not SessionState.CONNECTED:
            self.state = SessionState.CLOSED
            return
        if self.version == ProtocolVersion.V5:
            self._send(Disconnect(reason_code=reason_code, properties=properties))
        else:
            self._send(Disconnect())
        self.state = SessionState.CLOSED

    # ----------------------------------------------------------------- introspection

    @property
    def closed(self) -> bool:
        """No MQTT connection: ``send_connect`` is the only possible move."""
        return self.state is SessionState.CLOSED

    @property
    def in_flight(self) -> int:
        """Our QoS 1/2 PUBLISHes sent and not yet completed (the Receive Maximum window)."""
        return self._flows.in_flight

    @property
    def queued(self) -> int:
        """Our QoS 1/2 PUBLISHes waiting for room in the window."""
        return self._flows.queued

    @property
    def packet_ids_in_use(self) -> frozenset[int]:
        return self._ids.in_use

    @property
    def held_inbound_ids(self) -> frozenset[int]:
        """Inbound QoS 2 ids delivered and awaiting PUBREL."""
        return frozenset(self._inbound_qos2)

    # ----------------------------------------------------------------- internals

    def _require(self, *states: SessionState) -> None:
        if self.state not in states:
            raise LocalProtocolError(f"not connected: the MQTT session is {self.state.value}")

    def _pingresp_wait(self) -> float:
        return self._ping_timeout if self._ping_timeout is not None else float(self.keep_alive)

    def _emit(self, event: SessionEvent) -> None:
        self._events.append(event)

    def _write(self, data: bytes) -> None:
        self._out += data
        self._last_sent = self._clock()

    def _send(self, packet: Packet) -> None:
        self._write(encode(packet, self.version))

    def _check_size(self, size: int) -> None:
        maximum = self.limits.maximum_packet_size
        if maximum is not None and size > maximum:
            # [MQTT-3.1.2-24]
            raise LocalProtocolError(
                f"the packet is {size} bytes but the server accepts at most {maximum} (Maximum Packet Size)"
            )

    def _fail(self, reason: DisconnectReasonCode, message: str) -> None:
        """The server broke the protocol: DISCONNECT with a reason (5.0), then close."""
        if self.version == ProtocolVersion.V5 and self.state is not SessionState.CLOSED:
            # MQTT 5.0 §4.13.1: send DISCONNECT with the reason code before closing.
            self._send(Disconnect(reason_code=reason))
        self.state = SessionState.CLOSED
        code = int(reason) if self.version == ProtocolVersion.V5 else None
        self._events.append(ProtocolViolation(message, code))

    def _dispatch(self, packet: Packet) -> None:
        if self.state is SessionState.CONNECTING:
            if isinstance(packet, Connack):
                self._on_connack(packet)
            elif isinstance(packet, Auth) and self.version == ProtocolVersion.V5:
                self._events.append(AuthReceived(packet))
            elif isinstance(packet, Disconnect) and self.version == ProtocolVersion.V5:
                self._on_disconnect(packet)
            else:
                # [MQTT-3.2.0-1]: the first packet from the server is CONNACK (or AUTH).
                self._fail(
                    DisconnectReasonCode.PROTOCOL_ERROR,
                    f"the server sent {packet.TYPE.name} before CONNACK",
                )
            return
        if isinstance(packet, Publish):
            self._on_publish(packet)
        elif isinstance(packet, Puback):
            self._flows.on_puback(packet)
        elif isinstance(packet, Pubrec):
            self._flows.on_pubrec(packet)
        elif isinstance(packet, Pubrel):
            self._on_pubrel(packet)
        elif isinstance(packet, Pubcomp):
            self._flows.on_pubcomp(packet)
        elif isinstance(packet, Suback):
            self._on_suback(packet)
        elif isinstance(packet, Unsuback):
            self._on_unsuback(packet)
        elif isinstance(packet, Pingresp):
            self._ping_sent_at = None
            self._pings_answered += 1
            self._events.append(PingAnswered(self._pings_answered))
        elif isinstance(packet, Disconnect) and self.version == ProtocolVersion.V5:
            self._on_disconnect(packet)
        elif isinstance(packet, Auth) and self.version == ProtocolVersion.V5:
            self._events.append(AuthReceived(packet))
        else:
            self._fail(
                DisconnectReasonCode.PROTOCOL_ERROR,
                f"the server sent {packet.TYPE.name}, which a server may not send to a client here",
            )

    def _on_connack(self, connack: Connack) -> None:
        self.connack = connack
        code = connack.reason_code
        # 5.0 §3.2.2.2: 0x00 or a failure code from 0x80; a code from 1 to 5 in answer to a
        # 5.0 CONNECT is a 3.1.1 broker's return code (1: unacceptable protocol version).
        # Anything but 0 is a refusal, never a connection.
        refused = int(code) != ConnectReturnCode.ACCEPTED
        if refused:
            self.state = SessionState.CLOSED
            text = reason_text(code)
            if self.version == ProtocolVersion.V5 and int(code) < 0x80:
                text = _v3_answer(int(code))
            if connack.properties.reason_string:
                text += f": {connack.properties.reason_string}"
            if connack.properties.server_reference:
                text += f" (server reference: {connack.properties.server_reference})"
            self._events.append(ConnectRefused(connack, f"the broker refused the connection: {text}"))
            return
        props = connack.properties
        if self.version == ProtocolVersion.V5:
            self.limits = ServerLimits.from_properties(props)
            if props.assigned_client_identifier:
                self.client_id = props.assigned_client_identifier
            if props.server_keep_alive is not None:
                # [MQTT-3.2.2-21]: the client uses the server's Keep Alive.
                self.keep_alive = props.server_keep_alive
        self.state = SessionState.CONNECTED
        self._connect_sent_at = None
        self._flows.window = self.limits.receive_maximum
        if connack.session_present and not self.options.clean_start:
            self._flows.resume()
        else:
            self._inbound_qos2.clear()  # [MQTT-4.1.0-1]: no session on the server, none here
            self._flows.restart()
        self._events.append(Connected(connack, connack.session_present))
        self._flows.fill()

    def _on_publish(self, publish: Publish) -> None:
        if publish.qos > 0 and publish.packet_id is None:
            self._fail(
                DisconnectReasonCode.PROTOCOL_ERROR, "the server sent a QoS>0 PUBLISH without packet id"
            )
            return
        alias = publish.properties.topic_alias
        if alias is not None:
            if not 0 < alias <= self._alias_maximum:
                # [MQTT-3.3.2-8]: 0 or above our Topic Alias Maximum is a Topic Alias invalid error.
                self._fail(
                    DisconnectReasonCode.TOPIC_ALIAS_INVALID,
                    f"the server used topic alias {alias} outside the allowed range 1..{self._alias_maximum}",
                )
                return
            if publish.topic:
                self._aliases[alias] = publish.topic  # MQTT 5.0 §3.3.2.3.4: set or replace the mapping
            elif alias in self._aliases:
                publish = replace(publish, topic=self._aliases[alias])
            else:
                # MQTT 5.0 §3.3.4: an unknown alias with an empty topic is a Protocol Error.
                self._fail(
                    DisconnectReasonCode.PROTOCOL_ERROR,
                    f"the server used topic alias {alias} before setting it",
                )
                return
        elif not publish.topic:
            self._fail(DisconnectReasonCode.PROTOCOL_ERROR, "the server sent a PUBLISH with an empty topic")
            return
        if publish.qos == 0:
            self._events.append(MessageArrived(publish))
        elif publish.qos == 1:
            # MQTT 5.0 §4.3.2: deliver, then PUBACK with the same packet id.
            self._events.append(MessageArrived(publish))
            self._send(Puback(packet_id=publish.packet_id))  # type: ignore[arg-type]
        else:
            packet_id: int = publish.packet_id  # type: ignore[assignment]
            if packet_id in self._inbound_qos2:
                # Method B (MQTT 5.0 §4.3.3): a resent PUBLISH before PUBREL is not delivered again.
                self._events.append(
                    Anomaly(f"QoS 2 PUBLISH id {packet_id} received again: not delivered twice")
                )
            else:
                if len(self._inbound_qos2) >= self._receive_maximum:
                    # [MQTT-3.3.4-9] from the server's side: more unacknowledged QoS 2 than we allow.
                    self._fail(
                        DisconnectReasonCode.RECEIVE_MAXIMUM_EXCEEDED,
                        f"the server exceeded our Receive Maximum of {self._receive_maximum}",
                    )
                    return
                self._inbound_qos2.add(packet_id)
                self._events.append(MessageArrived(publish))
            self._send(Pubrec(packet_id=packet_id))

    def _on_pubrel(self, rel: Pubrel) -> None:
        if rel.packet_id in self._inbound_qos2:
            self._inbound_qos2.discard(rel.packet_id)
            self._send(Pubcomp(packet_id=rel.packet_id))
        elif self.version == ProtocolVersion.V5:
            self._send(
                Pubcomp(packet_id=rel.packet_id, reason_code=PubcompReasonCode.PACKET_IDENTIFIER_NOT_FOUND)
            )
        else:
            self._send(Pubcomp(packet_id=rel.packet_id))

    def _on_suback(self, suback: Suback) -> None:
        if self._subscribes.pop(suback.packet_id, None) is None:
            self._events.append(
                Anomaly(f"SUBACK for packet id {suback.packet_id}, which has no SUBSCRIBE pending")
            )
            return
        self._ids.release(suback.packet_id)
        self._events.append(SubscribeCompleted(suback.packet_id, suback))

    def _on_unsuback(self, unsuback: Unsuback) -> None:
        if self._unsubscribes.pop(unsuback.packet_id, None) is None:
            self._events.append(
                Anomaly(f"UNSUBACK for packet id {unsuback.packet_id}, which has no UNSUBSCRIBE pending")
            )
            return
        self._ids.release(unsuback.packet_id)
        self._events.append(UnsubscribeCompleted(unsuback.packet_id, unsuback))

    def _on_disconnect(self, disconnect: Disconnect) -> None:
        self.state = SessionState.CLOSED
        text = reason_text(disconnect.reason_code)
        props = disconnect.properties
        if props.reason_string:
            text += f": {props.reason_string}"
        if props.server_reference:
            text += f" (use another server: {props.server_reference})"
        self._events.append(ServerDisconnected(disconnect, f"the broker disconnected: {text}"))


def _v3_answer(code: int) -> str:
    """A 3.1.1 return code in answer to a 5.0 CONNECT, in words."""
    try:
        name = ConnectReturnCode(code).name.replace("_", " ").lower()
    except ValueError:
        name = "not a CONNACK code"
    if code == ConnectReturnCode.UNACCEPTABLE_PROTOCOL_VERSION:
        return (
            f"return code {code} ({name}) in MQTT 3.1.1 form: this broker speaks MQTT 3.1.1, "
            "not 5.0; connect with MQTT 3.1.1"
        )
    return f"return code {code} ({name}), an MQTT 3.1.1 answer to an MQTT 5.0 CONNECT"
