"""The trace: a bounded buffer of events, their JSON form, and exports (JSONL, pcapng).

:class:`TraceBuffer` keeps the latest events for the views, dropping the oldest (and
counting them) so a firehose cannot exhaust memory. The JSON form of events is shared
by ``decode --json``, ``sub --trace --json`` and :func:`export_jsonl`.
:func:`export_pcapng` writes a trace as a capture Wireshark opens (the synthesis
lives in :mod:`explorer.capture.synthesis`).

JSON: one function per concern: :func:`packet_to_json` for an MQTT packet,
:func:`event_to_json` for any trace event. Bytes become lowercase hex. Secrets never
leave: a CONNECT password is written as ``"***"`` (with ``password_present``), HTTP
``Authorization`` credentials are blanked, and the bytes of a CONNECT inside a frame
payload are replaced by ``*`` (0x2A) when the caller has not supplied an exactly
masked payload (:func:`masked_frame_payloads` computes those from a whole trace).
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from enum import IntEnum
from pathlib import Path
from typing import IO, Any, BinaryIO, overload

from explorer.errors import ExplorerError
from explorer.masking import SECRET_MARK, blank_span, mask_credentials, mask_header_values
from explorer.model.events import (
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    MessageReceived,
    PacketEvent,
    StateChanged,
    TraceEvent,
)
from explorer.mqtt.describe import describe
from explorer.mqtt.packets import Connect, Packet, Properties, Publish, Will

__all__ = [
    "EVENT_KINDS",
    "TraceBuffer",
    "event_to_json",
    "export_jsonl",
    "export_pcapng",
    "masked_frame_payloads",
    "packet_to_json",
    "properties_to_json",
]

EVENT_KINDS: dict[type, str] = {
    HandshakeRequest: "handshake_request",
    HandshakeResponse: "handshake_response",
    FrameEvent: "frame",
    PacketEvent: "packet",
    StateChanged: "state",
    MessageReceived: "message",
    ErrorReported: "error",
}

_CONNECT_FIRST_BYTE = 0x10
FrameKey = tuple[int, str, int]


def _value(value: Any) -> Any:
    """A JSON-ready form of a field value (IntEnums as their number)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, IntEnum):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Properties):
        return properties_to_json(value)
    if isinstance(value, tuple | list):
        return [_value(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)


def properties_to_json(props: Properties) -> dict[str, Any]:
    """Only the properties present (MQTT 5.0 §2.2.2); user properties as [name, value] pairs."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(props):
        value = getattr(props, f.name)
        if value is None or value == ():
            continue
        out[f.name] = _value(value)
    return out


def _reason(code: IntEnum | int) -> dict[str, Any]:
    name = code.name.lower() if isinstance(code, IntEnum) else None
    return {"value": int(code), "name": name}


def packet_to_json(packet: Packet, raw: bytes | None = None) -> dict[str, Any]:
    """Every field of ``packet`` plus ``type``, ``summary``, and ``flags`` when ``raw`` is given.

    A PUBLISH carries ``payload_length`` and ``payload_hex``; a CONNECT's password is
    ``"***"`` when present (never its value).
    """
    out: dict[str, Any] = {"type": packet.TYPE.name, "summary": describe(packet)}
    if raw:
        out["flags"] = raw[0] & 0x0F
        out["length"] = len(raw)
    for f in dataclasses.fields(packet):
        value = getattr(packet, f.name)
        if isinstance(packet, Connect) and f.name == "password":
            out["password"] = SECRET_MARK if value is not None else None
            out["password_present"] = value is not None
        elif isinstance(packet, Connect) and f.name == "will" and isinstance(value, Will):
            will = _value(value)
            will["payload_length"] = len(value.payload)
            out["will"] = will
        elif isinstance(packet, Publish) and f.name == "payload":
            out["payload_length"] = len(value)
            out["payload_hex"] = value.hex()
        elif f.name == "reason_code":
            out["reason_code"] = _reason(value)
        elif f.name == "reason_codes":
            out["reason_codes"] = [_reason(c) for c in value]
        else:
            out[f.name] = _value(value)
    return out


def _headers(headers: Iterable[tuple[str, str]]) -> list[list[str]]:
    return [[name, value] for name, value in mask_header_values(headers)]


def _conservative_frame_payload(event: FrameEvent) -> bytes:
    """Blank every byte of a CONNECT carried in this frame (all we can know from one frame).

    Packet 0 of the client's stream is the CONNECT [MQTT-3.1.0-1]; a later part that
    starts with a CONNECT header byte is blanked too.
    """
    payload = bytearray(event.payload)
    for part in event.parts:
        first = part.packet_start == 0 and part.frame_start < len(payload)
        connect_start = first and payload[part.frame_start] == _CONNECT_FIRST_BYTE
        if (event.direction == "c2s" and part.packet_no == 0) or connect_start:
            blank_span(payload, part.frame_start, part.frame_end)
    return bytes(payload)


def masked_frame_payloads(events: Iterable[TraceEvent]) -> dict[FrameKey, bytes]:
    """Frame payloads with exactly the CONNECT password bytes replaced by ``*``.

    Keys are ``(conn, direction, frame index)``; frames that carry no password are absent.
    Uses each CONNECT ``PacketEvent.raw`` (already masked) to overwrite the parts of
    that packet in the frames that carried them.
    """
    events = list(events)
    frames: dict[FrameKey, FrameEvent] = {}
    out: dict[FrameKey, bytes] = {}
    for event in events:
        if isinstance(event, FrameEvent):
            frames[(event.conn, event.direction, event.index)] = event
        elif isinstance(event, PacketEvent) and isinstance(event.packet, Connect) and event.packet.password:
            for index in event.frames:
                key = (event.conn, event.direction, index)
                frame = frames.get(key)
                if frame is None:
                    continue
                payload = bytearray(out.get(key, frame.payload))
                for part in frame.parts:
                    if part.packet_no == event.packet_no:
                        payload[part.frame_start : part.frame_end] = event.raw[
                            part.packet_start : part.packet_end
                        ]
                out[key] = bytes(payload)
    return out


def event_to_json(event: TraceEvent, *, frame_payload: bytes | None = None) -> dict[str, Any]:
    """One JSON object for one event, ``kind`` first.

    ``frame_payload`` (frames only) replaces the payload written: pass the value from
    :func:`masked_frame_payloads` for an exact password mask; without it, the bytes of a
    CONNECT in the frame are all blanked.
    """
    kind = EVENT_KINDS.get(type(event), type(event).__name__)
    out: dict[str, Any] = {"kind": kind, "seq": event.seq, "time": event.time, "conn": event.conn}
    if isinstance(event, HandshakeRequest | HandshakeResponse):
        for f in dataclasses.fields(event):
            if f.name in out:
                continue
            value = getattr(event, f.name)
            if f.name == "raw":
                out["raw_text"] = mask_credentials(value).decode("latin-1")
            elif f.name == "headers":
                out["headers"] = _headers(value)
            else:
                out[f.name] = _value(value)
    elif isinstance(event, FrameEvent):
        payload = frame_payload if frame_payload is not None else _conservative_frame_payload(event)
        out.update(
            dir=event.direction,
            index=event.index,
            stream_offset=event.stream_offset,
            opcode=event.opcode,
            fin=event.fin,
            rsv=(event.rsv1 << 2) | (event.rsv2 << 1) | int(event.rsv3),
            masked=event.masked,
            mask_key=event.mask_key.hex() if event.mask_key is not None else None,
            payload_length=event.payload_length,
            length_encoding=event.length_encoding,
            header_length=event.header_length,
            header_hex=event.header.hex(),
            payload_hex=payload.hex(),
            parts=[dataclasses.asdict(p) for p in event.parts],
            completed=list(event.completed),
        )
        if event.close_code is not None or event.close_reason is not None:
            out["close_code"] = event.close_code
            out["close_reason"] = event.close_reason
    elif isinstance(event, PacketEvent):
        out.update(
            dir=event.direction,
            packet_no=event.packet_no,
            stream_offset=event.stream_offset,
            frames=list(event.frames),
            raw_hex=event.raw.hex(),
            packet=packet_to_json(event.packet, event.raw),
        )
    elif isinstance(event, MessageReceived):
        out.update(
            topic=event.topic,
            qos=event.qos,
            retain=event.retain,
            payload_length=len(event.payload),
            payload_hex=event.payload.hex(),
        )
    elif isinstance(event, StateChanged):
        out.update(state=event.state, detail=event.detail)
    elif isinstance(event, ErrorReported):
        out.update(
            dir=event.direction,
            layer=event.layer,
            message=event.message,
            offset=event.offset,
            data_hex=event.data.hex(),
        )
    return out


def export_jsonl(events: Iterable[TraceEvent], path_or_file: str | Path | IO[str]) -> int:
    """Write one JSON object per line (:func:`event_to_json`); return the number written.

    Frame payloads get the exact CONNECT password mask from :func:`masked_frame_payloads`.

    Raises:
        ExplorerError: the file cannot be written.
    """
    events = list(events)
    masked = masked_frame_payloads(events)

    def lines() -> Iterator[str]:
        for event in events:
            payload = None
            if isinstance(event, FrameEvent):
                payload = masked.get((event.conn, event.direction, event.index), event.payload)
            yield json.dumps(event_to_json(event, frame_payload=payload)) + "\n"

    if isinstance(path_or_file, str | Path):
        try:
            with open(path_or_file, "w", encoding="utf-8") as out:
                out.writelines(lines())
        except OSError as exc:
            raise ExplorerError(f"cannot write {path_or_file}: {exc.strerror or exc}") from None
    else:
        path_or_file.writelines(lines())
    return len(events)


def export_pcapng(
    events: Iterable[TraceEvent],
    path: str | Path | BinaryIO,
    server: tuple[str, int] = ("127.0.0.1", 1883),
    *,
    servers: Mapping[int, tuple[str, int]] | None = None,
    seed: int | None = None,
    epoch_offset: float | None = None,
) -> int:
    """Write ``events`` as pcapng that Wireshark opens; return the number of connections.

    See :func:`explorer.capture.synthesis.export_pcapng` for the framing and the arguments.
    """
    from explorer.capture.synthesis import export_pcapng as _export

    return _export(events, path, server, servers=servers, seed=seed, epoch_offset=epoch_offset)


_EVENT_OVERHEAD = 200
"""Bytes counted for an event besides its byte fields (the object and its small fields)."""


def _event_size(event: TraceEvent) -> int:
    """Approximate memory held by an event: its byte fields plus a fixed overhead.

    Frames and packets (nearly every event of a firehose) are sized inline by
    :meth:`TraceBuffer.append` with the same rule; this covers the other kinds.
    """
    size = _EVENT_OVERHEAD
    for name in ("raw", "payload", "header", "data"):
        value = getattr(event, name, None)
        if isinstance(value, bytes | bytearray | memoryview):
            size += len(value)
    return size


class TraceBuffer:
    """The latest trace events, bounded by count and by approximate bytes.

    Appending is O(1) and cheap, because it runs for every wire event of a firehose:
    events sit in a ring of ``max_events`` slots (grown on demand), next to a ring of
    their sizes; absolute position ``p`` lives in slot ``(p - base) % max_events``.
    When a bound is passed the oldest events are dropped and counted in
    :attr:`dropped`. Positions are absolute (:attr:`first_position` grows as events
    drop), so a view can hold a position across drops; ``buffer[i]`` indexes the events
    currently held, oldest first.

    Frames and packets are found by ``(conn, direction, index)`` so a view can link the
    frames of one packet. That index is built lazily, on the first lookup after new
    events arrived, so a trace nobody looks at costs nothing for it.
    """

    def __init__(self, max_events: int = 100_000, max_bytes: int | None = 256 * 1024 * 1024) -> None:
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        self._capacity = max_events
        self._byte_limit = sys.maxsize if max_bytes is None else max_bytes
        self._max_bytes = max_bytes
        self.dropped = 0
        self.bytes = 0
        self._ring: list[TraceEvent | None] = []  # min(next - base, capacity) slots
        self._sizes: list[int] = []  # the size counted for the event in each slot
        self._base = 0  # the position in slot 0 when the ring was laid out
        self._first = 0
        self._next = 0
        self._monotonic = True  # every held seq is greater than the one before it
        self._last_seq = 0
        self._frames: dict[tuple[int, str, int], int] = {}  # key -> position, up to _indexed
        self._packets: dict[tuple[int, str, int], int] = {}
        self._indexed = 0  # positions below this one are in the lookup index

    # -- bounds ------------------------------------------------------------------------

    @property
    def max_events(self) -> int:
        """Events held at most; setting it drops the oldest events past the new bound."""
        return self._capacity

    @max_events.setter
    def max_events(self, value: int) -> None:
        if value < 1:
            raise ValueError("max_events must be at least 1")
        events = self._held()
        sizes = [self._sizes[self._slot(position)] for position in range(self._first, self._next)]
        excess = max(0, len(events) - value)
        self.bytes -= sum(sizes[:excess])
        self.dropped += excess
        self._first += excess
        # Laid out again from slot 0, so the ring never has more slots than events.
        self._capacity = value
        self._ring = list(events[excess:])
        self._sizes = sizes[excess:]
        self._base = self._first

    @property
    def max_bytes(self) -> int | None:
        """Approximate bytes held at most (``None``: no bound); setting it drops as needed."""
        return self._max_bytes

    @max_bytes.setter
    def max_bytes(self, value: int | None) -> None:
        self._max_bytes = value
        self._byte_limit = sys.maxsize if value is None else value
        self._drop_for_bytes()

    # -- positions ---------------------------------------------------------------------

    @property
    def first_position(self) -> int:
        """Absolute position of the oldest held event."""
        return self._first

    @property
    def next_position(self) -> int:
        """Absolute position the next appended event will get."""
        return self._next

    def __len__(self) -> int:
        return self._next - self._first

    def _held(self) -> list[TraceEvent]:
        """The held events, oldest first, as a new list."""
        return self._between(self._first, self._next)

    def _between(self, start: int, end: int) -> list[TraceEvent]:
        """The held events at positions ``start`` to ``end`` (exclusive): one or two ring slices."""
        if start >= end:
            return []
        head = self._slot(start)
        tail = self._slot(end - 1) + 1
        ring = self._ring
        held = ring[head:tail] if head < tail else ring[head:] + ring[:tail]
        return held  # type: ignore[return-value]  # held slots are never None

    def _slot(self, position: int) -> int:
        return (position - self._base) % self._capacity

    def __iter__(self) -> Iterator[TraceEvent]:
        return iter(self._held())

    @overload
    def __getitem__(self, index: int) -> TraceEvent: ...

    @overload
    def __getitem__(self, index: slice) -> list[TraceEvent]: ...

    def __getitem__(self, index: int | slice) -> TraceEvent | list[TraceEvent]:
        if isinstance(index, slice):
            return self._held()[index]
        size = self._next - self._first
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("trace buffer index out of range")
        return self._ring[(self._first + index - self._base) % self._capacity]  # type: ignore[return-value]

    def at(self, position: int) -> TraceEvent | None:
        """The event at an absolute position, or None when dropped or not yet appended."""
        if self._first <= position < self._next:
            return self._ring[(position - self._base) % self._capacity]
        return None

    # -- appending and dropping --------------------------------------------------------

    def append(self, event: TraceEvent) -> None:
        """Hold ``event`` as the newest, dropping the oldest past either bound (the hot path)."""
        position = self._next
        kind = type(event)
        # The same rule as _event_size, inline for the kinds a firehose is made of.
        if kind is FrameEvent:
            size = _EVENT_OVERHEAD + len(event.header) + len(event.payload)  # type: ignore[union-attr]
        elif kind is PacketEvent:
            size = _EVENT_OVERHEAD + len(event.raw)  # type: ignore[union-attr]
        else:
            size = _event_size(event)
        seq = event.seq
        if seq <= self._last_seq and position != self._first:
            self._monotonic = False
        self._last_seq = seq
        capacity = self._capacity
        offset = position - self._base
        if offset < capacity:
            self._ring.append(event)
            self._sizes.append(size)
        else:
            slot = offset % capacity
            sizes = self._sizes
            if position - capacity >= self._first:
                # The slot still holds the event max_events positions back: the count
                # bound drops it.
                self.bytes -= sizes[slot]
                self._first += 1
                self.dropped += 1
            self._ring[slot] = event
            sizes[slot] = size
        self._next = position + 1
        self.bytes += size
        if self.bytes > self._byte_limit:
            self._drop_for_bytes()

    def _drop_for_bytes(self) -> None:
        """Drop the oldest events until the byte bound holds, keeping at least the newest."""
        capacity = self._capacity
        base = self._base
        ring = self._ring
        sizes = self._sizes
        first = self._first
        last = self._next - 1
        while self.bytes > self._byte_limit and first < last:
            slot = (first - base) % capacity
            self.bytes -= sizes[slot]
            ring[slot] = None
            first += 1
            self.dropped += 1
        self._first = first

    def extend(self, events: Iterable[TraceEvent]) -> None:
        append = self.append
        for event in events:
            append(event)

    def clear(self) -> None:
        """Forget every held event (not counted as dropped)."""
        self._ring = []
        self._sizes = []
        self._base = self._first = self._next
        self.bytes = 0
        self._monotonic = True
        self._frames.clear()
        self._packets.clear()
        self._indexed = self._next

    # -- queries -----------------------------------------------------------------------

    def since(self, seq: int) -> list[TraceEvent]:
        """Held events whose ``seq`` is greater than ``seq``, oldest first.

        While sequence numbers increase (always, in a Workspace) this is a binary search.
        """
        if not self._monotonic:
            return [event for event in self._held() if event.seq > seq]
        ring = self._ring
        capacity = self._capacity
        base = self._base

        def seq_at(position: int) -> int:
            event = ring[(position - base) % capacity]
            assert event is not None  # a held position
            return event.seq

        first = self._first
        start = first + bisect.bisect_right(range(first, self._next), seq, key=seq_at)
        return self._between(start, self._next)

    def _index(self) -> None:
        """Bring the frame and packet lookup index up to the newest event.

        Entries of dropped events are left behind (lookups check the position) until
        they outnumber the held events, when the index is rebuilt from the held ones.
        """
        frames = self._frames
        packets = self._packets
        held = self._next - self._first
        start = self._indexed
        if start < self._first or len(frames) + len(packets) > 2 * held + 1024:
            frames.clear()
            packets.clear()
            start = self._first
        if start == self._next:
            return
        capacity = self._capacity
        base = self._base
        ring = self._ring
        for position in range(start, self._next):
            event = ring[(position - base) % capacity]
            if isinstance(event, FrameEvent):
                frames[(event.conn, event.direction, event.index)] = position
            elif isinstance(event, PacketEvent):
                packets[(event.conn, event.direction, event.packet_no)] = position
        self._indexed = self._next

    def frame(self, conn: int, direction: str, index: int) -> FrameEvent | None:
        """The held frame ``index`` of one direction of one connection."""
        if self._indexed != self._next:
            self._index()
        event = self.at(self._frames.get((conn, direction, index), -1))
        return event if isinstance(event, FrameEvent) else None

    def packet(self, conn: int, direction: str, packet_no: int) -> PacketEvent | None:
        """The held packet ``packet_no`` of one direction of one connection."""
        if self._indexed != self._next:
            self._index()
        event = self.at(self._packets.get((conn, direction, packet_no), -1))
        return event if isinstance(event, PacketEvent) else None

    def frames_of(self, packet: PacketEvent) -> list[FrameEvent]:
        """The held frames that carried parts of ``packet``, in order (dropped ones omitted)."""
        found = (self.frame(packet.conn, packet.direction, index) for index in packet.frames)
        return [f for f in found if f is not None]

    def packets_in(self, frame: FrameEvent) -> list[PacketEvent]:
        """The held packets with bytes in ``frame`` (complete ones only), in order."""
        numbers = dict.fromkeys(part.packet_no for part in frame.parts)
        found = (self.packet(frame.conn, frame.direction, n) for n in numbers)
        return [p for p in found if p is not None]
