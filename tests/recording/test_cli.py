"""``record``, ``search``, ``stats`` and ``replay`` against the embedded broker on loopback.

``record`` runs as a real subprocess (the user's Ctrl-C ends it); paho-mqtt publishes
MQTT 5 messages with properties into broker A. The recording is then searched, counted
against the truth the test keeps, and replayed into broker B, where a paho-mqtt
subscriber checks every message byte for byte: topic, payload, QoS, retain, properties.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.cli import main
from explorer.recording import Recording
from tests.broker.paho_helper import Paho
from tests.reference import SMALL_PCAPNG, needs_reference

CANARY = "canary-pa55word-never-in-a-recording"
HEADER_CANARY = "canary-bearer-token-never-in-a-recording"


@dataclass(frozen=True)
class Sent:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    props: dict[str, Any]


def published() -> list[Sent]:
    """What the test publishes: several topics and subtrees, every QoS, retained ones, properties."""
    out = []
    for n in range(40):
        topic = ["rec/home/kitchen/temp", "rec/home/hall/temp", "rec/garage/door", "rec/bin"][n % 4]
        payload = f'{{"n": {n}, "word": "w{n}"}}'.encode() if topic != "rec/bin" else bytes([n, 0, 255, n])
        props: dict[str, Any] = {}
        if n % 3 == 0:
            props = {
                "ContentType": "application/json",
                "UserProperty": [("k", f"v{n}"), ("k", "again")],
                "CorrelationData": bytes([n, 1, 2]),
                "ResponseTopic": "reply/to",
                "PayloadFormatIndicator": 1 if topic != "rec/bin" else 0,
            }
        out.append(Sent(topic, payload, n % 3, n % 10 == 0, props))
    out.append(Sent("rec/unique", b"a payload with the needle zanzibar inside", 1, False, {}))
    return out


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as server:
        yield server


async def until(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Wait for a condition the test cannot be told about (another process's progress)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def subscribed(broker: Broker, topic_filter: str) -> bool:
    return any(topic_filter in session.subscriptions for session in broker.state.sessions.values())


def count(path: Path) -> int:
    if not path.exists():
        return 0
    with Recording(path) as recording:
        return recording.message_count()


def ws_port(broker: Broker) -> int:
    assert broker.ws_url is not None
    return int(broker.ws_url.rsplit(":", 1)[1].split("/", 1)[0])


async def record_into(broker: Broker, path: Path, sent: list[Sent]) -> tuple[int, str, str]:
    """Run ``record`` as a subprocess, publish ``sent`` with paho, stop it with SIGINT."""
    assert broker.ws_url is not None
    env = {**os.environ, "REC_PASSWORD": CANARY}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "explorer",
        "record",
        broker.ws_url,
        "-t",
        "rec/#",
        "--out",
        str(path),
        "--mqtt-version",
        "5",
        "--frames",
        "--username",
        "recorder",
        "--password-env",
        "REC_PASSWORD",
        "--secret-header",
        f"Authorization: Bearer {HEADER_CANARY}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        await until(lambda: subscribed(broker, "rec/#"), "the recorder subscribed")
        publisher = Paho(ws_port(broker), websocket=True, protocol=mqtt.MQTTv5)
        await asyncio.to_thread(publisher.connect)
        for item in sent:
            await asyncio.to_thread(
                publisher.publish, item.topic, item.payload, item.qos, item.retain, **item.props
            )
        await asyncio.to_thread(publisher.stop)
        await until(lambda: count(path) == len(sent), "every message recorded")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def paho_props(message: mqtt.MQTTMessage) -> dict[str, Any]:
    props = getattr(message, "properties", None)
    if props is None:
        return {}
    out: dict[str, Any] = {}
    for name in ("ContentType", "CorrelationData", "ResponseTopic", "PayloadFormatIndicator"):
        if hasattr(props, name):
            out[name] = getattr(props, name)
    if hasattr(props, "UserProperty"):
        out["UserProperty"] = list(props.UserProperty)
    return out


async def test_record_search_stats_and_replay_end_to_end(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "session.sqlite"
    sent = published()
    code, out, err = await record_into(broker, path, sent)
    assert code == 0, err
    assert out.strip().startswith(f"recorded {len(sent)} messages from {broker.ws_url} in ")
    assert "Traceback" not in err

    # Every message as published, in order, with QoS, retain (Retain As Published) and properties.
    with Recording(path) as recording:
        rows = list(recording.search())
        assert [(r.topic, r.payload, r.qos, r.retain) for r in rows] == [
            (s.topic, s.payload, s.qos, s.retain) for s in sent
        ]
        with_props = [r for r, s in zip(rows, sent, strict=True) if s.props]
        assert all(r.properties.content_type == "application/json" for r in with_props)
        (connection,) = recording.connections()
        assert connection.status == 101
        assert connection.mqtt_version == "5.0"
        assert connection.request is not None
        assert b"\r\nAuthorization: Bearer ***" in connection.request  # the scheme is no secret
        assert connection.source == broker.ws_url
        assert recording.event_count() > 0
    raw = path.read_bytes() + (Path(f"{path}-wal").read_bytes() if Path(f"{path}-wal").exists() else b"")
    assert CANARY.encode() not in raw
    assert HEADER_CANARY.encode() not in raw

    # search: a word in one payload, then topic wildcards against the truth.
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["search", str(path), "--text", "zanzibar", "--json"]) == 0
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(row["topic"], row["payload"]) for row in found] == [
        ("rec/unique", "a payload with the needle zanzibar inside")
    ]
    assert await asyncio.to_thread(main, ["search", str(path), "-t", "rec/home/+/temp", "--json"]) == 0
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(found) == sum(1 for s in sent if s.topic.startswith("rec/home/"))
    assert await asyncio.to_thread(main, ["search", str(path), "--text", "nowhere-to-be-found"]) == 1

    # stats: every topic and subtree against counts kept here.
    assert await asyncio.to_thread(main, ["stats", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows_by_name = {row["name"]: row for row in report["rows"]}
    truth: dict[str, list[int]] = {}
    retained: dict[str, int] = {}
    for s in sent:
        levels = s.topic.split("/")
        names = [s.topic] + [("/".join(levels[:d]) + "/#") for d in range(1, len(levels))]
        for name in names:
            entry = truth.setdefault(name, [0, 0])
            entry[0] += 1
            entry[1] += len(s.payload)
        if s.retain:
            retained[s.topic] = len(s.payload)
    for name, (messages, size) in truth.items():
        if name.endswith("/#") and name not in rows_by_name:
            continue  # a subtree with one topic repeats the topic's row
        assert (rows_by_name[name]["messages"], rows_by_name[name]["bytes"]) == (messages, size), name
    for topic, size in retained.items():
        assert (rows_by_name[topic]["retained"], rows_by_name[topic]["retained_bytes"]) == (1, size)
    assert rows_by_name["rec/#"]["retained"] == len(retained)
    assert report["messages"] == len(sent)
    assert report["rows"][0]["name"] == "rec/#"  # the busiest first

    # replay into a second broker, checked byte for byte by a paho-mqtt subscriber.
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as second:
        subscriber = Paho(ws_port(second), websocket=True, protocol=mqtt.MQTTv5)
        await asyncio.to_thread(subscriber.connect)
        await asyncio.to_thread(subscriber.subscribe, "copy/#", 2, retainAsPublished=True)
        assert second.ws_url is not None
        code = await asyncio.to_thread(
            main, ["replay", str(path), second.ws_url, "--topic-prefix", "copy/", "--max-rate", "2000"]
        )
        assert code == 0
        summary = capsys.readouterr().out.strip()
        needs_ack = sum(1 for s in sent if s.qos)
        assert summary.endswith(
            f"sent {len(sent)}, acknowledged {needs_ack} of {needs_ack} (QoS 1/2), failed 0"
        ), summary
        got = [await asyncio.to_thread(subscriber.get) for _ in sent]
        assert subscriber.nothing_pending()
        await asyncio.to_thread(subscriber.stop)
    # paho hands a QoS 2 message over at PUBREL, one round trip after the PUBLISH, so the
    # order it shows is exact within each QoS level.
    for qos in (0, 1, 2):
        assert [m.payload for m in got if m.qos == qos] == [s.payload for s in sent if s.qos == qos]
    got.sort(key=lambda m: [s.payload for s in sent].index(m.payload))
    for message, s in zip(got, sent, strict=True):
        assert (message.topic, message.payload, message.qos, bool(message.retain)) == (
            "copy/" + s.topic,
            s.payload,
            s.qos,
            s.retain,
        )
        assert paho_props(message) == s.props


async def test_record_refuses_an_existing_file_and_keeps_it(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "exists.sqlite"
    path.write_bytes(b"keep me")
    assert broker.ws_url is not None
    code = await asyncio.to_thread(
        main, ["record", broker.ws_url, "-t", "#", "--out", str(path), "--duration", "1"]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"mqttws-explorer: {path} already exists: choose another file name (a recording never overwrites)"
    ]
    assert path.read_bytes() == b"keep me"


@needs_reference()
async def test_search_and_stats_read_a_capture(capsys: pytest.CaptureFixture[str]) -> None:
    capture = SMALL_PCAPNG
    assert await asyncio.to_thread(main, ["search", str(capture), "-t", "sensors/#", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(row["topic"], row["direction"]) for row in rows} >= {
        ("sensors/temp", "c2s"),
        ("sensors/temp", "s2c"),
    }
    assert await asyncio.to_thread(main, ["stats", str(capture), "--json", "--topics-only"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {row["name"] for row in report["rows"]} >= {"sensors/temp", "v5/data", "status/paho"}


async def test_search_of_a_file_that_is_not_a_recording_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a recording\n")
    assert await asyncio.to_thread(main, ["search", str(path)]) == 1
    assert capsys.readouterr().err == f"mqttws-explorer: {path} is not a recording (not an SQLite file)\n"
    assert await asyncio.to_thread(main, ["search", str(path), "--since", "yesterday-ish"]) == 1
    assert "is not a time" in capsys.readouterr().err


async def test_stats_of_a_live_broker_counts_what_it_receives(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    assert broker.ws_url is not None
    publisher = Paho(ws_port(broker), websocket=True, protocol=mqtt.MQTTv5)
    await asyncio.to_thread(publisher.connect)
    for topic, payload in (("live/a", b"12345"), ("live/b/x", b"1"), ("live/b/y", b"22")):
        await asyncio.to_thread(publisher.publish, topic, payload, 1, True)
    await asyncio.to_thread(publisher.stop)
    # The retained messages arrive at once on subscribing; the command counts for 2 s.
    code = await asyncio.to_thread(
        main, ["stats", broker.ws_url, "-t", "live/#", "--duration", "2", "--json"]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in report["rows"]}
    assert (rows["live/a"]["messages"], rows["live/a"]["bytes"], rows["live/a"]["retained_bytes"]) == (
        1,
        5,
        5,
    )
    assert (rows["live/b/#"]["messages"], rows["live/b/#"]["bytes"], rows["live/b/#"]["topics"]) == (2, 3, 2)
    assert report["messages"] == 3


async def test_record_killed_with_sigkill_leaves_a_file_search_reads(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "killed.sqlite"
    assert broker.ws_url is not None
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "explorer",
        "record",
        broker.ws_url,
        "-t",
        "kill/#",
        "--out",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    publisher = Paho(ws_port(broker), websocket=True)
    try:
        await until(lambda: subscribed(broker, "kill/#"), "the recorder subscribed")
        await asyncio.to_thread(publisher.connect)
        sent = 0
        while count(path) < 500:  # keep publishing until the recorder has committed 500
            for _ in range(100):
                await asyncio.to_thread(publisher.publish, f"kill/{sent % 5}", f"message {sent}".encode())
                sent += 1
        proc.send_signal(signal.SIGKILL)  # in the middle of a session that goes on
        await proc.communicate()
    finally:
        await asyncio.to_thread(publisher.stop)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert await asyncio.to_thread(main, ["search", str(path), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) >= 500
    assert [row["payload"] for row in rows] == [f"message {n}" for n in range(len(rows))]


async def test_search_finds_a_word_inside_a_msgpack_payload_and_shows_it_decoded(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import msgpack

    path = tmp_path / "packed.sqlite"
    packed = msgpack.packb({"meter": "ampere-gauge", "value": 12.5})
    sent = [Sent("rec/packed", packed, 1, False, {}), Sent("rec/plain", b"nothing here", 1, False, {})]
    code, _out, err = await record_into(broker, path, sent)
    assert code == 0, err
    capsys.readouterr()
    assert main(["search", str(path), "--text", "ampere"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert "rec/packed [msgpack]" in lines[0]
    assert '"meter": "ampere-gauge"' in lines[0]
    assert main(["search", str(path), "--text", "ampere", "--json"]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["codec"] == "msgpack"
    assert "ampere-gauge" in row["decoded_text"]
    assert row["encoding"] == "base64"  # the raw bytes stay beside the decoded text
