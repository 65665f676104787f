"""The connection status line: everything about the link in one terminal line.

It draws the fields of :func:`explorer.present.status.status_line` (the GUI's status bar
draws the same fields) and redraws only when the snapshot differs from the one shown, so a
firehose costs at most one redraw per batch. On a narrow terminal the fields of the lowest
priority give way first (:meth:`StatusLine.fit`), so the state, the URL, the warnings and
the message rate stay in view.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import Static

from explorer.present.recording import with_source_field
from explorer.present.status import SEPARATOR, ConnectionStatus, Severity, StatusField, status_line
from explorer.present.status import StatusLine as StatusLineModel

__all__ = ["SEVERITY_STYLE", "StatusLine", "status_text"]

SEVERITY_STYLE: dict[Severity, str] = {
    Severity.NORMAL: "",
    Severity.QUIET: "dim",
    Severity.GOOD: "bold green",
    Severity.BUSY: "bold yellow",
    Severity.WARNING: "bold yellow",
    Severity.ERROR: "bold red",
}
"""The terminal's colours of the presentation layer's severities."""


def _styled(fields: tuple[StatusField, ...]) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for index, item in enumerate(fields):
        if index:
            text.append(SEPARATOR, "dim")
        style = SEVERITY_STYLE[item.severity]
        if item.key == "state":
            text.append(f" {item.text} ", style or "bold")
        elif item.key == "paused":
            text.append(item.text, "bold reverse yellow")
        elif item.key == "url" and item.severity is Severity.NORMAL:
            text.append(item.text, "underline")
        else:
            text.append(item.text, style)
    return text


def status_text(status: ConnectionStatus, *, paused: bool = False, width: int | None = None) -> Text:
    """The status line as styled text, fitted to ``width`` cells when given."""
    model = status_line(status, paused=paused)
    return _styled(model.fit(width) if width else model.fields)


class StatusLine(Static):
    """One line at the top of the main screen with the connection status."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text(" starting…"), id=id)
        self._shown: tuple[ConnectionStatus, bool, str] | None = None
        self.model: StatusLineModel | None = None
        self._width = 0

    def show_status(self, status: ConnectionStatus, *, paused: bool = False, extra: str = "") -> None:
        """Draw ``status``; ``extra`` is the file shown or the recording in progress."""
        key = (status, paused, extra)
        if key == self._shown:
            return
        self._shown = key
        self.model = with_source_field(status_line(status, paused=paused), extra)
        self._paint()

    def _paint(self) -> None:
        model = self.model
        if model is None:
            return
        width = self.size.width
        # One line of fixed height: a repaint, never a new layout of the screen.
        self.update(_styled(model.fit(width) if width else model.fields), layout=False)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self._paint()

    @property
    def plain(self) -> str:
        """The line as plain text, every field (tests read it)."""
        if self.model is None:
            return ""
        return _styled(self.model.fields).plain
