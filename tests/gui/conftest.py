"""Fixtures for the desktop explorer's tests: offscreen Qt, a qasync loop, a window.

Tests are plain functions that drive async flows with ``qloop.run_until_complete``;
inside, they wait for Qt signals through :func:`wait_signal` (an asyncio future
resolved by the signal) and for model state through :func:`wait_for_batch`, so every
wait is event-driven and the qasync loop stays the one running loop, as in the app.
"""

from __future__ import annotations

import asyncio
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QSettings, SignalInstance
from PySide6.QtWidgets import QApplication

from explorer.workspace import Workspace
from gui.bridge import WorkspaceBridge
from gui.widgets.main_window import MainWindow
from tests.keyring_support import config_dir, file_keyring

__all__ = ["config_dir", "file_keyring", "wait_for_batch", "wait_signal"]

TIMEOUT = 20.0
_OPEN: list[tuple[qasync.QEventLoop, WorkspaceBridge]] = []


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """Close the test's Workspace while its loop can still run it.

    pytest-qt processes pending Qt events before fixtures are torn down; the broker's and
    the bridge's tasks would then be stepped with no running asyncio loop. Closing them
    first, inside the loop, leaves nothing for those events to run.
    """
    while _OPEN:
        loop, bridge = _OPEN.pop()
        if not loop.is_closed():
            loop.run_until_complete(bridge.aclose())
    yield


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """A qasync event loop on the test's QApplication (closed afterwards)."""
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """Window settings in a temporary INI file (layout save/restore stays out of $HOME)."""
    return QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(
    qloop: qasync.QEventLoop, settings: QSettings, config_dir: Path, qtbot: Any
) -> Iterator[MainWindow]:
    """A shown main window over a fresh Workspace (nothing connected yet)."""
    workspace = Workspace(config_dir=config_dir)
    bridge = WorkspaceBridge(workspace)
    win = MainWindow(bridge, settings=settings)
    win.show()
    _OPEN.append((qloop, bridge))
    try:
        yield win
    finally:
        qloop.run_until_complete(bridge.aclose())  # a no-op when the hook closed it
        win.close()
        win.deleteLater()


async def wait_signal(signal: SignalInstance, timeout: float = TIMEOUT) -> tuple[Any, ...]:
    """The arguments of the next emission of ``signal``."""
    future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def done(*args: Any) -> None:
        if not future.done():
            future.set_result(args)

    signal.connect(done)
    try:
        return await asyncio.wait_for(future, timeout)
    finally:
        signal.disconnect(done)


async def wait_for_batch(
    bridge: WorkspaceBridge, predicate: Callable[[], bool], timeout: float = TIMEOUT
) -> None:
    """Wait, batch by batch, until ``predicate()`` holds (checked after each batch is drawn)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError("the condition did not hold before the timeout")
        await wait_signal(bridge.batchReady, remaining)
