"""``mqttws-tui``: the terminal explorer for MQTT over WebSocket.

With no arguments it starts the embedded broker with its demo publisher and connects
to it over WebSocket, so the first screen already shows live topics, frames and the
handshake. ``mqttws-tui URL [flags]`` and ``mqttws-tui --profile NAME`` connect
elsewhere (the flags are the CLI's, from :mod:`explorer.cli.connopts`).

The app holds one :class:`~explorer.workspace.Workspace` and no protocol logic: a worker
iterates ``Workspace.events()`` and hands each batch to the main screen; user actions
become Workspace intents. A failed connect opens the diagnoser instead of a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen

from explorer.client.options import ConnectionOptions
from explorer.errors import ExplorerError
from explorer.present.status import Severity
from explorer.workspace import EMBEDDED_SUBSCRIPTIONS, Workspace
from explorer.workspace.batching import Batch
from explorer.workspace.flow import ConnectFlow
from explorer.workspace.pump import BatchPump
from explorer.workspace.runtime import RuntimePolicy
from tui.screens.dialogs import ConfirmScreen, SubscribeScreen
from tui.screens.main import MainScreen
from tui.widgets.message import MESSAGE_VIEWS

if TYPE_CHECKING:
    from explorer.broker.earlychild import EarlyChild

__all__ = ["PALETTE_TEXT", "ExplorerApp", "build_parser", "main"]

DEFAULT_SUBSCRIPTIONS: tuple[tuple[str, int], ...] = (("#", 0),)
SCREENSHOT_DIR = "."


_QUIT = ("quit", "app.quit")  # Textual's own "Quit" command is in the palette already
# Command palette title and help of each bound action (the footer shows short names).
PALETTE_TEXT: dict[str, tuple[str, str]] = {
    "save_screenshot": ("Save screenshot", "Save an SVG of the screen"),
    "show_tab('tab-message')": ("Message tab", "Show the selected topic's message"),
    "show_tab('tab-frames')": ("Frames tab", "Show the WebSocket frame trace"),
    "show_tab('tab-handshake')": ("Handshake tab", "Show the HTTP upgrade request and response"),
    "filter_topics": ("Filter topics", "Type to filter the topic tree"),
    "app.subscribe": ("Subscribe", "Subscribe to a topic filter"),
    "app.unsubscribe": ("Unsubscribe", "Remove a subscription"),
    "app.publish": ("Publish", "Publish a message, or a saved one"),
    "app.delete_retained": ("Delete retained", "Clear retained messages at and below the topic"),
    "app.diagnose": ("Diagnose", "Probe the connection layer by layer"),
    "app.profiles": ("Connect / profiles", "Pick, create, edit or delete profiles"),
    "app.reconnect": ("Reconnect", "Connect again, keeping the subscriptions"),
    "app.export": ("Export", "Export the trace or the messages"),
    "message('older')": ("Older message", "Step back through the topic's history"),
    "message('newer')": ("Newer message", "Step forward through the topic's history"),
    "message('live')": ("Live message", "Follow the topic's newest message again"),
    "focus_frame_filters": ("Frame filters", "Filter frames by direction, opcode or packet type"),
    "toggle_pause": ("Pause / follow frames", "Stop or resume following live frames"),
    "app.toggle_recording": ("Record", "Start or stop recording the session to a file"),
    "app.search": ("Search", "Search the open file or the session's recording"),
    "app.stats": ("Stats", "Top talkers per topic and subtree"),
    "app.open_file": ("Open file", "Show a recording, pcap or pcapng read-only"),
    "app.pick_connection": ("Connections", "Show one connection of the open file, or all"),
    **{
        f"message_view('{tab}')": (f"{label} view", f"Show the message's {label} tab")
        for tab, label, _ in MESSAGE_VIEWS
    },
}


REPAINT_WAIT = 0.5
"""Seconds the batch pump waits for a batch's repaint at most (the app may be closing)."""


_USER_INPUT = (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)


class ExplorerApp(App[None]):
    """The terminal explorer.

    Args:
        workspace: the models and intents; a new Workspace when None (reading through
            ``runtime``'s read gate).
        runtime: the process's runtime policy (:class:`RuntimePolicy`); every key press,
            click and wheel turn is reported to it. ``mqttws-tui`` installs the
            interactive one; None changes nothing.
        options: where to connect; None starts the embedded broker (``demo`` traffic on).
        subscriptions: topic filters subscribed after connecting (default ``#``).
        autostart: connect (or start the embedded broker) when the app starts; tests
            that feed the Workspace themselves turn it off.
        max_rate_hz: how often the screen takes a batch from the Workspace.
        clock_offset: added to event times (monotonic seconds) to show wall-clock
            times; measured at start when None (tests pin it).
        file: a recording, pcap or pcapng to show read-only instead of connecting.
    """

    TITLE = "mqttws-explorer"
    CSS_PATH = str(Path(__file__).with_name("styles.tcss"))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        # priority: also inside dialogs, whose inputs would otherwise take the key
        Binding("f12", "save_screenshot", "Screenshot", priority=True),
    ]

    def __init__(
        self,
        workspace: Workspace | None = None,
        options: ConnectionOptions | None = None,
        *,
        demo: bool = True,
        tls_demo: bool = False,
        subscriptions: Sequence[tuple[str, int]] | None = None,
        autostart: bool = True,
        max_rate_hz: float = 20.0,
        profile_name: str | None = None,
        screenshot_dir: str = SCREENSHOT_DIR,
        clock_offset: float | None = None,
        file: str | None = None,
        runtime: RuntimePolicy | None = None,
    ) -> None:
        super().__init__()
        self.file = file
        self.runtime = runtime if runtime is not None else RuntimePolicy()
        self.workspace = workspace if workspace is not None else Workspace(read_gate=self.runtime.read_gate)
        self.options = options
        self.demo = demo
        self.tls_demo = tls_demo
        self.subscriptions = tuple(subscriptions) if subscriptions is not None else None
        self.autostart = autostart
        self.max_rate_hz = max_rate_hz
        self.profile_name = profile_name
        self.screenshot_dir = screenshot_dir
        self.main_screen = MainScreen(self.workspace, clock_offset=clock_offset)
        self.pump: BatchPump | None = None
        self.flow = ConnectFlow(self.workspace, self)

    # -- lifetime -----------------------------------------------------------------------

    def post_message(self, message: Message) -> bool:
        if isinstance(message, _USER_INPUT):
            # As early as the input reaches the app: network reads step aside for it, and
            # a due full collector pass waits until the user stops (explorer.workspace.runtime).
            self.runtime.note_input()
        return super().post_message(message)

    def on_mount(self) -> None:
        self.push_screen(self.main_screen)
        self.run_worker(self._pump(), name="batches", group="batches", exit_on_error=False)
        if self.autostart:
            self.run_worker(self._start(), name="start", exit_on_error=False)

    async def _pump(self) -> None:
        """Hand every batch of the Workspace to the main screen (:class:`BatchPump`)."""
        screen = self.main_screen

        async def repainted() -> None:
            if not screen.ready:
                # Nothing was drawn (the screen is still being built): waiting for a repaint
                # would only count as the view's work and hold back the first topics.
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REPAINT_WAIT):
                    await screen.wait_for_refresh()

        def display_error(exc: Exception) -> None:
            self.log.error(f"cannot show a batch: {exc!r}")
            self.notify(f"display error: {exc!r}", severity="error")

        def apply(batch: Batch) -> None:
            screen.apply_batch(batch)  # looked up per batch: the load benchmark times it

        self.pump = BatchPump(
            self.workspace,
            apply,
            repainted,
            max_rate_hz=self.max_rate_hz,
            max_events=5000,
            on_error=display_error,
        )
        await self.pump.run()

    @property
    def batches(self) -> int:
        """Batches handed to the main screen so far."""
        return self.pump.batches if self.pump is not None else 0

    async def _start(self) -> None:
        self.workspace.track_topic_stats()
        if self.file is not None:
            await self.open_path(self.file)
            return
        options = self.options
        if options is None:
            subscriptions = self.subscriptions if self.subscriptions is not None else EMBEDDED_SUBSCRIPTIONS
            await self.flow.start_embedded(subscriptions, demo=self.demo, tls=self.tls_demo)
            return
        subscriptions = self.subscriptions if self.subscriptions is not None else DEFAULT_SUBSCRIPTIONS
        await self.connect_to(options, subscriptions)

    def action_tls_demo(self) -> None:
        """Start the embedded broker with its wss:// listener and connect over TLS."""
        self.run_worker(
            self.flow.start_embedded(EMBEDDED_SUBSCRIPTIONS, demo=self.demo, tls=True), exit_on_error=False
        )

    async def connect_to(
        self, options: ConnectionOptions, subscriptions: Sequence[tuple[str, int]] = DEFAULT_SUBSCRIPTIONS
    ) -> bool:
        """Connect and subscribe (:class:`ConnectFlow`); a failure opens the diagnoser."""
        return await self.flow.run(options, subscriptions)

    async def subscribe(self, topic_filter: str, qos: int = 0) -> None:
        await self.flow.subscribe(topic_filter, qos)

    # -- the connect flow's outcomes (explorer.workspace.flow.FlowListener) ---------------

    def flow_connecting(self, options: ConnectionOptions) -> None:
        self.options = options

    def flow_connected(self, url: str) -> None:
        pass  # the status line says so

    def flow_failed(self, message: str, options: ConnectionOptions) -> None:
        self.notify(message, title="Connection failed", severity="error", timeout=8)
        self.open_diagnosis(options, automatic=True)

    def flow_subscribed(self, topic_filter: str, codes: list[int]) -> None:
        pass  # the status line and the tree show it

    def flow_notice(self, text: str, severity: Severity) -> None:
        level: Literal["information", "warning", "error"] = (
            "error"
            if severity is Severity.ERROR
            else "warning"
            if severity is Severity.WARNING
            else "information"
        )
        self.notify(text, severity=level, timeout=10 if level == "error" else 5)

    async def on_unmount(self) -> None:
        await self.workspace.close()

    # -- actions (bound on the main screen, listed in the command palette) --------------

    def _selected_topic(self) -> str | None:
        from tui.widgets.topics import TopicTreeView

        node = self.main_screen.query_one(TopicTreeView).selected_topic
        return node.topic if node is not None and node.topic else None

    def action_subscribe(self) -> None:
        topic = self._selected_topic()

        def done(answer: tuple[str, int] | None) -> None:
            if answer is not None:
                self.run_worker(self.subscribe(*answer), exit_on_error=False)

        self.push_screen(SubscribeScreen(f"{topic}/#" if topic else "#"), done)

    def action_unsubscribe(self) -> None:
        subscribed = list(self.workspace.subscriptions)
        if not subscribed:
            self.notify("no subscriptions to remove", severity="warning")
            return
        from tui.screens.dialogs import PromptScreen

        async def unsubscribe(topic_filter: str) -> None:
            try:
                await self.workspace.unsubscribe(topic_filter)
                self.notify(f"unsubscribed from {topic_filter}")
            except ExplorerError as exc:
                self.notify(str(exc), severity="error")

        def done(answer: str | None) -> None:
            if answer:
                self.run_worker(unsubscribe(answer.strip()), exit_on_error=False)

        self.push_screen(
            PromptScreen(f"Unsubscribe from (subscribed: {', '.join(subscribed)})", subscribed[-1]), done
        )

    def action_delete_retained(self) -> None:
        topic = self._selected_topic()
        if topic is None:
            self.notify("select a topic first", severity="warning")
            return
        count = len(self.workspace.retained_topics(topic))
        if count == 0:
            self.notify(f"no retained messages at or below {topic}", severity="warning")
            return

        async def clear() -> None:
            try:
                cleared = await self.workspace.clear_retained(topic)
                self.notify(f"cleared {cleared} retained message(s) under {topic}")
            except ExplorerError as exc:
                self.notify(str(exc), severity="error")

        def done(yes: bool | None) -> None:
            if yes:
                self.run_worker(clear(), exit_on_error=False)

        self.push_screen(
            ConfirmScreen(f"Delete {count} retained message(s) at and below {topic}?", yes="Delete"), done
        )

    def action_publish(self) -> None:
        from tui.screens.publish import PublishScreen

        self.push_screen(PublishScreen(self.workspace, topic=self._selected_topic() or ""))

    def open_diagnosis(self, options: ConnectionOptions | None = None, *, automatic: bool = False) -> None:
        from tui.screens.diagnose import DiagnoseScreen

        self.push_screen(DiagnoseScreen(self.workspace, options or self.options, run=automatic))

    def action_reconnect(self) -> None:
        """Connect again with the last options and the current subscriptions."""
        if self.options is None:
            self.notify("nothing to reconnect to yet", severity="warning")
            return
        subscriptions = tuple(self.workspace.subscriptions.items()) or DEFAULT_SUBSCRIPTIONS
        self.run_worker(self._reconnect(self.options, subscriptions), name="connect", exit_on_error=False)

    async def _reconnect(self, options: ConnectionOptions, subscriptions: Sequence[tuple[str, int]]) -> None:
        await self.flow.reconnect(options, subscriptions)

    def connect_with(self, options: ConnectionOptions) -> None:
        """Connect with ``options`` (from the diagnoser), keeping the current subscriptions."""
        subscriptions = tuple(self.workspace.subscriptions.items()) or DEFAULT_SUBSCRIPTIONS
        self.notify(f"connecting to {options.url}")
        self.run_worker(self.connect_to(options, subscriptions), name="connect", exit_on_error=False)

    def action_diagnose(self) -> None:
        self.open_diagnosis(self.options)

    def action_profiles(self) -> None:
        from tui.screens.profiles import ProfilesScreen

        self.push_screen(ProfilesScreen(self.workspace))

    def action_export(self) -> None:
        from tui.screens.export import ExportScreen

        self.push_screen(ExportScreen(self.workspace))

    # -- files, recordings, search, stats --------------------------------------------

    async def open_path(self, path: str) -> bool:
        """Show a recording or a capture read-only; a bad file is a toast, not a crash."""
        try:
            source = await self.workspace.open_file(path)
        except ExplorerError as exc:
            self.notify(str(exc), title="Cannot open", severity="error", timeout=10)
            return False
        self.options = None
        self.main_screen.file_opened()
        kind = "recording" if source.kind == "recording" else "capture"
        self.notify(f"{source.name}: {kind} shown read-only (N: pick a connection)")
        return True

    def action_open_file(self) -> None:
        from tui.screens.dialogs import PromptScreen

        def done(answer: str | None) -> None:
            if answer and answer.strip():
                self.run_worker(self.open_path(answer.strip()), exit_on_error=False)

        self.push_screen(
            PromptScreen("Open a recording, pcap or pcapng (read-only)", "", placeholder="path"), done
        )

    def action_pick_connection(self) -> None:
        from explorer.present.recording import picker_rows
        from tui.screens.recording import ConnectionPickerScreen

        source = self.workspace.file
        if source is None:
            self.notify("no file is open (O opens one)", severity="warning")
            return

        async def show(conn: int | None) -> None:
            await self.workspace.show_file_connection(conn)
            self.main_screen.file_opened()

        def done(row: object) -> None:
            conn = getattr(row, "conn", -1)
            if row is not None and conn != -1:
                self.run_worker(show(conn), exit_on_error=False)

        rows = picker_rows(source.connections())
        self.push_screen(ConnectionPickerScreen(f"Connections of {source.name}", rows, source.conn), done)

    def action_toggle_recording(self) -> None:
        from explorer.present.recording import NO_LIVE_SESSION, default_recording_name, recorded_text
        from tui.screens.dialogs import PromptScreen

        workspace = self.workspace
        if workspace.recording is not None and workspace.recording.active:

            async def stop() -> None:
                try:
                    status = await workspace.stop_recording()
                except ExplorerError as exc:
                    self.notify(str(exc), severity="error", timeout=10)
                    return
                if status is not None:
                    self.notify(recorded_text(status))

            self.run_worker(stop(), exit_on_error=False)
            return
        if workspace.file is not None:
            self.notify(NO_LIVE_SESSION, severity="warning")
            return

        def done(answer: str | None) -> None:
            if not answer or not answer.strip():
                return
            try:
                workspace.start_recording(answer.strip())
            except ExplorerError as exc:
                self.notify(str(exc), severity="error", timeout=10)
                return
            self.notify(f"recording to {answer.strip()} (R stops)")

        self.push_screen(PromptScreen("Record the session to a new file", default_recording_name()), done)

    def action_search(self) -> None:
        from tui.screens.recording import SearchScreen

        def done(message: object) -> None:
            from explorer.model.topictree import TopicMessage
            from explorer.recording import Message

            if isinstance(message, Message):
                shown = TopicMessage(
                    message.topic,
                    message.payload,
                    message.qos,
                    message.retain,
                    message.time,
                    message.properties,
                )
                self.main_screen.show_message(shown, message.topic)

        self.push_screen(SearchScreen(self.workspace), done)

    def action_stats(self) -> None:
        from tui.screens.recording import StatsScreen

        self.push_screen(StatsScreen(self.workspace))

    def action_save_screenshot(self) -> None:
        path = self.save_screenshot(path=self.screenshot_dir)
        self.notify(f"screenshot saved to {path}")

    def action_show_frames(self) -> None:
        self.main_screen.show_frames()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's commands, one per key binding of the app and the main screen, and a few more.

        The binding commands are made from the BINDINGS lists, so a new key is in the
        palette without a second list to keep in step.
        """
        # Textual's own "Screenshot" would be a second entry beside ours (f12, --screenshot-dir).
        yield from (
            command for command in super().get_system_commands(screen) if command.title != "Screenshot"
        )
        main_screen = self.main_screen
        seen: set[str] = set()
        for owner, bindings in ((self, self.BINDINGS), (main_screen, MainScreen.BINDINGS)):
            for binding in bindings:
                if not isinstance(binding, Binding) or binding.action in seen or binding.action in _QUIT:
                    continue
                seen.add(binding.action)
                title, help_text = PALETTE_TEXT.get(
                    binding.action, (binding.description, binding.description)
                )
                keys = " or ".join(self.get_key_display(Binding(key, "")) for key in binding.key.split(","))
                yield SystemCommand(
                    title, f"{help_text} ({keys})", partial(self.run_action, binding.action, owner)
                )
        yield SystemCommand(
            "Open frame", "Show the selected frame's fields and bytes (enter)", main_screen.action_open_frame
        )
        yield SystemCommand(
            "Demo broker over TLS",
            "Start the embedded broker with wss:// (a local CA) and connect over TLS",
            self.action_tls_demo,
        )
        yield SystemCommand("Expand all topics", "Open every node of the tree (e)", self._expand_all)
        yield SystemCommand("Collapse all topics", "Close every node of the tree (E)", self._collapse_all)

    def _expand_all(self) -> None:
        from tui.widgets.topics import TopicTreeView

        self.main_screen.query_one(TopicTreeView).action_expand_all()

    def _collapse_all(self) -> None:
        from tui.widgets.topics import TopicTreeView

        self.main_screen.query_one(TopicTreeView).action_collapse_all()


def build_parser() -> argparse.ArgumentParser:
    from explorer.cli.frontend import add_frontend_arguments

    parser = argparse.ArgumentParser(
        prog="mqttws-tui",
        description=(
            "Terminal explorer for MQTT over WebSocket. With no URL and no --profile it starts "
            "an embedded broker with demo traffic and connects to it."
        ),
    )
    add_frontend_arguments(parser)
    parser.add_argument(
        "--screenshot-dir", default=SCREENSHOT_DIR, metavar="DIR", help="where f12 saves SVG screenshots"
    )
    return parser


def main(argv: Sequence[str] | None = None, *, early: EarlyChild | None = None) -> None:
    """Run the terminal explorer (``mqttws-tui`` starts here through :mod:`tui.launch`).

    ``early`` is the embedded broker's child started before the imports, for the
    Workspace to take over.
    """
    from explorer.cli.frontend import resolve_frontend_start

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        start = resolve_frontend_start(args)
    except ExplorerError as exc:
        print(f"mqttws-tui: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    options, subscriptions = start.options, start.subscriptions
    Path(args.screenshot_dir).mkdir(parents=True, exist_ok=True)
    runtime = RuntimePolicy.interactive()  # short collector pauses, input before network reads
    app = ExplorerApp(
        runtime=runtime,
        file=start.file,
        options=options,
        demo=not args.no_demo,
        tls_demo=args.tls_demo,
        subscriptions=subscriptions,
        profile_name=args.profile,
        screenshot_dir=args.screenshot_dir,
    )
    if start.codecs is not None:
        app.workspace.set_codecs(start.codecs)
    if early is not None:
        app.workspace.adopt_early_broker(early)
    from tui.widgets.decoded import graphics_image_class

    graphics_image_class()  # textual-image asks the terminal about graphics now, before Textual runs
    runtime.install()
    app.run()
