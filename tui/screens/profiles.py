"""Connection profiles: pick one to connect, create, edit or delete; or connect to a URL once.

Profiles live in :class:`~explorer.profiles.store.ProfileStore` (``profiles.toml``); a typed
password goes with the profile to the store, which moves it to the keyring and keeps
only a reference in the file. An empty password field when editing keeps the stored
password; "forget password" removes it. Nothing here writes a secret anywhere itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from explorer.client.options import ConnectionOptions, parse_url
from explorer.errors import ExplorerError
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Subscription
from explorer.profiles.format import Profile, ProfileName, check_name
from explorer.profiles.store import ProfileStore
from explorer.workspace import Workspace
from tui.screens.dialogs import ConfirmScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.lists import VimOptionList

if TYPE_CHECKING:
    from tui.app import ExplorerApp

__all__ = ["ProfilesScreen", "parse_subscriptions"]

_VERSIONS = [("MQTT 3.1.1", int(ProtocolVersion.V311)), ("MQTT 5", int(ProtocolVersion.V5)), ("MQTT 3.1", 3)]


def parse_subscriptions(text: str) -> tuple[Subscription, ...]:
    """``filter[:qos]`` separated by commas or spaces, e.g. ``sensors/#:1, alerts/+``."""
    subs = []
    for item in text.replace(",", " ").split():
        topic, sep, qos_text = item.rpartition(":")
        if not sep or not qos_text.isdigit():
            topic, qos_text = item, "0"
        qos = int(qos_text)
        if qos not in (0, 1, 2):
            raise ExplorerError(f"subscription {item!r}: QoS must be 0, 1 or 2")
        subs.append(Subscription(topic, qos=qos))
    return tuple(subs)


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
    ProfilesScreen #profiles-box { width: 110; height: 90%; border: thick $accent; background: $surface; }
    ProfilesScreen #profile-list-box { width: 32; border-right: tall $panel; padding: 0 1; }
    ProfilesScreen #profile-list { height: 1fr; }
    ProfilesScreen #profile-form { width: 1fr; padding: 0 1; scrollbar-gutter: stable; }
    ProfilesScreen Label { margin-top: 1; }
    ProfilesScreen .buttons { height: auto; margin-top: 1; }
    ProfilesScreen .buttons Button { margin-right: 1; }
    ProfilesScreen #profile-result { height: auto; margin-top: 1; }
    """

    def __init__(self, workspace: Workspace, store: ProfileStore | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.store = store or workspace.profile_store or ProfileStore(secrets=workspace.secret_store)
        self.editing: Profile | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="profiles-box"):
            with Vertical(id="profile-list-box"):
                yield Static(Text("Profiles", "bold"))
                yield VimOptionList(id="profile-list")
                yield Button("New (ctrl+n)", id="new")
            with VerticalScroll(id="profile-form"):
                yield Label("Name")
                yield Input(placeholder="letters, digits, . _ @ + -", id="profile-name")
                yield Label("Broker URL")
                yield Input(placeholder="wss://broker.example.com/mqtt", id="profile-url")
                yield Label("MQTT version")
                yield Select[int](
                    _VERSIONS, value=int(ProtocolVersion.V311), allow_blank=False, id="profile-version"
                )
                yield Label("User name")
                yield Input(id="profile-username")
                yield Label("Password (goes to the keyring; empty keeps the stored one)")
                yield Input(password=True, id="profile-password")
                yield Checkbox("forget the stored password", id="profile-forget")
                yield Label("Subscriptions (filter[:qos], comma separated; empty means #)")
                yield Input(placeholder="sensors/#:1, alerts/+", id="profile-subs")
                yield Label("Notes")
                yield Input(id="profile-notes")
                with Horizontal(classes="buttons"):
                    yield Button("Connect (ctrl+o)", variant="primary", id="connect")
                    yield Button("Save (ctrl+s)", variant="success", id="save")
                    yield Button("Delete (ctrl+d)", variant="error", id="delete")
                    yield Button("Close", id="close")
                yield Static("", id="profile-result")
        yield KeyBar()

    def on_mount(self) -> None:
        self.reload()
        profiles = self.query_one("#profile-list", OptionList)
        # With nothing to pick, the first keystrokes belong to the new profile's name.
        if profiles.option_count:
            profiles.focus()
        else:
            self.query_one("#profile-name", Input).focus()

    # -- helpers --------------------------------------------------------------------------

    def _say(self, text: str, *, error: bool = False) -> None:
        self.query_one("#profile-result", Static).update(Text(text, "red" if error else "green"))

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

    def _fill(self, profile: Profile | None) -> None:
        self.editing = profile
        options = profile.options if profile is not None else ConnectionOptions(url="")
        self.query_one("#profile-name", Input).value = profile.name if profile is not None else ""
        self.query_one("#profile-url", Input).value = options.url
        self.query_one("#profile-version", Select).value = int(options.mqtt_version)
        self.query_one("#profile-username", Input).value = options.username or ""
        self.query_one("#profile-password", Input).value = ""
        has_password = profile is not None and "password" in profile.secret_refs
        forget = self.query_one("#profile-forget", Checkbox)
        forget.value = False
        forget.disabled = not has_password
        subs = profile.subscriptions if profile is not None else ()
        self.query_one("#profile-subs", Input).value = ", ".join(
            f"{s.topic_filter}:{s.qos}" if s.qos else s.topic_filter for s in subs
        )
        self.query_one("#profile-notes", Input).value = profile.notes if profile is not None else ""

    def form_profile(self) -> Profile:
        """The profile the form describes (with the typed password, if any)."""
        name = check_name(self.query_one("#profile-name", Input).value.strip())
        url = self.query_one("#profile-url", Input).value.strip()
        if not url:
            raise ExplorerError("give the broker URL, e.g. ws://localhost:9001/mqtt")
        parse_url(url)  # a clear error now rather than at connect time
        version = self.query_one("#profile-version", Select).value
        username = self.query_one("#profile-username", Input).value.strip() or None
        password = self.query_one("#profile-password", Input).value
        forget = self.query_one("#profile-forget", Checkbox).value
        base = self.editing.options if self.editing is not None and self.editing.name == name else None
        changes: dict[str, object] = {
            "url": url,
            "mqtt_version": ProtocolVersion(version if isinstance(version, int) else 4),
            "username": username,
        }
        if password:
            changes["password"] = password.encode("utf-8")
        options = (base or ConnectionOptions(url=url)).with_changes(**changes)
        refs = dict(self.editing.secret_refs) if self.editing is not None and base is not None else {}
        if forget or password:
            refs.pop("password", None)
        return Profile(
            name=ProfileName(name),
            options=options,
            subscriptions=parse_subscriptions(self.query_one("#profile-subs", Input).value),
            notes=self.query_one("#profile-notes", Input).value.strip(),
            color=self.editing.color if self.editing is not None else None,
            tags=self.editing.tags if self.editing is not None else (),
            secret_refs=refs,
        )

    # -- actions --------------------------------------------------------------------------

    def action_new(self) -> None:
        self._fill(None)
        self.query_one("#profile-name", Input).focus()
        self._say("New profile: fill in the form and save (ctrl+s).")

    def action_save(self) -> Profile | None:
        try:
            profile = self.form_profile()
            saved = self.store.update(profile) if profile.name in self.store else self.store.add(profile)
        except ExplorerError as exc:
            self._say(str(exc), error=True)
            return None
        self.query_one("#profile-password", Input).value = ""
        self.reload(select=saved.name)
        self._fill(self.store.get(saved.name))
        self._say(
            f"saved profile {saved.name!r}" + (" (password in the keyring)" if saved.secret_refs else "")
        )
        return saved

    def action_delete(self) -> None:
        name = self.query_one("#profile-name", Input).value.strip()
        if not name or name not in self.store:
            self._say("select a saved profile to delete", error=True)
            return

        def done(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.store.remove(name)
            except ExplorerError as exc:
                self._say(str(exc), error=True)
                return
            self.reload()
            self._fill(None)
            self._say(f"deleted profile {name!r}")

        self.app.push_screen(
            ConfirmScreen(f"Delete profile {name!r} and its keyring secrets?", yes="Delete"), done
        )

    @work(exclusive=True, group="profile-connect", exit_on_error=False)
    async def action_connect(self) -> None:
        """Connect with the form's profile (saved first when it changed)."""
        name = self.query_one("#profile-name", Input).value.strip()
        try:
            if name:
                profile = self.action_save()
                if profile is None:
                    return
                options = self.store.to_options(self.store.get(profile.name))
                subs = tuple((s.topic_filter, int(s.qos)) for s in profile.subscriptions) or (("#", 0),)
            else:
                url = self.query_one("#profile-url", Input).value.strip()
                parse_url(url)
                options = ConnectionOptions(url=url)
                subs = (("#", 0),)
        except ExplorerError as exc:
            self._say(str(exc), error=True)
            return
        app: ExplorerApp = self.app  # type: ignore[assignment]
        # The app's worker outlives this screen, which closes now.
        app.run_worker(app.connect_to(options, subs), name="connect", exit_on_error=False)
        self.dismiss(name or None)

    def action_close(self) -> None:
        self.dismiss(None)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is None:
            return
        try:
            self._fill(self.store.get(event.option.id))
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
        elif button == "close":
            self.action_close()
