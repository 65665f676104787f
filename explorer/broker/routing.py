"""PUBLISH in, SUBSCRIBE, UNSUBSCRIBE, retained messages, and routing through the trie.

Rules here: topic aliases (MQTT 5.0 §3.3.2.3.4), the QoS 2 receive flow and its
Receive Maximum (§4.3.3, §4.9), retained messages (stored, replaced, cleared by an
empty payload: [MQTT-3.3.1-5..7]; sent after the SUBACK per Retain Handling,
§3.8.3.1; never to shared subscriptions, §4.8.2), no local ([MQTT-3.8.3-3]), retain
as published ([MQTT-3.3.1-12,13]), subscription identifiers (§3.8.2.1.2), overlapping
subscriptions of one client delivered as one copy at the highest QoS carrying every
matching identifier (MQTT 5.0 §3.3.4 allows that or one copy per subscription),
and the ACL (0x80 / 0x87 in SUBACK, 0x87 in PUBACK/PUBREC).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from explorer.broker.session import BrokerSession, Connection, Message, ack_bytes
from explorer.broker.trie import Subscriber, SubscriptionTrie
from explorer.errors import LocalProtocolError
from explorer.mqtt.enums import (
    DisconnectReasonCode,
    ProtocolVersion,
    PubackReasonCode,
    PubrecReasonCode,
    RetainHandling,
    SubackReasonCode,
    UnsubackReasonCode,
)
from explorer.mqtt.packets import (
    NO_PROPERTIES,
    Puback,
    Publish,
    Pubrec,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
    Will,
)
from explorer.mqtt.topics import topic_matches, validate_topic_filter, validate_topic_name

if TYPE_CHECKING:
    from explorer.broker.state import BrokerState

__all__ = ["Router"]

V5 = ProtocolVersion.V5
_NO_SUBSCRIPTION = UnsubackReasonCode.NO_SUBSCRIPTION_EXISTED
_FAILURE = SubackReasonCode.UNSPECIFIED_ERROR  # 0x80, the only 3.1.1 failure code


_PLAN_LIMIT = 20_000
_Target = tuple[str, int, bool, tuple[int, ...]]  # client id, QoS, retain as published, identifiers


def _plan(subs: tuple[Subscriber, ...], publisher: str | None) -> list[_Target] | None:
    """One delivery per client; None (when planning without a publisher) if No Local matters."""
    merged: dict[str, _Merged] = {}
    for sub in subs:
        if sub.no_local:
            if publisher is None:
                return None
            if sub.client_id == publisher:
                continue
        entry = merged.get(sub.client_id)
        if entry is None:
            merged[sub.client_id] = entry = _Merged()
        entry.add(sub)
    return [(cid, e.qos, e.retain_as_published, tuple(e.identifiers)) for cid, e in merged.items()]


class _Merged:
    """Several subscriptions of one client matching one message (§3.3.4: one copy)."""

    __slots__ = ("identifiers", "qos", "retain_as_published")

    def __init__(self) -> None:
        self.qos = 0
        self.retain_as_published = False
        self.identifiers: list[int] = []

    def add(self, sub: Subscriber) -> None:
        self.qos = max(self.qos, sub.qos)
        self.retain_as_published = self.retain_as_published or sub.retain_as_published
        if sub.identifier:
            self.identifiers.append(sub.identifier)


class Router:
    """Owned by :class:`~explorer.broker.state.BrokerState`; shares its stats and outbox."""

    def __init__(self, state: BrokerState) -> None:
        self.state = state
        self.trie = SubscriptionTrie()
        self.retained: dict[str, Message] = {}
        self._valid_topics: set[str] = set()  # topic names already validated (bounded)
        self._plans: dict[str, tuple[tuple[Subscriber, ...], list[_Target] | None]] = {}

    # -- inbound PUBLISH -------------------------------------------------------------------

    def publish_received(
        self, conn: Connection, packet: Publish, now: float, raw: bytes | None = None
    ) -> None:
        state = self.state
        session = conn.session
        assert session is not None
        topic = packet.topic
        props = packet.properties
        if props is not NO_PROPERTIES and props.subscription_identifiers:
            # [MQTT-3.3.4-6] only the server sends Subscription Identifiers; MQTT 5.0
            # §3.3.2.3.8 makes one from a client a protocol error (0x82, §4.13).
            state.protocol_violation(conn, "a client's PUBLISH must not carry a Subscription Identifier")
            return
        if props is not NO_PROPERTIES and props.topic_alias is not None and conn.version == V5:
            alias = props.topic_alias
            if not 0 < alias <= state.config.topic_alias_maximum:
                state.close(conn, DisconnectReasonCode.TOPIC_ALIAS_INVALID, code=1002)
                return
            if topic:
                conn.aliases[alias] = topic
            else:
                known = conn.aliases.get(alias)
                if known is None:
                    state.protocol_violation(conn, f"topic alias {alias} was never set")
                    return
                topic = known
        if topic not in self._valid_topics:
            try:
                validate_topic_name(topic)
            except LocalProtocolError as exc:
                state.stats.protocol_errors += 1
                state.close(conn, DisconnectReasonCode.TOPIC_NAME_INVALID, code=1002, explanation=str(exc))
                return
            if len(self._valid_topics) >= 50_000:
                self._valid_topics.clear()
            self._valid_topics.add(topic)
        qos = packet.qos
        pid = packet.packet_id
        if qos == 2 and pid in session.inbound_qos2:
            # A resent QoS 2 PUBLISH: acknowledge again, do not deliver twice (§4.3.3).
            state.send_raw(conn, ack_bytes(5, pid))
            return
        if qos == 2 and len(session.inbound_qos2) >= state.config.receive_maximum:
            state.close(conn, DisconnectReasonCode.RECEIVE_MAXIMUM_EXCEEDED, code=1008)
            return
        allowed = state.acl is None or state.acl.may_publish(conn.client_id, conn.username, topic)
        if allowed:
            message = Message(
                topic,
                packet.payload,
                qos=qos,
                retain=packet.retain,
                properties=props,
                publisher=conn.client_id,
                received=now,
            )
            state.stats.messages_received += 1
            if raw is not None and qos == 0 and props is NO_PROPERTIES and len(raw) > 1 and raw[1] < 0x80:
                # The received bytes are already the QoS 0 PUBLISH that same-version
                # subscribers get (a one-byte Remaining Length is always minimal).
                message.encoded[(conn.version or 4, packet.retain)] = raw
            if packet.retain:
                self.store_retained(message)
            self.route(message, now)
        if qos == 0:
            return
        assert pid is not None
        denied = not allowed and conn.version == V5
        if qos == 1:
            if denied:
                state.send(conn, Puback(pid, PubackReasonCode.NOT_AUTHORIZED))
            else:
                state.send_raw(conn, ack_bytes(4, pid))
        elif denied:
            # An error PUBREC ends the flow (§4.3.3): do not remember the packet id.
            state.send(conn, Pubrec(pid, PubrecReasonCode.NOT_AUTHORIZED))
        else:
            session.inbound_qos2.add(pid)
            state.send_raw(conn, ack_bytes(5, pid))

    def store_retained(self, message: Message) -> None:
        if not message.retain:
            return
        if message.payload:
            self.retained[message.topic] = message
        else:
            # [MQTT-3.3.1-6] an empty retained message clears the topic and is not stored.
            self.retained.pop(message.topic, None)

    def will_allowed(self, client_id: str, username: str | None, will: Will) -> bool:
        try:
            validate_topic_name(will.topic)
        except LocalProtocolError:
            return False
        acl = self.state.acl
        return acl is None or acl.may_publish(client_id, username, will.topic)

    # -- routing ---------------------------------------------------------------------------

    def route(self, message: Message, now: float) -> None:
        subs, groups = self.trie.match(message.topic)
        if not subs and not groups:
            return
        sessions = self.state.sessions
        deliver = self.state.outbound.deliver
        acl = self.state.acl
        if len(subs) == 1 and not groups:
            sub = subs[0]
            if sub.no_local and sub.client_id == message.publisher:
                return
            session = sessions.get(sub.client_id)
            if session is not None and self._readable(session, message.topic):
                deliver(
                    session,
                    message,
                    qos=sub.qos,
                    retain=message.retain and sub.retain_as_published,
                    identifiers=(sub.identifier,) if sub.identifier else (),
                    now=now,
                )
            return
        # Several subscriptions: one copy per client, at the highest QoS, with every identifier.
        # The merge is planned once per topic and reused while the subscriptions stay the same
        # (the trie hands back the same tuple until they change).
        planned = self._plans.get(message.topic)
        if planned is None or planned[0] is not subs:
            planned = (subs, _plan(subs, None))
            if len(self._plans) >= _PLAN_LIMIT:
                self._plans.clear()
            self._plans[message.topic] = planned
        targets = planned[1]
        if targets is None:  # some subscription has No Local: it depends on the publisher
            # In-process messages have no publisher: "" matches no client id (empty ids get assigned).
            targets = _plan(subs, message.publisher or "") or []
        retain = message.retain
        for client_id, qos, rap, ids in targets:
            session = sessions.get(client_id)
            if session is None or (acl is not None and not self._readable(session, message.topic)):
                continue
            deliver(session, message, qos=qos, retain=retain and rap, identifiers=ids, now=now)
        for group in groups:

            def online(member: Subscriber) -> bool:
                session = sessions.get(member.client_id)
                return session is not None and session.connection is not None

            chosen = group.pick(online)
            if chosen is None:
                continue
            session = sessions.get(chosen.client_id)
            if session is not None:
                deliver(
                    session,
                    message,
                    qos=chosen.qos,
                    retain=message.retain and chosen.retain_as_published,
                    identifiers=(chosen.identifier,) if chosen.identifier else (),
                    now=now,
                )

    def _readable(self, session: BrokerSession, topic: str) -> bool:
        acl = self.state.acl
        if acl is None:
            return True
        return acl.may_read(session.client_id, session.username, topic)

    # -- SUBSCRIBE / UNSUBSCRIBE -----------------------------------------------------------

    def subscribe(self, conn: Connection, packet: Subscribe, now: float) -> None:
        state = self.state
        session = conn.session
        assert session is not None
        v5 = conn.version == V5
        ids = packet.properties.subscription_identifiers
        identifier = ids[0] if ids else None
        if len(ids) > 1 or identifier == 0:
            # MQTT 5.0 §3.8.2.1.2: at most one identifier, and not 0.
            state.protocol_violation(conn, "SUBSCRIBE carries an invalid subscription identifier")
            return
        codes: list[SubackReasonCode] = []
        new_subs: list[tuple[Subscriber, bool]] = []
        for wanted in packet.subscriptions:
            topic_filter = wanted.topic_filter
            try:
                validate_topic_filter(topic_filter)
            except LocalProtocolError:
                codes.append(SubackReasonCode.TOPIC_FILTER_INVALID if v5 else _FAILURE)
                continue
            shared = topic_filter.startswith("$share/")
            if shared and wanted.no_local:
                # [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error.
                state.protocol_violation(conn, "No Local set on a shared subscription")
                return
            acl = state.acl
            if acl is not None and not acl.may_subscribe(conn.client_id, conn.username, topic_filter):
                codes.append(SubackReasonCode.NOT_AUTHORIZED if v5 else _FAILURE)
                continue
            qos = min(wanted.qos, 2)
            sub = Subscriber(
                session.client_id,
                topic_filter,
                qos,
                wanted.no_local and v5,
                wanted.retain_as_published and v5,
                int(wanted.retain_handling) if v5 else 0,
                identifier,
            )
            is_new = self.trie.add(sub)
            session.subscriptions[topic_filter] = sub
            new_subs.append((sub, is_new))
            codes.append(SubackReasonCode(qos))
        state.send(conn, Suback(packet.packet_id, tuple(codes)))
        for sub, is_new in new_subs:
            self._send_retained(session, sub, is_new, now)

    def _send_retained(self, session: BrokerSession, sub: Subscriber, is_new: bool, now: float) -> None:
        if sub.topic_filter.startswith("$share/"):
            return  # MQTT 5.0 §4.8.2: no retained messages for shared subscriptions
        handling = sub.retain_handling
        if handling == RetainHandling.DO_NOT_SEND or (
            handling == RetainHandling.SEND_IF_NEW_SUBSCRIPTION and not is_new
        ):
            return
        ids = (sub.identifier,) if sub.identifier else ()
        expired: list[str] = []
        for topic, message in self.retained.items():
            if not topic_matches(sub.topic_filter, topic):
                continue
            if message.expired(now):
                expired.append(topic)
                continue
            if not self._readable(session, topic):
                continue
            # [MQTT-3.3.1-9] retained messages sent on subscribe carry RETAIN = 1.
            self.state.outbound.deliver(session, message, qos=sub.qos, retain=True, identifiers=ids, now=now)
        for topic in expired:
            del self.retained[topic]

    def unsubscribe(self, conn: Connection, packet: Unsubscribe) -> None:
        session = conn.session
        assert session is not None
        codes: list[UnsubackReasonCode] = []
        for topic_filter in packet.topic_filters:
            removed = session.subscriptions.pop(topic_filter, None) is not None
            if removed:
                self.trie.remove(session.client_id, topic_filter)
            codes.append(UnsubackReasonCode.SUCCESS if removed else _NO_SUBSCRIPTION)
        self.state.send(conn, Unsuback(packet.packet_id, tuple(codes) if conn.version == V5 else ()))
