"""The frame trace: a virtual list of WebSocket frames that renders only the visible rows.

The rows are absolute positions in the Workspace's :class:`~explorer.model.trace.TraceBuffer`
(an int each), so a list of a hundred thousand frames costs a list of ints, and each
repaint formats only the lines on screen. New frames are found by scanning the trace
from the last position seen; positions the bounded trace dropped are trimmed from the
front. Following live keeps the cursor on the newest frame; pausing keeps it still
while the list goes on growing below. While the list is hidden, :meth:`FrameList.scan`
keeps the rows up to date without touching the screen (a fraction of a microsecond per
trace event), so showing it costs no scan of the whole trace.

Filters (direction, opcode, MQTT packet type) apply while scanning; changing one
rescans the held trace once.
"""

from __future__ import annotations

import bisect
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from explorer.model.events import FrameEvent, PacketEvent
from explorer.model.trace import TraceBuffer
from explorer.mqtt.enums import PacketType
from explorer.present.eventtext import frame_span, opcode_name
from tui.messages import FrameSelected
from tui.widgets.paintstyle import StyleOncePerPaint

__all__ = ["COLUMNS", "FrameFilter", "FrameList", "frame_summary", "packet_after", "packets_near"]

# Room for "binary"/"close"; "continuation" is shortened to fit (the detail spells it out).
OPCODE_WIDTH = 9
DIRECTION_MARK = {"c2s": "C→S", "s2c": "S→C"}
# The column titles over the rows that render_line draws.
# "#" is the frame's number in its direction, as in the packets' "frames 3-5" and the detail.
FRAME_NO_WIDTH = 6
_ROW_START = f"{'#':>{FRAME_NO_WIDTH}} {'time':>10} {'dir':<4}"
COLUMNS = _ROW_START + f"{'opcode':<{OPCODE_WIDTH}}{'FIN':<4}{'length':>7} packets"


def _opcode_cell(opcode: int) -> str:
    name = opcode_name(opcode)
    if len(name) >= OPCODE_WIDTH:
        name = name[: OPCODE_WIDTH - 2] + "…"
    return f"{name:<{OPCODE_WIDTH}}"


class FrameFilter:
    """Which frames the list shows; ``None`` in a field means any."""

    __slots__ = ("direction", "opcode", "packet_type")

    def __init__(
        self,
        direction: str | None = None,
        opcode: int | None = None,
        packet_type: PacketType | None = None,
    ) -> None:
        self.direction = direction
        self.opcode = opcode
        self.packet_type = packet_type

    @property
    def active(self) -> bool:
        return self.direction is not None or self.opcode is not None or self.packet_type is not None

    def accepts(self, frame: FrameEvent, trace: TraceBuffer) -> bool:
        if self.direction is not None and frame.direction != self.direction:
            return False
        if self.opcode is not None and frame.opcode != self.opcode:
            return False
        if self.packet_type is not None:
            wanted = self.packet_type
            return any(p.packet.TYPE is wanted for p in trace.packets_in(frame))
        return True

    def describe(self) -> str:
        parts = []
        if self.direction is not None:
            parts.append(DIRECTION_MARK.get(self.direction, self.direction))
        if self.opcode is not None:
            parts.append(opcode_name(self.opcode))
        if self.packet_type is not None:
            parts.append(self.packet_type.name)
        return " ".join(parts) if parts else "all frames"


# Packet summaries kept for repaints (a few screens of rows).
SUMMARY_CACHE = 1024
# How far past a frame's position the trace is searched for the packets it completes.
NEAR_EVENTS = 16


def packet_after(trace: TraceBuffer, position: int, frame: FrameEvent, packet_no: int) -> PacketEvent | None:
    """The packet ``packet_no`` completed by the frame at ``position``, found among the next events.

    The decoder appends a packet's event right after the frame that completes it, so a
    short scan finds it without the trace's packet index, whose upkeep (and periodic
    rebuild) would otherwise land on a repaint. None when not found nearby.
    """
    at = trace.at
    conn, direction = frame.conn, frame.direction
    for near in range(position + 1, position + 1 + NEAR_EVENTS):
        event = at(near)
        if event is None:
            return None
        if (
            type(event) is PacketEvent
            and event.packet_no == packet_no
            and event.conn == conn
            and event.direction == direction
        ):
            return event
    return None


def packets_near(trace: TraceBuffer, frame: FrameEvent, position: int) -> list[PacketEvent] | None:
    """The packets the frame at ``position`` completes, as ``TraceBuffer.packets_in`` gives them.

    None when a part of a packet that ends in a later frame is in it, or a packet is not
    found next to the frame: then the trace's index is asked.
    """
    found: list[PacketEvent] = []
    seen: set[int] = set()
    for part in frame.parts:
        if part.role not in ("whole", "last"):
            return None
        if part.packet_no in seen:
            continue
        seen.add(part.packet_no)
        packet = packet_after(trace, position, frame, part.packet_no)
        if packet is None:
            return None
        found.append(packet)
    return found


def frame_summary(frame: FrameEvent, trace: TraceBuffer, position: int | None = None) -> str:
    """The MQTT packets a frame carries, as one line (the packet summaries come from explorer).

    With the frame's trace ``position``, the packets it completes are looked up next to it.
    """
    if frame.opcode == 8:
        code = "" if frame.close_code is None else str(frame.close_code)
        reason = f" {frame.close_reason}" if frame.close_reason else ""
        return f"close {code}{reason}".rstrip()
    if not frame.parts:
        return ""
    pieces: list[str] = []
    for part in frame.parts:
        packet = None
        if position is not None and part.role in ("whole", "last"):
            packet = packet_after(trace, position, frame, part.packet_no)
        if packet is None:
            packet = trace.packet(frame.conn, frame.direction, part.packet_no)
        label = packet.summary if packet is not None else f"packet #{part.packet_no}"
        if packet is not None and len(packet.frames) > 1 and frame.index in packet.frames:
            # Which part of the packet this frame holds, and the frames with the rest, first:
            # a long summary is cut at the right edge.
            nth = packet.frames.index(frame.index) + 1
            label = f"[{nth}/{len(packet.frames)} {frame_span(packet.frames)}] {label}"
        elif part.role == "first":
            label += " (starts)"
        elif part.role == "middle":
            label = f"… packet #{part.packet_no} (continues)"
        elif part.role == "last":
            label = f"… {label} (ends)"
        pieces.append(label)
    return " │ ".join(pieces)


class FrameList(StyleOncePerPaint, ScrollView, can_focus=True):
    """The frames of the trace, one row each: time, direction, opcode, FIN, length, packets."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "open", "Open"),
        Binding("space", "toggle_follow", "Follow"),
    ]

    DEFAULT_CSS = """
    FrameList { height: 1fr; }
    """

    follow: reactive[bool] = reactive(True)
    cursor = reactive(-1, always_update=True)

    def __init__(self, trace: TraceBuffer, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.trace = trace
        self.filter = FrameFilter()
        self._positions: list[int] = []
        self._scanned = trace.first_position
        self.time_origin: float | None = None
        self._summaries: dict[int, str] = {}
        self._styles = {
            "c2s": Style(color="bright_cyan"),
            "s2c": Style(color="bright_green"),
            "dim": Style(dim=True),
            "cursor": Style(reverse=True, bold=True),
        }

    # -- model ---------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._positions)

    def frame_at(self, row: int) -> FrameEvent | None:
        if not 0 <= row < len(self._positions):
            return None
        event = self.trace.at(self._positions[row])
        return event if isinstance(event, FrameEvent) else None

    @property
    def current(self) -> FrameEvent | None:
        return self.frame_at(self.cursor)

    def update_from_trace(self) -> None:
        """Take in the trace's new frames and show them (following live: the newest)."""
        self.scan()
        rows = self._positions
        self._set_row_count(len(rows))
        if self.follow:
            self.cursor = len(rows) - 1
            self.scroll_end(animate=False, immediate=True)
        self.refresh()

    def scan(self) -> None:
        """Take in the frames appended since the last scan and drop the ones the trace let go.

        The rows only: nothing is laid out or painted, so a hidden list keeps up with a
        firehose for the cost of the loop below.
        """
        trace = self.trace
        start = max(self._scanned, trace.first_position)
        end = trace.next_position
        rows = self._positions
        accepts = self.filter.accepts if self.filter.active else None
        at = trace.at
        for position in range(start, end):
            event = at(position)
            if type(event) is FrameEvent and (accepts is None or accepts(event, trace)):
                if self.time_origin is None:
                    self.time_origin = event.time
                rows.append(position)
        self._scanned = end
        first = trace.first_position
        if rows and rows[0] < first:
            cut = bisect.bisect_left(rows, first)
            del rows[:cut]
            if self.cursor >= 0:
                # The same frame stays under the cursor; the caller repaints.
                self.set_reactive(FrameList.cursor, max(0, self.cursor - cut))
            if not self.follow:
                # Paused, the same frames stay on screen while older ones drop.
                self.scroll_to(y=max(0, self.scroll_offset.y - cut), animate=False, immediate=True)

    def _set_row_count(self, count: int) -> None:
        """Make the scrollable height ``count`` rows.

        Setting ``virtual_size`` lays out the whole screen again. While the list is
        longer than its window before and after, only the scroll range and the scrollbar
        change, so a firehose of frames updates those and repaints instead. The virtual
        width stays 0: rows are cut to the window's width, so a resize changes nothing
        but the rows drawn.
        """
        size = Size(0, count)
        current = self.virtual_size
        if size == current:
            return
        window = self.scrollable_content_region.height
        scrolling = self.show_vertical_scrollbar and min(count, current.height) > window
        if scrolling:
            self.set_reactive(FrameList.virtual_size, size)
            self._scroll_update(size)
        else:
            self.virtual_size = size

    def set_filter(self, frame_filter: FrameFilter) -> None:
        """Apply a new filter by rescanning the held trace."""
        self.filter = frame_filter
        self._positions = []
        self._scanned = self.trace.first_position
        self.cursor = -1
        self.update_from_trace()
        if not self.follow and self._positions:
            self.cursor = 0

    def row_of(self, conn: int, direction: str, index: int) -> int | None:
        """The row showing a frame, or None when it is not held or filtered out."""
        frame = self.trace.frame(conn, direction, index)
        if frame is None:
            return None
        seq = frame.seq
        at = self.trace.at

        def seq_of(position: int) -> int:
            event = at(position)
            return event.seq if event is not None else -1

        row = bisect.bisect_left(self._positions, seq, key=seq_of)
        if row < len(self._positions) and seq_of(self._positions[row]) == seq:
            return row
        return None

    # -- rendering ------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.size.width
        base = self.paint_style
        if not 0 <= row < len(self._positions):
            return Strip.blank(width, base)
        position = self._positions[row]
        frame = self.trace.at(position)
        if not isinstance(frame, FrameEvent):
            return Strip.blank(width, base)
        origin = self.time_origin if self.time_origin is not None else frame.time
        styles = self._styles
        dir_style = styles[frame.direction]
        segments = [
            Segment(f"{frame.index:>{FRAME_NO_WIDTH}} ", styles["dim"]),
            Segment(f"{frame.time - origin:10.3f} ", styles["dim"]),
            Segment(f"{DIRECTION_MARK.get(frame.direction, '?'):<4}", dir_style),
            Segment(_opcode_cell(frame.opcode)),
            Segment("FIN " if frame.fin else "--- ", None if frame.fin else styles["dim"]),
            Segment(f"{frame.payload_length:>7} "),
            Segment(self._summary(frame, position), dir_style),
        ]
        strip = Strip(segments).crop_extend(scroll_x, scroll_x + width, base)
        if row == self.cursor:
            cursor_style = styles["cursor"] if self.has_focus else Style(reverse=True)
            strip = strip.apply_style(cursor_style)
        return strip

    def _summary(self, frame: FrameEvent, position: int) -> str:
        """The packets column of a row, made once per frame while it stays near the screen.

        A firehose repaints every row many times a second (the rows move up as the
        trace drops old frames); the summaries of the frames on screen do not change.
        """
        summaries = self._summaries
        summary = summaries.get(position)
        if summary is None:
            summary = frame_summary(frame, self.trace, position)
            # A packet that starts here and ends in a later frame is summed up once complete.
            if all(part.role in {"whole", "last"} for part in frame.parts):
                if len(summaries) > SUMMARY_CACHE:
                    summaries.clear()
                summaries[position] = summary
        return summary

    # -- cursor --------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh()

    def _move(self, row: int, *, announce: bool = True) -> None:
        if not self._positions:
            return
        row = max(0, min(row, len(self._positions) - 1))
        self.follow = row == len(self._positions) - 1 and self.follow
        self.cursor = row
        self.scroll_to_region_row(row)
        if announce:
            frame = self.frame_at(row)
            if frame is not None:
                self.post_message(FrameSelected(frame, self._positions[row]))

    def scroll_to_region_row(self, row: int) -> None:
        top = self.scroll_offset.y
        height = max(1, self.size.height)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    def go_to(self, row: int) -> None:
        """Pause and put the cursor on ``row`` (a jump from a link)."""
        self.follow = False
        self._move(row)

    def action_cursor_up(self) -> None:
        self.follow = False
        self._move(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.follow = False
        self._move(self.cursor + 1)

    def action_page_up(self) -> None:
        self.follow = False
        self._move(self.cursor - max(1, self.size.height - 1))

    def action_page_down(self) -> None:
        self.follow = False
        self._move(self.cursor + max(1, self.size.height - 1))

    def action_first(self) -> None:
        self.follow = False
        self._move(0)

    def action_last(self) -> None:
        self._move(len(self._positions) - 1)

    def action_open(self) -> None:
        self.follow = False
        self._move(self.cursor)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        if self.follow and self._positions:
            self.cursor = len(self._positions) - 1
            self.scroll_end(animate=False, immediate=True)

    def on_click(self, event: events.Click) -> None:
        row = self.scroll_offset.y + event.y
        if 0 <= row < len(self._positions):
            self.follow = False
            self._move(row)

    def on_resize(self, event: events.Resize) -> None:
        self._set_row_count(len(self._positions))
        if self.follow and self._positions:
            self.scroll_end(animate=False, immediate=True)
        self.refresh()
