"""The trace of one client connection, and the server packets it hands to the session.

``MqttClient`` (``explorer.client.driver``) passes every byte of a network connection, both
directions, through a ``ConnectionDecoder`` tapped into the transport: that is the
trace. The decoder parses the server's MQTT packets anyway, so the session takes them
from it (``Session.receive_packets``) instead of parsing the same bytes again: each
server packet is parsed once, and the trace's ``PacketEvent`` and the
``MessageReceived`` share one ``Publish``.

What belongs here: one connection's decoder, its events out to the client's callback,
and the hand-over of its server packets. What does not: sockets and WebSocket control
frames (the transports), the protocol (the session).

Why packets wait for the transport. The tap sees bytes as they are read; the transport
decides what the MQTT stream is (binary frames; a text frame ends the connection;
ping, pong and close are its own) and its ``receive()`` returning ``b""`` is the end.
So a packet is handed over only once the transport has delivered all of its bytes, and
only if they are the bytes the decoder parsed (compared in place). After each
``receive()`` the two have read the same frames, so the decoder has decoded exactly as
many bytes as the transport delivered. If the two ever disagree (a text frame the
decoder reads and the transport refuses, a broken frame that stops the decoder), the
session reads the delivered bytes itself from the last packet boundary on
(``Session.receive_data``; offsets in its error texts then count from that boundary):
no packet is lost, doubled or made up, and the connection never hangs silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from explorer.client.options import ConnectionOptions
from explorer.decoder import ConnectionDecoder
from explorer.decoder.stream import StreamItem
from explorer.errors import MalformedPacket
from explorer.model.events import Direction, PacketEvent, TraceEvent
from explorer.mqtt.reader import ReadPacket
from explorer.session import ReceivedPacket, Session, SessionState

__all__ = ["ConnectionTrace"]


def _end(item: StreamItem) -> int:
    """Stream offset just past a server item's bytes."""
    if type(item) is PacketEvent:
        return item.stream_offset + len(item.raw)
    return cast(ReadPacket, item).end


class ConnectionTrace:
    """The decoder of one network connection, feeding the trace and the session.

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
        self._server: list[StreamItem] = []  # decoded, not yet handed to the session
        self.decoder = ConnectionDecoder(
            conn,
            websocket=options.endpoint.websocket,
            mqtt_version=options.mqtt_version,
            next_seq=next_seq,
            server_packets=self._server,
            max_packet_size=options.maximum_packet_size,
        )
        self._emit = emit
        self._clock = clock
        self._delivered = 0  # bytes of the server's MQTT stream the transport delivered
        self._boundary = 0  # stream offset of the first byte not handed over (a packet start)
        self._held: list[bytes] = []  # delivered bytes from _boundary on
        self.reads_bytes = False
        """The decoder and the transport disagreed: the session parses the bytes itself."""

    def tap(self, direction: Direction, data: bytes) -> None:
        """The transport's tap: every byte sent and received goes into the trace."""
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

    def deliver(self, data: bytes, session: Session) -> None:
        """The transport's ``receive()`` returned ``data``: feed the session the packets
        that these bytes complete, in wire order."""
        if session.state is SessionState.CLOSED:  # it reads nothing more on this connection
            self._server.clear()
            self._held.clear()
            return
        if self.reads_bytes:
            self._server.clear()
            session.receive_data(data)
            return
        delivered = self._delivered + len(data)
        self._delivered = delivered
        held = self._held
        queue = self._server
        if not queue or _end(queue[0]) > delivered:
            held.append(data)  # a packet still incomplete: joined once, when it completes
            if self.decoder.server_stream_decoded != delivered:
                self._read_bytes(session)
            return
        if held:
            held.append(data)
            data = b"".join(held)
            held.clear()
        base = self._boundary
        pos = 0
        taken = 0
        diverged = False
        items: list[ReceivedPacket] = []
        append = items.append
        for item in queue:
            if type(item) is PacketEvent:
                raw = item.raw
                end = pos + len(raw)
                if base + end > delivered:
                    break
                if item.stream_offset != base + pos or not data.startswith(raw, pos):
                    diverged = True
                    break
                append((item.packet, len(raw)))
            else:
                failed = cast(ReadPacket, item)  # a malformed packet, or the stream broke here
                if failed.end > delivered:
                    break
                raw = failed.raw
                if failed.start != base + pos or not data.startswith(raw, pos):
                    diverged = True
                    break
                append((failed.error or MalformedPacket(failed.start, "malformed packet"), len(raw)))
                end = failed.end - base
            pos = end
            taken += 1
        del queue[:taken]
        self._boundary = base + pos
        if pos < len(data):
            held.append(data[pos:] if pos else data)
        if items:
            session.receive_packets(items)
            if session.closed:
                return
        if diverged or self.decoder.server_stream_decoded != delivered:
            self._read_bytes(session)

    def _read_bytes(self, session: Session) -> None:
        """The decoder cannot give the packets of the delivered bytes: from the last
        packet boundary on, the session parses the server's bytes itself."""
        self.reads_bytes = True
        self._server.clear()
        rest = b"".join(self._held)
        self._held.clear()
        if rest:
            session.receive_data(rest)
