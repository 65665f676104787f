"""Views of an MQTT payload: text, JSON, hex dump, base64, numbers, and diffs.

Both front ends, the CLI and the exports show payloads the same way, so the views are
made here once (DESIGN rule 5). Everything is pure: bytes in, plain values out. Every
view is size-capped: a firehose of 10 MB payloads must not freeze a screen, so a view
shows at most ``limit`` bytes and says clearly that it was truncated.

What belongs here: turning bytes into something a human reads. What does not: parsing
MQTT or WebSocket (``explorer.mqtt``, ``explorer.ws``) or colouring (the views do that
from the structured :class:`HexLine` values).
"""

from __future__ import annotations

import base64
import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from explorer.model.numbers import extract_field, numeric_fields, numeric_value, parse_number

__all__ = [
    "DEFAULT_LIMIT",
    "JSON_PARSE_LIMIT",
    "NEVER_UTF8",
    "PREVIEW_WIDTH",
    "HexLine",
    "HexSegment",
    "JsonView",
    "PayloadText",
    "Span",
    "base64_view",
    "diff_payloads",
    "escape_text",
    "extract_field",
    "format_hex_dump",
    "guess_kind",
    "hex_dump_lines",
    "json_view",
    "looks_binary",
    "numeric_fields",
    "numeric_value",
    "parse_number",
    "payload_preview",
    "text_view",
    "truncation_marker",
]

DEFAULT_LIMIT = 64 * 1024
"""Bytes shown by default by each view; the rest is replaced by a truncation marker."""

Span = tuple[int, int, str]
"""A highlighted byte range ``(start, end, label)``, ``end`` exclusive."""

PayloadKind = Literal["empty", "number", "json", "text", "binary"]

# Control characters other than newline and tab are shown escaped, so a payload
# cannot move the terminal cursor, ring the bell or hide text behind a carriage return.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_ASCII_CONTROLS = bytes([*range(0x09), *range(0x0B, 0x20), 0x7F])  # _CONTROL's ASCII part
NEVER_UTF8 = bytes([0xC0, 0xC1, *range(0xF5, 0x100)])
"""The bytes no UTF-8 text holds (RFC 3629 §1): a payload with one is binary for certain."""
PREVIEW_WIDTH = 60
"""Characters of text :func:`payload_preview` shows by default (a third as many bytes of hex)."""


def truncation_marker(shown: int, total: int) -> str:
    """The one wording every view uses when it shows only part of a payload."""
    return f"… truncated: {shown:,} of {total:,} bytes shown"


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x0D:
        return "\\r"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def escape_text(text: str) -> str:
    """Escape control characters (except newline and tab) as ``\\xNN``."""
    return _CONTROL.sub(_escape_char, text)


@dataclass(frozen=True, slots=True)
class PayloadText:
    """A payload as display text.

    Attributes:
        text: UTF-8 decoded with U+FFFD for invalid bytes, control characters escaped.
        truncated: the payload was longer than the limit; ``marker`` says by how much.
        valid_utf8: the shown bytes were valid UTF-8 (a cut multi-byte character at the
            limit does not count against it).
    """

    text: str
    truncated: bool
    shown: int
    total: int
    valid_utf8: bool

    @property
    def marker(self) -> str:
        """``""`` or the truncation sentence to show after the text."""
        return truncation_marker(self.shown, self.total) if self.truncated else ""


def _decode_prefix(data: bytes, limit: int) -> tuple[str, int, bool]:
    """Decode at most ``limit`` bytes without splitting a UTF-8 character at the cut."""
    chunk = data[:limit] if len(data) > limit else data
    try:
        return chunk.decode("utf-8"), len(chunk), True
    except UnicodeDecodeError as exc:
        cut_char = exc.reason == "unexpected end of data" and exc.start >= len(chunk) - 3
        if len(chunk) < len(data) and cut_char:
            try:
                return chunk[: exc.start].decode("utf-8"), exc.start, True
            except UnicodeDecodeError:
                pass
        return chunk.decode("utf-8", "replace"), len(chunk), False


def text_view(data: bytes, limit: int = DEFAULT_LIMIT) -> PayloadText:
    """The payload as text, safe to print in a terminal or a label."""
    text, shown, valid = _decode_prefix(data, limit)
    return PayloadText(escape_text(text), shown < len(data), shown, len(data), valid)


def payload_preview(data: bytes, width: int = PREVIEW_WIDTH) -> str:
    """A payload in brief for a one-line listing: ``payload (11 B): "hello world"``.

    Text is decoded, control characters and newlines escaped, and cut after ``width``
    characters with ``…``; a binary payload shows its first bytes in hex.
    """
    size = len(data)
    if not data:
        return "payload (0 B)"
    if (
        size <= 4096
        and not data.isascii()
        and len(data.translate(None, NEVER_UTF8)) < size
        and b"\xef\xbf\xbd" not in data
    ):
        # Binary for certain: a byte no UTF-8 text holds (random bytes nearly always
        # have one); the same text as below, written first for a listing of a capture.
        head = data[: max(1, width // 3)]
        return f"payload ({size:,} B, binary): {head.hex(' ')}{' …' if len(head) < size else ''}"
    if data.isascii():
        # The common case, decided without decoding: the same rules as below (a listing
        # of a capture previews every PUBLISH, so this runs a million times).
        sample = data[:4096]
        controls = len(sample) - len(sample.translate(None, _ASCII_CONTROLS))
        binary = controls > max(1, len(sample) // 20)
    elif len(data) <= 4096 and "\ufffd" in data.decode("utf-8", "replace") and b"\xef\xbf\xbd" not in data:
        binary = True  # not UTF-8 (what looks_binary finds, without raising and catching)
    else:
        binary = looks_binary(data)
    if binary:
        head = data[: max(1, width // 3)]
        more = " …" if len(head) < len(data) else ""
        return f"payload ({size:,} B, binary): {head.hex(' ')}{more}"
    if data.isascii():
        chunk = data[: width * 4]
        text = chunk.decode("ascii")
        cut = len(chunk) < len(data) or len(text) > width
        text = text[:width].replace("\n", "\\n").replace("\t", "\\t")
        if controls:
            text = escape_text(text)
        return f'payload ({size:,} B): "{text}{"…" if cut else ""}"'
    text, shown, _valid = _decode_prefix(data, width * 4)
    cut = shown < len(data) or len(text) > width
    text = escape_text(text[:width].replace("\n", "\\n").replace("\t", "\\t"))
    return f'payload ({size:,} B): "{text}{"…" if cut else ""}"'


@dataclass(frozen=True, slots=True)
class JsonView:
    """A payload that parsed as JSON.

    ``value`` is the whole parsed object (for a foldable tree view, which shows only
    what is unfolded); ``pretty`` is indented text with keys in wire order, cut at the
    view's limit when ``truncated`` (then ``marker`` says so).
    """

    value: Any
    pretty: str
    truncated: bool
    total: int

    @property
    def marker(self) -> str:
        """``""`` or the sentence to show after a cut ``pretty``."""
        return truncation_marker(len(self.pretty.encode("utf-8")), self.total) if self.truncated else ""


JSON_PARSE_LIMIT = 4 * 1024 * 1024
"""Payloads above this many bytes are not parsed as JSON at all (shown as text)."""


def json_view(
    data: bytes, limit: int = DEFAULT_LIMIT, indent: int = 2, parse_limit: int = JSON_PARSE_LIMIT
) -> JsonView | None:
    """Parse the payload as JSON; ``None`` when it is not JSON (or is too large to parse).

    Bare scalars (``23.5``, ``"on"``, ``true``) are JSON too, but only objects and arrays
    are worth a tree, so scalars return ``None`` and show as text or numbers. Payloads
    up to ``parse_limit`` bytes are parsed whole; the pretty text is cut at ``limit``
    characters (a half document cannot be parsed, so parsing is never cut).
    """
    if len(data) > max(limit, parse_limit):
        return None
    stripped = data.lstrip()
    if not stripped or stripped[:1] not in (b"{", b"["):
        return None
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    try:
        pretty = json.dumps(value, indent=indent, ensure_ascii=False)
    except (ValueError, RecursionError):
        return None
    truncated = len(pretty) > limit
    if truncated:
        pretty = pretty[:limit]
    return JsonView(value, escape_text(pretty), truncated, len(data))


@dataclass(frozen=True, slots=True)
class HexSegment:
    """A highlighted byte range within one hex line.

    ``start``/``end`` index the line's bytes (``end`` exclusive); ``span`` is the index
    of the span in the list given to :func:`hex_dump_lines`; ``label`` its label.
    """

    start: int
    end: int
    span: int
    label: str


@dataclass(frozen=True, slots=True)
class HexLine:
    """One line of a hex dump, structured so a view can colour byte ranges.

    ``hex`` holds ``width`` cells of two hex digits separated by one space, with one
    extra space after each group of 8 bytes; :meth:`hex_columns` maps a byte range to
    character columns in it. ``ascii`` has one character per byte (``.`` when not
    printable), so byte ``i`` of the line is column ``i`` there.
    """

    offset: int
    data: bytes
    hex: str
    ascii: str
    segments: tuple[HexSegment, ...]
    width: int

    @staticmethod
    def hex_column(index: int) -> int:
        """Column of the first hex digit of byte ``index`` of a line."""
        return index * 3 + index // 8

    def hex_columns(self, start: int, end: int) -> tuple[int, int]:
        """Columns ``[first, last)`` in :attr:`hex` covering bytes ``[start, end)``."""
        if end <= start:
            return (self.hex_column(start), self.hex_column(start))
        return (self.hex_column(start), self.hex_column(end - 1) + 2)

    def text(self, offset_digits: int = 8) -> str:
        """The classic one-line rendering: offset, hex cells, ASCII."""
        pad = self.hex_column(self.width) - 1
        return f"{self.offset:0{offset_digits}x}  {self.hex:<{pad}}  |{self.ascii}|"


def _hex_cells(chunk: bytes) -> str:
    parts = []
    for group in range(0, len(chunk), 8):
        parts.append(chunk[group : group + 8].hex(" "))
    return "  ".join(parts)


def _ascii(chunk: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)


def hex_dump_lines(
    data: bytes,
    spans: Sequence[Span] = (),
    width: int = 16,
    limit: int | None = DEFAULT_LIMIT,
    base_offset: int = 0,
) -> list[HexLine]:
    """A hex dump of ``data`` with the given byte spans cut into per-line segments.

    Used for frame payloads (spans are the MQTT packets a frame carries) and whole
    frames (header, mask key, payload). Overlapping spans are allowed; each is
    reported on its own. With ``limit`` set, only the first ``limit`` bytes are dumped
    (use :func:`truncation_marker` to say so).

    Raises:
        ValueError: when ``width`` is not positive.
    """
    if width <= 0:
        raise ValueError(f"hex dump width must be positive, not {width}")
    shown = data if limit is None or len(data) <= limit else data[:limit]
    ordered = sorted(enumerate(spans), key=lambda item: (item[1][0], item[1][1]))
    lines: list[HexLine] = []
    first_open = 0
    for line_start in range(0, len(shown), width):
        chunk = shown[line_start : line_start + width]
        line_end = line_start + len(chunk)
        segments: list[HexSegment] = []
        while first_open < len(ordered) and ordered[first_open][1][1] <= line_start:
            first_open += 1
        for index, (start, end, label) in ordered[first_open:]:
            if start >= line_end:
                break
            lo, hi = max(start, line_start), min(end, line_end)
            if lo < hi:
                segments.append(HexSegment(lo - line_start, hi - line_start, index, label))
        lines.append(
            HexLine(
                offset=base_offset + line_start,
                data=chunk,
                hex=_hex_cells(chunk),
                ascii=_ascii(chunk),
                segments=tuple(segments),
                width=width,
            )
        )
    return lines


def format_hex_dump(data: bytes, width: int = 16, limit: int | None = DEFAULT_LIMIT) -> str:
    """Plain-text hex dump (for the CLI and exports), with the truncation marker if any."""
    lines = [line.text() for line in hex_dump_lines(data, width=width, limit=limit)]
    if limit is not None and len(data) > limit:
        lines.append(truncation_marker(limit, len(data)))
    return "\n".join(lines)


def base64_view(data: bytes, limit: int = DEFAULT_LIMIT) -> tuple[str, bool]:
    """Base64 of (at most ``limit`` bytes of) the payload and whether it was truncated."""
    truncated = len(data) > limit
    return base64.b64encode(data[:limit] if truncated else data).decode("ascii"), truncated


def looks_binary(data: bytes) -> bool:
    """Whether a payload is better shown as hex than as text (judged on its first 4 KiB).

    Not valid UTF-8, or more than one control character in twenty, means binary.
    """
    sample = data[:4096]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if (
            exc.reason == "unexpected end of data"
            and exc.start >= len(sample) - 3
            and len(data) > len(sample)
        ):
            text = sample[: exc.start].decode("utf-8", "replace")
        else:
            return True
    controls = len(_CONTROL.findall(text))
    return controls > max(1, len(text) // 20)


def guess_kind(data: bytes) -> PayloadKind:
    """Which view suits a payload best: the one a front end opens first."""
    if not data:
        return "empty"
    if parse_number(data) is not None:
        return "number"
    if json_view(data) is not None:
        return "json"
    return "binary" if looks_binary(data) else "text"


def _diff_lines(data: bytes, limit: int) -> tuple[list[str], str]:
    """Lines to diff and the kind used: JSON with sorted keys, text, or hex."""
    if len(data) <= limit:
        parsed = json_view(data, limit)
        if parsed is not None:
            return json.dumps(parsed.value, indent=2, sort_keys=True, ensure_ascii=False).splitlines(), "json"
    kind = guess_kind(data)
    if kind == "binary":
        return [line.text() for line in hex_dump_lines(data, limit=limit)], "hex"
    return text_view(data, limit).text.splitlines(), "text"


def diff_payloads(
    old: bytes,
    new: bytes,
    *,
    context: int = 3,
    limit: int = DEFAULT_LIMIT,
    old_label: str = "previous",
    new_label: str = "current",
) -> list[str]:
    """A unified diff of two payloads, one line per list item (no trailing newlines).

    JSON payloads are compared after pretty-printing with sorted keys, so a field that
    moved is not a change; binary payloads are compared as hex dumps. An empty list
    means the payloads show the same.
    """
    old_lines, old_kind = _diff_lines(old, limit)
    new_lines, new_kind = _diff_lines(new, limit)
    if old_kind != new_kind and "hex" in (old_kind, new_kind):
        old_lines = [line.text() for line in hex_dump_lines(old, limit=limit)]
        new_lines = [line.text() for line in hex_dump_lines(new, limit=limit)]
    return list(
        difflib.unified_diff(
            old_lines, new_lines, fromfile=old_label, tofile=new_label, n=context, lineterm=""
        )
    )
