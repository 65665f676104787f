"""The verdict of a probe as plain, UI-neutral data.

A :class:`Diagnosis` is what every front end shows when a connection fails (or works):
the layer that broke, a stable cause slug from :mod:`explorer.diagnose.causes`, the
explanation and fix in plain words, what was observed on the wire, the per-layer
steps with their durations, and the alternatives tried by ``--explore``. Everything
here is JSON-serialisable through :meth:`Diagnosis.to_json`; nothing here does I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from explorer.client.options import ConnectionOptions

__all__ = ["LAYERS", "MAX_PUBLISH_SIZE", "Alternative", "Cause", "Diagnosis", "Layer", "ProbeChecks", "Step"]

Layer = Literal["dns", "tcp", "tls", "http", "websocket", "mqtt", "publish", "liveness"]

# The order in which a probe walks the layers; a failure stops the walk. ``publish``
# runs only when a publish size is asked for (:class:`ProbeChecks`).
LAYERS: tuple[Layer, ...] = ("dns", "tcp", "tls", "http", "websocket", "mqtt", "publish", "liveness")


MAX_PUBLISH_SIZE = 268_435_455 - 1024
"""The largest ``publish_size``: MQTT's largest Remaining Length, less room for the topic."""


@dataclass(frozen=True, slots=True)
class ProbeChecks:
    """What a probe does beyond the plain layer walk.

    Attributes:
        idle: seconds to stay connected and silent after CONNACK before the ping, to
            catch an intermediary that drops idle connections before the keep alive.
        browser: offer what Chromium offers (the ``mqtt`` subprotocol, or ``mqttv3.1``
            for MQTT 3.1, ``permessage-deflate; client_max_window_bits``, an Origin) and
            refuse a missing or wrong subprotocol echo as Chromium does.
        compression: offer ``permessage-deflate`` and nothing else different.
        publish_size: publish a message of this many bytes at QoS 1 after CONNACK and
            wait for its PUBACK, so that frame, message and packet size limits show.
    """

    idle: float = 0.0
    browser: bool = False
    compression: bool = False
    publish_size: int | None = None

    @property
    def offers_deflate(self) -> bool:
        return self.browser or self.compression


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
    credentials_withheld: bool = False  # it drops TLS, so it was tried without credentials

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "options_changed": dict(self.options_changed),
            "ok": self.ok,
            "cause": self.cause,
            "credentials_withheld": self.credentials_withheld,
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
    # The options of the first alternative that worked ("Connect with this"); never
    # serialised (they may hold secrets): ``connect_with`` says what changed.
    working: ConnectionOptions | None = field(default=None, repr=False, compare=False)
    connect_with: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "working"}
        data["observed"] = dict(self.observed)
        data["steps"] = [step.to_dict() for step in self.steps]
        data["alternatives"] = [alt.to_dict() for alt in self.alternatives]
        return data

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
