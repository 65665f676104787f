"""The status bar: the fields of :func:`explorer.present.status.status_line`, one label each.

The terminal explorer draws the same fields; this bar only maps each field's severity to
a colour and keeps a label per field key (hidden while the field is absent).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

from explorer.present.recording import with_source_field
from explorer.present.status import ConnectionStatus, Severity, status_line
from explorer.present.status import StatusLine as StatusLineModel

__all__ = ["ELIDED_FIELDS", "SEVERITY_STYLE", "StatusLine", "status_parts"]

SEVERITY_STYLE: dict[Severity, str] = {
    Severity.NORMAL: "",
    Severity.QUIET: "color:palette(mid)",
    Severity.GOOD: "color:#2e9e44;font-weight:bold",
    Severity.BUSY: "color:#d08a00;font-weight:bold",
    Severity.WARNING: "color:#d08a00;font-weight:bold",
    Severity.ERROR: "color:#d03030;font-weight:bold",
}
"""The desktop's colours of the presentation layer's severities."""


ELIDED_FIELDS = frozenset({"url", "warning", "error"})
"""Fields whose text may be a long sentence: shortened with … to the room left, the whole
text in the tooltip, so that a long error never widens the window past the screen."""


class _ElidedLabel(QLabel):
    """A label that draws as much of its text as its width holds, ending in …
    (``text()`` stays the whole text)."""

    def __init__(self) -> None:
        super().__init__("")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance("…") * 8, super().minimumSizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter = QPainter(self)
        try:
            self.style().drawItemText(
                painter,
                rect,
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                self.palette(),
                self.isEnabled(),
                shown,
                self.foregroundRole(),
            )
        finally:
            painter.end()

    @property
    def elided(self) -> bool:
        """Whether the text is cut to fit (tests read it)."""
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()


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
            label = _ElidedLabel() if name in ELIDED_FIELDS else QLabel("")
            label.setObjectName(f"status-{name}")
            label.setVisible(False)
            self.labels[name] = label
            # The long sentences share the room that is left; the short fields keep theirs.
            self.addPermanentWidget(label, 1 if name in ELIDED_FIELDS else 0)
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
            tooltip = item.tooltip or (item.text if isinstance(label, _ElidedLabel) else "")
            if label.toolTip() != tooltip:
                label.setToolTip(tooltip)
            if label.isHidden():
                label.setVisible(True)
        return model
