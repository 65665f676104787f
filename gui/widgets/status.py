"""The status bar: the fields of :func:`explorer.present.status.status_line`, one label each.

The terminal explorer draws the same fields; this bar only maps each field's severity to
a colour and keeps a label per field key (hidden while the field is absent).
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from explorer.present.recording import with_source_field
from explorer.present.status import ConnectionStatus, Severity, status_line
from explorer.present.status import StatusLine as StatusLineModel

__all__ = ["SEVERITY_STYLE", "StatusLine", "status_parts"]

SEVERITY_STYLE: dict[Severity, str] = {
    Severity.NORMAL: "",
    Severity.QUIET: "color:palette(mid)",
    Severity.GOOD: "color:#2e9e44;font-weight:bold",
    Severity.BUSY: "color:#d08a00;font-weight:bold",
    Severity.WARNING: "color:#d08a00;font-weight:bold",
    Severity.ERROR: "color:#d03030;font-weight:bold",
}
"""The desktop's colours of the presentation layer's severities."""


def status_parts(status: ConnectionStatus) -> dict[str, str]:
    """The texts of the status bar fields by key (also used by tests)."""
    return {item.key: item.text for item in status_line(status).fields}


class StatusLine(QStatusBar):
    """Permanent fields on the right; transient messages on the left."""

    FIELDS = (
        "state",
        "url",
        "file",
        "recording",
        "insecure",
        "warning",
        "subprotocol",
        "tls",
        "mqtt",
        "rtt",
        "rate",
        "counts",
        "drops",
        "trace",
        "history",
        "paused",
        "error",
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: dict[str, QLabel] = {}
        for name in self.FIELDS:
            label = QLabel("")
            label.setObjectName(f"status-{name}")
            label.setVisible(False)
            self.labels[name] = label
            self.addPermanentWidget(label)
        self.status: ConnectionStatus | None = None
        self.extra = ""
        self.model: StatusLineModel | None = None

    def show_status(self, status: ConnectionStatus, extra: str = "") -> StatusLineModel:
        """Show ``status``; ``extra`` is the file shown or the recording in progress."""
        if status == self.status and extra == self.extra and self.model is not None:
            return self.model
        self.status = status
        self.extra = extra
        model = self.model = with_source_field(status_line(status), extra)
        shown = {item.key: item for item in model.fields}
        for name, label in self.labels.items():
            item = shown.get(name)
            if item is None:
                if not label.isHidden():
                    label.setVisible(False)
                    label.setText("")
                continue
            if label.text() != item.text:
                label.setText(item.text)
            style = SEVERITY_STYLE[item.severity]
            if label.styleSheet() != style:
                label.setStyleSheet(style)
            if label.toolTip() != item.tooltip:
                label.setToolTip(item.tooltip)
            if label.isHidden():
                label.setVisible(True)
        return model
