"""The broker's asyncio driver: WebSocket and TCP listeners around :class:`BrokerState`.

Built on ``asyncio.BufferedProtocol``, not streams: each read lands in the connection's
own :data:`READ_SIZE` buffer, is cut into WebSocket frames and MQTT packets in one pass,
and the packets go to the state machine without an ``await`` per packet; then every
connection the read touched gets one ``transport.write``. The fixed buffer bounds the
work per callback: a client far ahead of the broker (a firehose into a broker that runs
inside the explorer's own event loop) is served ~16 KiB at a time, a few hundred small
packets, and the loop gets a turn between reads, where a plain ``Protocol`` would be
handed up to 256 KiB (ten thousand packets, tens of milliseconds) in one call.

Slow consumers: each transport's write buffer high-water mark
is ``write_high_water``; above it ``pause_writing`` marks the connection congested and
QoS 0 messages to it are dropped (QoS 1/2 wait in the bounded session queue).

Memory: the read buffer is one for the whole broker (a read callback copies out what it
got before returning). What each connection holds beyond that (a partial packet or
frame, an unfinished upgrade request, unsent output) is counted in :attr:`Broker.buffered`
after every read and write; above ``max_buffered`` the connections holding the most are
closed until the total is back under it (DISCONNECT 0x97 Quota exceeded to v5 clients,
MQTT 5.0 §4.13; WebSocket close code 1013; an abort when the output itself is stuck).
Connections are limited in number overall and per client address; time is limited by
the upgrade and CONNECT timeouts and by the keep alive (see ``BrokerState``).

Use::

    async with Broker(BrokerConfig.ephemeral()) as broker:
        print(broker.ws_url, broker.tcp_url)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from explorer.broker.auth import load_acl, load_password_file
from explorer.broker.config import BrokerConfig
from explorer.broker.limits import Limits, release_memory
from explorer.broker.session import Connection
from explorer.broker.state import BrokerState
from explorer.broker.upgrade import Upgrade
from explorer.broker.wsframes import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameParser,
    WebSocketViolation,
    close_payload,
    encode_frame,
    frame_packets,
    parse_close,
)
from explorer.errors import ExplorerError, MalformedPacket
from explorer.mqtt.enums import DisconnectReasonCode
from explorer.mqtt.packets import NO_PROPERTIES, Properties
from explorer.mqtt.reader import PacketReader

if TYPE_CHECKING:
    from explorer.broker.tlscerts import TlsFiles

__all__ = ["CLOSE_LINGER", "READ_SIZE", "Broker"]

_LOG = logging.getLogger("explorer.broker")

# Bytes taken from a socket per read callback: the most work one callback does before the
# event loop gets a turn. 16 KiB is ~230 PUBLISHes of 64 bytes, well under a millisecond.
READ_SIZE = 16 * 1024
# Seconds a closing connection waits for the client to close TCP after the broker's
# goodbye (a close frame, RFC 6455 §7.1.1, or a DISCONNECT) before it is dropped.
CLOSE_LINGER = 2.0
# About what a connection's objects take beyond its buffers (transport, parsers, session),
# counted as freed when it closes: many closed connections also call for a heap trim.
_CONNECTION_COST = 8 * 1024
# A connection closed for the buffer budget whose unsent output is above this is aborted:
# a close would wait for a peer that does not read to take the output first.
_STUCK_OUTPUT = 64 * 1024


class _Link(asyncio.BufferedProtocol):
    """One client connection, TCP or WebSocket.

    The read buffer is the broker's, shared by every connection, so :meth:`buffer_updated`
    copies the bytes out before parsing: the parsers keep partial frames and packets across
    reads, and those must not change under them when the next read overwrites the buffer.
    """

    def __init__(self, broker: Broker, websocket: bool, tls: bool = False) -> None:
        self.broker = broker
        self.websocket = websocket
        self.tls = tls
        self.transport: asyncio.Transport | None = None
        self.conn: Connection | None = None
        self.upgrade: Upgrade | None = Upgrade(broker.config) if websocket else None
        self.upgrade_bytes = 0  # what the unfinished upgrade request holds, at most
        self.frames: FrameParser | None = None
        config = broker.config
        self.reader = PacketReader(
            max_packet_size=config.max_packet_size, max_connect_size=config.max_connect_size
        )
        # Until the CONNECT is read, WebSocket frames are held to max_connect_size too.
        self.before_connect = True
        self.accounted = 0  # this connection's share of Broker.buffered
        self.released = False  # closed for the budget: nothing more is read or counted
        self.address: str | None = None  # the client address, while counted per address
        self.peer = ""
        self.last_data = 0.0
        self.timeout: asyncio.TimerHandle | None = None
        self.ws_closing = False
        self.linger: asyncio.TimerHandle | None = None  # the end of a close handshake
        # The 101 response, held until the end of the read that completed the request, so
        # that a CONNACK to a CONNECT sent in the same segment leaves in the same write.
        self.held = b""

    # -- asyncio.BufferedProtocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        broker = self.broker
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "")
        self.last_data = broker.clock()
        address = str(peer[0]) if isinstance(peer, tuple) else self.peer
        refusal = broker.limits.admit(address, len(broker.links))
        if refusal is not None:
            broker.limits.refused(refusal, self.peer)
            transport.close()
            return
        self.address = address
        broker.links.add(self)
        transport.set_write_buffer_limits(high=broker.config.write_high_water)
        if self.websocket:
            self.timeout = asyncio.get_running_loop().call_later(
                broker.config.handshake_timeout, self._handshake_timeout
            )
        else:
            self._attach()

    def _attach(self) -> None:
        kind = ("wss" if self.tls else "ws") if self.websocket else ("mqtts" if self.tls else "tcp")
        self.conn = self.broker.state.connection_made(self.broker.clock(), peer=self.peer, transport=kind)
        self.conn.owner = self

    def _handshake_timeout(self) -> None:
        if self.upgrade is not None and self.transport is not None:
            seconds = self.broker.config.handshake_timeout
            _LOG.info("no WebSocket upgrade within %.0f s from %s", seconds, self.peer)
            self.transport.abort()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.broker.read_buffer  # never more than READ_SIZE per callback, whatever the hint

    def buffer_updated(self, nbytes: int) -> None:
        self.broker.reads += 1
        self._received(bytes(self.broker.read_buffer[:nbytes]))  # a copy: the buffer is shared

    def _received(self, data: bytes) -> None:
        if self.released:
            return
        broker = self.broker
        now = broker.clock()
        self.last_data = now
        broker.state.stats.bytes_received += len(data)
        if self.ws_closing:
            return  # RFC 6455 §5.5.1: after a close frame, nothing more is read
        try:
            if self.upgrade is not None:
                data = self._upgrade(data)
                if not data:
                    return
            if self.frames is not None:
                self._frames(data, now)
            elif self.conn is not None:
                self._mqtt(data, now)
        except Exception:  # a bug must cost this connection only, never the listener
            _LOG.exception("internal error on the connection from %s", self.peer)
            if self.transport is not None:
                self.transport.abort()
        finally:
            broker.flush()
            if self.held:
                self._write(b"")
            self.account()

    def _upgrade(self, data: bytes) -> bytes:
        assert self.upgrade is not None
        assert self.transport is not None
        result = self.upgrade.receive_data(data)
        if result is None:
            self.upgrade_bytes += len(data)
            return b""
        self.upgrade_bytes = 0
        rest = self.upgrade.rest
        self.upgrade = None
        if self.timeout is not None:
            self.timeout.cancel()
        if not result.accepted:
            self._write(result.response)
            _LOG.info("upgrade refused for %s: HTTP %d %s", self.peer, result.status, result.reason)
            self.transport.close()
            return b""
        self.held = result.response
        config = self.broker.config
        faults = config.faults
        first = min(config.max_connect_size, config.max_packet_size + 16)
        self.frames = FrameParser(first, allow_text=faults.text_frames)
        if faults.close_after_handshake is not None:
            self._send_close(faults.close_after_handshake, "close-after-handshake fault mode")
            return b""
        self._attach()
        return rest

    def _frames(self, data: bytes, now: float) -> None:
        assert self.frames is not None
        assert self.transport is not None
        try:
            frames = self.frames.feed(data)
        except WebSocketViolation as exc:
            # The frames before the offending one were sent first: act on them first
            # (a PUBLISH, a ping), then fail the connection (RFC 6455 §7.1.7).
            self._handle_frames(exc.frames, now)
            _LOG.warning("WebSocket protocol error from %s: %s", self.peer, exc)
            if self.conn is not None:
                self.broker.state.stats.protocol_errors += 1
            self.broker.flush()
            self._send_close(exc.code, exc.reason, linger=True)
            return
        self._handle_frames(frames, now)

    def _handle_frames(self, frames: list[tuple[int, bool, bytes]], now: float) -> None:
        # Data frame payloads of one read are joined and fed to the MQTT reader at once.
        pending: list[bytes] = []
        for opcode, _fin, payload in frames:
            if opcode in (OP_BINARY, OP_CONT, OP_TEXT):
                pending.append(payload)
                continue
            if pending:
                self._feed(pending, now)
                pending = []
            if opcode == OP_PING:
                self._write(encode_frame(OP_PONG, payload))  # RFC 6455 §5.5.3: same payload
            elif opcode == OP_CLOSE:
                # What the frames before it asked for (a PUBACK) goes out before the close
                # frame: nothing may be written after it (RFC 6455 §5.5.1).
                self.broker.flush()
                try:
                    code, _reason = parse_close(payload)
                except WebSocketViolation as exc:
                    self._send_close(exc.code, exc.reason, linger=True)
                    return
                # RFC 6455 §5.5.1: answer with a close frame (echoing the code), then the
                # server closes the TCP connection first (§7.1.1).
                self._send_close(1000 if code == 1005 else code, "")
                return
        if pending:
            self._feed(pending, now)

    def _feed(self, payloads: list[bytes], now: float) -> None:
        if self.conn is None or self.ws_closing or self.conn.close_requested:
            return
        self._mqtt(payloads[0] if len(payloads) == 1 else b"".join(payloads), now)

    def _mqtt(self, data: bytes, now: float) -> None:
        conn = self.conn
        assert conn is not None
        if conn.closing():
            return  # later bytes are not read (and errors not reported twice)
        state = self.broker.state
        try:
            packets = self.reader.receive_data(data)
        except MalformedPacket as exc:
            state.receive_error(conn, exc, now)
            return
        for item in packets:
            if item.error is not None:
                state.receive_error(conn, item.error, now)
                return
            state.receive_packet(conn, item.packet, now, item.raw)  # type: ignore[arg-type]
            if conn.closing():
                return  # the packet ended the connection
            if self.before_connect and conn.session is not None:
                self.before_connect = False
                if self.frames is not None:
                    self.frames.max_payload = self.broker.config.max_packet_size + 16
        if self.reader.broken and self.reader.error is not None:
            state.receive_error(conn, self.reader.error, now)

    def pause_writing(self) -> None:
        if self.conn is not None:
            self.conn.congested = True

    def resume_writing(self) -> None:
        if self.conn is not None:
            self.conn.congested = False
        self.account()

    def connection_lost(self, exc: Exception | None) -> None:
        broker = self.broker
        broker.links.discard(self)
        if self.address is not None:
            broker.limits.forget(self.address)
            self.address = None
        if self.timeout is not None:
            self.timeout.cancel()
        if self.linger is not None:
            self.linger.cancel()
        self._release()
        transport, self.transport = self.transport, None
        if transport is not None and getattr(transport, "_read_ready_cb", None) is not None:
            # asyncio's selector transport holds a bound method of itself: a cycle only the
            # cyclic collector would free. Nothing reads it after the connection is lost.
            transport._read_ready_cb = None  # type: ignore[attr-defined]
        conn = self.conn
        if conn is not None:
            broker.state.connection_lost(conn, broker.clock())
            broker.flush()
            # No reference cycle left (link -> connection -> link): refcounting frees both
            # now, where a cycle would wait for a collection the CLI makes rare.
            conn.owner = None

    # -- the buffer budget -----------------------------------------------------------------

    def holding(self) -> int:
        """Bytes this connection holds: partial packet and frame, upgrade request, unsent output."""
        held = 0
        if not self.released:
            held = self.reader.buffered + self.upgrade_bytes
            if self.frames is not None:
                held += self.frames.buffered
        transport = self.transport
        if transport is not None:
            held += transport.get_write_buffer_size()
        return held

    def account(self) -> None:
        """Bring this connection's share of the broker's total up to date; enforce the budget."""
        held = self.holding()
        if (held or self.accounted) and self.broker.limits.update(self, held):
            self.broker.enforce_budget()

    def _release(self) -> None:
        """Drop the partial packet, frame and request: nothing more is read from here."""
        self.released = True
        self.reader = PacketReader()
        self.frames = None
        self.upgrade = None
        self.upgrade_bytes = 0
        limits = self.broker.limits
        limits.freed += self.accounted + _CONNECTION_COST
        limits.update(self, 0)

    def close_for_budget(self) -> None:
        """Closed because the broker's buffer budget is exhausted and this holds the most."""
        transport = self.transport
        if transport is None or self.released:
            return
        _LOG.warning("buffer budget exhausted: closing %s, which holds %d bytes", self.peer, self.accounted)
        self.broker.state.stats.connections_refused += 1
        upgraded = self.frames is not None
        self._release()
        conn = self.conn
        if transport.get_write_buffer_size() > _STUCK_OUTPUT:
            transport.abort()  # a close would wait for a peer that does not read
        elif conn is not None and not conn.closing():
            # MQTT 5.0 §4.13: DISCONNECT 0x97 to a v5 client; RFC 6455 §7.4.1 close code 1013.
            reason = DisconnectReasonCode.QUOTA_EXCEEDED
            self.broker.state.close(conn, reason, code=1013, explanation="server buffer budget exhausted")
        elif upgraded:
            self._send_close(1013, "server buffer budget exhausted")
        else:
            self._close_transport()
        self.account()

    # -- output ----------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self.held:
            data = self.held + data
            self.held = b""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)
            self.broker.state.stats.bytes_sent += len(data)
            if self.accounted or transport.get_write_buffer_size():
                self.account()  # output the peer has not taken yet counts against the budget

    def _send_close(self, code: int, reason: str, *, linger: bool = False) -> None:
        """Send a close frame (once) and end the TCP connection (RFC 6455 §7.1.1).

        ``linger`` is for a connection failed in mid-stream: closing a socket with unread
        bytes (the rest of a frame the broker refused) makes the kernel send a reset,
        which can destroy the close frame before the client reads it; so the broker shuts
        down its sending side, discards what still arrives, and closes when the client
        does, or after :data:`CLOSE_LINGER` seconds.
        """
        if not self.ws_closing:
            self.ws_closing = True
            self._write(encode_frame(OP_CLOSE, close_payload(code, reason)))
        self._close_transport(linger=linger)

    def _close_transport(self, *, linger: bool = False) -> None:
        """End the TCP connection after the output; linger (see :meth:`_send_close`) if asked.

        A connection closed for the buffer budget always lingers: its peer may still be
        sending (that is how it came to hold so much), and a reset could destroy the
        DISCONNECT or close frame that says why.
        """
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if (linger or self.released) and self.linger is None and transport.can_write_eof():
            transport.write_eof()
            self.linger = asyncio.get_running_loop().call_later(CLOSE_LINGER, transport.abort)
        elif self.linger is None:
            transport.close()

    def flush(self, conn: Connection) -> None:
        """Write what the state machine queued for ``conn``, then close if it asked to."""
        packets = conn.outbox
        if packets:
            conn.outbox = []
            if self.websocket:
                self._write(frame_packets(packets, self.broker.config.faults))
            else:
                self._write(packets[0] if len(packets) == 1 else b"".join(packets))
        if conn.close_requested and self.transport is not None and not self.transport.is_closing():
            if self.websocket:
                self._send_close(conn.close_code, "")
            else:
                self._close_transport()

    def idle_check(self, now: float) -> None:
        idle = self.broker.config.faults.idle_drop
        if idle is not None and now - self.last_data > idle and self.transport is not None:
            _LOG.info("idle-drop fault mode: dropping %s without a close frame", self.peer)
            self.transport.abort()


class Broker:
    """The embedded broker: ``async with Broker(config) as broker: ...``.

    After :meth:`start`, :attr:`ws_port` / :attr:`tcp_port` are the bound ports (also
    when the config asked for port 0) and :attr:`ws_url` / :attr:`tcp_url` the URLs.
    """

    def __init__(
        self, config: BrokerConfig | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or BrokerConfig.ephemeral()
        self.clock = clock
        passwords = load_password_file(Path(self.config.password_file)) if self.config.password_file else None
        acl = load_acl(Path(self.config.acl_file)) if self.config.acl_file else None
        self.state = BrokerState(self.config, passwords=passwords, acl=acl, now=clock())
        self.links: set[_Link] = set()
        # Read callbacks so far (each handles at most READ_SIZE bytes of one connection).
        self.reads = 0
        self.ws_port: int | None = None
        self.tcp_port: int | None = None
        self.wss_port: int | None = None
        self.mqtts_port: int | None = None
        self.tls_files: TlsFiles | None = None  # what the TLS listeners serve, once started
        self._servers: list[asyncio.Server] = []
        self._tasks: list[asyncio.Task[None]] = []
        # One read buffer for every connection: a read callback copies out what it got.
        self.read_buffer = memoryview(bytearray(READ_SIZE))
        self.limits = Limits(self.config, self.state.stats, clock)

    @property
    def buffered(self) -> int:
        """Bytes held by all connections now (bounded by ``config.max_buffered``)."""
        return self.limits.buffered

    def enforce_budget(self) -> None:
        if self.limits.enforce():
            self.flush()

    @property
    def host(self) -> str:
        bind = self.config.bind
        if bind in ("", "0.0.0.0", "::"):
            return "127.0.0.1"
        return f"[{bind}]" if ":" in bind else bind

    @property
    def ws_url(self) -> str | None:
        if self.ws_port is None:
            return None
        return f"ws://{self.host}:{self.ws_port}{self.config.ws_paths[0]}"

    @property
    def tcp_url(self) -> str | None:
        return None if self.tcp_port is None else f"mqtt://{self.host}:{self.tcp_port}"

    @property
    def urls(self) -> list[str]:
        return [url for url in (self.ws_url, self.tcp_url, self.wss_url, self.mqtts_url) if url]

    @property
    def wss_url(self) -> str | None:
        if self.wss_port is None:
            return None
        return f"wss://{self.host}:{self.wss_port}{self.config.ws_paths[0]}"

    @property
    def mqtts_url(self) -> str | None:
        return None if self.mqtts_port is None else f"mqtts://{self.host}:{self.mqtts_port}"

    @property
    def ca_file(self) -> str | None:
        """The local CA that issued the TLS listeners' certificate: the file to trust."""
        files = self.tls_files
        return str(files.ca_file) if files is not None and files.ca_file is not None else None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        config = self.config
        listeners: list[tuple[bool, ssl.SSLContext | None, int | None, str]] = [
            (True, None, config.ws_port, "--ws-port"),
            (False, None, config.tcp_port, "--tcp-port"),
        ]
        if config.tls:
            from explorer.broker.tlscerts import listener_contexts

            self.tls_files, wss, mqtts = listener_contexts(config)
            listeners += [
                (True, wss, config.wss_port, "--wss-port"),
                (False, mqtts, config.mqtts_port, "--mqtts-port"),
            ]
        for websocket, context, port, flag in listeners:
            if port is None:
                continue
            tls = flag in ("--wss-port", "--mqtts-port")
            link: Callable[[], _Link] = functools.partial(_Link, self, websocket, tls)
            factory: Callable[[], asyncio.BaseProtocol] = link
            if context is not None and config.faults.tls_client_cert_required:
                # TLS on memory BIOs, so that the refusal goes out as a TLS alert.
                from explorer.broker.tlsbio import TlsTerminator

                factory = functools.partial(TlsTerminator, context, link)
                context = None
            try:
                server = await loop.create_server(factory, config.bind, port, ssl=context)
            except OSError as exc:
                await self.stop()
                kind = {"--ws-port": "WebSocket", "--tcp-port": "TCP"}.get(flag, flag[2:-5])
                raise ExplorerError(
                    f"cannot listen for {kind} on {config.bind} port {port}: {exc.strerror or exc}"
                    f" (another broker running? use {flag} 0 for a free port)"
                ) from None
            self._servers.append(server)
            bound = server.sockets[0].getsockname()[1]
            setattr(self, flag[2:].replace("-", "_"), bound)
        self._tasks.append(asyncio.create_task(self._ticker(), name="broker-timer"))
        if config.demo:
            from explorer.broker.demo import run_demo

            self._tasks.append(asyncio.create_task(run_demo(self, rate=config.demo_rate), name="broker-demo"))
        _LOG.info("broker listening on %s", ", ".join(self.urls))

    async def stop(self) -> None:
        """Close the listeners and every connection; wills are published (MQTT 5.0 §3.1.2.5)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for server in self._servers:
            server.close()
        self.state.close_all()
        self.flush()
        self.state.drop_all(self.clock())
        self.flush()
        for link in list(self.links):
            if link.transport is not None:
                link.transport.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
        self._servers.clear()

    async def __aenter__(self) -> Broker:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def flush(self) -> None:
        """Write every connection's pending output (one write per connection)."""
        for conn in self.state.take_dirty():
            link = conn.owner
            if isinstance(link, _Link):
                link.flush(conn)
            else:
                conn.outbox.clear()

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 0,
        retain: bool = False,
        properties: Properties = NO_PROPERTIES,
        publisher: str | None = None,
    ) -> None:
        """Publish from inside the process; subscribers see an ordinary PUBLISH."""
        self.state.publish(
            topic,
            payload,
            qos=qos,
            retain=retain,
            properties=properties,
            publisher=publisher,
            now=self.clock(),
        )
        self.flush()

    async def _ticker(self) -> None:
        interval = self.config.tick_interval
        while True:
            await asyncio.sleep(interval)
            now = self.clock()
            try:
                self.state.handle_timer(now)
                if self.config.faults.idle_drop is not None:
                    for link in list(self.links):
                        link.idle_check(now)
            except Exception:
                _LOG.exception("broker timer failed")
            self.flush()
            if self.limits.trim_due():
                release_memory()  # what closed connections held goes back to the system
