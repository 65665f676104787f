"""The connection status line: everything about the link in one or two terminal lines.

It draws a :class:`~explorer.workspace.ConnectionStatus` snapshot and redraws only when
the snapshot differs from the one shown, so a firehose costs at most one redraw per batch.
The limits (trace size and history) are shown so the user knows what is kept in memory.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from explorer.workspace import ConnectionStatus

__all__ = ["StatusLine", "status_text"]

_STATE_STYLE = {
    "connected": "bold green",
    "connecting": "bold yellow",
    "reconnecting": "bold yellow",
    "failed": "bold red",
    "disconnected": "bold red",
}


def _count(value: int) -> str:
    if value >= 10_000_000:
        return f"{value / 1_000_000:.0f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return str(value)


def _size(value: int) -> str:
    if value >= 1024 * 1024:
        return f"{value / (1024 * 1024):.0f} MiB"
    if value >= 1024:
        return f"{value / 1024:.0f} KiB"
    return f"{value} B"


def status_text(status: ConnectionStatus, *, paused: bool = False) -> Text:
    """The status line as styled text (a function so tests and the GUI-less bench can read it)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f" {status.state} ", _STATE_STYLE.get(status.state, "bold"))
    if status.embedded:
        text.append("[embedded] ", "dim")
    text.append(status.url or "no connection", "underline" if status.url else "dim")
    parts: list[tuple[str, str]] = []
    if status.subprotocol:
        parts.append(("subprotocol ", status.subprotocol))
    if status.tls_version:
        tls = status.tls_version + (f" {status.cipher}" if status.cipher else "")
        parts.append(("", tls))
    if status.mqtt_version:
        parts.append(("MQTT ", status.mqtt_version))
    if status.rtt_ms is not None:
        parts.append(("rtt ", f"{status.rtt_ms:.1f} ms"))
    parts.append(("", f"{status.msgs_per_s:,.0f} msg/s"))
    parts.append(("topics ", _count(status.topics)))
    parts.append(("drops ", _count(status.dropped_events)))
    parts.append(
        ("trace ", f"{_count(status.trace_size)}/{_count(status.trace_limit)}"),
    )
    parts.append(("history ", f"{status.history_count}/topic, {_size(status.history_bytes)}"))
    for label, value in parts:
        text.append("  │ ", "dim")
        if label:
            text.append(label, "dim")
        text.append(value)
    if paused:
        text.append("  │ ", "dim")
        text.append("PAUSED", "bold reverse yellow")
    if status.state in ("failed", "disconnected") and (status.last_error or status.detail):
        text.append("  │ ", "dim")
        text.append(status.last_error or status.detail, "red")
    return text


class StatusLine(Static):
    """One line at the top of the main screen with the connection status."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text(" starting…"), id=id)
        self._shown: tuple[ConnectionStatus, bool] | None = None

    def show_status(self, status: ConnectionStatus, *, paused: bool = False) -> None:
        key = (status, paused)
        if key == self._shown:
            return
        self._shown = key
        # One line of fixed height: a repaint, never a new layout of the screen.
        self.update(status_text(status, paused=paused), layout=False)

    @property
    def plain(self) -> str:
        """The line as plain text (tests read it)."""
        if self._shown is None:
            return ""
        return status_text(self._shown[0], paused=self._shown[1]).plain
