"""The Workspace's embedded broker: a child process by default, in process on request."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest

from explorer.broker.child import BrokerProcess
from explorer.broker.server import Broker
from explorer.errors import ExplorerError
from explorer.model.events import ErrorReported
from explorer.mqtt.enums import ProtocolVersion
from explorer.workspace import Workspace

TIMEOUT = 10.0


async def _round_trip(ws: Workspace, topic: str) -> None:
    """Subscribe, publish, and wait until the message is in the topic tree."""
    assert await ws.subscribe(f"{topic}/#", qos=1) == [1]
    await ws.publish(f"{topic}/x", b"hello", qos=1)

    async def arrived() -> None:
        async for _batch in ws.events(max_rate_hz=200):
            node = ws.tree.find(f"{topic}/x")
            if node is not None and node.last is not None:
                return

    await asyncio.wait_for(arrived(), TIMEOUT)
    node = ws.tree.find(f"{topic}/x")
    assert node is not None
    assert node.last is not None
    assert node.last.payload == b"hello"


async def test_start_embedded_runs_the_broker_in_a_child_that_close_stops(tmp_path: Path) -> None:
    ws = Workspace(config_dir=tmp_path)
    try:
        options = await ws.start_embedded(demo=False)
        broker = ws.broker
        assert isinstance(broker, BrokerProcess)
        assert broker.pid != os.getpid()
        assert options.url == broker.ws_url
        assert options.mqtt_version is ProtocolVersion.V5
        # A second call reuses the running broker.
        assert (await ws.start_embedded(demo=False)).url == options.url
        await ws.connect(options)
        assert ws.status.embedded
        await _round_trip(ws, "child")
    finally:
        await ws.close()
    assert ws.broker is None
    assert broker.returncode == 0


async def test_embedded_in_process_keeps_the_broker_object(tmp_path: Path) -> None:
    async with Workspace(config_dir=tmp_path, embedded_in_process=True) as ws:
        options = await ws.start_embedded(demo=False)
        broker = ws.broker
        assert isinstance(broker, Broker)
        assert options.url == broker.ws_url
        await ws.connect(options)
        assert ws.status.embedded
        await _round_trip(ws, "inproc")
        assert broker.state.sessions


async def test_a_closed_workspace_starts_no_broker(tmp_path: Path) -> None:
    ws = Workspace(config_dir=tmp_path)
    await ws.close()
    with pytest.raises(ExplorerError, match="closed"):
        await ws.start_embedded(demo=False)
    assert ws.broker is None


async def test_a_dead_child_is_logged_and_replaced_on_the_next_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with Workspace(config_dir=tmp_path) as ws:
        await ws.start_embedded(demo=False)
        first = ws.broker
        assert isinstance(first, BrokerProcess)
        os.kill(first.pid, signal.SIGKILL)
        assert await asyncio.wait_for(first.wait(), TIMEOUT) == -signal.SIGKILL
        options = await ws.start_embedded(demo=False)
        second = ws.broker
        assert isinstance(second, BrokerProcess)
        assert second.pid != first.pid
        assert options.url == second.ws_url
        await ws.connect(options)
        await _round_trip(ws, "again")
    assert any(
        r.name == "explorer.broker" and r.levelno == logging.ERROR and "exited unexpectedly" in r.getMessage()
        for r in caplog.records
    )


async def test_a_child_that_dies_is_reported_in_the_trace_and_a_reconnect_starts_a_new_one(
    tmp_path: Path,
) -> None:
    async with Workspace(config_dir=tmp_path) as ws:
        options = await ws.start_embedded(demo=False)
        await ws.connect(options)
        assert ws.status.embedded
        first = ws.broker
        assert isinstance(first, BrokerProcess)
        remote = options.with_changes(url="ws://127.0.0.1:1/mqtt")
        # A living broker, or another broker's URL: nothing to revive.
        assert await ws.revive_embedded(options) == options
        assert await ws.revive_embedded(remote) == remote

        stream = ws.events(max_rate_hz=200)
        await anext(stream)  # subscribed (the first batch comes at once) before the kill
        os.kill(first.pid, signal.SIGKILL)

        async def reported() -> ErrorReported:
            async for batch in stream:
                for event in batch.events:
                    if isinstance(event, ErrorReported) and event.layer == "broker":
                        return event
            raise AssertionError("the workspace closed first")

        error = await asyncio.wait_for(reported(), TIMEOUT)
        await stream.aclose()
        assert error.message == (
            "the embedded broker process was killed by signal 9; reconnect to start a new one"
        )
        assert not ws.status.embedded  # the status line no longer calls it the embedded broker

        revived = await ws.revive_embedded(options)
        second = ws.broker
        assert isinstance(second, BrokerProcess)
        assert second.pid != first.pid
        assert revived.url == second.ws_url != options.url
        assert revived.mqtt_version == options.mqtt_version
        assert await ws.revive_embedded(remote) == remote
        await ws.connect(revived)
        assert ws.status.embedded
        await _round_trip(ws, "revived")
