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
from typing import Any

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
from gui.bridge import WorkspaceBridge

__all__ = ["DiagnoseDialog"]

_PENDING, _OK, _FAILED = "…", "✔", "✘"


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
        self.steps = QTreeWidget()
        self.steps.setColumnCount(4)
        self.steps.setHeaderLabels(["Layer", "", "Time", "Detail"])
        self.steps.setRootIsDecorated(False)
        self._rows: dict[str, QTreeWidgetItem] = {}
        for layer in LAYERS:
            item = QTreeWidgetItem(self.steps, [layer, "", "", ""])
            self._rows[layer] = item
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
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.steps, 2)
        layout.addWidget(self.state)
        layout.addWidget(self.verdict, 3)
        layout.addWidget(buttons)
        bridge.probeStep.connect(self._step)
        bridge.probeFinished.connect(self._finished)
        bridge.failed.connect(self._failed)

    def run(self) -> None:
        url = self.url.text().strip()
        try:
            parse_url(url)
        except ExplorerError as exc:
            self.state.setText(str(exc))
            return
        for item in self._rows.values():
            for column in (1, 2, 3):
                item.setText(column, "")
        self._rows[LAYERS[0]].setText(1, _PENDING)
        self.verdict.setHtml("")
        self.diagnosis = None
        explore = self.explore.isChecked()
        self.state.setText(f"Probing {url}" + (" (then alternatives, if it fails)" if explore else "") + " …")
        self.run_button.setEnabled(False)
        options = self.options if url == self.options.url else self.options.with_changes(url=url)
        self.explored = explore
        self.bridge.spawn(self.bridge.probe(options, explore=explore))

    def _step(self, step: Step) -> None:
        item = self._rows.get(step.layer)
        if item is None:
            return
        item.setText(1, _OK if step.ok else _FAILED)
        item.setForeground(1, QColor("#2e9e44" if step.ok else "#d03030"))
        item.setText(2, f"{step.duration_ms:.0f} ms")
        item.setText(3, step.detail)
        if step.ok:
            index = LAYERS.index(step.layer)
            if index + 1 < len(LAYERS):
                following = self._rows[LAYERS[index + 1]]
                if not following.text(1):
                    following.setText(1, _PENDING)

    def _failed(self, what: str, message: str) -> None:
        if what.startswith("diagnose"):
            self.run_button.setEnabled(True)
            self.state.setText(message)

    def _finished(self, diagnosis: Diagnosis) -> None:
        self.diagnosis = diagnosis
        self.run_button.setEnabled(True)
        reached = LAYERS.index(diagnosis.layer) if diagnosis.layer in LAYERS else len(LAYERS) - 1
        for index, layer in enumerate(LAYERS):
            item = self._rows[layer]
            if item.text(1) == _PENDING:
                item.setText(1, "")
            if index < reached and not item.text(1):
                item.setText(1, "-")
                item.setText(3, "not used for this URL")
        self.state.setText(state_text(diagnosis, explored=self.explored))
        self.verdict.setHtml(verdict_html(diagnosis, explored=self.explored))


def working_alternatives(diagnosis: Diagnosis) -> list[str]:
    """What would work instead, as "description (option=value, ...)" lines."""
    return [
        f"{alt.description} ({', '.join(f'{k}={v}' for k, v in alt.options_changed.items())})"
        for alt in diagnosis.alternatives
        if alt.ok
    ]


def state_text(diagnosis: Diagnosis, *, explored: bool = False) -> str:
    """The one-line summary under the layers, naming what would work when explored."""
    if diagnosis.ok:
        return "All layers work."
    text = f"Stopped at the {diagnosis.layer} layer: {diagnosis.cause}"
    if explored:
        working = [alt.description for alt in diagnosis.alternatives if alt.ok]
        if working:
            text += ". Would work: " + "; ".join(working)
        elif diagnosis.alternatives:
            text += ". None of the alternatives tried works"
        else:
            text += f". There are no alternatives to try after a failure at the {diagnosis.layer} layer"
    return text


def verdict_html(diagnosis: Diagnosis, *, explored: bool = False) -> str:
    """The verdict as rich text: cause, explanation, fix, what would work, observations."""
    esc = html.escape
    color = "#2e9e44" if diagnosis.ok else "#d03030"
    parts = [
        f"<h3 style='color:{color}'>{esc(diagnosis.layer)}: {esc(diagnosis.cause)}</h3>",
        f"<p>{esc(diagnosis.explanation)}</p>",
    ]
    if diagnosis.fix:
        parts.append(f"<p><b>Fix:</b> {esc(diagnosis.fix)}</p>")
    working = working_alternatives(diagnosis)
    if working:
        items = "".join(f"<li>{esc(line)}</li>" for line in working)
        parts.append(f"<p><b>Would work</b></p><ul>{items}</ul>")
    elif not diagnosis.ok and not explored:
        parts.append("<p><i>Tick “Try alternatives” and diagnose again to find what would work.</i></p>")
    if diagnosis.observed:
        rows = "".join(
            f"<tr><td><b>{esc(k)}</b></td><td><tt>{esc(v)}</tt></td></tr>"
            for k, v in diagnosis.observed.items()
        )
        parts.append(f"<p><b>Observed</b></p><table>{rows}</table>")
    if diagnosis.alternatives:
        items = "".join(_alternative(alt) for alt in diagnosis.alternatives)
        parts.append(f"<p><b>Alternatives tried</b></p><ul>{items}</ul>")
    return "".join(parts)


def _alternative(alt: Any) -> str:
    mark = "works" if alt.ok else f"fails ({html.escape(alt.cause)})"
    return f"<li>{html.escape(alt.description)}: {mark}</li>"
