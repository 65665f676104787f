"""``dumps``: an object as JSON text, as ``decode --json`` and ``--summary --json`` write it.

orjson writes JSON several times faster than the standard library, which writes what
orjson cannot (an integer over 64 bits). Kept apart from the listing's modules: orjson
imports ``uuid`` and ``datetime`` when loaded, start-up a listing does not need.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps"]

try:
    from orjson import dumps as _orjson_dumps

    def dumps(obj: Any) -> str:
        try:
            return _orjson_dumps(obj).decode()
        except TypeError:  # what orjson cannot write (an integer over 64 bits): the standard way
            return json.dumps(obj)

except ImportError:  # pragma: no cover - orjson is a dependency; this keeps a broken install usable
    dumps = json.dumps
