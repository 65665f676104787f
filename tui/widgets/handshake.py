"""The HTTP upgrade of the current connection: raw request and response, subprotocol, extensions.

The raw bytes are shown as they went over the wire (control characters escaped by
:func:`explorer.present.payload.escape_text`); secret headers are already masked by the
decoder before the events reach the views.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from explorer.model.events import HandshakeRequest, HandshakeResponse
from explorer.present.payload import escape_text

__all__ = ["HandshakeView", "handshake_text"]


def _raw(raw: bytes) -> str:
    return escape_text(raw.decode("latin-1").replace("\r\n", "\n")).rstrip("\n")


def handshake_text(request: HandshakeRequest | None, response: HandshakeResponse | None) -> Text:
    text = Text()
    if request is None and response is None:
        text.append("No WebSocket handshake on this connection yet.", "dim")
        return text
    if response is not None:
        text.append("Status: ", "bold")
        ok = response.status == 101
        text.append(f"{response.status} {response.reason}\n", "green" if ok else "bold red")
        text.append("Subprotocol: ", "bold")
        text.append(f"{response.subprotocol or '(none negotiated)'}\n")
        text.append("Extensions: ", "bold")
        text.append(f"{response.extensions or '(none)'}\n")
    if request is not None:
        offered = [value for name, value in request.headers if name.lower() == "sec-websocket-protocol"]
        text.append("Offered subprotocols: ", "bold")
        text.append(f"{', '.join(offered) or '(none)'}\n")
        text.append(f"\n── request ({len(request.raw)} B) ──\n", "bold cyan")
        text.append(_raw(request.raw) + "\n", "cyan")
    if response is not None:
        text.append(f"\n── response ({len(response.raw)} B) ──\n", "bold green")
        text.append(_raw(response.raw) + "\n", "green")
    return text


class HandshakeView(VerticalScroll, can_focus=True):
    """Shows the latest handshake of the session; focusable so the keys scroll it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("home,g", "scroll_home", "Top", show=False),
        Binding("end,G", "scroll_end", "Bottom", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.request: HandshakeRequest | None = None
        self.response: HandshakeResponse | None = None

    def compose(self) -> ComposeResult:
        yield Static(handshake_text(None, None), id="handshake-text")

    def observe(self, event: HandshakeRequest | HandshakeResponse) -> None:
        if isinstance(event, HandshakeRequest):
            self.request = event
            self.response = None
        else:
            self.response = event
        self.query_one("#handshake-text", Static).update(handshake_text(self.request, self.response))

    def clear(self) -> None:
        """Show no handshake (a file is about to fill the views)."""
        self.request = self.response = None
        self.query_one("#handshake-text", Static).update(handshake_text(None, None))

    @property
    def plain(self) -> str:
        return handshake_text(self.request, self.response).plain
