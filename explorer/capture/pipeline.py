"""One pass over a capture: records -> TCP reassembly -> classification -> decoding.

What belongs here: driving :class:`explorer.capture.reader.CaptureFile`,
:class:`explorer.capture.tcp.TcpReassembler` and one
:class:`explorer.decoder.ConnectionDecoder` per connection as the segments come, and
handing each connection's trace events to a :class:`Consumer` batch by batch, then
the finished connection. Memory does not grow with the capture: reassembled bytes go
to the decoder at once and finished connections are dropped. What does not: any
output format (``explorer.cli.decode``).

Which connections are decoded: a WebSocket upgrade on any port (the client's first
bytes are ``GET `` with ``Upgrade: websocket``), native MQTT over TCP (the client's
first bytes decode as a CONNECT), and anything on a port given by the user
(WebSocket if it starts with ``GET ``, native MQTT otherwise). TLS is recognised by its
record header and reported, never decoded as garbage. The client's first bytes are
held until they decide (at most :data:`SNIFF` of them). Bytes the capture lacks (a gap
in TCP) stop the decoding of that direction, with an error saying so, instead of
feeding the decoder bytes that do not follow each other.

Sequence numbers count events in the order they are decoded, which is capture order:
with connections open at the same time their numbers interleave.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from explorer.capture.layers import FrameParser
from explorer.capture.reader import CaptureFile
from explorer.capture.tcp import GapMark, TcpConnection, TcpReassembler, _Flow
from explorer.decoder import ConnectionDecoder
from explorer.errors import MalformedPacket
from explorer.model.events import Direction, ErrorReported
from explorer.mqtt.codec import decode as decode_packet
from explorer.mqtt.codec import parse_fixed_header
from explorer.mqtt.packets import Connect

__all__ = ["SNIFF", "Consumer", "Kind", "Pipeline", "Stream", "classify_bytes"]

Kind = Literal["websocket", "mqtt", "tls", "unknown"]

SNIFF = 8192  # client bytes looked at to classify a connection
# From an Ethernet frame's first 48 bytes (at an offset in a buffer), in 32-bit words
# where one test covers several fields: EtherType, IPv4 version and header length, and
# TOS; total length; flags, fragment offset, TTL and protocol; the addresses and ports
# (12 bytes, as they stand); TCP sequence and acknowledgement numbers; data offset and
# flags.
_HEADERS: Callable[[bytes, int], tuple[int, int, int, bytes, int, int, int]] = struct.Struct(
    "!12xIH2xI2x12sIIH"
).unpack_from
_MAX_HELD = 1 << 20  # bytes of both directions held while the client's first bytes decide
_RUN = 512  # segments in a run at most (see Pipeline.run)


def _is_connect(data: bytes) -> bool | None:
    """Whether ``data`` starts with a whole CONNECT; ``None``: not enough bytes yet."""
    if data[:1] != b"\x10":
        return False
    try:
        header = parse_fixed_header(data, 0, len(data))
        if header is None:
            return None if len(data) < 5 else False
        start, length = header
        if start + length > len(data):
            return None
        return isinstance(decode_packet(data[: start + length]), Connect)
    except MalformedPacket:
        return False


def classify_bytes(first: bytes, server_port: int, ports: Container[int], *, final: bool) -> Kind | None:
    """What a connection carries, from the client's first bytes (at most :data:`SNIFF`).

    ``final``: no more client bytes will come (the connection ended, or ``SNIFF``
    bytes are there); otherwise ``None`` when more bytes could change the answer.
    """
    final = final or len(first) >= SNIFF
    first = first[:SNIFF]
    if first[:2] == b"\x16\x03":  # TLS handshake record (RFC 8446 §5.1)
        return "tls"
    if not final and (len(first) < 4 and (b"GET "[: len(first)] == first or first == b"\x16")):
        return None  # could still become "GET " or a TLS record
    if first.startswith(b"GET "):
        head, found, _rest = first.partition(b"\r\n\r\n")
        if b"upgrade: websocket" in head.lower():
            return "websocket"
        if not found and not final:
            return None
    else:
        connect = _is_connect(first)
        if connect:
            return "mqtt"
        if connect is None and not final:
            return None
    if server_port in ports:
        return "websocket" if first.startswith(b"GET ") else "mqtt"
    return "unknown"


@dataclass(slots=True, eq=False)
class Stream:
    """One connection on its way through the pipeline; ``output`` is the consumer's."""

    index: int
    kind: Kind | None = None
    names: tuple[Direction, Direction] = ("c2s", "s2c")
    held: list[tuple[int, float, bytes | GapMark]] = field(default_factory=list)
    held_size: int = 0
    sniffed: bytearray = field(default_factory=bytearray)
    decoder: ConnectionDecoder | None = None
    stopped: dict[Direction, float] = field(default_factory=dict)
    selected: bool = True
    hot_keys: list[bytes] = field(default_factory=list)  # this connection's entries in Pipeline._hot
    output: object = None


class Consumer(Protocol):
    """Receives what the pipeline decodes (see :class:`Pipeline`)."""

    def started(self, stream: Stream, base: float) -> None:
        """A connection was classified (``stream.kind``); its events follow. ``base`` is
        the time of the capture's first TCP segment."""

    def events(self, stream: Stream, events: list[Any]) -> None:
        """The next batch of a connection's events (``TraceEvent``), in order; with
        ``compact`` also ``FastPublish`` records, each standing for a frame and its
        PUBLISH (``explorer.decoder.fastpath``)."""

    def finished(self, stream: Stream, conn: TcpConnection) -> None:
        """The connection is over: its endpoints, endings and problems (no chunks)."""


class Pipeline:
    """Decode a capture in one pass, feeding ``consumer`` (see the module doc).

    ``ports``: server ports to decode whatever they carry; ``select``: connection
    numbers to decode (``None``: all); the others are still counted but never decoded.
    ``next_seq`` numbers the events. ``compact``: let the decoders hand over simple
    PUBLISH frames as ``FastPublish`` records (see :class:`Consumer`).
    """

    def __init__(
        self,
        capture: CaptureFile,
        consumer: Consumer,
        next_seq: Callable[[], int],
        *,
        ports: Container[int] = frozenset(),
        select: Container[int] | None = None,
        compact: bool = False,
    ) -> None:
        self.capture = capture
        self.consumer = consumer
        self.ports = ports
        self.select = select
        self.compact = compact
        self._seq = next_seq
        self.reassembler = TcpReassembler(streaming=True)
        self.connections = 0
        self.segments = 0
        self.first_time: float | None = None
        self._hot: dict[bytes, tuple[_Flow, int]] = {}  # raw addresses+ports -> flow, side
        self._run: list[tuple[bytes, float]] = []  # the run's (payload, time), see run()
        self._run_flow: _Flow | None = None
        self._run_side = 0

    def run(self, tick: Callable[[], None] | None = None) -> None:
        """Read the whole capture; ``tick`` is called every few thousand frames.

        Speed: after a connection's first segments went the general way (parse into a
        ``TcpSegment``, :meth:`TcpReassembler.add`), its plain data segments over
        Ethernet and IPv4 are recognised from their raw bytes (the 12 bytes of addresses
        and ports, read with the other header fields in one ``unpack``) and go straight
        to :meth:`_Flow.fast_data`. Once it took one, the segments that follow it in the
        same direction, each exactly where the previous one ended, make a *run*: they
        are only collected, accounted to the flow together (:meth:`_Flow.fast_run`) and
        handed to the decoder as one batch of consecutive reads
        (:meth:`ConnectionDecoder.receive_batch`), which decodes them as it would one
        by one. Anything else (another connection, a flag, a hole) first ends the run,
        so state and events keep capture order.
        """
        capture = self.capture
        parser = FrameParser(capture.state.problems)
        parse = parser.parse
        reassembler = self.reassembler
        add = reassembler.add
        counted = reassembler.counted
        take = self._take
        hot = self._hot
        run = self._run
        flush = self._flush
        headers = _HEADERS
        limit = _RUN
        count = 0
        # The current run (see above): its flow's key, the next sequence number and the
        # acknowledgement number last given to the flow. ``None``: no run.
        run_key: bytes | None = None
        run_seq = run_ack = 0
        flow: _Flow
        # A pcap file's records are walked here, in the blocks read (PcapFile.records
        # step by step, without a tuple per record); a pcapng file's come as tuples.
        pcap = capture.pcap()
        records = capture.records() if pcap is None else iter(())
        if pcap is not None:
            buffer, pos, unpack, divisor, link = (
                pcap.data,
                pcap.pos,
                pcap.unpack,
                pcap.divisor,
                pcap.link_type,
            )
            size, largest = len(buffer), pcap.largest
        while True:
            if pcap is not None:
                at = pos + 16
                if at > size:
                    buffer = pcap.more(buffer, pos, 16, count)
                    pos, size = 0, len(buffer)
                    if not buffer:
                        break
                    continue
                seconds, fraction, captured, _original = unpack(buffer, pos)
                if captured > largest:
                    pcap.check(captured, pos)
                end = at + captured
                if end > size:
                    buffer = pcap.more(buffer, pos, end - pos, count)
                    pos, size = 0, len(buffer)
                    if not buffer:
                        break
                    continue
                pos = end
                time = seconds + fraction / divisor
                count += 1  # the record's number too (see the general path below)
            else:
                record = next(records, None)
                if record is None:
                    break
                number, time, link, buffer, at, end = record
                count += 1
            # The frame is buffer[at:end] (see explorer.capture.records): read in place.
            if not count & 0x3FF:  # now and then: progress, and the run handed on
                if pcap is not None:
                    pcap.progress(count, end)
                if not count & 0xFFF:
                    flush()
                    run_key = None
                    if not count & 0x1FFF:
                        counted(time)  # now and then: the reassembler releases idle connections
                        if reassembler.finished:
                            for done in reassembler.finished:
                                self._finish(done)
                            reassembler.finished.clear()
                if tick is not None:
                    tick()
            if link == 1 and end - at >= 54:
                ether_ip, total, fragment_protocol, key, seq, ack, offset_flags = headers(buffer, at)
                if (
                    ether_ip >> 8 == 0x080045  # IPv4 over Ethernet, a header without options
                    and fragment_protocol & 0x3FFF00FF == 6  # TCP, not a fragment (any TTL)
                    and offset_flags & 0x17 == 0x10  # ACK; no SYN, FIN or RST
                ):
                    stop = at + 14 + total
                    start = at + 34 + ((offset_flags >> 12) << 2)
                    if key == run_key and seq == run_seq and at + 54 <= start < stop <= end:
                        # The run's next segment.
                        run.append((buffer[start:stop], time))
                        run_seq = (seq + stop - start) & 0xFFFFFFFF
                        if ack != run_ack:
                            run_ack = ack
                            flow = self._run_flow  # type: ignore[assignment]
                            flow.fast_ack(self._run_side, ack, time)
                            if flow.out:  # a gap in the other direction: after these bytes
                                flush()
                                run_key = None
                                take(flow)
                                continue
                        if len(run) >= limit:
                            flush()
                            run_key = None
                        continue
                    entry = hot.get(key)
                    if entry is not None:
                        flush()  # the flow's state must be whole before fast_data looks at it
                        run_key = None
                        flow, side = entry
                        if (
                            at + 54 <= start <= stop <= end
                            and not flow.released
                            and flow.fast_data(side, (seq, ack), payload := buffer[start:stop], time)
                        ):
                            run.append((payload, time))
                            run_key, run_seq, run_ack = key, (seq + stop - start) & 0xFFFFFFFF, ack
                            self._run_flow = flow
                            self._run_side = side
                            if flow.out:
                                flush()
                                run_key = None
                                take(flow)
                            continue
            data = buffer[at:end]
            if pcap is not None:
                number = count
            segment = parse(number, time, link, data)
            if segment is None:
                continue
            flush()
            run_key = None
            if self.first_time is None:
                self.first_time = segment.time
            flow = add(segment)
            if flow.out:
                take(flow)
            if reassembler.finished:
                for done in reassembler.finished:
                    self._finish(done)
                reassembler.finished.clear()
            user = flow.user
            if (
                type(user) is Stream
                and (user.kind is not None or not user.selected)
                and not flow.released
                and link == 1
                and len(data) >= 54
                and data[12:14] == b"\x08\x00"
                and data[14] == 0x45
            ):
                key = data[26:38]
                if key not in hot:
                    first = flow.ends[0]
                    hot[key] = (
                        flow,
                        0 if first.port == segment.sport and first.address == segment.src else 1,
                    )
                    user.hot_keys.append(key)
        if pcap is not None:
            pcap.finish(count, pos)
        flush()
        parser.finish()
        capture.finish_problems()
        self.segments = count
        for done in reassembler.close():
            self._finish(done)

    def _flush(self) -> None:
        """End the run (see :meth:`run`): account its segments to the flow, hand its
        reads to the connection's decoder and the events to the consumer."""
        run = self._run
        if not run:
            return
        flow = self._run_flow
        assert flow is not None
        side = self._run_side
        self._run_flow = None
        flow.fast_run(side, run, 1)  # the first went through fast_data
        stream = cast(Stream, flow.user)
        decoder = stream.decoder
        if decoder is None or stream.names[side] in stream.stopped:
            run.clear()
            return
        try:
            decoder.receive_batch(stream.names[side], run)
        except Exception as exc:  # a decoder fault: see _broken
            self._broken(stream, exc, run[-1][1])
            run.clear()
            return
        run.clear()
        items = decoder.items_received()
        if items:
            self.consumer.events(stream, items)

    def _stream(self, flow: _Flow) -> Stream:
        stream = Stream(flow.index)
        stream.selected = self.select is None or flow.index in self.select
        flow.user = stream
        self.connections = max(self.connections, flow.index + 1)
        return stream

    def _take(self, flow: _Flow) -> None:
        out = flow.out
        flow.out = []
        stream = flow.user
        if stream is None:
            stream = self._stream(flow)
        assert isinstance(stream, Stream)
        if not stream.selected:
            return
        if stream.kind is None:
            stream.held.extend(out)
            client = flow.roles()[0]
            for side, _time, item in out:
                stream.held_size += len(item) if type(item) is bytes else 0
                if side == client and type(item) is bytes and len(stream.sniffed) < SNIFF:
                    stream.sniffed += item[: SNIFF - len(stream.sniffed)]
            if not self._classify(flow, stream, final=stream.held_size > _MAX_HELD):
                return
            out, stream.held = stream.held, []
        if stream.decoder is not None:
            self._feed(stream, out)

    def _classify(self, flow: _Flow, stream: Stream, *, final: bool) -> bool:
        client, _evidence = flow.roles()
        server_port = flow.ends[1 - client].port
        kind = classify_bytes(bytes(stream.sniffed), server_port, self.ports, final=final)
        if kind is None:
            return False
        stream.kind = kind
        stream.names = flow.names()
        stream.sniffed = bytearray()
        if kind in ("websocket", "mqtt"):
            stream.decoder = ConnectionDecoder(
                conn=flow.index, websocket=kind == "websocket", next_seq=self._seq, compact=self.compact
            )
        self.consumer.started(stream, self.first_time or 0.0)
        return True

    def _broken(self, stream: Stream, exc: Exception, time: float) -> None:
        """A fault of the decoder itself on this connection's bytes: said in one error
        event, and the connection is not decoded further; the rest of the capture is."""
        stream.decoder = None
        message = (
            f"internal error while decoding ({type(exc).__name__}: {exc}); "
            "the rest of this connection is not decoded"
        )
        self.consumer.events(
            stream, [ErrorReported(self._seq(), time, stream.index, None, "decoder", message)]
        )

    def _feed(self, stream: Stream, items: list[tuple[int, float, bytes | GapMark]]) -> None:
        try:
            self._feed_decoder(stream, items)
        except Exception as exc:  # a decoder fault: see _broken
            self._broken(stream, exc, items[-1][1] if items else 0.0)

    def _feed_decoder(self, stream: Stream, items: list[tuple[int, float, bytes | GapMark]]) -> None:
        decoder = stream.decoder
        assert decoder is not None
        names = stream.names
        stopped = stream.stopped
        receive = decoder.receive_data
        for side, time, item in items:
            direction = names[side]
            if direction in stopped:
                continue
            if type(item) is bytes:
                receive(direction, item, time)
                continue
            assert isinstance(item, GapMark)
            decoder.receive_eof(direction, time)
            events = decoder.items_received()
            events.append(
                ErrorReported(
                    self._seq(),
                    time,
                    stream.index,
                    direction,
                    "tcp",
                    f"{item.length} bytes missing from the capture at stream offset {item.offset}; "
                    "decoding of this direction stops here",
                    item.offset,
                )
            )
            self.consumer.events(stream, events)
            stopped[direction] = time
        events = decoder.items_received()
        if events:
            self.consumer.events(stream, events)

    def _finish(self, flow: _Flow) -> None:
        self._flush()
        if flow.out or flow.user is None:
            self._take(flow)
        stream = flow.user
        assert isinstance(stream, Stream)
        for key in stream.hot_keys:
            if self._hot.get(key, (None, 0))[0] is flow:
                del self._hot[key]
        stream.hot_keys = []
        if not stream.selected:
            return
        if stream.kind is None:
            self._classify(flow, stream, final=True)
            out, stream.held = stream.held, []
            if stream.decoder is not None:
                self._feed(stream, out)
        conn = flow.connection()
        decoder = stream.decoder
        if decoder is not None:
            try:
                for direction in ("c2s", "s2c"):
                    if direction not in stream.stopped:
                        decoder.receive_eof(direction, conn.ended.get(direction, conn.last_time))
                events = decoder.items_received()
            except Exception as exc:  # a decoder fault: see _broken
                self._broken(stream, exc, conn.last_time)
                events = []
            if events:
                self.consumer.events(stream, events)
        self.consumer.finished(stream, conn)
        stream.decoder = None
