"""The decoded-payload view model, headless: tree rows, the display cap, copy, save names,
chart series of decoded fields and Sparkplug metrics, block previews, publish encoding."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import cbor2
import msgpack
import pytest
from PIL import Image

from explorer.codecs import CodecRegistry
from explorer.codecs.sparkplug import encode_payload
from explorer.codecs.stream import MessageDecoder
from explorer.errors import ExplorerError
from explorer.model.topictree import TopicMessage
from explorer.mqtt.packets import NO_PROPERTIES
from explorer.present.decoded import (
    DISPLAY_CAP,
    SPARKPLUG_EMPTY,
    DecodedView,
    block_preview,
    copy_payload,
    decoded_diff,
    encode_for_publish,
    field_series,
    history_text,
    metric_series,
    save_name,
    sparkplug_notice_lines,
    sparkplug_rows,
    sparkplug_title,
    tree_rows,
)


def test_tree_rows_in_document_order_with_paths() -> None:
    rows = tree_rows({"a": {"b": [1, "x"]}, "c": None, "d": {"$base64": "AAE="}})
    assert [(r.depth, r.key, r.value, r.path, r.kind) for r in rows] == [
        (0, "", "{3}", "", "object"),
        (1, "a", "{1}", "a", "object"),
        (2, "b", "[2]", "a.b", "array"),
        (3, "[0]", "1", "a.b[0]", "number"),
        (3, "[1]", '"x"', "a.b[1]", "string"),
        (1, "c", "null", "c", "null"),
        (1, "d", "<2 B> AAE=", "d", "bytes"),
    ]


def test_tree_rows_say_how_many_were_left_out() -> None:
    rows = tree_rows(list(range(100)), limit=10)
    assert len(rows) == 11
    assert rows[-1].value == "91 more items not shown"


def test_large_payload_says_how_much_is_shown_and_copy_takes_all() -> None:
    big = json.dumps({"blob": "x" * (DISPLAY_CAP + 10)}).encode()
    decoded = CodecRegistry().decode(big, "t")
    view = DecodedView.of(decoded)
    assert view.note == f"showing {DISPLAY_CAP:,} of {len(big):,} bytes"
    assert len(view.text) == DISPLAY_CAP
    assert copy_payload(big, "text") == big.decode()
    assert base64.b64decode(copy_payload(big, "base64")) == big
    assert bytes.fromhex(copy_payload(b"\x01\xff", "hex")) == b"\x01\xff"
    small = DecodedView.of(CodecRegistry().decode(msgpack.packb({"t": 1.5}), "t"))
    assert small.note is None
    assert small.numbers == ("t",)
    assert small.header == "msgpack · 12 B · detected"


def test_error_view_keeps_header_and_no_rows() -> None:
    from explorer.codecs import CodecRule

    view = DecodedView.of(CodecRegistry([CodecRule("#", "cbor")]).decode(b"\xa2\x01", "t"))
    assert view.error is not None
    assert view.rows == ()


def test_save_names() -> None:
    registry = CodecRegistry()
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "JPEG")
    assert save_name("cam/front door", registry.decode(out.getvalue())) == "cam_front_door.jpg"
    assert save_name("a/b", registry.decode(cbor2.dumps({"a": 1}))) == "a_b.cbor"
    assert save_name("", None) == "payload.bin"


def test_field_series_of_a_msgpack_field() -> None:
    decoder = MessageDecoder()
    messages = [
        TopicMessage("p/energy", msgpack.packb({"power": float(i)}), 0, False, float(i), NO_PROPERTIES)
        for i in range(5)
    ]
    assert field_series(messages, decoder, "power") == [(float(i), float(i)) for i in range(5)]


def test_sparkplug_rows_and_metric_chart() -> None:
    decoder = MessageDecoder()
    birth = encode_payload(
        {
            "seq": 0,
            "metrics": [
                {"name": "bdSeq", "datatype": "UInt64", "value": 3},
                {"name": "Temp", "alias": 1, "datatype": "Double", "value": 20.0},
            ],
        }
    )
    decoder.observe("spBv1.0/g/NBIRTH/n", birth, 1.0)
    for seq, value in ((1, 21.0), (2, 22.5)):
        data = encode_payload({"seq": seq, "metrics": [{"alias": 1, "datatype": "Double", "value": value}]})
        decoder.observe("spBv1.0/g/NDATA/n", data, 1.0 + seq)
    rows = sparkplug_rows(decoder.sparkplug)
    assert [(r.level, r.label, r.value) for r in rows] == [
        ("node", "g/n", "online"),
        ("metric", "Temp", "22.5"),
        ("metric", "bdSeq", "3"),
    ]
    assert sparkplug_title(rows) == ("Sparkplug B: 1 edge node", True)
    assert sparkplug_title([]) == (SPARKPLUG_EMPTY, False)
    temp = rows[1]
    assert temp.numeric
    assert temp.detail == "Double  alias 1"
    assert metric_series(decoder.sparkplug, temp.key) == [(1.0, 20.0), (2.0, 21.0), (3.0, 22.5)]
    assert sparkplug_notice_lines(decoder.sparkplug) == []
    gap = encode_payload({"seq": 9, "metrics": [{"alias": 1, "datatype": "Double", "value": 1.0}]})
    decoder.observe("spBv1.0/g/NDATA/n", gap, 9.0)
    notices = sparkplug_notice_lines(decoder.sparkplug)
    assert notices
    assert all(line.startswith("! ") for line in notices)
    assert any("seq" in line for line in notices)


def test_block_preview_of_a_png() -> None:
    out = io.BytesIO()
    image = Image.new("RGB", (8, 4), (255, 0, 0))
    image.putpixel((0, 1), (0, 0, 255))
    image.save(out, "PNG")
    rows = block_preview(out.getvalue(), width=8)
    assert len(rows) == 2
    assert len(rows[0]) == 8
    assert rows[0][0] == ((255, 0, 0), (0, 0, 255))
    assert block_preview(b"\x89PNG\r\n\x1a\nbroken") == []


def test_encode_for_publish() -> None:
    registry = CodecRegistry()
    result = encode_for_publish(registry, "msgpack", '{"a": 1}')
    assert msgpack.unpackb(result.payload) == {"a": 1}
    assert result.content_type == "application/msgpack"
    with pytest.raises(ExplorerError, match=r"^cbor: not JSON"):
        encode_for_publish(registry, "cbor", "{")


def test_decoded_diff_and_history_text() -> None:
    registry = CodecRegistry()
    old = registry.decode(msgpack.packb({"power": 2.5, "on": True}))
    new = registry.decode(msgpack.packb({"on": True, "power": 4.0}))
    lines = decoded_diff(old, new)
    assert lines[:2] == ["--- previous (msgpack)", "+++ current (msgpack)"]
    assert '-  "power": 2.5' in lines
    assert '+  "power": 4.0' in lines
    assert decoded_diff(old, old) == []
    assert history_text(new) == '{"on": true, "power": 4.0}'
    assert history_text(new, width=10) == '{"on": tr…'


async def test_message_export_carries_codec_and_decoded(tmp_path: Path) -> None:
    from explorer.model.events import MessageReceived
    from explorer.workspace import Workspace

    async with Workspace(config_dir=tmp_path) as ws:
        payload = cbor2.dumps({"co2": 612})
        ws.ingest(MessageReceived(ws.next_seq(), 1.0, 0, "air", payload, 0, False))
        ws.ingest(MessageReceived(ws.next_seq(), 2.0, 0, "bad", b"\x1f\x8b\x08broken", 0, False))
        out = tmp_path / "m.jsonl"
        assert ws.export_messages(out, "jsonl") == 2
    rows = {row["topic"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert (rows["air"]["codec"], rows["air"]["decoded"]) == ("cbor", {"co2": 612})
    assert base64.b64decode(rows["air"]["payload"]) == payload  # the raw bytes, untouched
    assert rows["bad"]["codec"] == "raw"
