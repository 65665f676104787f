"""The publish form both explorers show: its fields, their validation, and the message they make.

The terminal dialog and the desktop panel only copy their widgets' values into a
:class:`PublishForm` and call :meth:`PublishForm.message`; every rule (a topic with no
wildcards, whole seconds for the expiry, ``name=value`` user properties) lives here, with
the sentence the user sees. MQTT 5 properties are left out by the session on a 3.1.1
connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from explorer.errors import ExplorerError
from explorer.mqtt.packets import NO_PROPERTIES, Properties
from explorer.mqtt.topics import validate_topic_name

__all__ = ["MQTT5_SECTION", "OutgoingMessage", "PublishForm", "SavedLike", "parse_user_properties"]

MQTT5_SECTION = "MQTT 5 properties (left out on 3.1.1)"
"""The title over the form's MQTT 5 fields."""

_MAX_EXPIRY = 0xFFFF_FFFF  # Four Byte Integer [MQTT-3.3.2.3.3]


def parse_user_properties(text: str) -> tuple[tuple[str, str], ...]:
    """``name=value`` per line (blank lines skipped).

    Raises:
        ExplorerError: a non-blank line has no ``=`` or no name.
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


class SavedLike(Protocol):
    """The fields of a publish preset (``explorer.workspace.SavedMessage``)."""

    @property
    def topic(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def qos(self) -> int: ...
    @property
    def retain(self) -> bool: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def user_properties(self) -> tuple[tuple[str, str], ...]: ...


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What a valid form publishes."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: Properties


@dataclass(slots=True)
class PublishForm:
    """The publish form's values as typed (strings where the user types)."""

    topic: str = ""
    payload: str = ""
    qos: int = 0
    retain: bool = False
    content_type: str = ""
    message_expiry: str = ""
    response_topic: str = ""
    correlation_data: str = ""
    user_properties: str = ""
    payload_is_utf8: bool = False

    def properties(self) -> Properties:
        """The MQTT 5 properties the form asks for (``NO_PROPERTIES`` for none).

        Raises:
            ExplorerError: a value the specification does not allow, said in one sentence.
        """
        content_type = self.content_type.strip() or None
        expiry_text = self.message_expiry.strip()
        response_topic = self.response_topic.strip() or None
        correlation = self.correlation_data.encode("utf-8") or None
        user_properties = parse_user_properties(self.user_properties)
        try:
            expiry = int(expiry_text) if expiry_text else None
        except ValueError:
            raise ExplorerError(
                f"message expiry must be a whole number of seconds, not {expiry_text!r}"
            ) from None
        if expiry is not None and not 0 <= expiry <= _MAX_EXPIRY:
            raise ExplorerError(f"message expiry must be between 0 and {_MAX_EXPIRY} seconds")
        if response_topic is not None:
            try:
                validate_topic_name(response_topic)  # a topic name, no wildcards [MQTT-3.3.2-14]
            except ExplorerError as exc:
                raise ExplorerError(f"response topic: {exc}") from None
        indicator = 1 if self.payload_is_utf8 else None
        if not (
            content_type
            or expiry is not None
            or response_topic
            or correlation
            or user_properties
            or indicator
        ):
            return NO_PROPERTIES
        return Properties(
            payload_format_indicator=indicator,
            content_type=content_type,
            message_expiry_interval=expiry,
            response_topic=response_topic,
            correlation_data=correlation,
            user_properties=user_properties,
        )

    def message(self) -> OutgoingMessage:
        """The message to publish.

        Raises:
            ExplorerError: no topic, a topic with wildcards, or a bad property.
        """
        topic = self.topic.strip()
        if not topic:
            raise ExplorerError("give a topic to publish to")
        validate_topic_name(topic)  # [MQTT-3.3.2-2]: no wildcards in a PUBLISH topic
        if self.qos not in (0, 1, 2):
            raise ExplorerError(f"QoS must be 0, 1 or 2, not {self.qos}")
        payload = self.payload.encode("utf-8")
        return OutgoingMessage(topic, payload, self.qos, self.retain, self.properties())

    def saved_fields(self) -> dict[str, Any]:
        """The form's fields that a publish preset keeps (``SavedMessage(name=..., **fields)``)."""
        return {
            "topic": self.topic.strip(),
            "payload": self.payload.encode("utf-8"),
            "qos": self.qos,
            "retain": self.retain,
            "content_type": self.content_type.strip() or None,
            "user_properties": parse_user_properties(self.user_properties),
        }

    @classmethod
    def from_saved(cls, item: SavedLike) -> PublishForm:
        """The form filled from a publish preset."""
        return cls(
            topic=item.topic,
            payload=item.payload.decode("utf-8", "replace"),
            qos=item.qos,
            retain=item.retain,
            content_type=item.content_type or "",
            user_properties="\n".join(f"{name}={value}" for name, value in item.user_properties),
        )
