"""A terminal tree row shows the value the shared preview gives (``explorer.present.topics``)."""

from __future__ import annotations

import cbor2

from explorer.model.topictree import TopicTree
from explorer.present.topics import value_preview
from tui.widgets.topics import topic_label


def test_the_terminal_row_label_shows_the_shared_value_preview() -> None:
    tree = TopicTree()
    binary = tree.add_message("b/cbor", cbor2.dumps({"co2_ppm": 412}))
    text = tree.add_message("b/text", b"21.5")
    assert topic_label(binary).plain.endswith(f" = <{len(binary.last.payload)} B binary>")  # type: ignore[union-attr]
    assert topic_label(text).plain.endswith(f" = {value_preview(text)}")
