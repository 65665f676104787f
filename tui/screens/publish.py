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
from explorer.present.decoded import PUBLISH_CHOICES, with_codec
from explorer.present.publish import MQTT5_SECTION, PublishForm, parse_user_properties
from explorer.workspace import SavedMessage, Workspace
from tui.screens.dialogs import PromptScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.lists import VimOptionList

__all__ = ["PublishScreen", "parse_user_properties"]


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
                    yield Select[str](
                        [(label, name) for name, label in PUBLISH_CHOICES],
                        value="raw",
                        allow_blank=False,
                        id="pub-codec",
                    )
                    yield Input(
                        placeholder="Protobuf message type (with --proto files)", id="pub-message-type"
                    )
                with Horizontal(classes="row"):
                    yield Select[int](
                        [("QoS 0", 0), ("QoS 1", 1), ("QoS 2", 2)], value=0, allow_blank=False, id="pub-qos"
                    )
                    yield Checkbox("retain", id="pub-retain")
                yield Static(MQTT5_SECTION, classes="section")
                with Horizontal(classes="row"):
                    yield Input(placeholder="content type", id="pub-content-type")
                    yield Input(placeholder="message expiry (s)", id="pub-expiry", type="integer")
                with Horizontal(classes="row"):
                    yield Input(placeholder="response topic", id="pub-response-topic")
                    yield Input(placeholder="correlation data", id="pub-correlation")
                yield Checkbox("payload is UTF-8 text (payload format indicator)", id="pub-utf8")
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

    def _codec(self) -> tuple[str, str | None]:
        """The publish codec chosen, and the Protobuf message type typed."""
        codec = self.query_one("#pub-codec", Select).value
        message_type = self.query_one("#pub-message-type", Input).value.strip() or None
        return (codec if isinstance(codec, str) else "raw"), message_type

    def form(self) -> PublishForm:
        """The dialog's values, as typed; :class:`PublishForm` checks them."""
        qos = self.query_one("#pub-qos", Select).value
        return PublishForm(
            topic=self.query_one("#pub-topic", Input).value,
            payload=self.query_one("#pub-payload", TextArea).text,
            qos=qos if isinstance(qos, int) else 0,
            retain=self.query_one("#pub-retain", Checkbox).value,
            content_type=self.query_one("#pub-content-type", Input).value,
            message_expiry=self.query_one("#pub-expiry", Input).value,
            response_topic=self.query_one("#pub-response-topic", Input).value,
            correlation_data=self.query_one("#pub-correlation", Input).value,
            user_properties=self.query_one("#pub-user-props", TextArea).text,
            payload_is_utf8=self.query_one("#pub-utf8", Checkbox).value,
        )

    def _say(self, text: str, *, error: bool = False) -> None:
        result = self.query_one("#pub-result", Static)
        result.update(text)
        result.styles.color = "red" if error else "green"

    # -- actions ---------------------------------------------------------------------------

    @work(exclusive=True, group="publish", exit_on_error=False)
    async def action_send(self) -> None:
        try:
            message = self.form().message()
            codec, message_type = self._codec()
            message = with_codec(message, self.workspace.payloads.registry, codec, message_type)
            await self.workspace.publish(
                message.topic,
                message.payload,
                qos=message.qos,
                retain=message.retain,
                properties=message.properties,
            )
        except (ExplorerError, OSError) as exc:
            self._say(str(exc) or type(exc).__name__, error=True)
            return
        self.sent += 1
        retained = ", retained" if message.retain else ""
        self._say(
            f"sent {len(message.payload)} B to {message.topic} (QoS {message.qos}{retained}) — #{self.sent}"
        )

    def action_save(self) -> None:
        def done(name: str | None) -> None:
            if not name:
                return
            try:
                form = self.form()
                form.message()  # a preset is saved only when it could be sent
                self.workspace.saved_messages.save(SavedMessage(name=name.strip(), **form.saved_fields()))
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
        form = PublishForm.from_saved(self.workspace.saved_messages.get(name))
        self.query_one("#pub-topic", Input).value = form.topic
        self.query_one("#pub-payload", TextArea).text = form.payload
        self.query_one("#pub-qos", Select).value = form.qos
        self.query_one("#pub-retain", Checkbox).value = form.retain
        self.query_one("#pub-content-type", Input).value = form.content_type
        self.query_one("#pub-user-props", TextArea).text = form.user_properties
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
