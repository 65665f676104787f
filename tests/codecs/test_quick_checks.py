"""The cheap checks detection makes before a decoder runs refuse only what the decoder
refuses, and the quick readers give what the standard readers give: JSON against the
standard library's ``json``, CBOR against ``cbor2``, MessagePack against ``msgpack``,
text against the long definition (valid UTF-8, printable first 4096 characters)."""

from __future__ import annotations

import base64
import gzip
import json
import math
import random
from typing import Any

import cbor2
import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.codecs import CodecError, CodecRegistry, CodecRule
from explorer.codecs.base import DecodeContext
from explorer.codecs.structured import CborCodec, JsonCodec, MsgpackCodec, TextCodec, cbor_item_end

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONTEXT = DecodeContext("sensors/room/t1")

_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
_values = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def _same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN, and of the same types all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _json_reference(payload: bytes) -> tuple[int, Any]:
    """JSON detection the long way: the standard reader, after the first-byte rule."""
    head = payload.lstrip()[:1]
    if not head or head not in b'{["-0123456789tfn':
        return 0, None
    try:
        return 60, json.loads(payload)
    except (ValueError, RecursionError):
        return 0, None


def _check_json(payload: bytes) -> None:
    codec = JsonCodec()
    score = codec.sniff(payload, CONTEXT)
    expected_score, expected = _json_reference(payload)
    assert score == expected_score, payload
    if score:
        assert _same(codec.decode(payload, CONTEXT).value, expected), payload


JSON_ODDITIES = [
    b"NaN",
    b"[Infinity, -Infinity]",
    b"1e400",
    b"[1.7976931348623157e309]",
    b"-0",
    b"-0.0",
    b"123456789012345678901234567890",
    b"18446744073709551615",
    b"18446744073709551616",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b'{"n": 99999999999999999999}',
    b"9007199254740993.0",
    b"0.30000000000000004",
    b"1.0000000000000000000000000001",
    b'{"a":1,"b":2,"a":3}',
    b'"\\ud800"',
    b'"\xed\xa0\x80"',
    b'"\\u0000"',
    b'{"a": "\x01"}',
    b'{"a": "\x7f"}',
    b"\xef\xbb\xbf[1]",
    '{"a": [1, 2]}'.encode("utf-16-le"),
    '{"a": [1, 2]}'.encode("utf-16-be"),
    '{"a": [1, 2]}'.encode("utf-32-le"),
    b"1\x00",
    b"[1]\x0b",
    b"\x0b[1]",
    b" [1] ",
    b"[" * 3000 + b"]" * 3000,
    b"tru",
    b"[1,]",
]


def test_json_oddities_read_as_the_standard_reader_reads_them() -> None:
    for payload in JSON_ODDITIES:
        _check_json(payload)


@SETTINGS
@given(_values, st.sampled_from(["plain", "indent", "spaces", "cut", "junk"]), st.randoms())
def test_json_read_quickly_is_what_the_standard_reader_reads(
    value: Any, shape: str, rng: random.Random
) -> None:
    text = json.dumps(value, indent=2 if shape == "indent" else None, ensure_ascii=rng.random() < 0.5)
    payload = text.encode("utf-8", "surrogatepass")
    if shape == "spaces":
        payload = b" \n" + payload + b"\t"
    elif shape == "cut":
        payload = payload[: rng.randrange(len(payload) + 1)]
    elif shape == "junk":
        position = rng.randrange(len(payload) + 1)
        payload = payload[:position] + bytes([rng.randrange(256)]) + payload[position:]
    _check_json(payload)


def _cbor_reference(payload: bytes) -> bool:
    try:
        CborCodec._load(payload)
    except CodecError:
        return False
    return True


@SETTINGS
@given(st.binary(max_size=40))
def test_cbor_refused_by_the_head_walk_is_refused_by_cbor2(payload: bytes) -> None:
    if cbor_item_end(payload) != len(payload):
        assert not _cbor_reference(payload), payload


@SETTINGS
@given(_values, st.booleans())
def test_cbor_from_cbor2_passes_the_head_walk(value: Any, indefinite: bool) -> None:
    payload = cbor2.dumps(value)
    assert cbor_item_end(payload) == len(payload)
    if indefinite and isinstance(value, (list, dict)):  # the same items, indefinite length
        body = cbor2.dumps(value)
        head = body[0] >> 5
        inner = b"".join(
            cbor2.dumps(item)
            for item in (value if isinstance(value, list) else [x for kv in value.items() for x in kv])
        )
        payload = bytes([head << 5 | 31]) + inner + b"\xff"
        assert cbor_item_end(payload) == len(payload)
        assert _cbor_reference(payload)


def test_cbor_head_walk_on_random_containers_agrees_with_cbor2() -> None:
    rng = random.Random(8)
    refused = 0
    for _ in range(20_000):
        payload = bytes([rng.randrange(0x80, 0xC0)]) + rng.randbytes(rng.randint(0, 30))
        if cbor_item_end(payload) != len(payload):
            refused += 1
            assert not _cbor_reference(payload), payload
    for payload in (b"\x9f\x01\xff", b"\xbf\x61a\x01\xff", b"\x5f\x41a\xff", b"\x7f\x61a\xff", b"\x9f\xff"):
        assert cbor_item_end(payload) == len(payload)
        assert _cbor_reference(payload)
    for payload in (b"\x81\xff", b"\x9c", b"\x1f", b"\xdf", b"\x81\x1c", b"\x82\x01", b"\x81\x01\x01"):
        assert cbor_item_end(payload) == -1 or cbor_item_end(payload) != len(payload)
        assert not _cbor_reference(payload)
    assert refused > 10_000


@SETTINGS
@given(st.binary(max_size=40))
def test_msgpack_quick_read_scores_what_the_precise_read_accepts(tail: bytes) -> None:
    for head in (0x81, 0x92, 0xDC, 0xDE):
        payload = bytes([head]) + tail
        try:
            MsgpackCodec._unpack(payload)
            readable = True
        except CodecError:
            readable = False
        assert (MsgpackCodec().sniff(payload, CONTEXT) > 0) == readable, payload


def test_msgpack_quick_read_on_real_and_broken_payloads() -> None:
    rng = random.Random(4)
    for _ in range(3000):
        value = {"t": rng.random(), "n": rng.randint(-(2**40), 2**40), "s": "x" * rng.randint(0, 40)}
        packed = msgpack.packb(value if rng.random() < 0.5 else list(value.values()))
        for payload in (packed, packed[:-1], packed + b"\x00", packed[: rng.randrange(len(packed))]):
            if not payload:
                continue
            try:
                MsgpackCodec._unpack(payload)
                readable = True
            except CodecError:
                readable = False
            assert (MsgpackCodec().sniff(payload, CONTEXT) > 0) == readable, payload


def _text_reference(payload: bytes) -> int:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return 0
    return 30 if all(ch.isprintable() or ch in "\n\r\t" for ch in text[:4096]) else 0


@SETTINGS
@given(st.text(max_size=60), st.binary(max_size=8), st.integers(min_value=0, max_value=60))
def test_text_quick_checks_score_what_the_long_definition_scores(text: str, junk: bytes, at: int) -> None:
    codec = TextCodec()
    payload = text.encode("utf-8", "surrogatepass")
    for candidate in (payload, payload[:at] + junk + payload[at:], b"a" * 4090 + payload):
        assert codec.sniff(candidate, CONTEXT) == _text_reference(candidate), candidate


def test_text_past_the_first_4096_characters_is_not_looked_at() -> None:
    codec = TextCodec()
    for payload in (b"a" * 5000 + b"\x01", "é".encode() * 4096 + b"\x01", b"\n" * 4095 + b"\x7f"):
        assert codec.sniff(payload, CONTEXT) == _text_reference(payload), payload[-8:]


def test_the_choice_is_the_codec_and_value_detection_gives() -> None:
    registry = CodecRegistry()
    rng = random.Random(21)
    payloads = [rng.randbytes(rng.choice([1, 2, 8, 64])) for _ in range(3000)]
    payloads += [b"", b"hello", b'{"a": 1}', msgpack.packb({"a": 1}), cbor2.dumps([1.5])]
    payloads += [gzip.compress(b'{"a": [1, 2]}'), gzip.compress(rng.randbytes(30)), *JSON_ODDITIES]
    for topic in ("sensors/room/t1", "spBv1.0/plant/DDATA/edge/dev", "spBv1.0/STATE/host"):
        context = DecodeContext(topic)
        for payload in payloads:
            decoded = registry.detect(payload, context)
            name, data, chosen = registry.choose(payload, context)
            assert decoded.error is None
            assert name == decoded.codec, payload
            if chosen is None:
                assert name.endswith("raw")
                assert decoded.value == {"bytes": len(data), "base64": base64.b64encode(data).decode()}
            else:
                assert _same(chosen.value, decoded.value), payload


def test_json_by_rule_reads_as_the_standard_reader_reads_the_text() -> None:
    registry = CodecRegistry([CodecRule("j/#", "json")])
    for payload in [*JSON_ODDITIES, b'{"t": 21.5, "n": [1, 2, 3]}', b"\xff", b"[1, 2"]:
        decoded = registry.decode(payload, "j/1")
        try:
            expected = json.loads(payload.decode("utf-8"))
        except (ValueError, RecursionError):
            assert decoded.error is not None, payload
            continue
        assert decoded.error is None, payload
        assert _same(decoded.value, expected), payload


def test_what_a_topic_carried_before_changes_no_choice() -> None:
    """CBOR is read at once on a topic that carried CBOR, and walked first elsewhere: the
    same payloads give the same codecs and values on a warm and on a fresh registry."""
    rng = random.Random(30)
    valid = [cbor2.dumps({"t": rng.random(), "n": [1, 2, {"x": "y"}]}) for _ in range(50)]
    broken = [v[: rng.randrange(1, len(v))] for v in valid] + [v + b"\x01" for v in valid]
    noise = [bytes([rng.randrange(0x80, 0xC0)]) + rng.randbytes(30) for _ in range(200)]
    payloads = valid + broken + noise
    rng.shuffle(payloads)
    warm = CodecRegistry()
    for payload in payloads:
        got = warm.decode(payload, "plant/line1")
        fresh = CodecRegistry().decode(payload, "plant/line1")
        assert (got.codec, got.value) == (fresh.codec, fresh.value), payload
