"""``decode --json`` of compact PUBLISH records: held as records (in memory and in the
spool file) they come out as the very lines their events give, whatever stdout is (a
file, a pipe, or text in memory), with the codec fields detection gives their payloads."""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import zstandard

from bench.synthcap import write_capture
from explorer.cli import main
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connect, Publish
from explorer.ws.framing import OP_BINARY, build_frame
from tests.capture.mqttws import capture_bytes, request, response


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(["decode", "--json", *argv])
    out, _err = capsys.readouterr()
    assert code == 0
    return out


def test_json_larger_than_memory_holds_is_the_json_of_the_events_in_a_file_a_pipe_and_memory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "many.pcap"
    write_capture(path, 12_000, connections=3, per_segment=True)
    in_memory = _json(capsys, str(path))
    assert len(in_memory) > 12_000_000  # well over the 8 MB held in memory: most went to the spool file
    objects = [json.loads(line) for line in in_memory.splitlines()]
    publishes = [p for o in objects if o["kind"] == "frame" for p in o["packets"] if p["type"] == "PUBLISH"]
    assert len(publishes) == 12_000
    assert [o["conn"] for o in objects if o["kind"] == "connection"] == [0, 1, 2]
    assert {p["codec"] for p in publishes} <= {"raw", "protobuf-wire", "msgpack", "cbor", "text", "json"}

    in_file = tmp_path / "out.jsonl"
    with in_file.open("wb") as out:
        subprocess.run(
            [sys.executable, "-m", "explorer", "decode", "--json", str(path)],
            stdout=out,
            check=True,
            timeout=120,
        )
    assert in_file.read_text(encoding="utf-8") == in_memory
    piped = subprocess.run(
        [sys.executable, "-m", "explorer", "decode", "--json", str(path)],
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert piped.stdout.decode() == in_memory

    import explorer.capture.pipeline as pipeline_module

    original = pipeline_module.Pipeline.__init__

    def events_only(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**kwargs, "compact": False})

    monkeypatch.setattr(pipeline_module.Pipeline, "__init__", events_only)
    assert _json(capsys, str(path)) == in_memory


def test_compressed_and_binary_payloads_of_compact_records_carry_what_their_events_carry(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gzip, zlib and zstd layers over JSON, text and random bytes (``gzip+raw``: the raw
    view of the inflated bytes), random bytes alone, in both directions: the codec fields of
    a compact record are the ones detection gives its PUBLISH event."""
    import explorer.capture.pipeline as pipeline_module

    rng = random.Random(12)
    layers = [gzip.compress, zlib.compress, zstandard.ZstdCompressor().compress, lambda data: data]
    inner = [b'{"t": 21.5, "ok": true}', "température 21,5 °C".encode(), rng.randbytes(48), b"\x92\x01\x02"]
    sent = [(0, request()), (1, response())]
    sent.append(
        (0, build_frame(OP_BINARY, encode(Connect(client_id="c"), ProtocolVersion.V311), mask_key=b"k3y!"))
    )
    sent.append((1, build_frame(OP_BINARY, bytes.fromhex("20020000"))))
    for step in range(48):
        payload = layers[step % 4](inner[(step // 4) % 4])
        data = encode(Publish(f"z/{step % 5}", payload), ProtocolVersion.V311)
        side = step % 2
        sent.append((side, build_frame(OP_BINARY, data, mask_key=os.urandom(4) if side == 0 else None)))
    path = tmp_path / "layers.pcap"
    path.write_bytes(capture_bytes(sent))
    compact = _json(capsys, str(path))
    codecs = Counter(
        p["codec"]
        for line in compact.splitlines()
        for o in [json.loads(line)]
        if o["kind"] == "frame"
        for p in o["packets"]
        if p["type"] == "PUBLISH"
    )
    assert {"gzip+json", "zlib+text", "zstd+raw", "gzip+raw", "raw", "json", "msgpack"} <= set(codecs)
    assert sum(codecs.values()) == 48
    original = pipeline_module.Pipeline.__init__

    def events_only(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**kwargs, "compact": False})

    monkeypatch.setattr(pipeline_module.Pipeline, "__init__", events_only)
    assert _json(capsys, str(path)) == compact


def test_memory_stays_bounded_when_segments_carry_many_frames(tmp_path: Path) -> None:
    """Full-size TCP segments of small frames: one read hands on thousands of records at
    once, and the spool measures every batch, so the listing and the JSON lines move to the
    spool file on time."""
    from tests.cli.test_decode_scale import _peak_rss_mb

    small, large = tmp_path / "small.pcap", tmp_path / "large.pcap"
    write_capture(small, 20_000, connections=1, per_segment=False)
    write_capture(large, 300_000, connections=1, per_segment=False)
    small_rss = _peak_rss_mb(small, "--json")
    json_rss = _peak_rss_mb(large, "--json")
    text_rss = _peak_rss_mb(large)
    assert json_rss < small_rss + 40
    assert max(json_rss, text_rss) < 200
