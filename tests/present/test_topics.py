"""The last value beside a topic in both explorers' trees (``explorer.present.topics``)."""

from __future__ import annotations

import io

import cbor2
import msgpack
from PIL import Image

from explorer.model.topictree import TopicTree
from explorer.present.topics import VALUE_CHARS, value_preview


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_text_is_shown_on_one_line_and_cut_with_an_ellipsis() -> None:
    tree = TopicTree()
    assert value_preview(tree.add_message("a/t", b"21.5")) == "21.5"
    assert value_preview(tree.add_message("a/m", b"first line\nsecond")) == "first line…"
    long = value_preview(tree.add_message("a/l", b"x" * 500))
    assert long == "x" * VALUE_CHARS + "…"
    assert value_preview(tree.add_message("a/e", b"")) == "(empty)"
    assert value_preview(tree.add_message("a/u", "température 21 °C".encode())) == "température 21 °C"


def test_binary_payloads_are_their_size_never_raw_bytes() -> None:
    tree = TopicTree()
    for topic, payload in (
        ("b/cbor", cbor2.dumps({"co2_ppm": 412, "ok": True})),
        ("b/msgpack", msgpack.packb({"power_w": 1200.5, "on": True})),
        ("b/png", _png()),
    ):
        shown = value_preview(tree.add_message(topic, payload))
        assert shown == f"<{len(payload):,} B binary>", topic


def test_a_topic_without_a_message_shows_nothing() -> None:
    tree = TopicTree()
    tree.add_message("c/leaf", b"1")
    folder = tree.find("c")
    assert folder is not None
    assert value_preview(folder) == ""
