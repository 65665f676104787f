"""The embedded MQTT broker: WebSocket and TCP listeners over a Sans-I/O core.

``explorer.broker.state`` holds the MQTT semantics (no I/O, time injected);
``explorer.broker.server`` drives it with ``asyncio.Protocol`` listeners.
"""

from __future__ import annotations

__all__: list[str] = []
