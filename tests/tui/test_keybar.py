"""The key bar: the keys of the focused widget and its screen, on one line that a click presses.

It replaces Textual's footer, whose widget per key is rebuilt on every focus change;
these tests pin what a user relies on: the right keys for the focus, groups, the command
palette on the right, disabled keys dimmed, clicks and hover descriptions.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, Input

from tui.widgets.keybar import KeyBar

TABS = Binding.Group("Tabs", compact=True)


class Box(Input):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+y", "yank", "Yank")]

    def action_yank(self) -> None:
        self.value = "yanked"


class Demo(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "tab(1)", "First tab", group=TABS),
        Binding("2", "tab(2)", "Second tab", group=TABS),
        Binding("x", "count", "Count"),
        Binding("z", "never", "Off"),
        Binding("n", "count", "Count again"),  # same action: shown once, first key
        Binding("h", "count", "Hidden", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.counted = 0
        self.tab = 0

    def compose(self) -> ComposeResult:
        yield Box(id="box")
        yield Button("plain", id="plain")
        yield KeyBar(compact=True)

    def action_count(self) -> None:
        self.counted += 1

    def action_tab(self, number: int) -> None:
        self.tab = number

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if action == "never" else True


async def test_the_bar_lists_the_focused_widgets_keys_then_the_screens_with_the_palette_last() -> None:
    app = Demo()
    async with app.run_test(size=(120, 10)) as pilot:
        bar = app.query_one(KeyBar)
        app.query_one("#plain").focus()
        await pilot.pause()
        # One key per action (n is x's action again), none with show=False (h).
        assert bar.keys == ["1", "2", "x", "z", "ctrl+p"]
        text = bar.render().plain
        assert text.startswith("12 Tabs x Count z Off ")
        assert text.endswith("▏^p palette")
        assert len(text) == 120
        # In a text box, printable keys type text: only the box's own keys and the palette's remain.
        app.query_one("#box").focus()
        await pilot.pause()
        assert bar.keys == ["ctrl+y", "ctrl+p"]
        assert bar.render().plain.startswith("^y Yank ")


async def test_a_disabled_key_is_dimmed_and_a_click_on_it_does_nothing() -> None:
    app = Demo()
    async with app.run_test(size=(120, 10)) as pilot:
        app.query_one("#plain").focus()
        await pilot.pause()
        bar = app.query_one(KeyBar)
        off = next(e for e in bar.entries if e.key == "z")
        assert not off.enabled
        rendered = bar.render()
        start = rendered.plain.index("z Off")
        assert any(span.start <= start < span.end and "dim" in str(span.style) for span in rendered.spans)
        await pilot.click(KeyBar, offset=(start, 0))
        await pilot.pause()
        assert app.counted == 0


async def test_clicking_a_key_presses_it_and_hovering_shows_its_description() -> None:
    app = Demo()
    async with app.run_test(size=(120, 10)) as pilot:
        app.query_one("#plain").focus()
        await pilot.pause()
        bar = app.query_one(KeyBar)
        text = bar.render().plain
        await pilot.click(KeyBar, offset=(text.index("x Count") + 2, 0))
        await pilot.pause()
        assert app.counted == 1
        await pilot.click(KeyBar, offset=(text.index("12 Tabs") + 1, 0))
        await pilot.pause()
        assert app.tab == 2
        await pilot.hover(KeyBar, offset=(text.index("12 Tabs"), 0))
        await pilot.pause()
        assert bar.tooltip == "First tab"
        await pilot.click(KeyBar, offset=(text.index("^p palette") + 1, 0))
        await pilot.pause()
        assert app.screen is not app.screen_stack[0]  # the command palette opened


async def test_a_focus_change_repaints_the_bar_without_mounting_anything() -> None:
    app = Demo()
    async with app.run_test(size=(120, 10)) as pilot:
        bar = app.query_one(KeyBar)
        await pilot.pause()
        widgets_before = len(list(app.screen.walk_children()))
        app.query_one("#plain").focus()
        await pilot.pause()
        app.query_one("#box").focus()
        await pilot.pause()
        assert bar.keys[0] == "ctrl+y"
        assert len(list(app.screen.walk_children())) == widgets_before


async def test_a_narrow_bar_keeps_quit_connect_and_export_and_drops_the_least_important_keys() -> None:
    from explorer.workspace import Workspace
    from tui.app import ExplorerApp

    for width in (80, 100):
        app = ExplorerApp(Workspace(), autostart=False)
        async with app.run_test(size=(width, 24)) as pilot:
            await pilot.pause()
            bar = app.main_screen.query_one(KeyBar)
            text = bar.render().plain
            assert len(text) <= width
            for label in ("Quit", "Connect", "Export"):
                assert label in text, (width, text)
            assert text.rstrip().endswith("palette")
    app = ExplorerApp(Workspace(), autostart=False)
    async with app.run_test(size=(200, 40)) as pilot:
        await pilot.pause()
        text = app.main_screen.query_one(KeyBar).render().plain
        for label in ("Quit", "Connect", "Export", "Sub", "Unsub", "Publish", "Diagnose", "Filter"):
            assert label in text
