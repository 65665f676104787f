from __future__ import annotations

import base64

import pytest

from explorer.present.payload import (
    base64_view,
    diff_payloads,
    escape_text,
    extract_field,
    format_hex_dump,
    guess_kind,
    hex_dump_lines,
    json_view,
    looks_binary,
    numeric_fields,
    numeric_value,
    parse_number,
    payload_preview,
    text_view,
)


def test_text_view_escapes_control_characters_but_keeps_newlines_and_tabs() -> None:
    view = text_view(b"a\tb\nc\x1b[2Jd\re\x00")
    assert view.text == "a\tb\nc\\x1b[2Jd\\re\\x00"
    assert not view.truncated
    assert view.valid_utf8
    assert view.marker == ""


def test_text_view_replaces_invalid_utf8() -> None:
    view = text_view(b"ok \xff\xfe")
    assert view.text == "ok \ufffd\ufffd"
    assert not view.valid_utf8


def test_text_view_truncates_without_cutting_a_character() -> None:
    data = "é".encode() * 10  # 20 bytes
    view = text_view(data, limit=5)
    assert view.text == "éé"
    assert view.truncated
    assert view.valid_utf8
    assert view.shown == 4
    assert view.marker == "… truncated: 4 of 20 bytes shown"


def test_escape_text_escapes_c1_and_line_separators() -> None:
    assert escape_text("a\x85b\u2028") == "a\\x85b\\u2028"


def test_json_view_pretty_prints_objects_and_keeps_the_value() -> None:
    view = json_view(b'{"b": 1, "a": [true, null]}')
    assert view is not None
    assert view.value == {"b": 1, "a": [True, None]}
    assert view.pretty.splitlines()[1] == '  "b": 1,'
    assert not view.truncated


@pytest.mark.parametrize("data", [b"", b"42", b'"text"', b"{broken", b"\xff{", b"[1,"])
def test_json_view_is_none_for_scalars_and_non_json(data: bytes) -> None:
    assert json_view(data) is None


def test_json_view_refuses_payloads_above_the_parse_limit() -> None:
    assert json_view(b'{"a": "' + b"x" * 100 + b'"}', limit=50, parse_limit=80) is None


def test_json_view_parses_large_documents_whole_and_cuts_the_pretty_text() -> None:
    data = b"[" + b",".join(b"%d" % i for i in range(1000)) + b"]"
    view = json_view(data, limit=100)
    assert view is not None
    assert view.value == list(range(1000))
    assert view.truncated
    assert len(view.pretty) == 100
    assert view.marker == f"… truncated: 100 of {len(data):,} bytes shown"


def test_hex_dump_lines_lay_out_offsets_hex_and_ascii() -> None:
    data = bytes(range(0x41, 0x41 + 20))
    lines = hex_dump_lines(data)
    assert [line.offset for line in lines] == [0, 16]
    assert lines[0].hex == "41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50"
    assert lines[0].ascii == "ABCDEFGHIJKLMNOP"
    assert lines[1].data == b"QRST"
    assert lines[1].text() == "00000010  51 52 53 54" + " " * 38 + "  |QRST|"


def test_hex_dump_lines_cut_spans_into_per_line_segments() -> None:
    data = bytes(40)
    spans = [(2, 20, "CONNECT"), (20, 40, "PUBLISH")]
    lines = hex_dump_lines(data, spans=spans)
    assert [(s.start, s.end, s.span, s.label) for s in lines[0].segments] == [(2, 16, 0, "CONNECT")]
    assert [(s.start, s.end, s.span) for s in lines[1].segments] == [(0, 4, 0), (4, 16, 1)]
    assert [(s.start, s.end, s.span) for s in lines[2].segments] == [(0, 8, 1)]


def test_hex_columns_map_byte_ranges_to_hex_text() -> None:
    line = hex_dump_lines(bytes(range(16)))[0]
    first, last = line.hex_columns(7, 9)
    assert line.hex[first:last] == "07  08"
    first, last = line.hex_columns(0, 1)
    assert line.hex[first:last] == "00"


def test_hex_dump_respects_limit_and_base_offset_and_width() -> None:
    lines = hex_dump_lines(bytes(100), width=8, limit=20, base_offset=0x100)
    assert [line.offset for line in lines] == [0x100, 0x108, 0x110]
    assert len(lines[-1].data) == 4
    text = format_hex_dump(bytes(100), limit=20)
    assert text.endswith("… truncated: 20 of 100 bytes shown")
    with pytest.raises(ValueError, match="width"):
        hex_dump_lines(b"x", width=0)


def test_base64_view_round_trips_and_truncates() -> None:
    encoded, truncated = base64_view(b"\x00\x01hello")
    assert base64.b64decode(encoded) == b"\x00\x01hello"
    assert not truncated
    encoded, truncated = base64_view(b"x" * 10, limit=3)
    assert base64.b64decode(encoded) == b"xxx"
    assert truncated


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"23", 23.0), (b" -1.5e3 ", -1500.0), (b".5", 0.5), (b"+7", 7.0)],
)
def test_parse_number_accepts_decimal_numbers(data: bytes, expected: float) -> None:
    assert parse_number(data) == expected


@pytest.mark.parametrize("data", [b"", b"nan", b"inf", b"0x10", b"true", b"1,5", b"12abc", b"\xff"])
def test_parse_number_refuses_everything_else(data: bytes) -> None:
    assert parse_number(data) is None


def test_numeric_fields_and_extract_field_walk_json() -> None:
    value = {"id": "x", "t": 21.5, "ok": True, "r": [{"v": 1}, {"v": 2}], "n": {"deep": 3}}
    fields = numeric_fields(value)
    assert fields == ["t", "r[0].v", "r[1].v", "n.deep"]
    assert extract_field(value, "r[1].v") == 2
    assert extract_field(value, "n.deep") == 3
    assert extract_field(value, "r[5].v") is None
    assert extract_field(value, "missing") is None


def test_numeric_value_prefers_plain_numbers_then_a_single_json_field() -> None:
    assert numeric_value(b"5") == 5.0
    assert numeric_value(b'{"temp": 19}') == 19.0
    assert numeric_value(b'{"a": 1, "b": 2}') is None
    assert numeric_value(b'{"a": 1, "b": 2}', "b") == 2.0
    assert numeric_value(b'{"a": true}', "a") is None
    assert numeric_value(b"text", "a") is None


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),
        (b"12.5", "number"),
        (b'{"a": 1}', "json"),
        (b"hello world", "text"),
        (bytes(range(32)), "binary"),
    ],
)
def test_guess_kind_picks_the_best_first_view(data: bytes, kind: str) -> None:
    assert guess_kind(data) == kind


def test_diff_of_text_payloads_is_a_unified_diff() -> None:
    lines = diff_payloads(b"a\nb\nc", b"a\nB\nc")
    assert lines[:2] == ["--- previous", "+++ current"]
    assert "-b" in lines
    assert "+B" in lines


def test_diff_of_json_ignores_key_order() -> None:
    assert diff_payloads(b'{"a": 1, "b": 2}', b'{"b":2,"a":1}') == []
    lines = diff_payloads(b'{"a": 1, "b": 2}', b'{"a": 1, "b": 3}')
    assert '-  "b": 2' in lines
    assert '+  "b": 3' in lines


def test_diff_of_binary_payloads_compares_hex_dumps() -> None:
    lines = diff_payloads(bytes(range(32)), bytes(range(16)) + bytes(16))
    assert any(line.startswith("-00000010") for line in lines)
    assert any(line.startswith("+00000010") for line in lines)


def test_looks_binary_tolerates_a_character_cut_at_the_sample_edge() -> None:
    text = "é".encode() * 3000  # 6000 bytes; the 4096-byte sample ends on a character boundary
    assert not looks_binary(text)
    shifted = b"a" + text  # now the sample ends in the middle of a two-byte character
    assert not looks_binary(shifted)
    assert looks_binary(b"\xff\xfe\x00\x01")
    assert looks_binary(bytes(range(32)) * 4)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", "payload (0 B)"),
        (b"hello", 'payload (5 B): "hello"'),
        (b"a\nb\tc\x1b", 'payload (6 B): "a\\nb\\tc\\x1b"'),
        ("é".encode() * 40, 'payload (80 B): "' + "é" * 10 + '…"'),
        (b"\x00\x01\x02", "payload (3 B, binary): 00 01 02"),
        (bytes(100), "payload (100 B, binary): " + " ".join(["00"] * 3) + " …"),
    ],
)
def test_payload_preview_is_one_short_line_with_the_length(data: bytes, text: str) -> None:
    assert payload_preview(data, width=10) == text
