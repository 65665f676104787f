"""The recording file: what the writer puts in, what the reader gets out, on real SQLite files.

Covers the size budget (oldest rows dropped, with a notice), the bounded queue (drops
counted and noted), files that are not recordings (one sentence each), a writer killed
with SIGKILL in the middle of its work (the file reads up to its last commit), and the
trace events kept with ``frames`` rebuilt as the decoder made them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from explorer.capture import read_capture
from explorer.cli.decode import classify, decode_connection
from explorer.model.events import FrameEvent, HandshakeRequest, MessageReceived, PacketEvent
from explorer.model.trace import event_to_json
from explorer.mqtt.packets import Properties, Publish
from explorer.recording import Query, Recording, RecordingError, RecordingWriter
from explorer.recording.schema import SCHEMA_VERSION
from tests.reference import SMALL_PCAPNG, needs_reference

CAPTURE = SMALL_PCAPNG


def message(
    seq: int, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False, **props: object
) -> MessageReceived:
    properties = Properties(**props)  # type: ignore[arg-type]
    packet = Publish(topic, payload, qos, retain, False, 1 if qos else None, properties)
    return MessageReceived(seq, 1_000.0 + seq / 1000, 0, topic, payload, qos, retain, packet)


def test_messages_round_trip_with_properties_and_raw_payload(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    writer = RecordingWriter(path, wall_offset=1_700_000_000.0)
    props = {
        "user_properties": (("k", "v"), ("k", "v2")),
        "content_type": "application/json",
        "correlation_data": b"\x00\xff",
        "payload_format_indicator": 1,
        "response_topic": "reply/here",
        "message_expiry_interval": 60,
    }
    writer.add(message(0, "a/b", b'{"x": 1}', qos=1, retain=True, **props))
    writer.add(message(1, "bin", b"\x00\x01\xfe\xff", qos=2))
    stats = writer.close()
    assert stats.messages == 2
    with Recording(path) as recording:
        first, second = recording.search()
        assert (first.topic, first.payload, first.qos, first.retain) == ("a/b", b'{"x": 1}', 1, True)
        assert first.properties == Properties(**props)  # type: ignore[arg-type]
        assert first.codec == "json"
        assert first.time_us == 1_700_001_000_000_000
        assert (second.payload, second.codec, second.text) == (b"\x00\x01\xfe\xff", "raw", None)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert (
        db.execute("SELECT time FROM messages_iso WHERE id = 1").fetchone()[0] == "2023-11-14T22:30:00.000Z"
    )
    db.close()


def test_a_recording_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    path.write_bytes(b"precious")
    with pytest.raises(RecordingError, match="already exists"):
        RecordingWriter(path)
    assert path.read_bytes() == b"precious"


def test_the_size_budget_drops_the_oldest_messages_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    writer = RecordingWriter(path, max_size=1_000_000, flush_interval=0.01)
    payload = b"x" * 300
    for seq in range(12_000):  # about 4 MB of payloads into a 1 MB budget
        writer.add(message(seq, f"t/{seq % 10}", payload + str(seq).encode()))
    stats = writer.close()
    notices = writer.take_notices()
    assert stats.evicted > 0
    assert notices
    assert "size budget 1.0 MB reached" in notices[0]
    with Recording(path) as recording:
        kept = list(recording.search())
        assert len(kept) == 12_000 - stats.evicted
        assert kept[-1].payload == payload + b"11999"  # the newest stay
        assert kept[0].payload == payload + str(stats.evicted).encode()  # the oldest went, in order
        evictions = [notice for notice in recording.notices() if notice.kind == "evicted"]
        assert sum(notice.count for notice in evictions) == stats.evicted
        # The full-text index lost the same rows: a search for an evicted message finds nothing.
        assert list(recording.search(Query(text="t"))) == kept
    db = sqlite3.connect(path)
    pages, free, size = (
        db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("page_count", "freelist_count", "page_size")
    )
    assert (pages - free) * size <= 1_000_000
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_a_full_queue_drops_and_counts_and_the_file_says_how_many(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    writer = RecordingWriter(path, queue_limit=10, flush_interval=60)
    for seq in range(1000):
        writer.add(message(seq, "t", b"p"))
    stats = writer.close()
    assert stats.dropped == 990
    assert stats.messages == 10
    with Recording(path) as recording:
        dropped = [notice for notice in recording.notices() if notice.kind == "dropped"]
        assert [notice.count for notice in dropped] == [990]
        assert "990 events not recorded" in dropped[0].message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty, not a recording"),
        (b"hello, world\n", "is not a recording (not an SQLite file)"),
        (b"SQLite format 3\x00" + b"\x07" * 4000, "is damaged"),
    ],
)
def test_a_file_that_is_not_a_recording_is_one_sentence(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "f"
    path.write_bytes(content)
    with pytest.raises(RecordingError, match=re.escape(expected)) as info:
        Recording(path)
    assert "\n" not in str(info.value)


def test_another_sqlite_database_is_not_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE things (x)")
    db.commit()
    db.close()
    with pytest.raises(RecordingError, match="an SQLite database but not a recording"):
        Recording(path)
    with pytest.raises(RecordingError, match="no such file"):
        Recording(tmp_path / "missing.sqlite")


_KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from explorer.model.events import MessageReceived
    from explorer.mqtt.packets import Publish
    from explorer.recording import RecordingWriter

    writer = RecordingWriter(sys.argv[1], flush_interval=0.01)
    seq = 0
    reported = 0
    while True:
        for _ in range(500):
            payload = f"payload {seq}".encode()
            packet = Publish("t", payload)
            writer.add(MessageReceived(seq, 1.0 + seq, 0, f"t/{seq % 7}", payload, 0, False, packet))
            seq += 1
        committed = writer.stats.messages
        if committed >= reported + 2000:
            reported = committed
            print(committed, flush=True)
    """
)


def test_a_writer_killed_with_sigkill_leaves_a_file_readable_to_its_last_commit(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert proc.stdout is not None
    committed = 0
    try:
        for line in proc.stdout:
            committed = int(line)
            if committed >= 20_000:
                break
        os.kill(proc.pid, signal.SIGKILL)  # in the middle of writing: the queue is never empty
    finally:
        proc.kill()
        proc.wait(30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert committed >= 20_000
    with Recording(path) as recording:
        rows = list(recording.search())
        assert len(rows) >= committed
        assert [row.payload for row in rows] == [f"payload {n}".encode() for n in range(len(rows))]
        found = list(recording.search(Query(text=f"payload {len(rows) - 1}")))
        assert found[-1].id == len(rows)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


@needs_reference()
def test_frames_keep_every_trace_event_and_rebuild_them(tmp_path: Path) -> None:
    capture = read_capture(CAPTURE)
    tcp = next(conn for conn in capture.connections if classify(conn) == "websocket")
    counter = iter(range(1_000_000))
    events = decode_connection(tcp, "websocket", lambda: next(counter))
    path = tmp_path / "frames.sqlite"
    writer = RecordingWriter(path, frames=True)
    writer.add_many(events)
    writer.close()
    kept = [event for event in events if not isinstance(event, MessageReceived)]
    with Recording(path) as recording:
        rebuilt = list(recording.events())
    assert len(rebuilt) == len(kept)
    assert any(isinstance(event, FrameEvent) for event in rebuilt)
    assert any(isinstance(event, PacketEvent) for event in rebuilt)
    assert isinstance(rebuilt[0], HandshakeRequest)
    for before, after in zip(kept, rebuilt, strict=True):
        want = event_to_json(before)
        got = event_to_json(after)
        for name in ("seq", "time"):
            want.pop(name)
            got.pop(name)
        assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)
        assert abs(after.time - before.time) < 1e-5


def test_binary_payloads_get_the_codec_and_text_the_codecs_read(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    packed = b"\x81\xa8greeting\xa5zebra"  # MessagePack {"greeting": "zebra"}
    writer = RecordingWriter(path)
    writer.add(message(0, "mp", packed))
    writer.add(message(1, "noise", bytes(range(200, 240))))
    writer.close()
    with Recording(path) as recording:
        first, second = recording.search()
        assert (first.codec, first.payload) == ("msgpack", packed)
        assert first.text is not None
        assert "zebra" in first.text
        assert [m.topic for m in recording.search(Query(text="zebra"))] == ["mp"]
        assert (second.codec, second.text) == ("raw", None)
