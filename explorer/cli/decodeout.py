"""What ``decode`` writes: the listing, JSON lines or a summary, narrowed as asked.

The JSON lines writer is :class:`explorer.cli.decodejson.JsonOutput`.

Each output is a :class:`explorer.capture.pipeline.Consumer`: it gets every
connection's events batch by batch while the capture is read, formats what passes the
:class:`Narrowing` into that connection's :class:`_Part` of a :class:`Spool`, and at
:meth:`close` writes the capture's first lines and then every connection, in order.
The first lines need the whole file read (frame count, truncation), and a connection's
header needs the connection finished (its problems), so nothing is written before; the
spool keeps memory bounded by moving text to a temporary file past a budget.
"""

from __future__ import annotations

import codecs
import errno
import marshal
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import eq, itemgetter
from typing import IO, Any, BinaryIO, TextIO

from explorer.capture.pipeline import Stream
from explorer.capture.reader import CaptureFile
from explorer.capture.tcp import TcpConnection
from explorer.decoder.fastpath import FastPublish
from explorer.model.events import (
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    PacketEvent,
    TraceEvent,
)
from explorer.mqtt.packets import Publish
from explorer.mqtt.topics import topic_matches
from explorer.present.listing import Listing

__all__ = ["Narrowing", "Output", "Sink", "Spool", "make_output"]

_SKIPPED = "not MQTT or WebSocket (use --port N to force): skipped"
_TLS = "TLS, encrypted: cannot decode"
_DECODED = (HandshakeRequest, HandshakeResponse, FrameEvent, PacketEvent, tuple)  # tuple: FastPublish
_SPOOL_SIZE = 8 << 20  # characters (or bytes) held in memory over all connections before moving to disk
_RECORD_SIZE = 1 << 10  # what an item of a list of records counts for in the spool's budget
_COMPACT_ONLY = {tuple}  # the types in a batch of FastPublish records alone
_MAX_HELD = 20_000  # events held for split packets to complete (beyond: listed as "part n/?")
_MAX_TOPICS = 100_000  # distinct topics counted by --summary; the rest are lumped together
_DIRECTION, _TOPIC = itemgetter(2), itemgetter(10)  # of a FastPublish record


@dataclass(slots=True, frozen=True)
class Narrowing:
    """What the user asked to see (``None``/empty: everything)."""

    conns: frozenset[int] | None = None
    topics: tuple[str, ...] = ()
    types: frozenset[str] | None = None
    direction: str | None = None
    errors_only: bool = False
    payload: bool = True  # the listing previews PUBLISH payloads
    # topic -> whether it matches a filter of ``topics`` (a capture repeats its topics)
    _passed: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @property
    def filters_events(self) -> bool:
        return bool(self.topics or self.types or self.direction or self.errors_only)

    @property
    def drops_empty(self) -> bool:
        """Whether a connection with nothing left to show is left out altogether."""
        return bool(self.topics or self.types or self.errors_only)

    def topic_passes(self, topic: str) -> bool:
        """Whether a PUBLISH to ``topic`` matches one of the ``topics`` filters."""
        passed = self._passed.get(topic)
        if passed is None:
            if len(self._passed) >= _MAX_TOPICS:
                self._passed.clear()
            passed = self._passed[topic] = any(topic_matches(f, topic) for f in self.topics)
        return passed

    def packet_passes(self, event: PacketEvent) -> bool:
        packet = event.packet
        if self.types is not None and packet.TYPE.name not in self.types:
            return False
        if self.topics:
            return type(packet) is Publish and self.topic_passes(packet.topic)
        return True

    def publish_passes(self, item: FastPublish) -> bool:
        if self.direction and item[2] != self.direction:
            return False
        if self.types is not None and "PUBLISH" not in self.types:
            return False
        return not self.topics or self.topic_passes(item[10])

    def keep(self, events: list[TraceEvent | FastPublish]) -> list[TraceEvent | FastPublish]:
        """The events of one batch that pass (a frame passes with a packet it completes)."""
        direction = self.direction
        if self.errors_only:
            return [
                e
                for e in events
                if isinstance(e, ErrorReported) and (not direction or e.direction == direction)
            ]
        if {*map(type, events)} == _COMPACT_ONLY:
            return self._keep_records(events)  # type: ignore[arg-type]  # all FastPublish
        kept: list[TraceEvent | FastPublish] = []
        packets = self.types is not None or bool(self.topics)
        passed: set[tuple[str, int]] = {
            (e.direction, e.packet_no) for e in events if isinstance(e, PacketEvent) and self.packet_passes(e)
        }
        for event in events:
            if isinstance(event, tuple):
                if self.publish_passes(event):
                    kept.append(event)
                continue
            kind = type(event)
            if direction:
                if kind is HandshakeRequest:
                    if direction != "c2s":
                        continue
                elif kind is HandshakeResponse:
                    if direction != "s2c":
                        continue
                elif getattr(event, "direction", None) != direction:
                    continue
            if packets:
                if isinstance(event, PacketEvent):
                    if (event.direction, event.packet_no) not in passed:
                        continue
                elif isinstance(event, FrameEvent):
                    if not any((event.direction, n) in passed for n in event.completed):
                        continue
                elif kind is not ErrorReported:
                    continue
            kept.append(event)
        return kept

    def _keep_records(self, records: list[FastPublish]) -> list[TraceEvent | FastPublish]:
        """:meth:`keep` for a batch of compact records alone, a column at a time."""
        if self.types is not None and "PUBLISH" not in self.types:
            return []
        kept: Iterable[FastPublish] = records
        if self.direction:
            kept = compress(records, map(eq, map(_DIRECTION, records), repeat(self.direction)))
        if self.topics:
            kept = list(kept)
            topics = list(map(_TOPIC, kept))
            passed = list(map(self._passed.get, topics))
            if None in passed:
                passed = list(map(self.topic_passes, topics))
            kept = compress(kept, passed)
        return list(kept)


class Sink:
    """Where ``decode`` writes: text, and bytes already encoded as UTF-8.

    On a UTF-8 text stream that has a binary buffer (``sys.stdout``), everything goes to
    that buffer as bytes, the text encoded as the stream itself would (its error
    handler), so that a listing spooled as bytes is copied out without decoding and
    encoding it again. Anything else (a ``StringIO``, another encoding) gets text.
    """

    def __init__(self, out: TextIO) -> None:
        self.text = out
        self.raw: BinaryIO | None = None
        errors = getattr(out, "errors", None) or "strict"
        buffer = getattr(out, "buffer", None)
        encoding = getattr(out, "encoding", None)
        if buffer is not None and encoding and os.linesep == "\n":
            try:
                utf8 = codecs.lookup(encoding).name == "utf-8"
            except LookupError:
                utf8 = False
            if utf8:
                out.flush()  # what was written as text comes first
                self.raw = buffer
            elif errors == "strict" and hasattr(out, "reconfigure"):
                # A terminal or pipe in another encoding: what it cannot hold (the "…"
                # of a cut preview, a topic's letters) is shown as "?", not a traceback.
                out.reconfigure(errors="replace")
        # How text becomes the bytes given to write_bytes: as the stream encodes it, or
        # (for a text-only stream) a way back to the very same text.
        self.errors = errors if self.raw is not None else "surrogatepass"

    def write(self, text: str) -> None:
        if self.raw is not None:
            self.raw.write(text.encode("utf-8", self.errors))
        else:
            self.text.write(text)

    def write_bytes(self, data: bytes) -> None:
        """Write text that was encoded as UTF-8 with :attr:`errors`."""
        if self.raw is not None:
            self.raw.write(data)
        else:
            self.text.write(data.decode("utf-8", "surrogatepass"))

    def copy_from(self, file: IO[bytes], offset: int, length: int) -> bool:
        """Write ``length`` bytes of ``file`` from ``offset`` (bytes as for
        :meth:`write_bytes`) without reading them into the process, when both are
        files of the system that allow it (``os.sendfile``); ``False``: nothing was
        written, the caller copies them."""
        if self.raw is None or not length or not hasattr(os, "sendfile"):
            return False
        try:
            target = self.raw.fileno()
        except (AttributeError, OSError, ValueError):
            return False  # an in-memory buffer
        file.flush()
        self.raw.flush()
        try:
            sent = os.sendfile(target, file.fileno(), offset, length)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                return False  # not for these two files: nothing was written
            raise
        while sent and sent < length:
            offset += sent
            length -= sent
            sent = os.sendfile(target, file.fileno(), offset, length)
        if length and not sent:
            raise OSError(errno.EIO, "the spool file ended early")
        return True

    def flush(self) -> None:
        if self.raw is not None:
            self.raw.flush()
        else:
            self.text.flush()


class _Null(Sink):
    """Discards what is written (a connection left out)."""

    def __init__(self) -> None:
        self.raw = None
        self.errors = "surrogatepass"

    def write(self, text: str) -> None:
        pass

    def write_bytes(self, data: bytes) -> None:
        pass

    def copy_from(self, file: IO[bytes], offset: int, length: int) -> bool:
        return True

    def flush(self) -> None:
        pass


class _Part:
    """One connection's output: lines in memory, earlier ones moved to the spool file."""

    __slots__ = ("lines", "measured", "segments", "size")

    def __init__(self) -> None:
        self.lines: list[Any] = []  # str, or bytes in a binary spool (or lists of records: Spool.expand)
        self.segments: list[tuple[int, int, bool]] = []  # (offset, length, of records) in the spool file
        self.measured = 0  # lines whose size is counted in size
        self.size = 0


Expand = Callable[[list[Any]], Iterator[bytes]]
"""Makes the output bytes of a list of records, a piece at a time (see :class:`Spool`)."""


class Spool:
    """Connections' output held in order until the capture is read (see the module doc).

    ``binary``: the parts hold bytes already encoded (see :class:`Sink`), else text.
    ``expand``: a binary spool's parts may also hold lists of records (tuples of bytes,
    str, numbers, None), several times smaller than the output they stand for; they are
    kept as such, on disk too (``marshal``), and ``expand`` makes their output when the
    part is written.
    """

    def __init__(
        self, budget: int = _SPOOL_SIZE, *, binary: bool = False, expand: Expand | None = None
    ) -> None:
        self._budget = budget
        self._binary = binary
        self.expand = expand
        self._parts: dict[int, _Part] = {}  # id -> the parts still held
        self._held = 0  # what their measured lines hold (see check)
        self._file: IO[bytes] | None = None
        self._end = 0

    def part(self) -> _Part:
        part = _Part()
        self._parts[id(part)] = part
        return part

    def check(self, part: _Part) -> None:
        """Count what a part was given since the last look (each line is measured once: a
        line may be a long block), and move the output to disk when the connections hold
        more than the budget."""
        lines = part.lines
        if part.measured < len(lines):
            size = self._size(lines[part.measured :])
            part.size += size
            part.measured = len(lines)
            self._held += size
            if self._held > self._budget:
                for held in self._parts.values():
                    self._move(held)
                self._held = 0

    def _size(self, lines: list[Any]) -> int:
        """What lines hold in memory: characters or bytes, an item of a list of records as 1 KB."""
        if self.expand is None:
            return sum(map(len, lines))
        return sum(len(line) if type(line) is not list else _RECORD_SIZE * len(line) for line in lines)

    def _move(self, part: _Part) -> None:
        if not part.lines:
            return
        if self._file is None:
            import tempfile  # only a large output needs it

            self._file = tempfile.TemporaryFile(prefix="mqttws-decode-")  # noqa: SIM115 - closed by close()
        records = self.expand is not None and any(type(line) is list for line in part.lines)
        if records:  # the output of our own records, read back only by this process
            data = marshal.dumps(part.lines)
        elif self._binary:
            data = b"".join(part.lines)
        else:
            data = "".join(part.lines).encode("utf-8", "surrogatepass")
        part.lines.clear()  # cleared, not replaced: writers hold its append
        self._held -= part.size
        part.measured = part.size = 0
        self._file.seek(self._end)
        self._file.write(data)
        part.segments.append((self._end, len(data), records))
        self._end += len(data)

    def write(self, part: _Part, out: Sink) -> None:
        """Write a part's output to ``out`` and forget it."""
        if part.segments:
            assert self._file is not None
            text = codecs.getincrementaldecoder("utf-8")("surrogatepass")
            for offset, length, records in part.segments:
                if records:
                    self._file.seek(offset)
                    self._write_lines(marshal.loads(self._file.read(length)), out)
                    continue
                if self._binary and out.copy_from(self._file, offset, length):
                    continue
                self._file.seek(offset)
                while length:
                    data = self._file.read(min(length, 1 << 20))
                    length -= len(data)
                    if self._binary:
                        out.write_bytes(data)
                    else:
                        out.write(text.decode(data, final=not length))
        self._write_lines(part.lines, out)
        part.lines.clear()
        self._held -= part.size
        part.measured = part.size = 0
        part.segments = []
        self._parts.pop(id(part), None)

    def _write_lines(self, lines: list[Any], out: Sink) -> None:
        if not self._binary:
            out.write("".join(lines))
        elif self.expand is None:
            out.write_bytes(b"".join(lines))
        else:
            expand = self.expand
            for line in lines:
                if type(line) is list:
                    for piece in expand(line):
                        out.write_bytes(piece)
                else:
                    out.write_bytes(line)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


@dataclass(slots=True)
class _Conn:
    """What an output keeps of a connection until it is written."""

    body: _Part
    listing: Listing | None = None
    request: HandshakeRequest | None = None
    response: HandshakeResponse | None = None
    shown: int = 0  # events that passed the narrowing
    errors: int = 0
    header: str = ""
    done: bool = False
    held: list[TraceEvent | FastPublish] = field(default_factory=list)  # waiting for packets to complete
    open_parts: set[tuple[str, int]] = field(default_factory=set)  # listing: split packets in progress


class Output:
    """Common part of the three outputs: spooling, narrowing, the final write.

    ``binary``: an output whose parts hold bytes (see :class:`Spool`).
    """

    binary = False

    def __init__(self, out: TextIO, capture: CaptureFile, narrowing: Narrowing) -> None:
        self.out = Sink(out)
        self.capture = capture
        self.narrowing = narrowing
        self.spool = Spool(binary=self.binary)
        self.decoded_any = False
        self.base = 0.0
        self._conns: dict[int, _Conn] = {}

    # Consumer

    def started(self, stream: Stream, base: float) -> None:
        self.base = base
        conn = _Conn(self.spool.part())
        self._conns[stream.index] = conn
        stream.output = conn
        self.begin(conn)

    def events(self, stream: Stream, events: list[TraceEvent | FastPublish]) -> None:
        conn = stream.output
        assert isinstance(conn, _Conn)
        if not self.decoded_any:
            self.decoded_any = any(isinstance(e, _DECODED) for e in events)
        if conn.request is None or conn.response is None:
            for event in events:
                if type(event) is HandshakeRequest and conn.request is None:
                    conn.request = event
                elif type(event) is HandshakeResponse and conn.response is None:
                    conn.response = event
        if self.narrowing.filters_events:
            events = self.narrowing.keep(events)
        conn.shown += len(events)
        self.format(conn, events)
        self.spool.check(conn.body)

    def finished(self, stream: Stream, tcp: TcpConnection) -> None:
        conn = stream.output
        assert isinstance(conn, _Conn)
        kind = stream.kind or "unknown"
        self.end(conn, stream, tcp)
        conn.done = True
        if self.narrowing.drops_empty and not conn.shown and not tcp.problems:
            self.spool.write(conn.body, _Null())
            del self._conns[stream.index]
            return
        conn.header = self.header(conn, stream.index, kind, tcp, stream)

    def close(self, connections: int) -> None:
        """Write everything, in connection order."""
        out = self.out
        self.preamble(connections)
        for index in sorted(self._conns):
            conn = self._conns[index]
            if not conn.done:
                continue
            out.write(conn.header)
            self.spool.write(conn.body, out)
            self.trailer(conn)
        self.spool.close()
        out.flush()

    # For the outputs

    def begin(self, conn: _Conn) -> None:
        pass

    def format(self, conn: _Conn, events: list[TraceEvent | FastPublish]) -> None:
        raise NotImplementedError

    def end(self, conn: _Conn, stream: Stream, tcp: TcpConnection) -> None:
        pass

    def header(self, conn: _Conn, index: int, kind: str, tcp: TcpConnection, stream: Stream) -> str:
        raise NotImplementedError

    def preamble(self, connections: int) -> None:
        raise NotImplementedError

    def trailer(self, conn: _Conn) -> None:
        pass


class TextOutput(Output):
    """The listing (:class:`explorer.present.listing.Listing`), spooled as UTF-8 bytes:
    compact records are written by :meth:`Listing.fast_bytes` as bytes, other lines
    are encoded as the output stream would (:class:`Sink`)."""

    binary = True

    def begin(self, conn: _Conn) -> None:
        append = conn.body.lines.append
        errors = self.out.errors

        def write(text: str) -> None:
            append(text.encode("utf-8", errors))

        conn.listing = Listing(write, base=self.base, payload=self.narrowing.payload)

    def format(self, conn: _Conn, events: list[TraceEvent | FastPublish]) -> None:
        listing = conn.listing
        assert listing is not None
        if listing.idle and not conn.held and {*map(type, events)} == _COMPACT_ONLY:
            conn.body.lines.append(listing.fast_bytes(events))  # type: ignore[arg-type]  # all FastPublish
            return
        # A packet split over frames is listed once it is complete, so that every part
        # line knows the number of parts ("part 2/17"), as when a capture is listed from
        # all of a connection's events at once.
        open_parts = conn.open_parts
        for event in events:
            if isinstance(event, FrameEvent):
                for part in event.parts:
                    if part.role == "first":
                        open_parts.add((event.direction, part.packet_no))
                    elif part.role == "last":
                        open_parts.discard((event.direction, part.packet_no))
        if open_parts and len(conn.held) < _MAX_HELD:
            conn.held.extend(events)
            return
        if conn.held:
            events = [*conn.held, *events]
            conn.held = []
        listing.feed(events)

    def end(self, conn: _Conn, stream: Stream, tcp: TcpConnection) -> None:
        assert conn.listing is not None
        if conn.held:
            conn.listing.feed(conn.held)
            conn.held = []
        conn.listing.close()
        conn.listing = None

    def header(self, conn: _Conn, index: int, kind: str, tcp: TcpConnection, stream: Stream) -> str:
        notes = {"tls": [_TLS], "unknown": [_SKIPPED]}.get(kind, [])
        notes += [f"! capture: {problem}" for problem in tcp.problems]
        lines: list[str] = []
        known = [e for e in (conn.request, conn.response) if e is not None]
        Listing(lines.append, base=self.base).connection(
            index, str(tcp.client), str(tcp.server), kind, known, notes=notes
        )
        return "".join(lines)

    def preamble(self, connections: int) -> None:
        capture = self.capture
        self.out.write(
            f"{capture.name}: {capture.format}, {capture.frame_count} frames, {connections} TCP connections\n"
        )
        for problem in capture.state.problems:
            self.out.write(f"! capture: {problem}\n")
        self.out.write("\n")

    def trailer(self, conn: _Conn) -> None:
        self.out.write("\n")


@dataclass(slots=True)
class _Counts:
    packets: Counter[tuple[str, str]] = field(default_factory=Counter)  # (direction, type)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0


class SummaryOutput(Output):
    """``--summary``: counts per connection and per topic, as text or JSON."""

    dumps: Callable[[Any], str]  # with as_json

    def __init__(self, out: TextIO, capture: CaptureFile, narrowing: Narrowing, *, as_json: bool) -> None:
        super().__init__(out, capture, narrowing)
        self.as_json = as_json
        if as_json:  # JSON text (orjson is loaded for JSON only)
            from explorer.cli.jsontext import dumps

            self.dumps = dumps
        self.topics: dict[str, list[int]] = {}
        self.other_topics = [0, 0]
        self.counts: dict[int, _Counts] = {}

    def begin(self, conn: _Conn) -> None:
        self.counts[id(conn)] = _Counts()

    def format(self, conn: _Conn, events: list[TraceEvent | FastPublish]) -> None:
        counts = self.counts[id(conn)]
        topics = self.topics
        for event in events:
            if isinstance(event, tuple):
                counts.packets[(event[2], "PUBLISH")] += 1
                entry = topics.get(event[10])
                if entry is None:
                    if len(topics) >= _MAX_TOPICS:
                        entry = self.other_topics
                    else:
                        entry = topics[event[10]] = [0, 0]
                entry[0] += 1
                entry[1] += len(event[11])
                continue
            kind = type(event)
            if kind is PacketEvent:
                assert isinstance(event, PacketEvent)
                packet = event.packet
                counts.packets[(event.direction, packet.TYPE.name)] += 1
                if type(packet) is Publish:
                    entry = topics.get(packet.topic)
                    if entry is None:
                        if len(topics) >= _MAX_TOPICS:
                            entry = self.other_topics
                        else:
                            entry = topics[packet.topic] = [0, 0]
                    entry[0] += 1
                    entry[1] += len(packet.payload)
            elif kind is ErrorReported:
                assert isinstance(event, ErrorReported)
                counts.error_count += 1
                if len(counts.errors) < 20:
                    where = f" {event.direction}" if event.direction else ""
                    counts.errors.append(f"{event.layer}{where}: {event.message}")

    def header(self, conn: _Conn, index: int, kind: str, tcp: TcpConnection, stream: Stream) -> str:
        counts = self.counts.pop(id(conn))
        check = stream.decoder.handshake if stream.decoder is not None else None
        if kind != "websocket":
            verdict = "none (native MQTT)" if kind == "mqtt" else _TLS if kind == "tls" else _SKIPPED
        elif conn.response is None:
            verdict = "no response to the upgrade request" if conn.request else "no upgrade request"
        else:
            verdict = f"{conn.response.status} {conn.response.reason}".rstrip()
            if conn.response.subprotocol:
                verdict += f", subprotocol {conn.response.subprotocol}"
            if check is not None:
                verdict += ": ok" if check.ok else f": {len(check.problems)} problem(s)"
        problems = [f"capture: {p}" for p in tcp.problems] + counts.errors
        total_problems = len(tcp.problems) + counts.error_count
        packets = {
            direction: {name: n for (d, name), n in sorted(counts.packets.items()) if d == direction}
            for direction in ("c2s", "s2c")
        }
        if self.as_json:
            return (
                self.dumps(
                    {
                        "kind": "connection_summary",
                        "conn": index,
                        "client": str(tcp.client),
                        "server": str(tcp.server),
                        "protocol": kind,
                        "handshake": verdict,
                        "packets": packets,
                        "bytes": {"c2s": tcp.sent.get("c2s", 0), "s2c": tcp.sent.get("s2c", 0)},
                        "start": tcp.first_time,
                        "duration": tcp.last_time - tcp.first_time,
                        "problem_count": total_problems,
                        "problems": problems,
                    }
                )
                + "\n"
            )
        lines = [f"connection {index}: {tcp.client} -> {tcp.server}  {kind}", f"  handshake: {verdict}"]
        for direction in ("c2s", "s2c"):
            by_type = ", ".join(f"{name} {n:,}" for name, n in packets[direction].items()) or "none"
            lines.append(f"  packets {direction}: {by_type}")
        lines.append(f"  bytes: c2s {tcp.sent.get('c2s', 0):,}, s2c {tcp.sent.get('s2c', 0):,}")
        lines.append(f"  duration: {tcp.last_time - tcp.first_time:.6f} s")
        lines.append(f"  problems: {total_problems:,}" if total_problems else "  problems: none")
        lines += [f"    {p}" for p in problems]
        if total_problems > len(problems):
            lines.append(f"    ... and {total_problems - len(problems):,} more")
        return "\n".join(lines) + "\n\n"

    def preamble(self, connections: int) -> None:
        capture = self.capture
        if self.as_json:
            for problem in capture.state.problems:
                self.out.write(
                    self.dumps({"kind": "error", "layer": "capture", "conn": None, "message": problem}) + "\n"
                )
            return
        self.out.write(
            f"{capture.name}: {capture.format}, {capture.frame_count} frames, {connections} TCP connections\n"
        )
        for problem in capture.state.problems:
            self.out.write(f"! capture: {problem}\n")
        self.out.write("\n")

    def close(self, connections: int) -> None:
        super().close(connections)
        ranked = sorted(self.topics.items(), key=lambda item: (-item[1][0], item[0]))
        out = self.out
        if self.as_json:
            for topic, (messages, size) in ranked:
                out.write(
                    self.dumps({"kind": "topic_summary", "topic": topic, "messages": messages, "bytes": size})
                    + "\n"
                )
            if self.other_topics[0]:
                messages, size = self.other_topics
                out.write(
                    self.dumps({"kind": "topic_summary", "topic": None, "messages": messages, "bytes": size})
                    + "\n"
                )
        else:
            out.write("topics:\n" if ranked else "topics: none\n")
            for topic, (messages, size) in ranked:
                out.write(f"  {messages:>10,} messages {size:>14,} B  {topic}\n")
            if self.other_topics[0]:
                messages, size = self.other_topics
                out.write(f"  {messages:>10,} messages {size:>14,} B  (other topics)\n")
        out.flush()


def make_output(
    out: TextIO, capture: CaptureFile, narrowing: Narrowing, *, json: bool, summary: bool
) -> Output:
    """The output the options ask for."""
    if summary:
        return SummaryOutput(out, capture, narrowing, as_json=json)
    if json:
        from explorer.cli.decodejson import JsonOutput  # imports this module

        return JsonOutput(out, capture, narrowing)
    return TextOutput(out, capture, narrowing)
