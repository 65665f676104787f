"""The message view: what both explorers show of a topic's message, made once.

The payload views themselves (text, JSON, hex, base64, diff) are in
:mod:`explorer.present.payload`; this module puts them together for one message of a topic's
kept history, with the sentences the two front ends share:

* :func:`message_header`: the topic, where the message stands in the history, its QoS, retain
  flag, size and kind;
* :func:`diff_view`: the diff against the *previous message* (the one before it in the
  history), as classified lines, or the sentence saying why there is none;
* :func:`property_rows`: the MQTT 5 properties as name/value rows;
* :func:`history_rows`: the kept messages, newest first;
* :func:`chart_view`: the numeric series to plot. A payload that is a number is one series;
  a JSON payload gives one series per numeric field (``{"t": 21, "h": 40, ...}`` charts every
  field, in document order), or the one field chosen. Each payload is parsed once.

Nothing here does I/O or knows a toolkit.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from explorer.codecs.base import Decoded
from explorer.codecs.stream import MessageDecoder
from explorer.model.topictree import TopicMessage, TopicNode
from explorer.model.trace import properties_to_json
from explorer.present.decoded import decoded_diff, field_series, history_text, structured
from explorer.present.payload import (
    diff_payloads,
    extract_field,
    guess_kind,
    json_view,
    numeric_fields,
    parse_number,
    text_view,
)

__all__ = [
    "AUTO_CHART_FIELD",
    "CHART_SERIES_LIMIT",
    "NO_FIELD_NUMBERS",
    "NO_NUMBERS",
    "NO_PREVIOUS",
    "NO_PROPERTIES",
    "SAME_AS_PREVIOUS",
    "ChartSeries",
    "ChartView",
    "DiffLine",
    "DiffView",
    "HistoryRow",
    "MessageHeader",
    "PropertyRow",
    "chart_view",
    "decoded_chart_view",
    "decoded_history_text",
    "diff_view",
    "history_rows",
    "message_header",
    "property_rows",
    "sparkline_text",
]

AUTO_CHART_FIELD = "every numeric field"
"""The chart field choice that plots every numeric field of the payloads."""

NO_PREVIOUS = "No previous message on this topic to compare with."
SAME_AS_PREVIOUS = "Same payload as the previous message."
NO_PROPERTIES = "No MQTT 5 properties on this message."
NO_NUMBERS = "No numeric values in this topic's history: payloads are not numbers or JSON with numbers."
NO_FIELD_NUMBERS = "No numeric values of this field in the topic's history; choose another field."
CHART_SERIES_LIMIT = 12
"""Series charted at once when a JSON payload has many numeric fields (the rest are offered)."""

Stamp = Callable[[float], str]


@dataclass(frozen=True, slots=True)
class MessageHeader:
    """The lines above the views: ``title`` (the topic) and ``detail`` (the message's facts)."""

    title: str
    position: str
    detail: str


def message_header(
    node: TopicNode,
    message: TopicMessage | None,
    *,
    number: int,
    kept: int,
    live: bool,
    stamp: Stamp,
) -> MessageHeader:
    """The header of ``message``, number ``number`` of the ``kept`` messages of ``node``."""
    title = (node.topic or "(root)") + (" · retained" if node.retained else "")
    if message is None:
        return MessageHeader(title, "", f"{node.subtree_count} messages below, none on this topic")
    position = f"message {number} of {kept} ({'live' if live else 'held'})"
    detail = (
        f"{stamp(message.time)} · QoS {message.qos}{' · retained' if message.retain else ''} · "
        f"{len(message.payload):,} B · {guess_kind(message.payload)} · {node.count:,} on this topic"
    )
    return MessageHeader(title, position, detail)


@dataclass(frozen=True, slots=True)
class DiffLine:
    text: str
    kind: Literal["added", "removed", "hunk", "header", "context"]


@dataclass(frozen=True, slots=True)
class DiffView:
    """The diff against the previous message; ``note`` when there are no lines to show."""

    lines: tuple[DiffLine, ...]
    note: str = ""


def _decode(decoder: MessageDecoder, message: TopicMessage) -> Decoded:
    return decoder.decode(message.topic, message.payload, message.properties.content_type).decoded


def diff_view(
    previous: TopicMessage | None, message: TopicMessage | None, *, decoder: MessageDecoder | None = None
) -> DiffView:
    """``message`` compared with the ``previous`` message of its topic.

    With ``decoder``, payloads another codec reads (MessagePack, CBOR, Protobuf, Sparkplug B,
    compressed) are compared as decoded values rather than as hex dumps.
    """
    if message is None or previous is None:
        return DiffView((), NO_PREVIOUS)
    current = _decode(decoder, message) if decoder is not None else None
    if decoder is not None and current is not None and structured(current):
        lines = decoded_diff(_decode(decoder, previous), current)
    else:
        lines = diff_payloads(
            previous.payload, message.payload, old_label="previous message", new_label="this message"
        )
    if not lines:
        return DiffView((), SAME_AS_PREVIOUS)
    out = []
    for line in lines:
        if line.startswith(("+++", "---")):
            kind: Literal["added", "removed", "hunk", "header", "context"] = "header"
        elif line.startswith("+"):
            kind = "added"
        elif line.startswith("-"):
            kind = "removed"
        elif line.startswith("@@"):
            kind = "hunk"
        else:
            kind = "context"
        out.append(DiffLine(line, kind))
    return DiffView(tuple(out))


@dataclass(frozen=True, slots=True)
class PropertyRow:
    name: str
    value: str


def property_rows(message: TopicMessage | None) -> tuple[PropertyRow, ...]:
    """The message's MQTT 5 properties, one row each (a user property per row)."""
    if message is None:
        return ()
    props: dict[str, Any] = properties_to_json(message.properties)
    rows: list[PropertyRow] = []
    for name, value in props.items():
        label = name.replace("_", " ")
        if name == "user_properties":
            rows.extend(PropertyRow("user property", f"{key} = {item}") for key, item in value)
        elif name == "correlation_data":
            raw = bytes.fromhex(value)
            rows.append(PropertyRow(label, f"{value} (base64 {base64.b64encode(raw).decode('ascii')})"))
        else:
            rows.append(PropertyRow(label, str(value)))
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One kept message: its number on the topic (1 = oldest kept), time, QoS, retain, preview."""

    number: int
    time: str
    qos: int
    retained: bool
    preview: str

    def text(self) -> str:
        return f"{self.number:>4} {self.time} q{self.qos}{' R' if self.retained else '  '} {self.preview}"


def decoded_history_text(decoder: MessageDecoder, message: TopicMessage) -> str:
    """A binary payload's history text: ``[codec] decoded text`` (MessagePack, images...)."""
    decoded = _decode(decoder, message)
    return f"[{decoded.codec}] {history_text(decoded)}"


def history_rows(
    history: Sequence[TopicMessage],
    *,
    stamp: Stamp,
    limit: int = 200,
    binary_text: Callable[[TopicMessage], str] | None = None,
) -> tuple[HistoryRow, ...]:
    """The newest ``limit`` kept messages, newest first.

    A payload that is not UTF-8 text shows as ``binary_text(message)`` (a front end passes
    :func:`decoded_history_text`, cached) or as its size.
    """
    shown = history[-limit:]
    base = len(history) - len(shown)
    rows = []
    for offset, message in enumerate(reversed(shown)):
        view = text_view(message.payload[:200], 60)
        if view.valid_utf8:
            preview = view.text.split("\n", 1)[0]
        elif binary_text is not None:
            preview = binary_text(message)
        else:
            preview = f"<{len(message.payload):,} B binary>"
        rows.append(
            HistoryRow(base + len(shown) - offset, stamp(message.time), message.qos, message.retain, preview)
        )
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """``(time, value)`` points of one field (``value`` for a payload that is a number)."""

    field: str
    points: tuple[tuple[float, float], ...]

    @property
    def summary(self) -> str:
        values = [value for _, value in self.points]
        if not values:
            return f"{self.field}: no values"
        last, low, high = values[-1], min(values), max(values)
        count = f"{len(values)} value" + ("" if len(values) == 1 else "s")
        return f"{self.field}: last {last:g}  min {low:g}  max {high:g}  ({count})"


@dataclass(frozen=True, slots=True)
class ChartView:
    """What the chart shows: the series, the fields to choose from, or why there is nothing."""

    series: tuple[ChartSeries, ...]
    fields: tuple[str, ...]
    note: str = ""


def _numeric(item: Any) -> float | None:
    if isinstance(item, bool) or not isinstance(item, int | float):
        return None
    number = float(item)
    return number if math.isfinite(number) else None


def decoded_chart_view(
    history: Sequence[TopicMessage], decoder: MessageDecoder, field: str | None = None
) -> ChartView | None:
    """The series of decoded fields when the newest message has a structured codec
    (MessagePack, CBOR, Protobuf, gzip...); None for JSON, text and what does not decode."""
    if not history:
        return None
    latest = history[-1]
    decoded = decoder.decode(latest.topic, latest.payload, latest.properties.content_type).decoded
    if not structured(decoded):
        return None
    fields = tuple(decoded.numbers)
    paths = [field] if field else list(fields[:CHART_SERIES_LIMIT])
    series = (ChartSeries(path, tuple(field_series(history, decoder, path))) for path in paths)
    found = tuple(item for item in series if item.points)
    return ChartView(found, fields, "" if found else NO_FIELD_NUMBERS)


def chart_view(
    history: Sequence[TopicMessage], field: str | None = None, *, decoder: MessageDecoder | None = None
) -> ChartView:
    """The series of a topic's kept messages: every numeric field, or the ``field`` chosen.

    The fields offered are those of the newest JSON payload (document order), or the decoded
    fields of the newest message when a codec other than JSON reads it (``decoder``).
    """
    if decoder is not None:
        decoded = decoded_chart_view(history, decoder, field)
        if decoded is not None:
            return decoded
    fields: tuple[str, ...] = ()
    for message in reversed(history):
        parsed = json_view(message.payload)
        if parsed is not None:
            fields = tuple(numeric_fields(parsed.value))
            break
    wanted = [field] if field is not None else list(fields[:CHART_SERIES_LIMIT])
    plain: list[tuple[float, float]] = []
    points: dict[str, list[tuple[float, float]]] = {name: [] for name in wanted}
    for message in history:
        payload = message.payload
        if field is None:
            number = parse_number(payload)
            if number is not None:
                plain.append((message.time, number))
                continue
        if not wanted or payload.lstrip()[:1] not in (b"{", b"["):
            continue
        try:
            value = json.loads(payload)
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue
        for name in wanted:
            number = _numeric(extract_field(value, name))
            if number is not None:
                points[name].append((message.time, number))
    series = []
    if plain:
        series.append(ChartSeries("value", tuple(plain)))
    series.extend(ChartSeries(name, tuple(points[name])) for name in wanted if points[name])
    if series:
        return ChartView(tuple(series), fields)
    return ChartView((), fields, NO_FIELD_NUMBERS if fields else NO_NUMBERS)


_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline_text(values: Sequence[float], width: int) -> str:
    """The last ``width`` values as block characters (one line of a text chart)."""
    shown = list(values[-width:]) if width > 0 else []
    if not shown:
        return ""
    low, high = min(shown), max(shown)
    span = high - low
    if span == 0:
        return _BLOCKS[3] * len(shown)
    return "".join(_BLOCKS[min(7, int((value - low) / span * 8))] for value in shown)
