"""Tab labels that give way on a narrow pane instead of scrolling tabs out of sight.

Each tab has labels from the longest to the shortest (``"Text [t]"``, ``"Text"``); the
longest level at which every tab fits the width is used, so all tabs stay on screen and
the key hints are the first thing to go. Below the shortest level the tabs lose their
right padding (the ``-tight`` class) before anything is cut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual.widgets import TabbedContent

__all__ = ["TAB_PADDING", "fit_labels", "relabel"]

TAB_PADDING = 2  # Textual's Tab has one column of padding each side


def fit_labels(levels: Sequence[Sequence[str]], width: int) -> tuple[tuple[str, ...], bool]:
    """The labels of the first level whose tabs fit ``width`` columns, and whether the
    tabs must be tight (one column of padding instead of two) to fit at the last level.

    ``levels`` holds one sequence of labels per level, the longest first.
    """
    for labels in levels:
        if sum(len(label) + TAB_PADDING for label in labels) <= width:
            return tuple(labels), False
    return tuple(levels[-1]), True


def relabel(tabbed: TabbedContent, labels: Mapping[str, Sequence[str]], width: int) -> bool:
    """Give the tabs of ``tabbed`` (pane id -> labels, longest first) the labels that fit
    ``width``; return whether they have to be tight."""
    ids = list(labels)
    depth = min(len(choices) for choices in labels.values())
    levels = [[labels[pane][level] for pane in ids] for level in range(depth)]
    chosen, tight = fit_labels(levels, width)
    for pane, label in zip(ids, chosen, strict=True):
        tab = tabbed.get_tab(pane)
        if tab.label.plain != label:
            tab.label = label.replace("[", "\\[")  # \[ : a key hint, not markup
    tabbed.set_class(tight, "-tight")
    return tight
