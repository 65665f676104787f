"""The shape that decides a Static's height, for text in any script."""

from __future__ import annotations

from rich.text import Text

from tui.widgets.quiet import text_shape


def test_lines_that_fit_are_counted() -> None:
    assert text_shape(Text("ab\ncd\n"), 10) == 3
    # Box drawing and accents are one cell each: still the line count, no layout needed.
    assert text_shape(Text("00 01 │..│\né"), 10) == 2


def test_lines_that_wrap_give_their_cell_widths() -> None:
    assert text_shape(Text("abcdef\nab"), 4) == (6, 2)
    # Wide characters take two cells each.
    assert text_shape(Text("日本語\nx"), 4) == (6, 1)
    assert text_shape(Text("日本語"), 6) == 1


def test_same_shape_for_frames_of_the_same_size() -> None:
    first = Text("00000000  82 1e │..│\n\n   2 B  header\n")
    second = Text("00000000  82 1f │..│\n\n   2 B  header\n")
    assert text_shape(first, 80) == text_shape(second, 80)
