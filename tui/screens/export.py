"""Export the trace (pcapng for Wireshark, JSONL) or the kept messages (JSONL, CSV).

The writers are the Workspace's (``export_trace`` / ``export_messages``), which mask
the CONNECT password like every other view; this dialog picks the kind and the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from explorer.errors import ExplorerError
from explorer.workspace import Workspace
from tui.widgets.keybar import KeyBar

__all__ = ["EXPORT_KINDS", "ExportScreen"]

# id -> (label, default file name)
EXPORT_KINDS: dict[str, tuple[str, str]] = {
    "trace-pcapng": ("Trace as pcapng (Wireshark)", "trace.pcapng"),
    "trace-jsonl": ("Trace as JSON lines", "trace.jsonl"),
    "messages-jsonl": ("Messages as JSON lines", "messages.jsonl"),
    "messages-csv": ("Messages as CSV", "messages.csv"),
}


class ExportScreen(ModalScreen[Path | None]):
    """Pick what to export and where; dismissed with the written path."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen #export-box {
        width: 80;
        height: auto;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    ExportScreen #export-buttons { height: auto; margin-top: 1; }
    ExportScreen #export-buttons Button { margin-right: 1; }
    ExportScreen #export-result { height: auto; margin-top: 1; }
    """

    def __init__(self, workspace: Workspace, directory: Path | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.directory = directory if directory is not None else Path.cwd()
        self.kind = "trace-pcapng"

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label("Export")
            with RadioSet(id="export-kind"):
                for kind, (label, _) in EXPORT_KINDS.items():
                    yield RadioButton(label, value=kind == self.kind, id=kind)
            yield Label("File")
            yield Input(str(self.directory / EXPORT_KINDS[self.kind][1]), id="export-path")
            with Horizontal(id="export-buttons"):
                yield Button("Export", variant="primary", id="export")
                yield Button("Close", id="close")
            yield Static("", id="export-result")
        yield KeyBar()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        kind = event.pressed.id
        if kind is None or kind not in EXPORT_KINDS:
            return
        path_input = self.query_one("#export-path", Input)
        current = Path(path_input.value)
        if current.name == EXPORT_KINDS[self.kind][1]:
            path_input.value = str(current.with_name(EXPORT_KINDS[kind][1]))
        self.kind = kind

    def export(self) -> Path | None:
        """Write the chosen export; returns the path, or None after showing the error."""
        result = self.query_one("#export-result", Static)
        path = Path(self.query_one("#export-path", Input).value).expanduser()
        try:
            if self.kind == "trace-pcapng":
                count = self.workspace.export_trace(path, "pcapng")
            elif self.kind == "trace-jsonl":
                count = self.workspace.export_trace(path, "jsonl")
            elif self.kind == "messages-jsonl":
                count = self.workspace.export_messages(path, "jsonl")
            else:
                count = self.workspace.export_messages(path, "csv")
        except (ExplorerError, OSError) as exc:
            result.update(Text(f"cannot export: {exc}", "red"))
            return None
        what = "events" if self.kind.startswith("trace") else "messages"
        result.update(Text(f"wrote {count} {what} to {path}", "green"))
        self.notify(f"wrote {count} {what} to {path}")
        return path

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.export()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export":
            self.export()
        else:
            self.action_close()

    def action_close(self) -> None:
        self.dismiss(None)
