"""The frame inspector: one trace event in detail.

For a WebSocket frame: its header fields (RFC 6455 §5.2), a hex view of header and
payload with each MQTT packet's bytes in its own colour, and links to the packets it
carries and to the other frames of those packets. For an MQTT packet: its fields
(password masked), its bytes, and links to the frames that carried it. For the HTTP
upgrade: the request or response text (credentials arrive masked from the decoder).
"""

from __future__ import annotations

import html
import json

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from explorer.model.events import (
    ErrorReported,
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    PacketEvent,
    StateChanged,
    TraceEvent,
)
from explorer.model.trace import TraceBuffer, packet_to_json
from explorer.present.eventtext import display_frame_bytes, event_summary, frame_fields, frame_spans
from gui.widgets.hexview import HexView

__all__ = ["FrameInspector"]


class FrameInspector(QWidget):
    """Shows one event; ``eventActivated`` asks the trace table to select another."""

    eventActivated = Signal(object)

    def __init__(self, trace: TraceBuffer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trace = trace
        self.current_event: TraceEvent | None = None
        self.fields = QTableWidget(0, 2)
        self.fields.setHorizontalHeaderLabels(["Field", "Value"])
        self.fields.horizontalHeader().setStretchLastSection(True)
        self.fields.verticalHeader().setVisible(False)
        self.fields.verticalHeader().setDefaultSectionSize(self.fields.fontMetrics().height() + 6)
        self.fields.setWordWrap(False)
        self.fields.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.links = QTextBrowser()
        self.links.setOpenLinks(False)
        self.links.anchorClicked.connect(self._follow)
        self.hex = HexView()
        split = QSplitter(Qt.Orientation.Vertical)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.fields)
        top.addWidget(self.links)
        split.addWidget(top)
        split.addWidget(self.hex)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self.links.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont))

    def _set_fields(self, rows: list[tuple[str, str]]) -> None:
        self.fields.setRowCount(len(rows))
        for row, (name, value) in enumerate(rows):
            self.fields.setItem(row, 0, QTableWidgetItem(name))
            self.fields.setItem(row, 1, QTableWidgetItem(value))
        self.fields.resizeColumnToContents(0)

    def show_event(self, event: TraceEvent | None) -> None:
        self.current_event = event
        if event is None:
            self._set_fields([])
            self.links.setHtml("")
            self.hex.set_data(b"")
            return
        if isinstance(event, FrameEvent):
            self._show_frame(event)
        elif isinstance(event, PacketEvent):
            self._show_packet(event)
        elif isinstance(event, HandshakeRequest | HandshakeResponse):
            rows = [("summary", event_summary(event)), *event.headers]
            self._set_fields(rows)
            text = event.raw.decode("latin-1")
            self.links.setHtml(f"<pre>{html.escape(text)}</pre>")
            self.hex.set_data(event.raw)
        elif isinstance(event, ErrorReported):
            self._set_fields(
                [("layer", event.layer), ("message", event.message), ("offset", str(event.offset))]
            )
            self.links.setHtml(f"<p>{html.escape(event.message)}</p>")
            self.hex.set_data(event.data)
        elif isinstance(event, StateChanged):
            self._set_fields([("state", event.state), ("detail", event.detail)])
            self.links.setHtml("")
            self.hex.set_data(b"")
        else:
            self._set_fields([("summary", event_summary(event))])
            self.links.setHtml("")
            self.hex.set_data(b"")

    def _show_frame(self, frame: FrameEvent) -> None:
        packets = self.trace.packets_in(frame)
        self._set_fields(frame_fields(frame))
        payload = display_frame_bytes(frame, packets)
        header = len(frame.header)
        spans = [(0, header, "WebSocket header"), *frame_spans(frame, base=header)]
        self.hex.set_data(frame.header + payload, spans)
        items = []
        by_no = {p.packet_no: p for p in packets}
        for part in frame.parts:
            packet = by_no.get(part.packet_no)
            if packet is None:
                items.append(
                    f"<li>packet {part.packet_no} ({part.role}): not complete or no longer held</li>"
                )
                continue
            link = _packet_link(packet, f"packet {packet.packet_no}: {html.escape(packet.summary)}")
            others = [i for i in packet.frames if i != frame.index]
            frames = " ".join(_frame_link(frame.conn, frame.direction, i) for i in others)
            role = f" ({part.role}, bytes {part.packet_start}-{part.packet_end} of {len(packet.raw)})"
            items.append(f"<li>{link}{role}{'<br>also in ' + frames if frames else ''}</li>")
        body = "".join(items) or "<li>no MQTT bytes in this frame</li>"
        self.links.setHtml(f"<b>MQTT packets in this frame</b><ul>{body}</ul>")

    def _show_packet(self, packet: PacketEvent) -> None:
        data = packet_to_json(packet.packet, packet.raw)
        rows = [
            ("summary", packet.summary),
            ("direction", packet.direction),
            ("packet", f"#{packet.packet_no}"),
        ]
        rows.append(("stream offset", str(packet.stream_offset)))
        for key, value in data.items():
            if key in ("summary", "type"):
                continue
            rows.append((key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)))
        self._set_fields([("type", str(data["type"])), *rows])
        self.hex.set_data(packet.raw, [(0, len(packet.raw), packet.packet.TYPE.name)])
        frames = " ".join(_frame_link(packet.conn, packet.direction, i) for i in packet.frames)
        text = f"<b>Carried by</b> {frames}" if frames else "Carried directly over TCP (no WebSocket frames)."
        self.links.setHtml(f"<p>{text}</p>")

    def _follow(self, url: QUrl) -> None:
        kind, conn, direction, number = url.toString().split(":", 3)[0:4]
        if kind == "frame":
            event: TraceEvent | None = self.trace.frame(int(conn), direction, int(number))
        else:
            event = self.trace.packet(int(conn), direction, int(number))
        if event is not None:
            self.eventActivated.emit(event)


def _frame_link(conn: int, direction: str, index: int) -> str:
    return f'<a href="frame:{conn}:{direction}:{index}">frame #{index}</a>'


def _packet_link(packet: PacketEvent, text: str) -> str:
    return f'<a href="packet:{packet.conn}:{packet.direction}:{packet.packet_no}">{text}</a>'
