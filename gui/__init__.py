"""The desktop explorer (PySide6 + qasync). Views only: all protocol logic lives in ``explorer``.

``gui.launcher`` is the ``mqttws-explorer`` entry point and imports no Qt; ``gui.app``
starts the window; ``gui.bridge`` is the one QObject between the views and the Workspace.
"""

from __future__ import annotations

__all__: list[str] = []
