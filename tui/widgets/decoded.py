"""The Decoded tab: the payload read by its codec, as a tree, an image, or an error beside the bytes.

Renders :class:`explorer.present.decoded.DecodedView`. An image is drawn with the
terminal's graphics (textual-image: Sixel or the Kitty graphics protocol) where the
terminal has them, else as its type and size above a small preview made of half-block
characters. Copy (hex, base64, text) and save always take the whole payload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static, Tree

from explorer.present.decoded import DecodedView, TreeRow, block_preview, copy_payload
from tui.screens.dialogs import PromptScreen

__all__ = ["DecodedPane", "graphics_image_class"]

_KIND_STYLE = {
    "string": "green",
    "number": "cyan",
    "bool": "magenta",
    "null": "dim",
    "bytes": "yellow",
    "more": "italic dim",
}


def graphics_image_class() -> Any | None:
    """textual-image's widget when the terminal draws real pixels (Sixel, Kitty), else None.

    textual-image asks the terminal once, when first imported; ``mqttws-tui`` imports it
    before the app starts (the terminal cannot be asked once Textual runs).
    """
    try:
        from textual_image.renderable import Image as Renderable
        from textual_image.renderable.sixel import Image as Sixel
        from textual_image.renderable.tgp import Image as Kitty
    except ImportError:  # pragma: no cover - textual-image is a dependency
        return None
    if Renderable not in (Sixel, Kitty):
        return None
    from textual_image.widget import Image

    return Image


class DecodedPane(Vertical):
    """One payload's decoded view; :meth:`show` with the view and the raw bytes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+x", "copy('hex')", "Copy hex", show=False),
        Binding("ctrl+b", "copy('base64')", "Copy base64", show=False),
        Binding("ctrl+t", "copy('text')", "Copy text", show=False),
        Binding("ctrl+w", "save", "Save payload", show=False),
    ]

    DEFAULT_CSS = """
    DecodedPane #decoded-header { height: auto; padding: 0 1; background: $boost; }
    DecodedPane #decoded-notices { height: auto; color: $warning; padding: 0 1; }
    DecodedPane #decoded-buttons { height: auto; }
    DecodedPane #decoded-buttons Button { min-width: 10; margin-right: 1; }
    DecodedPane #decoded-tree { height: 1fr; }
    DecodedPane #decoded-image-box { height: auto; max-height: 24; }
    DecodedPane #decoded-preview { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: DecodedView | None = None
        self.raw = b""
        self.topic = ""
        self._tree_key: tuple[str, bytes] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="decoded-header")
        yield Static("", id="decoded-notices")
        with Horizontal(id="decoded-buttons"):
            yield Button("Copy hex ^x", id="copy-hex", compact=True)
            yield Button("Copy base64 ^b", id="copy-base64", compact=True)
            yield Button("Copy text ^t", id="copy-text", compact=True)
            yield Button("Save… ^w", id="save-payload", compact=True)
        with VerticalScroll(id="decoded-image-box"):
            yield Static("", id="decoded-preview")
        yield Tree[str]("decoded", id="decoded-tree")

    def show(self, view: DecodedView | None, raw: bytes, topic: str) -> None:
        self.view, self.raw, self.topic = view, raw, topic
        header = self.query_one("#decoded-header", Static)
        notices = self.query_one("#decoded-notices", Static)
        tree = self.query_one("#decoded-tree", Tree)
        image_box = self.query_one("#decoded-image-box", VerticalScroll)
        if view is None:
            header.update("No message on this topic.")
            notices.update("")
            image_box.display = False
            tree.display = False
            return
        title = Text(view.header, "bold")
        if view.note:
            title.append(f"   {view.note}", "italic yellow")
        if view.error is not None:
            title.append(f"\ncannot decode: {view.error}", "red")
            title.append(f"\nraw bytes: {raw[:64].hex(' ')}{' …' if len(raw) > 64 else ''}", "dim")
        header.update(title)
        notices.update("\n".join(f"! {notice}" for notice in view.notices))
        notices.display = bool(view.notices)
        if view.image is not None:
            image_box.display = True
            tree.display = False
            self._show_image(view, raw)
            return
        image_box.display = False
        tree.display = view.error is None
        key = (view.codec, raw)
        if key != self._tree_key:
            self._tree_key = key
            self._fill_tree(tree, view.rows)

    def _show_image(self, view: DecodedView, raw: bytes) -> None:
        info = view.image
        assert info is not None
        box = self.query_one("#decoded-image-box", VerticalScroll)
        for old in box.query(".graphics-image"):
            old.remove()
        graphics = graphics_image_class()
        caption = Text(f"{info.format.upper()} {info.width}x{info.height} {info.detail}, {len(raw):,} B")
        preview = self.query_one("#decoded-preview", Static)
        if graphics is not None:
            import io

            from PIL import Image as PilImage

            try:
                picture = PilImage.open(io.BytesIO(raw))
                widget = graphics(picture, classes="graphics-image")
                widget.styles.width = min(60, info.width)
                widget.styles.height = "auto"
                box.mount(widget)
                preview.update(caption)
                return
            except (OSError, ValueError):
                pass
        rows = block_preview(raw, width=min(48, max(info.width, 1)), max_rows=16)
        text = caption
        text.append("\n")
        if not rows:
            text.append("(no preview: the image data cannot be read)", "dim")
        for row in rows:
            for top, bottom in row:
                text.append("▀", Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom)))
            text.append("\n")
        preview.update(text)

    @staticmethod
    def _fill_tree(tree: Tree[str], rows: tuple[TreeRow, ...]) -> None:
        tree.clear()
        tree.root.set_label("decoded")
        parents = [tree.root]
        for row in rows:
            if row.depth == 0 and row.kind in ("object", "array"):
                tree.root.set_label(f"{row.value}")
                continue
            depth = max(row.depth, 1)
            del parents[depth:]
            parent = parents[-1]
            label = Text()
            if row.key:
                label.append(f"{row.key}: ", "bold")
            label.append(row.value, _KIND_STYLE.get(row.kind, ""))
            if row.kind in ("object", "array"):
                node = parent.add(label, data=row.path, expand=True)
                parents.append(node)
            else:
                parent.add_leaf(label, data=row.path)
        tree.root.expand()

    # -- actions ---------------------------------------------------------------------------

    def action_copy(self, kind: str) -> None:
        if not self.raw:
            self.notify("nothing to copy", severity="warning")
            return
        text = copy_payload(self.raw, "hex" if kind == "hex" else "base64" if kind == "base64" else "text")
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {len(self.raw):,} B as {kind}")

    def action_save(self) -> None:
        if not self.raw:
            self.notify("nothing to save", severity="warning")
            return
        raw = self.raw

        def done(path: str | None) -> None:
            if not path:
                return
            target = Path(path).expanduser()
            try:
                target.write_bytes(raw)
            except OSError as exc:
                self.notify(f"cannot save {target}: {exc.strerror or exc}", severity="error")
                return
            self.notify(f"saved {len(raw):,} B to {target}")

        name = self.view.file_name if self.view is not None else "payload.bin"
        self.app.push_screen(PromptScreen("Save the payload to", name), done)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button.startswith("copy-"):
            event.stop()
            self.action_copy(button[5:])
        elif button == "save-payload":
            event.stop()
            self.action_save()
