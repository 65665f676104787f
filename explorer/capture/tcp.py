"""TCP reassembly: segments in capture order -> one ordered byte stream per direction.

Rules (the ones Wireshark applies by default, written down so they can be tested):

- Connections are told apart by their 4-tuple; a SYN with a new initial sequence
  number on a 4-tuple already in use starts a new connection (port reuse).
- Sequence numbers are relative to the SYN's (RFC 9293 §3.4: the SYN occupies one
  sequence number). Without a SYN (the capture started mid-stream) the first segment
  seen from that side sets offset 0, and the problem is noted.
- Sequence arithmetic is modulo 2**32 (RFC 9293 §3.4.1): every sequence number is
  unwrapped to the offset nearest the bytes already delivered, so a stream may cross
  the wrap and may be longer than 4 GiB.
- Out-of-order segments wait until the bytes before them arrive. Retransmitted and
  overlapping bytes are compared with the first copy; the first copy wins, and a
  conflicting copy is reported.
- A hole is declared lost (a *gap*) when the peer acknowledges bytes beyond it, or
  at the end of the capture. The gap is recorded with its position among the
  chunks; the bytes are never invented.
- FIN ends a direction once every byte before it has arrived; RST ends both.

Bounded memory, so that a capture of any size can be read in one pass: delivered bytes
are handed on at once (``_Flow.out``, drained by the caller) and only the last
:data:`KEEP` bytes of each direction are kept to compare retransmissions with; a hole
waits for its bytes at most :data:`MAX_PENDING` buffered bytes or :data:`HOLE_WAIT`
seconds of capture time, then it is declared a gap; a closed connection is finished
and released :data:`LINGER` seconds (capture time) after its last segment, an idle
one after :data:`IDLE` seconds.

Client and server: the sender of the SYN (without ACK) is the client; failing that
the receiver of a SYN-ACK; failing both (capture started mid-connection) the side
with the higher port is taken as the client (servers listen on the lower, fixed
port), and with equal ports the side that sent first.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from explorer.capture.layers import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, TcpSegment
from explorer.model.events import Direction

__all__ = [
    "HOLE_WAIT",
    "IDLE",
    "KEEP",
    "LINGER",
    "MAX_PENDING",
    "Chunk",
    "Endpoint",
    "Gap",
    "GapMark",
    "RoleEvidence",
    "TcpConnection",
    "TcpReassembler",
]

_MOD = 1 << 32
_HALF = 1 << 31
KEEP = 256 * 1024  # delivered bytes kept per direction to compare retransmissions with
MAX_PENDING = 4 * 1024 * 1024  # out-of-order bytes waiting behind one hole
HOLE_WAIT = 60.0  # seconds of capture time a hole waits for its bytes
LINGER = 60.0  # seconds a closed connection keeps taking late segments (cf. TIME-WAIT)
IDLE = 3600.0  # seconds without a segment after which an open connection is finished
_MAX_PROBLEMS = 200  # sentences kept per connection; the rest are counted
_EXPIRE_EVERY = 8192  # segments between two looks for connections to release

RoleEvidence = Literal["syn", "syn-ack", "port", "first-sender"]


@dataclass(slots=True, frozen=True)
class Endpoint:
    """One side of a connection: IP address (text form) and port."""

    address: str
    port: int

    def __str__(self) -> str:
        if ":" in self.address:
            return f"[{self.address}]:{self.port}"
        return f"{self.address}:{self.port}"


class Chunk(NamedTuple):
    """Bytes that became available in one direction, in capture order.

    ``time`` is the capture time of the segment that made them contiguous (for a
    segment that waited for an earlier one, the time of that earlier one's arrival).
    """

    direction: Direction
    time: float
    data: bytes


@dataclass(slots=True, frozen=True)
class Gap:
    """Bytes the capture lacks in one direction.

    ``offset`` is where they start in that direction's stream, ``length`` how many are
    missing, and ``chunk_index`` the index in ``TcpConnection.chunks`` of the first
    chunk after them (``len(chunks)`` when nothing followed). A decoder fed across a
    gap would see bytes that do not follow each other, so consumers stop or resync.
    """

    direction: Direction
    offset: int
    length: int
    chunk_index: int
    time: float


@dataclass(slots=True)
class TcpConnection:
    """One reassembled TCP connection.

    ``chunks`` holds both directions interleaved as the capture shows them, so a
    two-direction decoder can be fed in that order. ``ended`` maps a direction to the
    time it was closed (FIN reached, or RST); a direction missing from it was still
    open when the capture ended.
    """

    index: int
    client: Endpoint
    server: Endpoint
    chunks: list[Chunk] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    ended: dict[Direction, float] = field(default_factory=dict)
    sent: dict[Direction, int] = field(default_factory=dict)  # stream bytes each way, gaps included
    reset: bool = False
    role_evidence: RoleEvidence = "syn"
    first_time: float = 0.0
    last_time: float = 0.0

    def stream(self, direction: Direction) -> bytes:
        """Every captured byte of one direction, concatenated (gaps are simply absent)."""
        return b"".join(c.data for c in self.chunks if c.direction == direction)


def _unwrap(relative32: int, reference: int) -> int:
    """Map a 32-bit offset to the unwrapped offset nearest ``reference`` (RFC 9293 §3.4.1)."""
    value = reference + ((relative32 - reference) % _MOD)
    if value - reference >= _HALF:
        value -= _MOD
    return value


class GapMark(NamedTuple):
    """In ``_Flow.out``: bytes the capture lacks, at this point of the chunk order."""

    offset: int
    length: int


@dataclass(slots=True)
class _Half:
    """One direction of a flow, identified by its sender."""

    base: int | None = None  # absolute sequence number of stream offset 0
    syn_seen: bool = False
    delivered: int = 0
    recent: deque[tuple[int, bytes]] = field(default_factory=deque)  # (offset, bytes) delivered lately
    recent_size: int = 0
    gap_ranges: list[tuple[int, int]] = field(default_factory=list)
    pending: list[tuple[int, int, bytes]] = field(default_factory=list)  # heap of (start, arrival, bytes)
    pending_size: int = 0
    hole_since: float = 0.0  # capture time the oldest pending segment arrived
    fin_at: int | None = None
    ended: float | None = None
    acked: int | None = None  # highest offset the peer acknowledged
    sent_first: int | None = None  # arrival number of its first segment


class _Flow:
    """Reassembly state for one connection; sides are 0 (first seen sender) and 1.

    ``out`` receives ``(side, time, bytes)`` for delivered bytes and ``(side, time,
    GapMark)`` for a declared gap, in order; a streaming caller takes them as they come,
    a whole-capture caller leaves them for :meth:`build`. ``user`` is the caller's.
    """

    __slots__ = (
        "arrivals",
        "closed_at",
        "ends",
        "first_time",
        "gaps",
        "halves",
        "index",
        "last_time",
        "out",
        "problems",
        "problems_dropped",
        "released",
        "reset",
        "syn_from",
        "syn_isn",
        "synack_from",
        "user",
    )

    def __init__(self, index: int, a: Endpoint, b: Endpoint, time: float) -> None:
        self.index = index
        self.ends = (a, b)
        self.halves = (_Half(), _Half())
        self.out: list[tuple[int, float, bytes | GapMark]] = []
        self.gaps: list[tuple[int, int, int]] = []  # side, offset, length
        self.problems: list[str] = []
        self.problems_dropped = 0
        self.syn_from: int | None = None
        self.syn_isn: int | None = None
        self.synack_from: int | None = None
        self.reset = False
        self.first_time = time
        self.last_time = time
        self.arrivals = 0
        self.closed_at: float | None = None
        self.released = False  # finished and handed out: no segment is added any more
        self.user: object = None

    def problem(self, text: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.problems_dropped += 1

    def closed(self) -> bool:
        return self.reset or all(h.ended is not None for h in self.halves)

    def add(self, side: int, seg: TcpSegment) -> None:
        time = seg.time
        self.last_time = time
        self.arrivals += 1
        half = self.halves[side]
        flags = seg.flags
        payload = seg.payload
        base = half.base
        if (
            flags & 0x17 == TCP_ACK  # ACK only, no SYN, FIN or RST
            and base is not None
            and not half.pending
            and not half.gap_ranges
            and half.fin_at is None
            and not seg.truncated
        ):
            # The common case: data (or a bare ACK) exactly where the stream is.
            delivered = half.delivered
            start = delivered + ((seg.seq - base - delivered) % _MOD)
            if start - delivered >= _HALF:
                start -= _MOD
            if payload and start == delivered:
                size = len(payload)
                half.delivered = delivered + size
                recent = half.recent
                recent.append((delivered, payload))
                half.recent_size += size
                while half.recent_size > KEEP and len(recent) > 1:
                    half.recent_size -= len(recent.popleft()[1])
                self.out.append((side, time, payload))
            elif payload:
                self._data(side, start, seg)
            other = self.halves[1 - side]
            if other.base is not None:
                acked = _unwrap((seg.ack - other.base) % _MOD, other.delivered)
                if other.fin_at is not None and acked > other.fin_at:
                    acked = other.fin_at
                if other.acked is None or acked > other.acked:
                    other.acked = acked
                if other.pending:
                    self._skip_acknowledged_gap(1 - side, time)
            if half.sent_first is None:
                half.sent_first = self.arrivals
            return
        if half.sent_first is None:
            half.sent_first = self.arrivals
        syn = bool(flags & TCP_SYN)
        if syn:
            if flags & TCP_ACK:
                self.synack_from = side
            else:
                self.syn_from = side
                self.syn_isn = seg.seq
            if not half.syn_seen and half.delivered == 0 and not half.pending:
                half.base = (seg.seq + 1) % _MOD
                half.syn_seen = True
        if half.base is None:
            half.base = seg.seq
        start = _unwrap((seg.seq + (1 if syn else 0) - half.base) % _MOD, half.delivered)
        if payload:
            self._data(side, start, seg)
        if seg.truncated:
            self.problem(f"frame {seg.number}: the capture cut this segment short (snap length)")
        if flags & TCP_FIN:
            half.fin_at = start + len(payload)
            self._check_end(side, time)
        if flags & TCP_RST:
            self.reset = True
            for h in self.halves:
                if h.ended is None:
                    h.ended = time
        if flags & TCP_ACK:
            other = self.halves[1 - side]
            if other.base is not None:
                acked = _unwrap((seg.ack - other.base) % _MOD, other.delivered)
                if other.fin_at is not None and acked > other.fin_at:
                    acked = other.fin_at  # the FIN's own sequence number carries no byte
                if other.acked is None or acked > other.acked:
                    other.acked = acked
                self._skip_acknowledged_gap(1 - side, time)
        if self.closed_at is None and self.closed():
            self.closed_at = time

    def fast_data(self, side: int, numbers: tuple[int, int], payload: bytes, time: float) -> bool:
        """The common case of :meth:`add` without a ``TcpSegment``: an ACK (no SYN, FIN
        or RST, the caller checked) carrying ``payload`` exactly where the stream is.
        Returns False, having changed nothing, for anything else. The payload is not
        put in ``out``: the caller delivers it (``out`` may still receive a gap of the
        other direction, after it)."""
        half = self.halves[side]
        base = half.base
        if (
            base is None
            or half.pending
            or half.gap_ranges
            or half.fin_at is not None
            or half.sent_first is None
            or self.closed_at is not None
            or not payload
        ):
            return False
        delivered = half.delivered
        seq, ack = numbers
        if (seq - base - delivered) % _MOD:
            return False
        self.last_time = time
        self.arrivals += 1
        size = len(payload)
        half.delivered = delivered + size
        recent = half.recent
        recent.append((delivered, payload))
        half.recent_size += size
        while half.recent_size > KEEP and len(recent) > 1:
            half.recent_size -= len(recent.popleft()[1])
        self.fast_ack(side, ack, time)
        return True

    def fast_ack(self, side: int, ack: int, time: float) -> None:
        """The acknowledgement number of a segment from ``side`` that :meth:`fast_data`
        (or a caller's run after it, see :meth:`fast_run`) took: what the peer's bytes
        are known to have reached; a hole there becomes a gap (in ``out``)."""
        other = self.halves[1 - side]
        if other.base is not None:
            acked = _unwrap((ack - other.base) % _MOD, other.delivered)
            if other.fin_at is not None and acked > other.fin_at:
                acked = other.fin_at
            if other.acked is None or acked > other.acked:
                other.acked = acked
            if other.pending:
                self._skip_acknowledged_gap(1 - side, time)

    def fast_run(self, side: int, reads: list[tuple[bytes, float]], first: int = 0) -> None:
        """Account for segments a caller took after one :meth:`fast_data` accepted the
        first of them: each a plain ACK carrying ``(payload, time)`` exactly where the
        previous one ended, with nothing else of this flow in between (the caller gave
        their acknowledgement numbers to :meth:`fast_ack` when they changed). The same
        state as :meth:`fast_data` for each in turn, in one step; ``reads[:first]`` were
        accounted already."""
        if len(reads) <= first:
            return
        half = self.halves[side]
        data = b"".join([payload for payload, _time in reads[first:]])
        self.arrivals += len(reads) - first
        self.last_time = reads[-1][1]
        delivered = half.delivered
        half.delivered = delivered + len(data)
        recent = half.recent
        recent.append((delivered, data))
        half.recent_size += len(data)
        while half.recent_size > KEEP and len(recent) > 1:
            half.recent_size -= len(recent.popleft()[1])

    def _data(self, side: int, start: int, seg: TcpSegment) -> None:
        half = self.halves[side]
        if half.fin_at is not None and start + len(seg.payload) > half.fin_at:
            self.problem(f"frame {seg.number}: data after the sender's FIN")
        if len(seg.payload) == 1 and start == half.delivered - 1:
            return  # a keep-alive probe: one old byte, often garbage (RFC 9293 §3.8.4)
        if start > half.delivered:
            if not half.pending:
                half.hole_since = seg.time
            heapq.heappush(half.pending, (start, self.arrivals, seg.payload))
            half.pending_size += len(seg.payload)
            self._skip_acknowledged_gap(side, seg.time)
            if half.pending and (half.pending_size > MAX_PENDING or seg.time - half.hole_since > HOLE_WAIT):
                # The hole is not going to fill: say so, and go on after it.
                self._gap(side, half.pending[0][0], seg.time)
                self._drain(side, seg.time)
            return
        self._deliver(side, start, seg.payload, seg.time, seg.number)
        self._drain(side, seg.time)

    def _recent_bytes(self, half: _Half, lo: int, hi: int) -> bytes:
        """Delivered bytes ``lo..hi`` of this direction, as far as they are still kept."""
        out = []
        for offset, data in half.recent:
            end = offset + len(data)
            if end <= lo or offset >= hi:
                continue
            out.append(data[max(lo, offset) - offset : min(hi, end) - offset])
        return b"".join(out)

    def _deliver(self, side: int, start: int, payload: bytes, time: float, frame: int | None) -> None:
        """Deliver ``payload`` at ``start`` (<= delivered): compare the overlap, append the rest."""
        half = self.halves[side]
        end = start + len(payload)
        if end <= 0:
            self.problem(f"frame {frame}: bytes before the first captured segment of this direction ignored")
            return
        if any(lo <= start and end <= hi for lo, hi in half.gap_ranges):
            where = f"frame {frame}" if frame is not None else "a buffered segment"
            self.problem(f"{where}: bytes already reported missing arrived late and were not used")
            return
        kept_from = half.recent[0][0] if half.recent else half.delivered
        overlap_from = max(start, kept_from)
        overlap_to = min(end, half.delivered)
        if overlap_to > overlap_from:
            old = self._recent_bytes(half, overlap_from, overlap_to)
            new = payload[overlap_from - start : overlap_to - start]
            if old != new:
                where = f"frame {frame}" if frame is not None else "a buffered segment"
                self.problem(
                    f"{where}: retransmitted bytes at offset {overlap_from} differ from the first copy; "
                    "the first copy is kept"
                )
        if end > half.delivered:
            fresh = payload[half.delivered - start :]
            half.recent.append((half.delivered, fresh))
            half.recent_size += len(fresh)
            while half.recent_size > KEEP and len(half.recent) > 1:
                half.recent_size -= len(half.recent.popleft()[1])
            half.delivered = end
            self.out.append((side, time, fresh))
        self._check_end(side, time)

    def _drain(self, side: int, time: float) -> None:
        half = self.halves[side]
        pending = half.pending
        while pending and pending[0][0] <= half.delivered:
            start, _arrival, payload = heapq.heappop(pending)
            half.pending_size -= len(payload)
            self._deliver(side, start, payload, time, None)
        if pending:
            half.hole_since = time

    def _skip_acknowledged_gap(self, side: int, time: float) -> None:
        half = self.halves[side]
        while half.pending and half.acked is not None:
            first = half.pending[0][0]
            if first <= half.delivered or half.acked < first:
                return
            self._gap(side, first, time)
            self._drain(side, time)

    def _gap(self, side: int, until: int, time: float) -> None:
        half = self.halves[side]
        length = until - half.delivered
        if len(self.gaps) < _MAX_PROBLEMS:
            self.gaps.append((side, half.delivered, length))
        self.out.append((side, time, GapMark(half.delivered, length)))
        half.gap_ranges.append((half.delivered, until))
        del half.gap_ranges[:-64]  # the latest holes are the ones late bytes may belong to
        half.recent.clear()  # nothing before the gap is compared any more
        half.recent_size = 0
        half.delivered = until

    def _check_end(self, side: int, time: float) -> None:
        half = self.halves[side]
        if half.ended is None and half.fin_at is not None and half.delivered >= half.fin_at:
            half.ended = time

    def finish(self) -> None:
        """End of capture: whatever still waits behind a hole is delivered after a gap."""
        for side, half in enumerate(self.halves):
            while half.pending:
                first = half.pending[0][0]
                if first > half.delivered:
                    self._gap(side, first, self.last_time)
                self._drain(side, self.last_time)
            if half.acked is not None and half.acked > half.delivered:
                self._gap(side, half.acked, self.last_time)

    def roles(self) -> tuple[int, RoleEvidence]:
        """Which side is the client, and why (see the module doc)."""
        if self.syn_from is not None:
            return self.syn_from, "syn"
        if self.synack_from is not None:
            return 1 - self.synack_from, "syn-ack"
        if self.ends[0].port != self.ends[1].port:
            return (0 if self.ends[0].port > self.ends[1].port else 1), "port"
        first = [h.sent_first or 0 for h in self.halves]
        return (0 if first[0] <= first[1] else 1), "first-sender"

    def names(self) -> tuple[Direction, Direction]:
        """The direction each side sends, ``names()[side]``."""
        return ("c2s", "s2c") if self.roles()[0] == 0 else ("s2c", "c2s")

    def connection(self) -> TcpConnection:
        """The connection without its chunks: endpoints, endings, problems (after :meth:`finish`)."""
        client, evidence = self.roles()
        names: tuple[Direction, Direction] = ("c2s", "s2c") if client == 0 else ("s2c", "c2s")
        conn = TcpConnection(
            index=self.index,
            client=self.ends[client],
            server=self.ends[1 - client],
            reset=self.reset,
            role_evidence=evidence,
            first_time=self.first_time,
            last_time=self.last_time,
        )
        for side, half in enumerate(self.halves):
            if half.ended is not None:
                conn.ended[names[side]] = half.ended
            conn.sent[names[side]] = half.delivered
        if evidence not in ("syn", "syn-ack"):
            how = "the higher port" if evidence == "port" else "the first sender"
            conn.problems.append(
                f"no SYN captured: the capture starts in the middle of this connection; "
                f"the client was taken to be {how}"
            )
        else:
            for side, half in enumerate(self.halves):
                if not half.syn_seen and (half.delivered or half.pending):
                    conn.problems.append(f"no SYN captured for the {names[side]} direction")
        conn.problems.extend(self.problems)
        if self.problems_dropped:
            conn.problems.append(f"{self.problems_dropped} more problems like the ones above")
        for side, offset, length in self.gaps:
            conn.problems.append(
                f"{length} bytes missing from the {names[side]} stream at offset {offset} "
                "(segments not captured)"
            )
        return conn

    def build(self) -> TcpConnection:
        """The whole connection, its chunks and gaps from ``out`` (after :meth:`finish`)."""
        conn = self.connection()
        names = self.names()
        chunks: list[Chunk] = []
        for side, time, item in self.out:
            if type(item) is GapMark:
                conn.gaps.append(Gap(names[side], item.offset, item.length, len(chunks), time))
            else:
                assert isinstance(item, bytes)
                chunks.append(Chunk(names[side], time, item))
        conn.chunks = chunks
        self.out = []
        return conn


class TcpReassembler:
    """Feed TCP segments in capture order with :meth:`add`.

    Whole capture: call :meth:`connections` at the end. Streaming (``streaming=True``):
    after each :meth:`add`, take the returned flow's ``out``; flows done with (closed
    and lingered, or idle) are moved to ``finished`` for the caller to take, and
    :meth:`close` finishes the rest at the end of the capture.
    """

    def __init__(self, *, streaming: bool = False) -> None:
        self._current: dict[tuple[str, int, str, int], _Flow] = {}
        self._all: list[_Flow] = []
        self._streaming = streaming
        self._count = 0
        self._segments = 0
        self.finished: list[_Flow] = []

    def add(self, seg: TcpSegment) -> _Flow:
        src, sport, dst, dport = seg.src, seg.sport, seg.dst, seg.dport
        key = (src, sport, dst, dport) if (src, sport) <= (dst, dport) else (dst, dport, src, sport)
        flow = self._current.get(key)
        if flow is not None and seg.flags & (TCP_SYN | TCP_ACK) == TCP_SYN and flow.syn_isn != seg.seq:
            # A new connection reusing the 4-tuple (not a retransmitted SYN).
            if self._streaming:
                self._release(key, flow)
            flow = None
        if flow is None:
            flow = _Flow(self._count, Endpoint(src, sport), Endpoint(dst, dport), seg.time)
            self._count += 1
            self._current[key] = flow
            if not self._streaming:
                self._all.append(flow)
        first = flow.ends[0]
        flow.add(0 if first.port == sport and first.address == src else 1, seg)
        if self._streaming:
            self._segments += 1
            if self._segments % _EXPIRE_EVERY == 0:
                self._expire(seg.time)
        return flow

    def _release(self, key: tuple[str, int, str, int], flow: _Flow) -> None:
        if self._current.get(key) is flow:
            del self._current[key]
        flow.released = True
        flow.finish()
        self.finished.append(flow)

    def counted(self, now: float) -> None:
        """Segments were taken by a caller's own fast path (:meth:`_Flow.fast_data`),
        which calls this every few thousand: time to release connections done with."""
        self._expire(now)

    def _expire(self, now: float) -> None:
        for key, flow in list(self._current.items()):
            idle = now - flow.last_time
            if idle > IDLE or (flow.closed_at is not None and idle > LINGER):
                self._release(key, flow)

    def extend(self, segments: Iterable[TcpSegment]) -> None:
        for seg in segments:
            self.add(seg)

    def close(self) -> list[_Flow]:
        """Streaming: finish every flow still open; return them with ``finished``, in
        order of their first segment."""
        for key, flow in list(self._current.items()):
            self._release(key, flow)
        done = sorted(self.finished, key=lambda f: f.index)
        self.finished = []
        return done

    def connections(self) -> list[TcpConnection]:
        """Finish every flow and return the connections in order of their first segment."""
        result = []
        for flow in self._all:
            flow.finish()
            result.append(flow.build())
        return result
