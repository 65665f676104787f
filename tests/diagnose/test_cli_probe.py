"""``mqttws-explorer probe``: exit status, JSON object, human layer walk, --explore."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker

ROOT = Path(__file__).resolve().parents[2]


async def _cli(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "explorer",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8", **(env or {})},
    )
    out, err = await process.communicate(stdin)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_json_names_the_wrong_path_and_explore_finds_mqtt() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        url = f"ws://127.0.0.1:{broker.ws_port}/ws"
        code, out, err = await _cli("probe", url, "--json", "--explore", "--handshake-timeout", "3")
    assert code == 1, err
    result = json.loads(out)
    assert set(result) >= {"ok", "layer", "cause", "explanation", "fix", "observed", "steps", "alternatives"}
    assert (result["ok"], result["layer"], result["cause"]) == (False, "http", "http-not-found")
    assert [step["layer"] for step in result["steps"]] == ["dns", "tcp", "http"]
    working = [alt["options_changed"]["url"] for alt in result["alternatives"] if alt["ok"]]
    assert working == [f"ws://127.0.0.1:{broker.ws_port}/mqtt"]


async def test_human_output_walks_the_layers_and_exits_zero_when_it_works() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        assert broker.ws_url is not None
        code, out, _ = await _cli("probe", broker.ws_url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"Probing {broker.ws_url}"
    marks = [line.split()[:2] for line in lines[1:7]]
    assert marks == [["✓", layer] for layer in ("dns", "tcp", "http", "websocket", "mqtt", "liveness")]
    assert lines[7].startswith("OK: Connected")


async def test_human_output_of_a_failure_shows_verdict_observed_and_fix() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        code, out, _ = await _cli("probe", f"ws://127.0.0.1:{broker.tcp_port}/mqtt")
    assert code == 1
    assert "✗ http" in out
    assert "FAILED at http: Native MQTT port [native-mqtt-port]" in out
    assert f"Fix: Use mqtt://127.0.0.1:{broker.tcp_port}" in out
    assert "Observed:" in out


async def test_bad_url_is_one_line_without_traceback() -> None:
    code, out, err = await _cli("probe", "localhost:1883")
    assert code == 1
    assert out == ""
    assert err.startswith("mqttws-explorer: ")
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


async def test_negative_idle_is_refused_with_a_sentence() -> None:
    code, _, err = await _cli("probe", "ws://127.0.0.1:1/mqtt", "--idle", "-1")
    assert code == 1
    assert "--idle" in err


async def test_password_never_appears_in_the_json() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        assert broker.ws_url is not None
        code, out, _ = await _cli(
            "probe", broker.ws_url, "--json", "-u", "probe", "--password-stdin", stdin=b"hunter2-secret\n"
        )
    assert code == 0, out
    assert "hunter2-secret" not in out


async def test_idle_not_shorter_than_keep_alive_is_refused() -> None:
    code, _, err = await _cli("probe", "ws://127.0.0.1:1/mqtt", "--idle", "30", "--keep-alive", "30")
    assert code == 1
    assert "shorter than the keep alive" in err
