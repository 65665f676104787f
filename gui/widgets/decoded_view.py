"""The Decoded tab of the desktop message panel: the payload read by its codec.

Renders :class:`explorer.present.decoded.DecodedView`: a tree of the decoded value, the
image itself for images (a QPixmap, small images enlarged without smoothing), or the
codec's one-line error above the raw bytes. Copy as hex, base64 or text and Save take
the whole payload.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.present.decoded import CopyKind, DecodedView, TreeRow, copy_payload

__all__ = ["DecodedPanel"]


class DecodedPanel(QWidget):
    """One payload's decoded view; :meth:`show_view` with the view model and the raw bytes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: DecodedView | None = None
        self.raw = b""
        self._shown: tuple[str, bytes] | None = None
        self.header = QLabel("")
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.header.setWordWrap(True)
        self.notices = QLabel("")
        self.notices.setWordWrap(True)
        self.notices.setStyleSheet("color: #c07000")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Key", "Value"])
        self.tree.setColumnWidth(0, 220)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        image_scroll = QScrollArea()
        image_scroll.setWidgetResizable(True)
        image_scroll.setWidget(self.image)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.stack = QStackedWidget()
        for widget in (self.tree, image_scroll, self.error):
            self.stack.addWidget(widget)
        buttons = QHBoxLayout()
        for label, kind in (("Copy hex", "hex"), ("Copy base64", "base64"), ("Copy text", "text")):
            button = QPushButton(label)
            button.clicked.connect(lambda _checked=False, k=kind: self.copy(k))
            buttons.addWidget(button)
        save = QPushButton("Save payload…")
        save.clicked.connect(self.save)
        buttons.addWidget(save)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.notices)
        layout.addLayout(buttons)
        layout.addWidget(self.stack, 1)

    def show_view(self, view: DecodedView | None, raw: bytes) -> None:
        self.view, self.raw = view, raw
        if view is None:
            self.header.setText("No message")
            self.notices.setVisible(False)
            self.tree.clear()
            self._shown = None
            return
        note = f"   <i>{view.note}</i>" if view.note else ""
        self.header.setText(f"<b>{view.header}</b>{note}")
        self.notices.setText("\n".join(f"! {notice}" for notice in view.notices))
        self.notices.setVisible(bool(view.notices))
        key = (view.codec, raw)
        if key == self._shown:
            return
        self._shown = key
        if view.error is not None:
            shown = raw[:256].hex(" ")
            more = " …" if len(raw) > 256 else ""
            self.error.setText(f"Cannot decode: {view.error}\n\nRaw bytes ({len(raw):,} B):\n{shown}{more}")
            self.stack.setCurrentIndex(2)
        elif view.image is not None:
            pixmap = QPixmap()
            if pixmap.loadFromData(raw):
                scale = max(1, min(8, 320 // max(pixmap.width(), 1)))
                if scale > 1:
                    pixmap = pixmap.scaled(
                        pixmap.width() * scale,
                        pixmap.height() * scale,
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.FastTransformation,
                    )
                self.image.setPixmap(pixmap)
            else:
                self.image.setText(f"{view.image.format.upper()} image that Qt cannot draw")
            self.stack.setCurrentIndex(1)
        else:
            self._fill_tree(view.rows)
            self.stack.setCurrentIndex(0)

    def _fill_tree(self, rows: tuple[TreeRow, ...]) -> None:
        tree = self.tree
        tree.setUpdatesEnabled(False)
        tree.clear()
        parents: list[QTreeWidgetItem | None] = [None]
        for row in rows:
            if row.depth == 0 and row.kind in ("object", "array"):
                continue
            depth = max(row.depth, 1)
            del parents[depth:]
            parent = parents[-1]
            item = QTreeWidgetItem([row.key, row.value])
            item.setData(0, Qt.ItemDataRole.UserRole, row.path)
            if parent is None:
                tree.addTopLevelItem(item)
            else:
                parent.addChild(item)
            if row.kind in ("object", "array"):
                parents.append(item)
        tree.expandAll()
        tree.setUpdatesEnabled(True)

    def copy(self, kind: CopyKind) -> None:
        QGuiApplication.clipboard().setText(copy_payload(self.raw, kind))

    def save(self) -> None:
        if self.view is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save payload", self.view.file_name)
        if path:
            self.save_to(path)

    def save_to(self, path: str) -> str:
        """Write the whole payload; returns what the status bar says."""
        try:
            Path(path).write_bytes(self.raw)
        except OSError as exc:
            return f"cannot save {path}: {exc.strerror or exc}"
        return f"saved {len(self.raw):,} B to {path}"
