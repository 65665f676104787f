"""Protobuf with the user's schema: dynamic messages from a compiled descriptor set.

:class:`ProtoSchemas` holds the message types of ``.proto`` files compiled by
:mod:`explorer.codecs.protoc` (a ``FileDescriptorSet``, as ``protoc
--descriptor_set_out`` writes it) in a protobuf ``DescriptorPool``; message classes are
made with ``message_factory.GetMessageClass``. Decoding turns a message into JSON-like
values keeping numbers as numbers (protobuf's own JSON mapping writes 64-bit integers
as strings, which a chart cannot plot). No I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from explorer.codecs.base import CodecError, DecodeContext, Decoded, bytes_value

if TYPE_CHECKING:  # protobuf itself is imported when a schema is first used (start-up time)
    from google.protobuf import descriptor_pb2, descriptor_pool
    from google.protobuf.descriptor import Descriptor, FieldDescriptor
    from google.protobuf.message import Message

__all__ = ["ProtoSchemas", "ProtobufCodec", "message_to_value"]


class ProtoSchemas:
    """The message types known from compiled ``.proto`` files."""

    def __init__(self) -> None:
        self._pool_made: descriptor_pool.DescriptorPool | None = None
        self._files: list[str] = []
        self._messages: list[str] = []
        self._classes: dict[str, type[Message]] = {}

    @classmethod
    def from_descriptor_set(cls, data: bytes) -> ProtoSchemas:
        schemas = cls()
        schemas.add_descriptor_set(data)
        return schemas

    @property
    def _pool(self) -> descriptor_pool.DescriptorPool:
        if self._pool_made is None:
            from google.protobuf import descriptor_pool

            self._pool_made = descriptor_pool.DescriptorPool()
        return self._pool_made

    def add_descriptor_set(self, data: bytes) -> None:
        """Add every file of a serialized ``FileDescriptorSet`` (imports first, as protoc writes them)."""
        from google.protobuf import descriptor_pb2
        from google.protobuf.message import DecodeError

        file_set = descriptor_pb2.FileDescriptorSet()
        try:
            file_set.ParseFromString(data)
        except DecodeError as exc:
            raise CodecError(f"not a compiled descriptor set: {exc}") from None
        for proto in file_set.file:
            if proto.name in self._files:
                continue
            try:
                self._pool.Add(proto)
            except (TypeError, ValueError) as exc:
                raise CodecError(f"{proto.name}: {exc}") from None
            self._files.append(proto.name)
            prefix = f"{proto.package}." if proto.package else ""
            self._messages.extend(_message_names(prefix, proto.message_type))

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(self._files)

    @property
    def message_names(self) -> tuple[str, ...]:
        """Every message type, fully qualified (``acme.Telemetry``), nested ones included."""
        return tuple(self._messages)

    def resolve(self, name: str) -> str:
        """The full name of ``name``, which may omit the package when that is unambiguous."""
        name = name.lstrip(".")
        if name in self._messages:
            return name
        matches = [full for full in self._messages if full.endswith("." + name)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            known = ", ".join(self._messages[:8]) or "none: load .proto files with --proto FILE"
            raise CodecError(f"unknown Protobuf message type {name!r} (known: {known})")
        raise CodecError(f"Protobuf message type {name!r} is ambiguous: {', '.join(matches)}")

    def message_class(self, name: str) -> type[Message]:
        full = self.resolve(name)
        cls = self._classes.get(full)
        if cls is None:
            from google.protobuf import message_factory

            cls = message_factory.GetMessageClass(self._pool.FindMessageTypeByName(full))
            self._classes[full] = cls
        return cls

    def decode(self, name: str, payload: bytes) -> Message:
        message = self.message_class(name)()
        try:
            message.ParseFromString(payload)
        except (_decode_error(), RuntimeError, ValueError) as exc:
            raise CodecError(f"not a {self.resolve(name)} message: {_one_line(exc)}") from None
        return message

    def encode(self, name: str, value: Any) -> bytes:
        from google.protobuf import json_format
        from google.protobuf.message import EncodeError

        message = self.message_class(name)()
        try:
            json_format.ParseDict(value, message)
            return message.SerializeToString()
        except (json_format.ParseError, EncodeError, TypeError, ValueError) as exc:
            raise CodecError(f"cannot make a {self.resolve(name)} message: {_one_line(exc)}") from None


@cache
def _decode_error() -> type[Exception]:
    """protobuf's ``DecodeError`` (imported where a message is read: protobuf is loaded then)."""
    from google.protobuf.message import DecodeError

    return DecodeError


def _message_names(prefix: str, messages: Iterable[descriptor_pb2.DescriptorProto]) -> list[str]:
    out: list[str] = []
    for message in messages:
        if message.options.map_entry:
            continue
        full = prefix + message.name
        out.append(full)
        out.extend(_message_names(full + ".", message.nested_type))
    return out


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


# FieldDescriptor.TYPE_BYTES, TYPE_ENUM, TYPE_MESSAGE (descriptor.proto's field types)
_TYPE_BYTES, _TYPE_ENUM, _TYPE_MESSAGE = 12, 14, 11


def _scalar(field: FieldDescriptor, value: Any) -> Any:
    if field.type == _TYPE_BYTES:
        return bytes_value(value)
    if field.type == _TYPE_ENUM and field.enum_type is not None:
        enum_value = field.enum_type.values_by_number.get(value)
        return enum_value.name if enum_value is not None else value
    if field.type == _TYPE_MESSAGE:
        return message_to_value(value)
    return value


def _is_map(field: FieldDescriptor) -> bool:
    message_type: Descriptor | None = field.message_type
    return message_type is not None and message_type.GetOptions().map_entry


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def message_to_value(message: Message) -> dict[str, Any]:
    """A message's set fields as JSON-like values, by field name; numbers stay numbers."""
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        if _is_map(field) and field.message_type is not None:
            value_field = field.message_type.fields_by_name["value"]
            out[field.name] = {str(k): _scalar(value_field, v) for k, v in value.items()}
        elif _is_repeated(field):
            out[field.name] = [_scalar(field, item) for item in value]
        else:
            out[field.name] = _scalar(field, value)
    return out


class ProtobufCodec:
    """Protobuf with a message type from the loaded schemas; without one, nothing to decode."""

    name = "protobuf"
    ceiling = 0
    label = "Protobuf (with .proto files)"

    def __init__(self, schemas: ProtoSchemas | None = None) -> None:
        self.schemas = schemas if schemas is not None else ProtoSchemas()

    def sniff(self, payload: bytes, context: DecodeContext) -> int:
        return 0  # a schema is chosen by a rule or a content type, never guessed

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded:
        if not context.message_type:
            raise CodecError("no Protobuf message type: give one as --codec FILTER=protobuf:MESSAGE")
        message = self.schemas.decode(context.message_type, payload)
        value = message_to_value(message)
        full = self.schemas.resolve(context.message_type)
        return Decoded(self.name, payload, value, note=full)

    def encode(self, value: Any, message_type: str | None) -> bytes:
        if not message_type:
            raise CodecError("no Protobuf message type: give one as --codec protobuf:MESSAGE")
        return self.schemas.encode(message_type, value)
