"""The embedded MQTT broker: WebSocket and TCP listeners over a Sans-I/O core.

``explorer.broker.state`` holds the MQTT semantics (no I/O, time injected);
``explorer.broker.server`` drives it with ``asyncio.Protocol`` listeners. In-process
use (tests, the Workspace)::

    from explorer.broker import Broker, BrokerConfig

    async with Broker(BrokerConfig.ephemeral(demo=True)) as broker:
        print(broker.ws_url)  # ws://127.0.0.1:PORT/mqtt

``Broker`` is imported lazily so that importing the state machine does not load asyncio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import FAULT_MODES, Faults, parse_faults

if TYPE_CHECKING:
    from explorer.broker.server import Broker

__all__ = ["FAULT_MODES", "Broker", "BrokerConfig", "Faults", "parse_faults"]


def __getattr__(name: str) -> Any:
    if name == "Broker":
        from explorer.broker.server import Broker

        return Broker
    raise AttributeError(f"module 'explorer.broker' has no attribute {name!r}")
