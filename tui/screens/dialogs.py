"""Small modal dialogs: ask for a line of text, confirm an action, subscribe to a filter.

Each returns its answer through ``dismiss`` (``None`` when cancelled with Escape), so
callers use ``push_screen(dialog, callback)`` or ``push_screen_wait`` in a worker.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

__all__ = ["ConfirmScreen", "PromptScreen", "SubscribeScreen"]

DIALOG_CSS = """
.dialog { width: 72; height: auto; border: thick $accent; background: $surface; padding: 1 2; }
.dialog Label { width: 1fr; margin-bottom: 1; }
.dialog .buttons { height: auto; margin-top: 1; align-horizontal: right; }
.dialog .buttons Button { margin-left: 1; }
"""


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text."""

    DEFAULT_CSS = "PromptScreen { align: center middle; }" + DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, value: str = "", *, placeholder: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            with Horizontal(classes="buttons"):
                yield Button("OK", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.dismiss(self.query_one("#prompt-input", Input).value)
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no; Enter on the focused button, ``y``/``n`` as shortcuts."""

    DEFAULT_CSS = "ConfirmScreen { align: center middle; }" + DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "No"),
        Binding("y", "answer(True)", "Yes"),
    ]

    def __init__(self, question: str, *, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            with Horizontal(classes="buttons"):
                yield Button(self.yes, variant="error", id="yes")
                yield Button("Cancel", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class SubscribeScreen(ModalScreen[tuple[str, int] | None]):
    """A topic filter and the QoS to subscribe with."""

    DEFAULT_CSS = "SubscribeScreen { align: center middle; }" + DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, topic_filter: str = "#", title: str = "Subscribe to a topic filter") -> None:
        super().__init__()
        self.topic_filter = topic_filter
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text + " (+ one level, # the rest)")
            yield Input(self.topic_filter, placeholder="sensors/+/temperature", id="sub-filter")
            yield Select[int](
                [("QoS 0", 0), ("QoS 1", 1), ("QoS 2", 2)], value=0, allow_blank=False, id="sub-qos"
            )
            with Horizontal(classes="buttons"):
                yield Button("Subscribe", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def _answer(self) -> tuple[str, int] | None:
        text = self.query_one("#sub-filter", Input).value.strip()
        qos = self.query_one("#sub-qos", Select).value
        if not text:
            return None
        return text, qos if isinstance(qos, int) else 0

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(self._answer())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self._answer() if event.button.id == "ok" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
