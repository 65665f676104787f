"""Try variations of a failed connection, combine them until one works, and say how.

A failed probe says where it broke; exploring says what to change. Which variations
are worth trying depends on the layer that failed: a TLS failure may be a ws/wss mix-up,
an HTTP or WebSocket failure may be a path or a subprotocol list, a CONNACK refusal
may be the MQTT version. DNS and TCP failures have nothing to vary (the host or port
itself is wrong).

The search is greedy over the dimensions path x subprotocols x ws/wss x MQTT version:
each round tries, a few at a time with short timeouts, every single change worth trying
at the layer the current best attempt failed at. When one works, it is the answer;
otherwise the attempt that got furthest through the layers is kept and the next round
varies the dimensions not fixed yet (a wrong path on a 3.1.1 broker probed with MQTT 5:
``path /mqtt`` gets to the CONNACK, then ``MQTT 3.1.1`` works there). At most
:data:`MAX_ATTEMPTS` probes are made. The working :class:`ConnectionOptions` are returned
in :attr:`Diagnosis.working` ("Connect with this").

Credentials never go on a downgraded transport: a variation that drops TLS (``wss`` to
``ws``, ``mqtts`` to ``mqtt``) is tried without the MQTT user name and password, HTTP
basic credentials, secret headers and ``Authorization``/``Cookie`` headers, and its
verdict says so (:attr:`Alternative.credentials_withheld`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from explorer.client.options import ConnectionOptions, Endpoint
from explorer.diagnose.httpcheck import COMMON_PATHS
from explorer.diagnose.model import LAYERS, Alternative, Diagnosis, Layer, ProbeChecks
from explorer.diagnose.probe import StepCallback, probe
from explorer.masking import CREDENTIAL_HEADERS
from explorer.mqtt.enums import ProtocolVersion

__all__ = [
    "COMMON_PATHS",
    "MAX_ATTEMPTS",
    "SUBPROTOCOL_LISTS",
    "Variation",
    "cli_flags",
    "diagnose",
    "explore",
    "variations",
    "without_credentials",
]

SUBPROTOCOL_LISTS: tuple[tuple[str, ...], ...] = (("mqtt",), ("mqttv3.1",), ("mqtt", "mqttv3.1"), ())
_VERSIONS = (ProtocolVersion.V5, ProtocolVersion.V311, ProtocolVersion.V31)
_PARALLEL = 4
_TIMEOUT = 3.0
MAX_ATTEMPTS = 40
"""Probes one exploration may make, all rounds together."""

_TRANSPORT_LAYERS: frozenset[Layer] = frozenset({"tls", "http", "websocket"})
_CREDENTIAL_HEADERS = CREDENTIAL_HEADERS | {"cookie"}  # withheld where TLS is dropped


@dataclass(frozen=True, slots=True)
class Variation:
    """One alternative to try: a description, the option changes it makes, and the
    dimension it varies (``path``, ``subprotocols``, ``scheme`` or ``version``)."""

    description: str
    changes: dict[str, object]
    shown: dict[str, str]
    dimension: str = ""


def _url(endpoint: Endpoint, *, scheme: str | None = None, path: str | None = None) -> str:
    changed = Endpoint(
        scheme=scheme or endpoint.scheme,  # type: ignore[arg-type]
        host=endpoint.host,
        port=endpoint.port,
        path=endpoint.path if path is None else path,
    )
    return changed.url()


def variations(options: ConnectionOptions, layer: Layer) -> list[Variation]:
    """The single changes worth trying after a failure at ``layer``."""
    endpoint = options.endpoint
    found: list[Variation] = []
    if layer in ("http", "websocket") and endpoint.websocket:
        path = endpoint.path.split("?", 1)[0]
        for candidate in COMMON_PATHS:
            if candidate != path:
                url = _url(endpoint, path=candidate)
                found.append(Variation(f"path {candidate}", {"url": url}, {"url": url}, "path"))
        for subprotocols in SUBPROTOCOL_LISTS:
            if subprotocols != options.subprotocols:
                shown = ", ".join(subprotocols) or "(none)"
                found.append(
                    Variation(
                        f"subprotocols {shown}",
                        {"subprotocols": subprotocols},
                        {"subprotocols": shown},
                        "subprotocols",
                    )
                )
    if layer in _TRANSPORT_LAYERS:
        other = {"ws": "wss", "wss": "ws", "mqtt": "mqtts", "mqtts": "mqtt"}[endpoint.scheme]
        url = _url(endpoint, scheme=other)
        found.append(Variation(f"{other}:// on the same host and port", {"url": url}, {"url": url}, "scheme"))
    if layer in ("http", "websocket", "mqtt"):
        for version in _VERSIONS:
            if version != options.mqtt_version:
                found.append(
                    Variation(
                        f"MQTT {version.label}",
                        {"mqtt_version": version},
                        {"mqtt_version": version.label},
                        "version",
                    )
                )
    return found


def without_credentials(options: ConnectionOptions) -> ConnectionOptions:
    """``options`` with every credential left out (for a transport without TLS)."""
    return options.with_changes(
        username=None,
        password=None,
        http_username=None,
        http_password=None,
        secret_headers=(),
        headers=tuple((n, v) for n, v in options.headers if n.lower() not in _CREDENTIAL_HEADERS),
        authentication_method=None,
        authentication_data=None,
    )


def _has_credentials(options: ConnectionOptions) -> bool:
    return without_credentials(options) != options


def _drops_tls(original: ConnectionOptions, changed: ConnectionOptions) -> bool:
    return original.endpoint.secure and not changed.endpoint.secure


def cli_flags(original: ConnectionOptions, working: ConnectionOptions) -> str:
    """The command-line flags that turn ``original`` into ``working`` (URL first)."""
    parts: list[str] = []
    if working.url != original.url:
        parts.append(working.url)
    if working.subprotocols != original.subprotocols:
        if working.subprotocols:
            parts.extend(f"--subprotocol {name}" for name in working.subprotocols)
        else:
            parts.append("--no-subprotocol")
    if working.mqtt_version != original.mqtt_version:
        parts.append(f"--mqtt-version {working.mqtt_version.label}")
    return " ".join(parts)


def _joined(first: str, then: str) -> str:
    return f"{first} + {then}" if first else then


def _reached(diagnosis: Diagnosis) -> int:
    """How far through the layers an attempt got (the index of the layer it failed at)."""
    return LAYERS.index(diagnosis.layer)


async def explore(
    options: ConnectionOptions, diagnosis: Diagnosis, *, checks: ProbeChecks | None = None
) -> list[Alternative]:
    """Probe variations of a failed ``options`` (see the module doc) and say which worked.

    Sets ``diagnosis.working`` to the options of the first alternative that works.
    """
    if diagnosis.ok:
        return []
    timeout = min(options.connect_timeout, options.handshake_timeout, _TIMEOUT)
    limit = asyncio.Semaphore(_PARALLEL)
    plain = ProbeChecks(browser=checks.browser, compression=checks.compression) if checks else ProbeChecks()
    tried: list[Alternative] = []
    seen: set[tuple[object, ...]] = set()
    current, current_desc, current_shown = options, "", dict[str, str]()
    current_reached, current_layer = _reached(diagnosis), diagnosis.layer
    fixed: set[str] = set()
    attempts = 0

    async def attempt(candidate: ConnectionOptions, withheld: bool) -> Diagnosis:
        async with limit:
            probed = candidate.with_changes(connect_timeout=timeout, handshake_timeout=timeout)
            if withheld:
                probed = without_credentials(probed)
            return await probe(probed, checks=plain)

    while attempts < MAX_ATTEMPTS:
        batch: list[tuple[Variation, ConnectionOptions, bool]] = []
        for variation in variations(current, current_layer):
            if variation.dimension in fixed:
                continue
            candidate = current.with_changes(**variation.changes)
            key = (candidate.url, candidate.subprotocols, candidate.mqtt_version)
            if key in seen or attempts + len(batch) >= MAX_ATTEMPTS:
                continue
            seen.add(key)
            withheld = _drops_tls(options, candidate) and _has_credentials(options)
            batch.append((variation, candidate, withheld))
        if not batch:
            break
        attempts += len(batch)
        results = await asyncio.gather(*(attempt(c, w) for _, c, w in batch))
        best: tuple[int, Variation, ConnectionOptions, Diagnosis] | None = None
        for (variation, candidate, withheld), result in zip(batch, results, strict=True):
            description = (
                f"{current_desc} + {variation.description}" if current_desc else variation.description
            )
            shown = {**current_shown, **variation.shown}
            if withheld:
                description += " (without credentials: TLS dropped)"
            tried.append(Alternative(description, shown, result.ok, result.cause, withheld))
            if result.ok and diagnosis.working is None:
                diagnosis.working = without_credentials(candidate) if withheld else candidate
            reached = _reached(result)
            if best is None or reached > best[0]:
                best = (reached, variation, candidate, result)
        if diagnosis.working is not None or best is None or best[0] <= current_reached:
            break
        reached, variation, current, result = best
        current_reached, current_layer = reached, result.layer
        current_desc = _joined(current_desc, variation.description)
        current_shown = {**current_shown, **variation.shown}
        fixed.add(variation.dimension)
    return tried


async def diagnose(
    options: ConnectionOptions,
    *,
    idle: float = 0.0,
    explore_alternatives: bool = False,
    on_step: StepCallback | None = None,
    checks: ProbeChecks | None = None,
) -> Diagnosis:
    """Probe, then (when asked and the probe failed) explore alternatives.

    ``checks`` (browser, compression, publish size, idle) apply to the probe itself;
    without them, ``idle`` is the liveness step's silence.
    """
    checks = checks if checks is not None else ProbeChecks(idle=idle)
    diagnosis = await probe(options, on_step=on_step, checks=checks)
    if explore_alternatives and not diagnosis.ok:
        diagnosis.alternatives = await explore(options, diagnosis, checks=checks)
        if diagnosis.working is not None:
            diagnosis.connect_with = cli_flags(options, diagnosis.working)
    return diagnosis
