"""``sub``, ``pub`` and ``trace`` against the embedded broker on loopback.

The broker runs in the test's event loop; each command runs through
``explorer.cli.main`` in a worker thread (it starts its own event loop, as from a
shell), or as a real subprocess where stdin, signals or the absence of a traceback
are what is tested.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.capture import read_capture
from explorer.cli import main
from explorer.cli.pub import parse_publish_properties
from explorer.errors import ExplorerError
from explorer.mqtt.packets import Properties

SECRET = "s3cr3t-pa55word-for-the-canary"


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral()) as server:
        yield server


def url(broker: Broker) -> str:
    assert broker.ws_url is not None
    return broker.ws_url


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def run_subprocess(*argv: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "explorer",
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_pub_then_sub_receives_the_retained_message(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli("pub", url(broker), "-t", "home/lamp", "-m", "on", "--qos", "1", "--retain") == 0
    assert await cli("sub", url(broker), "-t", "home/#", "-C", "1") == 0
    out = capsys.readouterr().out
    assert out.splitlines() == ["home/lamp [retained] on"]


async def test_sub_json_prints_one_object_per_message(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    await cli("pub", url(broker), "-t", "bin/x", "-m", "ignored", "-r")
    await cli("pub", url(broker), "-t", "txt/x", "-m", "héllo", "-r", "-q", "2")
    assert await cli("sub", url(broker), "-t", "txt/#", "-t", "bin/#", "-q", "2", "-C", "2", "--json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {row["topic"] for row in rows} == {"txt/x", "bin/x"}
    by_topic = {row["topic"]: row for row in rows}
    assert by_topic["txt/x"]["payload"] == "héllo"
    assert by_topic["txt/x"]["retain"] is True
    assert by_topic["txt/x"]["qos"] == 2  # published and subscribed at QoS 2
    assert abs(by_topic["txt/x"]["time"] - time.time()) < 600  # seconds since the epoch


async def test_pub_reads_the_payload_from_a_file(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\x00\x01\xfe\xff")
    assert await cli("pub", url(broker), "-t", "blob", "-f", str(path), "-r") == 0
    assert await cli("sub", url(broker), "-t", "blob", "-C", "1", "--json") == 0
    row = json.loads(capsys.readouterr().out)
    assert row["encoding"] == "base64"
    assert row["payload"] == "AAH+/w=="


async def test_pub_reads_the_payload_from_stdin(broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = await run_subprocess(
        "pub", url(broker), "-t", "stdin/t", "-f", "-", "-r", stdin=b"from stdin"
    )
    assert (code, err) == (0, "")
    assert await cli("sub", url(broker), "-t", "stdin/t", "-C", "1") == 0
    assert capsys.readouterr().out.strip() == "stdin/t [retained] from stdin"


async def test_pub_sends_mqtt5_properties(broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    code = await cli(
        "pub",
        url(broker),
        "--mqtt-version",
        "5",
        "-t",
        "v5/t",
        "-m",
        "{}",
        "-r",
        "--property",
        "content-type=application/json",
        "--property",
        "user:source=cli",
        "--property",
        "correlation-data=hex:0102",
    )
    assert code == 0
    assert await cli("sub", url(broker), "--mqtt-version", "5", "-t", "v5/t", "-C", "1", "--json") == 0
    row = json.loads(capsys.readouterr().out)
    assert row["properties"]["content_type"] == "application/json"
    assert row["properties"]["user_properties"] == [["source", "cli"]]
    assert row["properties"]["correlation_data"] == "0102"


async def test_sub_trace_shows_the_handshake_and_each_frame_with_its_packets(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    await cli("pub", url(broker), "-t", "tr/a", "-m", "1", "-r")
    assert await cli("sub", url(broker), "-t", "tr/#", "--trace", "-C", "1") == 0
    out = capsys.readouterr().out
    assert "c2s HTTP GET /mqtt" in out
    assert "s2c HTTP 101 Switching Protocols" in out
    assert "subprotocol: mqtt" in out
    assert re.search(r"c2s #0 binary FIN .*mask=[0-9a-f]{8}", out)
    assert "-> #0 CONNECT v3.1.1" in out
    assert "SUBACK id=1" in out
    assert "PUBLISH QoS0 tr/a 1 B retain" in out


async def test_sub_trace_json_gives_event_objects(broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    await cli("pub", url(broker), "-t", "tj/a", "-m", "1", "-r")
    assert await cli("sub", url(broker), "-t", "tj/#", "--trace", "--json", "-C", "1") == 0
    kinds = [json.loads(line)["kind"] for line in capsys.readouterr().out.splitlines()]
    assert kinds[:3] == ["state", "handshake_request", "handshake_response"]
    assert {"frame", "packet", "message"} <= set(kinds)


async def test_the_password_never_appears_in_output_or_exports(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANARY_PASSWORD", SECRET)
    await cli("pub", url(broker), "-t", "pw/a", "-m", "1", "-r")
    auth = ("--username", "alice", "--password-env", "CANARY_PASSWORD")
    assert await cli("sub", url(broker), *auth, "-t", "pw/#", "--trace", "-C", "1") == 0
    assert await cli("sub", url(broker), *auth, "-t", "pw/#", "--trace", "--json", "-C", "1") == 0
    for fmt in ("jsonl", "pcapng"):
        target = tmp_path / f"out.{fmt}"
        assert await cli("trace", url(broker), *auth, "-t", "pw/#", "-W", "0.2", "--export", str(target)) == 0
        assert SECRET.encode() not in target.read_bytes()
    captured = capsys.readouterr()
    assert "password=***" in captured.out
    assert SECRET not in captured.out + captured.err


async def test_trace_exports_jsonl_with_handshake_frames_and_packets(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "trace.jsonl"
    assert await cli("trace", url(broker), "-t", "x/#", "--duration", "0.2", "--export", str(target)) == 0
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    kinds = {row["kind"] for row in rows}
    assert {"handshake_request", "handshake_response", "frame", "packet", "state"} <= kinds
    packets = [row["packet"]["type"] for row in rows if row["kind"] == "packet"]
    assert packets[:4] == ["CONNECT", "CONNACK", "SUBSCRIBE", "SUBACK"]
    assert "DISCONNECT" in packets
    assert f"wrote {len(rows)} trace events to {target} (jsonl)" in capsys.readouterr().out


async def test_trace_exports_pcapng_that_our_reader_decodes(broker: Broker, tmp_path: Path) -> None:
    target = tmp_path / "trace.pcapng"
    assert await cli("trace", url(broker), "-t", "x/#", "-W", "0.2", "--export", str(target)) == 0
    capture = read_capture(target)
    assert len(capture.connections) == 1
    conn = capture.connections[0]
    assert conn.server.port == broker.ws_port
    first = b"".join(chunk.data for chunk in conn.chunks if chunk.direction == "c2s")
    assert first.startswith(b"GET /mqtt HTTP/1.1\r\n")


async def test_sub_stops_cleanly_on_ctrl_c(broker: Broker) -> None:
    await cli("pub", url(broker), "-t", "sig/a", "-m", "1", "-r")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "explorer",
        "sub",
        url(broker),
        "-t",
        "sig/#",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert line.decode().strip() == "sig/a [retained] 1"
    proc.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    assert err == b""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["pub", "{url}", "-t", "a/+", "-m", "x"], "invalid topic 'a/+'"),
        (["sub", "{url}", "-t", "a/#/b"], "invalid topic filter 'a/#/b'"),
        (["pub", "{url}", "-t", "a", "-m", "x", "--property", "content-type=x"], "--property needs MQTT 5"),
        (["pub", "{url}", "-t", "a", "-m", "x", "--property", "colour=red"], "unknown --property 'colour'"),
        (["pub", "{url}", "-t", "a", "-f", "/nonexistent/payload"], "cannot read /nonexistent/payload"),
        (["trace", "{url}", "--export", "out.txt"], "cannot tell the export format"),
        (["trace", "{url}", "--export", "/nonexistent/dir/out.jsonl"], "does not exist"),
        (["sub", "ws://127.0.0.1:{closed}/mqtt", "-t", "#"], "refused"),
        (["pub", "notaurl", "-t", "a", "-m", "x"], "not a broker URL"),
        (["pub", "{url}", "-t", "a", "-f", "-", "--password-stdin"], "both read standard input"),
    ],
)
async def test_failures_are_one_line_and_exit_non_zero(broker: Broker, argv: list[str], message: str) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    closed = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    args = [a.format(url=url(broker), closed=closed) for a in argv]
    code, out, err = await run_subprocess(*args)
    assert code == 1
    assert "Traceback" not in err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert out == ""


async def test_a_refused_subscription_is_reported(tmp_path: Path) -> None:
    acl = tmp_path / "acl"
    acl.write_text("topic read allowed/#\n")
    async with Broker(BrokerConfig.ephemeral(acl_file=acl)) as server:
        code, _, err = await run_subprocess("sub", url(server), "-t", "forbidden/#", "--mqtt-version", "5")
    assert code == 1
    assert "refused the subscription to 'forbidden/#'" in err


def test_publish_properties_parse_names_aliases_and_user_properties() -> None:
    props = parse_publish_properties(
        ["payload_format_indicator=1", "message-expiry=60", "response-topic=r/t", "user:a=b=c", "user:a=d"]
    )
    assert props == Properties(
        payload_format_indicator=1,
        message_expiry_interval=60,
        response_topic="r/t",
        user_properties=(("a", "b=c"), ("a", "d")),
    )
    with pytest.raises(ExplorerError, match="out of range"):
        parse_publish_properties(["topic-alias=70000"])
    with pytest.raises(ExplorerError, match="not a number"):
        parse_publish_properties(["message-expiry=soon"])
    with pytest.raises(ExplorerError, match="NAME=VALUE"):
        parse_publish_properties(["content-type"])


@pytest.mark.parametrize("name", ["sub", "pub", "trace"])
def test_each_command_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: mqttws-explorer {name}" in out
    assert "--subprotocol" in out  # the shared connection flags


async def test_sub_exits_non_zero_when_the_broker_goes_away() -> None:
    server = Broker(BrokerConfig.ephemeral())
    await server.start()
    try:
        await cli("pub", url(server), "-t", "gone/a", "-m", "1", "-r")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "explorer",
            "sub",
            url(server),
            "-t",
            "gone/#",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.decode().strip() == "gone/a [retained] 1"
    finally:
        await server.stop()
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    assert "connection ended" in err.decode()
    assert "Traceback" not in err.decode()
