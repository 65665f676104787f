"""Sparkplug B: the topic namespace, the payload and its metrics as plain values.

Eclipse Sparkplug 3.0.0. Topics are ``spBv1.0/GROUP/TYPE/EDGE_NODE[/DEVICE]`` (§4.1.1,
[tck-id-topic-structure]) and ``spBv1.0/STATE/HOST`` for a host application, whose
payload is JSON (§4.1.2, not Protobuf). Payloads follow §6.4 (schema in
``sparkplug_b.proto``). A metric's value sits in the oneof field its datatype uses
(§6.4.16): signed 8-, 16- and 32-bit integers travel as ``uint32`` and 64-bit ones as
``uint64``, read back here as two's complement; arrays travel as little-endian bytes
(§6.4.17). A metric sent by alias only (§6.4.6, after a BIRTH gave its name,
[tck-id-payloads-alias-birth-requirement]) is named from the aliases given in the
context, kept by :mod:`explorer.codecs.sparkplug_state`. No I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from explorer.codecs.base import CodecError, DecodeContext, Decoded, bytes_value, display_json
from explorer.codecs.protobuf import ProtoSchemas, message_to_value

if TYPE_CHECKING:
    from google.protobuf.message import Message

__all__ = [
    "NAMESPACE",
    "DataType",
    "MessageType",
    "SparkplugCodec",
    "SparkplugTopic",
    "decode_payload",
    "encode_payload",
    "parse_topic",
]

NAMESPACE = "spBv1.0"
_PAYLOAD = "mqttws.sparkplug.b.SpPayload"


class MessageType(IntEnum):
    """Sparkplug message types (§4.1.1, the ``message_type`` topic element)."""

    NBIRTH = 1
    NDEATH = 2
    DBIRTH = 3
    DDEATH = 4
    NDATA = 5
    DDATA = 6
    NCMD = 7
    DCMD = 8
    STATE = 9


class DataType(IntEnum):
    """Metric datatypes (§6.4.16)."""

    Unknown = 0
    Int8 = 1
    Int16 = 2
    Int32 = 3
    Int64 = 4
    UInt8 = 5
    UInt16 = 6
    UInt32 = 7
    UInt64 = 8
    Float = 9
    Double = 10
    Boolean = 11
    String = 12
    DateTime = 13
    Text = 14
    UUID = 15
    DataSet = 16
    Bytes = 17
    File = 18
    Template = 19
    PropertySet = 20
    PropertySetList = 21
    Int8Array = 22
    Int16Array = 23
    Int32Array = 24
    Int64Array = 25
    UInt8Array = 26
    UInt16Array = 27
    UInt32Array = 28
    UInt64Array = 29
    FloatArray = 30
    DoubleArray = 31
    BooleanArray = 32
    StringArray = 33
    DateTimeArray = 34


_SIGNED_BITS = {DataType.Int8: 8, DataType.Int16: 16, DataType.Int32: 32, DataType.Int64: 64}
_ARRAY_FORMATS = {
    DataType.Int8Array: "b",
    DataType.Int16Array: "h",
    DataType.Int32Array: "i",
    DataType.Int64Array: "q",
    DataType.UInt8Array: "B",
    DataType.UInt16Array: "H",
    DataType.UInt32Array: "I",
    DataType.UInt64Array: "Q",
    DataType.FloatArray: "f",
    DataType.DoubleArray: "d",
    DataType.DateTimeArray: "q",
}
_VALUE_FIELDS = (
    "int_value",
    "long_value",
    "float_value",
    "double_value",
    "boolean_value",
    "string_value",
    "bytes_value",
    "dataset_value",
    "template_value",
    "extension_value",
)


@dataclass(frozen=True, slots=True)
class SparkplugTopic:
    group: str
    message_type: MessageType
    edge_node: str
    device: str | None = None

    @property
    def node_key(self) -> tuple[str, str]:
        return (self.group, self.edge_node)


def parse_topic(topic: str) -> SparkplugTopic | None:
    """The parts of a Sparkplug B topic, or None when the topic is not one (§4.1.1)."""
    if not topic.startswith(NAMESPACE + "/"):
        return None
    parts = topic.split("/")
    if len(parts) == 3 and parts[1] == "STATE":  # spBv1.0/STATE/host_id (§4.1.2)
        return SparkplugTopic("", MessageType.STATE, parts[2])
    if len(parts) not in (4, 5):
        return None
    try:
        kind = MessageType[parts[2]]
    except KeyError:
        return None
    if kind == MessageType.STATE:
        return None
    device = parts[4] if len(parts) == 5 else None
    if (device is None) != (
        kind in (MessageType.NBIRTH, MessageType.NDEATH, MessageType.NDATA, MessageType.NCMD)
    ):
        return None
    return SparkplugTopic(parts[1], kind, parts[3], device)


_SCHEMAS: ProtoSchemas | None = None


def schemas() -> ProtoSchemas:
    """The compiled Sparkplug B schema, loaded on first use."""
    global _SCHEMAS
    if _SCHEMAS is None:
        from explorer.codecs.sparkplug_schema import DESCRIPTOR_SET

        _SCHEMAS = ProtoSchemas.from_descriptor_set(DESCRIPTOR_SET)
    return _SCHEMAS


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _array(datatype: DataType, data: bytes) -> list[Any]:
    if datatype == DataType.StringArray:  # §6.4.17: null-terminated UTF-8 strings
        parts = data.split(b"\x00")
        if parts and parts[-1] == b"":
            parts.pop()
        return [part.decode("utf-8", "replace") for part in parts]
    if datatype == DataType.BooleanArray:  # 4-byte little-endian count, then packed bits
        if len(data) < 4:
            raise CodecError("BooleanArray shorter than its 4-byte count")
        count = int.from_bytes(data[:4], "little")
        bits = data[4:]
        if count > len(bits) * 8:
            raise CodecError(f"BooleanArray of {count} values has {len(bits)} bytes")
        return [bool(bits[i // 8] & (0x80 >> (i % 8))) for i in range(count)]
    code = _ARRAY_FORMATS[datatype]
    size = struct.calcsize(code)
    if len(data) % size:
        raise CodecError(f"{datatype.name} of {len(data)} bytes is not a whole number of {size}-byte items")
    return list(struct.unpack(f"<{len(data) // size}{code}", data))


_SIGNED_BITS_BY_NUMBER = {int(k): v for k, v in _SIGNED_BITS.items()}
_ARRAY_NUMBERS = frozenset(int(k) for k in _ARRAY_FORMATS) | {
    int(DataType.StringArray),
    int(DataType.BooleanArray),
}
_DATATYPE_NAMES = {int(member): member.name for member in DataType}
_ONEOFS = frozenset(_VALUE_FIELDS)
_FLAGS = ("is_historical", "is_transient", "is_null")


def _typed(which: str, raw: Any, datatype: int | None) -> Any:
    """A oneof value read as its datatype says (§6.4.16, §6.4.17)."""
    if which in {"double_value", "boolean_value", "string_value"}:
        return raw
    if which in {"int_value", "long_value"}:
        bits = _SIGNED_BITS_BY_NUMBER.get(datatype) if datatype is not None else None
        return _signed(raw, bits) if bits else int(raw)
    if which == "float_value":
        return float(f"{raw:.7g}")  # a 32-bit float's significant digits
    if which == "bytes_value":
        if datatype in _ARRAY_NUMBERS:
            return _array(DataType(datatype), raw)
        return bytes_value(raw)
    if which in (
        "dataset_value",
        "template_value",
        "extension_value",
        "propertyset_value",
        "propertysets_value",
    ):
        return message_to_value(raw)
    return raw


def metric_value(metric: Message, datatype: int | None) -> Any:
    """A metric's (or property's) value as a plain value, read as its datatype says."""
    if getattr(metric, "is_null", False):
        return None
    which = metric.WhichOneof("value")
    if which is None:
        return None
    return _typed(which, getattr(metric, which), datatype)


def _datatype_name(number: int | None) -> str | None:
    if number is None:
        return None
    return _DATATYPE_NAMES.get(number) or f"datatype {number}"


def decode_payload(payload: bytes, aliases: Mapping[int, tuple[str, int]] | None = None) -> dict[str, Any]:
    """A Sparkplug B payload as plain values; metrics named from ``aliases`` where sent by alias.

    ``aliases`` maps alias -> (name, datatype) as the BIRTH gave them. Each message's set
    fields are read once (``ListFields``), which is several times cheaper than asking
    for each field in turn.
    """
    message: Any = schemas().decode(_PAYLOAD, payload)
    out: dict[str, Any] = {}
    metrics: list[dict[str, Any]] = []
    for field, value in message.ListFields():
        name = field.name
        if name == "metrics":
            continue
        out[name] = bytes_value(value) if name == "body" else value
    for metric in message.metrics:
        fields = {field.name: value for field, value in metric.ListFields()}
        item: dict[str, Any] = {}
        name = fields.get("name")
        alias = fields.get("alias")
        datatype = fields.get("datatype")
        if alias is not None and aliases:
            known = aliases.get(alias)
            if known is not None:
                if name is None:
                    name = known[0]
                    item["by_alias"] = True
                if datatype is None:
                    datatype = known[1]
        if name is not None:
            item["name"] = name
        if alias is not None:
            item["alias"] = alias
        if datatype is not None:
            item["datatype"] = _datatype_name(datatype)
        if "timestamp" in fields:
            item["timestamp"] = fields["timestamp"]
        value = None
        if not fields.get("is_null"):
            for key, raw in fields.items():
                if key in _ONEOFS:
                    value = _typed(key, raw, datatype)
                    break
        item["value"] = value
        for flag in _FLAGS:
            if fields.get(flag):
                item[flag] = True
        props = fields.get("properties")
        if props is not None:
            item["properties"] = {
                key: metric_value(prop, prop.type if prop.HasField("type") else None)
                for key, prop in zip(props.keys, props.values, strict=False)
            }
        if "metadata" in fields:
            item["metadata"] = message_to_value(fields["metadata"])
        metrics.append(item)
    out["metrics"] = metrics
    return out


def _metric_key(metric: Mapping[str, Any]) -> str:
    if "name" in metric:
        return str(metric["name"])
    if "alias" in metric:
        return f"alias {metric['alias']}"
    return "metric"


def payload_numbers(value: Mapping[str, Any]) -> dict[str, float]:
    """The numeric metrics by name (booleans are not plotted)."""
    out: dict[str, float] = {}
    for metric in value.get("metrics", ()):
        number = metric.get("value")
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            out[_metric_key(metric)] = float(number)
    return out


def payload_text(value: Mapping[str, Any], topic: SparkplugTopic | None) -> str:
    """One line: message type, seq and ``name=value`` for each metric."""
    head = topic.message_type.name if topic is not None else "Sparkplug B"
    parts = [head]
    if "seq" in value:
        parts.append(f"seq={value['seq']}")
    shown = []
    for metric in value.get("metrics", ())[:50]:
        metric_value_ = metric.get("value")
        text = display_json(metric_value_) if not isinstance(metric_value_, str) else repr(metric_value_)
        shown.append(f"{_metric_key(metric)}={text}")
    more = len(value.get("metrics", ())) - len(shown)
    if more > 0:
        shown.append(f"… {more} more")
    return " ".join(parts) + (" " + ", ".join(shown) if shown else "")


_ONEOF_FOR = {
    DataType.Int8: "int_value",
    DataType.Int16: "int_value",
    DataType.Int32: "int_value",
    DataType.UInt8: "int_value",
    DataType.UInt16: "int_value",
    DataType.UInt32: "long_value",
    DataType.Int64: "long_value",
    DataType.UInt64: "long_value",
    DataType.DateTime: "long_value",
    DataType.Float: "float_value",
    DataType.Double: "double_value",
    DataType.Boolean: "boolean_value",
    DataType.String: "string_value",
    DataType.Text: "string_value",
    DataType.UUID: "string_value",
    DataType.Bytes: "bytes_value",
}


def encode_payload(value: Mapping[str, Any]) -> bytes:
    """Encode ``{"timestamp", "seq", "metrics": [{"name", "alias", "datatype", "value"}]}``.

    ``datatype`` is a :class:`DataType` name or number; only scalar datatypes are written.
    Used by the demo publisher and ``pub --codec sparkplug``.
    """
    message: Any = schemas().message_class(_PAYLOAD)()
    for key in ("timestamp", "seq"):
        if key in value:
            setattr(message, key, int(value[key]))
    if "uuid" in value:
        message.uuid = str(value["uuid"])
    for item in value.get("metrics", ()):
        metric = message.metrics.add()
        if "name" in item:
            metric.name = str(item["name"])
        if "alias" in item:
            metric.alias = int(item["alias"])
        if "timestamp" in item:
            metric.timestamp = int(item["timestamp"])
        datatype_given = item.get("datatype")
        if datatype_given is None:
            continue
        try:
            datatype = (
                DataType[datatype_given] if isinstance(datatype_given, str) else DataType(datatype_given)
            )
        except (KeyError, ValueError):
            raise CodecError(f"unknown Sparkplug datatype {datatype_given!r}") from None
        metric.datatype = int(datatype)
        number = item.get("value")
        if number is None:
            metric.is_null = True
            continue
        field_name = _ONEOF_FOR.get(datatype)
        if field_name is None:
            raise CodecError(f"writing Sparkplug {datatype.name} metrics is not supported")
        if field_name in ("int_value", "long_value"):
            bits = 32 if field_name == "int_value" else 64
            setattr(metric, field_name, int(number) & ((1 << bits) - 1))
        elif field_name == "bytes_value":
            setattr(metric, field_name, bytes(number))
        else:
            try:
                setattr(metric, field_name, number)
            except (TypeError, ValueError) as exc:
                raise CodecError(f"metric {item.get('name')!r}: {exc}") from None
    return bytes(message.SerializeToString())


class SparkplugCodec:
    name = "sparkplug"
    ceiling = 90
    label = "Sparkplug B"
    topic_prefix = NAMESPACE + "/"  # sniff() gives 0 for any other topic

    def sniff(self, payload: bytes, context: DecodeContext) -> int:
        topic = parse_topic(context.topic)
        if topic is None or topic.message_type == MessageType.STATE:
            return 0
        return 90

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded:
        topic = parse_topic(context.topic)
        value = decode_payload(payload, context.aliases)
        return Decoded(
            self.name,
            payload,
            value,
            note=topic.message_type.name if topic is not None else "",
            text_of=lambda decoded_value: payload_text(decoded_value, topic),
            numbers_of=payload_numbers,
        )

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, Mapping):
            raise CodecError('a Sparkplug payload is a JSON object: {"seq": 0, "metrics": [...]}')
        return encode_payload(value)
