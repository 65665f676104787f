"""The main window: docks around the message panel, menus, toolbar and status bar.

Docks (topics, trace, publish, handshake) can be moved and closed; their layout is
saved with ``QSettings`` (``saveState``/``saveGeometry``) on close and restored on
start. Every user action becomes an intent on the :class:`~gui.bridge.WorkspaceBridge`;
every change shown comes from its batches.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QToolBar,
    QWidget,
)

from explorer import __version__
from explorer.client.options import ConnectionOptions
from explorer.errors import ExplorerError
from explorer.model.events import FrameEvent, HandshakeRequest, HandshakeResponse
from explorer.model.topictree import TopicMessage, TopicNode
from explorer.mqtt.describe import suback_failed
from explorer.present.recording import (
    FILE_TYPES,
    NO_LIVE_SESSION,
    default_recording_name,
    not_in_tree_text,
    picker_rows,
    recorded_text,
    source_text,
)
from explorer.recording import Message
from explorer.workspace import DEFAULT_SUBSCRIPTIONS, Batch, ConnectionStatus, Subscriptions
from gui.bridge import WorkspaceBridge
from gui.widgets.diagnose_dialog import DiagnoseDialog
from gui.widgets.handshake_view import HandshakeView
from gui.widgets.message_panel import MessagePanel
from gui.widgets.publish_panel import PublishPanel
from gui.widgets.recording_dialogs import SearchDialog, StatsDialog, pick_connection
from gui.widgets.sparkplug_view import SparkplugPanel
from gui.widgets.status import StatusLine
from gui.widgets.topic_panel import TopicPanel
from gui.widgets.trace_panel import TracePanel

__all__ = ["MainWindow"]

SETTINGS_ORG = "mqttws-explorer"
SETTINGS_APP = "mqttws-explorer"
_STATE_VERSION = 1
_FILE_FILTER = ";;".join(f"{name} ({' '.join(patterns)})" for name, patterns in FILE_TYPES)


class MainWindow(QMainWindow):
    """The explorer window over one Workspace (through ``bridge``)."""

    def __init__(
        self, bridge: WorkspaceBridge, parent: QWidget | None = None, *, settings: QSettings | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.workspace = bridge.workspace
        self.settings = settings if settings is not None else QSettings(SETTINGS_ORG, SETTINGS_APP)
        self.setWindowTitle("mqttws-explorer")
        self.setObjectName("MainWindow")
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.AllowNestedDocks
        )

        self.messages = MessagePanel()
        self.messages.decoder = self.workspace.payloads
        self.setCentralWidget(self.messages)
        self.sparkplug = SparkplugPanel()
        self.topics = TopicPanel(self.workspace.tree, self.workspace.retained_topics)
        self.trace = TracePanel(self.workspace.trace, time_origin=time.monotonic())
        self.publisher = PublishPanel(bridge)
        self.handshake = HandshakeView()
        self.topics_dock = self._dock("Topics", "topics", self.topics, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.trace_dock = self._dock(
            "Frame trace", "trace", self.trace, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.publish_dock = self._dock(
            "Publish", "publish", self.publisher, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.handshake_dock = self._dock(
            "Handshake", "handshake", self.handshake, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.sparkplug_dock = self._dock(
            "Sparkplug B", "sparkplug", self.sparkplug, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.tabifyDockWidget(self.publish_dock, self.handshake_dock)
        self.tabifyDockWidget(self.publish_dock, self.sparkplug_dock)
        self.publish_dock.raise_()
        self.status_line = StatusLine()
        self.setStatusBar(self.status_line)
        self._build_toolbar()
        self._build_menus()
        self.resize(1400, 900)
        self.resizeDocks([self.topics_dock, self.publish_dock], [430, 330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.trace_dock], [380], Qt.Orientation.Vertical)
        self._default_state = self.saveState(_STATE_VERSION)
        self.restore_layout()
        stored = str(self.settings.value("appearance", "system"))
        if stored != "system" and not os.environ.get("MQTTWS_COLOR_SCHEME"):
            self.set_appearance(stored)

        self.topics.nodeSelected.connect(self._node_selected)
        self.topics.subscribeRequested.connect(lambda f: bridge.spawn(bridge.subscribe(f)))
        self.topics.unsubscribeRequested.connect(lambda f: bridge.spawn(bridge.unsubscribe(f)))
        self.topics.deleteRetainedRequested.connect(self.delete_retained)
        self.topics.publishRequested.connect(self._publish_to)
        self.publisher.message.connect(lambda text: self.status_line.showMessage(text, 5000))
        self.sparkplug.rebirthRequested.connect(
            lambda topic, payload: bridge.spawn(bridge.publish(topic, payload))
        )
        bridge.batchReady.connect(self.on_batch)
        bridge.connected.connect(self._connected)
        bridge.connectFailed.connect(self._connect_failed)
        bridge.failed.connect(lambda what, message: self.status_line.showMessage(message, 10000))
        bridge.published.connect(lambda topic: self.status_line.showMessage(f"published to {topic}", 3000))
        bridge.subscribed.connect(self._subscribed)
        bridge.retainedCleared.connect(
            lambda topic, n: self.status_line.showMessage(
                f"cleared {n} retained messages under {topic}", 5000
            )
        )
        bridge.embeddedStarted.connect(self.url.setText)
        bridge.notice.connect(lambda text: self.status_line.showMessage(text, 15000))
        self.diagnose_dialog: DiagnoseDialog | None = None
        self.search_dialog: SearchDialog | None = None
        self.stats_dialog: StatsDialog | None = None
        self._origin_pending = False
        self.last_batch: Batch | None = None

    # -- construction ----------------------------------------------------------------

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{name}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(
        self, text: str, slot: object, shortcut: QKeySequence.StandardKey | str | None = None
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    def _build_toolbar(self) -> None:
        bar = QToolBar("Connection")
        bar.setObjectName("toolbar-connection")
        self.url = QLineEdit()
        self.url.setPlaceholderText("ws://host:port/mqtt")
        self.url.setMinimumWidth(320)
        self.url.returnPressed.connect(self.connect_url)
        self.subscribe_field = QLineEdit()
        self.subscribe_field.setPlaceholderText("subscribe: topic/#")
        self.subscribe_field.setMaximumWidth(220)
        self.subscribe_field.returnPressed.connect(self._subscribe_field)
        bar.addWidget(self.url)
        self.connect_action = self._action("Connect", self.connect_url)
        self.disconnect_action = self._action(
            "Disconnect", lambda: self.bridge.spawn(self.bridge.close_connection())
        )
        self.demo_action = self._action("Demo broker", lambda: self.bridge.spawn(self.bridge.start_demo()))
        self.tls_demo_action = self._action(
            "Demo broker over TLS (wss://)", lambda: self.bridge.spawn(self.bridge.start_demo(tls=True))
        )
        self.diagnose_action = self._action("Diagnose…", self.open_diagnose, "Ctrl+D")
        self.open_action = self._action(
            "Open recording or capture…",
            lambda: self.bridge.spawn(self.open_file()),
            QKeySequence.StandardKey.Open,
        )
        self.connections_action = self._action(
            "Connections of the file…", self.pick_connection, "Ctrl+Shift+O"
        )
        self.record_action = self._action("Record", self.toggle_recording, "Ctrl+R")
        self.record_action.setCheckable(True)
        self.search_action = self._action("Search messages…", self.open_search, "Ctrl+K")
        self.stats_action = self._action("Stats (top talkers)…", self.open_stats, "Ctrl+T")
        self.profiles_action = self._action("Profiles…", self.open_profiles, "Ctrl+P")
        for action in (self.connect_action, self.disconnect_action, self.demo_action):
            bar.addAction(action)
        bar.addSeparator()
        bar.addWidget(self.subscribe_field)
        bar.addSeparator()
        bar.addAction(self.profiles_action)
        bar.addAction(self.diagnose_action)
        bar.addSeparator()
        for action in (self.record_action, self.search_action, self.stats_action):
            bar.addAction(action)
        self.addToolBar(bar)
        self.toolbar = bar

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.connections_action)
        file_menu.addAction(self.record_action)
        file_menu.addSeparator()
        file_menu.addAction(self.profiles_action)
        file_menu.addSeparator()
        file_menu.addAction(self._action("Export trace…", self.export_trace, QKeySequence.StandardKey.Save))
        file_menu.addAction(
            # Not StandardKey.SaveAs: several platforms map it to no key at all.
            self._action("Export messages…", self.export_messages, "Ctrl+Shift+S")
        )
        file_menu.addSeparator()
        file_menu.addAction(self._action("Quit", self.close, QKeySequence.StandardKey.Quit))
        edit = menu.addMenu("&Edit")
        edit.addAction(self._action("Find topic", self._focus_search, QKeySequence.StandardKey.Find))
        edit.addAction(self._action("Filter trace", self.trace.search.setFocus, "Ctrl+Shift+F"))
        edit.addAction(self.search_action)
        # Copy and Delete act on the topic tree only (elsewhere they keep their usual meaning).
        for action in (
            self._action("Copy topic", self._copy_topic, QKeySequence.StandardKey.Copy),
            self._action(
                "Delete retained under selection", self._delete_selected, QKeySequence.StandardKey.Delete
            ),
        ):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.topics.view.addAction(action)
            edit.addAction(action)
        conn = menu.addMenu("&Connection")
        for action in (
            self.connect_action,
            self.disconnect_action,
            self.demo_action,
            self.tls_demo_action,
            self.diagnose_action,
        ):
            conn.addAction(action)
        conn.addAction(self._action("Publish", self.publisher.publish, "Ctrl+Return"))
        view = menu.addMenu("&View")
        for dock in (self.topics_dock, self.trace_dock, self.publish_dock, self.handshake_dock):
            view.addAction(dock.toggleViewAction())
        view.addAction(self.stats_action)
        view.addSeparator()
        view.addAction(self._action("Pause trace", self.trace.pause.toggle, "Ctrl+Space"))
        view.addAction(self._action("Reset layout", self.reset_layout))
        appearance = view.addMenu("Appearance")
        self.appearance_group = QActionGroup(self)
        current = str(self.settings.value("appearance", "system"))
        for choice in ("system", "light", "dark"):
            action = QAction(
                {"system": "Follow the system"}.get(choice, choice.title()), self, checkable=True
            )
            action.setData(choice)
            action.setChecked(choice == current)
            action.triggered.connect(lambda _checked=False, c=choice: self.set_appearance(c))
            self.appearance_group.addAction(action)
            appearance.addAction(action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self._action("About", self._about, QKeySequence.StandardKey.HelpContents))

    def set_appearance(self, choice: str) -> None:
        """Light, dark or the system's scheme, kept for the next start."""
        from gui.app import apply_color_scheme

        apply_color_scheme(QApplication.instance(), choice)
        self.settings.setValue("appearance", choice)
        for action in self.appearance_group.actions():
            action.setChecked(action.data() == choice)

    # -- layout persistence ----------------------------------------------------------

    def restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state, _STATE_VERSION)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(_STATE_VERSION))
        self.settings.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, _STATE_VERSION)
        for dock in (self.topics_dock, self.trace_dock, self.publish_dock, self.handshake_dock):
            dock.show()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        super().closeEvent(event)

    # -- batches ---------------------------------------------------------------------

    def on_batch(self, batch: Batch) -> None:
        """Apply one batch to every view (at most ~20 times a second)."""
        self.last_batch = batch
        if self._origin_pending and len(self.workspace.trace):
            # A file's times are its own: the trace counts from its first event.
            self._origin_pending = False
            self.trace.model.time_origin = self.workspace.trace[0].time
        self.topics.refresh(batch.changed)
        node = self.messages.node
        if node is not None and (node in batch.changed or self.messages.message is None):
            self.messages.refresh()
        self.trace.refresh()
        for event in batch.events:
            if isinstance(event, HandshakeRequest | HandshakeResponse):
                self.handshake.add(event)
        if batch.errors:
            self.status_line.showMessage(batch.errors[-1].message, 10000)
        if self.sparkplug.isVisible():
            self.sparkplug.refresh_from(self.workspace.payloads.sparkplug)
        self.show_status(batch.status)

    def show_status(self, status: ConnectionStatus) -> None:
        sink = self.workspace.recording
        recording = sink.status() if sink is not None else None
        model = self.status_line.show_status(status, source_text(self.workspace.file, recording))
        if self.record_action.isChecked() != bool(recording and recording.active):
            self.record_action.setChecked(bool(recording and recording.active))
        if self.windowTitle() != model.title:
            self.setWindowTitle(model.title)
        self.connect_action.setEnabled(True)
        self.disconnect_action.setEnabled(status.state.active)

    # -- intents ---------------------------------------------------------------------

    def connect_url(self) -> None:
        url = self.url.text().strip()
        if not url:
            self.status_line.showMessage("give a broker URL, e.g. ws://localhost:9001/mqtt", 5000)
            return
        self.connect_options(self.workspace.options_for(url))

    def connect_options(
        self, options: ConnectionOptions, subscriptions: Subscriptions = DEFAULT_SUBSCRIPTIONS
    ) -> None:
        self.url.setText(options.url)
        self.bridge.spawn(self.bridge.connect_to(options, subscriptions))

    def _connected(self, url: str) -> None:
        self.status_line.showMessage(f"connected to {url}", 3000)

    def _connect_failed(self, message: str, options: ConnectionOptions) -> None:
        """Offer the diagnoser (a window-modal box: the event loop keeps running)."""
        self.status_line.showMessage(message, 10000)
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Connection failed",
            f"{message}\n\nRun the diagnoser to find which layer fails?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setObjectName("connect-failed")
        box.button(QMessageBox.StandardButton.Yes).clicked.connect(
            lambda: self.open_diagnose(options, run=True)
        )
        box.finished.connect(box.deleteLater)
        self.failure_box = box
        box.open()

    def _subscribed(self, topic_filter: str, codes: list[int]) -> None:
        # A refusal arrives as the connect flow's notice (``failed``), in the terminal's words.
        if not (codes and suback_failed(codes[0])):
            self.status_line.showMessage(f"subscribed to {topic_filter}", 3000)

    def _subscribe_field(self) -> None:
        text = self.subscribe_field.text().strip()
        if text:
            self.bridge.spawn(self.bridge.subscribe(text))
            self.subscribe_field.clear()

    def _node_selected(self, node: TopicNode | None) -> None:
        self.messages.show_node(node)
        if node is not None:
            # The publish topic follows the selection, so a publish never goes to a stale topic.
            self.publisher.topic.setText(node.topic)

    def _publish_to(self, topic: str) -> None:
        self.publisher.topic.setText(topic)
        self.publish_dock.show()
        self.publish_dock.raise_()
        self.publisher.payload.setFocus()

    def delete_retained(self, topic: str) -> None:
        """Ask (window-modal, non-blocking), then clear the retained messages under ``topic``."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Delete retained messages",
            f"Publish empty retained messages to every retained topic under {topic!r}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.button(QMessageBox.StandardButton.Yes).clicked.connect(
            lambda: self.bridge.spawn(self.bridge.clear_retained(topic))
        )
        box.finished.connect(box.deleteLater)
        self.confirm_box = box
        box.open()

    def _delete_selected(self) -> None:
        node = self.topics.current_node()
        if node is not None:
            self.delete_retained(node.topic)

    def _copy_topic(self) -> None:
        node = self.topics.current_node()
        if node is not None:
            from PySide6.QtGui import QGuiApplication

            QGuiApplication.clipboard().setText(node.topic)

    def _focus_search(self) -> None:
        self.topics_dock.show()
        self.topics.search.setFocus()
        self.topics.search.selectAll()

    def select_demo_topic(self, topic: str = "demo/sensors/kitchen/telemetry") -> bool:
        """Select a topic (by default a JSON topic of the demo), e.g. for a screenshot."""
        selected = self.topics.select_topic(topic)
        if selected:
            self.messages.tabs.setCurrentIndex(self.messages.TABS.index("JSON"))
            self.messages.refresh(force=True)
            model = self.trace.model
            frames = [
                row
                for row in range(max(0, model.rowCount() - 40), model.rowCount())
                if isinstance(event := model.event_at(row), FrameEvent) and event.parts
            ]
            if frames:
                self.trace.select_row(frames[-1])
        return selected

    def open_diagnose(self, options: ConnectionOptions | None = None, run: bool = False) -> DiagnoseDialog:
        if not isinstance(options, ConnectionOptions):
            url = self.url.text().strip() or "ws://localhost:9001/mqtt"
            options = self.workspace.options_for(url)
        if self.diagnose_dialog is not None:
            self.diagnose_dialog.close()
            self.diagnose_dialog.deleteLater()
        dialog = DiagnoseDialog(self.bridge, options, self)
        self.diagnose_dialog = dialog
        dialog.show()
        if run:
            dialog.run()
        return dialog

    def open_profiles(self) -> None:
        from gui.widgets.profiles_dialog import ProfilesDialog

        store = self.workspace.profile_store
        if store is None:
            from explorer.profiles.store import ProfileStore

            store = ProfileStore(secrets=self.workspace.secret_store)
        dialog = ProfilesDialog(store, self)
        dialog.connectRequested.connect(self.connect_options)
        self.profiles_dialog = dialog
        dialog.show()

    def _ask_export_path(self, title: str, what: str) -> tuple[str, str] | None:
        """A save dialog for ``what`` (trace or messages): the file and the chosen format."""
        from explorer.present.export import EXPORT_KINDS, default_export_dir, default_export_path

        kinds = [kind for kind in EXPORT_KINDS.values() if kind.what == what]
        filters = ";;".join(kind.file_filter for kind in kinds)
        suggested = default_export_path(kinds[0], default_export_dir())
        # Qt's dialog asks before replacing an existing file.
        path, chosen = QFileDialog.getSaveFileName(self, title, str(suggested), filters)
        if not path:
            return None
        kind = next((k for k in kinds if k.file_filter == chosen), kinds[0])
        suffix = Path(path).suffix
        by_suffix = next((k for k in kinds if k.suffix == suffix), None)
        if by_suffix is None:
            path = str(Path(path).with_suffix(kind.suffix)) if not suffix else path
            return path, kind.format
        return path, by_suffix.format

    def export_trace(self, path: str | None = None) -> None:
        if not isinstance(path, str) or not path:
            asked = self._ask_export_path("Export trace", "trace")
            if asked is None:
                return
            path, fmt = asked
        else:
            fmt = "jsonl" if Path(path).suffix == ".jsonl" else "pcapng"
        count = self.bridge.export_trace(path, fmt)
        if count is not None:
            self.status_line.showMessage(f"wrote {count} trace events to {path}", 5000)

    def export_messages(self, path: str | None = None) -> None:
        if not isinstance(path, str) or not path:
            asked = self._ask_export_path("Export messages", "messages")
            if asked is None:
                return
            path, fmt = asked
        else:
            fmt = "csv" if Path(path).suffix == ".csv" else "jsonl"
        count = self.bridge.export_messages(path, fmt)
        if count is not None:
            self.status_line.showMessage(f"wrote {count} messages to {path}", 5000)

    # -- files, recordings, search, stats ---------------------------------------

    async def open_file(self, path: str | None = None) -> bool:
        """Show a recording, pcap or pcapng read-only (File → Open asks for the path)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open a recording or a capture", "", _FILE_FILTER)
            if not path:
                return False
        try:
            source = await self.workspace.open_file(path)
        except ExplorerError as exc:
            QMessageBox.warning(self, "Cannot open", str(exc))
            return False
        self.bridge.start()
        self.url.setText("")
        self.messages.show_node(None)
        self.handshake.clear()
        self._origin_pending = True
        self.status_line.showMessage(f"{source.name}: shown read-only (File → Connections picks one)", 8000)
        return True

    def pick_connection(self) -> None:
        source = self.workspace.file
        if source is None:
            self.status_line.showMessage("no file is open (File → Open)", 5000)
            return
        row = pick_connection(
            self, f"Connections of {source.name}", picker_rows(source.connections()), source.conn
        )
        if row is not None:
            self._origin_pending = True
            self.messages.show_node(None)
            self.handshake.clear()
            self.bridge.spawn(self.workspace.show_file_connection(row.conn))

    def toggle_recording(self, checked: bool = True, path: str | None = None) -> bool:
        """Start recording the live session to a new file, or stop the recording."""
        workspace = self.workspace
        if workspace.recording is not None and workspace.recording.active:
            self.bridge.spawn(self._stop_recording())
            return False
        if workspace.file is not None:
            self.record_action.setChecked(False)
            self.status_line.showMessage(NO_LIVE_SESSION, 5000)
            return False
        if path is None:
            suggested = str(Path.home() / default_recording_name())
            path, _ = QFileDialog.getSaveFileName(self, "Record the session to", suggested, _FILE_FILTER)
            if not path:
                self.record_action.setChecked(False)
                return False
        try:
            workspace.start_recording(path)
        except ExplorerError as exc:
            self.record_action.setChecked(False)
            QMessageBox.warning(self, "Cannot record", str(exc))
            return False
        self.record_action.setChecked(True)
        self.status_line.showMessage(f"recording to {path}", 5000)
        return True

    async def _stop_recording(self) -> None:
        try:
            status = await self.workspace.stop_recording()
        except ExplorerError as exc:
            QMessageBox.warning(self, "Recording", str(exc))
            return
        self.record_action.setChecked(False)
        if status is not None:
            self.status_line.showMessage(recorded_text(status), 10000)

    def open_search(self) -> SearchDialog:
        dialog = SearchDialog(self.workspace, self)
        dialog.messageChosen.connect(self.show_message)
        dialog.show()
        self.search_dialog = dialog
        return dialog

    def open_stats(self) -> StatsDialog:
        dialog = StatsDialog(self.workspace, self)
        dialog.show()
        dialog.refresh()
        self.stats_dialog = dialog
        return dialog

    def show_message(self, message: Message) -> None:
        """Open one message (a search result) in the message view, its topic selected."""
        node = self.workspace.tree.find(message.topic)
        if node is None:
            self.status_line.showMessage(not_in_tree_text(message.topic), 5000)
            return
        self.topics.select_topic(message.topic)
        shown = TopicMessage(
            message.topic, message.payload, message.qos, message.retain, message.time, message.properties
        )
        self.messages.show_message(node, shown)

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About mqttws-explorer",
            f"mqttws-explorer {__version__}\n"
            "MQTT over WebSocket, byte by byte: handshakes, frames, packets, topics.",
        )
