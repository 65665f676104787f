"""Try variations of a failed connection and report which would work.

A failed probe says where it broke; exploring says what to change. Which variations
are worth trying depends on the layer that failed: a TLS failure may be a ws/wss mix-up,
an HTTP or WebSocket failure may be a path or a subprotocol list, a CONNACK refusal
may be the MQTT version. DNS and TCP failures have nothing to vary (the host or port
itself is wrong). Variations run a few at a time with short timeouts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from explorer.client.options import ConnectionOptions, Endpoint
from explorer.diagnose.httpcheck import COMMON_PATHS
from explorer.diagnose.model import Alternative, Diagnosis, Layer
from explorer.diagnose.probe import StepCallback, probe
from explorer.mqtt.enums import ProtocolVersion

__all__ = ["COMMON_PATHS", "SUBPROTOCOL_LISTS", "Variation", "diagnose", "explore", "variations"]

SUBPROTOCOL_LISTS: tuple[tuple[str, ...], ...] = (("mqtt",), ("mqttv3.1",), ("mqtt", "mqttv3.1"), ())
_VERSIONS = (ProtocolVersion.V5, ProtocolVersion.V311, ProtocolVersion.V31)
_PARALLEL = 4
_TIMEOUT = 3.0

_TRANSPORT_LAYERS: frozenset[Layer] = frozenset({"tls", "http", "websocket"})


@dataclass(frozen=True, slots=True)
class Variation:
    """One alternative to try: a description and the option changes it makes."""

    description: str
    changes: dict[str, object]
    shown: dict[str, str]


def _url(endpoint: Endpoint, *, scheme: str | None = None, path: str | None = None) -> str:
    changed = Endpoint(
        scheme=scheme or endpoint.scheme,  # type: ignore[arg-type]
        host=endpoint.host,
        port=endpoint.port,
        path=endpoint.path if path is None else path,
    )
    return changed.url()


def variations(options: ConnectionOptions, layer: Layer) -> list[Variation]:
    """The variations worth trying after a failure at ``layer``."""
    endpoint = options.endpoint
    found: list[Variation] = []
    if layer in ("http", "websocket") and endpoint.websocket:
        path = endpoint.path.split("?", 1)[0]
        for candidate in COMMON_PATHS:
            if candidate != path:
                url = _url(endpoint, path=candidate)
                found.append(Variation(f"path {candidate}", {"url": url}, {"url": url}))
        for subprotocols in SUBPROTOCOL_LISTS:
            if subprotocols != options.subprotocols:
                shown = ", ".join(subprotocols) or "(none)"
                found.append(
                    Variation(
                        f"subprotocols {shown}",
                        {"subprotocols": subprotocols},
                        {"subprotocols": shown},
                    )
                )
    if layer in _TRANSPORT_LAYERS:
        other = {"ws": "wss", "wss": "ws", "mqtt": "mqtts", "mqtts": "mqtt"}[endpoint.scheme]
        url = _url(endpoint, scheme=other)
        found.append(Variation(f"{other}:// on the same host and port", {"url": url}, {"url": url}))
    if layer in ("http", "websocket", "mqtt"):
        for version in _VERSIONS:
            if version != options.mqtt_version:
                found.append(
                    Variation(
                        f"MQTT {version.label}",
                        {"mqtt_version": version},
                        {"mqtt_version": version.label},
                    )
                )
    return found


async def explore(options: ConnectionOptions, diagnosis: Diagnosis) -> list[Alternative]:
    """Probe each variation worth trying after ``diagnosis`` and say which worked."""
    if diagnosis.ok:
        return []
    timeout = min(options.connect_timeout, options.handshake_timeout, _TIMEOUT)
    base = options.with_changes(connect_timeout=timeout, handshake_timeout=timeout)
    limit = asyncio.Semaphore(_PARALLEL)

    async def attempt(variation: Variation) -> Alternative:
        async with limit:
            result = await probe(base.with_changes(**variation.changes))
        return Alternative(variation.description, variation.shown, result.ok, result.cause)

    return list(await asyncio.gather(*(attempt(v) for v in variations(options, diagnosis.layer))))


async def diagnose(
    options: ConnectionOptions,
    *,
    idle: float = 0.0,
    explore_alternatives: bool = False,
    on_step: StepCallback | None = None,
) -> Diagnosis:
    """Probe, then (when asked and the probe failed) explore alternatives."""
    diagnosis = await probe(options, idle=idle, on_step=on_step)
    if explore_alternatives and not diagnosis.ok:
        diagnosis.alternatives = await explore(options, diagnosis)
    return diagnosis
