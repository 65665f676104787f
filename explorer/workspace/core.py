"""Workspace: the one object a front end holds (DESIGN.md).

It owns the active client (or none), the embedded broker when one was started, the
TopicTree, the TraceBuffer and the saved messages, and it turns the client's stream of
trace events into models:

* every event lands in a model as it arrives, which is cheap and keeps the models
  exact: messages in the TopicTree (with their history), every other event (handshake,
  frames, packets, states, errors) in the bounded TraceBuffer;
* views iterate :meth:`Workspace.events` and get coalesced :class:`Batch` values at most
  ``max_rate_hz`` times a second (see :mod:`explorer.workspace.batching`);
* views send intents back as coroutine calls (``connect``, ``subscribe``, ``publish``,
  ``clear_retained``, ...). A failure raises an :class:`~explorer.errors.ExplorerError`
  with a sentence and, for ``connect``, also reports an ``ErrorReported`` event, which
  the front ends use to open the diagnoser.

The Workspace holds no protocol logic: the session, the decoder and the broker do that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from explorer.client.options import ConnectionOptions
from explorer.errors import ConnectionFailed, ExplorerError, HandshakeError
from explorer.model.events import (
    ConnectionState,
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    MessageReceived,
    PacketEvent,
    StateChanged,
    TraceEvent,
)
from explorer.model.topictree import DEFAULT_HISTORY_TOTAL_BYTES, TopicMessage, TopicNode, TopicTree
from explorer.model.trace import TraceBuffer
from explorer.mqtt.describe import suback_failed
from explorer.mqtt.enums import RetainHandling
from explorer.mqtt.packets import NO_PROPERTIES, Disconnect, Properties, Publish, Suback, Subscription
from explorer.present.status import ConnectionStatus, RateMeter, StatusTracker
from explorer.workspace.batching import Batch, Fanout
from explorer.workspace.embedded import EmbeddedHost
from explorer.workspace.export import MessageFormat, export_messages, wall_time
from explorer.workspace.saved import SAVED_MESSAGES_FILE, SavedMessages
from explorer.workspace.sources import SourcesMixin

if TYPE_CHECKING:
    from explorer.broker.child import EmbeddedBroker
    from explorer.broker.earlychild import EarlyChild
    from explorer.codecs.registry import CodecRegistry
    from explorer.codecs.stream import MessageDecoder
    from explorer.diagnose import Diagnosis, ProbeChecks, StepCallback
    from explorer.profiles.secret_store import SecretStore
    from explorer.profiles.store import ProfileStore
    from explorer.recording.stats import TopicStats
    from explorer.workspace.filesource import FileSource
    from explorer.workspace.recorder import RecordingSink

__all__ = ["ClientFactory", "TraceFormat", "Workspace"]

_T = TypeVar("_T")

TraceFormat = Literal["pcapng", "jsonl"]


class _Client(Protocol):
    """What the Workspace needs of a client (:class:`explorer.client.driver.MqttClient`)."""

    conn: int

    async def connect(self) -> Any: ...

    async def subscribe(
        self,
        *topics: str | Subscription,
        qos: int = 0,
        subscription_identifier: int | None = None,
        user_properties: tuple[tuple[str, str], ...] = (),
    ) -> Suback: ...

    async def unsubscribe(
        self, *topic_filters: str, user_properties: tuple[tuple[str, str], ...] = ()
    ) -> Any: ...

    async def publish(
        self,
        topic: str,
        payload: bytes | str = b"",
        qos: int = 0,
        retain: bool = False,
        properties: Properties = NO_PROPERTIES,
    ) -> Any: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


ClientFactory = Callable[[ConnectionOptions, Callable[[TraceEvent], None], int], _Client]
"""Makes a client: ``(options, on_event, conn) -> client``."""


def _read_now() -> float:
    return 0.0


class _TreeForwarder:
    """Forwards topic tree changes to the batch subscribers."""

    __slots__ = ("_fanout",)

    def __init__(self, fanout: Fanout) -> None:
        self._fanout = fanout

    def inserting(self, parent: TopicNode, row: int, node: TopicNode) -> None:
        pass

    def inserted(self, parent: TopicNode, row: int, node: TopicNode) -> None:
        pass

    def removing(self, parent: TopicNode, row: int, node: TopicNode) -> None:
        pass

    def removed(self, parent: TopicNode, row: int, node: TopicNode) -> None:
        for subscriber in self._fanout.subscribers:
            subscriber.changed.discard(node)
            subscriber.changed.difference_update(node.walk())
        self._fanout.notify()

    def changed(self, node: TopicNode) -> None:
        for subscriber in self._fanout.subscribers:
            subscriber.changed.add(node)


def _broker_of(options: ConnectionOptions) -> tuple[str, int] | str:
    """What tells two brokers apart: host and port (the path and scheme may differ for one broker)."""
    try:
        endpoint = options.endpoint
    except ExplorerError:
        return options.url
    return (endpoint.host.lower(), endpoint.port)


_ENDED = frozenset(
    {
        ConnectionState.DISCONNECTED,
        ConnectionState.CLOSED,
        ConnectionState.RECONNECTING,
        ConnectionState.FAILED,
    }
)


def _direction_of(event: TraceEvent) -> str | None:
    """``c2s``/``s2c`` for the events that carry bytes on the wire."""
    if isinstance(event, FrameEvent | PacketEvent):
        return event.direction
    if isinstance(event, HandshakeRequest):
        return "c2s"
    if isinstance(event, HandshakeResponse):
        return "s2c"
    return None


def _layer_of(exc: BaseException) -> str:
    if isinstance(exc, HandshakeError):
        return "http"
    layer = getattr(exc, "layer", None)
    return layer if isinstance(layer, str) else "connect"


class Workspace(SourcesMixin):
    """The models and intents a front end works with.

    Args:
        clock: the time source for rates and for events the Workspace makes itself.
        trace_limit: trace events kept (the oldest are dropped first and counted).
        history_count: messages kept per topic.
        history_bytes: payload bytes kept per topic.
        history_total_bytes: history bytes kept over all topics (see :class:`TopicTree`).
        secret_store: where profile secrets live (the OS keyring when None); used by
            :attr:`profiles` when no ``profile_store`` is given.
        profile_store: where profiles live; its directory also holds the saved messages.
        config_dir: the directory of the saved messages when there is no profile store
            (default: the profiles' configuration directory).
        batch_capacity: events buffered for the batch subscribers (per-subscriber window).
        client_factory: makes the client for :meth:`connect`; the real
            :class:`explorer.client.driver.MqttClient` by default.
        read_gate: asked by the default client before every network read: seconds to
            wait first (:data:`explorer.client.driver.ReadGate`; by default reads never
            wait). The interactive front ends pass their
            :attr:`~explorer.workspace.runtime.RuntimePolicy.read_gate`. The Workspace
            changes no process-wide setting (the collector is the front ends' policy).
        embedded_in_process: run :meth:`start_embedded`'s broker on this process's event
            loop (a :class:`~explorer.broker.server.Broker`, for tests that inspect it)
            instead of in a child process, which keeps its work off the views' loop.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        trace_limit: int = 100_000,
        history_count: int = 100,
        history_bytes: int = 1_000_000,
        history_total_bytes: int = DEFAULT_HISTORY_TOTAL_BYTES,
        secret_store: SecretStore | None = None,
        profile_store: ProfileStore | None = None,
        config_dir: Path | str | None = None,
        batch_capacity: int = 10_000,
        client_factory: ClientFactory | None = None,
        read_gate: Callable[[], float] = _read_now,
        embedded_in_process: bool = False,
    ) -> None:
        self.clock = clock
        # Event times come from the client's monotonic clock; this makes them wall-clock.
        self.wall_offset = time.time() - time.monotonic()
        self.tree = TopicTree(
            history_count=history_count,
            history_bytes=history_bytes,
            history_total_bytes=history_total_bytes,
        )
        self.trace = TraceBuffer(max_events=trace_limit)
        self.trace_limit = trace_limit
        self.secret_store = secret_store
        self.profile_store = profile_store
        self._config_dir = Path(config_dir) if config_dir is not None else None
        self._saved: SavedMessages | None = None
        self.read_gate = read_gate
        self._client_factory = client_factory or self._make_client
        self._fanout = Fanout(batch_capacity)
        self.tree.add_listener(_TreeForwarder(self._fanout))
        self._tracker = StatusTracker()
        self._rate = RateMeter(clock)
        self._next_event_seq = 0
        self._next_conn = 0
        self._conn = -1
        self._client: _Client | None = None
        self._embedded = EmbeddedHost(in_process=embedded_in_process, on_death=self._embedded_died)
        self.options: ConnectionOptions | None = None
        self.subscriptions: dict[str, int] = {}
        self._servers: dict[int, tuple[str, int]] = {}
        self._file: FileSource | None = None
        self._live_stats: TopicStats | None = None
        self._file_task: asyncio.Task[None] | None = None
        self._recording: RecordingSink | None = None
        self._recorder: Callable[[TraceEvent], None] | None = None
        self._own_retained: set[str] = set()
        self._payloads: MessageDecoder | None = None
        self._codecs: CodecRegistry | None = None
        self._closed = False

    # -- ingest (hot path) -----------------------------------------------------------

    def next_seq(self) -> int:
        """A sequence number for an event made outside the client (renumbered on ingest)."""
        return self._next_event_seq

    def ingest(self, event: TraceEvent) -> None:
        """Take one trace event into the models and offer it to the views.

        The client calls this for every event; tests and benchmarks may call it with
        decoded traffic directly. Messages go to the topic tree, every other event to
        the trace buffer (the PUBLISH packet is there already, so the trace limit counts
        wire events only). The Workspace renumbers ``seq`` in arrival order, so sequence
        numbers stay unique and increasing across reconnections and clients.
        """
        seq = self._next_event_seq
        self._next_event_seq = seq + 1
        event.seq = seq
        recorder = self._recorder
        if recorder is not None:
            recorder(event)
        if type(event) is MessageReceived:
            packet = event.packet
            properties = packet.properties if type(packet) is Publish else NO_PROPERTIES
            self.tree.add_message(
                event.topic,
                event.payload,
                qos=event.qos,
                retain=event.retain,
                time=event.time,
                # Identity first: comparing a Properties value field by field is slow.
                properties=None if properties is NO_PROPERTIES or not properties else properties,
            )
            stats = self._live_stats
            if stats is not None:
                stats.add(
                    event.topic, len(event.payload), event.retain, wall_time(event.time, self.wall_offset)
                )
            if event.topic.startswith("spBv1.0/"):  # Sparkplug B state needs every message, in order
                self.payloads.observe(event.topic, event.payload, event.time)
            if self._own_retained and event.topic in self._own_retained:
                node = self.tree.find(event.topic)
                if node is not None and not node.retained:
                    self.tree.set_retained(node, True)
        else:
            self.trace.append(event)
            if type(event) is PacketEvent:
                if type(event.packet) is not Publish:
                    self._tracker.observe(event)
            elif type(event) is not FrameEvent:
                before = self._tracker.state
                self._tracker.observe(event)
                if type(event) is StateChanged:
                    if self._client is not None:
                        self._remember_server(event.conn, self._client)
                    if (
                        before == "connected"
                        and event.state in _ENDED
                        and event.conn == self._conn
                        and self._client is not None  # not the Workspace's own disconnect
                    ):
                        self._explain_unexpected_close()
        # Fanout.push, inline: one call less for each event of a firehose.
        fanout = self._fanout
        fanout.total += 1
        if fanout.subscribers:
            fanout.ring.append(event)
            if not fanout.woken:
                fanout.notify()

    @property
    def payloads(self) -> MessageDecoder:
        """The payload decoder of the views (codec rules, Sparkplug B state), made on first use.

        Sparkplug messages are read as they arrive; other payloads only when a view asks
        (:meth:`explorer.codecs.stream.MessageDecoder.decode`).
        """
        if self._payloads is None:
            from explorer.codecs.stream import MessageDecoder

            self._payloads = MessageDecoder(self._codecs)
        return self._payloads

    def set_codecs(self, registry: CodecRegistry) -> None:
        """Use these codec rules and Protobuf schemas (``--codec``, ``--proto``, the profile's)."""
        self._codecs = registry
        if self._payloads is not None:
            self._payloads.registry = registry

    def ingest_many(self, events: Iterable[TraceEvent]) -> None:
        for event in events:
            self.ingest(event)

    # -- status ----------------------------------------------------------------------

    @property
    def status(self) -> ConnectionStatus:
        """A snapshot of the connection status (see :class:`ConnectionStatus`)."""
        tracker = self._tracker
        messages = self.tree.message_count
        version = tracker.mqtt_version
        return ConnectionStatus(
            state=tracker.state,
            url=tracker.url,
            subprotocol=tracker.subprotocol,
            tls_version=tracker.tls_version,
            cipher=tracker.cipher,
            mqtt_version=version.label if version is not None else None,
            client_id=tracker.client_id,
            rtt_ms=tracker.rtt_ms,
            msgs_per_s=self._rate.rate(messages) if self._file is None else 0.0,  # a file has no live rate
            messages=messages,
            topics=self.tree.topic_count,
            dropped_events=self.trace.dropped,
            trace_size=len(self.trace),
            trace_limit=self.trace_limit,
            history_count=self.tree.history_count,
            history_bytes=self.tree.history_bytes,
            history_kept_bytes=self.tree.kept_bytes,
            history_total_bytes=self.tree.history_total_bytes,
            detail=tracker.detail,
            last_error=tracker.last_error,
            embedded=self._on_embedded(),
            insecure=tracker.insecure,
            warnings=tracker.warnings,
        )

    def events(
        self, max_rate_hz: float = 20, *, max_events: int | None = None, duty: float | None = None
    ) -> AsyncGenerator[Batch, None]:
        """Batches of what happened, at most ``max_rate_hz`` per second, until :meth:`close`.

        Each call makes an independent subscriber with its own bounded window; the first
        batch comes at once with the current status. Stop iterating (``break``) to leave.
        ``duty`` paces an interactive view to that share of the loop's time (see
        :meth:`Fanout.stream`).
        """
        return self._fanout.stream(lambda: self.status, max_rate_hz, max_events, duty)

    # -- embedded broker -------------------------------------------------------------

    async def start_embedded(self, *, demo: bool = True, tls: bool = False) -> ConnectionOptions:
        """Start the embedded broker on free loopback ports (with the demo publisher).

        Returns the options that reach it over WebSocket; pass them to :meth:`connect`.
        With ``tls`` they reach its wss:// listener and trust its local CA
        (:attr:`embedded_ca_file`), made once in the user's data directory.
        They ask for MQTT 5.0, which the embedded broker speaks, so the demo's MQTT 5
        properties, reason codes and topic aliases show in the views.

        The broker runs in a child process (:class:`~explorer.broker.child.BrokerProcess`)
        unless the Workspace was made with ``embedded_in_process=True``; one that died is
        replaced by a new one.

        Raises:
            ExplorerError: the broker could not start (the child's own words included).
        """
        if self._closed:
            raise ExplorerError("this workspace is closed")
        return await self._embedded.start(demo=demo, tls=tls)

    def adopt_early_broker(self, early: EarlyChild) -> None:
        """Take the embedded broker child that a launcher started before the event loop
        (:func:`explorer.broker.child.spawn_early`): :meth:`start_embedded` uses it when
        it is of the kind asked for, :meth:`close` ends it if it was never used."""
        self._embedded.adopt_early(early)

    async def revive_embedded(self, options: ConnectionOptions) -> ConnectionOptions:
        """``options`` for a reconnect: pointed at a new embedded broker if theirs died."""
        if self._closed:
            raise ExplorerError("this workspace is closed")
        return await self._embedded.revive(options)

    @property
    def embedded_ca_file(self) -> str | None:
        """The CA file the embedded broker's TLS listeners use, when they are on."""
        return self._embedded.ca_file

    @property
    def broker(self) -> EmbeddedBroker | None:
        """The running embedded broker: a ``BrokerProcess``, or a ``Broker`` in process."""
        return self._embedded.broker

    def _on_embedded(self) -> bool:
        """True only while the active connection is the one to the embedded broker's URL."""
        options = self.options
        return self._client is not None and options is not None and self._embedded.serves(options.url)

    def _embedded_died(self, message: str) -> None:
        self.ingest(
            ErrorReported(
                seq=self.next_seq(),
                time=self.clock(),
                conn=self._conn,
                direction=None,
                layer="broker",
                message=message,
            )
        )

    # -- connection intents ----------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._client is not None and self._tracker.state is ConnectionState.CONNECTED

    def options_for(self, url: str, base: ConnectionOptions | None = None) -> ConnectionOptions:
        """The options to connect to (or probe) ``url`` typed by the user.

        ``base`` (by default the current connection's options) carries over only to the
        same broker (host and port): another broker starts from the defaults (MQTT
        3.1.1), so an MQTT 5.0 connection to the demo broker does not make the next
        broker refuse the version.
        """
        current = base if base is not None else self.options
        fresh = ConnectionOptions(url=url)
        if current is not None and _broker_of(current) == _broker_of(fresh):
            return current.with_changes(url=url)
        return fresh

    def explain_close(self) -> str | None:
        """Why the latest connection ended unasked, in one sentence, or ``None``.

        The silences before the close (since the last byte received and sent) are held
        against the idle timeouts of common proxies and load balancers
        (:func:`explorer.diagnose.idle.explain_close`). ``None`` while the connection is
        open, when the client ended it (its DISCONNECT was the last word), or when the
        trace no longer holds its close.
        """
        from explorer.diagnose.idle import explain_close

        conn, closed_at = self._conn, None
        last: dict[str, TraceEvent] = {}
        wire_events = 0
        for position in range(len(self.trace) - 1, max(-1, len(self.trace) - 100_000), -1):
            event = self.trace[position]
            if event.conn != conn:
                continue
            if closed_at is None:
                if isinstance(event, StateChanged) and event.state in _ENDED:
                    closed_at = event.time
                elif isinstance(event, StateChanged) and event.state is ConnectionState.CONNECTED:
                    return None
                continue
            direction = _direction_of(event)
            if direction is None:
                continue
            wire_events += 1
            if direction == "c2s" and isinstance(event, PacketEvent) and isinstance(event.packet, Disconnect):
                return None  # the client's own DISCONNECT (then its close frame) ended it
            last.setdefault(direction, event)
            if len(last) == 2 and wire_events >= 8:
                break
        if closed_at is None or not last:
            return None
        sent = last.get("c2s")
        keep_alive = self.options.keep_alive if self.options is not None else 0
        received = last.get("s2c")
        return explain_close(
            closed_at - received.time if received is not None else None,
            closed_at - sent.time if sent is not None else None,
            keep_alive,
        )

    def _explain_unexpected_close(self) -> None:
        """Say in the trace and the status why an open connection ended unasked."""
        sentence = self.explain_close()
        if sentence is None:
            return
        tracker = self._tracker
        tracker.detail = f"{tracker.detail}. {sentence}" if tracker.detail else sentence
        self.ingest(
            ErrorReported(
                seq=self.next_seq(),
                time=self.clock(),
                conn=self._conn,
                direction=None,
                layer="connection",
                message=sentence,
            )
        )

    async def connect(self, options: ConnectionOptions) -> None:
        """Connect (closing any previous connection first).

        Raises:
            ConnectionFailed: with the client's explanation; an ``ErrorReported`` event
                with the same message is in the trace and the next batch.
        """
        if self._closed:
            raise ConnectionFailed("this workspace is closed")
        await self.disconnect()
        if self._file is not None:
            await self.close_file()
            self.tree.clear()
            self.trace.clear()
        if self.options is not None and _broker_of(self.options) != _broker_of(options):
            # Another broker: its topics are not this one's (the trace keeps every connection).
            self.tree.clear()
            self._own_retained.clear()
            if self._payloads is not None:
                self._payloads.reset()
        self.options = options
        if self._recording is not None and self._recording.active:
            self._recording.use_connection(options)
        self.subscriptions = {}
        self._tracker.reset(url=options.url, state=ConnectionState.CONNECTING, insecure=options.tls.insecure)
        self._rate.reset()
        self._fanout.notify()
        self._conn = self._next_conn
        client = self._client_factory(options, self.ingest, self._conn)
        self._client = client
        try:
            await client.connect()
        except (ExplorerError, OSError) as exc:
            self._client = None
            self._next_conn = client.conn + 1
            message = str(exc) or type(exc).__name__
            self.ingest(
                ErrorReported(
                    seq=self.next_seq(),
                    time=self.clock(),
                    conn=self._conn,
                    direction=None,
                    layer=_layer_of(exc),
                    message=message,
                )
            )
            self._tracker.state = ConnectionState.FAILED
            self._tracker.detail = message
            self._fanout.notify()
            if isinstance(exc, ConnectionFailed):
                raise
            raise ConnectionFailed(f"cannot connect to {options.url}: {message}") from exc
        self._read_transport_info(client)
        self._remember_server(client.conn, client)
        if self._tracker.state in (ConnectionState.CONNECTING, ConnectionState.IDLE):
            self._tracker.state = ConnectionState.CONNECTED
        self._fanout.notify()

    def _remember_server(self, conn: int, client: _Client) -> None:
        """The broker's address for connection ``conn``, for the pcapng export."""
        info = getattr(client, "info", None)
        peer = getattr(info, "peer", None)
        if isinstance(peer, tuple) and len(peer) >= 2:
            self._servers[conn] = (str(peer[0]), int(peer[1]))
        elif self.options is not None:
            endpoint = self.options.endpoint
            self._servers[conn] = (endpoint.host, endpoint.port)

    def _read_transport_info(self, client: _Client) -> None:
        """TLS and subprotocol facts the client learnt (when it exposes them)."""
        info = getattr(client, "info", None)
        for source, name in ((info, "tls_version"), (info, "cipher"), (client, "subprotocol")):
            value = getattr(source, name, None)
            if isinstance(value, str) and value:
                setattr(self._tracker, name, value)

    async def disconnect(self) -> None:
        """Close the connection cleanly (DISCONNECT); nothing happens when not connected."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            await client.close()
        finally:
            self._next_conn = client.conn + 1
            if self._tracker.state is not ConnectionState.FAILED:
                self._tracker.state = ConnectionState.DISCONNECTED
            self._fanout.notify()

    def _make_client(
        self, options: ConnectionOptions, on_event: Callable[[TraceEvent], None], conn: int
    ) -> _Client:
        from explorer.client.driver import MqttClient

        return MqttClient(options, on_event, conn=conn, read_gate=self.read_gate)

    def _require_client(self) -> _Client:
        if self._client is None:
            raise ConnectionFailed("not connected: connect to a broker first")
        return self._client

    async def subscribe(
        self,
        topic_filter: str,
        qos: int = 0,
        *,
        no_local: bool = False,
        retain_as_published: bool = False,
        retain_handling: RetainHandling | int = RetainHandling.SEND_ON_SUBSCRIBE,
        subscription_identifier: int | None = None,
        user_properties: tuple[tuple[str, str], ...] = (),
    ) -> list[int]:
        """Subscribe and return the SUBACK reason codes (granted QoS, or >= 0x80 for a refusal).

        The keyword options are MQTT 5's subscription options (MQTT 5.0 §3.8.3.1) and
        SUBSCRIBE properties (§3.8.2.1); a 3.1.1 connection ignores them.
        """
        client = self._require_client()
        subscription = Subscription(
            topic_filter,
            qos=qos,
            no_local=no_local,
            retain_as_published=retain_as_published,
            retain_handling=RetainHandling(retain_handling),
        )
        suback = await client.subscribe(
            subscription, subscription_identifier=subscription_identifier, user_properties=user_properties
        )
        codes = [int(code) for code in suback.reason_codes]
        if codes and not suback_failed(codes[0]):
            self.subscriptions[topic_filter] = codes[0]
        self._fanout.notify()
        return codes

    async def unsubscribe(self, topic_filter: str) -> None:
        """Unsubscribe from one topic filter (the topics already seen stay in the tree)."""
        client = self._require_client()
        await client.unsubscribe(topic_filter)
        self.subscriptions.pop(topic_filter, None)
        self._fanout.notify()

    async def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 0,
        retain: bool = False,
        properties: Properties = NO_PROPERTIES,
    ) -> None:
        """Publish; returns when the QoS flow is complete (PUBACK / PUBCOMP)."""
        client = self._require_client()
        await client.publish(topic, payload, qos, retain, properties)
        if retain:
            self._note_own_retained(topic, payload)

    async def ping(self) -> None:
        """PINGREQ and its PINGRESP: the broker has read everything sent before (see MqttClient.ping)."""
        await self._require_client().ping()

    def _note_own_retained(self, topic: str, payload: bytes) -> None:
        """Remember a retained message we published, so it can be deleted before a reconnect.

        A broker forwards a message to existing subscriptions with the retain flag cleared
        [MQTT-3.3.1-9], so the echo of our own retained PUBLISH does not mark the topic as
        retained in the tree; the workspace marks it itself.
        """
        if payload:
            self._own_retained.add(topic)
        else:
            self._own_retained.discard(topic)
        node = self.tree.find(topic)
        if node is not None:
            self.tree.set_retained(node, bool(payload))

    def retained_topics(self, topic_or_subtree: str) -> list[str]:
        """The topics at and below ``topic_or_subtree`` that hold a retained message, as far as seen.

        Seen means: a message arrived with the retain flag, or this workspace published one
        since it connected to this broker. ``a/b``, ``a/b/#`` and ``#`` are understood.
        """
        topic = topic_or_subtree.removesuffix("#").removesuffix("/") if topic_or_subtree != "#" else ""
        under = self.tree.find(topic) if topic else self.tree.root
        found = (
            {node.topic for node in self.tree.topics(under) if node.retained} if under is not None else set()
        )
        prefix = f"{topic}/" if topic else ""
        found.update(t for t in self._own_retained if not topic or t == topic or t.startswith(prefix))
        return sorted(found)

    async def clear_retained(self, topic_or_subtree: str) -> int:
        """Delete the retained messages at and below a topic; returns how many were cleared.

        Publishes a zero-byte retained message to each topic of :meth:`retained_topics`
        [MQTT-3.3.1-10]. ``a/b`` and ``a/b/#`` both mean the topic and its subtree.
        """
        targets = self.retained_topics(topic_or_subtree)
        for topic in targets:
            await self.publish(topic, b"", qos=0, retain=True)
        return len(targets)

    async def probe(
        self,
        options: ConnectionOptions,
        on_step: StepCallback | None = None,
        *,
        idle: float = 0.0,
        explore: bool = False,
        checks: ProbeChecks | None = None,
    ) -> Diagnosis:
        """Run the layered diagnosis (:func:`explorer.diagnose.diagnose`) against ``options``.

        ``on_step`` gets each layer's ``Step`` as soon as it ends, for live progress.
        ``idle`` (or ``checks.idle``) stays silent that long after CONNACK to catch a
        proxy's idle drop; ``checks`` also asks for a browser's upgrade, compression or
        a PUBLISH of a given size. With ``explore`` a failed probe goes on to combine
        variations (scheme, path, subprotocols, MQTT version) until one works: they are
        in ``Diagnosis.alternatives`` and the working options in ``Diagnosis.working``.
        """
        from explorer.diagnose import ProbeChecks, diagnose

        checks = checks if checks is not None else ProbeChecks(idle=idle)
        return await diagnose(options, explore_alternatives=explore, on_step=on_step, checks=checks)

    # -- exports and presets ---------------------------------------------------------

    def export_trace(self, path: Path | str, fmt: TraceFormat = "pcapng") -> int:
        """Write the trace buffer to ``path``; returns the number of events written."""
        from explorer.model.trace import export_jsonl, export_pcapng

        events = list(self.trace)
        if fmt == "jsonl":
            export_jsonl(events, path)
        elif fmt == "pcapng":
            servers = dict(self._servers)
            default = next(iter(servers.values()), ("127.0.0.1", 1883))
            export_pcapng(events, path, default, servers=servers)
        else:
            raise ExplorerError(f"unknown trace export format {fmt!r}: use pcapng or jsonl")
        return len(events)

    def export_messages(self, path: Path | str, fmt: MessageFormat = "jsonl") -> int:
        """Write the kept messages (per-topic history) to ``path``; returns how many.

        Times in the file are seconds since the epoch.
        """
        connection = ""
        if self.options is not None:
            try:
                connection = self.options.endpoint.url()  # never the URL's userinfo
            except ExplorerError:
                connection = ""
        payloads = self.payloads

        def decode(message: TopicMessage) -> dict[str, Any]:
            topic, payload, content_type = message.topic, message.payload, message.properties.content_type
            return payloads.decode(topic, payload, content_type).decoded.to_json()

        return export_messages(
            self.tree, path, fmt, time_offset=self.wall_offset, connection=connection, decode=decode
        )

    def wall_time(self, value: float) -> float:
        """An event or message time (the client's monotonic clock) as seconds since the epoch."""
        return wall_time(value, self.wall_offset)

    @property
    def profiles(self) -> ProfileStore:
        """The connection profiles (``profile_store``, or the default file with ``secret_store``)."""
        if self.profile_store is None:
            from explorer.profiles.store import ProfileStore

            self.profile_store = ProfileStore(secrets=self.secret_store)
        return self.profile_store

    @property
    def saved_messages(self) -> SavedMessages:
        """Publish presets, persisted next to the profiles (never with secrets)."""
        if self._saved is None:
            if self._config_dir is not None:
                directory = self._config_dir
            elif self.profile_store is not None:
                directory = self.profile_store.path.parent
            else:
                from explorer.profiles.store import config_dir

                directory = config_dir()
            self._saved = SavedMessages(directory / SAVED_MESSAGES_FILE)
        return self._saved

    # -- lifetime --------------------------------------------------------------------

    async def close(self) -> None:
        """Disconnect, stop the embedded broker and end every ``events()`` iteration."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.disconnect()
        finally:
            try:
                await self.close_file()
                await self.stop_recording()
            finally:
                await self._embedded.stop()
                self._fanout.close()

    async def __aenter__(self) -> Workspace:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
