"""The runtime policy an interactive front end installs in its process at start-up.

Nothing here acts on its own: the core (the client, the Workspace) leaves the process's
settings alone, and ``mqttws-tui`` and ``mqttws-explorer`` each make one
:class:`RuntimePolicy` and install it. The headless commands install none; the CLI
raises the collector's thresholds itself (:func:`explorer.gcpolicy.tune_gc`).

Why the collector needs a policy: a trace holds hundreds of thousands of long-lived
event objects, and decoding makes several small objects per MQTT packet. With CPython's
default first-generation threshold (700 allocations) the collector runs every few
hundred packets and walks the young objects each time. The thresholds cannot bound the
pauses either: they count allocations minus deallocations, and under a firehose the trace
ring frees an old event for every new one, so the count hardly moves while the young
generation fills with survivors, and a "young" collection walks 100,000 to 250,000
objects (30-110 ms in the window), a second-generation one more, and a full one
everything (0.3-1 s). The long-lived objects are mostly acyclic (the ring frees them by
reference counting), so walking them again and again finds nothing:
:class:`PauseBoundedCollector` walks each object once.

Why reads step aside for input (:class:`InputFirst`): the views and the client share one
event loop, and under a firehose a key press's handler and repaint would otherwise wait
behind reads. The client asks the policy's :attr:`RuntimePolicy.read_gate` before each
read (a plain callable, :data:`explorer.client.driver.ReadGate`).
"""

from __future__ import annotations

import asyncio
import gc
import math
import time
from collections.abc import Callable
from typing import Any

from explorer.gcpolicy import GC_THRESHOLDS

__all__ = [
    "GC_TICK_SECONDS",
    "InputFirst",
    "PauseBoundedCollector",
    "RuntimePolicy",
    "read_now",
]

GC_TICK_SECONDS = 0.1
"""How often :class:`PauseBoundedCollector` collects the youngest objects and freezes the survivors."""


class PauseBoundedCollector:
    """Collects what was made since the previous tick, then freezes the survivors.

    Every ``tick`` seconds on the running event loop, ``gc.collect(0)`` walks the objects
    made since the previous tick (the ones an automatic collection already walked and
    promoted are not walked again), frees the cycles among them, and ``gc.freeze()`` moves
    the survivors to the permanent generation that no collection walks. Each object is
    thus walked once, and a pause is bounded by what the app allocates in one tick, not
    by the size of the heap. Under a 20,000 msg/s firehose a tick takes about 6 ms; a
    collection of everything unfrozen every few ticks (walking each survivor again) took
    50-80 ms and twice the CPU.

    The price: a reference cycle alive at a freeze and dead later (a widget that lived
    for more than a tick) is not freed by these collections. So now and then a tick is a
    full pass instead: ``gc.unfreeze()``, a full collection (one long pause), and a new
    freeze. Counting the frozen set costs a walk of it, so the passes are paced by time:
    the next one comes when the cycles held at the rate the previous pass found would be
    ``full_share`` of the frozen heap (CPython's own rule starts a full collection at a
    quarter), between ``full_min`` and ``full_max`` seconds apart. Memory stays bounded.

    A full pass over a few hundred thousand objects stops the loop for a few hundred
    milliseconds, so a due pass waits for a pause in the user's input: the front ends
    call :meth:`note_input` on every key press and click, and the pass runs once there
    has been none for ``quiet`` seconds, or ``full_min`` seconds after it was due at the
    latest (someone typing without pause for that long still gets memory back).

    The ticker starts on the first collection that happens while an event loop is
    running, so :meth:`install` can be called before the loop exists; a new
    loop (``asyncio.run`` again) gets its own ticker the same way.
    """

    def __init__(
        self,
        *,
        tick: float = GC_TICK_SECONDS,
        full_share: float = 0.25,
        full_min: float = 30.0,
        full_max: float = 600.0,
        quiet: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tick = tick
        self.full_share = full_share
        self.full_min = full_min
        self.full_max = full_max
        self.quiet = quiet
        self._clock = clock
        self._last_input = -math.inf
        self._last_full = clock()
        self._full_due = self._last_full + full_min
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.Handle | None = None
        self.ticks = 0
        self.full_passes = 0
        self.full_freed = 0  # objects freed by full passes (cycles that died while frozen)

    @property
    def installed(self) -> bool:
        return self._on_collect in gc.callbacks

    def install(self) -> None:
        """Hook into the collector (the ticker starts with the event loop); idempotent."""
        gc.set_threshold(*GC_THRESHOLDS)
        if not self.installed:
            gc.callbacks.append(self._on_collect)
        self._start()

    def uninstall(self) -> None:
        """Stop ticking and unfreeze."""
        if self.installed:
            gc.callbacks.remove(self._on_collect)
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._loop = None
        gc.unfreeze()

    def _on_collect(self, phase: str, info: dict[str, Any]) -> None:
        loop = self._loop
        if phase == "stop" and (loop is None or loop.is_closed()):
            self._start()

    def _start(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if loop is not self._loop:
            self._loop = loop
            # Not from inside the collector: the first tick runs as an ordinary callback.
            self._handle = loop.call_soon(self._tick)

    def _tick(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self.step()
        self._handle = loop.call_later(self.tick, self._tick)

    @property
    def last_input(self) -> float:
        """When :meth:`note_input` was last called, on the collector's clock (-inf: never)."""
        return self._last_input

    def note_input(self) -> None:
        """The user pressed a key or clicked: a due full pass waits for a quiet moment."""
        self._last_input = self._clock()

    def step(self) -> None:
        """One tick's work: collect the youngest generation and freeze the survivors, or
        a full pass when one is due and the user is not typing (or it is overdue)."""
        now = self._clock()
        due = self._full_due
        if now >= due and (now - self._last_input >= self.quiet or now >= due + self.full_min):
            self.full_pass()
        else:
            gc.collect(0)
            gc.freeze()
        self.ticks += 1

    def full_pass(self) -> None:
        """Unfreeze, collect everything, freeze again: frees cycles that died while frozen."""
        gc.unfreeze()
        freed = gc.collect()
        gc.freeze()
        now = self._clock()
        rate = freed / max(now - self._last_full, 1e-3)  # cycles held per second while frozen
        interval = self.full_share * gc.get_freeze_count() / rate if rate > 0 else self.full_max
        self._last_full = now
        self._full_due = now + min(self.full_max, max(self.full_min, interval))
        self.full_freed += freed
        self.full_passes += 1


class InputFirst:
    """Network reads step aside for a moment after each key press or click.

    A front end shares one event loop between the client's reads and its views. Under a
    firehose the loop is busy with reads most of the time, and a key press's handler
    and the repaint it asks for wait behind them, a read at a time. After input, reads
    wait up to ``hold`` seconds (about what a press needs to reach the screen), and
    input may hold them again only once ``hold / share`` seconds have passed, so reads
    are held at most ``share`` of the time, however fast keys repeat. What is not read
    meanwhile waits in the socket buffers (TCP flow control) and is read right after.
    It acts only through a client given its :meth:`pause` as the read gate
    (:attr:`RuntimePolicy.read_gate`).
    """

    def __init__(
        self, *, hold: float = 0.03, share: float = 0.3, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.hold = hold
        self.share = share
        self._clock = clock
        self._until = -math.inf
        self._next = -math.inf
        self.holds = 0

    def note_input(self) -> None:
        """The user acted: hold reads for ``hold`` seconds, unless a hold began too recently."""
        now = self._clock()
        if now >= self._next:
            self._until = now + self.hold
            self._next = now + self.hold / self.share
            self.holds += 1

    def release(self) -> None:
        """End the current hold now (the next input may hold reads again at once)."""
        self._until = self._next = -math.inf

    def pause(self) -> float:
        """Seconds a network read should wait now (0.0: read at once)."""
        if self._until == -math.inf:
            return 0.0
        left = self._until - self._clock()
        return left if left > 0 else 0.0


def read_now() -> float:
    """The read gate of a process without input priority: reads never wait."""
    return 0.0


class RuntimePolicy:
    """What an interactive front end asks of its process, installed once at start-up.

    ``collector``: keep collector pauses short (:class:`PauseBoundedCollector`; process-wide
    once :meth:`install` ran). ``input_first``: network reads step aside after user input
    (:class:`InputFirst`; it acts through :attr:`read_gate`, which the front end hands to
    its Workspace). Either may be None; ``RuntimePolicy()`` changes nothing.
    """

    def __init__(
        self, *, collector: PauseBoundedCollector | None = None, input_first: InputFirst | None = None
    ) -> None:
        self.collector = collector
        self.input_first = input_first

    @classmethod
    def interactive(cls) -> RuntimePolicy:
        """The terminal and desktop explorers' policy: both parts."""
        return cls(collector=PauseBoundedCollector(), input_first=InputFirst())

    @property
    def read_gate(self) -> Callable[[], float]:
        """For :class:`~explorer.workspace.Workspace` (``read_gate=``): seconds a read waits now."""
        return self.input_first.pause if self.input_first is not None else read_now

    def install(self) -> RuntimePolicy:
        """Apply the process-wide part (the collector); before or after the loop starts."""
        if self.collector is not None:
            self.collector.install()
        return self

    def uninstall(self) -> None:
        """Undo :meth:`install` and end a hold on reads."""
        if self.collector is not None:
            self.collector.uninstall()
        if self.input_first is not None:
            self.input_first.release()

    def note_input(self) -> None:
        """The user pressed a key or clicked: reads step aside, a due full collector pass waits."""
        if self.collector is not None and self.collector.installed:
            self.collector.note_input()
        if self.input_first is not None:
            self.input_first.note_input()
