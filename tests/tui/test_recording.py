"""The terminal explorer with recordings and files, following a user's steps.

Record the demo with R, stop it, open the recording (read-only), search a word that is
in one payload and open the result in the message view, look at the top talkers with T,
then open the shared capture with its connection picker and walk its frames.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input

from explorer.recording import Recording
from explorer.workspace import Workspace
from tests.reference import SMALL_PCAPNG, needs_reference
from tests.tui.conftest import settle
from tui.app import ExplorerApp
from tui.screens.dialogs import PromptScreen
from tui.screens.recording import ConnectionPickerScreen, SearchScreen, StatsScreen
from tui.widgets.frame_detail import FrameDetail
from tui.widgets.frames import FrameList
from tui.widgets.handshake import HandshakeView
from tui.widgets.message import MessagePane
from tui.widgets.status import StatusLine

SIZE = (160, 48)
CAPTURE = SMALL_PCAPNG


async def test_record_the_demo_then_open_search_and_see_the_top_talkers(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite"
    app = ExplorerApp(Workspace())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        await pilot.press("R")
        await settle(pilot, lambda: isinstance(app.screen, PromptScreen))
        assert app.screen.query_one(Input).value.startswith("recording-")
        app.screen.query_one(Input).value = str(path)
        await pilot.press("enter")
        await settle(pilot, lambda: app.workspace.recording is not None)
        sink = app.workspace.recording
        assert sink is not None
        status = app.main_screen.query_one(StatusLine)
        await settle(pilot, lambda: "● REC demo.sqlite" in status.plain)
        await settle(pilot, lambda: sink.status().messages >= 20, rounds=1500)
        await pilot.press("R")  # stop
        await settle(pilot, lambda: not sink.active)
        await settle(pilot, lambda: "● REC" not in status.plain)
    recorded = Recording(path)
    try:
        messages = list(recorded.search())
    finally:
        recorded.close()
    assert len(messages) >= 20
    needle = next(m for m in messages if m.text and m.topic.startswith("demo/"))
    word = needle.topic.rsplit("/", 1)[-1]

    app = ExplorerApp(Workspace(), file=str(path))
    async with app.run_test(size=SIZE) as pilot:
        source = app.workspace.file
        await settle(pilot, lambda: app.workspace.file is not None and app.workspace.file.done)
        source = app.workspace.file
        assert source is not None
        status = app.main_screen.query_one(StatusLine)
        await settle(
            pilot,
            lambda: f"demo.sqlite  │ read-only, {len(messages):,} messages" in status.plain,
        )
        assert app.workspace.tree.message_count == len(messages)
        handshake = app.main_screen.query_one(HandshakeView)
        assert "101 Switching Protocols" in handshake.plain

        await pilot.press("S")
        await settle(pilot, lambda: isinstance(app.screen, SearchScreen))
        screen = app.screen
        screen.query_one("#search-topic", Input).value = needle.topic
        screen.query_one("#search-text", Input).value = word
        await pilot.press("enter")
        table = screen.query_one(DataTable)
        await settle(pilot, lambda: table.row_count > 0)
        assert all(row.topic == needle.topic for row in screen.rows)  # type: ignore[attr-defined]
        first = screen.rows[0].message  # type: ignore[attr-defined]
        table.focus()
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen is app.main_screen)
        pane = app.main_screen.query_one(MessagePane)
        assert pane.node is not None
        assert pane.node.topic == needle.topic
        assert pane.message is not None
        assert pane.message.payload == first.payload

        await pilot.press("T")
        await settle(pilot, lambda: isinstance(app.screen, StatsScreen))
        stats = app.screen.query_one(DataTable)
        await settle(pilot, lambda: stats.row_count > 0)
        rows = {stats.get_row_at(n)[0]: stats.get_row_at(n) for n in range(stats.row_count)}
        demo = sum(1 for m in messages if m.topic.startswith("demo/"))
        assert rows["demo/#"][1] == f"{demo:,}"
        busiest = max(int(row[1].replace(",", "")) for row in rows.values())
        assert stats.get_row_at(0)[1] == f"{busiest:,}"  # the top talker first
        await pilot.press("escape")


@needs_reference()
async def test_open_the_shared_capture_pick_a_connection_and_walk_its_frames() -> None:
    app = ExplorerApp(Workspace(), file=str(CAPTURE))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.file is not None and app.workspace.file.done)
        assert app.workspace.tree.find("v5/paho/value") is not None
        await pilot.press("N")
        await settle(pilot, lambda: isinstance(app.screen, ConnectionPickerScreen))
        rows = app.screen.rows  # type: ignore[attr-defined]
        assert rows[0].conn is None
        assert len(rows) >= 3
        await pilot.press("down", "down", "enter")
        await settle(pilot, lambda: app.screen is app.main_screen)
        source = app.workspace.file
        assert source is not None
        await settle(pilot, lambda: source.conn == rows[2].conn and source.done)
        assert {event.conn for event in app.workspace.trace} == {rows[2].conn}
        await pilot.press("2")
        frames = app.main_screen.query_one(FrameList)
        await settle(pilot, lambda: frames.row_count > 0)
        await pilot.press("home", "enter")
        detail = app.main_screen.query_one(FrameDetail)
        await settle(pilot, lambda: detail.frame is not None)
        first = detail.frame
        frames.focus()
        await pilot.press("down", "enter")
        await settle(pilot, lambda: detail.frame is not None and detail.frame is not first)
