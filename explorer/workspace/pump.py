"""The batch pump both front ends run: Workspace batches to a view, at a bounded share of the loop.

:meth:`Workspace.events` paces the batches (``duty``); the pump hands each one to the view and
then waits for the view's repaint (``after``), because the repaint is part of the batch's
cost: under a firehose the views then update less often with bigger batches, and key presses
and reads keep the rest of the loop. A view error is reported once and the pump goes on, so a
display bug never stops the live updates. ``costs`` keeps the seconds each batch took (the load
benchmarks read them).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from explorer.workspace.batching import Batch
from explorer.workspace.core import Workspace

__all__ = ["UI_DUTY", "BatchPump"]

UI_DUTY = 0.3
"""The share of the event loop's time the views may take for batches and their repaints."""


class BatchPump:
    """Feeds ``apply`` with the Workspace's batches until the Workspace closes.

    Args:
        apply: the view's work for one batch (synchronous).
        after: awaited after each batch, until the view has repainted it.
        on_error: told once about the first exception ``apply`` raised.
    """

    def __init__(
        self,
        workspace: Workspace,
        apply: Callable[[Batch], None],
        after: Callable[[], Awaitable[None]],
        *,
        max_rate_hz: float = 20,
        max_events: int | None = None,
        duty: float = UI_DUTY,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.workspace = workspace
        self._apply = apply
        self._after = after
        self.max_rate_hz = max_rate_hz
        self.max_events = max_events
        self.duty = duty
        self._on_error = on_error
        self.batches = 0
        self.costs: deque[float] = deque(maxlen=256)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        failed = False
        events = self.workspace.events(self.max_rate_hz, max_events=self.max_events, duty=self.duty)
        async for batch in events:
            started = loop.time()
            self.batches += 1
            try:
                self._apply(batch)
            except Exception as exc:  # a view bug must not stop the live updates
                if not failed and self._on_error is not None:
                    failed = True
                    self._on_error(exc)
            await self._after()
            self.costs.append(loop.time() - started)
