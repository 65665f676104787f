"""The terminal explorer's flows, driven with Pilot against the embedded broker on loopback."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.widgets import Input, Select, Sparkline, Static, TabbedContent, TextArea, Tree

from explorer.broker.child import BrokerProcess
from explorer.model.events import FrameEvent, PacketEvent
from explorer.mqtt.enums import PacketType
from explorer.workspace import Workspace
from explorer.workspace.runtime import InputFirst, PauseBoundedCollector, RuntimePolicy
from tests.keyring_support import config_dir
from tests.tui.conftest import settle
from tui.app import ExplorerApp, main
from tui.screens.dialogs import PromptScreen, SubscribeScreen
from tui.screens.main import MainScreen
from tui.screens.publish import PublishScreen
from tui.widgets.frame_detail import PACKET_COLOURS, FrameDetail, frame_dump
from tui.widgets.frames import FrameList
from tui.widgets.handshake import HandshakeView
from tui.widgets.message import MESSAGE_VIEWS, MessagePane
from tui.widgets.status import StatusLine
from tui.widgets.topics import TopicTreeView

__all__ = ["config_dir"]

SIZE = (160, 48)


def quiet_app(**kwargs: object) -> ExplorerApp:
    """The embedded broker without demo traffic: the test decides what is published."""
    return ExplorerApp(Workspace(), demo=False, **kwargs)  # type: ignore[arg-type]


async def test_no_arguments_starts_embedded_broker_with_live_demo_topics_and_handshake() -> None:
    app = ExplorerApp(Workspace())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        tree = app.main_screen.query_one(TopicTreeView)

        def demo_shown() -> bool:
            demo = app.workspace.tree.find("demo")
            return demo is not None and tree.node_for(demo) is not None

        await settle(pilot, demo_shown)
        status = app.main_screen.query_one(StatusLine)
        await settle(pilot, lambda: "connected" in status.plain)
        assert "(embedded broker)" in status.plain
        assert app.workspace.broker is not None
        url = app.workspace.broker.ws_url
        assert url is not None
        assert url in status.plain
        handshake = app.main_screen.query_one(HandshakeView)
        await settle(pilot, lambda: handshake.response is not None)
        assert "101 Switching Protocols" in handshake.plain
        assert "Subprotocol: mqtt" in handshake.plain


async def test_subscribe_dialog_subscribes_and_new_topics_appear_in_the_tree() -> None:
    app = quiet_app(subscriptions=())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        await pilot.press("s")
        await settle(pilot, lambda: isinstance(app.screen, SubscribeScreen))
        box = app.screen.query_one("#sub-filter", Input)
        box.value = "lab/#"
        await pilot.press("enter")
        await settle(pilot, lambda: "lab/#" in app.workspace.subscriptions)
        await app.workspace.publish("lab/bench/volts", b"12.5")
        tree = app.main_screen.query_one(TopicTreeView)

        def shown() -> bool:
            node = app.workspace.tree.find("lab/bench/volts")
            return node is not None and tree.node_for(node) is not None

        await settle(pilot, shown)
        assert app.workspace.tree.find("other") is None


async def test_selecting_a_topic_shows_its_payload_history_and_diff() -> None:
    app = quiet_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "#" in app.workspace.subscriptions)
        await app.workspace.publish("room/temp", b'{"t": 20.5, "unit": "C"}')
        await app.workspace.publish("room/temp", b'{"t": 21.0, "unit": "C"}')
        await settle(pilot, lambda: (n := app.workspace.tree.find("room/temp")) is not None and n.count == 2)
        tree = app.main_screen.query_one(TopicTreeView)
        await settle(pilot, lambda: tree.node_for(app.workspace.tree.find("room/temp")) is not None)  # type: ignore[arg-type]
        await pilot.press("slash")
        await pilot.press(*"room/te")
        await pilot.press("enter")  # back to the tree, which now shows room and room/temp only
        assert app.focused is tree
        await pilot.press("g", "j")
        assert tree.selected_topic is not None
        assert tree.selected_topic.topic == "room/temp"
        pane = app.main_screen.query_one(MessagePane)
        await settle(pilot, lambda: pane.message is not None)
        assert pane.node is not None
        assert pane.node.topic == "room/temp"
        assert pane.message is not None
        assert pane.message.payload == b'{"t": 21.0, "unit": "C"}'
        assert pane.previous is not None
        assert b"20.5" in pane.previous.payload
        title = str(pane.query_one("#message-title").render())
        assert "message 2 of 2" in title
        await pilot.press("left_square_bracket")
        assert pane.message is not None
        assert b"20.5" in pane.message.payload


async def test_opening_a_frame_highlights_each_packet_bytes_in_its_colour() -> None:
    app = quiet_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "#" in app.workspace.subscriptions)
        await app.workspace.publish("hex/topic", b"ABC")
        await settle(pilot, lambda: app.workspace.tree.find("hex/topic") is not None)
        await pilot.press("2")
        frames = app.main_screen.query_one(FrameList)
        await settle(pilot, lambda: frames.row_count > 0)

        def inbound_publish_row() -> int | None:
            for row in range(frames.row_count):
                frame = frames.frame_at(row)
                if frame is not None and frame.direction == "s2c":
                    packets = app.workspace.trace.packets_in(frame)
                    if packets and packets[0].packet.TYPE is PacketType.PUBLISH:
                        return row
            return None

        await settle(pilot, lambda: inbound_publish_row() is not None)
        row = inbound_publish_row()
        assert row is not None
        frames.focus()
        await pilot.press("g")
        for _ in range(row):
            await pilot.press("j")
        await pilot.press("enter")
        detail = app.main_screen.query_one(FrameDetail)
        await settle(pilot, lambda: detail.frame is not None)
        frame = detail.frame
        assert isinstance(frame, FrameEvent)
        packet = app.workspace.trace.packets_in(frame)[0]
        assert isinstance(packet, PacketEvent)
        assert "PUBLISH" in detail.dump_text
        dump = frame_dump(frame, app.workspace.trace)
        coloured = [
            dump.plain[span.start : span.end] for span in dump.spans if str(span.style) == PACKET_COLOURS[0]
        ]
        hex_cells = "".join(
            cell for cell in coloured if len(cell) == 2 and all(c in "0123456789abcdef" for c in cell)
        )
        assert hex_cells == packet.raw.hex()


async def test_publish_dialog_sends_a_retained_message_that_comes_back() -> None:
    app = quiet_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "#" in app.workspace.subscriptions)
        await pilot.press("p")
        await settle(pilot, lambda: isinstance(app.screen, PublishScreen))
        screen = app.screen
        screen.query_one("#pub-topic", Input).value = "out/greeting"
        screen.query_one("#pub-payload", TextArea).text = "hello\nworld"
        screen.query_one("#pub-retain").value = True  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: app.workspace.tree.find("out/greeting") is not None)
        node = app.workspace.tree.find("out/greeting")
        assert node is not None
        assert node.last is not None
        assert node.last.payload == b"hello\nworld"
        assert "sent 11 B to out/greeting" in str(screen.query_one("#pub-result").render())
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is app.main_screen)
        assert app.workspace.broker is not None


async def test_command_palette_lists_every_action() -> None:
    app = ExplorerApp(Workspace(), autostart=False)
    async with app.run_test(size=SIZE):
        commands = list(app.get_system_commands(app.main_screen))
        titles = {command.title for command in commands}
        helps = [command.help for command in commands]
        bindings = [b for b in (*ExplorerApp.BINDINGS, *MainScreen.BINDINGS) if isinstance(b, Binding)]
        assert len(bindings) > 20
        for binding in bindings:
            if binding.action in ("quit", "app.quit"):
                assert "Quit" in titles  # Textual's own command
                continue
            key = app.get_key_display(Binding(binding.key.split(",")[0], ""))
            assert any(f"({key}" in help_text for help_text in helps), binding
        for _, label, _key in MESSAGE_VIEWS:
            assert f"{label} view" in titles
    for title in ("Message tab", "Handshake tab", "Older message", "Newer message", "Live message"):
        assert title in titles
    for title in ("Frame filters", "Open frame", "Subscribe", "Delete retained", "Theme"):
        assert title in titles
    screenshot_titles = [title for title in (c.title for c in commands) if "creenshot" in title]
    assert screenshot_titles == ["Save screenshot"]


async def test_f12_saves_a_screenshot_from_inside_a_dialog(tmp_path: Path) -> None:
    app = ExplorerApp(Workspace(), autostart=False, screenshot_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+e")  # the export dialog, its file name field focused
        await pilot.pause()
        assert app.screen is not app.main_screen
        await pilot.press("f12")
        await pilot.pause()
        assert list(tmp_path.glob("*.svg"))


async def test_unsubscribe_dialog_removes_the_subscription() -> None:
    app = quiet_app(subscriptions=[("#", 0)])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "#" in app.workspace.subscriptions)
        await pilot.press("u")
        await settle(pilot, lambda: isinstance(app.screen, PromptScreen))
        assert app.screen.query_one("#prompt-input", Input).value == "#"
        await pilot.press("enter")
        await settle(pilot, lambda: not app.workspace.subscriptions)


def test_an_unknown_profile_is_one_clear_sentence_and_exit_status_2(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--profile", "nope"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("mqttws-tui: no profile named 'nope'")
    assert "Traceback" not in err


async def test_reconnect_opens_a_new_connection_with_the_same_subscriptions() -> None:
    app = quiet_app(subscriptions=[("a/#", 1)])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "a/#" in app.workspace.subscriptions)
        handshake = app.main_screen.query_one(HandshakeView)
        await settle(pilot, lambda: handshake.response is not None)
        first = handshake.response
        assert first is not None
        await pilot.press("r")
        await settle(pilot, lambda: handshake.response is not None and handshake.response.conn != first.conn)
        await settle(pilot, lambda: app.workspace.subscriptions.get("a/#") == 1)
        assert app.workspace.connected


def test_a_bad_url_is_one_clear_sentence_and_exit_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["http://broker.example/mqtt"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("mqttws-tui: unsupported scheme 'http'")


async def test_message_tabs_show_json_tree_diff_and_a_sparkline_of_a_chosen_field() -> None:
    app = quiet_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "#" in app.workspace.subscriptions)
        for value in (20.5, 21.0, 19.5):
            await app.workspace.publish("lab/climate", f'{{"t": {value}, "rh": 40}}'.encode())
        tree = app.workspace.tree
        await settle(pilot, lambda: (node := tree.find("lab/climate")) is not None and node.count == 3)
        node = tree.find("lab/climate")
        assert node is not None
        pane = app.main_screen.query_one(MessagePane)
        pane.show_topic(node)
        tabs = pane.query_one("#message-tabs", TabbedContent)

        tabs.active = "tab-json"
        await pilot.pause()
        json_tree = pane.query_one("#json-tree", Tree)
        assert [str(child.label) for child in json_tree.root.children] == ["t=19.5", "rh=40"]

        tabs.active = "tab-diff"
        await pilot.pause()
        diff = str(pane.query_one("#view-diff", Static).render())
        assert '-  "t": 21.0' in diff
        assert '+  "t": 19.5' in diff

        tabs.active = "tab-chart"
        await pilot.pause()
        select = pane.query_one("#chart-field", Select)
        select.value = "t"
        await pilot.pause()
        spark = pane.query_one("#sparkline", Sparkline)
        assert list(spark.data or []) == [value for _, value in node.series("t")]
        assert list(spark.data or []) == [20.5, 21.0, 19.5]


async def test_frame_filters_keep_only_the_chosen_direction_and_packet_type() -> None:
    app = quiet_app(subscriptions=[("#", 0)])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "#" in app.workspace.subscriptions)
        await app.workspace.publish("f/x", b"1")
        await settle(pilot, lambda: app.workspace.tree.find("f/x") is not None)
        await pilot.press("2")
        frames = app.main_screen.query_one(FrameList)
        await settle(pilot, lambda: frames.row_count > 0)
        everything = frames.row_count
        app.main_screen.query_one("#filter-direction", Select).value = "c2s"
        await settle(pilot, lambda: frames.row_count < everything)
        shown = [frames.frame_at(row) for row in range(frames.row_count)]
        assert shown
        assert all(frame is not None and frame.direction == "c2s" for frame in shown)
        app.main_screen.query_one("#filter-type", Select).value = int(PacketType.SUBSCRIBE)
        await settle(pilot, lambda: frames.row_count == 1)
        frame = frames.frame_at(0)
        assert frame is not None
        assert [p.packet.TYPE for p in app.workspace.trace.packets_in(frame)] == [PacketType.SUBSCRIBE]


async def test_when_the_embedded_broker_dies_a_toast_says_so_and_r_starts_a_new_one() -> None:
    app = quiet_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        broker = app.workspace.broker
        assert isinstance(broker, BrokerProcess)
        old_url = broker.ws_url
        assert old_url is not None
        os.kill(broker.pid, signal.SIGKILL)

        def toasted(text: str) -> bool:
            return any(text in str(n.message) for n in app._notifications)

        await settle(pilot, lambda: toasted("broker: the embedded broker process was killed"), rounds=2000)
        status = app.main_screen.query_one(StatusLine)
        await settle(pilot, lambda: not app.workspace.connected)
        await pilot.press("r")
        await settle(pilot, lambda: app.workspace.connected and app.workspace.status.embedded, rounds=2000)
        revived = app.workspace.broker
        assert isinstance(revived, BrokerProcess)
        assert revived.pid != broker.pid
        assert revived.ws_url is not None
        assert revived.ws_url != old_url
        assert toasted(f"started a new embedded broker on {revived.ws_url}")
        await settle(pilot, lambda: "(embedded broker)" in status.plain and revived.ws_url in status.plain)
        assert app.screen is app.main_screen  # no diagnosis: nothing failed


async def test_key_presses_and_clicks_hold_network_reads_and_a_full_collector_pass() -> None:
    collector = PauseBoundedCollector()
    input_first = InputFirst(hold=60.0)  # longer than the test: release() ends it
    runtime = RuntimePolicy(collector=collector, input_first=input_first).install()
    try:
        app = ExplorerApp(autostart=False, runtime=runtime)
        async with app.run_test(size=SIZE) as pilot:
            before, holds = collector.last_input, input_first.holds
            await pilot.press("j")
            pressed = collector.last_input
            assert pressed > before
            assert input_first.holds == holds + 1
            assert app.workspace.read_gate() > 0  # the app's own Workspace reads through the policy
            input_first.release()
            await pilot.click(TopicTreeView)
            assert collector.last_input > pressed
            assert input_first.holds == holds + 2
    finally:
        runtime.uninstall()


async def test_the_tls_demo_connects_over_wss_trusting_the_local_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from explorer.workspace import Workspace as _Workspace

    monkeypatch.setenv("MQTTWS_DATA_DIR", str(tmp_path / "data"))
    app = ExplorerApp(_Workspace(), tls_demo=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected and app.workspace.tree.find("demo") is not None)
        assert app.workspace.options is not None
        assert app.workspace.options.url.startswith("wss://127.0.0.1:")
        assert app.workspace.status.tls_version
