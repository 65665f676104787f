"""The window's widgets. Each draws core models and sends intents through the bridge."""

from __future__ import annotations

__all__: list[str] = []
