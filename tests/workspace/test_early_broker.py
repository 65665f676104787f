"""The broker child a launcher starts before the event loop (``mqttws-tui`` with no arguments):
the Workspace takes it over as its embedded broker, or ends it when it is not used."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from explorer.broker.child import BrokerProcess, spawn_early
from explorer.model.events import ErrorReported
from explorer.workspace import Workspace

TIMEOUT = 10.0


async def test_the_early_child_becomes_the_embedded_broker_and_close_ends_it(tmp_path: Path) -> None:
    early = spawn_early(demo=True)  # before the Workspace exists, as the launcher does
    ws = Workspace(config_dir=tmp_path)
    ws.adopt_early_broker(early)
    try:
        options = await ws.start_embedded(demo=True)
        broker = ws.broker
        assert isinstance(broker, BrokerProcess)
        assert broker.pid == early.popen.pid  # taken over, not a second child
        await ws.connect(options)
        assert await ws.subscribe("demo/#") == [0]

        async def demo_topics() -> None:
            async for _batch in ws.events(max_rate_hz=100):
                if ws.tree.find("demo/sensors") is not None:
                    return

        await asyncio.wait_for(demo_topics(), TIMEOUT)
    finally:
        await ws.close()
    assert early.popen.returncode == 0  # shut down cleanly through its stdin


async def test_an_early_child_of_another_kind_is_ended_and_a_fresh_one_started(tmp_path: Path) -> None:
    early = spawn_early(demo=True)
    ws = Workspace(config_dir=tmp_path)
    ws.adopt_early_broker(early)
    try:
        await ws.start_embedded(demo=False)
        broker = ws.broker
        assert isinstance(broker, BrokerProcess)
        assert broker.pid != early.popen.pid
        assert early.popen.poll() is not None
    finally:
        await ws.close()


async def test_an_unused_early_child_ends_with_the_workspace(tmp_path: Path) -> None:
    early = spawn_early(demo=True)
    ws = Workspace(config_dir=tmp_path)
    ws.adopt_early_broker(early)
    await ws.close()
    assert early.popen.poll() is not None


async def test_an_adopted_child_that_dies_is_reported(tmp_path: Path) -> None:
    early = spawn_early(demo=False)
    ws = Workspace(config_dir=tmp_path)
    ws.adopt_early_broker(early)
    try:
        await ws.start_embedded(demo=False)
        broker = ws.broker
        assert isinstance(broker, BrokerProcess)
        stream = ws.events(max_rate_hz=100)
        await anext(stream)  # subscribed (the first batch comes at once) before the kill
        os.kill(broker.pid, signal.SIGKILL)

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
    finally:
        await ws.close()
