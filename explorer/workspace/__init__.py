"""The Workspace: the one object a front end holds (DESIGN.md).

``Workspace`` lives in :mod:`explorer.workspace.core`; batching in ``batching``, the
status snapshot in ``explorer.present.status``, the front ends' default subscriptions in ``defaults``,
message export in ``export`` and publish presets in ``saved``. Front ends import
everything they need from here.
"""

from __future__ import annotations

from explorer.present.status import ConnectionStatus
from explorer.workspace.batching import Batch
from explorer.workspace.core import ClientFactory, TraceFormat, Workspace
from explorer.workspace.defaults import DEFAULT_SUBSCRIPTIONS, EMBEDDED_SUBSCRIPTIONS, Subscriptions
from explorer.workspace.export import MessageFormat, export_messages
from explorer.workspace.saved import SavedMessage, SavedMessages

__all__ = [
    "DEFAULT_SUBSCRIPTIONS",
    "EMBEDDED_SUBSCRIPTIONS",
    "Batch",
    "ClientFactory",
    "ConnectionStatus",
    "MessageFormat",
    "SavedMessage",
    "SavedMessages",
    "Subscriptions",
    "TraceFormat",
    "Workspace",
    "export_messages",
]
