"""Helpers for the terminal explorer's Pilot-driven tests.

``settle`` waits for a condition by letting the app run its message loop
(``pilot.pause``), never by sleeping: each pause processes pending messages and
gives the broker and the client on the same event loop their turn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot, WaitForScreenTimeout

__all__ = ["settle"]


async def settle(pilot: Pilot[Any], condition: Callable[[], object], *, rounds: int = 400) -> None:
    """Run the app until ``condition()`` is true; fail with the condition's source if it never is."""
    for _ in range(rounds):
        if condition():
            return
        try:
            await pilot.pause(0.02)
        except WaitForScreenTimeout:
            # A busy app (a broker dying, a firehose) on a loaded machine: Pilot gave up waiting
            # for the screen's queue to drain this round; the condition is what decides.
            continue
    raise AssertionError(f"the app never reached the expected state ({condition.__name__})")
