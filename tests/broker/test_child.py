"""The embedded broker as a child process: start, serve, log, stop, and never outlive us."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from explorer.broker.child import BrokerProcess, child_env
from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions
from explorer.errors import ExplorerError
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack, Connect
from explorer.mqtt.reader import PacketReader
from tests.broker.rawclient import open_tcp, read_mqtt

TIMEOUT = 20.0


@pytest.fixture
async def demo_broker() -> AsyncIterator[BrokerProcess]:
    broker = await BrokerProcess.start(demo=True)
    try:
        yield broker
    finally:
        await broker.stop()


def _fake_python(tmp_path: Path, script: str) -> str:
    """An executable standing in for ``sys.executable``: a shell script ignoring its arguments."""
    path = tmp_path / "fake-python"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


def _port(url: str | None) -> int:
    assert url is not None
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


async def test_child_serves_tcp_and_websocket_with_demo_traffic(demo_broker: BrokerProcess) -> None:
    assert demo_broker.returncode is None
    assert demo_broker.pid != os.getpid()
    assert demo_broker.ws_url is not None
    assert demo_broker.ws_url.startswith("ws://127.0.0.1:")
    assert demo_broker.ws_url.endswith("/mqtt")
    assert demo_broker.tcp_url is not None
    assert demo_broker.tcp_url.startswith("mqtt://127.0.0.1:")
    assert demo_broker.urls == [demo_broker.ws_url, demo_broker.tcp_url]

    reader, writer = await open_tcp(_port(demo_broker.tcp_url))
    writer.write(encode(Connect(ProtocolVersion.V311, "raw-tcp")))
    assert await read_mqtt(reader, PacketReader()) == [Connack()]

    options = ConnectionOptions(url=demo_broker.ws_url, mqtt_version=ProtocolVersion.V5)
    async with MqttClient(options) as client:
        await client.subscribe("demo/#")
        message = await asyncio.wait_for(anext(client.messages()), TIMEOUT)
        assert message.topic.startswith("demo/")


async def test_stop_ends_the_child_cleanly_and_can_be_repeated() -> None:
    broker = await BrokerProcess.start(demo=False)
    await asyncio.gather(broker.stop(), broker.stop())
    assert broker.returncode == 0
    await broker.stop()
    assert broker.returncode == 0
    assert "INFO shutting down" in broker.stderr_tail


async def test_child_exits_when_its_stdin_closes() -> None:
    command = [sys.executable, "-m", "explorer", "broker", "--ws-port", "0", "--tcp-port", "0", "--child"]
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(),
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        urls = [(await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)).decode().strip() for _ in range(2)]
        assert urls[0].startswith("ws://")
        assert urls[1].startswith("mqtt://")
        proc.stdin.close()
        assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
        log = (await proc.stderr.read()).decode().splitlines()
        # --child logs "LEVEL message" lines, no timestamps, for the parent to parse.
        assert "INFO shutting down" in log
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="waiting on a non-child process needs pidfd_open")
async def test_child_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent_script = tmp_path / "parent.py"
    parent_script.write_text(
        "import asyncio\n"
        "from explorer.broker.child import BrokerProcess\n"
        "async def main():\n"
        "    broker = await BrokerProcess.start(demo=False)\n"
        "    print(broker.pid, broker.tcp_url, flush=True)\n"
        "    await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    )
    parent = await asyncio.create_subprocess_exec(
        sys.executable, str(parent_script), stdout=asyncio.subprocess.PIPE, env=child_env()
    )
    assert parent.stdout is not None
    line = (await asyncio.wait_for(parent.stdout.readline(), TIMEOUT)).decode().split()
    child_pid, tcp_url = int(line[0]), line[1]
    pidfd = os.pidfd_open(child_pid)
    try:
        # A connection to the child ends (EOF) when the child shuts down.
        reader, writer = await open_tcp(_port(tcp_url))
        writer.write(encode(Connect(ProtocolVersion.V311, "watcher")))
        assert await read_mqtt(reader, PacketReader()) == [Connack()]
        parent.send_signal(signal.SIGKILL)
        assert await parent.wait() == -signal.SIGKILL
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""
        # The pidfd becomes readable when the child has exited.
        exited = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(pidfd, exited.set)
        try:
            await asyncio.wait_for(exited.wait(), TIMEOUT)
        finally:
            loop.remove_reader(pidfd)
    finally:
        os.close(pidfd)
        if parent.returncode is None:
            parent.kill()
            await parent.wait()


async def test_a_child_that_fails_gives_its_stderr_in_one_sentence(tmp_path: Path) -> None:
    python = _fake_python(
        tmp_path, 'echo "early noise" >&2\necho "cannot bind: no ports today" >&2\nexit 1\n'
    )
    with pytest.raises(ExplorerError) as caught:
        await BrokerProcess.start(python=python)
    message = str(caught.value)
    assert "exited (code 1)" in message
    assert "cannot bind: no ports today" in message


async def test_a_child_that_crashes_gives_its_exception_not_the_traceback(tmp_path: Path) -> None:
    python = _fake_python(
        tmp_path,
        'echo "Traceback (most recent call last):" >&2\n'
        "echo '  File \"x.py\", line 1, in <module>' >&2\n"
        'echo "ModuleNotFoundError: No module named explorer" >&2\n'
        "exit 1\n",
    )
    with pytest.raises(ExplorerError) as caught:
        await BrokerProcess.start(python=python)
    message = str(caught.value)
    assert message.endswith("ModuleNotFoundError: No module named explorer")
    assert "Traceback" not in message
    assert "File" not in message


async def test_a_real_child_refusing_its_arguments_says_why() -> None:
    with pytest.raises(ExplorerError, match="unknown fault mode 'explode'"):
        await BrokerProcess.start(extra_args=["--fault", "explode"])


async def test_a_silent_child_times_out_and_is_ended(tmp_path: Path) -> None:
    # Stays silent until its stdin closes (what stop does first), then says goodbye.
    python = _fake_python(tmp_path, 'echo "still warming up" >&2\nread _\necho "told to stop" >&2\nexit 3\n')
    with pytest.raises(ExplorerError) as caught:
        await BrokerProcess.start(python=python, timeout=0.5)
    message = str(caught.value)
    assert "did not report its URLs" in message
    assert "still warming up" in message
    assert "told to stop" in message


async def test_child_log_lines_are_relogged_at_their_level(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    python = _fake_python(
        tmp_path,
        'echo "ERROR the disk is full" >&2\n'
        'echo "DEBUG read 12 bytes" >&2\n'
        'echo "printed without a level" >&2\n'
        'echo "ws://127.0.0.1:1/mqtt"\n'
        'echo "mqtt://127.0.0.1:2"\n'
        'echo "WARNING running low" >&2\n'
        "read _\n"
        "exit 0\n",
    )
    caplog.set_level(logging.DEBUG, logger="explorer.broker")
    broker = await BrokerProcess.start(python=python)
    assert broker.urls == ["ws://127.0.0.1:1/mqtt", "mqtt://127.0.0.1:2"]
    await broker.stop()
    assert broker.returncode == 0
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "explorer.broker"]
    assert (logging.ERROR, "the disk is full") in records
    assert (logging.DEBUG, "read 12 bytes") in records
    assert (logging.WARNING, "printed without a level") in records
    assert (logging.WARNING, "running low") in records


async def test_a_real_child_logs_its_listeners_at_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="explorer.broker")
    broker = await BrokerProcess.start(demo=False)
    await broker.stop()
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "explorer.broker"]
    assert (logging.INFO, f"broker listening on {broker.ws_url}, {broker.tcp_url}") in records
    assert (logging.INFO, "shutting down") in records
