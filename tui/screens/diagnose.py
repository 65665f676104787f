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
from textual.widgets import Button, Checkbox, Input, Label, Static

from explorer.client.options import ConnectionOptions
from explorer.diagnose import Diagnosis, Step
from explorer.diagnose.model import ProbeChecks
from explorer.errors import ExplorerError
from explorer.present.diagnosis import DiagnosisReport, diagnosis_report, step_rows
from explorer.present.probechecks import (
    CHECK_OPTIONS,
    IDLE_FIELD,
    PUBLISH_SIZE_FIELD,
    checks_summary,
    probe_checks,
)
from explorer.present.status import Severity
from explorer.workspace import Workspace
from tui.widgets.keybar import KeyBar
from tui.widgets.status import SEVERITY_STYLE

__all__ = ["DiagnoseScreen", "diagnosis_text", "report_text", "steps_text"]


def steps_text(steps: list[Step], running: bool, *, finished_at: str | None = None) -> Text:
    """One line per layer (:func:`explorer.present.diagnosis.step_rows`)."""
    text = Text()
    for row in step_rows(steps, running=running, finished_at=finished_at):
        style = SEVERITY_STYLE[row.severity]
        text.append(f" {row.mark} ", style)
        text.append(f"{row.name:<14}", "bold" if row.severity is not Severity.QUIET else "dim")
        text.append(f"{row.duration:>8}  " if row.duration else "          ", "dim")
        text.append(row.detail + "\n", "red" if row.severity is Severity.ERROR else style)
    return text


def report_text(report: DiagnosisReport) -> Text:
    """The verdict (:class:`explorer.present.diagnosis.DiagnosisReport`), as the GUI shows it."""
    text = Text()
    text.append(("✓ " if report.ok else "✗ ") + report.verdict + "\n", SEVERITY_STYLE[report.severity])
    text.append("\n")
    text.append(report.explanation + "\n")
    if report.fix is not None:
        text.append("\nFix: ", "bold green")
        text.append(report.fix + "\n")
    if report.offers:
        text.append("\nWould work (ctrl+o: connect with the first)\n", "bold green")
        for offer in report.offers:
            text.append("  ✓ ", "green")
            text.append(offer.label + "\n", "bold")
        if report.connect_with:
            text.append(f"  Connect with: {report.connect_with}\n", "dim")
    for note in report.notes:
        text.append(f"\n{note}\n", "dim")
    if report.hint:
        text.append("\n" + report.hint + "\n", "bold red" if report.alternatives else "dim")
    if report.alternatives:
        text.append("\nAlternatives tried\n", "bold")
        for row in report.alternatives:
            text.append(f"  {row.mark} ", SEVERITY_STYLE[row.severity])
            text.append(f"{row.description}: {row.outcome}\n")
    if report.observed:
        text.append("\nObserved\n", "bold")
        for key, value in report.observed:
            text.append(f"  {key}: ", "bold dim")
            text.append(value + "\n")
    return text


def diagnosis_text(diagnosis: Diagnosis, *, explored: bool = False) -> Text:
    """The verdict; ``explored`` says whether alternatives were tried (else how to try them)."""
    return report_text(diagnosis_report(diagnosis, explored=explored))


class DiagnoseScreen(ModalScreen[Diagnosis | None]):
    """Probe a broker URL and explain what breaks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+r", "run_probe", "Run probe", priority=True),
        Binding("ctrl+t", "run_probe(True)", "Try alternatives", priority=True),
        Binding("ctrl+o", "connect_offer", "Connect with this", priority=True),
    ]

    DEFAULT_CSS = """
    DiagnoseScreen { align: center middle; }
    DiagnoseScreen #diagnose-box {
        width: 100%;
        max-width: 110;
        height: 100%;
        max-height: 45;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    DiagnoseScreen #diagnose-url { width: 1fr; }
    DiagnoseScreen #diagnose-buttons { height: auto; }
    DiagnoseScreen #diagnose-buttons Button { min-width: 8; margin-right: 1; }
    DiagnoseScreen .diagnose-checks { height: auto; }
    DiagnoseScreen .diagnose-checks Label { padding: 1 1 0 2; }
    DiagnoseScreen .diagnose-checks Input { width: 1fr; max-width: 18; }
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
        self.report: DiagnosisReport | None = None
        self.running = False
        self.exploring = False

    def compose(self) -> ComposeResult:
        with Vertical(id="diagnose-box"):
            yield Static(Text("Diagnose a connection", "bold"))
            url = self.options.url if self.options is not None else ""
            yield Input(url, placeholder="ws://host:port/mqtt or wss://…", id="diagnose-url")
            # Buttons on a row of their own so that Close stays on screen at 80 columns.
            with Horizontal(id="diagnose-buttons"):
                yield Button("Probe", variant="primary", id="probe", tooltip="ctrl+r")
                yield Button("Try alternatives", id="explore", tooltip="ctrl+t")
                yield Button("Connect with this", variant="success", id="connect-offer", tooltip="ctrl+o")
                yield Button("Close", id="close", tooltip="esc")
            with Horizontal(classes="diagnose-checks"):
                for option in CHECK_OPTIONS:
                    box = Checkbox(option.label, id=f"check-{option.key}")
                    box.tooltip = option.tooltip
                    yield box
            with Horizontal(classes="diagnose-checks"):
                for field in (PUBLISH_SIZE_FIELD, IDLE_FIELD):
                    yield Label(field.label)
                    entry = Input(placeholder=field.placeholder, id=field.key.replace("_", "-"))
                    entry.tooltip = field.tooltip
                    yield entry
            yield Static(steps_text([], False), id="diagnose-steps")
            with VerticalScroll(id="diagnose-verdict"):
                yield Static("", id="diagnose-result")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#connect-offer", Button).display = False
        if self.run_at_once:
            self.action_run_probe()
        else:
            self.query_one("#diagnose-url", Input).focus()

    def _options(self) -> ConnectionOptions:
        url = self.query_one("#diagnose-url", Input).value.strip()
        if not url:
            raise ExplorerError("give a broker URL to probe, e.g. ws://localhost:9001/mqtt")
        if self.options is not None:
            return self.options if url == self.options.url else self.workspace.options_for(url, self.options)
        return ConnectionOptions(url=url)

    def _checks(self, options: ConnectionOptions) -> ProbeChecks:
        """The extra checks ticked and typed (:func:`explorer.present.probechecks.probe_checks`)."""
        return probe_checks(
            browser=self.query_one("#check-browser", Checkbox).value,
            compression=self.query_one("#check-compression", Checkbox).value,
            publish_size=self.query_one("#publish-size", Input).value,
            idle=self.query_one("#idle", Input).value,
            keep_alive=options.keep_alive,
        )

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
            checks = self._checks(options)
            if checks_summary(checks):
                result.update(Text(f"Probing ({checks_summary(checks)})…", "yellow"))
            diagnosis = await self.workspace.probe(
                options, on_step=self._on_step, explore=explore, checks=checks
            )
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
        self.report = diagnosis_report(diagnosis, explored=self.exploring)
        self.steps = list(diagnosis.steps) or self.steps
        self.query_one("#diagnose-steps", Static).update(
            steps_text(self.steps, False, finished_at=diagnosis.layer)
        )
        self.query_one("#diagnose-result", Static).update(report_text(self.report))
        self.query_one("#connect-offer", Button).display = bool(self.report.offers)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_run_probe()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "probe":
            self.action_run_probe()
        elif event.button.id == "explore":
            self.action_run_probe(True)
        elif event.button.id == "connect-offer":
            self.action_connect_offer()
        else:
            self.action_close()

    def action_close(self) -> None:
        self.dismiss(self.diagnosis)

    def action_connect_offer(self) -> None:
        """Connect with the first alternative that works (the options it changes applied)."""
        report = self.report
        if report is None or not report.offers:
            self.notify("nothing found to connect with: try alternatives first (ctrl+t)", severity="warning")
            return
        try:
            options = report.offers[0].apply(self._options())
        except ExplorerError as exc:
            self.notify(str(exc), severity="error")
            return
        self.dismiss(self.diagnosis)
        from tui.app import ExplorerApp

        app = self.app
        if isinstance(app, ExplorerApp):
            app.connect_with(options)
