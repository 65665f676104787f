"""Flows through the window, on the qasync loop, against the embedded broker.

Each test drives the window as a user would (buttons, selections, dialogs) and waits
for the bridge's signals or for the next drawn batch, never for a fixed time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QSettings, Qt, QUrl

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions
from explorer.diagnose.causes import CAUSES
from explorer.model.events import FrameEvent, PacketEvent
from explorer.mqtt.packets import Publish
from explorer.workspace import Workspace
from gui.bridge import WorkspaceBridge
from gui.widgets.main_window import MainWindow
from tests.gui.conftest import wait_for_batch, wait_signal

KITCHEN = "demo/sensors/kitchen/temperature"


async def _start_demo(window: MainWindow) -> None:
    assert await window.bridge.start_demo()
    tree = window.workspace.tree
    await wait_for_batch(
        window.bridge, lambda: tree.find(KITCHEN) is not None and window.topics.select_topic(KITCHEN)
    )


def test_demo_connection_fills_tree_status_bar_and_handshake(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    qloop.run_until_complete(_start_demo(window))
    labels = window.status_line.labels
    assert labels["state"].text() == "connected"
    assert "(embedded broker)" in labels["url"].text()
    assert labels["subprotocol"].text() == "subprotocol mqtt"
    assert window.url.text() == window.workspace.broker.ws_url  # type: ignore[union-attr]
    assert window.topics.model.rowCount() >= 1
    handshake = window.handshake.toPlainText()
    assert "GET /mqtt HTTP/1.1" in handshake
    assert "101 Switching Protocols" in handshake


def test_selecting_a_topic_shows_its_latest_message(window: MainWindow, qloop: qasync.QEventLoop) -> None:
    qloop.run_until_complete(_start_demo(window))
    node = window.workspace.tree.find(KITCHEN)
    assert node is not None
    assert window.messages.node is node
    assert KITCHEN in window.messages.title.text()
    shown = window.messages.message
    assert shown is not None
    assert window.messages.text.toPlainText() == shown.payload.decode()
    window.messages.tabs.setCurrentIndex(window.messages.TABS.index("Chart"))
    assert window.messages.chart.points == node.series()


def test_opening_a_frame_shows_its_header_packets_and_links(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    qloop.run_until_complete(_start_demo(window))
    model = window.trace.model
    row = next(
        r
        for r in range(model.rowCount())
        if isinstance(e := model.event_at(r), FrameEvent) and e.direction == "s2c" and e.parts
    )
    window.trace.select_row(row)
    frame = model.event_at(row)
    assert isinstance(frame, FrameEvent)
    inspector = window.trace.inspector
    assert inspector.current_event is frame
    fields = {
        inspector.fields.item(r, 0).text(): inspector.fields.item(r, 1).text()
        for r in range(inspector.fields.rowCount())
    }
    assert fields["opcode"] == "0x2 (binary)"
    assert fields["FIN"] == "1"
    assert frame.header.hex(" ")[:5] in inspector.hex.toPlainText()
    assert "MQTT packets in this frame" in inspector.links.toPlainText()
    packet_no = frame.parts[0].packet_no
    inspector.links.anchorClicked.emit(QUrl(f"packet:{frame.conn}:{frame.direction}:{packet_no}"))
    selected = model.event_at(window.trace.table.currentIndex().row())
    assert isinstance(selected, PacketEvent)
    assert selected.packet_no == packet_no
    assert f"frame #{frame.index}" in inspector.links.toPlainText()


def test_publish_panel_publishes_and_the_message_comes_back(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any
) -> None:
    async def flow() -> None:
        await _start_demo(window)
        panel = window.publisher
        panel.topic.setText("gui/test/hello")
        panel.payload.setPlainText('{"n": 1}')
        panel.qos.setCurrentIndex(1)
        qtbot.mouseClick(panel.publish_button, Qt.MouseButton.LeftButton)
        (topic,) = await wait_signal(window.bridge.published)
        assert topic == "gui/test/hello"
        tree = window.workspace.tree
        await wait_for_batch(window.bridge, lambda: tree.find("gui/test/hello") is not None)

    qloop.run_until_complete(flow())
    last = window.workspace.tree.find("gui/test/hello").last  # type: ignore[union-attr]
    assert last is not None
    assert last.payload == b'{"n": 1}'
    sent = [
        e.packet
        for e in window.workspace.trace
        if isinstance(e, PacketEvent) and e.direction == "c2s" and isinstance(e.packet, Publish)
    ]
    assert [(p.topic, p.qos) for p in sent] == [("gui/test/hello", 1)]


def test_saved_messages_round_trip_through_the_publish_panel(window: MainWindow) -> None:
    panel = window.publisher
    panel.topic.setText("cmd/lamp")
    panel.payload.setPlainText("on")
    panel.retain.setChecked(True)
    panel.save_current("lamp on")
    panel.topic.clear()
    panel.payload.clear()
    panel.retain.setChecked(False)
    panel._load_saved(panel.saved.findText("lamp on"))
    assert (panel.topic.text(), panel.payload.toPlainText(), panel.retain.isChecked()) == (
        "cmd/lamp",
        "on",
        True,
    )


def test_diagnose_dialog_names_the_layer_a_faulty_broker_breaks(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    async def flow() -> Any:
        config = BrokerConfig.ephemeral(
            faults=parse_faults(["refuse-connect=not-authorized"]), sys_interval=0
        )
        async with Broker(config) as broker:
            assert broker.ws_url is not None
            dialog = window.open_diagnose(ConnectionOptions(url=broker.ws_url))
            steps: list[Any] = []
            window.bridge.probeStep.connect(steps.append)
            dialog.run()
            (diagnosis,) = await wait_signal(window.bridge.probeFinished)
            return dialog, diagnosis, steps

    dialog, diagnosis, steps = qloop.run_until_complete(flow())
    assert not diagnosis.ok
    assert diagnosis.layer == "mqtt"
    assert all(step.ok for step in steps[:-1])
    assert (steps[-1].layer, steps[-1].ok) == ("mqtt", False)
    assert dialog._rows["tcp"].text(1) == "✓"
    assert dialog._rows["mqtt"].text(1) == "✗"
    title = CAUSES[diagnosis.cause].title
    # The cause's title, as the CLI and the terminal explorer say it, never the raw slug.
    assert dialog.state.text().startswith(f"Fails at the MQTT CONNECT layer: {title}")
    verdict = dialog.verdict.toPlainText()
    assert f"Fails at the MQTT CONNECT layer: {title}" in verdict
    assert diagnosis.cause not in verdict.splitlines()[0]
    assert diagnosis.explanation in verdict


def test_failed_connect_offers_the_diagnoser(window: MainWindow, qloop: qasync.QEventLoop) -> None:
    async def flow() -> tuple[Any, ...]:
        config = BrokerConfig.ephemeral(
            faults=parse_faults(["refuse-connect=not-authorized"]), sys_interval=0
        )
        async with Broker(config) as broker:
            assert broker.ws_url is not None
            window.url.setText(broker.ws_url)
            window.connect_url()
            return await wait_signal(window.bridge.connectFailed)

    message, options = qloop.run_until_complete(flow())
    assert options.url == window.url.text()
    assert "authori" in message.lower()
    assert window.failure_box.isVisible()
    assert window.status_line.labels["state"].text() in ("failed", "connecting", "idle")


def test_profile_created_in_the_dialog_keeps_its_password_in_the_keyring_and_connects(
    window: MainWindow, qloop: qasync.QEventLoop, config_dir: Path, file_keyring: Any
) -> None:
    async def flow() -> tuple[Any, ...]:
        options = await window.workspace.start_embedded(demo=False)
        window.open_profiles()
        dialog = window.profiles_dialog
        dialog.new_profile()
        dialog.name.setText("local")
        dialog.url.setText(options.url)
        dialog.username.setText("alice")
        dialog.password.setText("s3cret-canary")
        dialog.subscriptions.setPlainText("demo/#\ngui/#")
        assert dialog.save() is not None
        assert dialog.list.currentItem().text() == "local"
        dialog.use()
        (url,) = await wait_signal(window.bridge.connected)
        await wait_for_batch(window.bridge, lambda: len(window.workspace.subscriptions) == 2)
        return (url,)

    (url,) = qloop.run_until_complete(flow())
    assert url.startswith("ws://127.0.0.1:")
    text = (config_dir / "profiles.toml").read_text()
    assert "alice" in text
    assert "s3cret-canary" not in text
    assert file_keyring.get_password("mqttws-explorer", "profile/local/password") == "s3cret-canary"
    assert window.workspace.options is not None
    assert window.workspace.options.password == b"s3cret-canary"
    assert set(window.workspace.subscriptions) == {"demo/#", "gui/#"}


def test_dock_layout_is_saved_and_restored(
    window: MainWindow, qloop: qasync.QEventLoop, settings: QSettings, qtbot: Any
) -> None:
    window.handshake_dock.hide()
    window.save_layout()
    again = MainWindow(WorkspaceBridge(Workspace()), settings=settings)
    qtbot.addWidget(again)
    again.show()
    assert not again.handshake_dock.isVisible()
    assert again.topics_dock.isVisible()


def test_trace_and_message_export_write_files(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    qloop.run_until_complete(_start_demo(window))
    window.export_trace(str(tmp_path / "t.pcapng"))
    window.export_messages(str(tmp_path / "m.jsonl"))
    assert (tmp_path / "t.pcapng").read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    assert KITCHEN in (tmp_path / "m.jsonl").read_text()
    assert isinstance(next(iter(window.workspace.tree.topics())).last, object)
    assert any(isinstance(e, PacketEvent) and isinstance(e.packet, Publish) for e in window.workspace.trace)


def test_connect_password_is_masked_in_the_frame_inspector(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    secret = b"hunter2-canary"

    async def flow() -> None:
        options = await window.workspace.start_embedded(demo=False)
        assert await window.bridge.connect_to(options.with_changes(username="alice", password=secret))
        trace = window.workspace.trace  # the CONNACK is in it once connect_to returns
        await wait_for_batch(window.bridge, lambda: window.trace.model.rowCount() == len(trace))

    qloop.run_until_complete(flow())
    model, inspector = window.trace.model, window.trace.inspector
    shown: list[str] = []
    for row in range(model.rowCount()):
        event = model.event_at(row)
        if isinstance(event, FrameEvent | PacketEvent) and event.direction == "c2s":
            window.trace.select_row(row)
            fields = [inspector.fields.item(r, 1).text() for r in range(inspector.fields.rowCount())]
            shown.append(inspector.hex.toPlainText() + "\n".join(fields) + inspector.links.toPlainText())
    connect_views = [text for text in shown if "alice" in text]
    assert len(connect_views) >= 2  # the frame and the CONNECT packet
    for text in shown:
        assert "hunter2" not in text
        assert secret.hex(" ")[:11] not in text


def test_dark_color_scheme_gives_a_dark_palette(qapp: Any, monkeypatch: Any) -> None:
    from PySide6.QtGui import QPalette

    from gui.app import apply_color_scheme

    monkeypatch.setenv("MQTTWS_COLOR_SCHEME", "dark")
    apply_color_scheme(qapp)
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
    monkeypatch.setenv("MQTTWS_COLOR_SCHEME", "light")
    apply_color_scheme(qapp)
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 160


def test_profiles_dialog_imports_an_mqttx_export_and_deletes_a_profile(
    window: MainWindow, config_dir: Path, file_keyring: Any
) -> None:
    window.open_profiles()
    dialog = window.profiles_dialog
    dialog.import_file(Path(__file__).resolve().parents[1] / "fixtures" / "mqttx-export.json")
    names = [dialog.list.item(row).text() for row in range(dialog.list.count())]
    assert "Factory-WSS" in names
    assert "Imported" in dialog.message.text()
    assert "mqttx-fixture-secret" not in (config_dir / "profiles.toml").read_text()
    dialog.list.setCurrentRow(names.index("Factory-WSS"))
    assert dialog.url.text().startswith("wss://broker.factory.example:8084")
    dialog.delete()
    assert "Factory-WSS" not in [dialog.list.item(row).text() for row in range(dialog.list.count())]


def test_deleting_retained_messages_from_the_tree_clears_them_on_the_broker(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    from PySide6.QtWidgets import QMessageBox

    async def flow() -> tuple[Any, ...]:
        assert await window.bridge.start_demo((), demo=False)
        assert await window.bridge.publish("gui/keep/a", b"1", 1, True)
        assert await window.bridge.publish("gui/keep/b", b"2", 1, True)
        # Retained messages come with the retain flag on a new subscription [MQTT-3.3.1-6].
        assert await window.bridge.subscribe("gui/#") == [0]
        tree = window.workspace.tree
        await wait_for_batch(
            window.bridge,
            lambda: all((n := tree.find(t)) is not None and n.retained for t in ("gui/keep/a", "gui/keep/b")),
        )
        window.delete_retained("gui/keep")
        window.confirm_box.button(QMessageBox.StandardButton.Yes).click()
        return await wait_signal(window.bridge.retainedCleared)

    async def left_on_broker() -> list[str]:
        """Topics a fresh subscriber gets before a marker published after its SUBSCRIBE."""
        from explorer.client.driver import MqttClient

        broker = window.workspace.broker
        assert broker is not None
        assert broker.ws_url is not None
        seen: list[str] = []
        async with MqttClient(ConnectionOptions(url=broker.ws_url)) as client:
            await client.subscribe("gui/#", qos=1)
            await client.publish("gui/marker", b"end", qos=1)
            async for message in client.messages():
                if message.topic == "gui/marker":
                    return seen
                seen.append(message.topic)
        raise AssertionError("the client closed before the marker came back")

    topic, count = qloop.run_until_complete(flow())
    assert (topic, count) == ("gui/keep", 2)
    assert qloop.run_until_complete(asyncio.wait_for(left_on_broker(), 10)) == []


def test_demo_broker_action_subscribes_to_sys_topics_too(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    sys_topic = "$SYS/broker/version"

    async def flow() -> None:
        window.demo_action.trigger()
        (_url,) = await wait_signal(window.bridge.connected)
        tree = window.workspace.tree
        await wait_for_batch(
            window.bridge,
            lambda: tree.find(sys_topic) is not None and window.topics.select_topic(sys_topic),
        )

    qloop.run_until_complete(flow())
    assert set(window.workspace.subscriptions) == {"#", "$SYS/#"}
    assert window.messages.node is window.workspace.tree.find("$SYS/broker/version")
    assert window.messages.text.toPlainText().startswith("mqttws-explorer ")


def test_diagnose_dialog_tries_alternatives_and_names_the_path_that_works(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any
) -> None:
    async def flow() -> tuple[Any, str]:
        options = await window.workspace.start_embedded(demo=False)
        wrong = options.url.rsplit("/", 1)[0] + "/wrong-path"
        dialog = window.open_diagnose(options.with_changes(url=wrong))
        dialog.explore.setChecked(True)
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        (diagnosis,) = await wait_signal(window.bridge.probeFinished)
        return diagnosis, options.url

    diagnosis, right_url = qloop.run_until_complete(flow())
    dialog = window.diagnose_dialog
    assert dialog is not None
    assert (diagnosis.ok, diagnosis.layer) == (False, "http")
    working = [alt for alt in diagnosis.alternatives if alt.ok]
    assert [alt.options_changed.get("url") for alt in working] == [right_url]
    assert "Would work: path /mqtt" in dialog.state.text()
    verdict = dialog.verdict.toPlainText()
    assert f"path /mqtt (url={right_url})" in verdict
    assert "Alternatives tried" in verdict
    assert dialog.run_button.isEnabled()
    assert dialog.connect_button.isVisibleTo(dialog)
    assert dialog.connect_button.text() == "Connect with this: path /mqtt"

    async def connect_with_this() -> None:
        qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
        (url,) = await wait_signal(window.bridge.connected)
        assert url == right_url
        # Checked while the loop runs, as the window shows it: once the test stops the loop the
        # client's reader cannot run and would end the connection.
        assert window.workspace.connected
        assert window.workspace.status.url == right_url

    qloop.run_until_complete(connect_with_this())


def test_diagnose_dialog_without_alternatives_suggests_trying_them(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    async def flow() -> Any:
        options = await window.workspace.start_embedded(demo=False)
        dialog = window.open_diagnose(options.with_changes(url=options.url.rsplit("/", 1)[0] + "/nope"))
        dialog.run()
        (diagnosis,) = await wait_signal(window.bridge.probeFinished)
        return diagnosis

    diagnosis = qloop.run_until_complete(flow())
    dialog = window.diagnose_dialog
    assert dialog is not None
    assert diagnosis.alternatives == []
    assert "Would work" not in dialog.state.text()
    assert "Try alternatives" in dialog.verdict.toPlainText()


def test_status_bar_marks_the_embedded_broker_only_while_connected_to_it(
    window: MainWindow, qloop: qasync.QEventLoop, config_dir: Path, file_keyring: Any
) -> None:
    label = window.status_line.labels["url"]

    async def flow() -> tuple[str, str, str]:
        await _start_demo(window)
        embedded_text = label.text()
        async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as other:
            assert other.ws_url is not None
            window.open_profiles()
            dialog = window.profiles_dialog
            dialog.new_profile()
            dialog.name.setText("elsewhere")
            dialog.url.setText(other.ws_url)
            assert dialog.save() is not None
            dialog.use()
            await wait_signal(window.bridge.connected)
            await wait_for_batch(window.bridge, lambda: label.text().startswith(other.ws_url or "?"))
            elsewhere_text = label.text()
        embedded = window.workspace.broker
        assert embedded is not None
        assert embedded.ws_url is not None
        window.url.setText(embedded.ws_url)
        window.connect_url()
        await wait_signal(window.bridge.connected)
        await wait_for_batch(window.bridge, lambda: window.workspace.status.connected)
        await wait_for_batch(window.bridge, lambda: label.text().startswith(embedded.ws_url or "?"))
        return embedded_text, elsewhere_text, label.text()

    embedded_text, elsewhere_text, again_text = qloop.run_until_complete(flow())
    assert embedded_text.endswith("(embedded broker)")
    assert "embedded" not in elsewhere_text
    assert again_text.endswith("(embedded broker)")


def test_key_presses_and_clicks_in_the_window_hold_reads_and_a_full_collector_pass(
    window: MainWindow, qtbot: Any
) -> None:
    from PySide6.QtCore import QObject, Qt
    from PySide6.QtWidgets import QApplication

    from explorer.workspace.runtime import InputFirst, PauseBoundedCollector, RuntimePolicy
    from gui.app import watch_user_input

    collector = PauseBoundedCollector()
    input_first = InputFirst(hold=60.0)  # longer than the test: release() ends it
    runtime = RuntimePolicy(collector=collector, input_first=input_first).install()
    app = QApplication.instance()
    watch = watch_user_input(app, runtime)
    try:
        before = collector.last_input
        qtbot.keyClick(window.url, Qt.Key.Key_A)
        typed = collector.last_input
        assert typed > before
        assert input_first.holds == 1
        assert runtime.read_gate() > 0
        input_first.release()
        qtbot.mouseClick(window.url, Qt.MouseButton.LeftButton)
        assert collector.last_input > typed
        assert input_first.holds == 2
    finally:
        assert isinstance(app, QObject)
        assert isinstance(watch, QObject)
        app.removeEventFilter(watch)
        runtime.uninstall()


def test_a_retained_message_published_in_this_session_can_be_deleted_from_the_menu(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    async def flow() -> bool:
        assert await window.bridge.start_demo((), demo=False)
        assert await window.bridge.subscribe("#") == [0]
        assert await window.bridge.publish("ux/test/json", b'{"v": 1}', 1, True)
        tree = window.workspace.tree
        await wait_for_batch(
            window.bridge, lambda: (n := tree.find("ux/test/json")) is not None and n.retained
        )
        # The context menu enables "Delete retained" from the same answer.
        return bool(window.topics._retained_topics("ux"))

    assert qloop.run_until_complete(flow())


def test_view_menu_switches_light_and_dark_and_keeps_the_choice(window: MainWindow, qapp: Any) -> None:
    from PySide6.QtGui import QPalette

    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    appearance = next(a.menu() for a in view_menu.actions() if a.text() == "Appearance")
    by_name = {action.text(): action for action in appearance.actions()}
    assert set(by_name) == {"Follow the system", "Light", "Dark"}
    by_name["Dark"].trigger()
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
    assert window.settings.value("appearance") == "dark"
    by_name["Light"].trigger()
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 160
    assert by_name["Light"].isChecked()
    assert not by_name["Dark"].isChecked()
    by_name["Follow the system"].trigger()
    assert window.settings.value("appearance") == "system"


def test_export_messages_has_ctrl_shift_s_and_the_trace_filter_follows_typing(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    from PySide6.QtGui import QKeySequence

    shortcuts = {
        action.shortcut().toString(): action.text()
        for menu in window.menuBar().actions()
        for action in menu.menu().actions()
    }
    assert shortcuts[QKeySequence("Ctrl+Shift+S").toString()] == "Export messages…"

    async def flow() -> tuple[int, int]:
        assert await window.bridge.start_demo((), demo=False)
        await wait_for_batch(window.bridge, lambda: window.trace.model.rowCount() > 2)
        before = window.trace.model.rowCount()
        window.trace.search.setText("CONNACK")  # typed, no Enter
        await wait_signal(window.trace._filter_timer.timeout)
        return before, window.trace.model.rowCount()

    before, after = qloop.run_until_complete(flow())
    assert 1 <= after < before


def test_the_publish_topic_follows_the_selected_topic(window: MainWindow, qloop: qasync.QEventLoop) -> None:
    async def flow() -> list[str]:
        assert await window.bridge.start_demo((), demo=False)
        assert await window.bridge.subscribe("#") == [0]
        for topic in ("pick/first", "pick/second"):
            assert await window.bridge.publish(topic, b"1", 1, False)
        tree = window.workspace.tree
        await wait_for_batch(window.bridge, lambda: tree.find("pick/second") is not None)
        seen = []
        for topic in ("pick/first", "pick/second"):
            assert window.topics.select_topic(topic)
            seen.append(window.publisher.topic.text())
        return seen

    assert qloop.run_until_complete(flow()) == ["pick/first", "pick/second"]


def test_the_demo_opens_with_its_topics_unfolded_and_sys_folded(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    async def flow() -> tuple[bool, bool]:
        assert await window.bridge.start_demo(demo=True)
        tree = window.workspace.tree
        await wait_for_batch(
            window.bridge,
            lambda: tree.find("$SYS") is not None and tree.find("demo/sensors") is not None,
        )
        panel = window.topics

        def unfolded(topic: str) -> bool:
            node = tree.find(topic)
            assert node is not None
            return panel.view.isExpanded(panel.proxy.mapFromSource(panel.model.index_of_node(node)))

        return unfolded("$SYS"), unfolded("demo") and unfolded("demo/sensors")

    sys_open, demo_open = qloop.run_until_complete(flow())
    assert not sys_open
    assert demo_open


def test_the_publish_panel_sends_every_mqtt5_property(window: MainWindow, qloop: qasync.QEventLoop) -> None:
    panel = window.publisher
    panel.topic.setText("props/req")
    panel.payload.setPlainText('{"ask": 1}')
    panel.qos.setCurrentIndex(1)
    panel.mqtt5_box.setChecked(True)
    panel.content_type.setText("application/json")
    panel.expiry.setText("120")
    panel.response_topic.setText("props/reply")
    panel.correlation.setText("req-7")
    panel.user_properties.setPlainText("site=lab\nrun=3")
    panel.utf8.setChecked(True)

    async def flow() -> Any:
        assert await window.bridge.start_demo((("props/#", 1),), demo=False)
        panel.publish()
        tree = window.workspace.tree
        await wait_for_batch(window.bridge, lambda: (n := tree.find("props/req")) is not None and n.last)
        node = tree.find("props/req")
        assert node is not None
        return node.last

    message = qloop.run_until_complete(flow())
    props = message.properties
    assert message.payload == b'{"ask": 1}'
    assert props.content_type == "application/json"
    assert props.response_topic == "props/reply"
    assert props.correlation_data == b"req-7"
    assert props.user_properties == (("site", "lab"), ("run", "3"))
    assert props.payload_format_indicator == 1
    assert props.message_expiry_interval is not None
    assert 0 < props.message_expiry_interval <= 120


def test_the_publish_panel_says_why_a_wildcard_topic_cannot_be_sent(window: MainWindow) -> None:
    said: list[str] = []
    window.publisher.message.connect(said.append)
    window.publisher.topic.setText("a/#")
    window.publisher.publish()
    assert said
    assert "wildcards" in said[-1]


def test_the_tls_demo_connects_over_wss_trusting_the_local_ca(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MQTTWS_DATA_DIR", str(tmp_path / "data"))
    notices: list[str] = []
    window.bridge.notice.connect(notices.append)

    async def flow() -> str:
        window.tls_demo_action.trigger()
        await wait_signal(window.bridge.connected)
        await wait_for_batch(window.bridge, lambda: window.workspace.tree.find("demo") is not None)
        assert window.workspace.options is not None
        return window.workspace.options.url

    url = qloop.run_until_complete(flow())
    assert url.startswith("wss://127.0.0.1:")
    assert window.url.text() == url
    assert window.workspace.status.tls_version
    assert any("local CA" in text and str(tmp_path / "data") in text for text in notices)
