"""An option list that also moves with vim keys, for every list in the explorer."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import OptionList

__all__ = ["VimOptionList"]


class VimOptionList(OptionList):
    """``OptionList`` with ``j``/``k`` (down/up) and ``g``/``G`` (first/last) added."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "first", "First", show=False),
        Binding("G", "last", "Last", show=False),
    ]
