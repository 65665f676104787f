"""The diagnose dialog: walks the layers live and shows the verdict.

It runs :meth:`WorkspaceBridge.probe` (``explorer.diagnose.probe``); each layer's
``Step`` arrives through ``probeStep`` as soon as it ends and fills its row, then
``probeFinished`` brings the :class:`~explorer.diagnose.Diagnosis`: the layer that
broke, the cause, the explanation, the fix and what was seen on the wire. With "Try
alternatives" ticked (the CLI's ``--explore``), a failed probe is followed by probes of
variations (paths, subprotocols, ws/wss, MQTT versions) and the dialog lists which of
them would work.
"""

from __future__ import annotations

import html

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.client.options import ConnectionOptions, parse_url
from explorer.diagnose.model import LAYERS, Diagnosis, Step
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
from explorer.workspace import DEFAULT_SUBSCRIPTIONS
from gui.bridge import WorkspaceBridge

__all__ = ["DiagnoseDialog"]

SEVERITY_COLOR: dict[Severity, str] = {
    Severity.NORMAL: "",
    Severity.QUIET: "#888888",
    Severity.GOOD: "#2e9e44",
    Severity.BUSY: "#d08a00",
    Severity.WARNING: "#d08a00",
    Severity.ERROR: "#d03030",
}


class DiagnoseDialog(QDialog):
    """Probe a broker URL layer by layer."""

    def __init__(
        self, bridge: WorkspaceBridge, options: ConnectionOptions, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Diagnose connection")
        self.resize(720, 560)
        self.bridge = bridge
        self.options = options
        self.diagnosis: Diagnosis | None = None
        self.explored = False
        self.url = QLineEdit(options.url)
        self.run_button = QPushButton("Diagnose")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.explore = QCheckBox("Try alternatives")
        self.explore.setToolTip(
            "After a failure, also probe other paths, subprotocols, ws/wss and MQTT versions "
            "and list which would work"
        )
        self.checks: dict[str, QCheckBox] = {}
        for option in CHECK_OPTIONS:
            box = QCheckBox(option.label)
            box.setToolTip(option.tooltip)
            self.checks[option.key] = box
        self.fields: dict[str, QLineEdit] = {}
        for field in (PUBLISH_SIZE_FIELD, IDLE_FIELD):
            entry = QLineEdit()
            entry.setPlaceholderText(field.placeholder)
            entry.setToolTip(field.tooltip)
            entry.setMaximumWidth(140)
            self.fields[field.key] = entry
        self.steps = QTreeWidget()
        self.steps.setColumnCount(4)
        self.steps.setHeaderLabels(["Layer", "", "Time", "Detail"])
        self.steps.setRootIsDecorated(False)
        self._rows: dict[str, QTreeWidgetItem] = {}
        self._steps: list[Step] = []
        self.report: DiagnosisReport | None = None
        self.probed = options
        self.connected_with: ConnectionOptions | None = None
        for layer in LAYERS:
            item = QTreeWidgetItem(self.steps, [layer, "", "", ""])
            self._rows[layer] = item
        self._show_steps(running=False)
        self.steps.resizeColumnToContents(0)
        self.verdict = QTextBrowser()
        self.verdict.setOpenExternalLinks(True)
        self.state = QLabel("")
        row = QHBoxLayout()
        row.addWidget(QLabel("URL"))
        row.addWidget(self.url, 1)
        row.addWidget(self.explore)
        row.addWidget(self.run_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.connect_button = QPushButton("Connect with this")
        self.connect_button.clicked.connect(self.connect_with_offer)
        buttons.addButton(self.connect_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.connect_button.setVisible(False)  # after addButton, which shows it
        checks_row = QHBoxLayout()
        for box in self.checks.values():
            checks_row.addWidget(box)
        for field in (PUBLISH_SIZE_FIELD, IDLE_FIELD):
            checks_row.addWidget(QLabel(field.label))
            checks_row.addWidget(self.fields[field.key])
        checks_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addLayout(checks_row)
        layout.addWidget(self.steps, 2)
        layout.addWidget(self.state)
        layout.addWidget(self.verdict, 3)
        layout.addWidget(buttons)
        bridge.probeStep.connect(self._step)
        bridge.probeFinished.connect(self._finished)
        bridge.failed.connect(self._failed)

    def run(self) -> None:
        url = self.url.text().strip()
        same = url == self.options.url
        options = self.options if same else self.bridge.workspace.options_for(url, self.options)
        try:
            parse_url(url)
            checks = probe_checks(
                browser=self.checks["browser"].isChecked(),
                compression=self.checks["compression"].isChecked(),
                publish_size=self.fields["publish_size"].text(),
                idle=self.fields["idle"].text(),
                keep_alive=options.keep_alive,
            )
        except ExplorerError as exc:
            self.state.setText(str(exc))
            return
        self._steps = []
        self._show_steps(running=True)
        self.verdict.setHtml("")
        self.diagnosis = None
        self.report = None
        self.connect_button.setVisible(False)
        explore = self.explore.isChecked()
        extra = f" ({checks_summary(checks)})" if checks_summary(checks) else ""
        then = " (then alternatives, if it fails)" if explore else ""
        self.state.setText(f"Probing {url}{extra}{then} …")
        self.run_button.setEnabled(False)
        self.probed = options
        self.explored = explore
        self.bridge.spawn(self.bridge.probe(options, explore=explore, checks=checks))

    def _show_steps(self, *, running: bool, finished_at: str | None = None) -> None:
        for row in step_rows(self._steps, running=running, finished_at=finished_at):
            item = self._rows[row.layer]
            item.setText(0, row.name)
            item.setText(1, row.mark)
            item.setForeground(1, QColor(SEVERITY_COLOR[row.severity] or "#000000"))
            item.setText(2, row.duration)
            item.setText(3, row.detail)

    def _step(self, step: Step) -> None:
        if step.layer not in self._rows:
            return
        self._steps.append(step)
        self._show_steps(running=True)

    def _failed(self, what: str, message: str) -> None:
        if what.startswith("diagnose"):
            self.run_button.setEnabled(True)
            self.state.setText(message)

    def _finished(self, diagnosis: Diagnosis) -> None:
        self.diagnosis = diagnosis
        self.run_button.setEnabled(True)
        self._steps = list(diagnosis.steps) or self._steps
        self._show_steps(running=False, finished_at=diagnosis.layer)
        report = self.report = diagnosis_report(diagnosis, explored=self.explored)
        self.state.setText(report.summary)
        self.verdict.setHtml(report_html(report))
        if report.offers:
            self.connect_button.setText(f"Connect with this: {report.offers[0].description}")
        self.connect_button.setVisible(bool(report.offers))

    def connect_with_offer(self) -> None:
        """Connect with the first alternative that works, and close the dialog."""
        report = self.report
        if report is None or not report.offers:
            return
        try:
            options = report.offers[0].apply(self.probed)
        except ExplorerError as exc:
            self.state.setText(str(exc))
            return
        self.connected_with = options
        self.bridge.spawn(self.bridge.connect_to(options, DEFAULT_SUBSCRIPTIONS))
        self.accept()


def state_text(diagnosis: Diagnosis, *, explored: bool = False) -> str:
    """The one-line summary under the layers, naming what would work when explored."""
    return diagnosis_report(diagnosis, explored=explored).summary


def report_html(report: DiagnosisReport) -> str:
    """The verdict as rich text, in the sections and words the terminal explorer shows."""
    esc = html.escape
    parts = [
        f"<h3 style='color:{SEVERITY_COLOR[report.severity]}'>"
        f"{'✓' if report.ok else '✗'} {esc(report.verdict)}</h3>",
        f"<p>{esc(report.explanation)}</p>",
    ]
    if report.fix is not None:
        parts.append(f"<p><b>Fix:</b> {esc(report.fix)}</p>")
    if report.offers:
        items = "".join(f"<li>{esc(offer.label)}</li>" for offer in report.offers)
        parts.append(f"<p><b>Would work</b> (Connect with this)</p><ul>{items}</ul>")
        if report.connect_with:
            parts.append(f"<p>Connect with: <tt>{esc(report.connect_with)}</tt></p>")
    for note in report.notes:
        parts.append(f"<p><i>{esc(note)}</i></p>")
    if report.hint:
        parts.append(f"<p><i>{esc(report.hint)}</i></p>")
    if report.alternatives:
        items = "".join(
            f"<li><span style='color:{SEVERITY_COLOR[row.severity]}'>{row.mark}</span> "
            f"{esc(row.description)}: {esc(row.outcome)}</li>"
            for row in report.alternatives
        )
        parts.append(f"<p><b>Alternatives tried</b></p><ul>{items}</ul>")
    if report.observed:
        rows = "".join(
            f"<tr><td><b>{esc(k)}</b></td><td><tt>{esc(v)}</tt></td></tr>" for k, v in report.observed
        )
        parts.append(f"<p><b>Observed</b></p><table>{rows}</table>")
    return "".join(parts)


def verdict_html(diagnosis: Diagnosis, *, explored: bool = False) -> str:
    """The verdict of ``diagnosis`` as rich text (see :func:`report_html`)."""
    return report_html(diagnosis_report(diagnosis, explored=explored))
