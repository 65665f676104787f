"""The verdict of a probe as plain, UI-neutral data.

A :class:`Diagnosis` is what every front end shows when a connection fails (or works):
the layer that broke, a stable cause slug from :mod:`explorer.diagnose.causes`, the
explanation and fix in plain words, what was observed on the wire, the per-layer
steps with their durations, and the alternatives tried by ``--explore``. Everything
here is JSON-serialisable through :meth:`Diagnosis.to_json`; nothing here does I/O.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["LAYERS", "Alternative", "Cause", "Diagnosis", "Layer", "Step"]

Layer = Literal["dns", "tcp", "tls", "http", "websocket", "mqtt", "liveness"]

# The order in which a probe walks the layers; a failure stops the walk.
LAYERS: tuple[Layer, ...] = ("dns", "tcp", "tls", "http", "websocket", "mqtt", "liveness")


@dataclass(frozen=True, slots=True)
class Cause:
    """One way a connection can fail, with what to tell the user."""

    slug: str
    layer: Layer
    title: str
    explanation: str
    fix: str


@dataclass(frozen=True, slots=True)
class Step:
    """One layer's result, reported live through the probe's ``on_step`` callback."""

    layer: Layer
    ok: bool
    duration_ms: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "ok": self.ok,
            "duration_ms": round(self.duration_ms, 1),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Alternative:
    """A variation of the connection options tried by ``--explore``.

    ``options_changed`` names the options that differ from the user's (as strings, so
    a view can show them as is); ``cause`` is the slug that variation ended with.
    """

    description: str
    options_changed: dict[str, str]
    ok: bool
    cause: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "options_changed": dict(self.options_changed),
            "ok": self.ok,
            "cause": self.cause,
        }


@dataclass(slots=True)
class Diagnosis:
    """Where a connection attempt stopped and why.

    ``ok`` is true when every layer worked; then ``cause`` is ``"connected"`` and
    ``layer`` is the last layer checked. ``observed`` holds strings only (status
    lines, headers, first bytes in hex, TLS errors, close codes, CONNACK codes) so
    that it serialises and displays without special cases.
    """

    ok: bool
    layer: Layer
    cause: str
    explanation: str
    fix: str
    observed: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = [step.to_dict() for step in self.steps]
        data["alternatives"] = [alt.to_dict() for alt in self.alternatives]
        return data

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
