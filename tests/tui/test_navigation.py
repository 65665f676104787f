"""Tab keys, focus, the footer and the command palette, on the fixed session of ``scenario.py``.

No broker runs: the Workspace holds decoded golden bytes, so these tests are about
what the keys do and which widget they leave in charge.
"""

from __future__ import annotations

import json
import re
from functools import partial
from typing import Any

from textual.binding import Binding
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Sparkline, Static, Tab, TabbedContent

from explorer.present.eventtext import frame_fields, frame_header_spans, frame_spans, opcode_name
from tests.tui.conftest import settle
from tests.tui.scenario import scenario_workspace
from tui.app import ExplorerApp
from tui.screens.main import MainScreen
from tui.widgets.frame_detail import FrameDetail
from tui.widgets.frames import FrameList
from tui.widgets.handshake import HandshakeView
from tui.widgets.keybar import KeyBar
from tui.widgets.message import MESSAGE_VIEWS, MessagePane, no_numbers_text
from tui.widgets.topics import TopicTreeView

SIZE = (160, 48)


def scenario_app() -> ExplorerApp:
    return ExplorerApp(scenario_workspace(), autostart=False, clock_offset=0.0)


async def ready(pilot: Pilot[Any]) -> ExplorerApp:
    app = pilot.app
    assert isinstance(app, ExplorerApp)
    await settle(pilot, lambda: app.batches >= 1 and app.main_screen.ready)
    return app


async def test_each_tab_key_shows_its_tab_and_focuses_the_widget_it_drives() -> None:
    app = scenario_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        tabs = app.main_screen.query_one("#main-tabs", TabbedContent)
        expected = {
            "1": ("tab-message", TopicTreeView),
            "2": ("tab-frames", FrameList),
            "3": ("tab-handshake", HandshakeView),
        }
        for keys in (("2", "3"), ("1", "3"), ("3", "2"), ("3", "1"), ("2", "1"), ("1", "2")):
            for key in keys:
                await pilot.press(key)
                await pilot.pause()
                tab, widget_type = expected[key]
                assert tabs.active == tab, f"after {keys}: {tabs.active}"
                assert isinstance(app.focused, widget_type), f"after {keys}: {app.focused!r}"


async def test_the_handshake_tab_scrolls_with_vim_keys() -> None:
    app = scenario_app()
    async with app.run_test(size=(160, 16)) as pilot:
        await ready(pilot)
        await pilot.press("3")
        view = app.main_screen.query_one(HandshakeView)
        await settle(pilot, lambda: view.max_scroll_y > 0)
        await pilot.press("j", "j")
        await settle(pilot, lambda: view.scroll_y > 0)
        await pilot.press("g")
        await settle(pilot, lambda: view.scroll_y == 0)


def showing(main_tabs: TabbedContent, views: TabbedContent, tab: str) -> bool:
    return main_tabs.active == "tab-message" and views.active == tab


def shown(widget: Widget) -> bool:
    return bool(widget.display)


async def select_topic(pilot: Pilot[Any], app: ExplorerApp, topic: str) -> MessagePane:
    node = app.workspace.tree.find(topic)
    assert node is not None
    pane = app.main_screen.query_one(MessagePane)
    pane.show_topic(node)
    await pilot.pause()
    return pane


async def test_the_chart_of_a_topic_without_numbers_is_a_sentence_not_a_bar() -> None:
    app = scenario_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        pane = await select_topic(pilot, app, "demo/sensors/livingroom/climate")
        pane.query_one("#message-tabs", TabbedContent).active = "tab-chart"
        await pilot.pause()
        spark = pane.query_one("#sparkline", Sparkline)
        stats = str(pane.query_one("#chart-stats", Static).render())
        assert not shown(spark)
        # A JSON payload with several numeric fields charts every one of them, a line each.
        climate = app.workspace.tree.find("demo/sensors/livingroom/climate")
        assert climate is not None
        latest = climate.history()[-1].payload
        fields = [name for name, value in json.loads(latest).items() if isinstance(value, int | float)]
        assert len(fields) >= 2
        for name in fields:
            assert f"{name}: last " in stats

        pane = await select_topic(pilot, app, "demo/alerts/garage")
        stats = str(pane.query_one("#chart-stats", Static).render())
        assert not shown(spark)
        assert stats == no_numbers_text(False)

        pane = await select_topic(pilot, app, "demo/sensors/kitchen/temperature")
        stats = str(pane.query_one("#chart-stats", Static).render())
        assert shown(spark)
        node = app.workspace.tree.find("demo/sensors/kitchen/temperature")
        assert node is not None
        assert list(spark.data or []) == [value for _, value in node.series(None)] == [21.5, 21.7, 21.9]
        assert stats.startswith("value: last 21.9")


async def test_frame_detail_shows_the_core_fields_and_spans_and_never_the_connect_password() -> None:
    secret = b"pa55-w0rd"
    app = ExplorerApp(scenario_workspace(password=secret), autostart=False, clock_offset=0.0)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        frames = app.main_screen.query_one(FrameList)
        await settle(pilot, lambda: frames.row_count > 0)
        await pilot.press("g", "enter")
        detail = app.main_screen.query_one(FrameDetail)
        await settle(pilot, lambda: detail.frame is not None)
        frame = detail.frame
        assert frame is not None
        packets = app.workspace.trace.packets_in(frame)
        assert [type(p.packet).__name__ for p in packets] == ["Connect"]
        header = str(detail.query_one("#frame-header", Static).render())
        for name, value in frame_fields(frame):
            assert re.search(rf"{re.escape(name)} +{re.escape(value)}", header), name
        dump = detail.dump_text
        assert secret.decode() not in dump
        assert secret.hex(" ") not in dump
        for start, end, label in frame_header_spans(frame) + frame_spans(frame, len(frame.header), packets):
            assert f"{end - start:>5} B  {label}" in dump
        assert "CONNECT" in dump
        row = frames.render_line(0).text
        assert f" {opcode_name(frame.opcode)} " in row


async def test_each_message_view_has_a_key_and_a_palette_command() -> None:
    app = scenario_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        main_tabs = app.main_screen.query_one("#main-tabs", TabbedContent)
        views = app.main_screen.query_one("#message-tabs", TabbedContent)
        commands = {command.title: command for command in app.get_system_commands(app.main_screen)}
        for tab, _label, key in MESSAGE_VIEWS:
            await pilot.press("2")
            await pilot.press(key)
            await pilot.pause()
            assert (main_tabs.active, views.active) == ("tab-message", tab), key
            assert isinstance(app.focused, TopicTreeView)
        for tab, label, _ in reversed(MESSAGE_VIEWS):
            await pilot.press("3")
            await pilot.pause()
            app.call_later(commands[f"{label} view"].callback)
            await settle(pilot, partial(showing, main_tabs, views, tab))


async def test_the_footer_shows_the_tab_history_view_and_frame_keys() -> None:
    app = scenario_app()
    async with app.run_test(size=(240, 50)) as pilot:
        await ready(pilot)
        footer = app.main_screen.query_one(KeyBar)
        await pilot.pause()
        shown = set(footer.keys)
        views = {tab: key for tab, _, key in MESSAGE_VIEWS}
        labels = {str(tab.label) for tab in app.main_screen.query("#message-tabs Tab").results(Tab)}
        for binding in MainScreen.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action.startswith("message_view("):
                tab = binding.action.split("'")[1]
                assert any(label.endswith(f"[{views[tab]}]") for label in labels), binding
            elif binding.show:
                assert binding.key.split(",")[0] in shown, binding.key
        assert "f12" in shown
        assert 0 < footer.natural_width <= 240  # all of them fit a wide terminal
