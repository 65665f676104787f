"""The message view model: previous-message diff, property and history rows, and chart series
(every numeric field of a JSON payload), on a real TopicTree fed with real payloads."""

from __future__ import annotations

import json

from explorer.model.topictree import TopicTree
from explorer.mqtt.packets import Properties
from explorer.present.message import (
    NO_NUMBERS,
    NO_PREVIOUS,
    SAME_AS_PREVIOUS,
    chart_view,
    diff_view,
    history_rows,
    message_header,
    property_rows,
    sparkline_text,
)

FIVE = ("temperature", "humidity", "pressure", "co2", "battery")


def _tree(*payloads: bytes, topic: str = "lab/air", **kw: object) -> TopicTree:
    tree = TopicTree(history_count=100)
    for index, payload in enumerate(payloads):
        tree.add_message(topic, payload, time=float(index), **kw)  # type: ignore[arg-type]
    return tree


def test_a_json_payload_with_five_numeric_fields_charts_all_five() -> None:
    payloads = [
        json.dumps({"temperature": 20 + i, "humidity": 40 - i, "pressure": 1013.2, "co2": 400 + 10 * i,
                    "battery": 0.9, "label": "lab", "ok": True}).encode()
        for i in range(4)
    ]  # fmt: skip
    node = _tree(*payloads).find("lab/air")
    assert node is not None
    view = chart_view(node.history())
    assert view.fields == FIVE
    assert [series.field for series in view.series] == list(FIVE)
    assert [v for _, v in view.series[0].points] == [20, 21, 22, 23]
    assert view.series[0].summary == "temperature: last 23  min 20  max 23  (4 values)"
    chosen = chart_view(node.history(), "co2")
    assert [s.field for s in chosen.series] == ["co2"]
    # The old rule found nothing here: a JSON payload counted only with exactly one numeric field.
    assert node.series() == []


def test_plain_numbers_are_one_series_and_text_is_a_sentence() -> None:
    node = _tree(b"21.5", b"21.7", b"oops", b"22").find("lab/air")
    assert node is not None
    view = chart_view(node.history())
    assert [(s.field, [v for _, v in s.points]) for s in view.series] == [("value", [21.5, 21.7, 22.0])]
    words = _tree(b"on", b"off").find("lab/air")
    assert words is not None
    assert chart_view(words.history()) .note == NO_NUMBERS  # fmt: skip
    assert sparkline_text([1, 2, 3, 4, 5, 6, 7, 8], 8) == "▁▂▃▄▅▆▇█"


def test_the_diff_is_against_the_previous_message() -> None:
    node = _tree(b'{"t": 1, "u": 2}', b'{"u": 2, "t": 1}', b'{"t": 3, "u": 2}').find("lab/air")
    assert node is not None
    first, second, third = node.history()
    assert diff_view(None, first).note == NO_PREVIOUS
    assert diff_view(first, second).note == SAME_AS_PREVIOUS  # keys moved, nothing changed
    view = diff_view(second, third)
    assert view.note == ""
    assert ("removed", '-  "t": 1,') in [(line.kind, line.text) for line in view.lines]
    assert ("added", '+  "t": 3,') in [(line.kind, line.text) for line in view.lines]
    assert view.lines[0].text.startswith("--- previous message")


def test_property_history_and_header_rows() -> None:
    props = Properties(content_type="application/json", user_properties=(("site", "lab"), ("n", "1")),
                       correlation_data=b"\x01\x02")  # fmt: skip
    tree = _tree(b"1", b'{"a": 1}', qos=1, retain=True, properties=props)
    node = tree.find("lab/air")
    assert node is not None
    history = node.history()
    rows = [(row.name, row.value) for row in property_rows(history[-1])]
    assert ("content type", "application/json") in rows
    assert ("user property", "site = lab") in rows
    assert ("correlation data", "0102 (base64 AQI=)") in rows
    listed = history_rows(history, stamp=lambda t: f"t{t:g}")
    assert [(row.number, row.time, row.preview) for row in listed] == [(2, "t1", '{"a": 1}'), (1, "t0", "1")]
    assert listed[0].text() == '   2 t1 q1 R {"a": 1}'
    header = message_header(node, history[-1], number=2, kept=2, live=True, stamp=lambda t: "now")
    assert header.position == "message 2 of 2 (live)"
    assert header.detail == "now · QoS 1 · retained · 8 B · json · 2 on this topic"
