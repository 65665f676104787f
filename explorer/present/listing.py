"""The text listing of a trace: one formatter for ``decode CAPTURE`` and ``sub --trace``.

A listing is a connection header, then one line per handshake message, WebSocket
frame, MQTT packet, state change and error, in event order::

    connection 0: 127.0.0.1:51582 -> 127.0.0.1:19100  websocket
      GET /mqtt  subprotocol offered: mqtt, negotiated: mqtt  status: 101 Switching Protocols
       +0.014745 c2s HTTP GET /mqtt (258 B)
       +0.019020 s2c HTTP 101 Switching Protocols (159 B)  subprotocol: mqtt
       +0.028097 c2s #0 binary FIN rsv=000 mask=00d44b99 len=1 (7bit)
          CONNECT #0 part 1/17 (1 B)
       ...
          -> #0 CONNECT v5 client_id=... password=***  [frames 0-16]

A PUBLISH line ends with a preview of its payload (``payload (11 B): "hello world"``,
text cut at 60 characters, binary as hex); ``Listing(payload=False)`` leaves it out.

Events arrive in batches (all at once for a capture, ~20 per second live), so the
listing is streaming: :meth:`Listing.feed` takes each batch in order and writes what
it can already say. Two rules make a packet that spans frames read right whatever
the batch boundaries:

- A frame's line is written with the part markers known at that moment: the packet's
  type (read from its first byte), the part's position, and the total number of parts
  when the packet completes within the events seen so far (``part 2/17``); otherwise
  ``part 2/?``. The last part always knows its total.
- The decoder emits the ``PacketEvent``\\ s a frame completes right after that frame,
  so a frame whose completed packets are not in the batch yet is held until the next
  batch; the packet line under it then carries the whole frame span (``[frames 0-16]``).

:meth:`Listing.close` writes held frames and names the packets that never completed.

Texts that the trace tables of the desktop and terminal views also show come from
:mod:`explorer.present.eventtext` (packet summaries with their frame span, the handshake
request), so the CLI and the views describe events alike. The frame line is longer
than the table's frame summary on purpose: it names the mask key, the RSV bits and
the length encoding, which a listing cannot show in a separate inspector.

Pure: no I/O besides the ``write`` callable it is given.
"""

from __future__ import annotations

from binascii import hexlify
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import contains, gt, itemgetter, not_, sub
from typing import cast

from explorer.decoder.fastpath import FastPublish
from explorer.model.events import (
    Direction,
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    PacketEvent,
    PacketPart,
    StateChanged,
    TraceEvent,
)
from explorer.mqtt.enums import PacketType
from explorer.mqtt.packets import Publish
from explorer.present.eventtext import event_length, event_summary, frame_span
from explorer.present.payload import NEVER_UTF8, PREVIEW_WIDTH, payload_preview
from explorer.ws.framing import OPCODE_NAMES

__all__ = ["Listing", "frame_line", "frame_span"]

_PacketKey = tuple[int, Direction, int]  # (conn, direction, packet_no)
_INDENT = "  "
_PART_INDENT = "      "
_HEAD = max(1, PREVIEW_WIDTH // 3)  # bytes a binary payload's preview shows (as payload_preview)
_NEVER_MAP = bytes(255 if byte in NEVER_UTF8 else 0 for byte in range(256))  # marks NEVER_UTF8 bytes
_FFFD = "\ufffd".encode()  # U+FFFD written out: payload_preview then decides by decoding
# Columns of FastPublish records (see explorer.decoder.fastpath) for Listing.fast_bytes.
_TIME, _DIRECTION, _INDEX, _KEY, _PAYLOAD, _NUMBER, _TOPIC, _BODY, _RETAIN = map(
    itemgetter, (0, 2, 3, 6, 7, 8, 10, 11, 12)
)
_HEAD_BYTES = itemgetter(slice(0, _HEAD))
_FIRST, _SECOND = itemgetter(0), itemgetter(1)
# A compact record's shape: direction, masked, frame payload size, topic, PUBLISH payload
# size, retain; and the two templates of a shape: with a binary payload's preview, with
# any other.
_Shape = tuple[str, bool, int, str, int, bool]
_Templates = tuple[bytes, bytes]
_MAX_TEMPLATES = 10_000  # shapes of compact records kept per listing (see Listing.fast_bytes)


def _at(time: float, base: float) -> str:
    return f"{_INDENT}{time - base:+10.6f}"


def frame_line(event: FrameEvent, base: float) -> str:
    """One frame's header fields (RFC 6455 §5.2) on one line, time relative to ``base``."""
    opcode = OPCODE_NAMES.get(event.opcode, f"opcode {event.opcode}")
    rsv = (event.rsv1 << 2) | (event.rsv2 << 1) | int(event.rsv3)
    flags = ["FIN" if event.fin else "no-FIN", f"rsv={rsv:03b}"]
    flags.append(f"mask={event.mask_key.hex()}" if event.masked and event.mask_key else "unmasked")
    text = (
        f"{_at(event.time, base)} {event.direction} #{event.index} {opcode} {' '.join(flags)} "
        f"len={event.payload_length} ({event.length_encoding})"
    )
    if event.close_code is not None or event.close_reason:
        text += f" close={event.close_code} {event.close_reason or ''}".rstrip()
    return text


@dataclass(slots=True)
class _Partial:
    """A packet seen in some frames but not yet complete."""

    name: str
    frames: list[int] = field(default_factory=list)
    size: int = 0


def _part_name(frame: FrameEvent, part: PacketPart) -> str:
    """The packet type from its first byte, when this part holds it (MQTT 5.0 §2.1.2)."""
    if part.packet_start != 0 or part.frame_start >= len(frame.payload):
        return "packet"
    try:
        return PacketType(frame.payload[part.frame_start] >> 4).name
    except ValueError:  # type 0 is reserved
        return "packet"


class Listing:
    """Writes the listing of trace events fed to it in batches (see the module doc).

    ``write`` gets whole lines, each ending in ``"\\n"`` (``sys.stdout.write`` fits).
    ``base`` is the time printed as ``+0``; by default the first event's time.
    ``payload`` adds a payload preview to each PUBLISH line.
    """

    def __init__(
        self, write: Callable[[str], object], *, base: float | None = None, payload: bool = True
    ) -> None:
        self._write = write
        self.base = base
        self.payload = payload
        self._held: list[TraceEvent | FastPublish] = []
        self._partial: dict[_PacketKey, _Partial] = {}
        self._templates: dict[_Shape, _Templates] = {}

    def connection(
        self,
        conn: int,
        client: str,
        server: str,
        protocol: str,
        events: Iterable[TraceEvent] = (),
        *,
        notes: Iterable[str] = (),
    ) -> None:
        """The connection header: endpoints, protocol, the upgrade in brief, then notes.

        ``events`` are the connection's events as far as known; its handshake request
        and response fill the upgrade line (a WebSocket connection only). Each note
        (why it is skipped, a capture problem) gets its own line.
        """
        self._line(f"connection {conn}: {client} -> {server}  {protocol}")
        if protocol == "websocket":
            target, offered, chosen, status = "?", "-", "-", "-"
            for event in events:
                if isinstance(event, HandshakeRequest):
                    target = event.target
                    values = [v for k, v in event.headers if k.lower() == "sec-websocket-protocol"]
                    offered = ", ".join(values) or "-"
                elif isinstance(event, HandshakeResponse):
                    chosen = event.subprotocol or "-"
                    status = f"{event.status} {event.reason}".rstrip()
                    break
            self._line(
                f"{_INDENT}GET {target}  subprotocol offered: {offered}, negotiated: {chosen}"
                f"  status: {status}"
            )
        for note in notes:
            self._line(f"{_INDENT}{note}")

    @property
    def idle(self) -> bool:
        """Nothing is held back: a :meth:`fast` line may be written right away."""
        return not self._held

    def fast(self, item: FastPublish) -> None:
        """Write the two lines of a compact frame-and-PUBLISH record (what :meth:`feed`
        writes for the events it stands for, without making them)."""
        self._write(self.fast_bytes([item]).decode())

    def fast_many(self, items: list[FastPublish]) -> None:
        """:meth:`fast` for each record in turn, in one write (the same lines)."""
        if items:
            self._write(self.fast_bytes(items).decode())

    def fast_bytes(self, items: list[FastPublish]) -> bytes:
        """The lines :meth:`fast` writes for each record, as UTF-8 bytes.

        A listing of a capture writes millions of these, so the work per record is
        left to C as far as it goes: each line is a template made once per shape
        (direction, masking, sizes, topic, retain), the fields that differ from line to
        line (time, frame and packet numbers, mask key, payload preview) are taken
        from the records a column at a time (``map``), and the templates of a batch
        are filled with its fields in one ``%``. Bytes need no encoding on their way
        out. A binary payload's preview (what :func:`payload_preview` says of a
        payload that is not UTF-8 text) is made here; any other payload is previewed
        by that function.
        """
        if not items:
            return b""
        if self.base is None:
            self.base = items[0][0]
        keys = list(map(_KEY, items))
        bodies = list(map(_BODY, items))
        shapes: list[_Shape] = list(
            zip(
                map(_DIRECTION, items),
                map(bool, keys),
                map(len, map(_PAYLOAD, items)),
                map(_TOPIC, items),
                map(len, bodies),
                map(_RETAIN, items),
                strict=True,
            )
        )
        known = list(map(self._templates.get, shapes))
        templates = list(map(self._fast_template, shapes)) if None in known else cast(list[_Templates], known)
        if not self.payload:
            previews = [b""] * len(items)
            chosen = list(map(_SECOND, templates))
        else:
            # payload_preview's first rule for a binary payload: a byte no UTF-8 text
            # holds and no U+FFFD written out (a compact record's payload is under 126
            # bytes, within the size the rules look at). Random bytes nearly always.
            certain = list(map(contains, map(bytes.translate, bodies, repeat(_NEVER_MAP)), repeat(255)))
            if _FFFD in b"".join(bodies):  # (rarely; across two payloads it does no harm)
                certain = list(map(gt, certain, map(contains, bodies, repeat(_FFFD))))
            previews = list(map(hexlify, map(_HEAD_BYTES, bodies), repeat(b" ")))
            chosen = list(map(_FIRST, templates))
            if not all(certain):
                uncertain = compress(range(len(items)), map(not_, certain))
                self._previews(bodies, previews, templates, chosen, uncertain)
        if all(keys):
            masks: Iterable[bytes] = map(hexlify, cast(list[bytes], keys))
        else:
            masks = [hexlify(key) if key else b"" for key in keys]
        fields: list[object] = [None] * (5 * len(items))
        fields[0::5] = map(sub, map(_TIME, items), repeat(self.base))
        fields[1::5] = map(_INDEX, items)
        fields[2::5] = masks
        fields[3::5] = map(_NUMBER, items)
        fields[4::5] = previews
        return b"".join(chosen) % tuple(fields)

    def _previews(
        self,
        bodies: list[bytes],
        previews: list[bytes],
        templates: list[_Templates],
        chosen: list[bytes],
        uncertain: Iterable[int],
    ) -> None:
        """The preview and the template of each record of a batch at ``uncertain``
        positions (not binary for certain, see :meth:`fast_bytes`): binary by
        payload_preview's other rule (bytes that do not decode as UTF-8, no U+FFFD
        written out), else previewed by payload_preview itself."""
        for position in uncertain:
            body = bodies[position]
            if not body.isascii() and _FFFD not in body:
                try:
                    body.decode()
                except UnicodeDecodeError:
                    continue  # binary: as set already
            previews[position] = payload_preview(body).encode()
            chosen[position] = templates[position][1]

    def _fast_template(self, shape: _Shape) -> _Templates:
        """The two templates of :meth:`fast_bytes` for records of one shape: with a
        binary payload's preview, and with any other (or none)."""
        known = self._templates.get(shape)
        if known is not None:
            return known
        direction, masked, length, topic, size, retain = shape
        if len(self._templates) >= _MAX_TEMPLATES:
            self._templates.clear()
        name = topic.encode().replace(b"%", b"%%")
        head = (
            f"{_INDENT}%+10.6f {direction} #%d binary FIN rsv=000 {'mask=' if masked else 'unmasked'}%s "
            f"len={length} (7bit)\n{_PART_INDENT}-> #%d PUBLISH QoS0 "
        ).encode()
        tail = f" {size} B{' retain' if retain else ''}".encode()
        more = " …" if size > _HEAD else ""
        binary = head + name + tail + f"  payload ({size:,} B, binary): %s{more}\n".encode()
        other = head + name + tail + (b"  %s\n" if self.payload else b"%s\n")
        self._templates[shape] = (binary, other)
        return binary, other

    def feed(self, events: Iterable[TraceEvent | FastPublish]) -> None:
        """Write the lines of the next batch of events (held frames first)."""
        fresh = len(self._held)  # events held before are written now whatever comes
        todo = [*self._held, *events]
        self._held = []
        if self.base is None and todo:
            first = todo[0]
            self.base = first[0] if type(first) is tuple else first.time  # type: ignore[union-attr]
        known = {(e.conn, e.direction, e.packet_no): e for e in todo if type(e) is PacketEvent}
        for position, event in enumerate(todo):
            if type(event) is tuple:
                self.fast(event)
                continue
            assert not isinstance(event, tuple)
            if (
                position >= fresh
                and isinstance(event, FrameEvent)
                and any((event.conn, event.direction, no) not in known for no in event.completed)
            ):
                # Its PacketEvents come next, in the next batch; held once only, so a
                # batch that dropped them (a bounded buffer overflowed) stalls nothing.
                self._held = todo[position:]
                return
            self._event(event, known)

    def close(self) -> None:
        """Write held frames and name every packet that never completed."""
        held, self._held = self._held, []
        known = {(e.conn, e.direction, e.packet_no): e for e in held if type(e) is PacketEvent}
        for event in held:
            if type(event) is tuple:
                self.fast(event)
            else:
                self._event(event, known)  # type: ignore[arg-type]
        self._report_unfinished(None)

    def _line(self, text: str) -> None:
        self._write(text + "\n")

    def _packet_text(self, event: PacketEvent) -> str:
        text = event_summary(event)
        if self.payload and isinstance(event.packet, Publish):
            text += "  " + payload_preview(event.packet.payload)
        return text

    def _event(self, event: TraceEvent, known: dict[_PacketKey, PacketEvent]) -> None:
        base = self.base if self.base is not None else event.time
        if isinstance(event, FrameEvent):
            self._frame(event, base, known)
        elif isinstance(event, HandshakeRequest):
            self._line(f"{_at(event.time, base)} c2s HTTP {event_summary(event)} ({event_length(event)} B)")
        elif isinstance(event, HandshakeResponse):
            # eventtext's summary leaves out a missing subprotocol; here "-" says so.
            self._line(
                f"{_at(event.time, base)} s2c HTTP {event.status} {event.reason} ({len(event.raw)} B)"
                f"  subprotocol: {event.subprotocol or '-'}"
            )
        elif isinstance(event, PacketEvent):
            if not event.frames:  # native MQTT; over WebSocket it is shown under its frame
                self._line(
                    f"{_at(event.time, base)} {event.direction} #{event.packet_no} {self._packet_text(event)}"
                )
        elif isinstance(event, ErrorReported):
            where = f" at {event.offset}" if event.offset is not None else ""
            direction = f" {event.direction}" if event.direction else ""
            self._line(f"{_INDENT}! {event.layer}{direction}{where}: {event.message}")
        elif isinstance(event, StateChanged):
            detail = f": {event.detail}" if event.detail else ""
            self._line(f"{_at(event.time, base)} connection {event.conn} {event.state}{detail}")
            if event.state == "closed":
                self._report_unfinished(event.conn)

    def _frame(self, event: FrameEvent, base: float, known: dict[_PacketKey, PacketEvent]) -> None:
        self._line(frame_line(event, base))
        for part in event.parts:
            if part.role == "whole":
                continue
            key = (event.conn, event.direction, part.packet_no)
            partial = self._partial.get(key)
            if partial is None or part.role == "first":
                partial = self._partial[key] = _Partial(_part_name(event, part))
            partial.frames.append(event.index)
            size = part.frame_end - part.frame_start
            partial.size += size
            packet = known.get(key)
            if packet is not None and event.index in packet.frames:
                position, total = packet.frames.index(event.index) + 1, str(len(packet.frames))
                name = packet.packet.TYPE.name
            else:
                position, name = len(partial.frames), partial.name
                total = str(position) if part.role == "last" else "?"
            self._line(f"{_PART_INDENT}{name} #{part.packet_no} part {position}/{total} ({size} B)")
            if part.role == "last":
                del self._partial[key]
        for no in event.completed:
            packet = known.get((event.conn, event.direction, no))
            if packet is not None:
                self._line(f"{_PART_INDENT}-> #{no} {self._packet_text(packet)}")

    def _report_unfinished(self, conn: int | None) -> None:
        for key in [k for k in self._partial if conn is None or k[0] == conn]:
            partial = self._partial.pop(key)
            _conn, direction, no = key
            self._line(
                f"{_INDENT}! mqtt {direction}: {partial.name} #{no} never completed "
                f"({partial.size} B in {frame_span(partial.frames)})"
            )
