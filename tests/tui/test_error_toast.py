"""The toast for a batch with several errors names the cause: a killed embedded broker is said
as such, not hidden behind the closed connection it leads to."""

from __future__ import annotations

import os
import signal

from explorer.broker.child import BrokerProcess
from explorer.model.events import ErrorReported
from explorer.workspace import Workspace
from tests.tui.conftest import settle
from tui.app import ExplorerApp

SIZE = (120, 36)


async def test_a_killed_broker_is_the_toast_when_its_closed_connection_comes_in_the_same_batch() -> None:
    # Two batches a second: the broker's death and the close it causes arrive together.
    app = ExplorerApp(Workspace(), demo=False, max_rate_hz=2)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        broker = app.workspace.broker
        assert isinstance(broker, BrokerProcess)
        os.kill(broker.pid, signal.SIGKILL)

        def errors() -> list[str]:
            return [e.layer for e in app.workspace.trace if isinstance(e, ErrorReported)]

        await settle(pilot, lambda: "broker" in errors() and not app.workspace.connected, rounds=2000)

        def broker_toasted() -> bool:
            return any(
                str(n.message).startswith("broker: the embedded broker process was killed by signal 9")
                for n in app._notifications
            )

        # Mostly one batch holds both errors; when the close comes a batch earlier, the broker's
        # toast still follows (it is never rate-limited away).
        await settle(pilot, broker_toasted, rounds=500)
