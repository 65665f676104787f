"""ConnectionDecoder: both directions of one connection's bytes -> trace events.

What belongs here: the public decoder object, the HTTP upgrade of each direction, and
the rules that tie the two directions together (a refused upgrade ends frame decoding
for the connection; the server's MQTT packets are read with the version of the
client's CONNECT). The frames and packets of one direction are read by
``explorer.decoder.stream.DirectionDecoder``.

Offsets are counted in the stream of their layer: ``http`` errors from the first byte
of the direction, ``websocket`` frames and errors from the first byte after the HTTP
head, ``mqtt`` packets and errors from the first byte of the MQTT stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import count
from typing import Final

from explorer.decoder.fastpath import FastPublish, expand_fast
from explorer.decoder.stream import DirectionDecoder, ServerFrame, StreamItem
from explorer.errors import HandshakeError
from explorer.masking import CONNECT_BYTE, mask_credentials, mask_header_values
from explorer.model.events import Direction, HandshakeRequest, HandshakeResponse, TraceEvent
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.reader import PacketReader
from explorer.ws.handshake import (
    HandshakeCheck,
    HttpReader,
    HttpRequest,
    HttpResponse,
    check_handshake,
)
from explorer.ws.upgraderules import check_request

__all__ = ["ConnectionDecoder"]

# What each direction is reading.
_HTTP: Final = 0
_FRAMES: Final = 1
_MQTT: Final = 2  # native MQTT over TCP: no frames
_STOPPED: Final = 3


class ConnectionDecoder:
    """Sans-I/O decoder of one connection, both directions (DESIGN rule 4).

    Feed each direction's bytes as they come with :meth:`receive_data` and the end of a
    direction with :meth:`receive_eof`; collect events with :meth:`events_received`.
    With ``websocket=True`` each direction starts with its HTTP upgrade message
    (``HandshakeRequest`` / ``HandshakeResponse``), then WebSocket frames
    (``FrameEvent``, each followed by the ``PacketEvent`` of every MQTT packet it
    completes). With ``websocket=False`` the bytes are MQTT straight over TCP and only
    ``PacketEvent`` (with ``frames=()``) come out. Anything undecodable becomes an
    ``ErrorReported`` at its offset, and decoding goes on where it can.

    Args:
        conn: connection number stamped on every event.
        websocket: MQTT over WebSocket (``True``) or over plain TCP/TLS (``False``).
        mqtt_version: the MQTT version when known in advance; otherwise it is learnt
            from the client's CONNECT and used for the server's packets too.
        next_seq: source of event sequence numbers (e.g. shared by all connections of a
            capture); by default the decoder counts from 0 itself.
        server_packets: receives the server's (``s2c``) packets as they are decoded, in
            wire order (``explorer.decoder.stream.StreamItem``: the very ``PacketEvent``
            of each packet, or the error where one could not be read), so that a client
            session can act on them without parsing the bytes again.
        server_frames: receives the server's frames that a client transport acts on, in
            wire order (``explorer.decoder.stream.ServerFrame``: control and text frames,
            the fragments of a message, frames with problems, the ``FramingError`` that
            stops the frames); whole binary frames never reach it.
        max_frame_size: a server frame announcing a longer payload stops the server's
            frames (a ``FramingError`` with close code 1009) instead of being buffered;
            ``None``: no limit.
        max_packet_size: the client's Maximum Packet Size: a larger server packet ends
            MQTT decoding of that direction where the client's session would stop
            reading too (MQTT 5.0 §3.1.2.11.4); ``None``: no limit.
        compact: let :meth:`items_received` give a frame holding one simple QoS 0
            PUBLISH as one ``FastPublish`` record (``explorer.decoder.fastpath``) instead
            of its two events; :meth:`events_received` still gives events.
    """

    def __init__(
        self,
        conn: int = 0,
        *,
        websocket: bool = True,
        mqtt_version: ProtocolVersion | None = None,
        next_seq: Callable[[], int] | None = None,
        server_packets: list[StreamItem] | None = None,
        server_frames: list[ServerFrame] | None = None,
        max_frame_size: int | None = None,
        max_packet_size: int | None = None,
        compact: bool = False,
    ) -> None:
        self.conn = conn
        self.websocket = websocket
        self._seq: Callable[[], int] = next_seq if next_seq is not None else count().__next__
        self._mqtt_version = mqtt_version
        self._events: list[TraceEvent] = []
        self._s2c = DirectionDecoder(
            conn,
            "s2c",
            self._events,
            self._seq,
            reader=PacketReader(mqtt_version, max_packet_size),
            sink=server_packets,
            frame_sink=server_frames,
        )
        self._s2c.frames.max_payload_size = max_frame_size
        self._c2s = DirectionDecoder(
            conn,
            "c2s",
            self._events,
            self._seq,
            reader=PacketReader(mqtt_version),
            on_connect=self._learn_version,
        )
        self._c2s.compact = self._s2c.compact = compact
        self.compact = compact
        stage = _HTTP if websocket else _MQTT
        self._stage: dict[Direction, int] = {"c2s": stage, "s2c": stage}
        self._http: dict[Direction, HttpReader] = (
            {"c2s": HttpReader("request"), "s2c": HttpReader("response")} if websocket else {}
        )
        self._stop_reported: set[Direction] = set()
        self._first: dict[Direction, bytes] = {"c2s": b"", "s2c": b""}  # up to 16 bytes of each
        self._request: HttpRequest | None = None
        self._response: HttpResponse | None = None
        self._check: HandshakeCheck | None = None
        self._waiting: list[tuple[bytes, float]] | None = None  # client bytes read before the response

    # Public API

    @property
    def negotiated_subprotocol(self) -> str | None:
        """The subprotocol the server chose in its 101 response, if any."""
        if self._response is None or self._response.status != 101:
            return None
        return self._response.subprotocol

    @property
    def mqtt_version(self) -> ProtocolVersion | None:
        """The MQTT version given or learnt from the CONNECT (``None``: not yet known)."""
        return self._mqtt_version

    @property
    def server_stream_decoded(self) -> int:
        """Bytes of the server's MQTT stream decoded so far (after the upgrade, unframed)."""
        return self._s2c.mqtt_fed

    @property
    def handshake(self) -> HandshakeCheck | None:
        """The verdict on the upgrade (``explorer.ws.handshake``), once the response is read."""
        return self._check

    def events_received(self) -> list[TraceEvent]:
        """Events decoded so far, in order; the list is cleared."""
        items = self.items_received()
        if not self.compact:
            return items  # type: ignore[return-value]  # no FastPublish without compact
        events: list[TraceEvent] = []
        for item in items:
            if type(item) is tuple:
                events.extend(expand_fast(item))
            else:
                events.append(item)  # type: ignore[arg-type]
        return events

    def items_received(self) -> list[TraceEvent | FastPublish]:
        """Like :meth:`events_received`, with ``FastPublish`` records in compact mode."""
        events = self._events
        self._events = self._c2s.events = self._s2c.events = []
        return events  # type: ignore[return-value]

    def receive_data(self, direction: Direction, data: bytes, time: float) -> None:
        """Decode bytes of one direction received at ``time``."""
        if not data:
            return
        if type(data) is not bytes:
            data = bytes(data)  # events hold immutable bytes, whatever the caller read into
        stage = self._stage[direction]
        if stage == _FRAMES:
            if self._waiting is not None and direction == "c2s":
                self._waiting.append((data, time))
                return
            (self._c2s if direction == "c2s" else self._s2c).receive_frames(data, time)
        elif stage == _MQTT:
            (self._c2s if direction == "c2s" else self._s2c).receive_mqtt(data, time)
        elif stage == _HTTP:
            self._receive_http(direction, data, time)
        else:
            self._report_stopped(direction, data, time)

    def receive_batch(self, direction: Direction, reads: list[tuple[bytes, float]]) -> None:
        """Like :meth:`receive_data` for each ``(data, time)`` of one direction in turn
        (the same events), faster for many small reads of WebSocket frames."""
        if self._stage[direction] == _FRAMES and not (self._waiting is not None and direction == "c2s"):
            (self._c2s if direction == "c2s" else self._s2c).receive_frames_batch(reads)
            return
        for data, time in reads:
            self.receive_data(direction, data, time)

    def receive_eof(self, direction: Direction, time: float) -> None:
        """The direction ended: report whatever was left incomplete."""
        side = self._c2s if direction == "c2s" else self._s2c
        side.time = time
        self._flush_waiting()  # no response will tell whether frames are compressed
        stage = self._stage[direction]
        if stage == _HTTP:
            http = self._http[direction]
            message = http.receive_eof()
            if message is not None:
                self._on_http_message(direction, message, time)
            elif http.buffered:
                what = "request" if direction == "c2s" else "response"
                side.error("http", f"the stream ended inside the HTTP upgrade {what}", 0)
        elif stage in (_FRAMES, _MQTT):
            side.receive_eof(time, framed=stage == _FRAMES)
        self._stage[direction] = _STOPPED
        self._stop_reported.add(direction)

    # Internals

    def _learn_version(self, version: ProtocolVersion) -> None:
        """The client's CONNECT says how the server's packets are encoded too."""
        self._mqtt_version = version
        self._s2c.reader.version = version

    def _receive_http(self, direction: Direction, data: bytes, time: float) -> None:
        side = self._c2s if direction == "c2s" else self._s2c
        side.time = time
        first = self._first[direction]
        if len(first) < 16:
            first = self._first[direction] = first + data[: 16 - len(first)]
        try:
            message = self._http[direction].receive_data(data)
        except HandshakeError as exc:
            # The error shows the direction's first bytes, however they were read.
            hint = ""
            if first[:1] == CONNECT_BYTE and direction == "c2s":
                hint = " (it looks like MQTT sent without a WebSocket upgrade)"
            shown = first[:1] if hint else first[:16]
            cut = shown.find(b"\n")
            if cut >= 0:
                shown = shown[: cut + 1]  # the start line at most: all a refusal has surely read
            side.error("http", f"{exc.explanation}{hint}", 0, shown)
            self._stage[direction] = _STOPPED
            self._stop_reported.add(direction)
            return
        if message is not None:
            self._on_http_message(direction, message, time)

    def _on_http_message(
        self, direction: Direction, message: HttpRequest | HttpResponse, time: float
    ) -> None:
        side = self._c2s if direction == "c2s" else self._s2c
        if isinstance(message, HttpRequest):
            raw = mask_credentials(message.raw)
            if raw != message.raw:
                message = replace(message, raw=raw, headers=mask_header_values(message.headers))
            self._request = message
            self._events.append(
                HandshakeRequest(
                    self._seq(), time, self.conn, message.raw, message.method, message.target, message.headers
                )
            )
            for problem in check_request(message):
                side.error("http", problem, 0)
            self._stage[direction] = _FRAMES
            if self._response is None and any(
                e.split(";")[0].strip().lower() == "permessage-deflate" for e in message.extensions
            ):
                # Whether the client's frames are compressed is only known from the
                # response: hold them until it is read (a client waits for it anyway).
                self._waiting = []
        else:
            self._response = message
            check = self._check = check_handshake(self._request, message)
            self._events.append(
                HandshakeResponse(
                    self._seq(),
                    time,
                    self.conn,
                    message.raw,
                    message.status,
                    message.reason,
                    message.headers,
                    message.subprotocol,
                    message.header("Sec-WebSocket-Extensions"),
                )
            )
            for problem in check.problems:
                side.error("http", problem, 0)
            if check.upgraded:
                for extension in check.extensions:
                    name, *params = (p.strip().lower() for p in extension.split(";"))
                    if name == "permessage-deflate":
                        # RFC 7692 §7.1.1: each side's context takeover is negotiated apart
                        self._c2s.use_deflate(no_context_takeover="client_no_context_takeover" in params)
                        self._s2c.use_deflate(no_context_takeover="server_no_context_takeover" in params)
                self._stage[direction] = _FRAMES
            else:
                # A refused upgrade ends WebSocket decoding for the whole connection.
                self._stage[direction] = _STOPPED
                if self._stage["c2s"] == _FRAMES:
                    self._stage["c2s"] = _STOPPED
        if isinstance(message, HttpResponse):
            # The client's frames held for this answer come first: the client sent them
            # before the server's frames, and its CONNECT says how to read the server's
            # packets (MQTT 5 or 3.1.1) - whether or not they came in the same read.
            self._flush_waiting()
        rest = self._http[direction].rest
        if rest:
            self.receive_data(direction, rest, time)

    def _flush_waiting(self) -> None:
        """Decode the client's frames held until the response was read."""
        waiting, self._waiting = self._waiting, None
        for data, time in waiting or ():
            self.receive_data("c2s", data, time)

    def _report_stopped(self, direction: Direction, data: bytes, time: float) -> None:
        """Bytes that arrive after decoding stopped are reported once, not dropped silently."""
        if direction in self._stop_reported:
            return
        self._stop_reported.add(direction)
        side = self._c2s if direction == "c2s" else self._s2c
        side.time = time
        why = (
            "after the refused upgrade"
            if self._check is not None and not self._check.upgraded
            else "after decoding stopped"
        )
        side.error("websocket", f"the bytes {why} are not decoded", None)  # however many come
