"""``sub``/``trace``/``pub``: profile subscriptions, warnings on stderr, the end of a live trace."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from tests.cli.test_sub_pub_trace import cli, run_subprocess, url
from tests.keyring_support import config_dir

__all__ = ["config_dir"]


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral()) as server:
        yield server


async def test_sub_with_a_profile_and_no_topic_uses_the_profile_subscriptions(
    broker: Broker, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli("profiles", "add", "home", "--url", url(broker), "-t", "home/#", "-t", "garden/+") == 0
    await cli("pub", url(broker), "-t", "home/lamp", "-m", "on", "-r")
    await cli("pub", url(broker), "-t", "garden/tap", "-m", "off", "-r")
    capsys.readouterr()
    assert await cli("sub", "--profile", "home", "-C", "2") == 0
    assert sorted(capsys.readouterr().out.splitlines()) == [
        "garden/tap [retained] off",
        "home/lamp [retained] on",
    ]


async def test_trace_with_a_profile_and_no_topic_subscribes_to_the_profile_subscriptions(
    broker: Broker, config_dir: Path, tmp_path: Path
) -> None:
    assert await cli("profiles", "add", "home", "--url", url(broker), "-t", "home/#") == 0
    target = tmp_path / "t.jsonl"
    assert await cli("trace", "--profile", "home", "-W", "0.3", "--export", str(target)) == 0
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    subscribes = [
        row["packet"] for row in rows if row["kind"] == "packet" and row["packet"]["type"] == "SUBSCRIBE"
    ]
    assert len(subscribes) == 1
    assert "home/#" in json.dumps(subscribes[0])


async def test_sub_without_topic_and_profile_is_a_one_line_error(broker: Broker, config_dir: Path) -> None:
    code, out, err = await run_subprocess("sub", url(broker))
    assert code == 1
    assert err.strip().splitlines() == [
        "mqttws-explorer: give a topic filter with -t FILTER (or --profile NAME with subscriptions)"
    ]
    assert await cli("profiles", "add", "bare", "--url", url(broker)) == 0
    code, out, err = await run_subprocess("sub", "--profile", "bare")
    assert out == ""
    assert code == 1
    assert "profile 'bare' has no subscriptions" in err
    assert len(err.strip().splitlines()) == 1


async def test_sub_trace_ends_with_the_clients_disconnect_and_close_frames_on_count(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    await cli("pub", url(broker), "-t", "end/a", "-m", "1", "-r")
    capsys.readouterr()
    assert await cli("sub", url(broker), "-t", "end/#", "--trace", "-C", "1") == 0
    lines = capsys.readouterr().out.splitlines()
    after_publish = lines[next(i for i, line in enumerate(lines) if "PUBLISH QoS0 end/a" in line) :]
    assert any(line.strip().endswith("-> #2 DISCONNECT") for line in after_publish)
    assert any(re.search(r"c2s #\d+ close FIN .*close=1000", line) for line in after_publish)
    assert any(re.search(r"s2c #\d+ close FIN .*close=1000", line) for line in after_publish)


async def test_sub_trace_json_on_duration_holds_what_the_trace_export_holds(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert await cli("sub", url(broker), "-t", "end/#", "--trace", "--json", "-W", "0.3") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    packets = [row["packet"]["type"] for row in rows if row["kind"] == "packet"]
    assert packets == ["CONNECT", "CONNACK", "SUBSCRIBE", "SUBACK", "DISCONNECT"]
    closes = [row["dir"] for row in rows if row["kind"] == "frame" and row["opcode"] == 8]
    target = tmp_path / "same.jsonl"
    assert await cli("trace", url(broker), "-t", "end/#", "-W", "0.3", "--export", str(target)) == 0
    exported = [json.loads(line) for line in target.read_text().splitlines()]
    assert closes == [row["dir"] for row in exported if row["kind"] == "frame" and row["opcode"] == 8]
    assert closes == ["c2s", "s2c"]


@pytest.mark.parametrize("command", ["pub", "sub"])
async def test_a_subprotocol_the_server_did_not_echo_is_a_one_line_warning(command: str) -> None:
    async with Broker(BrokerConfig.ephemeral(faults=parse_faults(["no-subprotocol-echo"]))) as server:
        await cli("pub", url(server), "-t", "echo/a", "-m", "1", "-r")
        if command == "pub":
            code, out, err = await run_subprocess("pub", url(server), "-t", "echo/b", "-m", "2")
        else:
            code, out, err = await run_subprocess("sub", url(server), "-t", "echo/a", "-C", "1")
            assert out == "echo/a [retained] 1\n"
    assert code == 0
    assert err.splitlines() == [
        "mqttws-explorer: warning: the server did not echo any of the offered subprotocols (mqtt); "
        "browsers refuse this"
    ]


@pytest.mark.parametrize("command", ["pub", "sub"])
async def test_an_echoed_subprotocol_gives_no_warning(broker: Broker, command: str) -> None:
    await cli("pub", url(broker), "-t", "echo/a", "-m", "1", "-r")
    if command == "pub":
        code, _, err = await run_subprocess("pub", url(broker), "-t", "echo/b", "-m", "2")
    else:
        code, _, err = await run_subprocess("sub", url(broker), "-t", "echo/a", "-C", "1")
    assert (code, err) == (0, "")
