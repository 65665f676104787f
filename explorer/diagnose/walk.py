"""The probe's walk state: what every layer step reads and writes.

:class:`WalkBase` holds the options, the values observed so far, the steps reported and
the single failure path (:meth:`WalkBase._fail` raises :class:`Stop` with a cause slug);
the layer steps themselves live in :mod:`explorer.diagnose.probe` (DNS to WebSocket)
and :mod:`explorer.diagnose.mqttsteps` (CONNECT, publish, liveness).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from explorer.client.options import ConnectionOptions, Endpoint
from explorer.diagnose.causes import CAUSES, CONNECTED, render
from explorer.diagnose.model import Diagnosis, Layer, ProbeChecks, Step

__all__ = ["Address", "StepCallback", "Stop", "WalkBase", "hexdump"]

StepCallback = Callable[[Step], None]
Address = tuple[Any, ...]


class Stop(Exception):
    """The walk ends here with ``slug``."""

    def __init__(self, slug: str, observed: dict[str, str] | None = None) -> None:
        super().__init__(slug)
        self.slug = slug
        self.observed = observed or {}


def hexdump(data: bytes) -> str:
    return data[:32].hex(" ")


class WalkBase:
    """The walk's state and bookkeeping: options, observed values, steps, the verdict."""

    def __init__(self, options: ConnectionOptions, checks: ProbeChecks, on_step: StepCallback | None) -> None:
        self.options = options
        self.endpoint: Endpoint = options.endpoint
        self.checks = checks
        self.idle = checks.idle
        self.on_step = on_step
        self.steps: list[Step] = []
        self.observed: dict[str, str] = {
            "url": self.endpoint.url(),
            "host": self.endpoint.host,
            "port": str(self.endpoint.port),
            "path": self.endpoint.path or "",
            "mqtt_version": options.mqtt_version.label,
            "keep_alive": str(options.keep_alive),
        }
        self.address: Address | None = None
        self.family = socket.AF_INET
        self._started = 0.0
        self._handshake_ms = 0.0  # how long checking the 101 took; reported with the first frame
        self.client_id = options.client_id
        self.nested = False  # a second walk settling a question for the first one
        self.maximum_packet_size: int | None = None  # MQTT 5 CONNACK's, when it sends one

    async def _probe_again(self, options: ConnectionOptions, checks: ProbeChecks | None = None) -> Diagnosis:
        """A plain walk (or one with ``checks``) with other options, to settle what one
        answer cannot tell."""
        raise NotImplementedError

    # -- bookkeeping ----------------------------------------------------------
    def _begin(self) -> None:
        self._started = time.monotonic()

    def _step(self, layer: Layer, ok: bool, detail: str, *, duration_ms: float | None = None) -> None:
        now = time.monotonic()
        elapsed = (now - self._started) * 1000.0 if duration_ms is None else duration_ms
        step = Step(layer, ok, elapsed, detail)
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
        if duration_ms is None:
            self._started = now

    def _fail(self, slug: str, observed: dict[str, str]) -> Stop:
        layer = CAUSES[slug].layer
        self.observed.update(observed)
        explanation, _ = render(slug, self.observed)
        self._step(layer, False, explanation)
        return Stop(slug)

    def diagnosis(self, slug: str) -> Diagnosis:
        explanation, fix = render(slug, self.observed)
        layer = self.steps[-1].layer if self.steps else CAUSES[slug].layer
        return Diagnosis(
            ok=slug == CONNECTED,
            layer=layer,
            cause=slug,
            explanation=explanation,
            fix=fix,
            observed={k: v for k, v in self.observed.items() if k not in ("summary",)},
            steps=list(self.steps),
            url=self.endpoint.url(),
        )
