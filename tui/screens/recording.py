"""Files and recordings in the terminal explorer: the connection picker, search and Stats.

The texts, rows and parsing come from :mod:`explorer.present.recording`; the searches and
counts are Workspace intents. Each screen is modal: the picker dismisses with the
connection chosen, the search with the message to open in the message view.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from explorer.errors import ExplorerError
from explorer.present.recording import (
    SEARCH_LIMIT,
    STATS_COLUMNS,
    PickerRow,
    SearchForm,
    SearchRow,
    next_sort,
    search_rows,
    search_summary,
    stats_cells,
    stats_title,
)
from explorer.recording import Message
from explorer.recording.stats import SortKey
from explorer.workspace import Workspace
from tui.screens.dialogs import DIALOG_CSS

__all__ = ["ConnectionPickerScreen", "SearchScreen", "StatsScreen"]

_WIDE = """
.wide { width: 90%; height: 85%; border: thick $accent; background: $surface; padding: 0 1; }
.wide DataTable { height: 1fr; }
.wide #search-fields { height: auto; }
.wide #search-fields Input { width: 1fr; }
.wide .summary { height: 1; color: $text-muted; }
"""


class ConnectionPickerScreen(ModalScreen[PickerRow | None]):
    """Which connection of a file to show (or all of them)."""

    DEFAULT_CSS = "ConnectionPickerScreen { align: center middle; }" + DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, rows: list[PickerRow], current: int | None) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            yield OptionList(
                *(Option(row.label, id=str(index)) for index, row in enumerate(self.rows)), id="picker"
            )

    def on_mount(self) -> None:
        picker = self.query_one(OptionList)
        for index, row in enumerate(self.rows):
            if row.conn == self.current:
                picker.highlighted = index
        picker.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.rows[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


class SearchScreen(ModalScreen[Message | None]):
    """Search the open file or the live session's recording; Enter on a row opens it."""

    DEFAULT_CSS = "SearchScreen { align: center middle; }" + _WIDE
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Close")]

    def __init__(self, workspace: Workspace, form: SearchForm | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.form = form or SearchForm()
        self.rows: list[SearchRow] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="wide"):
            yield Label("Search: topic filter (+ #), since / until (ISO or -10m), words; Enter searches")
            with Horizontal(id="search-fields"):
                yield Input(self.form.topic, placeholder="topic filter", id="search-topic")
                yield Input(self.form.since, placeholder="since", id="search-since")
                yield Input(self.form.until, placeholder="until", id="search-until")
                yield Input(self.form.text, placeholder="words", id="search-text")
                yield Button("Search", variant="primary", id="search-go")
            yield Static("", classes="summary", id="search-summary")
            yield DataTable(id="search-results", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Time (UTC)", "Topic", "QoS", "Payload")
        self.query_one("#search-text", Input).focus()

    def _form(self) -> SearchForm:
        def value(name: str) -> str:
            return self.query_one(f"#search-{name}", Input).value

        return SearchForm(value("topic"), value("since"), value("until"), value("text"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.run_search()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "search-go":
            self.run_search()

    @work(exclusive=True, exit_on_error=False)
    async def run_search(self) -> None:
        summary = self.query_one("#search-summary", Static)
        conn = self.workspace.file.conn if self.workspace.file is not None else None
        try:
            query = self._form().query(conn)
            messages = await self.workspace.search(query, limit=SEARCH_LIMIT)
        except ExplorerError as exc:
            summary.update(str(exc))
            return
        self.rows = search_rows(messages)
        table = self.query_one(DataTable)
        table.clear()
        for index, row in enumerate(self.rows):
            table.add_row(row.time, row.topic, row.flags, row.preview, key=str(index))
        summary.update(search_summary(len(self.rows)))
        if self.rows:
            table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is not None:
            self.dismiss(self.rows[int(key)].message)

    def action_cancel(self) -> None:
        self.dismiss(None)


class StatsScreen(ModalScreen[None]):
    """Top talkers per topic and subtree; ``o`` changes the order, ``r`` counts again."""

    DEFAULT_CSS = "StatsScreen { align: center middle; }" + _WIDE
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_screen", "Close"),
        Binding("o", "sort", "Order"),
        Binding("r", "refresh_stats", "Refresh"),
    ]

    def __init__(self, workspace: Workspace, sort: SortKey = "rate") -> None:
        super().__init__()
        self.workspace = workspace
        self.sort: SortKey = sort

    def compose(self) -> ComposeResult:
        with Vertical(classes="wide"):
            yield Static("Counting…", id="stats-title")
            yield Static(
                "o: order (rate, bytes, messages, topic)   r: refresh   escape: close", classes="summary"
            )
            yield DataTable(id="stats-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*STATS_COLUMNS)
        self.action_refresh_stats()

    def action_sort(self) -> None:
        self.sort = next_sort(self.sort)
        self.action_refresh_stats()

    @work(exclusive=True, exit_on_error=False)
    async def action_refresh_stats(self) -> None:
        title = self.query_one("#stats-title", Static)
        try:
            stats, live = await self.workspace.topic_stats()
        except ExplorerError as exc:
            title.update(str(exc))
            return
        table = self.query_one(DataTable)
        table.clear()
        for row in stats.rows(sort=self.sort, limit=500):
            table.add_row(*stats_cells(row))
        title.update(stats_title(stats, self.sort, live=live))
        table.focus()

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)
