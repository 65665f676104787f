"""The decoded-payload view both explorers show: a tree of the value, the image, the numbers.

Made from a :class:`explorer.codecs.Decoded` (the raw bytes always beside it). Nothing is
cut silently: above the display cap (:data:`DISPLAY_CAP`, at least 1 MB) the views say
"showing N of M bytes", and copying or saving always takes the whole payload. Also
here: the rows of the Sparkplug B view (nodes, devices, metrics with their latest
values), series for charts of a decoded field or a Sparkplug metric, a block-character
preview of an image for terminals without graphics, and encoding typed input for the
publish forms. Pure: no toolkit, no I/O (the front ends write files and the clipboard).
"""

from __future__ import annotations

import base64
import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.codecs.base import Decoded, ImageInfo
    from explorer.codecs.registry import CodecRegistry
    from explorer.codecs.sparkplug_state import SparkplugTracker
    from explorer.codecs.stream import MessageDecoder
    from explorer.model.topictree import TopicMessage
    from explorer.present.publish import OutgoingMessage

__all__ = [
    "DISPLAY_CAP",
    "PUBLISH_CHOICES",
    "SPARKPLUG_EMPTY",
    "TREE_ROW_LIMIT",
    "CopyKind",
    "DecodedView",
    "PublishPayload",
    "SparkRow",
    "TreeRow",
    "block_preview",
    "copy_payload",
    "decoded_diff",
    "encode_for_publish",
    "field_series",
    "history_text",
    "metric_series",
    "rebirth_request",
    "save_name",
    "size_note",
    "sparkplug_notice_lines",
    "sparkplug_rows",
    "sparkplug_title",
    "structured",
    "tree_rows",
    "with_codec",
]

DISPLAY_CAP = 1024 * 1024
"""Bytes of a payload the views show by default; above it they say how much is shown."""

TREE_ROW_LIMIT = 5000
"""Rows of a decoded tree built for display; the last row says how many more there are."""

PUBLISH_CHOICES = (
    ("raw", "payload as typed (UTF-8)"),
    ("json", "JSON (checked, compact)"),
    ("msgpack", "JSON → MessagePack"),
    ("cbor", "JSON → CBOR"),
    ("protobuf", "JSON → Protobuf (message type)"),
    ("sparkplug", "JSON → Sparkplug B payload"),
    ("hex", "hex digits → bytes"),
    ("base64", "base64 → bytes"),
    ("gzip+json", "JSON, gzip-compressed"),
)
"""What the publish forms offer, (codec, label): typed JSON sent as MessagePack, CBOR or Protobuf..."""

CopyKind = Literal["hex", "base64", "text"]


def size_note(shown: int, total: int) -> str:
    """The one wording for a view that shows part of a payload."""
    return f"showing {shown:,} of {total:,} bytes"


@dataclass(frozen=True, slots=True)
class TreeRow:
    """One line of the decoded tree, in document order; ``depth`` 0 is the top level."""

    depth: int
    key: str
    value: str  # the leaf's text, or "{3}" / "[5]" for containers
    path: str  # as numeric fields are named: a.b[0].c
    kind: Literal["object", "array", "string", "number", "bool", "null", "bytes", "more"]


def _leaf(value: Any) -> tuple[str, Literal["string", "number", "bool", "null", "bytes"]]:
    if value is None:
        return "null", "null"
    if isinstance(value, bool):
        return ("true" if value else "false"), "bool"
    if isinstance(value, (int, float)):
        return f"{value}", "number"
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > 200:
        text = text[:200] + f"… ({len(value):,} characters)"
    return text, "string"


def tree_rows(value: Any, *, limit: int = TREE_ROW_LIMIT) -> list[TreeRow]:
    """The value as indented rows; at most ``limit``, then one row saying how many were left."""
    rows: list[TreeRow] = []
    skipped = 0
    stack: list[tuple[int, str, str, Any]] = [(0, "", "", value)]
    while stack:
        depth, key, path, item = stack.pop()
        if len(rows) >= limit:
            skipped += 1
            continue
        if isinstance(item, dict) and set(item) == {"$base64"}:
            size = len(base64.b64decode(item["$base64"]))
            rows.append(TreeRow(depth, key, f"<{size:,} B> {item['$base64'][:60]}", path, "bytes"))
        elif isinstance(item, dict):
            rows.append(TreeRow(depth, key, f"{{{len(item)}}}", path, "object"))
            children = [(depth + 1, str(k), f"{path}.{k}" if path else str(k), v) for k, v in item.items()]
            stack.extend(reversed(children))
        elif isinstance(item, list):
            rows.append(TreeRow(depth, key, f"[{len(item)}]", path, "array"))
            stack.extend(reversed([(depth + 1, f"[{i}]", f"{path}[{i}]", v) for i, v in enumerate(item)]))
        else:
            text, kind = _leaf(item)
            rows.append(TreeRow(depth, key, text, path, kind))
    if skipped:
        rows.append(TreeRow(0, "…", f"{skipped:,} more items not shown", "", "more"))
    return rows


@dataclass(frozen=True, slots=True)
class DecodedView:
    """What a decoded view shows for one payload."""

    codec: str
    header: str  # "msgpack · 150 B · rule sensors/#"
    error: str | None
    text: str  # the display text, capped
    rows: tuple[TreeRow, ...]
    image: ImageInfo | None
    numbers: tuple[str, ...]  # numeric field paths, for the chart's field choice
    note: str | None  # "showing N of M bytes" when the payload is above the cap
    notices: tuple[str, ...] = ()  # Sparkplug: seq gaps, data before birth, rebirth requests
    file_name: str = "payload.bin"  # offered when saving the payload

    @classmethod
    def of(
        cls, decoded: Decoded, *, cap: int = DISPLAY_CAP, notices: Sequence[str] = (), topic: str = ""
    ) -> DecodedView:
        cap = max(cap, DISPLAY_CAP)
        size = len(decoded.raw)
        how = f" · {decoded.note}" if decoded.note else ""
        header = f"{decoded.codec} · {size:,} B{how}"
        note = size_note(cap, size) if size > cap else None
        file_name = save_name(topic, decoded if decoded.error is None else None)
        if decoded.error is not None:
            return cls(
                decoded.codec, header, decoded.error, "", (), None, (), note, tuple(notices), file_name
            )
        full = decoded.display
        if full is None and decoded.text_of is not None:
            full = decoded.text_of(decoded.value)
        if full is None:
            full = json.dumps(decoded.value, ensure_ascii=False, default=str)
        text = full[:cap]
        if len(full) > cap:
            note = note or f"showing {cap:,} of {len(full):,} characters of the decoded text"
        rows = () if decoded.image is not None else tuple(tree_rows(decoded.value))
        return cls(
            decoded.codec,
            header,
            None,
            text,
            rows,
            decoded.image,
            tuple(decoded.numbers),
            note,
            tuple(notices),
            file_name,
        )


def structured(decoded: Decoded) -> bool:
    """Whether the views show this decoding instead of the bytes' text (not text, JSON or raw)."""
    return decoded.ok and decoded.codec not in ("text", "json", "raw")


def decoded_diff(old: Decoded, new: Decoded, *, context: int = 3) -> list[str]:
    """A unified diff of two decoded values (pretty JSON, sorted keys), for the Diff views.

    Used when the payloads are MessagePack, CBOR, Protobuf, Sparkplug B or compressed,
    whose bytes would diff as hex. Empty when the decoded values are the same.
    """

    def lines(decoded: Decoded) -> list[str]:
        if decoded.error is not None:
            return [f"({decoded.codec}: {decoded.error})"]
        return json.dumps(
            decoded.value, indent=2, sort_keys=True, ensure_ascii=False, default=str
        ).splitlines()

    return list(
        difflib.unified_diff(
            lines(old),
            lines(new),
            fromfile=f"previous ({old.codec})",
            tofile=f"current ({new.codec})",
            n=context,
            lineterm="",
        )
    )


def history_text(decoded: Decoded, width: int = 60) -> str:
    """One line for a history row: the decoded display text, cut to ``width`` characters."""
    text = decoded.text if decoded.error is None else f"[{decoded.codec}: {decoded.error}]"
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def copy_payload(raw: bytes, kind: CopyKind) -> str:
    """The whole payload for the clipboard: hex, base64, or text (invalid UTF-8 replaced)."""
    if kind == "hex":
        return raw.hex(" ")
    if kind == "base64":
        return base64.b64encode(raw).decode("ascii")
    return raw.decode("utf-8", "replace")


_EXTENSIONS = {
    "json": ".json",
    "msgpack": ".msgpack",
    "cbor": ".cbor",
    "protobuf": ".pb",
    "protobuf-wire": ".pb",
    "sparkplug": ".pb",
    "text": ".txt",
}
_UNSAFE = re.compile(r"[^\w.-]+")


def save_name(topic: str, decoded: Decoded | None) -> str:
    """A file name to offer when saving a payload: the topic, and an extension for its type."""
    base = _UNSAFE.sub("_", topic).strip("_") or "payload"
    if decoded is None:
        return base + ".bin"
    if decoded.image is not None:
        return base + "." + ("jpg" if decoded.image.format == "jpeg" else decoded.image.format)
    layers = decoded.codec.split("+")
    if layers[0] == "gzip":
        return base + ".gz"
    if layers[0] == "zstd":
        return base + ".zst"
    return base + _EXTENSIONS.get(decoded.codec, ".bin")


def field_series(
    messages: Iterable[TopicMessage], decoder: MessageDecoder, path: str
) -> list[tuple[float, float]]:
    """``(time, value)`` of a decoded numeric field over a topic's kept messages (decoded now)."""
    out: list[tuple[float, float]] = []
    for message in messages:
        decoded = decoder.decode(message.topic, message.payload, message.properties.content_type).decoded
        number = decoded.numbers.get(path) if decoded.ok else None
        if number is not None:
            out.append((message.time, number))
    return out


@dataclass(frozen=True, slots=True)
class SparkRow:
    """One row of the Sparkplug view: an edge node, a device, or a metric with its latest value."""

    level: Literal["node", "device", "metric"]
    label: str
    value: str
    detail: str
    key: tuple[str, str, str | None, str | None]  # (group, edge node, device, metric)
    numeric: bool = False


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def sparkplug_rows(tracker: SparkplugTracker) -> list[SparkRow]:
    """Every node, its devices, and their metrics with the latest value, in a stable order."""
    rows: list[SparkRow] = []
    for node in sorted(tracker, key=lambda n: (n.group, n.edge_node)):
        state = "online" if node.online else ("offline" if node.born else "no NBIRTH seen")
        detail = f"seq {node.seq if node.seq is not None else '-'}  bdSeq {node.bd_seq}"
        if node.gaps:
            detail += f"  {node.gaps} seq gaps"
        if node.rebirth_requests:
            detail += f"  {node.rebirth_requests} rebirth requests"
        rows.append(
            SparkRow("node", f"{node.group}/{node.edge_node}", state, detail, (*node.key, None, None))
        )
        rows.extend(_metric_rows(node.metrics, (*node.key, None)))
        for device in sorted(node.devices.values(), key=lambda d: d.name):
            device_state = "online" if device.online else ("offline" if device.born else "no DBIRTH seen")
            rows.append(SparkRow("device", device.name, device_state, "", (*node.key, device.name, None)))
            rows.extend(_metric_rows(device.metrics, (*node.key, device.name)))
    return rows


def _metric_rows(metrics: Any, key: tuple[str, str, str | None]) -> list[SparkRow]:
    out = []
    for name in sorted(metrics):
        metric = metrics[name]
        detail = metric.datatype or ""
        if metric.alias is not None:
            detail += f"  alias {metric.alias}"
        numeric = isinstance(metric.value, (int, float)) and not isinstance(metric.value, bool)
        out.append(SparkRow("metric", name, _value_text(metric.value), detail.strip(), (*key, name), numeric))
    return out


def metric_series(
    tracker: SparkplugTracker, key: tuple[str, str, str | None, str | None]
) -> list[tuple[float, float]]:
    """The kept numeric values of one Sparkplug metric, oldest first."""
    group, edge, device, metric = key
    node = tracker.nodes.get((group, edge))
    if node is None or metric is None:
        return []
    metrics = node.metrics if device is None else getattr(node.devices.get(device), "metrics", {})
    state = metrics.get(metric)
    return list(state.history) if state is not None else []


def rebirth_request(group: str, edge_node: str, now_ms: int) -> tuple[str, bytes]:
    """Topic and payload of the NCMD that asks an edge node for new births (``Node Control/Rebirth``).

    What a Sparkplug host application sends when it lacks a node's BIRTH (Sparkplug 3.0,
    [tck-id-topics-nbirth-rebirth-metric]); published at QoS 0, not retained.
    """
    from explorer.codecs.sparkplug import encode_payload

    payload = encode_payload(
        {
            "timestamp": now_ms,
            "metrics": [{"name": "Node Control/Rebirth", "datatype": "Boolean", "value": True}],
        }
    )
    return f"spBv1.0/{group}/NCMD/{edge_node}", payload


_BlockPixel = tuple[int, int, int]


def block_preview(
    data: bytes, width: int = 32, max_rows: int = 16
) -> list[list[tuple[_BlockPixel, _BlockPixel]]]:
    """An image as rows of half-block cells ``(top colour, bottom colour)``, for a terminal.

    Each character cell shows two pixels (``▀`` with the top as foreground, the bottom as
    background). Empty when the image cannot be read.
    """
    try:
        import io

        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return []
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((width, max_rows * 2))
            rgb = image.convert("RGB")
            pixels = rgb.load()
            w, h = rgb.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return []
    if pixels is None:
        return []
    rows = []
    for y in range(0, h, 2):
        row = []
        for x in range(w):
            top = pixels[x, y]
            bottom = pixels[x, y + 1] if y + 1 < h else top
            row.append((_rgb(top), _rgb(bottom)))
        rows.append(row)
    return rows


def _rgb(pixel: Any) -> _BlockPixel:
    if isinstance(pixel, tuple):
        return (int(pixel[0]), int(pixel[1]), int(pixel[2]))
    return (int(pixel), int(pixel), int(pixel))


@dataclass(frozen=True, slots=True)
class PublishPayload:
    payload: bytes
    content_type: str | None  # for MQTT 5


def with_codec(
    message: OutgoingMessage, registry: CodecRegistry, codec: str, message_type: str | None = None
) -> OutgoingMessage:
    """The publish form's message with its typed payload encoded by ``codec`` (``raw``: as typed).

    The MQTT 5 content type is set to match unless the form gave one (MQTT 5.0 §3.3.2.3.9).

    Raises:
        ExplorerError: the typed payload does not fit the codec (one line).
    """
    if codec == "raw":
        return message
    encoded = encode_for_publish(registry, codec, message.payload.decode("utf-8", "replace"), message_type)
    properties = message.properties
    if codec not in ("json", "text") and properties.payload_format_indicator:
        properties = replace(properties, payload_format_indicator=None)  # binary: not UTF-8 text
    if encoded.content_type and not properties.content_type:
        properties = replace(properties, content_type=encoded.content_type)
    return replace(message, payload=encoded.payload, properties=properties)


def encode_for_publish(
    registry: CodecRegistry, codec: str, text: str, message: str | None = None
) -> PublishPayload:
    """Typed input encoded as the publish form's codec says; a one-line error otherwise.

    Raises:
        ExplorerError: the input does not fit (not JSON, not hex, unknown message type).
    """
    from explorer.codecs.base import CodecError
    from explorer.codecs.registry import content_type_for

    try:
        full = registry.schemas.resolve(message) if codec == "protobuf" and message else message
        payload = registry.encode(codec, text, full)
    except CodecError as exc:
        raise ExplorerError(f"{codec}: {exc}") from None
    return PublishPayload(payload, content_type_for(codec, full))


SPARKPLUG_EMPTY = "No Sparkplug B traffic yet (topics spBv1.0/...)."
"""What the Sparkplug view says before any Sparkplug B message arrived."""


def sparkplug_title(rows: list[SparkRow]) -> tuple[str, bool]:
    """The Sparkplug view's title, and whether it names nodes (the views draw that in bold)."""
    nodes = sum(1 for row in rows if row.level == "node")
    if not nodes:
        return SPARKPLUG_EMPTY, False
    return f"Sparkplug B: {nodes} edge node{'s' if nodes != 1 else ''}", True


def sparkplug_notice_lines(tracker: SparkplugTracker, *, per_node: int = 3, shown: int = 6) -> list[str]:
    """The newest notices (seq gaps, DATA before BIRTH, rebirth requests), ``! `` first, newest last."""
    notices = [notice for node in tracker for notice in list(node.notices)[-per_node:]]
    return [f"! {notice}" for notice in notices[-shown:]]
