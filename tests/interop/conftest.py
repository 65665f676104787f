"""Helpers for the interoperability tests: the embedded broker, Node scripts, external programs.

Node scripts (``tests/interop/node/*.js``) speak a line protocol (see ``harness.js``):
``{"checkpoint": name}`` pauses the script until the test has acted on the broker and
answered, ``{"result": ...}`` carries the observations the test asserts on. The broker
runs in the test's own event loop, so a test can inspect or drive it between steps.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker

NODE_DIR = Path(__file__).parent / "node"

# Anonymous clients may use everything except the secret/ tree.
ACL_TEXT = "topic readwrite #\ntopic deny secret/#\n"


def require_program(name: str, installed_by: str) -> str:
    """The program's path; a skip outside CI when it is missing, a failure in CI."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI ({installed_by})")
        pytest.skip(f"{name} is not installed ({installed_by})")
    return path


def require_node(*modules: str) -> str:
    """``node`` with the given npm packages installed under tests/interop/node."""
    node = require_program("node", "Debian package nodejs")
    for module in modules:
        if not (NODE_DIR / "node_modules" / module).is_dir():
            message = f"npm package {module} is missing: npm ci --prefix tests/interop/node"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
    return node


class ManualClock:
    """A broker clock that moves only when the test says so (message and session expiry)."""

    def __init__(self) -> None:
        # A whole number, so that intervals come out exact (no 70.000001 rounded up to 71).
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class NodeScriptFailed(AssertionError):
    """A Node script reported an error or ended without a result."""


Checkpoint = Callable[[str], Awaitable[None]]


async def run_node(
    script: str,
    *args: str,
    modules: tuple[str, ...] = (),
    on_checkpoint: Checkpoint | None = None,
    timeout: float = 60.0,
) -> Any:
    """Run ``node tests/interop/node/SCRIPT ARGS`` and return its ``result``."""
    node = require_node(*modules)
    proc = await asyncio.create_subprocess_exec(
        node,
        str(NODE_DIR / script),
        *args,
        cwd=NODE_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    stderr_task = asyncio.create_task(proc.stderr.read())

    async def conversation() -> Any:
        assert proc.stdin is not None
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            try:
                message = json.loads(line)
            except ValueError:
                continue  # a library's own chatter on stdout
            if "checkpoint" in message:
                if on_checkpoint is not None:
                    await on_checkpoint(message["checkpoint"])
                proc.stdin.write(b"go\n")
                await proc.stdin.drain()
            elif "result" in message:
                return message["result"]
            elif "error" in message:
                raise NodeScriptFailed(f"{script} {' '.join(args)}: {message['error']}")
        raise NodeScriptFailed(f"{script} {' '.join(args)} ended without a result")

    try:
        result = await asyncio.wait_for(conversation(), timeout)
    except (NodeScriptFailed, TimeoutError) as exc:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        stderr = (await stderr_task).decode(errors="replace")
        raise NodeScriptFailed(f"{exc}\n--- stderr ---\n{stderr}") from None
    proc.stdin.close()
    await asyncio.wait_for(proc.wait(), 10)
    await stderr_task
    return result


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    """The embedded broker on free loopback ports, with a clock the test can advance."""
    async with Broker(BrokerConfig.ephemeral(sys_interval=0), clock=ManualClock()) as running:
        yield running


@pytest.fixture
async def acl_broker(tmp_path: Path) -> AsyncIterator[Broker]:
    """The embedded broker with an ACL that denies reading ``secret/#``."""
    acl = tmp_path / "acl"
    acl.write_text(ACL_TEXT, encoding="utf-8")
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, acl_file=acl)) as running:
        yield running


def advance(broker: Broker, seconds: float) -> None:
    """Move the broker's ManualClock forward and let it run its timers at the new time."""
    clock = broker.clock
    assert isinstance(clock, ManualClock)
    clock.advance(seconds)
    broker.state.handle_timer(clock())
    broker.flush()
