"""The handshake view: the HTTP upgrade request and response, byte for byte.

Credentials in ``Authorization`` headers arrive masked (the decoder applies :mod:`explorer.masking`).
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import QTextBrowser, QWidget

from explorer.model.events import HandshakeRequest, HandshakeResponse

__all__ = ["HandshakeView"]


class HandshakeView(QTextBrowser):
    """Shows the latest upgrade request and response of the connection."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request: HandshakeRequest | None = None
        self.response: HandshakeResponse | None = None
        self.setHtml("<p>No WebSocket handshake yet.</p>")

    def clear(self) -> None:
        """Show no handshake (a file is about to fill the views)."""
        self.request = self.response = None
        self.setHtml("<p>No WebSocket handshake yet.</p>")

    def add(self, event: HandshakeRequest | HandshakeResponse) -> None:
        if isinstance(event, HandshakeRequest):
            self.request, self.response = event, None
        else:
            self.response = event
        self._render()

    def _render(self) -> None:
        parts = []
        if self.request is not None:
            text = self.request.raw.decode("latin-1")
            parts.append(f"<h4>Request → ({len(self.request.raw)} B)</h4><pre>{html.escape(text)}</pre>")
        if self.response is not None:
            response = self.response
            text = response.raw.decode("latin-1")
            verdict = f"subprotocol: {response.subprotocol or 'none'}"
            if response.extensions:
                verdict += f" · extensions: {response.extensions}"
            parts.append(
                f"<h4>Response ← ({len(response.raw)} B) · {html.escape(verdict)}</h4>"
                f"<pre>{html.escape(text)}</pre>"
            )
        self.setHtml("".join(parts) or "<p>No WebSocket handshake yet.</p>")
