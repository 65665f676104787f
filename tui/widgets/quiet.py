"""Updating a Static under load: skip what is already shown, lay out only when the height may change.

``Static.update`` lays out the whole screen by default, which costs several times a
repaint; under a firehose the views redraw many times a second, mostly with text of
the same shape (or the very same text). :func:`show_text` repaints alone when the new
text cannot change the Static's height.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

__all__ = ["show_text", "text_shape"]


def text_shape(text: Text, width: int) -> int | tuple[int, ...]:
    """What decides the height of ``text`` in a Static ``width`` cells wide.

    The line count when every line fits (nothing wraps), else the lines' widths in
    terminal cells (wide characters count twice, box drawing once).
    """
    plain = text.plain
    lines = plain.split("\n")
    if plain.isascii():
        lengths = tuple(len(line) for line in lines)
    else:
        lengths = tuple(cell_len(line) for line in lines)
    if width > 0 and max(lengths) <= width:
        return len(lengths)
    return lengths


def show_text(static: Static, content: Text | str, shown: Text | None) -> Text:
    """Show ``content`` in ``static``, which shows ``shown`` (None: unknown); return what it shows now."""
    text = Text(content) if isinstance(content, str) else content
    if shown is not None and shown == text:
        return shown
    width = static.content_size.width
    shape = text_shape(text, width)
    layout = shown is None or shape != text_shape(shown, width)
    static.update(text, layout=layout)
    return text
