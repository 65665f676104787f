"""The message pane: one topic's messages as text, decoded, JSON, hex, base64, history, diff, chart, props.

Every view of a payload comes from :mod:`explorer.present.payload` (text, JSON, hex dump,
base64, diff, numbers); the per-topic history and numeric series from the TopicTree.
The pane follows the newest message of the selected topic ("live") until the user steps
back through the history with ``[`` and ``]``; only the tab on screen is rendered, so a
busy topic costs one view per batch.
"""

from __future__ import annotations

import time as _time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import OptionList, Select, Sparkline, Static, TabbedContent, TabPane, Tree
from textual.widgets.option_list import Option

from explorer.codecs.stream import DecodedMessage, MessageDecoder
from explorer.model.topictree import TopicMessage, TopicNode
from explorer.present.decoded import DecodedView
from explorer.present.message import (
    AUTO_CHART_FIELD,
    NO_FIELD_NUMBERS,
    NO_NUMBERS,
    NO_PROPERTIES,
    chart_view,
    decoded_history_text,
    diff_view,
    history_rows,
    message_header,
    property_rows,
    sparkline_text,
)
from explorer.present.payload import (
    base64_view,
    hex_dump_lines,
    json_view,
    text_view,
    truncation_marker,
)
from explorer.workspace.export import wall_time
from tui.widgets.decoded import DecodedPane
from tui.widgets.lists import VimOptionList
from tui.widgets.quiet import show_text
from tui.widgets.tablabels import relabel

__all__ = ["MESSAGE_VIEWS", "TAB_LEVELS", "MessagePane", "no_numbers_text"]

HEX_LIMIT = 16 * 1024
# The views of a message: (tab id, label, key that opens it from the main screen).
MESSAGE_VIEWS: tuple[tuple[str, str, str], ...] = (
    ("tab-text", "Text", "t"),
    ("tab-decoded", "Decoded", "v"),
    ("tab-json", "JSON", "J"),
    ("tab-hex", "Hex", "H"),
    ("tab-base64", "Base64", "B"),
    ("tab-history", "History", "y"),
    ("tab-diff", "Diff", "D"),
    ("tab-chart", "Chart", "C"),
    ("tab-props", "Properties", "o"),
)
_LABELS = {tab: f"{label} \\[{key}]" for tab, label, key in MESSAGE_VIEWS}  # \[ : not markup
# Shorter names for a narrow pane, where the key hints give way first (tui.widgets.tablabels).
_SHORT = {"tab-decoded": "Dec", "tab-base64": "B64", "tab-history": "Hist", "tab-props": "Props"}
TAB_LEVELS: dict[str, tuple[str, str, str]] = {
    tab: (f"{label} [{key}]", label, _SHORT.get(tab, label)) for tab, label, key in MESSAGE_VIEWS
}
HISTORY_SHOWN = 200
_DIFF_STYLES = {"added": "green", "removed": "red", "hunk": "cyan"}


def no_numbers_text(has_fields: bool) -> str:
    """What the Chart tab says instead of a sparkline when there is nothing to plot."""
    return NO_FIELD_NUMBERS if has_fields else NO_NUMBERS


def _stamp(when: float, clock_offset: float) -> str:
    wall = wall_time(when, clock_offset)  # a file's messages carry epoch times already
    return _time.strftime("%H:%M:%S", _time.localtime(wall)) + f".{int(wall * 1000) % 1000:03d}"


class MessagePane(Vertical):
    """The selected topic's current message in several views, with its history."""

    DEFAULT_CSS = """
    MessagePane #message-title { height: auto; max-height: 3; background: $boost; padding: 0 1; }
    MessagePane Sparkline { height: 6; margin: 1 0; }
    MessagePane #chart-field { width: 40; }
    MessagePane VerticalScroll { height: 1fr; }
    MessagePane #json-tree { height: 1fr; }
    MessagePane #history { height: 1fr; }
    MessagePane #message-tabs.-tight Tab { padding: 0 0 0 1; }
    """

    def __init__(self, *, id: str | None = None, clock_offset: float | None = None) -> None:
        super().__init__(id=id)
        self.node: TopicNode | None = None
        self.index: int | None = None  # None: live (the newest message)
        self.message: TopicMessage | None = None
        self.previous: TopicMessage | None = None
        self.chart_field: str | None = None
        # Event times are monotonic seconds; this turns them into wall clock for display.
        self.clock_offset = clock_offset if clock_offset is not None else _time.time() - _time.monotonic()
        self._history: list[TopicMessage] = []
        self.pinned: TopicMessage | None = None  # a message shown that the history no longer holds
        self._json_shown: bytes | None = None
        self._fields: tuple[str, ...] = ()
        self._shown: dict[str, Text] = {}
        self.decoder: MessageDecoder | None = None  # the Workspace's payload decoder, set by the screen
        self._decoded_key: tuple[str, bytes, float] | None = None
        self._decoded_message: DecodedMessage | None = None
        self._history_lines: dict[int, tuple[TopicMessage, str]] = {}

    def compose(self) -> ComposeResult:
        yield Static("Select a topic in the tree.", id="message-title")
        with TabbedContent(id="message-tabs"):
            with TabPane(_LABELS["tab-text"], id="tab-text"), VerticalScroll():
                yield Static("", id="view-text")
            with TabPane(_LABELS["tab-decoded"], id="tab-decoded"):
                yield DecodedPane(id="decoded")
            with TabPane(_LABELS["tab-json"], id="tab-json"):
                yield Tree[object]("JSON", id="json-tree")
            with TabPane(_LABELS["tab-hex"], id="tab-hex"), VerticalScroll():
                yield Static("", id="view-hex")
            with TabPane(_LABELS["tab-base64"], id="tab-base64"), VerticalScroll():
                yield Static("", id="view-base64")
            with TabPane(_LABELS["tab-history"], id="tab-history"):
                yield VimOptionList(id="history")
            with TabPane(_LABELS["tab-diff"], id="tab-diff"), VerticalScroll():
                yield Static("", id="view-diff")
            with TabPane(_LABELS["tab-chart"], id="tab-chart"), Vertical():
                yield Select[str]([], prompt=AUTO_CHART_FIELD, id="chart-field", allow_blank=True)
                yield Sparkline([], id="sparkline")
                yield Static("", id="chart-stats")
            with TabPane(_LABELS["tab-props"], id="tab-props"), VerticalScroll():
                yield Static("", id="view-props")

    def on_resize(self) -> None:
        # Every view's tab stays on screen: key hints, then long names give way.
        if self.size.width:
            relabel(self.query_one("#message-tabs", TabbedContent), TAB_LEVELS, self.size.width)

    # -- model -------------------------------------------------------------------------

    def show_message(self, node: TopicNode, message: TopicMessage) -> None:
        """Show one given message of ``node`` (a search result), held there: from the
        topic's history when it still holds it, else on its own."""
        self.show_topic(node)
        for index, kept in enumerate(node.history()):
            if kept.time == message.time and kept.payload == message.payload:
                self.index = index
                break
        else:
            self.pinned = message
        self.refresh_view()

    def show_topic(self, node: TopicNode) -> None:
        """Follow a newly selected topic, live."""
        if node is not self.node:
            self.pinned = None
            self.node = node
            self.index = None
            self.chart_field = None
            if self._fields:  # the field choices are the previous topic's
                self.query_one("#chart-field", Select).set_options([])
            self._fields = ()
            self._json_shown = None
        self.refresh_view()

    def topic_changed(self, changed: tuple[TopicNode, ...]) -> None:
        """A batch arrived: redraw when our topic got messages and we are live."""
        if self.node is not None and self.index is None and self.node in changed:
            self.refresh_view()

    def _load(self) -> None:
        node = self.node
        self._history = node.history() if node is not None else []
        if not self._history:
            self.message = self.previous = None
            return
        index = (
            len(self._history) - 1 if self.index is None else max(0, min(self.index, len(self._history) - 1))
        )
        self.message = self._history[index]
        self.previous = self._history[index - 1] if index > 0 else None
        if self.pinned is not None:
            self.message, self.previous = self.pinned, None

    def refresh_view(self) -> None:
        self._load()
        self._draw_title()
        active = self.query_one("#message-tabs", TabbedContent).active
        self._draw_tab(active)

    def _draw_title(self) -> None:
        node, msg = self.node, self.message
        if node is None:
            self._show("message-title", "Select a topic in the tree.")
            return
        text = Text()
        if msg is None:
            empty = message_header(node, None, number=0, kept=0, live=True, stamp=str)
            text.append(empty.title, "bold")
            text.append(f"   {empty.detail}", "dim")
            self._show("message-title", text)
            return
        text.append((node.topic or "(root)") + (" · retained" if node.retained else ""), "bold")
        number = len(self._history) if self.index is None else self.index + 1
        header = message_header(
            node,
            msg,
            number=number,
            kept=len(self._history),
            live=self.index is None,
            stamp=lambda when: _stamp(when, self.clock_offset),
        )
        text.append(f"   {header.position}", "dim")
        if self.index is not None:
            text.append("  ] newer, L live", "dim")
        text.append(f"\n{header.detail}")
        self._show("message-title", text)

    def _draw_tab(self, tab: str) -> None:
        msg = self.message
        payload = msg.payload if msg is not None else b""
        if tab == "tab-text":
            parsed = json_view(payload)
            if parsed is not None:
                body = Text(parsed.pretty)
                body.append(
                    "\n\n(JSON, pretty-printed: the JSON tab folds it, Hex shows the bytes)", "italic dim"
                )
            else:
                view = text_view(payload)
                body = Text(view.text)
                if view.truncated:
                    body.append("\n" + view.marker, "italic dim")
            self._show("view-text", body)
        elif tab == "tab-decoded":
            self._draw_decoded()
        elif tab == "tab-json":
            self._draw_json(payload)
        elif tab == "tab-hex":
            lines = [line.text() for line in hex_dump_lines(payload, limit=HEX_LIMIT)]
            if len(payload) > HEX_LIMIT:
                lines.append(truncation_marker(HEX_LIMIT, len(payload)))
            self._show("view-hex", Text("\n".join(lines)))
        elif tab == "tab-base64":
            encoded, truncated = base64_view(payload)
            body = Text(encoded)
            if truncated:
                body.append("\n(truncated)", "italic dim")
            self._show("view-base64", body)
        elif tab == "tab-history":
            self._draw_history()
        elif tab == "tab-diff":
            self._draw_diff()
        elif tab == "tab-chart":
            self._draw_chart()
        elif tab == "tab-props":
            self._draw_props()

    def _show(self, widget_id: str, content: Text | str) -> None:
        """Put ``content`` in one of the pane's Statics, unless it shows that already.

        A live topic redraws every batch, mostly with the same payload: an unchanged
        Static is left alone, and a changed one asks for a new layout only when its
        text changed shape (line count or lengths), since a layout pass of the whole
        screen costs several times a repaint.
        """
        static = self.query_one(f"#{widget_id}", Static)
        self._shown[widget_id] = show_text(static, content, self._shown.get(widget_id))

    def _decoded(self, msg: TopicMessage) -> DecodedMessage | None:
        """The current message decoded (cached: a live topic redraws every batch)."""
        if self.decoder is None:
            return None
        key = (msg.topic, msg.payload, msg.time)
        if self._decoded_key != key:
            self._decoded_key = key
            self._decoded_message = self.decoder.decode(msg.topic, msg.payload, msg.properties.content_type)
        return self._decoded_message

    def _draw_decoded(self) -> None:
        pane = self.query_one(DecodedPane)
        msg = self.message
        decoded = self._decoded(msg) if msg is not None else None
        if msg is None or decoded is None:
            pane.show(None, b"", "")
            return
        view = DecodedView.of(decoded.decoded, notices=decoded.notices, topic=msg.topic)
        pane.show(view, msg.payload, msg.topic)

    def _draw_json(self, payload: bytes) -> None:
        tree = self.query_one("#json-tree", Tree)
        if payload == self._json_shown and tree.root.children:
            return
        self._json_shown = payload
        tree.clear()
        parsed = json_view(payload) if payload else None
        if parsed is None:
            tree.root.set_label("not a JSON object or array")
            return
        tree.root.set_label("JSON")
        tree.add_json(parsed.value)
        tree.root.expand_all()

    def _draw_history(self) -> None:
        options = self.query_one("#history", OptionList)
        rows = history_rows(
            self._history,
            stamp=lambda when: _stamp(when, self.clock_offset),
            limit=HISTORY_SHOWN,
            binary_text=self._binary_line,
        )
        items = [Option(row.text()) for row in rows]
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(items)
        if highlighted is not None and items:
            options.highlighted = min(highlighted, len(items) - 1)

    def _binary_line(self, msg: TopicMessage) -> str:
        """A binary payload's history line: its decoded text (MessagePack, images...), made once."""
        if self.decoder is None:
            return f"<{len(msg.payload)} B binary>"
        cached = self._history_lines.get(id(msg))
        if cached is None or cached[0] is not msg:
            cached = (msg, decoded_history_text(self.decoder, msg))
            if len(self._history_lines) > 4 * HISTORY_SHOWN:
                self._history_lines.clear()
            self._history_lines[id(msg)] = cached
        return cached[1]

    def _draw_diff(self) -> None:
        view = diff_view(self.previous, self.message, decoder=self.decoder)
        if view.note:
            self._show("view-diff", Text(view.note, "dim"))
            return
        body = Text()
        for line in view.lines:
            body.append(line.text + "\n", _DIFF_STYLES.get(line.kind, ""))
        self._show("view-diff", body)

    def _draw_chart(self) -> None:
        node = self.node
        spark = self.query_one("#sparkline", Sparkline)
        if node is None or self.message is None:
            spark.data = []
            spark.display = False
            self._show("chart-stats", "")
            return
        view = chart_view(self._history, self.chart_field, decoder=self.decoder)
        if view.fields != self._fields:
            self._fields = view.fields
            select = self.query_one("#chart-field", Select)
            select.set_options([(name, name) for name in view.fields])
            if self.chart_field in view.fields:
                select.value = self.chart_field
        series = view.series
        # One series: the sparkline widget; several (every numeric field of a JSON payload):
        # one line each, drawn with block characters, each on its own scale.
        single = len(series) == 1
        spark.data = [value for _, value in series[0].points] if single else []
        # An empty Sparkline draws a full bar, which reads as data: show a sentence instead.
        spark.display = single
        if single:
            self._show("chart-stats", series[0].summary)
        elif series:
            width = max(8, min(40, self.size.width - 50))
            body = Text()
            for item in series:
                body.append(sparkline_text([v for _, v in item.points], width).ljust(width), "green")
                body.append(f"  {item.summary}\n")
            self._show("chart-stats", body)
        else:
            self._show("chart-stats", Text(view.note, "dim"))

    def _draw_props(self) -> None:
        msg = self.message
        if msg is None:
            self._show("view-props", "")
            return
        rows = property_rows(msg)
        if not rows:
            self._show("view-props", Text(NO_PROPERTIES, "dim"))
            return
        body = Text()
        for row in rows:
            body.append(f"{row.name}: ", "bold")
            body.append(f"{row.value}\n")
        self._show("view-props", body)

    # -- events and actions -------------------------------------------------------------

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id == "message-tabs" and event.pane.id is not None:
            self._draw_tab(event.pane.id)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "chart-field":
            value = event.value
            self.chart_field = value if isinstance(value, str) else None
            self._draw_chart()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id != "history":
            return
        event.stop()
        history_len = len(self._history)
        shown = min(history_len, HISTORY_SHOWN)
        self.index = history_len - 1 - event.option_index if event.option_index < shown else None
        if self.index is not None and self.index >= history_len - 1:
            self.index = None
        self._load()
        self._draw_title()

    def action_older(self) -> None:
        self.pinned = None
        if not self._history:
            return
        current = len(self._history) - 1 if self.index is None else self.index
        self.index = max(0, current - 1)
        self.refresh_view()

    def action_newer(self) -> None:
        self.pinned = None
        if self.index is None:
            return
        self.index += 1
        if self.index >= len(self._history) - 1:
            self.index = None
        self.refresh_view()

    def action_live(self) -> None:
        self.pinned = None
        self.index = None
        self.refresh_view()
