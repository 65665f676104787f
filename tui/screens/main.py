"""The main screen: status line, topic tree, and tabs for the message, the frames and the handshake.

It receives the Workspace's batches from the app (``apply_batch``) and hands each pane
its part; panes talk back through :mod:`tui.messages`. The frame list is drawn only
while its tab is on screen; while hidden it only keeps its rows up to date, so the other
tabs do not pay for a firehose of frames and showing it needs no long scan.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Select, Static, TabbedContent, TabPane

from explorer.model.events import ErrorReported, HandshakeRequest, HandshakeResponse
from explorer.model.topictree import TopicMessage
from explorer.mqtt.enums import PacketType
from explorer.present.eventtext import OPCODE_NAMES
from explorer.present.recording import not_in_tree_text, source_text
from explorer.workspace import Batch, Workspace
from tui.messages import FrameJump, FrameSelected, TopicSelected
from tui.widgets.frame_detail import FrameDetail
from tui.widgets.frames import COLUMNS, FrameFilter, FrameList
from tui.widgets.handshake import HandshakeView
from tui.widgets.keybar import KeyBar
from tui.widgets.message import MESSAGE_VIEWS, MessagePane
from tui.widgets.sparkplug import SparkplugPane
from tui.widgets.status import StatusLine
from tui.widgets.tablabels import relabel
from tui.widgets.topics import TopicTreeView

if TYPE_CHECKING:
    from tui.app import ExplorerApp

__all__ = ["MainScreen"]

ERROR_TOAST_INTERVAL = 5.0
# Below this width the topic pane narrows so the views keep their room (styles.tcss: .-narrow).
NARROW_WIDTH = 120
_MAIN_TABS: dict[str, tuple[str, str, str]] = {
    "tab-message": ("Message [1]", "Message", "Msg"),
    "tab-frames": ("Frames [2]", "Frames", "Frames"),
    "tab-handshake": ("Handshake [3]", "Handshake", "Hello"),
    "tab-sparkplug": ("Sparkplug [4]", "Sparkplug", "SpB"),
}

_DIRECTIONS = [("client → server", "c2s"), ("server → client", "s2c")]
_OPCODES = [(f"{name} (0x{code:x})", code) for code, name in OPCODE_NAMES.items()]
_PACKET_TYPES = [(t.name, int(t)) for t in PacketType if t != 0]


# Footer groups: one label for several keys, so every key fits in the footer.
_TABS = Binding.Group("Tabs", compact=True)
_HISTORY = Binding.Group("Old/new/live", compact=True)
_VIEWS = Binding.Group("Views", compact=True)
_FILES = Binding.Group("Rec/search/stats", compact=True)


class MainScreen(Screen[None]):
    """Everything live on one screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show_tab('tab-message')", "Message tab", group=_TABS),
        Binding("2", "show_tab('tab-frames')", "Frames tab", group=_TABS),
        Binding("3", "show_tab('tab-handshake')", "Handshake tab", group=_TABS),
        Binding("4", "show_tab('tab-sparkplug')", "Sparkplug tab", group=_TABS),
        Binding("slash", "filter_topics", "Filter"),
        Binding("s", "app.subscribe", "Sub"),
        Binding("u", "app.unsubscribe", "Unsub"),
        Binding("p", "app.publish", "Publish"),
        Binding("delete,x", "app.delete_retained", "Del retained"),
        Binding("d", "app.diagnose", "Diagnose"),
        Binding("c", "app.profiles", "Connect"),
        Binding("ctrl+e", "app.export", "Export"),
        Binding("left_square_bracket", "message('older')", "Older message", group=_HISTORY),
        Binding("right_square_bracket", "message('newer')", "Newer message", group=_HISTORY),
        Binding("L", "message('live')", "Live message", group=_HISTORY),
        # The message tabs' own labels show these keys, which keeps the footer within 200 columns.
        *(
            Binding(key, f"message_view('{tab}')", f"{label} view", show=False, group=_VIEWS)
            for tab, label, key in MESSAGE_VIEWS
        ),
        Binding("P", "toggle_pause", "Pause"),
        Binding("q", "app.quit", "Quit"),
        Binding("r", "app.reconnect", "Reconnect"),
        Binding("f", "focus_frame_filters", "Frame filters"),
        Binding("R", "app.toggle_recording", "Record", group=_FILES),
        Binding("S", "app.search", "Search", group=_FILES),
        Binding("T", "app.stats", "Stats", group=_FILES),
        Binding("O", "app.open_file", "Open file", show=False),
        Binding("N", "app.pick_connection", "Connections", show=False),
    ]

    def __init__(self, workspace: Workspace, *, clock_offset: float | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.clock_offset = clock_offset
        self._frames_dirty = True
        self._last_error_toast = -ERROR_TOAST_INTERVAL
        self.ready = False

    @property
    def explorer_app(self) -> ExplorerApp:
        from tui.app import ExplorerApp

        assert isinstance(self.app, ExplorerApp)
        return self.app

    def compose(self) -> ComposeResult:
        workspace = self.workspace
        yield StatusLine(id="status")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield Input(placeholder="/ filter topics", id="topic-filter")
                yield TopicTreeView(workspace.tree, id="topics")
            with TabbedContent(id="main-tabs", initial="tab-message"):
                with TabPane(r"Message \[1]", id="tab-message"):
                    yield MessagePane(id="message", clock_offset=self.clock_offset)
                with TabPane(r"Frames \[2]", id="tab-frames"), Vertical():
                    with Horizontal(id="frame-filters"):
                        yield Select[str](_DIRECTIONS, prompt="any direction", id="filter-direction")
                        yield Select[int](_OPCODES, prompt="any opcode", id="filter-opcode")
                        yield Select[int](_PACKET_TYPES, prompt="any packet", id="filter-type")
                    yield Static(COLUMNS, id="frame-columns", markup=False)
                    yield FrameList(workspace.trace, id="frames")
                    yield FrameDetail(workspace.trace, id="frame-detail")
                with TabPane(r"Handshake \[3]", id="tab-handshake"):
                    yield HandshakeView(id="handshake")
                with TabPane(r"Sparkplug \[4]", id="tab-sparkplug"):
                    yield SparkplugPane(id="sparkplug")
        yield KeyBar(compact=True)

    def on_mount(self) -> None:
        self._status = self.query_one(StatusLine)
        self._tree = self.query_one(TopicTreeView)
        self._message = self.query_one(MessagePane)
        self._message.decoder = self.workspace.payloads
        self._sparkplug = self.query_one(SparkplugPane)
        self._frames = self.query_one(FrameList)
        self._handshake = self.query_one(HandshakeView)
        self._tabs = self.query_one("#main-tabs", TabbedContent)
        self._tree.rebuild()  # topics that arrived while the screen was being built
        self._load_handshake()
        self._status.show_status(self.workspace.status)
        self._tree.focus()
        self.ready = True

    def on_resize(self) -> None:
        # Narrow terminals: the topic pane gives way to the views first, then tab labels shorten.
        self.set_class(self.size.width < NARROW_WIDTH, "-narrow")
        self.call_after_refresh(self._fit_tabs)

    def _fit_tabs(self) -> None:
        width = self._tabs.size.width
        if width:
            relabel(self._tabs, _MAIN_TABS, width)

    # -- batches -----------------------------------------------------------------------

    @property
    def frames_visible(self) -> bool:
        return self._tabs.active == "tab-frames"

    def apply_batch(self, batch: Batch) -> None:
        """Show what one batch of the Workspace changed."""
        if not self.ready:
            return
        frames = self._frames
        self._status.show_status(batch.status, paused=not frames.follow, extra=self.status_extra())
        if batch.changed:
            self._tree.apply_changes(batch.changed)
            self._message.topic_changed(batch.changed)
        handshake = self._handshake
        for event in batch.events:
            if type(event) is HandshakeRequest or type(event) is HandshakeResponse:
                handshake.observe(event)
        if batch.errors:
            # A broker that died is the cause of the closed connection beside it: it is the
            # toast, whichever the socket told first; the others are counted.
            errors = batch.errors
            cause = next((e for e in errors if e.layer == "broker"), errors[-1])
            self._report_error(cause, len(errors))
        if self._tabs.active == "tab-sparkplug":
            self._sparkplug.refresh_from(self.workspace.payloads.sparkplug)
        if self.frames_visible:
            frames.update_from_trace()
            self._frames_dirty = False
        else:
            frames.scan()
            self._frames_dirty = True

    def file_opened(self) -> None:
        """The models were emptied for a file: start the tree, the frames and the handshake afresh."""
        self._tree.rebuild()
        self._handshake.clear()
        self._frames.time_origin = None
        self._frames.update_from_trace()
        self._status.show_status(self.workspace.status, extra=self.status_extra())

    def status_extra(self) -> str:
        """The file shown, or the recording in progress, for the end of the status line."""
        sink = self.workspace.recording
        return source_text(self.workspace.file, sink.status() if sink is not None else None)

    def show_message(self, message: TopicMessage, topic: str) -> None:
        """Open one message (a search result) in the message view, its topic selected."""
        node = self.workspace.tree.find(topic)
        if node is None:
            self.notify(not_in_tree_text(topic), severity="warning")
            return
        self._tree.reveal(node)
        self.action_show_tab("tab-message")

        def select() -> None:
            row = self._tree.node_for(node)
            if row is not None:
                self._tree.move_cursor(row)
            self._message.show_message(node, message)

        self.call_after_refresh(select)

    def _report_error(self, error: ErrorReported, count: int) -> None:
        """A toast for what went wrong (at most one every few seconds; all are in the trace)."""
        now = time.monotonic()
        # A dead embedded broker is the cause of what came before it (the socket may tell of the
        # closed connection a batch earlier): it is always shown.
        if error.layer != "broker" and now - self._last_error_toast < ERROR_TOAST_INTERVAL:
            return
        self._last_error_toast = now
        more = f" (and {count - 1} more)" if count > 1 else ""
        self.notify(f"{error.layer}: {error.message}{more}", severity="warning", timeout=6)

    def _load_handshake(self) -> None:
        """The latest handshake already in the trace (the screen may start after connecting)."""
        request = response = None
        for event in self.workspace.trace:
            if type(event) is HandshakeRequest:
                request, response = event, None
            elif type(event) is HandshakeResponse:
                response = event
        if request is not None:
            self._handshake.observe(request)
        if response is not None:
            self._handshake.observe(response)

    # -- pane messages -----------------------------------------------------------------

    def on_topic_selected(self, message: TopicSelected) -> None:
        self.query_one(MessagePane).show_topic(message.node)

    def on_frame_selected(self, message: FrameSelected) -> None:
        self.query_one(FrameDetail).show_frame(message.frame, message.position)

    def on_frame_jump(self, message: FrameJump) -> None:
        frames = self.query_one(FrameList)
        row = frames.row_of(message.conn, message.direction, message.index)
        if row is None:
            self.notify(
                f"frame #{message.index} is not in the list (dropped from the trace or hidden by a filter)",
                severity="warning",
            )
            return
        frames.go_to(row)
        frames.focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id == "main-tabs" and event.pane.id == "tab-frames":
            self._show_new_frames()
        elif event.tabbed_content.id == "main-tabs" and event.pane.id == "tab-sparkplug" and self.ready:
            self._sparkplug.refresh_from(self.workspace.payloads.sparkplug)

    def _show_new_frames(self) -> None:
        """Bring the frame list, kept up to date while hidden, on screen as it is now."""
        if self.ready and self._frames_dirty:
            self._frames.update_from_trace()
            self._frames_dirty = False

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "topic-filter":
            if event.value == "/":
                # The "/" that opened the filter can arrive after the focus moved here.
                event.input.value = ""
                return
            self.query_one(TopicTreeView).set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "topic-filter":
            self.query_one(TopicTreeView).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id not in ("filter-direction", "filter-opcode", "filter-type"):
            return
        event.stop()

        def value(widget_id: str) -> object:
            chosen = self.query_one(f"#{widget_id}", Select).value
            return None if chosen is Select.BLANK else chosen

        direction = value("filter-direction")
        opcode = value("filter-opcode")
        packet_type = value("filter-type")
        self.query_one(FrameList).set_filter(
            FrameFilter(
                direction=direction if isinstance(direction, str) else None,
                opcode=opcode if isinstance(opcode, int) else None,
                packet_type=PacketType(packet_type) if isinstance(packet_type, int) else None,
            )
        )

    # -- actions -----------------------------------------------------------------------

    def action_message(self, step: str) -> None:
        """Step through the selected topic's history: ``older``, ``newer`` or back to ``live``."""
        pane = self._message
        {"older": pane.action_older, "newer": pane.action_newer, "live": pane.action_live}[step]()

    def action_message_view(self, tab: str) -> None:
        """Show one view of the message (Text, JSON, Hex...) on the Message tab."""
        self.action_show_tab("tab-message")
        self.query_one("#message-tabs", TabbedContent).active = tab

    def action_open_frame(self) -> None:
        """Show the frame under the cursor of the frame list in the detail below it."""
        self.action_show_tab("tab-frames")
        self.query_one(FrameList).action_open()

    def action_filter_topics(self) -> None:
        self.query_one("#topic-filter", Input).focus()

    def action_show_tab(self, tab: str) -> None:
        """Show a tab and focus the widget its keys drive.

        A focused widget left on a hidden tab would pull Textual back to that tab (and
        j/k would move something off screen), so every tab names its widget.
        """
        if tab == "tab-frames":
            # Before the switch, so the list's new height and the tab's show in one layout.
            self._show_new_frames()
        self.query_one("#main-tabs", TabbedContent).active = tab
        target: dict[str, Widget] = {
            "tab-frames": self.query_one(FrameList),
            "tab-message": self.query_one(TopicTreeView),
            "tab-handshake": self.query_one(HandshakeView),
            "tab-sparkplug": self.query_one("#sparkplug-rows"),
        }
        widget = target.get(tab)
        if widget is not None:
            widget.focus()

    def action_focus_frame_filters(self) -> None:
        self.action_show_tab("tab-frames")
        self.query_one("#filter-direction", Select).focus()

    def action_toggle_pause(self) -> None:
        frames = self.query_one(FrameList)
        frames.action_toggle_follow()
        self.notify("following live frames" if frames.follow else "paused: the frame list stays still")

    def show_frames(self) -> None:
        self.action_show_tab("tab-frames")
