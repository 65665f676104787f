"""The publish dialog: topic, multi-line payload, QoS, retain, MQTT 5 properties, saved messages.

The dialog only collects values; the Workspace publishes them (and completes the QoS
flow) and the saved messages live in :class:`~explorer.workspace.SavedMessages`.
MQTT 5 properties are sent as given; a 3.1.1 connection leaves them out.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from explorer.errors import ExplorerError
from explorer.mqtt.packets import NO_PROPERTIES, Properties
from explorer.workspace import SavedMessage, Workspace
from tui.screens.dialogs import PromptScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.lists import VimOptionList

__all__ = ["PublishScreen", "parse_user_properties"]


def parse_user_properties(text: str) -> tuple[tuple[str, str], ...]:
    """``name=value`` per line (blank lines skipped).

    Raises:
        ExplorerError: a non-blank line has no ``=``.
    """
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ExplorerError(f"user property line {number} ({line!r}) is not name=value")
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)


class PublishScreen(ModalScreen[None]):
    """Compose and send one message; keep it as a saved message to send again."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("ctrl+o", "save", "Save as…"),
    ]

    DEFAULT_CSS = """
    PublishScreen { align: center middle; }
    PublishScreen #publish-box { width: 110; height: 90%; border: thick $accent; background: $surface; }
    PublishScreen #publish-form { width: 1fr; padding: 0 1; scrollbar-gutter: stable; }
    PublishScreen #saved-box { width: 30; border-left: tall $panel; padding: 0 1; }
    PublishScreen #saved { height: 1fr; }
    PublishScreen #pub-payload { height: 6; }
    PublishScreen #pub-user-props { height: 3; }
    PublishScreen .row { height: auto; }
    PublishScreen .row > * { width: 1fr; }
    PublishScreen Label { margin-top: 0; }
    PublishScreen #pub-result { height: auto; }
    PublishScreen .buttons { height: auto; }
    PublishScreen .buttons Button { margin-right: 1; }
    """

    def __init__(self, workspace: Workspace, *, topic: str = "") -> None:
        super().__init__()
        self.workspace = workspace
        self.topic = topic
        self.sent = 0

    def compose(self) -> ComposeResult:
        with Horizontal(id="publish-box"):
            with VerticalScroll(id="publish-form"):
                yield Label("Topic")
                yield Input(self.topic, placeholder="sensors/kitchen/temperature", id="pub-topic")
                yield Label("Payload")
                yield TextArea("", id="pub-payload", soft_wrap=True, show_line_numbers=False)
                with Horizontal(classes="row"):
                    yield Select[int](
                        [("QoS 0", 0), ("QoS 1", 1), ("QoS 2", 2)], value=0, allow_blank=False, id="pub-qos"
                    )
                    yield Checkbox("retain", id="pub-retain")
                yield Static("MQTT 5 properties (left out on 3.1.1)", classes="section")
                with Horizontal(classes="row"):
                    yield Input(placeholder="content type", id="pub-content-type")
                    yield Input(placeholder="message expiry (s)", id="pub-expiry", type="integer")
                with Horizontal(classes="row"):
                    yield Input(placeholder="response topic", id="pub-response-topic")
                    yield Input(placeholder="correlation data", id="pub-correlation")
                yield Label("User properties (name=value per line)")
                yield TextArea("", id="pub-user-props", show_line_numbers=False)
                with Horizontal(classes="buttons"):
                    yield Button("Send (ctrl+s)", variant="primary", id="send")
                    yield Button("Save as… (ctrl+o)", id="save")
                    yield Button("Close (esc)", id="close")
                yield Static("", id="pub-result")
            with Vertical(id="saved-box"):
                yield Static("Saved messages", classes="section")
                yield VimOptionList(id="saved")
                yield Button("Delete saved", id="delete-saved")
        yield KeyBar()

    def on_mount(self) -> None:
        self._reload_saved()
        target = "#pub-payload" if self.topic else "#pub-topic"
        self.query_one(target).focus()

    # -- form values ---------------------------------------------------------------------

    def _properties(self) -> Properties:
        content_type = self.query_one("#pub-content-type", Input).value.strip() or None
        expiry_text = self.query_one("#pub-expiry", Input).value.strip()
        response_topic = self.query_one("#pub-response-topic", Input).value.strip() or None
        correlation = self.query_one("#pub-correlation", Input).value.encode("utf-8") or None
        user_properties = parse_user_properties(self.query_one("#pub-user-props", TextArea).text)
        try:
            expiry = int(expiry_text) if expiry_text else None
        except ValueError:
            raise ExplorerError(
                f"message expiry must be a whole number of seconds, not {expiry_text!r}"
            ) from None
        if expiry is not None and not 0 <= expiry <= 0xFFFFFFFF:
            raise ExplorerError("message expiry must be between 0 and 4294967295 seconds")
        if not (content_type or expiry is not None or response_topic or correlation or user_properties):
            return NO_PROPERTIES
        return Properties(
            content_type=content_type,
            message_expiry_interval=expiry,
            response_topic=response_topic,
            correlation_data=correlation,
            user_properties=user_properties,
        )

    def _values(self) -> tuple[str, bytes, int, bool]:
        topic = self.query_one("#pub-topic", Input).value
        if not topic:
            raise ExplorerError("give a topic to publish to")
        payload = self.query_one("#pub-payload", TextArea).text.encode("utf-8")
        qos = self.query_one("#pub-qos", Select).value
        retain = self.query_one("#pub-retain", Checkbox).value
        return topic, payload, qos if isinstance(qos, int) else 0, retain

    def _say(self, text: str, *, error: bool = False) -> None:
        result = self.query_one("#pub-result", Static)
        result.update(text)
        result.styles.color = "red" if error else "green"

    # -- actions ---------------------------------------------------------------------------

    @work(exclusive=True, group="publish", exit_on_error=False)
    async def action_send(self) -> None:
        try:
            topic, payload, qos, retain = self._values()
            properties = self._properties()
            await self.workspace.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        except (ExplorerError, OSError) as exc:
            self._say(str(exc) or type(exc).__name__, error=True)
            return
        self.sent += 1
        self._say(
            f"sent {len(payload)} B to {topic} (QoS {qos}{', retained' if retain else ''}) — #{self.sent}"
        )

    def action_save(self) -> None:
        def done(name: str | None) -> None:
            if not name:
                return
            try:
                topic, payload, qos, retain = self._values()
                properties = self._properties()
                self.workspace.saved_messages.save(
                    SavedMessage(
                        name=name.strip(),
                        topic=topic,
                        payload=payload,
                        qos=qos,
                        retain=retain,
                        content_type=properties.content_type,
                        user_properties=properties.user_properties,
                    )
                )
            except (ExplorerError, OSError, ValueError) as exc:
                self._say(f"cannot save: {exc}", error=True)
                return
            self._reload_saved()
            self._say(f"saved as {name.strip()!r}")

        self.app.push_screen(
            PromptScreen("Save this message as", self.query_one("#pub-topic", Input).value), done
        )

    def action_close(self) -> None:
        self.dismiss(None)

    def _saved_names(self) -> list[str]:
        try:
            return [item.name for item in self.workspace.saved_messages]
        except (ExplorerError, OSError, ValueError) as exc:
            self._say(f"cannot read the saved messages: {exc}", error=True)
            return []

    def _reload_saved(self) -> None:
        saved = self.query_one("#saved", OptionList)
        saved.clear_options()
        saved.add_options([Option(name, id=name) for name in self._saved_names()])

    def load_saved(self, name: str) -> None:
        """Fill the form from a saved message."""
        message = self.workspace.saved_messages.get(name)
        self.query_one("#pub-topic", Input).value = message.topic
        self.query_one("#pub-payload", TextArea).text = message.payload.decode("utf-8", "replace")
        self.query_one("#pub-qos", Select).value = message.qos
        self.query_one("#pub-retain", Checkbox).value = message.retain
        self.query_one("#pub-content-type", Input).value = message.content_type or ""
        self.query_one("#pub-user-props", TextArea).text = "\n".join(
            f"{k}={v}" for k, v in message.user_properties
        )
        self._say(f"loaded {name!r}: ctrl+s sends it")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            try:
                self.load_saved(event.option.id)
            except (ExplorerError, KeyError, ValueError) as exc:
                self._say(str(exc), error=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id
        if button == "send":
            self.action_send()
        elif button == "save":
            self.action_save()
        elif button == "close":
            self.dismiss(None)
        elif button == "delete-saved":
            saved = self.query_one("#saved", OptionList)
            if saved.highlighted is None:
                self._say("highlight a saved message to delete", error=True)
                return
            option = saved.get_option_at_index(saved.highlighted)
            if option.id is not None:
                try:
                    self.workspace.saved_messages.remove(option.id)
                except (ExplorerError, KeyError, OSError) as exc:
                    self._say(str(exc), error=True)
                self._reload_saved()
