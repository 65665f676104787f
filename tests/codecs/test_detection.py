"""Detection picks the likeliest codec that reads a payload, whatever shortcuts it takes:
payloads made by real encoders (json, msgpack, cbor2, protobuf wire bytes) and random
bytes, against every codec asked in turn; and each codec's declared first bytes."""

from __future__ import annotations

import json
import random
import struct

import cbor2
import msgpack

from explorer.codecs import CodecError, CodecRegistry
from explorer.codecs.base import DecodeContext
from explorer.codecs.compression import sniff_compression
from explorer.codecs.wire import is_wire, parse_wire

TOPICS = ("sensors/room/t1", "spBv1.0/plant/DDATA/edge/dev")


def _corpus() -> list[bytes]:
    rng = random.Random(15)
    payloads = [b"", b" ", b"\t{}", b'{"a": 1}', b"[1, 2]", b"42", b"hello", "héllo".encode(), b"\x00"]
    # varints of 10 bytes (the longest) and 11; a length running past the end; a group
    payloads += [
        b"\x08" + b"\xff" * 9 + b"\x01",
        b"\x08" + b"\xff" * 10 + b"\x01",
        b"\x0a\x05ab",
        b"\x0b\x0c",
    ]
    for size in (1, 2, 3, 8, 64, 200):
        payloads += [rng.randbytes(size) for _ in range(300)]
    for _ in range(200):
        value = {"t": rng.random(), "n": rng.randint(-(10**6), 10**6), "s": "x" * rng.randint(0, 5)}
        payloads.append(json.dumps(value).encode())
        payloads.append(msgpack.packb(value))
        payloads.append(msgpack.packb([value["n"], value["s"]]))
        payloads.append(cbor2.dumps(value))
        payloads.append(cbor2.dumps([value["t"]]))
        field = rng.randint(1, 40)
        payloads.append(bytes([field << 3 | 5]) + struct.pack("<f", value["t"]) if field < 16 else b"")
        payloads.append(bytes([0x08, rng.randint(0, 127), 0x12, 2]) + b"ok")
    return payloads


def _every_codec_asked(registry: CodecRegistry, payload: bytes, topic: str) -> tuple[str, object]:
    """The documented choice, made the long way: every codec's score, then the best
    that reads the payload (the raw view last)."""
    context = DecodeContext(topic)
    codecs = list(registry.codecs.values())
    scored = sorted(
        ((codec.sniff(payload, context), position) for position, codec in enumerate(codecs)),
        key=lambda item: (-item[0], item[1]),
    )
    for score, position in scored:
        if score <= 0:
            break
        try:
            decoded = codecs[position].decode(payload, context)
        except CodecError:
            continue
        return decoded.codec, decoded.value
    raw = registry.codecs["raw"].decode(payload, context)
    return raw.codec, raw.value


def test_detection_picks_what_asking_every_codec_picks() -> None:
    registry = CodecRegistry()
    checked = 0
    for payload in _corpus():
        if sniff_compression(payload) is not None:
            continue  # a compression layer is unwrapped first: another test's subject
        for topic in TOPICS:
            decoded = registry.decode(payload, topic)
            assert (decoded.codec, decoded.value) == _every_codec_asked(registry, payload, topic), payload
            assert decoded.note.startswith("detected")
            checked += 1
    assert checked > 4000


def test_a_codec_scores_nothing_for_a_first_byte_it_does_not_declare() -> None:
    registry = CodecRegistry()
    rng = random.Random(3)
    declared = {name: codec.leads for name, codec in registry.codecs.items() if hasattr(codec, "leads")}
    assert {"json", "msgpack", "cbor", "text", "image", "protobuf-wire"} <= set(declared)
    tails = [b"", b"{}", b"\x00" * 8, b'"a":1}', b"\x81\xa1a\x01"]
    tails += [msgpack.packb({"a": 1}), cbor2.dumps({"a": 1})]
    tails += [rng.randbytes(rng.randint(1, 30)) for _ in range(40)]
    context = DecodeContext("sensors/room/t1")
    for name, leads in declared.items():
        codec = registry.codecs[name]
        for byte in set(range(256)) - set(leads):
            for tail in tails:
                assert codec.sniff(bytes([byte]) + tail, context) == 0, (name, byte, tail)


def test_the_raw_view_text_is_its_size_and_bytes() -> None:
    decoded = CodecRegistry().decode(bytes(range(0xF8, 0x100)) + b"\x00", "a")
    assert decoded.codec == "raw"
    assert decoded.value == {"bytes": 9, "base64": "+Pn6+/z9/v8A"}
    assert decoded.text == "<9 B> f8 f9 fa fb fc fd fe ff 00"


def test_the_wire_check_agrees_with_the_wire_parser() -> None:
    agreed = {True: 0, False: 0}
    for payload in _corpus():
        try:
            parse_wire(payload)
            parsed = True
        except CodecError:
            parsed = False
        assert is_wire(payload) == parsed, payload
        agreed[parsed] += 1
    assert agreed[True] > 200
    assert agreed[False] > 200
