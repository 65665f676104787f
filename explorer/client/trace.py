"""The one parse of a client connection: its trace, the session's packets, the transport's frames.

``MqttClient`` (``explorer.client.driver``) passes every byte of a network connection, both
directions, through one ``ConnectionDecoder``: that is the trace. Each byte the server
sends is parsed there once (one WebSocket frame reader, one MQTT packet reader), and what
it finds serves everyone:

- the trace events go to the client's callback (:meth:`ConnectionTrace.tap`);
- the server's packets (:attr:`ConnectionTrace.server`) go to the session as they are
  (:meth:`ConnectionTrace.deliver`, ``Session.receive_packets``), so the trace's
  ``PacketEvent`` and the ``MessageReceived`` share one ``Publish``;
- the server's frames that are not whole binary frames (:attr:`ConnectionTrace.frames`:
  ping, close, text frames, fragments, frames that break RFC 6455, the error that stops
  the frames) go to the WebSocket transport, which answers them or fails the connection
  (``explorer.client.websocket``).

What belongs here: one connection's decoder, its events out to the client's callback,
and the hand-over of its server packets. What does not: sockets and what a frame calls
for (the transports), the protocol (the session).

Where reading ends. The decoder goes on decoding for the trace after a server's close
frame or a frame that fails the connection; the transport then calls :meth:`stop` with
that frame's place in the MQTT stream, and no packet the server sent after it reaches
the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from explorer.client.options import ConnectionOptions
from explorer.decoder import ConnectionDecoder
from explorer.decoder.stream import ServerFrame, StreamItem
from explorer.errors import MalformedPacket
from explorer.model.events import Direction, PacketEvent, TraceEvent
from explorer.session import ReceivedPacket, Session, SessionState

__all__ = ["MAX_MESSAGE", "ConnectionTrace"]

# The largest MQTT packet: 1 type byte, a 4-byte Remaining Length of at most 268,435,455
# (MQTT 5.0 §1.5.5). A server frame above it is refused with close code 1009 before it
# is buffered (RFC 6455 §7.4.1); MQTT's own Maximum Packet Size applies to the packets.
MAX_MESSAGE: Final = 268_435_460


def _end(item: StreamItem) -> int:
    """MQTT stream offset just past a server item's bytes."""
    if isinstance(item, PacketEvent):
        return item.stream_offset + len(item.raw)
    return item.end  # a ReadPacket


def _received(item: StreamItem) -> ReceivedPacket:
    """What the session takes for one item: the packet, or why there is none, and its size."""
    if isinstance(item, PacketEvent):
        return item.packet, len(item.raw)
    # A malformed packet, or the stream broke here.
    return item.error or MalformedPacket(item.start, "malformed packet"), item.end - item.start


class ConnectionTrace:
    """The decoder of one network connection, feeding the trace, the session and the transport.

    Args:
        conn: the connection number stamped on the events.
        options: the connection's options (transport, MQTT version, Maximum Packet Size).
        next_seq: the client's sequence numbers, shared with its own events.
        emit: receives every trace event, in order.
        clock: monotonic seconds for the events' times.
    """

    def __init__(
        self,
        conn: int,
        options: ConnectionOptions,
        *,
        next_seq: Callable[[], int],
        emit: Callable[[TraceEvent], None],
        clock: Callable[[], float],
    ) -> None:
        self.server: list[StreamItem] = []
        """The server's packets decoded and not yet handed to the session, in wire order."""
        self.frames: list[ServerFrame] = []
        """The server's frames for the WebSocket transport to act on, in wire order."""
        websocket = options.endpoint.websocket
        self.decoder = ConnectionDecoder(
            conn,
            websocket=websocket,
            mqtt_version=options.mqtt_version,
            next_seq=next_seq,
            server_packets=self.server,
            server_frames=self.frames if websocket else None,
            max_frame_size=MAX_MESSAGE,
            max_packet_size=options.maximum_packet_size,
        )
        self._emit = emit
        self._clock = clock
        self._until: int | None = None  # where the transport stopped reading the server

    def tap(self, direction: Direction, data: bytes) -> None:
        """Every byte sent and received goes through here, once: the trace events go out,
        the server's packets and frames wait in :attr:`server` and :attr:`frames`."""
        decoder = self.decoder
        decoder.receive_data(direction, data, self._clock())
        emit = self._emit
        for event in decoder.events_received():
            emit(event)

    def end(self) -> None:
        """Both directions ended: the decoder reports anything left incomplete."""
        decoder = self.decoder
        now = self._clock()
        decoder.receive_eof("c2s", now)
        decoder.receive_eof("s2c", now)
        emit = self._emit
        for event in decoder.events_received():
            emit(event)

    def stop(self, offset: int) -> None:
        """The transport read no further than this offset of the server's MQTT stream (a
        close frame, a frame that failed the connection): later packets are not delivered."""
        if self._until is None:
            self._until = offset
            self._cut()

    def deliver(self, session: Session) -> None:
        """Hand the session the server's packets decoded so far, in wire order."""
        items = self.server
        if not items:
            return
        if self._until is not None:
            self._cut()
        if session.state is SessionState.CLOSED:  # it reads nothing more on this connection
            items.clear()
            return
        taken = [
            (item.packet, len(item.raw)) if type(item) is PacketEvent else _received(item) for item in items
        ]
        items.clear()
        session.receive_packets(taken)

    def _cut(self) -> None:
        until = self._until
        assert until is not None
        items = self.server
        for index, item in enumerate(items):
            if _end(item) > until:
                del items[index:]
                return
