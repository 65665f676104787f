"""The status bar: state, URL, subprotocol, TLS, message rate, counts and drops."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from explorer.workspace import ConnectionStatus

__all__ = ["StatusLine", "status_parts"]

_STATE_COLORS = {
    "connected": "#2e9e44",
    "connecting": "#d08a00",
    "reconnecting": "#d08a00",
    "failed": "#d03030",
}


def status_parts(status: ConnectionStatus) -> dict[str, str]:
    """The texts of the status bar fields (also used by tests and the window title)."""
    tls = status.tls_version or "no TLS"
    if status.tls_version and status.cipher:
        tls = f"{status.tls_version} {status.cipher}"
    url = status.url + (" (embedded broker)" if status.embedded else "")
    return {
        "state": status.state,
        "url": url,
        "subprotocol": f"subprotocol {status.subprotocol}" if status.subprotocol else "no subprotocol",
        "mqtt": f"MQTT {status.mqtt_version}" if status.mqtt_version else "",
        "tls": tls,
        "rate": f"{status.msgs_per_s:,.0f} msg/s",
        "counts": f"{status.messages:,} msgs · {status.topics:,} topics",
        "drops": f"{status.dropped_events:,} trace events dropped" if status.dropped_events else "no drops",
    }


class StatusLine(QStatusBar):
    """Permanent fields on the right; transient messages on the left."""

    FIELDS = ("state", "url", "subprotocol", "mqtt", "tls", "rate", "counts", "drops")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: dict[str, QLabel] = {}
        for name in self.FIELDS:
            label = QLabel("")
            label.setObjectName(f"status-{name}")
            self.labels[name] = label
            self.addPermanentWidget(label)
        self.status: ConnectionStatus | None = None

    def show_status(self, status: ConnectionStatus) -> None:
        if status == self.status:
            return
        self.status = status
        for name, text in status_parts(status).items():
            self.labels[name].setText(text)
        color = _STATE_COLORS.get(status.state)
        self.labels["state"].setStyleSheet(f"color:{color};font-weight:bold" if color else "font-weight:bold")
        self.labels["drops"].setToolTip(
            f"trace buffer: {status.trace_size:,} of {status.trace_limit:,} events kept; "
            f"history: {status.history_count} messages per topic"
        )
        if status.last_error:
            self.labels["state"].setToolTip(status.last_error)
