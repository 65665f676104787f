"""The diagnoser: probe a URL layer by layer with live progress, then the verdict and the fix.

The probe is :meth:`Workspace.probe` (``explorer.diagnose``); this screen shows each
layer's :class:`~explorer.diagnose.Step` as it ends and then the
:class:`~explorer.diagnose.Diagnosis`: the layer that broke, the explanation, what was
observed on the wire and what to do. A failed connect opens this screen and runs it at
once, so the user sees a cause instead of an error message.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from explorer.client.options import ConnectionOptions
from explorer.diagnose import LAYERS, Diagnosis, Step
from explorer.errors import ExplorerError
from explorer.workspace import Workspace
from tui.widgets.keybar import KeyBar

__all__ = ["DiagnoseScreen", "diagnosis_text", "steps_text"]

_LAYER_NAMES = {
    "dns": "DNS",
    "tcp": "TCP",
    "tls": "TLS",
    "http": "HTTP upgrade",
    "websocket": "WebSocket",
    "mqtt": "MQTT CONNECT",
    "liveness": "liveness",
}


def steps_text(steps: list[Step], running: bool) -> Text:
    """One line per layer: done (✓/✗ with time and detail), running, or waiting."""
    text = Text()
    done = {step.layer: step for step in steps}
    failed = any(not step.ok for step in steps)
    next_shown = False
    for layer in LAYERS:
        name = f"{_LAYER_NAMES.get(layer, layer):<14}"
        step = done.get(layer)
        if step is not None:
            mark, style = ("✓", "green") if step.ok else ("✗", "bold red")
            text.append(f" {mark} ", style)
            text.append(name, "bold")
            text.append(f"{step.duration_ms:8.1f} ms  ", "dim")
            text.append(step.detail + "\n", "" if step.ok else "red")
        elif running and not failed and not next_shown:
            next_shown = True
            text.append(" … ", "yellow")
            text.append(name, "bold yellow")
            text.append("  checking\n", "yellow")
        else:
            text.append(" · ", "dim")
            text.append(name + "\n", "dim")
    return text


def diagnosis_text(diagnosis: Diagnosis, *, explored: bool = False) -> Text:
    """The verdict; ``explored`` says whether alternatives were tried (else how to try them)."""
    text = Text()
    if diagnosis.ok:
        text.append("✓ The connection works.\n", "bold green")
    else:
        text.append(
            f"✗ Fails at the {_LAYER_NAMES.get(diagnosis.layer, diagnosis.layer)} layer: ", "bold red"
        )
        text.append(f"{diagnosis.cause}\n", "bold")
    text.append("\n")
    text.append(diagnosis.explanation + "\n")
    if diagnosis.fix and not diagnosis.ok:
        text.append("\nFix: ", "bold green")
        text.append(diagnosis.fix + "\n")
    if diagnosis.alternatives:
        working = [alt for alt in diagnosis.alternatives if alt.ok]
        if working:
            text.append("\nWould work\n", "bold green")
            for alt in working:
                changes = ", ".join(f"{key} {value}" for key, value in alt.options_changed.items())
                text.append("  ✓ ", "green")
                text.append(f"{alt.description}", "bold")
                text.append(f"  ({changes})\n" if changes else "\n", "dim")
        else:
            text.append("\nNone of the alternatives worked.\n", "bold red")
        text.append("\nAlternatives tried\n", "bold")
        for alt in diagnosis.alternatives:
            text.append("  ✓ " if alt.ok else "  ✗ ", "green" if alt.ok else "red")
            text.append(f"{alt.description}{'' if alt.ok else f' ({alt.cause})'}\n")
    elif not diagnosis.ok:
        if explored:
            text.append(
                f"\nNothing to vary for a {_LAYER_NAMES.get(diagnosis.layer, diagnosis.layer)} failure: "
                "check the host name and the port.\n",
                "dim",
            )
        else:
            text.append("\nPress ctrl+t (Try alternatives) to probe variations of this URL.\n", "dim")
    if diagnosis.observed:
        text.append("\nObserved\n", "bold")
        for key, value in diagnosis.observed.items():
            text.append(f"  {key}: ", "bold dim")
            text.append(value + "\n")
    return text


class DiagnoseScreen(ModalScreen[Diagnosis | None]):
    """Probe a broker URL and explain what breaks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+r", "run_probe", "Run probe", priority=True),
        Binding("ctrl+t", "run_probe(True)", "Try alternatives", priority=True),
    ]

    DEFAULT_CSS = """
    DiagnoseScreen { align: center middle; }
    DiagnoseScreen #diagnose-box {
        width: 110;
        height: 90%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    DiagnoseScreen #diagnose-url-row { height: auto; }
    DiagnoseScreen #diagnose-url { width: 1fr; }
    DiagnoseScreen #diagnose-steps { height: auto; margin: 1 0; }
    DiagnoseScreen #diagnose-verdict { height: 1fr; }
    """

    def __init__(self, workspace: Workspace, options: ConnectionOptions | None, *, run: bool = False) -> None:
        super().__init__()
        self.workspace = workspace
        self.options = options
        self.run_at_once = run
        self.steps: list[Step] = []
        self.diagnosis: Diagnosis | None = None
        self.running = False
        self.exploring = False

    def compose(self) -> ComposeResult:
        with Vertical(id="diagnose-box"):
            yield Static(Text("Diagnose a connection", "bold"))
            with Horizontal(id="diagnose-url-row"):
                url = self.options.url if self.options is not None else ""
                yield Input(url, placeholder="ws://host:port/mqtt or wss://…", id="diagnose-url")
                yield Button("Probe (ctrl+r)", variant="primary", id="probe")
                yield Button("Try alternatives (ctrl+t)", id="explore")
                yield Button("Close", id="close")
            yield Static(steps_text([], False), id="diagnose-steps")
            with VerticalScroll(id="diagnose-verdict"):
                yield Static("", id="diagnose-result")
        yield KeyBar()

    def on_mount(self) -> None:
        if self.run_at_once:
            self.action_run_probe()
        else:
            self.query_one("#diagnose-url", Input).focus()

    def _options(self) -> ConnectionOptions:
        url = self.query_one("#diagnose-url", Input).value.strip()
        if not url:
            raise ExplorerError("give a broker URL to probe, e.g. ws://localhost:9001/mqtt")
        if self.options is not None:
            return self.options if url == self.options.url else self.options.with_changes(url=url)
        return ConnectionOptions(url=url)

    def _on_step(self, step: Step) -> None:
        self.steps.append(step)
        self.query_one("#diagnose-steps", Static).update(steps_text(self.steps, True))
        if self.exploring and not step.ok:
            self.query_one("#diagnose-result", Static).update(
                Text("Failed: trying alternatives (scheme, path, subprotocols, MQTT version)…", "yellow")
            )

    @work(exclusive=True, group="probe", exit_on_error=False)
    async def action_run_probe(self, explore: bool = False) -> None:
        """Probe the URL; with ``explore`` a failure goes on to try variations of it."""
        result = self.query_one("#diagnose-result", Static)
        self.steps = []
        self.diagnosis = None
        self.running = True
        self.exploring = explore
        self.query_one("#diagnose-steps", Static).update(steps_text(self.steps, True))
        result.update(Text("Probing…", "yellow"))
        try:
            options = self._options()
            diagnosis = await self.workspace.probe(options, on_step=self._on_step, explore=explore)
        except (ExplorerError, OSError) as exc:
            self.running = False
            self.query_one("#diagnose-steps", Static).update(steps_text(self.steps, False))
            message = str(exc) if isinstance(exc, ExplorerError) else f"the probe could not run: {exc}"
            result.update(Text(message, "bold red"))
            return
        self.running = False
        self.show_diagnosis(diagnosis)

    def show_diagnosis(self, diagnosis: Diagnosis) -> None:
        """Show a verdict (the probe's, or one given by the caller)."""
        self.diagnosis = diagnosis
        self.steps = list(diagnosis.steps) or self.steps
        self.query_one("#diagnose-steps", Static).update(steps_text(self.steps, False))
        self.query_one("#diagnose-result", Static).update(diagnosis_text(diagnosis, explored=self.exploring))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_run_probe()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "probe":
            self.action_run_probe()
        elif event.button.id == "explore":
            self.action_run_probe(True)
        else:
            self.action_close()

    def action_close(self) -> None:
        self.dismiss(self.diagnosis)
