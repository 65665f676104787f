"""Line charts of a topic's numeric values, painted with QPainter.

PySide6-Essentials has no QtCharts, and a sparkline needs little: the value range and the time
span, one polyline, a dot on the latest value. The series come from
:func:`explorer.present.message.chart_view` (the terminal explorer charts the same ones): one
band per series, so fields of different scales (a temperature and a pressure) each get their
own axis.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from explorer.present.message import ChartSeries, ChartView

__all__ = ["SeriesChart"]


class SeriesChart(QWidget):
    """Plots the series of a :class:`ChartView`; says why when there is nothing to plot."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: tuple[ChartSeries, ...] = ()
        self.note = "no numeric values on this topic"
        self.title = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    @property
    def points(self) -> list[tuple[float, float]]:
        """The first series' points (the only one for a payload that is a number)."""
        return list(self.series[0].points) if self.series else []

    def sizeHint(self) -> QSize:
        return QSize(320, 160)

    def set_view(self, view: ChartView, title: str = "") -> None:
        self.series = view.series
        self.note = view.note or "no numeric values on this topic"
        self.title = title
        self.update()

    def set_series(self, points: Sequence[tuple[float, float]], title: str = "") -> None:
        self.set_view(ChartView((ChartSeries("value", tuple(points)),) if points else (), ()), title)

    def paintEvent(self, event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text_color = palette.color(QPalette.ColorRole.Text)
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        metrics = painter.fontMetrics()
        margin_left = metrics.horizontalAdvance("-0000.00") + 8
        top = 8 + metrics.height()
        bottom = self.height() - metrics.height() - 10
        painter.setPen(text_color)
        if self.title:
            painter.drawText(QPointF(margin_left, metrics.ascent() + 4), self.title)
        series = [s for s in self.series if s.points]
        if not series or bottom - top < 10 or self.width() - margin_left - 12 < 10:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.note)
            painter.end()
            return
        times = [t for s in series for t, _ in s.points]
        t0, t1 = min(times), max(times)
        if t1 == t0:
            t1 = t0 + 1
        band = (bottom - top) / len(series)
        for index, item in enumerate(series):
            area = QRectF(margin_left, top + index * band + 2, self.width() - margin_left - 12, band - 4)
            self._band(painter, area, item, (t0, t1), palette, several=len(series) > 1)
        painter.setPen(text_color)
        count = sum(len(s.points) for s in series)
        painter.drawText(QPointF(margin_left, self.height() - 4), f"{count} values over {t1 - t0:.1f} s")
        painter.end()

    def _band(
        self,
        painter: QPainter,
        area: QRectF,
        item: ChartSeries,
        span: tuple[float, float],
        palette: QPalette,
        *,
        several: bool,
    ) -> None:
        t0, t1 = span
        values = [v for _, v in item.points]
        v0, v1 = min(values), max(values)
        if v1 == v0:
            v0, v1 = v0 - 1, v1 + 1

        def at(t: float, v: float) -> QPointF:
            x = area.left() + (t - t0) / (t1 - t0) * area.width()
            y = area.bottom() - (v - v0) / (v1 - v0) * area.height()
            return QPointF(x, y)

        metrics = painter.fontMetrics()
        grid = QPen(palette.color(QPalette.ColorRole.Mid))
        grid.setStyle(Qt.PenStyle.DotLine)
        painter.setPen(grid)
        painter.drawRect(area)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.drawText(QPointF(2, area.top() + metrics.ascent()), f"{v1:.6g}")
        painter.drawText(QPointF(2, area.bottom()), f"{v0:.6g}")
        if several:
            painter.drawText(QPointF(area.left() + 4, area.top() + metrics.ascent()), item.summary)
        path = QPainterPath(at(*item.points[0]))
        for t, v in item.points[1:]:
            path.lineTo(at(t, v))
        pen = QPen(palette.color(QPalette.ColorRole.Highlight))
        pen.setWidthF(2.0)
        painter.setPen(pen)
        painter.drawPath(path)
        last = at(*item.points[-1])
        painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
        painter.drawEllipse(last, 3.5, 3.5)
        painter.setBrush(Qt.BrushStyle.NoBrush)
