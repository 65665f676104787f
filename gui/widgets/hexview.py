"""A read-only hex view that colours byte spans (MQTT packets inside a WebSocket frame).

The layout comes from :func:`explorer.present.payload.hex_dump_lines` (offset, hex cells, ASCII,
segments per line); this widget only turns it into rich text, one background colour per
span, the same colour in the hex and ASCII columns.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QTextEdit, QWidget

from explorer.present.payload import DEFAULT_LIMIT, HexLine, hex_dump_lines, truncation_marker

__all__ = ["SPAN_COLORS", "HexView", "hex_html"]

SPAN_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f")


def _cells(text: str, line: HexLine, ranges: list[tuple[int, int, int]], hex_column: bool) -> str:
    out: list[str] = []
    cursor = 0
    for start, end, span in ranges:
        if hex_column:
            first, last = line.hex_columns(start, end)
        else:
            first, last = start, end
        if first < cursor:
            continue  # overlapping spans: the first one wins on screen
        out.append(html.escape(text[cursor:first]))
        color = SPAN_COLORS[span % len(SPAN_COLORS)]
        out.append(
            f'<span style="background-color:{color};color:#ffffff">{html.escape(text[first:last])}</span>'
        )
        cursor = last
    out.append(html.escape(text[cursor:]))
    return "".join(out)


def hex_html(
    data: bytes, spans: Sequence[tuple[int, int, str]] = (), *, width: int = 16, limit: int = DEFAULT_LIMIT
) -> str:
    """Rich text of a hex dump with ``spans`` highlighted (a ``<pre>`` block)."""
    lines = hex_dump_lines(data, spans, width=width, limit=limit)
    pad = HexLine.hex_column(width) - 1
    rows = []
    for line in lines:
        ranges = [(seg.start, seg.end, seg.span) for seg in line.segments]
        hex_text = line.hex.ljust(pad)
        rows.append(
            f"<span style='color:#888888'>{line.offset:08x}</span>  "
            f"{_cells(hex_text, line, ranges, True)}  |{_cells(line.ascii, line, ranges, False)}|"
        )
    if len(data) > limit:
        rows.append(html.escape(truncation_marker(limit, len(data))))
    legend = []
    for index, (_, _, label) in enumerate(spans):
        color = SPAN_COLORS[index % len(SPAN_COLORS)]
        legend.append(
            f'<span style="background-color:{color};color:#ffffff">&nbsp;{html.escape(label)}&nbsp;</span>'
        )
    body = "\n".join(rows)
    head = ("  ".join(legend) + "\n\n") if legend else ""
    return f"<pre>{head}{body}</pre>"


class HexView(QTextEdit):
    """Shows bytes as a hex dump with coloured spans."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setLineWrapMode(QTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.data = b""

    def set_data(self, data: bytes, spans: Sequence[tuple[int, int, str]] = ()) -> None:
        self.data = data
        if not data:
            self.setPlainText("(no bytes)")
            return
        self.setHtml(hex_html(data, spans))
