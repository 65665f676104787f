"""The diagnosis report: what the CLI's ``probe``, the TUI and the GUI show of a verdict.

A :class:`~explorer.diagnose.model.Diagnosis` is data; :func:`diagnosis_report` turns it
into the sentences and rows every front end renders, so the three say the same thing:

* the verdict line names the layer and the cause's *title* (``Certificate not trusted``),
  never the raw slug (the slug stays available for scripts);
* the fix is shown only when something failed;
* the alternatives tried, each with its outcome in words, and the ones that work as
  :class:`ConnectOffer` values that a "Connect with this" button applies to the options;
* the hint under the verdict (how to try alternatives, or that there is nothing to vary).

:func:`step_rows` is the per-layer progress table (done, failed, checking, waiting, not
used). Nothing here does I/O; colours are :class:`~explorer.present.status.Severity` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from explorer.client.options import ConnectionOptions
from explorer.diagnose.causes import CAUSES
from explorer.diagnose.model import LAYERS, Alternative, Diagnosis, Layer, Step
from explorer.errors import ExplorerError
from explorer.mqtt.enums import ProtocolVersion
from explorer.present.status import Severity

__all__ = [
    "LAYER_NAMES",
    "AlternativeRow",
    "ConnectOffer",
    "DiagnosisReport",
    "StepRow",
    "cause_title",
    "diagnosis_report",
    "step_rows",
]

LAYER_NAMES: dict[str, str] = {
    "dns": "DNS",
    "tcp": "TCP",
    "tls": "TLS",
    "http": "HTTP upgrade",
    "websocket": "WebSocket",
    "mqtt": "MQTT CONNECT",
    "publish": "publish",
    "liveness": "liveness",
}

EXPLORE_HINT = (
    "Try alternatives to probe variations of this URL (paths, subprotocols, ws/wss, MQTT versions)."
)
NONE_WORKED = "None of the alternatives worked."
CREDENTIALS_NOTE = (
    "Alternatives without TLS were tried without credentials: the user name, passwords "
    "and secret headers are never sent unencrypted."
)


def cause_title(slug: str) -> str:
    """The cause's title from the one table of causes (the slug itself when unknown)."""
    entry = CAUSES.get(slug)
    return entry.title if entry is not None else slug


def _changes_text(changes: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{key}={value}" for key, value in changes)


@dataclass(frozen=True, slots=True)
class ConnectOffer:
    """Options that worked in the exploration: what a "Connect with this" button applies."""

    description: str
    changes: tuple[tuple[str, str], ...]
    options: ConnectionOptions | None = field(default=None, compare=False, repr=False)
    """The options the probe connected with, when the diagnoser kept them."""

    @property
    def label(self) -> str:
        """``path /mqtt (url=ws://host:1/mqtt)``: what the button or the list shows."""
        changes = _changes_text(self.changes)
        return f"{self.description} ({changes})" if changes else self.description

    def apply(self, options: ConnectionOptions) -> ConnectionOptions:
        """``options`` with this offer's changes made.

        The options the probe itself connected with win when the diagnoser kept them
        (``Diagnosis.working``: several changes combined, credentials withheld where TLS
        was dropped).

        Raises:
            ExplorerError: a change this version cannot apply (named in the sentence).
        """
        if self.options is not None:
            return self.options
        changed: dict[str, object] = {}
        for key, value in self.changes:
            if key == "url":
                changed["url"] = value
            elif key == "subprotocols":
                changed["subprotocols"] = (
                    () if value == "(none)" else tuple(v.strip() for v in value.split(",") if v.strip())
                )
            elif key == "mqtt_version":
                version = next((v for v in ProtocolVersion if v.label == value), None)
                if version is None:
                    raise ExplorerError(f"unknown MQTT version {value!r} in {self.description}")
                changed["mqtt_version"] = version
            else:
                raise ExplorerError(f"cannot apply {key}={value} from {self.description}")
        return options.with_changes(**changed)


@dataclass(frozen=True, slots=True)
class AlternativeRow:
    """One alternative tried: ``✓ path /mqtt  works`` or ``✗ MQTT 5.0  fails: Bad protocol version``."""

    description: str
    ok: bool
    outcome: str
    changes: str
    slug: str

    @property
    def mark(self) -> str:
        return "✓" if self.ok else "✗"

    @property
    def severity(self) -> Severity:
        return Severity.GOOD if self.ok else Severity.ERROR


@dataclass(frozen=True, slots=True)
class DiagnosisReport:
    """Everything a front end shows of one verdict, in the order it shows it.

    Attributes:
        verdict: ``The connection works.`` or ``Fails at the TLS layer: Certificate not trusted``.
        summary: one line for a status label (the verdict and what would work).
        fix: the fix, or None when nothing failed.
        hint: a dim line under the verdict (how to try alternatives, or what they found).
        offers: the alternatives that work, to connect with.
    """

    ok: bool
    layer: Layer
    layer_name: str
    slug: str
    title: str
    verdict: str
    severity: Severity
    explanation: str
    fix: str | None
    observed: tuple[tuple[str, str], ...]
    alternatives: tuple[AlternativeRow, ...]
    offers: tuple[ConnectOffer, ...]
    hint: str
    summary: str
    url: str
    connect_with: str = ""
    notes: tuple[str, ...] = ()

    def text(self) -> str:
        """The report as plain text (sections in the order every front end shows them)."""
        lines = [self.verdict, "", self.explanation]
        if self.fix is not None:
            lines += ["", f"Fix: {self.fix}"]
        if self.offers:
            lines += ["", "Would work"]
            lines += [f"  ✓ {offer.label}" for offer in self.offers]
            if self.connect_with:
                lines.append(f"Connect with: {self.connect_with}")
        lines += list(self.notes)
        if self.hint:
            lines += ["", self.hint]
        if self.alternatives:
            lines += ["", "Alternatives tried"]
            lines += [f"  {row.mark} {row.description}: {row.outcome}" for row in self.alternatives]
        if self.observed:
            lines += ["", "Observed"]
            lines += [f"  {key}: {value}" for key, value in self.observed]
        return "\n".join(lines)


def diagnosis_report(diagnosis: Diagnosis, *, explored: bool = False) -> DiagnosisReport:
    """The report of ``diagnosis``; ``explored``: alternatives were asked for."""
    title = cause_title(diagnosis.cause)
    layer_name = LAYER_NAMES.get(diagnosis.layer, diagnosis.layer)
    rows = tuple(
        AlternativeRow(
            description=alt.description,
            ok=alt.ok,
            outcome="works" if alt.ok else f"fails: {cause_title(alt.cause)}",
            changes=_changes_text(alt.options_changed.items()),
            slug=alt.cause,
        )
        for alt in diagnosis.alternatives
    )
    offers = tuple(_offer(alt) for alt in diagnosis.alternatives if alt.ok)
    if offers and diagnosis.working is not None:
        first = offers[0]
        offers = (ConnectOffer(first.description, first.changes, diagnosis.working), *offers[1:])
    notes = (CREDENTIALS_NOTE,) if any(alt.credentials_withheld for alt in diagnosis.alternatives) else ()
    if diagnosis.ok:
        verdict = "The connection works."
        summary = "All layers work."
        hint = ""
    else:
        verdict = f"Fails at the {layer_name} layer: {title}"
        summary = verdict
        if offers:
            summary += ". Would work: " + "; ".join(offer.description for offer in offers)
            hint = ""
        elif rows:
            summary += ". " + NONE_WORKED.removesuffix(".")
            hint = NONE_WORKED
        elif explored:
            hint = f"Nothing to vary for a {layer_name} failure: check the host name and the port."
            summary += ". There are no alternatives to try after a failure at this layer"
        else:
            hint = EXPLORE_HINT
    return DiagnosisReport(
        ok=diagnosis.ok,
        layer=diagnosis.layer,
        layer_name=layer_name,
        slug=diagnosis.cause,
        title=title,
        verdict=verdict,
        severity=Severity.GOOD if diagnosis.ok else Severity.ERROR,
        explanation=diagnosis.explanation,
        fix=None if diagnosis.ok or not diagnosis.fix else diagnosis.fix,
        observed=tuple(diagnosis.observed.items()),
        alternatives=rows,
        offers=offers,
        hint=hint,
        summary=summary,
        url=diagnosis.url,
        connect_with=diagnosis.connect_with if offers else "",
        notes=notes,
    )


def _offer(alt: Alternative) -> ConnectOffer:
    return ConnectOffer(alt.description, tuple(alt.options_changed.items()))


@dataclass(frozen=True, slots=True)
class StepRow:
    """One layer of the progress table."""

    layer: str
    name: str
    mark: str
    severity: Severity
    duration: str
    detail: str


def step_rows(steps: Sequence[Step], *, running: bool, finished_at: str | None = None) -> tuple[StepRow, ...]:
    """One row per layer: done (✓/✗ with time and detail), checking, waiting, or not used.

    ``finished_at`` is the layer a finished probe stopped at (its verdict's layer): the
    layers before it without a step were not needed for this URL (no TLS on ws://, no
    DNS for an address).
    """
    done = {step.layer: step for step in steps}
    failed = any(not step.ok for step in steps)
    reached = LAYERS.index(finished_at) if finished_at in LAYERS else -1
    rows: list[StepRow] = []
    next_shown = False
    for index, layer in enumerate(LAYERS):
        name = LAYER_NAMES.get(layer, layer)
        step = done.get(layer)
        if step is not None:
            rows.append(
                StepRow(
                    layer,
                    name,
                    "✓" if step.ok else "✗",
                    Severity.GOOD if step.ok else Severity.ERROR,
                    f"{step.duration_ms:.0f} ms",
                    step.detail,
                )
            )
        elif running and not failed and not next_shown:
            next_shown = True
            rows.append(StepRow(layer, name, "…", Severity.BUSY, "", "checking"))
        elif not running and index < reached:
            rows.append(StepRow(layer, name, "-", Severity.QUIET, "", "not used for this URL"))
        else:
            rows.append(StepRow(layer, name, "·", Severity.QUIET, "", ""))
    return tuple(rows)
