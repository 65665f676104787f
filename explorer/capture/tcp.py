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

Client and server: the sender of the SYN (without ACK) is the client; failing that
the receiver of a SYN-ACK; failing both (capture started mid-connection) the side
with the higher port is taken as the client (servers listen on the lower, fixed
port), and with equal ports the side that sent first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from explorer.capture.layers import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, TcpSegment
from explorer.model.events import Direction

__all__ = ["Chunk", "Endpoint", "Gap", "RoleEvidence", "TcpConnection", "TcpReassembler"]

_MOD = 1 << 32
_HALF = 1 << 31
# Delivered bytes kept to compare retransmissions with: far more than any TCP window.
_KEEP = 8 * 1024 * 1024

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


@dataclass(slots=True)
class _Half:
    """One direction of a flow, identified by its sender."""

    base: int | None = None  # absolute sequence number of stream offset 0
    syn_seen: bool = False
    delivered: int = 0
    data: bytearray = field(default_factory=bytearray)  # recent delivered bytes, for overlap checks
    data_start: int = 0  # stream offset of data[0]
    gap_ranges: list[tuple[int, int]] = field(default_factory=list)
    pending: list[tuple[int, int, bytes]] = field(default_factory=list)  # (start, arrival, bytes)
    fin_at: int | None = None
    ended: float | None = None
    acked: int | None = None  # highest offset the peer acknowledged
    sent_first: int | None = None  # arrival number of its first segment


class _Flow:
    """Reassembly state for one connection; sides are 0 (first seen sender) and 1."""

    def __init__(self, a: Endpoint, b: Endpoint, time: float) -> None:
        self.ends = (a, b)
        self.halves = (_Half(), _Half())
        self.out: list[tuple[int, float, bytes]] = []
        self.gaps: list[tuple[int, int, int, int, float]] = []  # side, offset, length, chunk, time
        self.problems: list[str] = []
        self.syn_from: int | None = None
        self.syn_isn: int | None = None
        self.synack_from: int | None = None
        self.reset = False
        self.first_time = time
        self.last_time = time
        self.arrivals = 0

    def closed(self) -> bool:
        return self.reset or all(h.ended is not None for h in self.halves)

    def add(self, side: int, seg: TcpSegment) -> None:
        self.last_time = seg.time
        self.arrivals += 1
        half = self.halves[side]
        if half.sent_first is None:
            half.sent_first = self.arrivals
        syn = bool(seg.flags & TCP_SYN)
        if syn:
            if seg.flags & TCP_ACK:
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
        if seg.payload:
            self._data(side, start, seg)
        if seg.truncated:
            self.problems.append(f"frame {seg.number}: the capture cut this segment short (snap length)")
        if seg.flags & TCP_FIN:
            half.fin_at = start + len(seg.payload)
            self._check_end(side, seg.time)
        if seg.flags & TCP_RST:
            self.reset = True
            for h in self.halves:
                if h.ended is None:
                    h.ended = seg.time
        if seg.flags & TCP_ACK:
            other = self.halves[1 - side]
            if other.base is not None:
                acked = _unwrap((seg.ack - other.base) % _MOD, other.delivered)
                if other.fin_at is not None and acked > other.fin_at:
                    acked = other.fin_at  # the FIN's own sequence number carries no byte
                if other.acked is None or acked > other.acked:
                    other.acked = acked
                self._skip_acknowledged_gap(1 - side, seg.time)

    def _data(self, side: int, start: int, seg: TcpSegment) -> None:
        half = self.halves[side]
        if half.fin_at is not None and start + len(seg.payload) > half.fin_at:
            self.problems.append(f"frame {seg.number}: data after the sender's FIN")
        if len(seg.payload) == 1 and start == half.delivered - 1:
            return  # a keep-alive probe: one old byte, often garbage (RFC 9293 §3.8.4)
        if start > half.delivered:
            half.pending.append((start, self.arrivals, seg.payload))
            self._skip_acknowledged_gap(side, seg.time)
            return
        self._deliver(side, start, seg.payload, seg.time, seg.number)
        self._drain(side, seg.time)

    def _deliver(self, side: int, start: int, payload: bytes, time: float, frame: int | None) -> None:
        """Deliver ``payload`` at ``start`` (<= delivered): compare the overlap, append the rest."""
        half = self.halves[side]
        end = start + len(payload)
        if end <= 0:
            self.problems.append(
                f"frame {frame}: bytes before the first captured segment of this direction ignored"
            )
            return
        if any(lo <= start and end <= hi for lo, hi in half.gap_ranges):
            where = f"frame {frame}" if frame is not None else "a buffered segment"
            self.problems.append(f"{where}: bytes already reported missing arrived late and were not used")
            return
        overlap_from = max(start, half.data_start)
        overlap_to = min(end, half.delivered)
        if overlap_to > overlap_from:
            old = bytes(half.data[overlap_from - half.data_start : overlap_to - half.data_start])
            new = payload[overlap_from - start : overlap_to - start]
            if old != new:
                where = f"frame {frame}" if frame is not None else "a buffered segment"
                self.problems.append(
                    f"{where}: retransmitted bytes at offset {overlap_from} differ from the first copy; "
                    "the first copy is kept"
                )
        if end > half.delivered:
            fresh = payload[half.delivered - start :]
            half.data += fresh
            half.delivered = end
            self.out.append((side, time, fresh))
            if len(half.data) > 2 * _KEEP:
                cut = len(half.data) - _KEEP
                del half.data[:cut]
                half.data_start += cut
        self._check_end(side, time)

    def _drain(self, side: int, time: float) -> None:
        half = self.halves[side]
        while half.pending:
            ready = [p for p in half.pending if p[0] <= half.delivered]
            if not ready:
                return
            best = min(ready, key=lambda p: (p[0], p[1]))
            half.pending.remove(best)
            self._deliver(side, best[0], best[2], time, None)

    def _skip_acknowledged_gap(self, side: int, time: float) -> None:
        half = self.halves[side]
        while half.pending and half.acked is not None:
            first = min(p[0] for p in half.pending)
            if first <= half.delivered or half.acked < first:
                return
            self._gap(side, first, time)
            self._drain(side, time)

    def _gap(self, side: int, until: int, time: float) -> None:
        half = self.halves[side]
        length = until - half.delivered
        self.gaps.append((side, half.delivered, length, len(self.out), time))
        half.gap_ranges.append((half.delivered, until))
        half.data = bytearray()  # nothing before the gap is compared any more
        half.data_start = until
        half.delivered = until

    def _check_end(self, side: int, time: float) -> None:
        half = self.halves[side]
        if half.ended is None and half.fin_at is not None and half.delivered >= half.fin_at:
            half.ended = time

    def finish(self) -> None:
        """End of capture: whatever still waits behind a hole is delivered after a gap."""
        for side, half in enumerate(self.halves):
            while half.pending:
                first = min(p[0] for p in half.pending)
                if first > half.delivered:
                    self._gap(side, first, self.last_time)
                self._drain(side, self.last_time)
            if half.acked is not None and half.acked > half.delivered:
                self._gap(side, half.acked, self.last_time)

    def build(self, index: int) -> TcpConnection:
        evidence: RoleEvidence
        if self.syn_from is not None:
            client, evidence = self.syn_from, "syn"
        elif self.synack_from is not None:
            client, evidence = 1 - self.synack_from, "syn-ack"
        elif self.ends[0].port != self.ends[1].port:
            client, evidence = (0 if self.ends[0].port > self.ends[1].port else 1), "port"
        else:
            first = [h.sent_first or 0 for h in self.halves]
            client, evidence = (0 if first[0] <= first[1] else 1), "first-sender"
        names: tuple[Direction, Direction] = ("c2s", "s2c") if client == 0 else ("s2c", "c2s")
        conn = TcpConnection(
            index=index,
            client=self.ends[client],
            server=self.ends[1 - client],
            reset=self.reset,
            role_evidence=evidence,
            first_time=self.first_time,
            last_time=self.last_time,
        )
        conn.chunks = [Chunk(names[side], time, data) for side, time, data in self.out]
        conn.gaps = [Gap(names[s], off, length, pos, t) for s, off, length, pos, t in self.gaps]
        for side, half in enumerate(self.halves):
            if half.ended is not None:
                conn.ended[names[side]] = half.ended
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
        for gap in conn.gaps:
            conn.problems.append(
                f"{gap.length} bytes missing from the {gap.direction} stream at offset {gap.offset} "
                "(segments not captured)"
            )
        return conn


class TcpReassembler:
    """Feed TCP segments in capture order with :meth:`add`, then call :meth:`connections`."""

    def __init__(self) -> None:
        self._current: dict[tuple[str, int, str, int], _Flow] = {}
        self._all: list[_Flow] = []

    def add(self, seg: TcpSegment) -> None:
        forward = (seg.src, seg.sport) <= (seg.dst, seg.dport)
        key = (
            (seg.src, seg.sport, seg.dst, seg.dport) if forward else (seg.dst, seg.dport, seg.src, seg.sport)
        )
        flow = self._current.get(key)
        is_syn = seg.flags & (TCP_SYN | TCP_ACK) == TCP_SYN
        if flow is not None and is_syn and flow.syn_isn != seg.seq:
            flow = None  # a new connection reusing the 4-tuple (not a retransmitted SYN)
        if flow is None:
            flow = _Flow(Endpoint(seg.src, seg.sport), Endpoint(seg.dst, seg.dport), seg.time)
            self._current[key] = flow
            self._all.append(flow)
        first = flow.ends[0]
        flow.add(0 if first.port == seg.sport and first.address == seg.src else 1, seg)

    def extend(self, segments: Iterable[TcpSegment]) -> None:
        for seg in segments:
            self.add(seg)

    def connections(self) -> list[TcpConnection]:
        """Finish every flow and return the connections in order of their first segment."""
        result = []
        for index, flow in enumerate(self._all):
            flow.finish()
            result.append(flow.build(index))
        return result
