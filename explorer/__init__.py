"""mqttws-explorer core: MQTT over WebSocket codec, decoder, client, broker and models.

Nothing in this package imports a UI toolkit; the TUI (``tui``) and the GUI (``gui``)
are thin views over :class:`explorer.workspace.Workspace`.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
