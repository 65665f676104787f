"""The detail of one WebSocket frame: header fields, a coloured hex dump, links between frames.

The hex dump covers the whole frame as it was on the wire except that the payload is
shown unmasked and a CONNECT password blanked: the header, the mask key, then each MQTT
packet's bytes in a colour of its own. The fields, spans and display bytes come from
:mod:`explorer.present.eventtext` (the desktop inspector uses the same); the dump lines from
:func:`explorer.present.payload.hex_dump_lines`. A packet that spans several frames gets a link
per other frame; choosing one moves the frame list there.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from explorer.model.events import FrameEvent, PacketEvent
from explorer.model.trace import TraceBuffer
from explorer.present.eventtext import display_frame_bytes, frame_fields, frame_header_spans
from explorer.present.eventtext import frame_spans as eventtext_frame_spans
from explorer.present.payload import Span, hex_dump_lines, truncation_marker
from tui.messages import FrameJump
from tui.widgets.frames import DIRECTION_MARK, packets_near
from tui.widgets.lists import VimOptionList
from tui.widgets.quiet import show_text

__all__ = ["DUMP_LIMIT", "PACKET_COLOURS", "FrameDetail", "frame_dump", "frame_spans"]

DUMP_LIMIT = 8 * 1024
HEADER_STYLE = "bold yellow"
MASK_STYLE = "bold magenta"
PACKET_COLOURS = (
    "black on #5fafff",
    "black on #87d787",
    "black on #ffaf5f",
    "black on #d787d7",
    "black on #5fd7d7",
    "black on #d7d75f",
    "black on #ff8787",
    "black on #afafd7",
)


def frame_spans(
    frame: FrameEvent, trace: TraceBuffer, packets: list[PacketEvent] | None = None
) -> tuple[bytes, list[Span], list[str]]:
    """The frame's bytes as they may be shown (header, then unmasked payload with any
    CONNECT password blanked), the spans from :mod:`explorer.present.eventtext` and a style per span.

    ``packets`` are the frame's complete packets when the caller has them already.
    """
    if packets is None:
        packets = trace.packets_in(frame)
    header = frame_header_spans(frame)
    parts = eventtext_frame_spans(frame, base=len(frame.header), packets=packets)
    styles = [HEADER_STYLE, MASK_STYLE][: len(header)]
    styles += [PACKET_COLOURS[number % len(PACKET_COLOURS)] for number in range(len(parts))]
    return frame.header + display_frame_bytes(frame, packets), header + parts, styles


def frame_dump(
    frame: FrameEvent,
    trace: TraceBuffer,
    limit: int = DUMP_LIMIT,
    packets: list[PacketEvent] | None = None,
) -> Text:
    """The hex dump with each span in its style (one Text, one line per 16 bytes)."""
    data, spans, styles = frame_spans(frame, trace, packets)
    text = Text(no_wrap=True)
    for line in hex_dump_lines(data, spans, limit=limit):
        byte_style: list[str | None] = [None] * len(line.data)
        for segment in line.segments:
            for index in range(segment.start, segment.end):
                byte_style[index] = styles[segment.span]
        text.append(f"{line.offset:08x}  ", "dim")
        last = len(line.data) - 1
        for index, value in enumerate(line.data):
            if index and index % 8 == 0:
                text.append(" ")
            style = byte_style[index] or ""
            text.append(f"{value:02x}", style)
            # The gap between two bytes of one span takes the span's colour, so a packet reads as a bar.
            joined = index < last and (index + 1) % 8 != 0 and byte_style[index + 1] == byte_style[index]
            text.append(" ", style if joined else "")
        missing = line.width - len(line.data)
        text.append("   " * missing + (" " if missing and len(line.data) <= 8 else ""))
        text.append(" │", "dim")
        for index, char in enumerate(line.ascii):
            text.append(char, byte_style[index] or "")
        text.append("│\n", "dim")
    if len(data) > limit:
        text.append(truncation_marker(limit, len(data)) + "\n", "italic dim")
    text.append("\n")
    for (start, end, label), style in zip(spans, styles, strict=True):
        text.append("  ")
        text.append(f" {end - start:>5} B ", style)
        text.append(f" {label}\n")
    return text


def _field_columns(fields: list[tuple[str, str]], width: int) -> tuple[int, list[int], list[int]]:
    """How many columns of fields fit ``width`` (at most three, at least one), with the
    width of the names and of the values in each column (fields placed row by row)."""
    for columns in (3, 2):
        names = [max(len(name) for name, _ in fields[c::columns]) for c in range(columns)]
        values = [max(len(value) for _, value in fields[c::columns]) for c in range(columns)]
        if sum(2 + n + 1 + v for n, v in zip(names, values, strict=True)) <= width:
            return columns, names, values
    return 1, [max(len(name) for name, _ in fields)], [0]


def _header_text(
    frame: FrameEvent, trace: TraceBuffer, packets: list[PacketEvent] | None = None, width: int = 100
) -> Text:
    """The header fields (:func:`explorer.present.eventtext.frame_fields`) and the packets' summaries.

    The fields stand in as many columns as fit ``width`` (at most three, so the hex dump
    below stays in view); a field is never wrapped over two lines.
    """
    text = Text()
    text.append(f"Frame #{frame.index} ", "bold")
    text.append(f"{DIRECTION_MARK.get(frame.direction, '?')}  seq {frame.seq}\n", "dim")
    fields = frame_fields(frame)
    columns, names, values = _field_columns(fields, width)
    for row in range(0, len(fields), columns):
        cells = fields[row : row + columns]
        for column, (name, value) in enumerate(cells):
            text.append(f"  {name:<{names[column]}} ", "bold")
            text.append(value if column == len(cells) - 1 else f"{value:<{values[column]}}")
        text.append("\n")
    if packets is None:
        packets = trace.packets_in(frame)
    if packets:
        text.append("\n")
        for packet in packets:
            text.append(f"  #{packet.packet_no} ", "bold")
            text.append(packet.summary + "\n")
    return text


class FrameDetail(VerticalScroll):
    """Header fields, links to the other frames of split packets, and the hex dump."""

    DEFAULT_CSS = """
    FrameDetail #frame-links { height: auto; max-height: 6; display: none; }
    FrameDetail #frame-links.-shown { display: block; }
    """

    def __init__(self, trace: TraceBuffer, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # No focus stop until a frame is shown: an empty pane is nothing to scroll.
        self.can_focus = False
        self.trace = trace
        self.frame: FrameEvent | None = None
        self._links: list[tuple[int, str, int]] = []
        self._header: Text | None = None
        self._dump: Text | None = None
        self._packets: list[PacketEvent] | None = None

    def compose(self) -> ComposeResult:
        yield Static("Select a frame in the list (Enter) to see its bytes.", id="frame-header")
        yield VimOptionList(id="frame-links")
        yield Static("", id="frame-dump")

    def show_frame(self, frame: FrameEvent, position: int | None = None) -> None:
        """Show ``frame``; with its trace ``position`` its packets are looked up next to it."""
        self.frame = frame
        self.can_focus = True
        packets = packets_near(self.trace, frame, position) if position is not None else None
        if packets is None:
            packets = self.trace.packets_in(frame)
        self._packets = packets
        self._show_header()
        dump = self.query_one("#frame-dump", Static)
        self._dump = show_text(dump, frame_dump(frame, self.trace, packets=packets), self._dump)
        links = self.query_one("#frame-links", OptionList)
        if self._links:
            links.clear_options()
        self._links = []
        for part in frame.parts:
            if part.role == "whole":
                continue
            packet = self.trace.packet(frame.conn, frame.direction, part.packet_no)
            if packet is None:
                continue
            for index in packet.frames:
                if index == frame.index:
                    continue
                self._links.append((frame.conn, frame.direction, index))
                links.add_option(
                    Option(f"→ frame #{index}: more of packet #{part.packet_no} {packet.packet.TYPE.name}")
                )
        links.set_class(bool(self._links), "-shown")

    def _show_header(self) -> None:
        if self.frame is None:
            return
        width = self.scrollable_content_region.width or 100
        header = _header_text(self.frame, self.trace, self._packets, width)
        self._header = show_text(self.query_one("#frame-header", Static), header, self._header)

    def on_resize(self) -> None:
        # The fields go into as many columns as the new width holds.
        self._show_header()

    @property
    def header_text(self) -> str:
        """The header fields as plain text (tests read it)."""
        return self._header.plain if self._header is not None else ""

    @property
    def dump_text(self) -> str:
        """The dump as plain text (tests read it)."""
        if self.frame is None:
            return ""
        return frame_dump(self.frame, self.trace).plain

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self._links):
            conn, direction, index = self._links[event.option_index]
            self.post_message(FrameJump(conn, direction, index))
