"""Qt item models over the core's models (TopicTree, TraceBuffer, topic history)."""

from __future__ import annotations

from gui.models.topic_model import TopicFilterProxy, TopicTreeModel
from gui.models.trace_model import TraceFilter, TraceTableModel

__all__ = ["TopicFilterProxy", "TopicTreeModel", "TraceFilter", "TraceTableModel"]
