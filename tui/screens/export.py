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
from explorer.present.export import EXPORT_KINDS, default_export_dir, default_export_path, path_for_kind
from explorer.workspace import Workspace
from tui.screens.dialogs import ConfirmScreen
from tui.widgets.keybar import KeyBar

__all__ = ["EXPORT_KINDS", "ExportScreen"]


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
        self.directory = directory if directory is not None else default_export_dir()
        self.kind = "trace-pcapng"

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label("Export")
            with RadioSet(id="export-kind"):
                for kind in EXPORT_KINDS.values():
                    yield RadioButton(kind.label, value=kind.id == self.kind, id=kind.id)
            yield Label("File")
            yield Input(str(default_export_path(EXPORT_KINDS[self.kind], self.directory)), id="export-path")
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
        path_input.value = str(
            path_for_kind(Path(path_input.value), EXPORT_KINDS[self.kind], EXPORT_KINDS[kind])
        )
        self.kind = kind

    def export(self) -> None:
        """Write the chosen export, after asking whether to replace an existing file."""
        path = Path(self.query_one("#export-path", Input).value).expanduser()
        if path.exists():

            def replace(yes: bool | None) -> None:
                if yes:
                    self.write(path)

            self.app.push_screen(ConfirmScreen(f"{path} exists. Replace it?", yes="Replace"), replace)
            return
        self.write(path)

    def write(self, path: Path) -> Path | None:
        """Write the chosen export to ``path``; returns it, or None after showing the error."""
        result = self.query_one("#export-result", Static)
        kind = EXPORT_KINDS[self.kind]
        try:
            if kind.what == "trace":
                count = self.workspace.export_trace(path, kind.format)  # type: ignore[arg-type]
            else:
                count = self.workspace.export_messages(path, kind.format)  # type: ignore[arg-type]
        except (ExplorerError, OSError) as exc:
            result.update(Text(f"cannot export: {exc}", "red"))
            return None
        what = "events" if kind.what == "trace" else "messages"
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
