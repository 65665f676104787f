"""Batching and back-pressure for the views, written once (DESIGN rule 6).

Events land in the TraceBuffer and the TopicTree as they arrive; views do not see them
one by one. Each view iterates ``Workspace.events()`` and gets :class:`Batch` values at
most ``max_rate_hz`` times a second, each holding what happened since its previous
batch. A firehose therefore costs a view one redraw per batch, not one per message.

The hot path stays cheap however many views listen: every event is appended once to a
shared bounded ring (:class:`Fanout`); a subscriber only remembers how far it has read.
A subscriber that falls more than the ring's capacity behind loses the oldest events and
is told how many (``Batch.dropped``); the full history is still in the trace buffer,
which views read virtually anyway. Changed topic nodes are collected per subscriber in a
set, so a topic that got a thousand messages since the last batch appears once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

from explorer.model.events import ErrorReported, MessageReceived, TraceEvent
from explorer.model.topictree import TopicNode
from explorer.present.status import ConnectionStatus

__all__ = ["Batch", "Fanout", "Subscriber"]

HEARTBEAT_SECONDS = 1.0
"""A batch (possibly empty) is sent at least this often, so rates and states shown stay fresh."""


@dataclass(frozen=True, slots=True)
class Batch:
    """What happened since a subscriber's previous batch.

    Attributes:
        events: the new trace events in order (the newest ``max_events`` of them).
        messages: the :class:`MessageReceived` events among ``events``.
        errors: the :class:`ErrorReported` events among ``events``.
        changed: topic nodes that got messages or changed their retained mark (each once).
        status: the connection status now.
        dropped: events this subscriber missed since its previous batch because it fell
            behind (they are still in the trace buffer unless it dropped them too).
    """

    events: tuple[TraceEvent, ...]
    messages: tuple[MessageReceived, ...]
    errors: tuple[ErrorReported, ...]
    changed: tuple[TopicNode, ...]
    status: ConnectionStatus
    dropped: int = 0


@dataclass(eq=False, slots=True)
class Subscriber:
    """One consumer of batches: how far it has read and what changed for it."""

    max_events: int
    seen: int
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    changed: set[TopicNode] = field(default_factory=set)
    dropped: int = 0


class Fanout:
    """A bounded ring of recent events shared by every subscriber."""

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError(f"the batch capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self.ring: deque[TraceEvent] = deque(maxlen=capacity)  # the newest events
        self.total = 0  # events pushed since the start
        self.subscribers: list[Subscriber] = []
        self.closed = False
        self.woken = False  # every subscriber's wake is set; cleared when one takes a batch

    # -- hot path --------------------------------------------------------------------

    def push(self, event: TraceEvent) -> None:
        """Offer one event to every subscriber: O(1), subscribers are woken once per batch.

        ``Workspace.ingest`` does the same inline (keep the two alike).
        """
        self.total += 1
        if self.subscribers:
            self.ring.append(event)
            if not self.woken:
                self.notify()

    def node_changed(self, node: TopicNode) -> None:
        for subscriber in self.subscribers:
            subscriber.changed.add(node)

    def notify(self) -> None:
        """Wake every subscriber without a new event (status or tree changed)."""
        self.woken = True
        for subscriber in self.subscribers:
            subscriber.wake.set()

    # -- subscribers -----------------------------------------------------------------

    def subscribe(self, max_events: int | None = None) -> Subscriber:
        limit = self.capacity if max_events is None else max(1, min(max_events, self.capacity))
        subscriber = Subscriber(max_events=limit, seen=self.total)
        self.subscribers.append(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers:
            self.subscribers.remove(subscriber)
        if not self.subscribers:
            self.ring.clear()

    def take(self, subscriber: Subscriber, status: ConnectionStatus) -> Batch:
        """Everything new for ``subscriber`` as one batch; resets its pending state."""
        self.woken = False
        new = self.total - subscriber.seen
        available = min(new, len(self.ring), subscriber.max_events)
        if available <= 0:
            events: tuple[TraceEvent, ...] = ()
        elif available == len(self.ring):
            events = tuple(self.ring)
        else:
            events = tuple(itertools.islice(self.ring, len(self.ring) - available, None))
        dropped = subscriber.dropped + max(0, new - available)
        subscriber.dropped = 0
        subscriber.seen = self.total
        changed = tuple(subscriber.changed)
        subscriber.changed.clear()
        messages = tuple(e for e in events if type(e) is MessageReceived)
        errors = tuple(e for e in events if type(e) is ErrorReported)
        return Batch(events, messages, errors, changed, status, dropped)

    def close(self) -> None:
        self.closed = True
        self.notify()

    def is_closed(self) -> bool:
        # A method, not the attribute: ``closed`` changes while a stream awaits.
        return self.closed

    async def stream(
        self,
        status: Callable[[], ConnectionStatus],
        max_rate_hz: float = 20.0,
        max_events: int | None = None,
        duty: float | None = None,
    ) -> AsyncGenerator[Batch, None]:
        """Yield batches at most ``max_rate_hz`` times a second until :meth:`close`.

        The first batch comes at once (with the current status), so a view can draw
        its first frame without waiting for traffic.

        ``duty`` (0 < duty <= 1) keeps a view to that share of the event loop's time: the
        view's work on a batch is the time until it asks for the next one (a view that
        waits for its repaint there counts the repaint too), and the next batch comes
        no sooner than that work divided by ``duty``. Under a firehose batches come less
        often and bigger, and the rest of the loop (reads, key presses) keeps its time.
        """
        if max_rate_hz <= 0:
            raise ValueError(f"max_rate_hz must be positive, not {max_rate_hz}")
        if duty is not None and not 0 < duty <= 1:
            raise ValueError(f"duty must be in (0, 1], not {duty}")
        interval = 1.0 / max_rate_hz
        rest = 0.0 if duty is None else 1.0 / duty - 1.0
        loop = asyncio.get_running_loop()
        subscriber = self.subscribe(max_events)
        try:
            last = loop.time()
            yield self.take(subscriber, status())
            while not self.closed:
                resumed = loop.time()
                not_before = max(last + interval, resumed + (resumed - last) * rest)
                # asyncio.timeout, not wait_for: wait_for in Python 3.11 can swallow a
                # cancellation that arrives as the event is set, and a view's task
                # would then never end.
                try:
                    async with asyncio.timeout(HEARTBEAT_SECONDS):
                        await subscriber.wake.wait()
                except TimeoutError:
                    pass
                if self.is_closed():
                    break
                delay = not_before - loop.time()
                if delay > 0:
                    # Coalesce: everything arriving during the wait joins this batch.
                    await asyncio.sleep(delay)
                subscriber.wake.clear()
                last = loop.time()
                yield self.take(subscriber, status())
        finally:
            self.unsubscribe(subscriber)
