"""``sub --reconnect`` says what an outage cost; ``pub`` QoS 0 does not claim a dropped message.

The broker is the embedded one, in process, stopped and started again on the same
port; the commands run as child processes and are read line by line, so each step
waits for what the command printed, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.cli.pub import UNANNOUNCED_LIMIT_WARNING

ROOT = Path(__file__).parent.parent.parent
TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@asynccontextmanager
async def _broker(port: int, **config: object) -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(ws_port=port, tcp_port=None, **config)) as running:
        yield running


async def _spawn(*argv: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "explorer",
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ},
    )


async def _line_with(stream: asyncio.StreamReader | None, text: str, seen: list[str]) -> str:
    assert stream is not None
    while True:
        raw = await asyncio.wait_for(stream.readline(), timeout=TIMEOUT)
        assert raw, f"ended before a line with {text!r}; saw {seen}"
        line = raw.decode()
        seen.append(line)
        if text in line:
            return line


async def _run(*argv: str) -> tuple[int, str, str]:
    child = await _spawn(*argv)
    out, err = await asyncio.wait_for(child.communicate(), timeout=TIMEOUT)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


@pytest.mark.slow
async def test_sub_reconnect_reports_the_gap_on_stderr_and_in_json() -> None:
    port = _free_port()
    url = f"ws://127.0.0.1:{port}/mqtt"
    async with _broker(port):
        child = await _spawn("sub", url, "-t", "gap/#", "--reconnect", "--json")
        seen: list[str] = []
        code, _, err = await _run("pub", url, "-t", "gap/before", "-m", "one", "-r")
        assert code == 0, err
        await _line_with(child.stdout, '"gap/before"', seen)
    # the broker is gone; a new one comes up on the same port
    async with _broker(port):
        notice = await _line_with(child.stderr, "reconnected after", seen)
        assert "s offline (" in notice
        assert "messages published meanwhile are lost (clean session" in notice
        marker = json.loads(await _line_with(child.stdout, '"gap"', seen))["gap"]
        assert marker["seconds"] > 0
        assert marker["end"] > marker["start"]
        assert marker["session_present"] is False
        assert marker["reason"]
        # still subscribed after the gap
        code, _, err = await _run("pub", url, "-t", "gap/after", "-m", "two")
        assert code == 0, err
        await _line_with(child.stdout, '"gap/after"', seen)
        child.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(child.wait(), timeout=TIMEOUT) == 0


@pytest.mark.slow
async def test_sub_reconnect_waits_for_a_broker_that_is_down_at_start() -> None:
    port = _free_port()
    url = f"ws://127.0.0.1:{port}/mqtt"
    child = await _spawn("sub", url, "-t", "late/#", "--reconnect", "-C", "1")
    seen: list[str] = []
    first = await _line_with(child.stderr, "trying again in", seen)
    assert "cannot connect (connection refused" in first
    await _line_with(child.stderr, "trying again in", seen)  # it keeps trying, with backoff
    async with _broker(port):
        code, _, err = await _run("pub", url, "-t", "late/x", "-m", "arrived", "-r")
        assert code == 0, err
        line = await _line_with(child.stdout, "late/x", seen)
        assert "arrived" in line
        assert await asyncio.wait_for(child.wait(), timeout=TIMEOUT) == 0


@pytest.mark.slow
async def test_sub_without_reconnect_still_fails_at_once() -> None:
    code, _, err = await _run("sub", f"ws://127.0.0.1:{_free_port()}/mqtt", "-t", "x")
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "connection refused" in err


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.1.1", "5"])
async def test_pub_qos0_above_the_broker_limit_is_an_error(tmp_path: Path, version: str) -> None:
    payload = tmp_path / "big"
    payload.write_bytes(b"x" * 4000)
    async with _broker(0, max_packet_size=1000) as broker:
        assert broker.ws_url is not None
        code, _, err = await _run(
            "pub", broker.ws_url, "-t", "big", "-f", str(payload), "--mqtt-version", version
        )
        ok, _, ok_err = await _run(
            "pub", broker.ws_url, "-t", "small", "-m", "fits", "--mqtt-version", version
        )
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    if version == "5":
        assert "Maximum Packet Size" in lines[0]  # refused before sending, from CONNACK
    else:
        assert "ended the connection after the QoS 0 message, so it was not delivered" in lines[0]
    assert ok == 0, ok_err


@pytest.mark.slow
async def test_pub_warns_about_a_large_message_when_the_broker_names_no_limit(tmp_path: Path) -> None:
    payload = tmp_path / "large"
    payload.write_bytes(b"y" * (UNANNOUNCED_LIMIT_WARNING + 1))
    async with _broker(0) as broker:
        assert broker.ws_url is not None
        code, _, err = await _run("pub", broker.ws_url, "-t", "large", "-f", str(payload))
    assert code == 0, err
    assert "the broker did not say the largest packet it accepts" in err
    assert "256 KiB" in err
