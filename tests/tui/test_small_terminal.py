"""The terminal explorer at 80x24 and 100x30: the views' tabs, the frame detail and the status
line stay on screen, and what gives way first is the topic pane's width and the tabs' key hints.

Runs on the fixed session of ``scenario.py`` (no broker).
"""

from __future__ import annotations

import re

import pytest
from textual.widgets import Tab, TabbedContent, Tabs

from explorer.present.eventtext import frame_fields
from tests.tui.test_navigation import ready, scenario_app, select_topic
from tui.widgets.frame_detail import FrameDetail
from tui.widgets.frames import FrameList
from tui.widgets.message import MESSAGE_VIEWS, TAB_LEVELS
from tui.widgets.status import StatusLine
from tui.widgets.tablabels import fit_labels

SMALL = [(80, 24), (100, 30)]


def assert_all_tabs_on_screen(tabbed: TabbedContent, width: int) -> None:
    bar = tabbed.query_one(Tabs)
    tabs = list(bar.query(Tab))
    assert sum(tab.outer_size.width for tab in tabs) <= bar.size.width, [t.label.plain for t in tabs]
    for tab in tabs:
        region = tab.region
        assert region.width > 0, tab.label.plain
        assert bar.region.x <= region.x, tab.label.plain
        assert region.right <= min(bar.region.right, width), tab.label.plain


@pytest.mark.parametrize("size", SMALL)
async def test_every_view_tab_stays_on_screen(size: tuple[int, int]) -> None:
    app = scenario_app()
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        pane = await select_topic(pilot, app, "demo/sensors/kitchen/temperature")
        await pilot.pause()
        width, _ = size
        views = pane.query_one("#message-tabs", TabbedContent)
        assert_all_tabs_on_screen(views, width)
        assert_all_tabs_on_screen(app.main_screen.query_one("#main-tabs", TabbedContent), width)
        # The last view is reachable by its key and its tab is the one shown as active.
        await pilot.press("o")
        await pilot.pause()
        assert views.active == "tab-props"
        active = views.get_tab("tab-props")
        assert active.region.right <= width
        assert active.region.width > 0
        # The topic pane gave way first: it is narrower than at full width, never gone.
        left = app.main_screen.query_one("#left")
        assert 24 <= left.size.width < 0.42 * width


@pytest.mark.parametrize("size", SMALL)
async def test_the_frame_detail_lays_its_fields_out_without_wrapping(size: tuple[int, int]) -> None:
    app = scenario_app()
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.press("2")
        frames = app.main_screen.query_one(FrameList)
        await pilot.pause()
        await pilot.press("g", "enter")
        detail = app.main_screen.query_one(FrameDetail)
        await pilot.pause()
        frame = detail.frame
        assert frame is not None
        lines = detail.header_text.splitlines()
        room = detail.scrollable_content_region.width
        assert all(len(line) <= room for line in lines), (room, lines)
        text = "\n".join(lines)
        for name, value in frame_fields(frame):
            # Name and value on one line: no field is broken over two lines.
            assert re.search(rf"{re.escape(name)} +{re.escape(value)}", text), name
        assert frames.region.right <= size[0]
        assert detail.region.bottom <= size[1]


@pytest.mark.parametrize("size", SMALL)
async def test_the_status_line_and_key_bar_keep_their_first_fields(size: tuple[int, int]) -> None:
    app = scenario_app()
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        status = app.main_screen.query_one(StatusLine)
        assert status.region.right <= size[0]
        # What is on screen of the status line starts with the connection state.
        shown = app.main_screen.query_one(StatusLine).render_line(0).text
        assert shown.split()[0] in status.plain.split()[0], (shown, status.plain)
        footer = app.main_screen.query_one("KeyBar")
        assert footer.region.bottom == size[1]


def test_key_hints_give_way_before_names_and_tabs_go_tight_last() -> None:
    levels = [[TAB_LEVELS[tab][level] for tab, _, _ in MESSAGE_VIEWS] for level in range(3)]
    full, tight = fit_labels(levels, 200)
    assert full[0] == "Text [t]"
    assert not tight
    named, tight = fit_labels(levels, 70)
    assert named == tuple(label for _, label, _ in MESSAGE_VIEWS)
    assert not tight
    short, tight = fit_labels(levels, 55)
    assert short[1] == "Dec"
    assert not tight
    squeezed, tight = fit_labels(levels, 45)
    assert squeezed == short
    assert tight
