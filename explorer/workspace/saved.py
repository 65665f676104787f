"""Saved messages: publish presets kept next to the profiles, never with secrets.

A saved message is a topic, a payload, QoS, retain and a few MQTT 5 properties that a
user publishes again and again ("turn the lamp on"). They live in
``saved_messages.json`` in the profiles' configuration directory. Payloads are stored
as UTF-8 text when they are text and as base64 otherwise, so the file stays readable.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.errors import ExplorerError

__all__ = ["SAVED_MESSAGES_FILE", "SavedMessage", "SavedMessages"]

SAVED_MESSAGES_FILE = "saved_messages.json"


@dataclass(frozen=True, slots=True)
class SavedMessage:
    """A publish preset. ``user_properties`` and ``content_type`` apply to MQTT 5 only."""

    name: str
    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    content_type: str | None = None
    user_properties: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "topic": self.topic,
            "qos": self.qos,
            "retain": self.retain,
        }
        try:
            data["payload"] = self.payload.decode("utf-8")
        except UnicodeDecodeError:
            data["payload_base64"] = base64.b64encode(self.payload).decode("ascii")
        if self.content_type is not None:
            data["content_type"] = self.content_type
        if self.user_properties:
            data["user_properties"] = [list(pair) for pair in self.user_properties]
        return data

    @classmethod
    def from_json(cls, data: Any) -> SavedMessage:
        """Build from a JSON object; raises ``ValueError`` naming the bad field."""
        if not isinstance(data, dict):
            raise ValueError("a saved message must be a JSON object")
        name, topic = data.get("name"), data.get("topic")
        if not isinstance(name, str) or not name:
            raise ValueError("a saved message needs a non-empty 'name'")
        if not isinstance(topic, str):
            raise ValueError(f"saved message {name!r} needs a 'topic' string")
        if "payload_base64" in data:
            payload = base64.b64decode(str(data["payload_base64"]), validate=True)
        else:
            payload = str(data.get("payload", "")).encode("utf-8")
        qos = data.get("qos", 0)
        if qos not in (0, 1, 2):
            raise ValueError(f"saved message {name!r} has QoS {qos!r}; use 0, 1 or 2")
        content_type = data.get("content_type")
        pairs = data.get("user_properties", [])
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs
        ):
            raise ValueError(f"saved message {name!r} has invalid 'user_properties'")
        return cls(
            name=name,
            topic=topic,
            payload=payload,
            qos=int(qos),
            retain=bool(data.get("retain", False)),
            content_type=content_type if isinstance(content_type, str) else None,
            user_properties=tuple((k, v) for k, v in pairs),
        )


class SavedMessages:
    """The saved messages of one configuration directory, kept in name order.

    Read lazily; every change is written at once (atomically: temporary file + rename),
    so two front ends started one after the other see the same presets.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._items: dict[str, SavedMessage] | None = None

    def _load(self) -> dict[str, SavedMessage]:
        if self._items is not None:
            return self._items
        items: dict[str, SavedMessage] = {}
        if self.path.exists():
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(raw, list):
                    raise ValueError("the file must hold a JSON list")
                for entry in raw:
                    message = SavedMessage.from_json(entry)
                    items[message.name] = message
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise ExplorerError(f"cannot read saved messages from {self.path}: {exc}") from None
        self._items = items
        return items

    def __iter__(self) -> Iterator[SavedMessage]:
        items = self._load()
        return iter([items[name] for name in sorted(items)])

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, name: object) -> bool:
        return name in self._load()

    def get(self, name: str) -> SavedMessage:
        try:
            return self._load()[name]
        except KeyError:
            raise ExplorerError(f"there is no saved message named {name!r}") from None

    def save(self, message: SavedMessage) -> None:
        """Add or replace (by name) one saved message."""
        if not message.name:
            raise ExplorerError("a saved message needs a name")
        items = dict(self._load())
        items[message.name] = message
        self._write(items)

    def remove(self, name: str) -> None:
        items = dict(self._load())
        if items.pop(name, None) is None:
            raise ExplorerError(f"there is no saved message named {name!r}")
        self._write(items)

    def _write(self, items: dict[str, SavedMessage]) -> None:
        data = [items[name].to_json() for name in sorted(items)]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".saved-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle, indent=2, ensure_ascii=False)
                    handle.write("\n")
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise ExplorerError(
                f"cannot write saved messages to {self.path}: {exc.strerror or exc}"
            ) from None
        self._items = items
