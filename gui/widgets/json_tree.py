"""A foldable tree of a parsed JSON value (the message panel's JSON tab)."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

__all__ = ["JsonTree"]

_MAX_ITEMS = 5000


class JsonTree(QTreeWidget):
    """Keys and values of a JSON document; objects and arrays fold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(3)
        self.setHeaderLabels(["Key", "Value", "Type"])
        self.setUniformRowHeights(True)
        self._items = 0

    def set_value(self, value: Any) -> None:
        self.clear()
        self._items = 0
        root = QTreeWidgetItem(self, ["(root)", "", _type_name(value)])
        self._fill(root, value)
        self.expandToDepth(1)
        self.resizeColumnToContents(0)

    def _fill(self, item: QTreeWidgetItem, value: Any) -> None:
        if isinstance(value, dict):
            children = list(value.items())
        elif isinstance(value, list):
            children = [(f"[{i}]", v) for i, v in enumerate(value)]
        else:
            item.setText(1, json.dumps(value, ensure_ascii=False))
            return
        item.setText(1, f"{len(children)} {'keys' if isinstance(value, dict) else 'items'}")
        for key, child in children:
            self._items += 1
            if self._items > _MAX_ITEMS:
                QTreeWidgetItem(item, ["…", "(more items not shown)", ""])
                return
            node = QTreeWidgetItem(item, [str(key), "", _type_name(child)])
            self._fill(node, child)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
