"""``decode --json`` past the spool's memory budget: compact PUBLISH records held as
records (in memory and in the spool file) come out as the very lines their events give,
whatever stdout is: a file, a pipe, or text in memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.synthcap import write_capture
from explorer.cli import main


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
