"""Workspace models, batching and intents.

Ingest and batching are driven with trace events made here (the Workspace is the sink
of the client's events, so this is exactly its input); connection intents run against
the embedded broker over real loopback sockets.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from explorer.client.options import ConnectionOptions
from explorer.errors import ConnectionFailed, ExplorerError
from explorer.model.events import ErrorReported, HandshakeResponse, MessageReceived, PacketEvent, StateChanged
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack, Connect, Pingreq, Pingresp, Properties, Publish
from explorer.workspace import Batch, SavedMessage, SavedMessages, Workspace


class FakeClock:
    """An injected clock: time moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def message(ws: Workspace, topic: str, payload: bytes, **kw: object) -> MessageReceived:
    return MessageReceived(
        seq=ws.next_seq(),
        time=float(kw.pop("time", 0.0)),  # type: ignore[arg-type]
        conn=0,
        topic=topic,
        payload=payload,
        qos=int(kw.pop("qos", 0)),  # type: ignore[call-overload]
        retain=bool(kw.pop("retain", False)),
        packet=kw.pop("packet", None),  # type: ignore[arg-type]
    )


def packet_event(ws: Workspace, direction: str, packet: object, time: float) -> PacketEvent:
    return PacketEvent(
        seq=ws.next_seq(),
        time=time,
        conn=0,
        direction=direction,  # type: ignore[arg-type]
        packet_no=0,
        stream_offset=0,
        packet=packet,  # type: ignore[arg-type]
        raw=b"",
        frames=(),
    )


@pytest.fixture
async def ws(tmp_path: Path) -> AsyncIterator[Workspace]:
    workspace = Workspace(clock=FakeClock(), config_dir=tmp_path)
    yield workspace
    await workspace.close()


async def test_messages_land_in_the_tree_at_once_and_stay_out_of_the_trace(ws: Workspace) -> None:
    props = Properties(content_type="application/json")
    publish = Publish(topic="a/b", payload=b"{}", qos=1, packet_id=3, properties=props)
    ws.ingest(message(ws, "a/b", b"{}", qos=1, retain=True, packet=publish, time=5.0))
    ws.ingest(message(ws, "a/c", b"2"))
    node = ws.tree.find("a/b")
    assert node is not None
    last = node.last
    assert last is not None
    assert (last.payload, last.qos, last.retain, last.time, last.properties) == (b"{}", 1, True, 5.0, props)
    assert node.retained
    assert len(ws.trace) == 0  # the PUBLISH packet events are the trace; messages are the tree
    assert ws.status.messages == 2
    assert ws.status.topics == 2


async def test_first_batch_comes_at_once_with_the_status(ws: Workspace) -> None:
    stream = ws.events()
    batch = await anext(stream)
    assert isinstance(batch, Batch)
    assert batch.events == ()
    assert batch.status.state == "idle"
    assert batch.status.trace_limit == 100_000
    assert batch.status.history_count == 100
    assert batch.status.history_kept_bytes == 0
    assert batch.status.history_total_bytes == 256 * 1024 * 1024
    await stream.aclose()


async def test_batches_coalesce_events_messages_and_changed_nodes(ws: Workspace) -> None:
    stream = ws.events(max_rate_hz=1000)
    await anext(stream)
    for i in range(50):
        ws.ingest(message(ws, "t/one", str(i).encode()))
    ws.ingest(message(ws, "t/two", b"x"))
    error = ErrorReported(seq=ws.next_seq(), time=0.0, conn=0, direction="s2c", layer="mqtt", message="bad")
    ws.ingest(error)
    batch = await anext(stream)
    assert len(batch.events) == 52
    assert len(batch.messages) == 51
    assert batch.errors == (error,)
    assert sorted(node.topic for node in batch.changed) == ["t/one", "t/two"]
    assert batch.dropped == 0
    assert batch.status.messages == 51
    await stream.aclose()


async def test_a_duty_cycle_spaces_batches_by_the_views_work(ws: Workspace) -> None:
    """With duty 0.25, a view that works 40 ms on a batch gets the next one no sooner
    than 160 ms after it started, and everything arriving meanwhile joins that batch."""
    loop = asyncio.get_running_loop()
    stream = ws.events(max_rate_hz=1000, duty=0.25)
    await anext(stream)
    ws.ingest(message(ws, "t/a", b"0"))
    await anext(stream)
    started = loop.time()
    await asyncio.sleep(0.04)  # the view's work on the batch
    for i in range(30):
        ws.ingest(message(ws, "t/a", str(i).encode()))
        await asyncio.sleep(0.002)
    batch = await anext(stream)
    assert loop.time() - started >= 0.16
    assert len(batch.messages) == 30
    await stream.aclose()


async def test_duty_must_be_a_share(ws: Workspace) -> None:
    for duty in (0.0, 1.5):
        stream = ws.events(duty=duty)
        with pytest.raises(ValueError, match="duty"):
            await anext(stream)


async def test_a_slow_subscriber_gets_the_newest_events_and_a_drop_count(tmp_path: Path) -> None:
    ws = Workspace(clock=FakeClock(), config_dir=tmp_path, batch_capacity=10)
    try:
        stream = ws.events(max_rate_hz=1000)
        await anext(stream)
        sent = [message(ws, f"t/{i}", b"x") for i in range(25)]
        ws.ingest_many(sent)
        batch = await anext(stream)
        assert list(batch.events) == sent[-10:]
        assert batch.dropped == 15
        assert len(batch.changed) == 25  # the tree itself lost nothing
        assert ws.tree.message_count == 25
    finally:
        await ws.close()


async def test_each_subscriber_has_its_own_window(ws: Workspace) -> None:
    first = ws.events(max_rate_hz=1000)
    second = ws.events(max_rate_hz=1000, max_events=2)
    await anext(first)
    await anext(second)
    ws.ingest_many([message(ws, "x", b"1"), message(ws, "y", b"2"), message(ws, "z", b"3")])
    a = await anext(first)
    b = await anext(second)
    assert len(a.events) == 3
    assert a.dropped == 0
    assert [e.topic for e in b.messages] == ["y", "z"]
    assert b.dropped == 1
    await first.aclose()
    await second.aclose()


async def test_close_ends_every_event_stream(tmp_path: Path) -> None:
    ws = Workspace(config_dir=tmp_path)
    stream = ws.events()
    await anext(stream)
    collected: list[Batch] = []

    async def drain() -> None:
        collected.extend([batch async for batch in stream])

    task = asyncio.create_task(drain())
    await ws.close()
    await asyncio.wait_for(task, 5)
    assert task.done()
    assert task.exception() is None


async def test_status_follows_handshake_connect_and_ping_events(ws: Workspace) -> None:
    clock = ws.clock
    assert isinstance(clock, FakeClock)
    ws.ingest(
        HandshakeResponse(
            seq=ws.next_seq(),
            time=1.0,
            conn=0,
            raw=b"",
            status=101,
            reason="Switching Protocols",
            headers=(),
            subprotocol="mqtt",
        )
    )
    ws.ingest(packet_event(ws, "c2s", Connect(protocol_version=ProtocolVersion.V5, client_id="me"), 1.0))
    ws.ingest(packet_event(ws, "s2c", Connack(), 1.004))
    ws.ingest(StateChanged(seq=ws.next_seq(), time=1.0, conn=0, state="connected"))
    status = ws.status
    assert status.subprotocol == "mqtt"
    assert status.mqtt_version == "5.0"
    assert status.client_id == "me"
    assert status.state == "connected"
    assert status.rtt_ms == pytest.approx(4.0)
    ws.ingest(packet_event(ws, "c2s", Pingreq(), 10.0))
    ws.ingest(packet_event(ws, "s2c", Pingresp(), 10.025))
    assert ws.status.rtt_ms == pytest.approx(25.0)


async def test_messages_per_second_uses_the_injected_clock(ws: Workspace) -> None:
    clock = ws.clock
    assert isinstance(clock, FakeClock)
    assert ws.status.msgs_per_s == 0.0
    for _ in range(30):
        ws.ingest(message(ws, "r", b"1"))
    clock.now += 0.5
    assert ws.status.msgs_per_s == pytest.approx(60.0)
    clock.now += 10.0
    ws.status  # noqa: B018 - a sample at the new time
    clock.now += 1.0
    assert ws.status.msgs_per_s == 0.0


async def test_trace_limit_counts_dropped_events(tmp_path: Path) -> None:
    ws = Workspace(config_dir=tmp_path, trace_limit=5)
    try:
        for _ in range(8):
            ws.ingest(StateChanged(seq=0, time=0.0, conn=0, state="connecting"))
            ws.ingest(message(ws, "t", b"x"))
        status = ws.status
        assert status.trace_size == 5
        assert status.dropped_events == 3
        assert ws.tree.message_count == 8
        seqs = [event.seq for event in ws.trace]
        assert seqs == [6, 8, 10, 12, 14]  # renumbered in arrival order, messages included
    finally:
        await ws.close()


async def test_intents_without_a_connection_fail_with_a_sentence(ws: Workspace) -> None:
    with pytest.raises(ConnectionFailed, match="not connected"):
        await ws.subscribe("#")
    with pytest.raises(ConnectionFailed, match="not connected"):
        await ws.publish("t", b"x")
    await ws.disconnect()  # harmless when not connected


async def test_export_messages_as_jsonl_and_csv_round_trips_payloads(ws: Workspace, tmp_path: Path) -> None:
    ws.ingest(message(ws, "b/text", b'hello, "world"\n', time=2.0))
    ws.ingest(message(ws, "a/bin", b"\xff\x00", qos=1, retain=True, time=1.0))
    jsonl = tmp_path / "m.jsonl"
    assert ws.export_messages(jsonl, "jsonl") == 2
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["topic"] for r in rows] == ["a/bin", "b/text"]  # oldest first
    assert rows[0]["time"] == pytest.approx(ws.wall_time(1.0))  # seconds since the epoch
    assert rows[1]["time"] - rows[0]["time"] == pytest.approx(1.0)
    assert rows[0]["encoding"] == "base64"
    assert rows[0]["payload"] == "/wA="
    assert rows[1]["payload"] == 'hello, "world"\n'
    path = tmp_path / "m.csv"
    assert ws.export_messages(path, "csv") == 2
    with path.open(newline="") as handle:
        records = list(csv.DictReader(handle))
    assert records[1]["payload"] == 'hello, "world"\n'
    assert records[0]["retain"] == "1"
    with pytest.raises(ExplorerError, match="unknown message export format"):
        ws.export_messages(path, "xml")  # type: ignore[arg-type]


async def test_saved_messages_persist_in_the_config_dir(ws: Workspace, tmp_path: Path) -> None:
    ws.saved_messages.save(SavedMessage(name="lamp on", topic="home/lamp/set", payload=b"ON", qos=1))
    ws.saved_messages.save(SavedMessage(name="blob", topic="b", payload=b"\x00\xff", retain=True))
    again = SavedMessages(tmp_path / "saved_messages.json")
    assert [m.name for m in again] == ["blob", "lamp on"]
    assert again.get("blob").payload == b"\x00\xff"
    assert again.get("lamp on").qos == 1
    again.remove("blob")
    assert "blob" not in SavedMessages(tmp_path / "saved_messages.json")
    with pytest.raises(ExplorerError, match="no saved message"):
        again.get("blob")


async def test_a_corrupt_saved_messages_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "saved_messages.json"
    path.write_text('[{"name": "x", "topic": "t", "qos": 7}]')
    with pytest.raises(ExplorerError, match="QoS 7"):
        list(SavedMessages(path))


async def test_connect_failure_raises_and_reports_an_error_event(ws: Workspace) -> None:
    stream = ws.events(max_rate_hz=1000)
    await anext(stream)
    # A port nobody listens on: bind one and close it so the connect is refused.
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(ConnectionFailed):
        await ws.connect(ConnectionOptions(url=f"ws://127.0.0.1:{port}/mqtt", connect_timeout=5))
    batch = await anext(stream)
    assert batch.errors
    assert batch.status.state == "failed"
    assert ws.status.last_error is not None
    await stream.aclose()


async def _until(stream: AsyncIterator[Batch], condition: object) -> Batch:
    """Read batches until ``condition(batch)`` holds (bounded by a generous timeout)."""

    async def read() -> Batch:
        async for batch in stream:
            if condition(batch):  # type: ignore[operator]
                return batch
        raise AssertionError("the event stream ended")

    return await asyncio.wait_for(read(), 10)


async def test_embedded_broker_round_trip_through_the_models(ws: Workspace, tmp_path: Path) -> None:
    options = await ws.start_embedded(demo=False)
    assert options.url.startswith("ws://127.0.0.1:")
    stream = ws.events(max_rate_hz=200)
    await anext(stream)
    await ws.connect(options)
    assert ws.status.state == "connected"
    assert ws.status.embedded
    assert await ws.subscribe("home/#", qos=1) == [1]
    assert ws.subscriptions == {"home/#": 1}
    await ws.publish("home/lamp", b"on", qos=1, retain=True)
    await ws.publish("home/temp", b"21.5", qos=0)
    batch = await _until(stream, lambda b: ws.tree.find("home/temp") is not None)
    lamp = ws.tree.find("home/lamp")
    assert lamp is not None
    assert lamp.last is not None
    assert lamp.last.payload == b"on"
    assert batch.status.subprotocol == "mqtt"
    assert batch.status.mqtt_version == "5.0"

    jsonl = tmp_path / "trace.jsonl"
    written = ws.export_trace(jsonl, "jsonl")
    assert written == len(ws.trace)
    kinds = {json.loads(line).get("kind") for line in jsonl.read_text().splitlines()}
    assert {"handshake_request", "handshake_response", "frame", "packet", "state"} <= kinds
    pcap = tmp_path / "trace.pcapng"
    ws.export_trace(pcap)
    assert pcap.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"  # pcapng Section Header Block
    with pytest.raises(ExplorerError, match="unknown trace export format"):
        ws.export_trace(pcap, "pcap")  # type: ignore[arg-type]

    await ws.unsubscribe("home/#")
    assert ws.subscriptions == {}
    await ws.disconnect()
    assert ws.status.state in ("closed", "disconnected")


async def test_clear_retained_empties_a_subtree_on_the_broker(ws: Workspace) -> None:
    options = await ws.start_embedded(demo=False)
    await ws.connect(options)
    await ws.subscribe("plant/#", qos=1)
    stream = ws.events(max_rate_hz=200)
    await anext(stream)
    for topic in ("plant/a", "plant/b/c", "plant/b/d"):
        await ws.publish(topic, b"1", qos=1, retain=True)
    # Reconnect so the broker replays the retained messages with the retain flag set.
    await ws.disconnect()
    await ws.connect(options)
    await ws.subscribe("plant/#", qos=1)
    await _until(stream, lambda b: sum(n.retained for n in ws.tree.topics()) == 3)
    assert await ws.clear_retained("plant/b/#") == 2
    assert [n.topic for n in ws.tree.topics() if n.retained] == ["plant/a"]
    # A fresh subscriber sees only the retained message that is left.
    await ws.disconnect()
    ws.tree.clear()
    await ws.connect(options)
    await ws.subscribe("plant/#", qos=1)
    await ws.publish("plant/zz", b"marker", qos=1)
    await _until(stream, lambda b: ws.tree.find("plant/zz") is not None)
    assert sorted(n.topic for n in ws.tree.topics()) == ["plant/a", "plant/zz"]
    assert await ws.clear_retained("nothing/here") == 0


async def test_embedded_demo_traffic_reaches_the_tree(ws: Workspace) -> None:
    options = await ws.start_embedded(demo=True)
    await ws.connect(options)
    await ws.subscribe("#")
    stream = ws.events(max_rate_hz=200)
    batch = await _until(stream, lambda b: b.messages)
    assert batch.changed
    assert ws.tree.message_count >= 1


async def test_reconnecting_keeps_sequence_numbers_increasing(ws: Workspace) -> None:
    options = await ws.start_embedded(demo=False)
    await ws.connect(options)
    await ws.disconnect()
    await ws.connect(options)
    await ws.disconnect()
    seqs = [event.seq for event in ws.trace]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    conns = {event.conn for event in ws.trace}
    assert conns == {0, 1}


async def test_cancelling_a_view_task_ends_its_event_stream(ws: Workspace) -> None:
    started = asyncio.Event()

    async def view() -> None:
        async for _batch in ws.events(max_rate_hz=1000):
            started.set()

    task = asyncio.create_task(view())
    await asyncio.wait_for(started.wait(), 5)
    ws.ingest(message(ws, "t", b"1"))  # a wake-up is pending when the cancellation lands
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert ws._fanout.subscribers == []


async def test_a_connection_dropped_by_the_broker_shows_in_the_status(tmp_path: Path) -> None:
    ws = Workspace(config_dir=tmp_path)
    try:
        options = await ws.start_embedded(demo=False)
        stream = ws.events(max_rate_hz=200)
        await anext(stream)
        await ws.connect(options)
        broker = ws.broker
        assert broker is not None
        await broker.stop()
        batch = await _until(stream, lambda b: b.status.state == "closed")
        assert batch.status.detail
    finally:
        await ws.close()


async def test_profiles_and_saved_messages_share_the_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from explorer.profiles.secret_store import MemorySecretStore

    monkeypatch.setenv("MQTTWS_CONFIG_DIR", str(tmp_path))
    secrets = MemorySecretStore()
    async with Workspace(secret_store=secrets) as ws:
        assert ws.profiles.path == tmp_path / "profiles.toml"
        assert ws.profiles.secrets is secrets
        ws.saved_messages.save(SavedMessage(name="n", topic="t"))
    assert (tmp_path / "saved_messages.json").exists()
