"""Suite-wide settings.

``make test`` sets ``PYTHONASYNCIODEBUG=1`` so that every event loop the tests create
runs in asyncio debug mode (unawaited coroutines, non-thread-safe calls and slow
callbacks are reported). The commands the tests start as subprocesses, though, should
run as a user runs them: in debug mode a callback slowed by a busy machine prints a
"took 0.125 seconds" warning on stderr, which is noise in an assertion about what the
user sees. So the variable is taken out of the environment children inherit, and the
in-process loops get debug mode from pytest-asyncio's ``asyncio_debug`` option instead.
"""

from __future__ import annotations

import os

import pytest

ASYNCIO_DEBUG = bool(os.environ.pop("PYTHONASYNCIODEBUG", ""))


def pytest_configure(config: pytest.Config) -> None:
    if ASYNCIO_DEBUG:
        config.option.asyncio_debug = True
