"""The one QObject between the Qt window and the :class:`~explorer.workspace.Workspace`.

Views never await anything and never touch the client or the broker: they call the
bridge's intents (``@asyncSlot`` methods run as tasks on the qasync loop) and listen
to its signals. The bridge turns the Workspace's batched ``events()`` stream into
``batchReady`` at most 20 times a second, and every failed intent into ``failed`` with
the error's sentence (never a traceback). Intent coroutines are also returned, so a
test or a script can await them directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from PySide6.QtCore import QObject, QTimer, Signal
from qasync import asyncSlot

from explorer.client.options import ConnectionOptions
from explorer.errors import ExplorerError
from explorer.mqtt.packets import NO_PROPERTIES, Properties
from explorer.present.status import Severity
from explorer.workspace import (
    DEFAULT_SUBSCRIPTIONS,
    EMBEDDED_SUBSCRIPTIONS,
    Batch,
    Subscriptions,
    Workspace,
)
from explorer.workspace.flow import ConnectFlow
from explorer.workspace.pump import UI_DUTY, BatchPump

__all__ = ["WorkspaceBridge"]

_LOG = logging.getLogger(__name__)
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
async_slot = cast(Callable[..., Callable[[F], F]], asyncSlot)
"""qasync's ``asyncSlot`` (a Qt slot running a coroutine as a task), typed."""


class WorkspaceBridge(QObject):
    """Signals out of the Workspace, intents into it.

    Signals:
        batchReady(Batch): what happened since the previous batch (<= ``max_rate_hz``).
        statusChanged(ConnectionStatus): the status of every batch.
        connected(str): the URL, once CONNACK accepted the connection.
        connectFailed(str, ConnectionOptions): the sentence and the options that failed
            (the window offers the diagnoser with them).
        failed(str, str): an intent failed: (what was attempted, the error's sentence).
        subscribed(str, list): filter and SUBACK reason codes.
        unsubscribed(str), published(str), retainedCleared(str, int), exported(str, int).
        probeStep(Step), probeFinished(Diagnosis): live diagnosis.
        busyChanged(bool): an intent is running.
    """

    UI_DUTY = UI_DUTY
    """The share of the event loop's time the views may take for batches."""

    batchReady = Signal(object)
    statusChanged = Signal(object)
    connected = Signal(str)
    disconnected = Signal()
    connectFailed = Signal(str, object)
    failed = Signal(str, str)
    subscribed = Signal(str, list)
    unsubscribed = Signal(str)
    published = Signal(str)
    retainedCleared = Signal(str, int)
    exported = Signal(str, int)
    probeStep = Signal(object)
    probeFinished = Signal(object)
    embeddedStarted = Signal(str)
    notice = Signal(str)
    busyChanged = Signal(bool)

    def __init__(
        self, workspace: Workspace, parent: QObject | None = None, *, max_rate_hz: float = 20
    ) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.max_rate_hz = max_rate_hz
        self._pump: asyncio.Task[None] | None = None
        self._busy = 0
        self._closed = False
        self.ui_costs: deque[float] = deque(maxlen=256)  # seconds per batch, for benchmarks
        self.flow = ConnectFlow(workspace, self)

    # -- the batch pump --------------------------------------------------------------

    def start(self) -> None:
        """Start forwarding batches (idempotent); called from within the running loop.

        The connection intents call it too, so batches flow once anything is connected.
        """
        if (self._pump is None or self._pump.done()) and not self._closed:
            self._pump = asyncio.get_running_loop().create_task(self._run_pump())

    async def _run_pump(self) -> None:
        # The Workspace paces the batches to UI_DUTY of the loop's time under a firehose:
        # the next batch (bigger, coalesced) comes later instead of starving the reads.
        # The views' work for a batch is the slots run plus the repaint they asked for,
        # which Qt does before it runs a zero-delay timer.
        pump = BatchPump(
            self.workspace,
            self._emit_batch,
            _after_pending_qt_events,
            max_rate_hz=self.max_rate_hz,
            duty=self.UI_DUTY,
            on_error=lambda exc: _LOG.error("a view failed on a batch", exc_info=exc),
        )
        self.ui_costs = pump.costs
        await pump.run()

    def _emit_batch(self, batch: Batch) -> None:
        self.batchReady.emit(batch)
        self.statusChanged.emit(batch.status)

    async def aclose(self) -> None:
        """Close the Workspace (disconnect, stop the embedded broker) and the pump."""
        self._closed = True
        await self.workspace.close()
        pump, self._pump = self._pump, None
        if pump is not None:
            if not pump.done():
                pump.cancel()
            # A pump stepped by Qt outside the running loop (only in tests that process
            # events between loop runs) ends with RuntimeError; at close that is moot.
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await pump

    # -- helpers ---------------------------------------------------------------------

    async def _run(self, what: str, action: Callable[[], Awaitable[T]]) -> T | None:
        self._busy += 1
        if self._busy == 1:
            self.busyChanged.emit(True)
        try:
            return await action()
        except ExplorerError as exc:
            self.failed.emit(what, str(exc))
            return None
        except OSError as exc:
            self.failed.emit(what, f"{what} failed: {exc.strerror or exc}")
            return None
        finally:
            self._busy -= 1
            if self._busy == 0:
                self.busyChanged.emit(False)

    # -- intents ---------------------------------------------------------------------

    async def start_demo(
        self, subscriptions: Subscriptions = EMBEDDED_SUBSCRIPTIONS, *, demo: bool = True, tls: bool = False
    ) -> bool:
        """Start the embedded broker (with demo traffic), connect to it and subscribe.

        The default subscriptions are the front ends' shared ones for the embedded
        broker (``#`` and ``$SYS/#``); ``()`` subscribes to nothing. With ``tls`` the broker
        also listens on wss:// and mqtts:// and the connection goes over wss://, trusting
        the broker's local CA (:meth:`ConnectFlow.start_embedded`).
        """
        self.start()
        self._busy += 1
        if self._busy == 1:
            self.busyChanged.emit(True)
        try:
            return await self.flow.start_embedded(subscriptions, demo=demo, tls=tls)
        finally:
            self._busy -= 1
            if self._busy == 0:
                self.busyChanged.emit(False)

    @async_slot()
    async def startDemo(self) -> None:
        await self.start_demo()

    @async_slot()
    async def startTlsDemo(self) -> None:
        await self.start_demo(tls=True)

    async def connect_to(self, options: ConnectionOptions, subscriptions: Subscriptions = ()) -> bool:
        """Connect (closing the previous connection); then subscribe to ``subscriptions``.

        The flow (:class:`~explorer.workspace.flow.ConnectFlow`) is the terminal explorer's:
        a failure is ``connectFailed`` (the window offers the diagnoser), a refused
        subscription a ``failed`` notice.
        """
        self.start()
        self._busy += 1
        if self._busy == 1:
            self.busyChanged.emit(True)
        try:
            return await self.flow.run(options, subscriptions)
        finally:
            self._busy -= 1
            if self._busy == 0:
                self.busyChanged.emit(False)

    # -- the connect flow's outcomes (explorer.workspace.flow.FlowListener) ---------------

    def flow_connecting(self, options: ConnectionOptions) -> None:
        # The window shows the URL when it asks for a connection; the embedded broker's is new.
        broker = self.workspace.broker
        if broker is not None and options.url in (broker.ws_url, broker.wss_url):
            self.embeddedStarted.emit(options.url)

    def flow_connected(self, url: str) -> None:
        self.connected.emit(url)

    def flow_failed(self, message: str, options: ConnectionOptions) -> None:
        self.connectFailed.emit(message, options)

    def flow_subscribed(self, topic_filter: str, codes: list[int]) -> None:
        self.subscribed.emit(topic_filter, codes)

    def flow_notice(self, text: str, severity: Severity) -> None:
        if severity in (Severity.ERROR, Severity.WARNING):
            self.failed.emit("subscribe", text)
        else:
            self.notice.emit(text)

    @async_slot(object)
    async def connectTo(self, options: ConnectionOptions) -> None:
        await self.connect_to(options, DEFAULT_SUBSCRIPTIONS)

    async def close_connection(self) -> None:
        """Disconnect cleanly (not named ``disconnect``: that is QObject's)."""
        await self._run("disconnect", self.workspace.disconnect)
        self.disconnected.emit()

    @async_slot()
    async def disconnectNow(self) -> None:
        await self.close_connection()

    async def subscribe(self, topic_filter: str, qos: int = 0) -> list[int] | None:
        self._busy += 1
        if self._busy == 1:
            self.busyChanged.emit(True)
        try:
            return await self.flow.subscribe(topic_filter, qos)
        finally:
            self._busy -= 1
            if self._busy == 0:
                self.busyChanged.emit(False)

    async def unsubscribe(self, topic_filter: str) -> None:
        done = await self._run(
            f"unsubscribe from {topic_filter}", lambda: self._true(self.workspace.unsubscribe(topic_filter))
        )
        if done:
            self.unsubscribed.emit(topic_filter)

    async def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 0,
        retain: bool = False,
        properties: Properties = NO_PROPERTIES,
    ) -> bool:
        done = await self._run(
            f"publish to {topic}",
            lambda: self._true(self.workspace.publish(topic, payload, qos, retain, properties)),
        )
        if done:
            self.published.emit(topic)
        return bool(done)

    async def clear_retained(self, topic: str) -> int | None:
        count = await self._run(
            f"clear retained messages under {topic}", lambda: self.workspace.clear_retained(topic)
        )
        if count is not None:
            self.retainedCleared.emit(topic, count)
        return count

    async def probe(
        self, options: ConnectionOptions, *, idle: float = 0.0, explore: bool = False, checks: Any = None
    ) -> Any:
        """Run the diagnoser; each layer's step is emitted as it ends, then the verdict.

        With ``explore``, a failed probe is followed by probes of variations of the
        options (paths, subprotocols, ws/wss, MQTT versions); the verdict's
        ``alternatives`` say which of them would work. ``checks`` (a ``ProbeChecks``)
        asks for a browser's upgrade, compression, a publish size or an idle check.
        """

        def on_step(step: Any) -> None:
            self.probeStep.emit(step)

        diagnosis = await self._run(
            f"diagnose {options.url}",
            lambda: self.workspace.probe(options, on_step, idle=idle, explore=explore, checks=checks),
        )
        if diagnosis is not None:
            self.probeFinished.emit(diagnosis)
        return diagnosis

    def export_trace(self, path: Path | str, fmt: str) -> int | None:
        return self._sync(f"export the trace to {path}", lambda: self.workspace.export_trace(path, fmt))  # type: ignore[arg-type]

    def export_messages(self, path: Path | str, fmt: str) -> int | None:
        return self._sync(
            f"export the messages to {path}",
            lambda: self.workspace.export_messages(path, fmt),  # type: ignore[arg-type]
        )

    def _sync(self, what: str, action: Callable[[], int]) -> int | None:
        try:
            count = action()
        except ExplorerError as exc:
            self.failed.emit(what, str(exc))
            return None
        except OSError as exc:
            self.failed.emit(what, f"cannot {what}: {exc.strerror or exc}")
            return None
        self.exported.emit(str(what), count)
        return count

    @staticmethod
    async def _true(awaitable: Awaitable[Any]) -> bool:
        await awaitable
        return True

    def spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run an intent coroutine as a task on the loop (for widgets' button handlers)."""
        task = asyncio.ensure_future(coroutine)
        task.add_done_callback(_log_unexpected)
        return task


async def _after_pending_qt_events() -> None:
    """Return once Qt has handled what is queued now (posted events such as repaints)."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def done() -> None:
        if not future.done():
            future.set_result(None)

    QTimer.singleShot(0, done)
    await future


def _log_unexpected(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _LOG.error("an intent failed unexpectedly", exc_info=task.exception())
