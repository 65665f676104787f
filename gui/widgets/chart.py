"""A small line chart of a topic's numeric values, painted with QPainter.

PySide6-Essentials has no QtCharts, and a sparkline needs little: axes labels for the
value range and the time span, one polyline, a dot on the latest value. The series
comes from :meth:`explorer.model.topictree.TopicNode.series`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["SeriesChart"]


class SeriesChart(QWidget):
    """Plots ``(time, value)`` points; says so when there is nothing numeric to plot."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[float, float]] = []
        self.title = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(320, 160)

    def set_series(self, points: Sequence[tuple[float, float]], title: str = "") -> None:
        self.points = list(points)
        self.title = title
        self.update()

    def paintEvent(self, event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text_color = palette.color(QPalette.ColorRole.Text)
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        metrics = painter.fontMetrics()
        margin_left = metrics.horizontalAdvance("-0000.00") + 8
        area = QRectF(margin_left, 8 + metrics.height(), self.width() - margin_left - 12, 0)
        area.setBottom(self.height() - metrics.height() - 10)
        painter.setPen(text_color)
        if self.title:
            painter.drawText(QPointF(margin_left, metrics.ascent() + 4), self.title)
        if len(self.points) < 1 or area.height() < 10 or area.width() < 10:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no numeric values on this topic")
            painter.end()
            return
        times = [t for t, _ in self.points]
        values = [v for _, v in self.points]
        t0, t1 = min(times), max(times)
        v0, v1 = min(values), max(values)
        if v1 == v0:
            v0, v1 = v0 - 1, v1 + 1
        if t1 == t0:
            t1 = t0 + 1

        def at(t: float, v: float) -> QPointF:
            x = area.left() + (t - t0) / (t1 - t0) * area.width()
            y = area.bottom() - (v - v0) / (v1 - v0) * area.height()
            return QPointF(x, y)

        grid = QPen(palette.color(QPalette.ColorRole.Mid))
        grid.setStyle(Qt.PenStyle.DotLine)
        painter.setPen(grid)
        painter.drawRect(area)
        painter.setPen(text_color)
        painter.drawText(QPointF(2, area.top() + metrics.ascent()), f"{v1:.6g}")
        painter.drawText(QPointF(2, area.bottom()), f"{v0:.6g}")
        painter.drawText(
            QPointF(area.left(), self.height() - 4), f"{len(self.points)} values over {t1 - t0:.1f} s"
        )
        path = QPainterPath(at(*self.points[0]))
        for t, v in self.points[1:]:
            path.lineTo(at(t, v))
        pen = QPen(palette.color(QPalette.ColorRole.Highlight))
        pen.setWidthF(2.0)
        painter.setPen(pen)
        painter.drawPath(path)
        last = at(*self.points[-1])
        painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
        painter.drawEllipse(last, 3.5, 3.5)
        painter.end()
