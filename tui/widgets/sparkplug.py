"""The Sparkplug tab: edge nodes, devices and metrics with their latest values, and a chart.

Rows come from :func:`explorer.present.decoded.sparkplug_rows` (the Workspace's Sparkplug
B state); choosing a numeric metric plots its kept values in a sparkline. Redrawn only
when a batch brought Sparkplug messages and the tab is on screen.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Sparkline, Static
from textual.widgets.option_list import Option

from explorer.codecs.sparkplug_state import SparkplugTracker
from explorer.errors import ExplorerError
from explorer.present.decoded import (
    SPARKPLUG_EMPTY,
    SparkRow,
    metric_series,
    rebirth_request,
    sparkplug_notice_lines,
    sparkplug_rows,
    sparkplug_title,
)
from tui.widgets.lists import VimOptionList

__all__ = ["SparkplugPane"]

_STATE_STYLE = {"online": "green", "offline": "red"}


class SparkplugPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "rebirth", "Request rebirth"),
    ]

    DEFAULT_CSS = """
    SparkplugPane #sparkplug-rows { height: 1fr; }
    SparkplugPane #sparkplug-chart { height: 6; margin: 1 0 0 0; }
    SparkplugPane #sparkplug-chart-label { height: auto; padding: 0 1; }
    SparkplugPane #sparkplug-notices { height: auto; max-height: 6; color: $warning; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tracker: SparkplugTracker | None = None
        self.rows: list[SparkRow] = []
        self.chosen: SparkRow | None = None
        self._version = -1

    def compose(self) -> ComposeResult:
        yield Static(SPARKPLUG_EMPTY, id="sparkplug-title")
        yield VimOptionList(id="sparkplug-rows")
        yield Static("", id="sparkplug-notices")
        yield Static(
            "Enter on a numeric metric charts it; b asks the node for a rebirth (new BIRTH).",
            id="sparkplug-chart-label",
        )
        yield Sparkline([], id="sparkplug-chart")

    def refresh_from(self, tracker: SparkplugTracker) -> None:
        """Redraw when the tracker changed since the last drawing."""
        self.tracker = tracker
        if tracker.version == self._version:
            return
        self._version = tracker.version
        rows = sparkplug_rows(tracker)
        options = self.query_one("#sparkplug-rows", OptionList)
        highlighted = options.highlighted
        self.rows = rows
        options.clear_options()
        options.add_options([Option(self._line(row)) for row in rows])
        if rows:
            options.highlighted = min(highlighted or 0, len(rows) - 1)
        title, named = sparkplug_title(rows)
        self.query_one("#sparkplug-title", Static).update(Text(title, "bold") if named else title)
        self.query_one("#sparkplug-notices", Static).update("\n".join(sparkplug_notice_lines(tracker)))
        self._draw_chart()

    @staticmethod
    def _line(row: SparkRow) -> Text:
        text = Text()
        if row.level == "node":
            text.append(row.label, "bold")
            text.append("  ")
            text.append(row.value, _STATE_STYLE.get(row.value, "yellow"))
            text.append(f"  {row.detail}", "dim")
        elif row.level == "device":
            text.append(f"  {row.label}", "bold")
            text.append("  ")
            text.append(row.value, _STATE_STYLE.get(row.value, "yellow"))
        else:
            indent = "    " if row.key[2] is None else "      "
            text.append(f"{indent}{row.label} = ")
            text.append(row.value, "cyan" if row.numeric else "")
            text.append(f"  {row.detail}", "dim")
        return text

    def choose(self, index: int) -> None:
        if 0 <= index < len(self.rows):
            row = self.rows[index]
            if row.level == "metric" and row.numeric:
                self.chosen = row
                self._draw_chart()

    def _draw_chart(self) -> None:
        spark = self.query_one("#sparkplug-chart", Sparkline)
        label = self.query_one("#sparkplug-chart-label", Static)
        if self.chosen is None or self.tracker is None:
            spark.display = False
            return
        values = [value for _, value in metric_series(self.tracker, self.chosen.key)]
        spark.data = values
        spark.display = bool(values)
        group, edge, device, metric = self.chosen.key
        where = f"{group}/{edge}" + (f"/{device}" if device else "")
        if values:
            label.update(
                f"{where} {metric}: last {values[-1]:g}  min {min(values):g}  max {max(values):g}  "
                f"({len(values)} values)"
            )
        else:
            label.update(f"{where} {metric}: no values yet")

    def action_rebirth(self) -> None:
        """Send the highlighted edge node an NCMD ``Node Control/Rebirth`` (names come back in its BIRTH)."""
        options = self.query_one("#sparkplug-rows", OptionList)
        index = options.highlighted
        if index is None or not 0 <= index < len(self.rows):
            self.notify("highlight an edge node, device or metric first", severity="warning")
            return
        group, edge, _, _ = self.rows[index].key
        topic, payload = rebirth_request(group, edge, int(time.time() * 1000))
        self.run_worker(self._publish(topic, payload), exit_on_error=False)

    async def _publish(self, topic: str, payload: bytes) -> None:
        workspace = getattr(self.screen, "workspace", None)
        if workspace is None:
            return
        try:
            await workspace.publish(topic, payload)
        except (ExplorerError, OSError) as exc:
            self.notify(f"cannot request a rebirth: {exc}", severity="error")
            return
        self.notify(f"rebirth requested: {topic}")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "sparkplug-rows":
            event.stop()
            self.choose(event.option_index)
