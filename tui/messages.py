"""Messages the panes send each other through the screen (never protocol objects' owners).

A pane never reaches into another pane: the topic tree says which topic was chosen, the
frame list says which frame, a link in the frame detail asks for a jump, and the main
screen routes each to whoever shows it.
"""

from __future__ import annotations

from textual.message import Message

from explorer.model.events import FrameEvent
from explorer.model.topictree import TopicNode

__all__ = ["FrameJump", "FrameSelected", "TopicSelected"]


class TopicSelected(Message):
    """The user moved to a topic node in the tree (the message pane follows it)."""

    def __init__(self, node: TopicNode) -> None:
        super().__init__()
        self.node = node


class FrameSelected(Message):
    """The cursor of the frame list rests on a frame (the detail pane shows it)."""

    def __init__(self, frame: FrameEvent, position: int | None = None) -> None:
        super().__init__()
        self.frame = frame
        self.position = position  # in the trace, when known: the frame's packets follow it


class FrameJump(Message):
    """Move the frame list to another frame: a link between frames of one packet."""

    def __init__(self, conn: int, direction: str, index: int) -> None:
        super().__init__()
        self.conn = conn
        self.direction = direction
        self.index = index
