"""MqttClient: the asyncio driver of :class:`explorer.session.Session` over TCP, TLS or WebSocket.

Thin on purpose: the protocol lives in the Sans-I/O session, the bytes in the
transports (``explorer.client.net``, ``explorer.client.websocket``). This module owns the
sockets, the timer that serves ``Session.next_deadline()``, the futures that make
``subscribe()`` / ``publish()`` awaitable, reconnection with jittered exponential
backoff, and the event stream: every byte in both directions goes through the
decoder (``explorer.decoder``) into trace events, joined by ``StateChanged``,
``MessageReceived`` and ``ErrorReported`` events made here; all of them reach the
``on_event`` callback in order, with increasing ``seq``. That decoder is the one parse
of the server's bytes (``explorer.client.trace``): the session takes its packets, the
WebSocket transport answers its control frames.

``conn`` numbers network connections: a reconnect gets the next number, so the trace
tells the connections apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from enum import Enum
from typing import Any

from explorer.client.net import ByteTransport, StreamInfo, TcpTransport
from explorer.client.options import ConnectionOptions
from explorer.client.trace import ConnectionTrace
from explorer.client.websocket import WebSocketTransport
from explorer.errors import ConnectionFailed, ExplorerError, LocalProtocolError
from explorer.model.events import (
    ConnectionState,
    Direction,
    ErrorReported,
    MessageReceived,
    StateChanged,
    TraceEvent,
)
from explorer.mqtt.enums import AuthReasonCode, DisconnectReasonCode
from explorer.mqtt.packets import NO_PROPERTIES, Auth, Connack, Properties, Suback, Subscription, Unsuback
from explorer.session import (
    Anomaly,
    AuthReceived,
    Connected,
    ConnectRefused,
    MessageArrived,
    PingAnswered,
    ProtocolViolation,
    PublishCompleted,
    ServerDisconnected,
    Session,
    SessionEvent,
    SessionState,
    SubscribeCompleted,
    TimedOut,
    UnsubscribeCompleted,
)

__all__ = [
    "MESSAGE_QUEUE_SIZE",
    "AuthHandler",
    "BrokerRefused",
    "ClientLife",
    "EventCallback",
    "MqttClient",
    "PublishFailed",
    "ReadGate",
    "backoff_delay",
    "open_transport",
]

EventCallback = Callable[[TraceEvent], None]
AuthHandler = Callable[[Auth], Properties]
"""Answers a server AUTH challenge with the properties of our AUTH (MQTT 5.0 §4.12)."""

MESSAGE_QUEUE_SIZE = 10_000  # messages() buffer; beyond it the oldest are dropped and counted


class BrokerRefused(ConnectionFailed):
    """The broker answered CONNECT with a refusal (CONNACK reason code 0x80 or above)."""


class PublishFailed(ExplorerError):
    """The broker answered our QoS 1/2 PUBLISH with a failure reason code."""

    def __init__(self, completion: PublishCompleted) -> None:
        super().__init__(completion.message or "the broker refused the message")
        self.completion = completion


ReadGate = Callable[[], float]
"""Asked before every network read: seconds to wait first (0.0: read now).

A front end may pass one to let its own work go first (the terminal and desktop
explorers install :class:`explorer.workspace.runtime.RuntimePolicy`); bytes not read
meanwhile wait in the socket buffers (TCP flow control).
"""


def _read_now() -> float:
    return 0.0


async def open_transport(options: ConnectionOptions, *, trace: ConnectionTrace) -> ByteTransport:
    """Open the transport the URL's scheme names (WebSocket for ws/wss, TCP for
    mqtt/mqtts), passing every byte through the connection's ``trace``."""
    if options.endpoint.websocket:
        return await WebSocketTransport.open(options, trace=trace)
    return await TcpTransport.open(options, trace=trace)


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: between half and all of ``min(maximum, initial * 2**attempt)``.

    The jitter keeps a fleet of clients that lost the same broker from reconnecting in
    lock step.
    """
    ceiling = min(maximum, initial * (2.0 ** min(attempt, 30)))
    fraction = rng.random() if rng is not None else random.random()
    return ceiling * (0.5 + 0.5 * fraction)


class ClientLife(Enum):
    """Where an :class:`MqttClient` is in its life (one value instead of several flags).

    ``IDLE`` (made) -> ``CONNECTING`` (a transport opens, CONNECT is sent) -> ``CONNECTED``
    (CONNACK accepted); a lost connection goes to ``RECONNECTING`` when reconnection is on
    (each attempt is ``CONNECTING`` again), else to ``CLOSED``; :meth:`MqttClient.close`
    goes through ``CLOSING`` to ``CLOSED``. ``connect()`` after ``CLOSED`` starts again.
    """

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSING = "closing"
    CLOSED = "closed"


_MOVES: dict[ClientLife, frozenset[ClientLife]] = {
    ClientLife.IDLE: frozenset({ClientLife.CONNECTING, ClientLife.CLOSING, ClientLife.CLOSED}),
    ClientLife.CONNECTING: frozenset(
        {ClientLife.CONNECTED, ClientLife.RECONNECTING, ClientLife.CLOSING, ClientLife.CLOSED}
    ),
    ClientLife.CONNECTED: frozenset({ClientLife.RECONNECTING, ClientLife.CLOSING, ClientLife.CLOSED}),
    ClientLife.RECONNECTING: frozenset({ClientLife.CONNECTING, ClientLife.CLOSING, ClientLife.CLOSED}),
    ClientLife.CLOSING: frozenset({ClientLife.CLOSING, ClientLife.CLOSED}),
    ClientLife.CLOSED: frozenset({ClientLife.CONNECTING, ClientLife.CLOSING, ClientLife.CLOSED}),
}
"""The moves :meth:`MqttClient._move` allows; any other is a bug in this module."""


class MqttClient:
    """An MQTT client over ``ws``, ``wss``, ``mqtt`` or ``mqtts``.

    Args:
        options: where and how to connect; ``options.reconnect*`` drive reconnection.
        on_event: receives every trace event (decoder output, state, messages, errors).
        conn: the number of the first network connection in the trace.
        auth_handler: answers AUTH challenges when ``options.authentication_method`` is set.
        clock: monotonic seconds for the session's timers and event times.
        message_queue_size: messages kept for :meth:`messages` (the oldest are dropped
            beyond it and counted in ``dropped_messages``); 0 when only ``on_event`` is used.
        read_gate: asked before every network read (:data:`ReadGate`); by default
            reads never wait.
    """

    def __init__(
        self,
        options: ConnectionOptions,
        on_event: EventCallback | None = None,
        *,
        conn: int = 0,
        auth_handler: AuthHandler | None = None,
        clock: Callable[[], float] = time.monotonic,
        message_queue_size: int = MESSAGE_QUEUE_SIZE,
        read_gate: ReadGate = _read_now,
    ) -> None:
        options.endpoint  # noqa: B018 - a bad URL fails here, before any I/O
        self.options = options
        self._on_event = on_event
        self._auth_handler = auth_handler
        self._clock = clock
        self.session = Session(options, clock=clock)
        self.conn = conn
        self._next_conn = conn
        self._seq = 0
        self.transport: ByteTransport | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._closers: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._connack: asyncio.Future[Connack] | None = None
        self.life = ClientLife.IDLE
        self._changed = asyncio.Event()  # set and replaced at every state change
        self._closed_reason = "not connected"
        self._requests: dict[int, asyncio.Future[Suback | Unsuback]] = {}
        self._publishes: dict[int, asyncio.Future[PublishCompleted]] = {}
        self._pings: dict[int, asyncio.Future[None]] = {}
        self._subscriptions: dict[str, tuple[Subscription, int | None, tuple[tuple[str, str], ...]]] = {}
        self._queue: asyncio.Queue[MessageReceived | None] | None = (
            asyncio.Queue(message_queue_size) if message_queue_size > 0 else None
        )
        self.dropped_messages = 0
        self._rng = random.Random()
        self._read_gate = read_gate

    # ----------------------------------------------------------------- public API

    @property
    def connected(self) -> bool:
        return self.session.state is SessionState.CONNECTED

    @property
    def info(self) -> StreamInfo | None:
        """Peer address, TLS version and cipher of the current connection."""
        return self.transport.info if self.transport is not None else None

    @property
    def subprotocol(self) -> str | None:
        transport = self.transport
        return transport.subprotocol if isinstance(transport, WebSocketTransport) else None

    async def connect(self) -> Connack:
        """Connect and wait for CONNACK.

        Raises:
            ConnectionFailed: the network, TLS or the broker (CONNACK) refused.
            HandshakeError: the WebSocket upgrade failed.
        """
        if self.transport is not None or self._reconnect_task is not None:
            raise LocalProtocolError("already connected (or reconnecting): close() first")
        return await self._connect_once()

    async def subscribe(
        self,
        *topics: str | Subscription,
        qos: int = 0,
        subscription_identifier: int | None = None,
        user_properties: tuple[tuple[str, str], ...] = (),
    ) -> Suback:
        """Subscribe to topic filters (plain strings get ``qos``) and return the SUBACK."""
        subs = tuple(t if isinstance(t, Subscription) else Subscription(t, qos=qos) for t in topics)
        if not subs:
            raise LocalProtocolError("subscribe needs at least one topic filter")
        suback = await self._subscribe(subs, subscription_identifier, user_properties)
        for sub, code in zip(subs, suback.reason_codes, strict=False):
            if int(code) < 0x80:
                self._subscriptions[sub.topic_filter] = (sub, subscription_identifier, user_properties)
        return suback

    async def unsubscribe(
        self, *topic_filters: str, user_properties: tuple[tuple[str, str], ...] = ()
    ) -> Unsuback:
        """Unsubscribe and return the UNSUBACK."""
        await self._wait_connected()
        packet_id = self.session.send_unsubscribe(topic_filters, user_properties=user_properties)
        for topic_filter in topic_filters:
            self._subscriptions.pop(topic_filter, None)
        result = await self._request(packet_id)
        assert isinstance(result, Unsuback)
        return result

    async def publish(
        self,
        topic: str,
        payload: bytes | str = b"",
        qos: int = 0,
        retain: bool = False,
        properties: Properties = NO_PROPERTIES,
    ) -> PublishCompleted | None:
        """Publish and return when the QoS flow completes (QoS 0: once written).

        Raises:
            PublishFailed: the broker refused the message (reason code 0x80 or above).
            LocalProtocolError: the message breaks a limit from CONNACK or is invalid.
        """
        await self._wait_connected()
        data = payload.encode() if isinstance(payload, str) else payload
        packet_id = self.session.send_publish(topic, data, qos, retain, properties)
        future: asyncio.Future[PublishCompleted] | None = None
        if packet_id is not None:
            future = asyncio.get_running_loop().create_future()
            self._publishes[packet_id] = future
        self._kick()
        transport = self.transport
        if transport is not None:
            with contextlib.suppress(ConnectionFailed):
                await transport.drain()
        if future is None:
            return None
        completion = await future
        if not completion.ok:
            raise PublishFailed(completion)
        return completion

    async def ping(self) -> None:
        """Send PINGREQ and return at its PINGRESP.

        The broker reads a connection's packets in order, so the answer proves it read
        everything sent before without closing the connection (the one confirmation a
        QoS 0 PUBLISH can get).

        Raises:
            ConnectionFailed: the connection ended before the answer.
        """
        await self._wait_connected()
        number = self.session.send_ping(self._clock())
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pings[number] = future
        self._kick()
        await future

    async def send_auth(
        self, properties: Properties, reason_code: AuthReasonCode = AuthReasonCode.RE_AUTHENTICATE
    ) -> None:
        """Send AUTH, e.g. to re-authenticate (MQTT 5.0 §4.12.1)."""
        self.session.send_auth(reason_code, properties=properties)
        self._kick()

    async def messages(self) -> AsyncIterator[MessageReceived]:
        """Messages as they arrive, until the client is closed."""
        queue = self._queue
        if queue is None:
            raise LocalProtocolError("messages() needs a client made with message_queue_size > 0")
        while True:
            if self.life is ClientLife.CLOSED and queue.empty():
                return
            item = await queue.get()
            if item is None:
                continue  # the wake-up sent when the client finished
            yield item

    async def close(
        self,
        reason_code: DisconnectReasonCode = DisconnectReasonCode.NORMAL_DISCONNECTION,
    ) -> None:
        """Clean close: DISCONNECT, the WebSocket close handshake, then the socket."""
        already = self.life is ClientLife.CLOSED
        if not already:
            self._move(ClientLife.CLOSING)
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect_task
            self._reconnect_task = None
        if self.session.state is SessionState.CONNECTED:
            self.session.send_disconnect(reason_code)
            self._pump()  # writes DISCONNECT; the transport closes below
        await self._drop_transport()
        if not already:
            self._finish("closed by the user")

    async def __aenter__(self) -> MqttClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ----------------------------------------------------------------- connection life

    async def _connect_once(self) -> Connack:
        loop = asyncio.get_running_loop()
        self.conn = self._next_conn
        self._next_conn += 1
        self._move(ClientLife.CONNECTING)
        self._state(ConnectionState.CONNECTING, self.options.endpoint.url())
        trace = ConnectionTrace(
            self.conn, self.options, next_seq=self._take_seq, emit=self._emit, clock=self._clock
        )
        try:
            transport = await open_transport(self.options, trace=trace)
        except ExplorerError as exc:
            trace.end()
            self._ended(str(exc), was_connected=False)
            raise
        self.transport = transport
        self._report_transport(transport)
        self._connack = loop.create_future()
        self.session.send_connect()
        self._kick()
        self._reader_task = loop.create_task(self._read_loop(transport, trace))
        try:
            return await self._connack
        except BaseException as exc:
            if self.transport is transport:
                self._connection_lost(str(exc) or "the connection attempt was cancelled")
            transport.abort()
            raise

    def _report_transport(self, transport: ByteTransport) -> None:
        info = transport.info
        if info.insecure:
            self._error(
                "tls", "TLS certificate verification is off (insecure mode): the server is not authenticated"
            )
        if isinstance(transport, WebSocketTransport):
            problem = transport.subprotocol_check.problem
            if problem is not None:
                self._error("websocket", problem, direction="s2c")

    async def _read_loop(self, transport: ByteTransport, trace: ConnectionTrace) -> None:
        """Feed the session until the connection or the session ends; then close gracefully."""
        try:
            await self._read_until_end(transport, trace)
        except Exception as exc:
            # A bug (ours or in an on_event callback) must not leave callers waiting forever.
            self._error("mqtt", f"internal error while reading: {exc!r}")
            if self.transport is transport:
                self._connection_lost(f"internal error: {exc}")
                transport.abort()
        finally:
            trace.end()

    async def _read_until_end(self, transport: ByteTransport, trace: ConnectionTrace) -> None:
        reason = "the broker closed the connection"
        try:
            while self.transport is transport:
                wait = self._read_gate()
                if wait:
                    # The front end's work goes first (ReadGate); look again every 10 ms,
                    # so a hold that ends early lets reading go on.
                    await asyncio.sleep(min(wait, 0.01))
                    continue
                more = await transport.receive()
                trace.deliver(self.session)  # the packets read, up to where reading ended
                ended = self._pump()
                if not more:
                    if isinstance(transport, WebSocketTransport) and (
                        transport.close_code is not None or transport.failure is not None
                    ):
                        reason = transport.describe_close()
                    break
                if ended is not None:
                    reason = ended
                    break
        except ConnectionFailed as exc:
            reason = str(exc)
        if self.transport is transport:
            self._connection_lost(reason)
            await transport.close()

    def _end_connection(self, reason: str) -> None:
        """The session ended the connection outside the read loop (timer, failed send)."""
        transport = self.transport
        if transport is None:
            return
        self._connection_lost(reason)
        task = asyncio.get_running_loop().create_task(transport.close())
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    def _connection_lost(self, reason: str) -> None:
        """The network connection is over (any cause): settle the session and the futures."""
        self.transport = None
        self._cancel_timer()
        was_connected = self.life is ClientLife.CONNECTED
        self.session.connection_lost()
        if self._connack is not None and not self._connack.done():
            self._connack.set_exception(ConnectionFailed(reason))
        self._ended(reason, was_connected=was_connected)

    def _ended(self, reason: str, *, was_connected: bool) -> None:
        """Reconnect, or finish: fail what waits and tell the views."""
        if self.life is ClientLife.CLOSING:
            return
        if self._reconnect_task is not None:
            # A reconnection attempt failed: the reconnect loop tries again.
            self._fail_requests(ConnectionFailed(f"{reason} before the broker answered"), publishes=False)
            self._move(ClientLife.RECONNECTING)
            self._state(ConnectionState.DISCONNECTED, reason)
        elif self.options.reconnect and was_connected:
            # In-flight publishes wait: the session sends them again after reconnecting.
            self._fail_requests(ConnectionFailed(f"{reason} before the broker answered"), publishes=False)
            self._move(ClientLife.RECONNECTING)
            self._state(ConnectionState.DISCONNECTED, reason)
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect(reason))
        else:
            self._finish(reason)

    async def _reconnect(self, reason: str) -> None:
        attempt = 0
        while self.life is not ClientLife.CLOSING:
            delay = backoff_delay(
                attempt, self.options.reconnect_initial_delay, self.options.reconnect_max_delay, self._rng
            )
            self._state(ConnectionState.RECONNECTING, f"{reason}; attempt {attempt + 1} in {delay:.1f} s")
            await asyncio.sleep(delay)
            try:
                connack = await self._connect_once()
            except ExplorerError as exc:
                reason = str(exc)
                attempt += 1
                continue
            self._reconnect_task = None
            if not connack.session_present:
                await self._resubscribe()
            return

    async def _resubscribe(self) -> None:
        for sub, identifier, user_properties in list(self._subscriptions.values()):
            try:
                await self._subscribe((sub,), identifier, user_properties)
            except ExplorerError as exc:
                self._error("mqtt", f"could not subscribe again to {sub.topic_filter!r}: {exc}")

    async def _drop_transport(self) -> None:
        transport, task = self.transport, self._reader_task
        self.transport = None
        self._cancel_timer()
        if transport is not None:
            await transport.close()
        if task is not None and task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._reader_task = None
        if transport is not None:
            self.session.connection_lost()

    def _finish(self, reason: str) -> None:
        self._move(ClientLife.CLOSED)
        self._closed_reason = reason
        self._fail_requests(ConnectionFailed(f"the connection ended: {reason}"), publishes=True)
        self._state(ConnectionState.CLOSED, reason)
        if self._queue is not None:
            if self._queue.full():
                self._queue.get_nowait()
            self._queue.put_nowait(None)

    def _fail_requests(self, exc: ExplorerError, *, publishes: bool) -> None:
        waiting: list[asyncio.Future[Any]] = [*self._requests.values(), *self._pings.values()]
        for future in waiting:
            if not future.done():
                future.set_exception(exc)
        self._requests.clear()
        self._pings.clear()
        if publishes:
            for pub in self._publishes.values():
                if not pub.done():
                    pub.set_exception(exc)
            self._publishes.clear()

    async def _wait_connected(self) -> None:
        """Return once connected; wait through a reconnection; fail when the client is done."""
        while not self.connected:
            if self._reconnect_task is None or self.life in (ClientLife.CLOSING, ClientLife.CLOSED):
                raise ConnectionFailed(f"not connected to the broker ({self._closed_reason})")
            await self._changed.wait()

    async def _subscribe(
        self,
        subs: Sequence[Subscription],
        identifier: int | None,
        user_properties: tuple[tuple[str, str], ...],
    ) -> Suback:
        await self._wait_connected()
        packet_id = self.session.send_subscribe(
            subs, subscription_identifier=identifier, user_properties=user_properties
        )
        result = await self._request(packet_id)
        assert isinstance(result, Suback)
        return result

    async def _request(self, packet_id: int) -> Suback | Unsuback:
        future: asyncio.Future[Suback | Unsuback] = asyncio.get_running_loop().create_future()
        self._requests[packet_id] = future
        self._kick()
        return await future

    # ----------------------------------------------------------------- session plumbing

    def _pump(self) -> str | None:
        """Send what the session wrote, act on its events, re-arm the timer.

        Returns the reason when the connection must end (the session closed, or a send
        failed); the caller ends it.
        """
        ended: str | None = None
        for event in self.session.events_received():
            ended = self._handle(event) or ended
        data = self.session.data_to_send()
        transport = self.transport
        if data and transport is not None:
            try:
                transport.send(data)
            except ConnectionFailed as exc:
                ended = ended or str(exc)
        if ended is None and self.session.closed and transport is not None:
            ended = "the MQTT session ended"
        if ended is None:
            self._arm_timer()
        return ended

    def _kick(self) -> None:
        """``_pump`` for callers outside the read loop."""
        ended = self._pump()
        if ended is not None:
            self._end_connection(ended)

    def _handle(self, event: SessionEvent) -> str | None:
        if isinstance(event, MessageArrived):
            self._deliver(event)
        elif isinstance(event, PublishCompleted):
            future = self._publishes.pop(event.packet_id, None)
            if future is not None and not future.done():
                future.set_result(event)
        elif isinstance(event, SubscribeCompleted | UnsubscribeCompleted):
            ack = event.suback if isinstance(event, SubscribeCompleted) else event.unsuback
            request = self._requests.pop(event.packet_id, None)
            if request is not None and not request.done():
                request.set_result(ack)
        elif isinstance(event, Connected):
            if self.life is ClientLife.CONNECTING:  # not when close() came first
                self._move(ClientLife.CONNECTED)
            self._state(ConnectionState.CONNECTED, self._connected_detail(event))
            if self._connack is not None and not self._connack.done():
                self._connack.set_result(event.connack)
        elif isinstance(event, AuthReceived):
            self._on_auth(event.auth)
        elif isinstance(event, PingAnswered):
            for number in [number for number in self._pings if number <= event.count]:
                ping = self._pings.pop(number)
                if not ping.done():
                    ping.set_result(None)
        elif isinstance(event, Anomaly):
            self._error("mqtt", event.message, direction="s2c")
        elif isinstance(event, ConnectRefused):
            if self._connack is not None and not self._connack.done():
                self._connack.set_exception(BrokerRefused(event.message))
            return event.message
        elif isinstance(event, ServerDisconnected | TimedOut):
            return event.message
        elif isinstance(event, ProtocolViolation):
            self._error("mqtt", event.message, direction="s2c")
            return event.message
        return None

    def _connected_detail(self, event: Connected) -> str:
        parts = [f"MQTT {self.session.version.label}", f"client id {self.session.client_id}"]
        if event.session_present:
            parts.append("session present")
        info = self.info
        if info is not None and info.tls_version:
            parts.append(f"{info.tls_version} {info.cipher}")
        if self.subprotocol:
            parts.append(f"subprotocol {self.subprotocol}")
        return ", ".join(parts)

    def _on_auth(self, auth: Auth) -> None:
        if self._auth_handler is None:
            self._error("mqtt", "the broker sent AUTH but no authentication handler is set", direction="s2c")
            return
        try:
            properties = self._auth_handler(auth)
        except ExplorerError as exc:
            self._error("mqtt", f"authentication failed: {exc}")
            return
        self.session.send_auth(AuthReasonCode.CONTINUE_AUTHENTICATION, properties=properties)

    def _deliver(self, event: MessageArrived) -> None:
        publish = event.publish
        message = MessageReceived(
            seq=self._take_seq(),
            time=self._clock(),
            conn=self.conn,
            topic=publish.topic,
            payload=publish.payload,
            qos=publish.qos,
            retain=publish.retain,
            packet=publish,
        )
        self._emit(message)
        queue = self._queue
        if queue is not None:
            if queue.full():
                queue.get_nowait()
                self.dropped_messages += 1
            queue.put_nowait(message)

    def _arm_timer(self) -> None:
        self._cancel_timer()
        deadline = self.session.next_deadline()
        if deadline is None or self.transport is None:
            return
        delay = max(0.0, deadline - self._clock())
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        self.session.handle_timer(self._clock())
        self._kick()

    # ----------------------------------------------------------------- events

    def _take_seq(self) -> int:
        seq = self._seq
        self._seq += 1
        return seq

    def _emit(self, event: TraceEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _move(self, life: ClientLife) -> None:
        """Go to ``life``; a move the table does not allow is a bug here, not a peer's doing."""
        if life not in _MOVES[self.life]:
            raise LocalProtocolError(f"client cannot go from {self.life.value} to {life.value}")
        self.life = life

    def _state(self, state: ConnectionState, detail: str = "") -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        self._emit(
            StateChanged(seq=self._take_seq(), time=self._clock(), conn=self.conn, state=state, detail=detail)
        )

    def _error(self, layer: str, message: str, *, direction: Direction | None = None) -> None:
        self._emit(
            ErrorReported(
                seq=self._take_seq(),
                time=self._clock(),
                conn=self.conn,
                direction=direction,
                layer=layer,
                message=message,
            )
        )
