"""Recordings: record rate, query times over 10,000,000 messages, first screen of a big file.

1. **Record rate.** 300,000 ``MessageReceived`` events (JSON payloads of 40-60 bytes on
   2,000 topics) through :class:`explorer.recording.RecordingWriter`, timed from the
   first ``add()`` to the end of ``close()`` (every row committed). Beside it, on the
   same rows in the same run: a plain ``executemany`` into the same schema (messages and
   the FTS5 index, 20,000 rows per transaction, no thread, no queue) and the same into
   the ``messages`` table alone (no full-text index: the floor). Then a sustained run:
   a producer offers 60,000 msg/s in 5 ms ticks for 10 s and the figures are what was
   written, what was dropped and the deepest backlog. ``add()`` is what the caller's
   loop pays per message. Target: >= 50,000 msg/s sustained, no drop.
2. **Queries over 10,000,000 messages** (10,000 topics over 11.5 days; the file is made
   once by a plain ``executemany`` into the schema and cached in ``bench/.peers``):
   a topic and a day, a subtree and an hour, a ``+`` filter and a day, a rare word, a
   word in 1% of the messages (first 1,000 hits), a word within a subtree. Beside them:
   the rare word by ``LIKE '%word%'`` (what a table without FTS5 does). Targets: topic
   and time < 1 s, text < 2 s.
3. **First screen of a 1,000,000-message recording** in a Workspace (as both front ends
   open a file): from ``open_file`` to the first chunk in the topic tree, and to the end
   of the background load; beside it, loading the same messages into a TopicTree in
   one go before showing anything. The same for a 1,000,000-message pcapng (the stream of
   ``bench/decode.py``), beside the time to decode all of it. Target: first screen < 2 s.

Medians of several runs; wall-clock seconds (the machine is shared: compare the ratios
within a run). ``python -m bench recording --quick`` makes 1,000,000 rows instead of 10M.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from explorer.model.events import MessageReceived
from explorer.model.topictree import TopicTree
from explorer.mqtt.packets import Publish
from explorer.recording import Query, Recording, RecordingWriter
from explorer.recording.rows import payload_text, properties_json
from explorer.recording.schema import connect_writer

RECORD_COUNT = 300_000
BIG = 10_000_000
SCREEN = 1_000_000
RUNS = 3
SUSTAINED_RATE = 60_000
SUSTAINED_SECONDS = 10.0
T0 = 1_790_000_000  # seconds since the epoch of the first generated message
STEP_US = 100_000  # 10 messages a second in the big file
STATUS = ["ok"] * 97 + ["warn", "fault", "overheat"]
PEERS = Path(__file__).parent / ".peers"


def median(values: list[float]) -> float:
    return statistics.median(values)


def topics(count: int) -> list[str]:
    metrics = ["temp", "hum", "power", "state"]
    return [f"site/{n // 400}/dev/{(n // 4) % 100}/{metrics[n % 4]}" for n in range(count)]


def make_events(count: int) -> list[MessageReceived]:
    names = topics(2_000)
    rng = random.Random(1)
    out = []
    for n in range(count):
        topic = names[n % len(names)]
        payload = f'{{"v": {rng.random() * 100:.2f}, "s": "{STATUS[n % 100]}", "n": {n}}}'.encode()
        out.append(MessageReceived(n, 1000.0 + n / 1e4, 0, topic, payload, 0, False, Publish(topic, payload)))
    return out


def fresh(tmp: Path, name: str) -> Path:
    path = tmp / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def record_ours(events: list[MessageReceived], path: Path) -> tuple[float, float]:
    writer = RecordingWriter(path, queue_limit=len(events) + 1)
    started = time.perf_counter()
    add = writer.add
    for event in events:
        add(event)
    added = time.perf_counter()
    stats = writer.close()
    ended = time.perf_counter()
    assert stats.messages == len(events)
    assert stats.dropped == 0
    return len(events) / (ended - started), (added - started) / len(events) * 1e6


def rows_of(events: list[MessageReceived]) -> list[tuple[object, ...]]:
    out = []
    for n, event in enumerate(events, 1):
        codec, text = payload_text(event.payload)
        props = properties_json(event.packet.properties) if isinstance(event.packet, Publish) else None
        out.append(
            (
                n,
                round(event.time * 1e6),
                0,
                "s2c",
                event.topic,
                0,
                0,
                props,
                event.payload,
                len(event.payload),
                codec,
                text,
            )
        )
    return out


def record_plain(rows: list[tuple[object, ...]], path: Path, *, fts: bool) -> float:
    db = connect_writer(path, {})
    started = time.perf_counter()
    for start in range(0, len(rows), 20_000):
        chunk = rows[start : start + 20_000]
        db.execute("BEGIN")
        db.executemany("INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", chunk)
        if fts:
            db.executemany(
                "INSERT INTO messages_fts (rowid, topic, text) VALUES (?,?,?)",
                [(r[0], r[4], r[11]) for r in chunk],
            )
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return len(rows) / elapsed


def sustained(events: list[MessageReceived], path: Path) -> tuple[float, int, int, float]:
    writer = RecordingWriter(path)
    per_tick = SUSTAINED_RATE // 200
    ticks = int(SUSTAINED_SECONDS * 200)
    deepest = 0
    started = time.perf_counter()
    index = 0
    for tick in range(ticks):
        for _ in range(per_tick):
            writer.add(events[index % len(events)])
            index += 1
        deepest = max(deepest, writer.stats.queued)
        delay = started + (tick + 1) / 200 - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    offered_for = time.perf_counter() - started
    written = writer.stats.messages  # committed while the load was offered
    ended = time.perf_counter()
    stats = writer.close()
    drain = time.perf_counter() - ended
    assert stats.messages + stats.dropped == index
    return written / offered_for, stats.dropped, deepest, drain


def bench_record() -> None:
    print(f"-- record rate: {RECORD_COUNT:,} messages, medians of {RUNS} runs", flush=True)
    events = make_events(RECORD_COUNT)
    rows = rows_of(events)
    ours: list[float] = []
    add_us: list[float] = []
    plain: list[float] = []
    floor: list[float] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for run in range(RUNS):
            rate, cost = record_ours(events, fresh(tmp, f"ours{run}.sqlite"))
            ours.append(rate)
            add_us.append(cost)
            plain.append(record_plain(rows, fresh(tmp, f"plain{run}.sqlite"), fts=True))
            floor.append(record_plain(rows, fresh(tmp, f"floor{run}.sqlite"), fts=False))
        print(
            f"RecordingWriter (thread, queue, FTS5):     {median(ours):>10,.0f} msg/s   "
            f"add() {median(add_us):.2f} us"
        )
        print(f"peer: plain executemany, same schema+FTS5: {median(plain):>10,.0f} msg/s")
        print(f"peer: plain executemany, no FTS5 (floor):  {median(floor):>10,.0f} msg/s")
        written, dropped, deepest, drain = sustained(events, fresh(tmp, "sustained.sqlite"))
        verdict = "met" if written >= 50_000 and dropped == 0 else "NOT met"
        print(
            f"sustained: offered {SUSTAINED_RATE:,} msg/s for {SUSTAINED_SECONDS:.0f} s -> "
            f"written {written:,.0f} msg/s, "
            f"dropped {dropped:,}, deepest backlog {deepest:,}, drained {drain:.1f} s after "
            f"(target >= 50,000 msg/s, no drop: {verdict})",
            flush=True,
        )


def big_file(count: int) -> Path:
    PEERS.mkdir(exist_ok=True)
    path = PEERS / f"recording-{count // 1_000_000}M.sqlite"
    if path.exists():
        return path
    print(f"   making {path} ({count:,} messages, once)...", flush=True)
    partial = fresh(PEERS, f"{path.name}.partial")
    db = connect_writer(partial, {"frames": "0"})
    names = topics(10_000)
    rng = random.Random(7)
    started = time.perf_counter()
    batch = 100_000
    for start in range(1, count + 1, batch):
        rows = []
        texts = []
        for n in range(start, min(start + batch, count + 1)):
            topic = names[n % len(names)]
            status = STATUS[rng.randrange(100)]
            if n % 1_000_000 == 500_000:
                status = "anomaly"
            text = f'{{"v": {n % 1000 / 10}, "s": "{status}"}}'
            rows.append(
                (
                    n,
                    T0 * 1_000_000 + n * STEP_US,
                    n % 4,
                    "s2c",
                    topic,
                    n % 3,
                    0,
                    None,
                    text.encode(),
                    len(text),
                    "json",
                    text,
                )
            )
            texts.append((n, topic, text))
        db.execute("BEGIN")
        db.executemany("INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        db.executemany("INSERT INTO messages_fts (rowid, topic, text) VALUES (?,?,?)", texts)
        db.execute("COMMIT")
        if start // batch % 10 == 0:
            print(f"   {start + batch - 1:,} rows, {time.perf_counter() - started:.0f} s", flush=True)
    db.execute("PRAGMA optimize")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(path)
    return path


def timed(action: Callable[[], int], runs: int = 5) -> tuple[float, int]:
    times = []
    found = 0
    for _ in range(runs):
        started = time.perf_counter()
        found = action()
        times.append(time.perf_counter() - started)
    return median(times), found


def bench_queries(count: int) -> None:
    path = big_file(count)
    day = 86_400 * 1_000_000
    middle = T0 * 1_000_000 + count * STEP_US // 2
    print(
        f"-- queries over {count:,} messages ({path.stat().st_size / 1e9:.1f} GB), medians of 5 runs",
        flush=True,
    )
    with Recording(path) as recording:
        cases = [
            (
                "topic + 1 day",
                Query(topic="site/4/dev/2/temp", since_us=middle, until_us=middle + day),
                None,
                1.0,
            ),
            (
                "subtree site/4/# + 1 hour",
                Query(topic="site/4/#", since_us=middle, until_us=middle + day // 24),
                None,
                1.0,
            ),
            (
                "site/+/dev/7/temp + 1 day",
                Query(topic="site/+/dev/7/temp", since_us=middle, until_us=middle + day),
                None,
                1.0,
            ),
            ("text: rare word", Query(text="anomaly"), None, 2.0),
            ("text: 1% word, first 1,000", Query(text="overheat"), 1000, 2.0),
            ("text + subtree site/4/#", Query(topic="site/4/#", text="fault"), None, 2.0),
        ]
        for label, query, limit, target in cases:
            seconds, found = timed(lambda q=query, n=limit: sum(1 for _ in recording.search(q, limit=n)))
            verdict = "met" if seconds < target else "NOT met"
            print(
                f"{label:<30} {seconds * 1000:>9.1f} ms  {found:>7,} rows  "
                f"(target < {target:.0f} s: {verdict})",
                flush=True,
            )
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        seconds, found = timed(
            lambda: len(db.execute("SELECT id FROM messages WHERE text LIKE '%anomaly%'").fetchall()), runs=1
        )
        print(f"peer: rare word by LIKE scan     {seconds * 1000:>9.1f} ms  {found:>7,} rows", flush=True)
        db.close()


async def first_screen(path: Path) -> tuple[float, float]:
    from explorer.workspace import Workspace

    async with Workspace() as workspace:
        started = time.perf_counter()
        source = await workspace.open_file(path)
        stream = workspace.events()
        first = None
        async for batch in stream:
            if batch.changed and workspace.tree.topic_count:
                first = time.perf_counter() - started
                break
        await workspace.wait_loaded()
        total = time.perf_counter() - started
        assert source.loaded_messages == SCREEN, source.loaded_messages
        await stream.aclose()
    assert first is not None
    return first, total


def all_at_once(path: Path) -> float:
    started = time.perf_counter()
    tree = TopicTree()
    with Recording(path) as recording:
        for message in recording.search():
            tree.add_message(
                message.topic, message.payload, qos=message.qos, retain=message.retain, time=message.time
            )
    return time.perf_counter() - started


def bench_first_screen() -> None:
    path = big_file(SCREEN)
    print(
        f"-- first screen of a {SCREEN:,}-message recording in a Workspace, medians of {RUNS} runs",
        flush=True,
    )
    firsts = []
    totals = []
    for _ in range(RUNS):
        first, total = asyncio.run(first_screen(path))
        firsts.append(first)
        totals.append(total)
    verdict = "met" if median(firsts) < 2.0 else "NOT met"
    print(f"open_file -> first topics on screen: {median(firsts) * 1000:>8.0f} ms (target < 2 s: {verdict})")
    print(f"open_file -> whole file loaded:      {median(totals) * 1000:>8.0f} ms (in the background)")
    print(
        f"peer: every message into a TopicTree before showing anything: {all_at_once(path) * 1000:.0f} ms",
        flush=True,
    )


def capture_file(count: int) -> Path:
    """A pcapng of one MQTT-over-WebSocket connection carrying ``count`` PUBLISH packets
    (the stream of ``bench/decode.py``), cached in ``bench/.peers``."""
    from bench.decode import build_streams, write_pcapng

    PEERS.mkdir(exist_ok=True)
    path = PEERS / f"capture-{count // 1_000_000}M.pcapng"
    if not path.exists():
        print(f"   making {path} ({count:,} PUBLISH packets, once)...", flush=True)
        client, server, _ = build_streams(count)
        partial = PEERS / f"{path.name}.partial"
        write_pcapng(partial, client, server)
        partial.rename(path)
    return path


async def capture_screen(path: Path) -> tuple[float, float, int]:
    from explorer.workspace import Workspace

    async with Workspace() as workspace:
        started = time.perf_counter()
        source = await workspace.open_file(path)
        stream = workspace.events()
        first = None
        async for batch in stream:
            if batch.changed and workspace.tree.topic_count and len(workspace.trace):
                first = time.perf_counter() - started
                break
        await workspace.wait_loaded()
        total = time.perf_counter() - started
        await stream.aclose()
        loaded = source.loaded_messages
    assert first is not None
    return first, total, loaded


def bench_capture_screen() -> None:
    path = capture_file(SCREEN)
    size = path.stat().st_size / 1e6
    print(f"-- first screen of a {SCREEN:,}-message pcapng ({size:.0f} MB) in a Workspace, {RUNS} runs")
    firsts = []
    totals = []
    loaded = 0
    for _ in range(RUNS):
        first, total, loaded = asyncio.run(capture_screen(path))
        firsts.append(first)
        totals.append(total)
    verdict = "met" if median(firsts) < 2.0 else "NOT met"
    shown = median(firsts) * 1000
    print(f"open_file -> first topics and frames on screen: {shown:>8.0f} ms (target < 2 s: {verdict})")
    print(
        f"peer: the whole capture decoded first (what the first screen waits for without streaming): "
        f"{median(totals) * 1000:.0f} ms for {loaded:,} messages",
        flush=True,
    )


def main() -> None:
    from explorer.gcpolicy import tune_gc

    tune_gc()  # the collector's thresholds as the headless commands set them (the Workspace sets none)
    quick = "--quick" in sys.argv[1:]
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"SQLite {sqlite3.sqlite_version}"
    )
    bench_record()
    bench_queries(SCREEN if quick else BIG)
    bench_first_screen()
    bench_capture_screen()


if __name__ == "__main__":
    main()
