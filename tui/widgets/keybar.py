"""The key bar at the bottom of every screen: one line of the keys that work right now.

Textual's ``Footer`` is a container with a widget per key, rebuilt (removed, composed,
mounted, laid out) whenever the active bindings change, and focus moving from one
widget to another is such a change. That costs tens of milliseconds per focus change
and lays the whole screen out again, which a firehose makes users feel. This bar is a
single widget: a change of keys repaints one line, and only when the keys shown differ.
Clicking a key presses it; hovering shows its description.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

__all__ = ["KEEP_LONGEST", "KeyBar", "KeyEntry", "fit_entries", "key_entries"]


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One key (or a group's label) on the bar; ``key`` is empty for a label."""

    key: str
    display: str
    description: str
    enabled: bool = True
    tooltip: str = ""
    grouped: bool = False
    action: str = ""


# What stays on a narrow bar longest, most important first; other keys give way first, the
# rightmost of equals before the others.
KEEP_LONGEST = (
    "app.quit",
    "quit",
    "app.profiles",
    "app.export",
    "app.diagnose",
    "app.publish",
    "close",
    "dismiss",
    "filter_topics",
    "app.subscribe",
    "app.reconnect",
    "open",
)


def _importance(units: list[list[KeyEntry]], index: int) -> tuple[int, int]:
    """Sort key of a unit (a single key, or a group's keys with its label): lower is kept longer."""
    ranks = [KEEP_LONGEST.index(e.action) for e in units[index] if e.action in KEEP_LONGEST]
    return (min(ranks) if ranks else len(KEEP_LONGEST), -index)


def fit_entries(
    entries: list[KeyEntry], width_of: Callable[[list[KeyEntry]], int], room: int
) -> list[KeyEntry]:
    """The entries that fit in ``room`` cells: whole keys (and groups) give way, least important first."""
    units: list[list[KeyEntry]] = []
    for entry in entries:
        if units and units[-1][-1].grouped and (entry.grouped or not entry.key):
            units[-1].append(entry)
        else:
            units.append([entry])
    kept = list(range(len(units)))
    while len(kept) > 1 and width_of([e for i in kept for e in units[i]]) > room:
        kept.remove(max(kept, key=lambda i: _importance(units, i)))
    return [e for i in kept for e in units[i]]


def key_entries(screen: Screen[object], *, palette: bool) -> tuple[list[KeyEntry], KeyEntry | None]:
    """The keys a footer shows for ``screen`` now, in order, and the command palette's key.

    As Textual's footer does: only bindings with ``show`` set, one key per action (the
    first bound), and bindings of a group with several members shown as their keys
    followed by the group's description.
    """
    app = screen.app
    active = screen.active_bindings
    by_action: dict[str, list[tuple[Binding, bool, str]]] = {}
    for _node, binding, enabled, tooltip in active.values():
        if binding.show:
            by_action.setdefault(binding.action, []).append((binding, enabled, tooltip))
    entries: list[KeyEntry] = []
    runs: list[list[tuple[Binding, bool, str]]] = []
    for same_action in by_action.values():
        group = same_action[0][0].group
        if runs and group is not None and runs[-1][0][0].group is group:
            runs[-1].append(same_action[0])
        else:
            runs.append([same_action[0]])
    for run in runs:
        group = run[0][0].group
        if group is not None and len(run) > 1:
            for binding, enabled, tooltip in run:
                entries.append(
                    KeyEntry(
                        binding.key,
                        app.get_key_display(binding),
                        "",
                        enabled,
                        tooltip or binding.description,
                        grouped=True,
                        action=binding.action,
                    )
                )
            entries.append(KeyEntry("", "", group.description))
        else:
            for binding, enabled, tooltip in run:
                entries.append(
                    KeyEntry(
                        binding.key,
                        app.get_key_display(binding),
                        binding.description,
                        enabled,
                        tooltip,
                        action=binding.action,
                    )
                )
    command = None
    if palette and app.ENABLE_COMMAND_PALETTE:
        found = active.get(app.COMMAND_PALETTE_BINDING)
        if found is not None:
            _node, binding, enabled, _tooltip = found
            command = KeyEntry(
                binding.key,
                app.get_key_display(binding),
                binding.description,
                enabled,
                binding.tooltip or binding.description,
            )
    return entries, command


class KeyBar(Widget, can_focus=False):
    """A one-line footer of the active key bindings (see the module docstring)."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-bar--key", "key-bar--description", "key-bar--hover"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .key-bar--hover {
            background: $block-hover-background;
        }
    }
    """

    def __init__(
        self, *, compact: bool = False, show_command_palette: bool = True, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.compact = compact
        self.show_command_palette = show_command_palette
        self.entries: list[KeyEntry] = []
        self.command: KeyEntry | None = None
        # Cells (start, end) of each entry that takes a click, with its entry.
        self._spans: list[tuple[int, int, KeyEntry]] = []
        self._hover: KeyEntry | None = None
        # Cells the keys need to show in full (from the last paint).
        self.natural_width = 0

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.call_after_refresh(self._bindings_changed, self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        entries, command = key_entries(screen, palette=self.show_command_palette)
        if entries != self.entries or command != self.command:
            self.entries, self.command = entries, command
            self.refresh()

    @property
    def keys(self) -> list[str]:
        """The keys shown, in order (the command palette's last)."""
        keys = [entry.key for entry in self.entries if entry.key]
        return keys + ([self.command.key] if self.command is not None else [])

    # -- painting -------------------------------------------------------------------

    def _line(self, entries: list[KeyEntry], compact: bool) -> tuple[Text, list[tuple[int, int, KeyEntry]]]:
        key_style = self.get_component_rich_style("key-bar--key", partial=True)
        text_style = self.get_component_rich_style("key-bar--description", partial=True)
        hover_style = self.get_component_rich_style("key-bar--hover", partial=True)
        dim = Style(dim=True)
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, KeyEntry]] = []

        def add(entry: KeyEntry, text: str, style: Style) -> None:
            start = line.cell_len
            line.append(text, style)
            if entry.key:
                spans.append((start, line.cell_len, entry))

        def item(entry: KeyEntry) -> None:
            extra = hover_style if entry is self._hover else Style()
            if not entry.enabled:
                extra += dim
            if not entry.key:
                line.append(" " + entry.description, text_style)
            elif compact or entry.grouped:
                add(entry, entry.display, key_style + extra)
                if entry.description:
                    add(entry, " " + entry.description, text_style + extra)
            else:
                add(entry, f" {entry.display} ", key_style + extra)
                add(entry, entry.description + " ", text_style + extra)

        previous_grouped = False
        for entry in entries:
            joined = previous_grouped and (entry.grouped or not entry.key)
            if line and compact and not joined:
                line.append(" ")
            item(entry)
            previous_grouped = entry.grouped
        return line, spans

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key", partial=True)
        text_style = self.get_component_rich_style("key-bar--description", partial=True)
        width = self.size.width
        tail = Text(no_wrap=True, end="")
        if self.command is not None:
            tail.append("▏", Style(dim=True))
            tail.append(self.command.display, key_style)
            tail.append(" " + self.command.description, text_style)
        room = width - tail.cell_len if width else 10**6
        line, spans = self._line(self.entries, self.compact)
        self.natural_width = line.cell_len + tail.cell_len
        if line.cell_len > room:
            # Narrow: first the compact form, then whole keys give way, least important first.
            entries = fit_entries(self.entries, lambda shown: self._line(shown, True)[0].cell_len, room)
            line, spans = self._line(entries, True)
            if line.cell_len > room:
                line.truncate(max(0, room), overflow="crop")
                spans = [(a, min(b, room), e) for a, b, e in spans if a < room]
        if self.command is not None and width:
            tail_start = room + 1
            line.append(" " * (room - line.cell_len))
            spans.append((tail_start, width, self.command))
            line.append_text(tail)
        self._spans = spans
        return line

    def _entry_at(self, x: int) -> KeyEntry | None:
        for start, end, entry in self._spans:
            if start <= x < end:
                return entry
        return None

    # -- mouse ----------------------------------------------------------------------

    def on_mouse_move(self, event: events.MouseMove) -> None:
        entry = self._entry_at(event.x)
        if entry is not self._hover:
            self._hover = entry
            self.tooltip = (entry.tooltip or entry.description) if entry is not None else None
            self.refresh()

    def on_leave(self, _event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        entry = self._entry_at(event.x)
        if entry is None:
            return
        event.stop()
        if entry.enabled:
            self.app.simulate_key(entry.key)
        else:
            self.app.bell()
