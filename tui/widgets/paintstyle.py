"""The widget's own style, worked out once per paint for widgets that draw line by line.

``Widget.rich_style`` walks the widget's ancestors for their backgrounds every time it is
read; ``Tree`` reads it for every row it paints, a quarter of a row's cost. A widget
that mixes :class:`StyleOncePerPaint` in reads :attr:`paint_style` instead, which is
worked out once when a paint starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

if TYPE_CHECKING:
    from textual.widget import Widget

    _Mixin = Widget
else:
    # Not a Widget at run time: Textual merges CSS and component classes over the widget
    # classes of a class's bases, and a second Widget base would hide the real one's.
    _Mixin = object

__all__ = ["StyleOncePerPaint"]


class StyleOncePerPaint(_Mixin):
    """Mix in before a line-drawing widget; read :attr:`paint_style` in ``render_line``."""

    _style_this_paint: Style | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        self._style_this_paint = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._style_this_paint = None

    @property
    def paint_style(self) -> Style:
        """The widget's style: the one worked out for the paint under way, if any."""
        style = self._style_this_paint
        return style if style is not None else self.rich_style
