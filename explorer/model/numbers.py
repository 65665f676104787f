"""Numbers in payloads: a plain number, or the numeric leaves of a JSON document.

The topic tree keeps a numeric series per topic and the views chart it, so the rule for what
counts as a number lives with the model, below both: only plain decimal numbers (no ``nan``,
``inf``, hex or booleans); a JSON object with exactly one numeric leaf stands for that number;
fields are paths such as ``a.b`` and ``readings[0].t`` in document order.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["extract_field", "numeric_fields", "numeric_value", "parse_number"]

_NUMBER = re.compile(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*")


def parse_number(data: bytes) -> float | None:
    """The payload as a number when it is one (``23``, ``-1.5e3``, `` 7 ``), else ``None``.

    Only plain decimal numbers count: ``nan``, ``inf``, hex and booleans are not plotted.
    """
    if not data or len(data) > 64:
        return None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    if _NUMBER.fullmatch(text) is None:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _walk_numeric(value: Any, path: str, out: list[str], depth: int) -> None:
    if depth > 16 or len(out) >= 256:
        return
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if path and math.isfinite(value):
            out.append(path)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _walk_numeric(item, f"{path}.{key}" if path else str(key), out, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value[:32]):
            _walk_numeric(item, f"{path}[{index}]", out, depth + 1)


def numeric_fields(value: Any) -> list[str]:
    """Paths (``a.b``, ``readings[0].t``) of the numeric leaves of a parsed JSON value.

    The order is document order; a view offers these as the fields a chart can plot.
    """
    out: list[str] = []
    _walk_numeric(value, "", out, 0)
    return out


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _path_parts(path: str) -> Iterator[str | int]:
    for match in _PATH_PART.finditer(path):
        if match.group(2) is not None:
            yield int(match.group(2))
        else:
            yield match.group(1)


def extract_field(value: Any, path: str) -> Any:
    """The item at ``path`` (as made by :func:`numeric_fields`), or ``None``."""
    current = value
    for part in _path_parts(path):
        if isinstance(part, int):
            if not isinstance(current, list) or part >= len(current):
                return None
            current = current[part]
        else:
            if not isinstance(current, dict) or part not in current:
                return None
            current = current[part]
    return current


def numeric_value(data: bytes, field: str | None = None) -> float | None:
    """The number a payload stands for: the payload itself, or a JSON field of it.

    With ``field`` ``None`` a plain number counts, and so does a JSON object with exactly
    one numeric leaf (``{"temp": 21.5}``), which is the usual sensor shape.
    """
    if field is None:
        number = parse_number(data)
        if number is not None:
            return number
    stripped = data.lstrip()[:1]
    if stripped not in (b"{", b"["):
        return None
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if field is None:
        fields = numeric_fields(value)
        if len(fields) != 1:
            return None
        field = fields[0]
    item = extract_field(value, field)
    if isinstance(item, bool) or not isinstance(item, int | float):
        return None
    number = float(item)
    return number if math.isfinite(number) else None
