"""Connection profiles: pick one to connect, create, edit, rename or delete; or connect to a URL once.

The form is the presentation layer's (:mod:`explorer.present.profileform`): every field of the
command line, in sections, with each field's error under it and the banner at the top of the
form (with "use this password for this session only" when the keyring refuses). Saving,
renaming and connecting are :class:`~explorer.present.profileedit.ProfileEditor`'s, the same
flow as the desktop editor's. A typed secret goes to the keyring through the store; an empty
secret field keeps the stored value. Nothing here writes a secret anywhere itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from explorer.client.options import ConnectionOptions, parse_url
from explorer.errors import ExplorerError
from explorer.present.profileedit import ProfileEditor, SaveResult
from explorer.present.profileform import (
    FIELDS,
    FieldKind,
    FormField,
    ProfileForm,
    parse_subscriptions,
)
from explorer.profiles.format import Profile
from explorer.profiles.store import ProfileStore
from explorer.workspace import Workspace
from tui.screens.dialogs import ConfirmScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.lists import VimOptionList

if TYPE_CHECKING:
    from tui.app import ExplorerApp

__all__ = ["ProfilesScreen", "parse_subscriptions"]

_NOT_SENT = "(not sent)"


class ProfilesScreen(ModalScreen[str | None]):
    """Profiles on the left, the selected one's form on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+n", "new", "New"),
        Binding("ctrl+s", "save", "Save", priority=True),
        # Priority: an Input would take ctrl+d as "delete right" (the Delete key still does that).
        Binding("ctrl+d", "delete", "Delete", priority=True),
        Binding("ctrl+o", "connect", "Connect", priority=True),
    ]

    DEFAULT_CSS = """
    ProfilesScreen { align: center middle; }
    ProfilesScreen #profiles-box { width: 110; max-width: 100%; height: 90%; border: thick $accent;
        background: $surface; }
    ProfilesScreen #profile-list-box { width: 28; border-right: tall $panel; padding: 0 1; }
    ProfilesScreen #profile-list { height: 1fr; }
    ProfilesScreen #profile-side { width: 1fr; }
    ProfilesScreen #profile-banner-row { height: auto; padding: 0 1; }
    ProfilesScreen #profile-banner { width: 1fr; height: auto; color: $error; text-style: bold; }
    ProfilesScreen #profile-session { display: none; }
    ProfilesScreen #profile-form { height: 1fr; padding: 0 1; scrollbar-gutter: stable; }
    ProfilesScreen .section { margin-top: 1; text-style: bold; color: $accent; }
    ProfilesScreen Label { margin-top: 1; }
    ProfilesScreen TextArea { height: 5; }
    ProfilesScreen .field-error { height: auto; color: $error; display: none; }
    ProfilesScreen .buttons { height: auto; padding: 0 1; }
    ProfilesScreen .buttons Button { margin-right: 1; min-width: 8; }
    ProfilesScreen #profile-result { height: auto; padding: 0 1; }
    """

    def __init__(self, workspace: Workspace, store: ProfileStore | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.store = store or workspace.profile_store or ProfileStore(secrets=workspace.secret_store)
        self.editor = ProfileEditor(self.store)
        self.form = ProfileForm.new()
        self.last_result = SaveResult()

    @property
    def editing(self) -> Profile | None:
        return self.form.original

    def compose(self) -> ComposeResult:
        with Horizontal(id="profiles-box"):
            with Vertical(id="profile-list-box"):
                yield Static(Text("Profiles", "bold"))
                yield VimOptionList(id="profile-list")
                yield Button("New", id="new", tooltip="ctrl+n")
            with Vertical(id="profile-side"):
                with Horizontal(id="profile-banner-row"):
                    yield Static("", id="profile-banner")
                    yield Button("Use for this session only", variant="warning", id="profile-session")
                with VerticalScroll(id="profile-form"):
                    section = ""
                    for item in FIELDS:
                        if item.section != section:
                            section = item.section
                            yield Static(section, classes="section")
                        yield from self._field(item)
                with Horizontal(classes="buttons"):
                    yield Button("Connect", variant="primary", id="connect", tooltip="ctrl+o")
                    yield Button("Save", variant="success", id="save", tooltip="ctrl+s")
                    yield Button("Delete", variant="error", id="delete", tooltip="ctrl+d")
                    yield Button("Close", id="close", tooltip="esc")
                yield Static("", id="profile-result")
        yield KeyBar()

    def _field(self, item: FormField) -> ComposeResult:
        wid = f"profile-{item.key}"
        if item.kind is FieldKind.CHECK:
            yield Checkbox(item.label, id=wid)
        else:
            yield Label(item.label)
            if item.kind is FieldKind.CHOICE:
                choices = [(choice or _NOT_SENT, choice) for choice in item.choices]
                yield Select[str](choices, value=item.choices[0], allow_blank=False, id=wid)
            elif item.kind is FieldKind.LINES:
                yield TextArea("", id=wid, show_line_numbers=False)
            else:
                yield Input(placeholder=item.placeholder, password=item.kind is FieldKind.SECRET, id=wid)
            if item.kind is FieldKind.SECRET:
                yield Checkbox(f"forget the stored {item.label.lower()}", id=f"profile-forget-{item.secret}")
        yield Static("", id=f"profile-error-{item.key}", classes="field-error")

    def on_mount(self) -> None:
        self.reload()
        self.show_form(ProfileForm.new() if self.editing is None else self.form)
        profiles = self.query_one("#profile-list", OptionList)
        # With nothing to pick, the first keystrokes belong to the new profile's name.
        if profiles.option_count:
            profiles.highlighted = 0  # the first profile's form, as in the desktop editor
            profiles.focus()
        else:
            self.query_one("#profile-name", Input).focus()

    # -- the form -------------------------------------------------------------------------

    def show_form(self, form: ProfileForm) -> None:
        """Put ``form``'s values in the widgets."""
        self.form = form
        for item in FIELDS:
            widget = self.query_one(f"#profile-{item.key}")
            value = form.values.get(item.key, "")
            if isinstance(widget, Checkbox):
                widget.value = value is True
            elif isinstance(widget, Select):
                widget.value = str(value) if str(value) in item.choices else item.choices[0]
            elif isinstance(widget, TextArea):
                widget.load_text(str(value))
            elif isinstance(widget, Input):
                widget.value = str(value)
                if item.kind is FieldKind.SECRET:
                    widget.placeholder = form.secret_placeholder(item)
                    forget = self.query_one(f"#profile-forget-{item.secret}", Checkbox)
                    forget.value = item.secret in form.forget
                    forget.disabled = not form.stored(item.secret)
        self._show_errors({})

    def read_form(self) -> ProfileForm:
        """The widgets' values in the form (the profile it was opened on is kept)."""
        form = self.form
        for item in FIELDS:
            widget: Widget = self.query_one(f"#profile-{item.key}")
            if isinstance(widget, Checkbox):
                form.set(item.key, widget.value)
            elif isinstance(widget, Select):
                form.set(item.key, widget.value if isinstance(widget.value, str) else item.choices[0])
            elif isinstance(widget, TextArea):
                form.set(item.key, widget.text)
            elif isinstance(widget, Input):
                form.set(item.key, widget.value)
        form.forget = {
            item.secret
            for item in FIELDS
            if item.kind is FieldKind.SECRET
            and self.query_one(f"#profile-forget-{item.secret}", Checkbox).value
        }
        return form

    def form_profile(self) -> Profile:
        """The profile the form describes (with the typed secrets, if any)."""
        return self.read_form().to_profile()

    def _show_errors(self, errors: dict[str, str]) -> None:
        first: Widget | None = None
        for item in FIELDS:
            label = self.query_one(f"#profile-error-{item.key}", Static)
            text = errors.get(item.key, "")
            label.update(text)
            label.display = bool(text)
            if text and first is None:
                first = self.query_one(f"#profile-{item.key}")
        if first is not None:
            self.query_one("#profile-form", VerticalScroll).scroll_to_widget(first, animate=False, top=True)

    def _show(self, result: SaveResult) -> None:
        self.last_result = result
        self._show_errors(result.errors)
        self.query_one("#profile-banner", Static).update(result.banner or "")
        self.query_one("#profile-session", Button).display = result.keyring_failed
        self.query_one("#profile-result", Static).update(Text(result.message, "green"))

    def _say(self, text: str, *, error: bool = False) -> None:
        self._show(SaveResult(banner=text) if error else SaveResult(message=text))

    def reload(self, select: str | None = None) -> None:
        options = self.query_one("#profile-list", OptionList)
        options.clear_options()
        try:
            profiles = self.store.list()
        except ExplorerError as exc:
            self._say(str(exc), error=True)
            return
        for profile in profiles:
            label = Text(profile.name, "bold")
            label.append(f"\n{profile.options.url}", "dim")
            options.add_option(Option(label, id=profile.name))
        if select is not None:
            for index, profile in enumerate(profiles):
                if profile.name == select:
                    options.highlighted = index
        if not profiles:
            self._say("No profiles yet: fill in the form and save (ctrl+s).")

    # -- actions --------------------------------------------------------------------------

    def action_new(self) -> None:
        self.show_form(ProfileForm.new())
        self.query_one("#profile-name", Input).focus()
        self._say("New profile: fill in the form and save (ctrl+s).")

    def _saved(self, result: SaveResult) -> Profile | None:
        if result.profile is not None:
            self.reload(select=result.profile.name)
            if result.form is not None:
                self.show_form(result.form)
        self._show(result)
        return result.profile

    def action_save(self) -> Profile | None:
        return self._saved(self.editor.save(self.read_form()))

    def action_delete(self) -> None:
        original = self.editing
        if original is None:
            self._say("select a saved profile to delete", error=True)
            return
        name = original.name

        def done(yes: bool | None) -> None:
            if not yes:
                return
            result = self.editor.delete(name)
            if result.ok:
                self.reload()
                self.show_form(ProfileForm.new())
            self._show(result)

        self.app.push_screen(
            ConfirmScreen(f"Delete profile {name!r} and its keyring secrets?", yes="Delete"), done
        )

    @work(exclusive=True, group="profile-connect", exit_on_error=False)
    async def action_connect(self, session_only: bool = False) -> None:
        """Connect with the form's profile (saved first), or to the URL alone without a name."""
        name = self.query_one("#profile-name", Input).value.strip()
        if name:
            result = self.editor.connect(self.read_form(), session_only=session_only)
            profile = self._saved(result)
            options = result.session_options
            if profile is None or options is None or not result.ok:
                return
            subs = tuple((s.topic_filter, int(s.qos)) for s in profile.subscriptions) or (("#", 0),)
        else:
            url = self.query_one("#profile-url", Input).value.strip()
            try:
                parse_url(url)
            except ExplorerError as exc:
                self._show(SaveResult(banner=str(exc), errors={"url": str(exc)}))
                return
            options = ConnectionOptions(url=url)
            subs = (("#", 0),)
        app: ExplorerApp = self.app  # type: ignore[assignment]
        # The app's worker outlives this screen, which closes now.
        app.run_worker(app.connect_to(options, subs), name="connect", exit_on_error=False)
        self.dismiss(name or None)

    def action_close(self) -> None:
        self.dismiss(None)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is None or (self.editing is not None and self.editing.name == event.option.id):
            return
        try:
            self.show_form(self.editor.open(event.option.id))
        except ExplorerError as exc:
            self._say(str(exc), error=True)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#profile-url", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id
        if button == "new":
            self.action_new()
        elif button == "save":
            self.action_save()
        elif button == "delete":
            self.action_delete()
        elif button == "connect":
            self.action_connect()
        elif button == "profile-session":
            self.action_connect(True)
        elif button == "close":
            self.action_close()
