"""``mqttws-explorer probe URL``: say at which layer a connection breaks, why, and the fix.

Human output shows each layer as it completes (✓/✗), then the verdict, what was
observed and the fix; ``--json`` prints one JSON object instead. The exit code is 0
when the connection works and 1 otherwise, so scripts and CI can gate on it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import IO, Any

from explorer.cli.connopts import add_connection_arguments, options_from_args
from explorer.diagnose.explore import diagnose
from explorer.diagnose.model import Diagnosis, ProbeChecks, Step
from explorer.errors import ExplorerError
from explorer.present.diagnosis import diagnosis_report
from explorer.present.probechecks import parse_size

__all__ = ["format_diagnosis", "format_step", "register", "run"]

_MARK = {True: "✓", False: "✗"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="diagnose a connection layer by layer (DNS, TCP, TLS, HTTP, WebSocket, MQTT)",
        description=(
            "Walk DNS -> TCP -> TLS -> HTTP upgrade -> WebSocket -> MQTT CONNECT -> liveness, stop at "
            "the first layer that fails and say what was seen, the likely cause and the fix. "
            "Exit status 0 when the connection works, 1 otherwise."
        ),
    )
    parser.add_argument("url", nargs="?", help="broker URL, e.g. ws://host:8080/mqtt (or --profile)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--explore",
        action="store_true",
        help="on failure, try other paths, subprotocol lists, ws/wss and MQTT versions",
    )
    parser.add_argument(
        "--idle",
        type=float,
        default=0.0,
        metavar="S",
        help="stay connected and silent S seconds to catch proxies that drop idle connections",
    )
    parser.add_argument(
        "--browser",
        action="store_true",
        help="offer what Chromium offers (subprotocol mqtt, permessage-deflate, an Origin) "
        "and be as strict about the subprotocol echo",
    )
    parser.add_argument("--compression", action="store_true", help="offer permessage-deflate")
    parser.add_argument(
        "--publish-size",
        type=_size,
        metavar="N",
        help="after CONNACK, publish N bytes at QoS 1 and wait for the PUBACK (finds size limits; "
        "suffixes K and M)",
    )
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ExplorerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def format_step(step: Step) -> str:
    return f"  {_MARK[step.ok]} {step.layer:<10} {step.detail}  ({step.duration_ms:.0f} ms)"


def format_diagnosis(diagnosis: Diagnosis, *, with_steps: bool = False) -> str:
    """The human report: verdict, observed values, fix and alternatives.

    The sentences are the presentation layer's (:mod:`explorer.present.diagnosis`), the
    ones both explorers show; the first line keeps the slug for scripts.
    """
    report = diagnosis_report(diagnosis, explored=bool(diagnosis.alternatives))
    lines: list[str] = []
    if with_steps:
        lines.extend(format_step(step) for step in diagnosis.steps)
    if report.ok:
        lines.append(f"OK: {report.title} ({diagnosis.url})")
    else:
        lines.append(f"FAILED at {diagnosis.layer}: {report.title} [{report.slug}]")
    lines.append(f"  {report.explanation}")
    if report.fix is not None:
        lines.append(f"Fix: {report.fix}")
    if report.observed:
        lines.append("Observed:")
        for key, value in report.observed:
            shown = value.replace("\r\n", "\n").replace("\n", "\n      ")
            lines.append(f"    {key}: {shown}")
    if report.alternatives:
        lines.append("Alternatives tried:")
        for row in report.alternatives:
            lines.append(f"  {row.mark} {row.description:<34} {row.outcome}  ({row.changes})")
        if report.offers:
            lines.append(f"Would work: {', '.join(offer.label for offer in report.offers)}")
            if report.connect_with:
                lines.append(f"Connect with: {report.connect_with}")
        else:
            lines.append(report.hint)
        lines.extend(report.notes)
    return "\n".join(lines)


def run(args: argparse.Namespace, *, out: IO[str] | None = None) -> int:
    stream = out if out is not None else sys.stdout
    options = options_from_args(args)
    if not args.idle >= 0:  # also refuses nan
        raise ExplorerError("--idle takes a number of seconds, 0 or more")
    if args.idle and options.keep_alive and args.idle >= options.keep_alive:
        raise ExplorerError(
            f"--idle {args.idle:g} must be shorter than the keep alive ({options.keep_alive} s); "
            "raise --keep-alive to watch for longer"
        )

    def live(step: Step) -> None:
        print(format_step(step), file=stream, flush=True)

    if not args.json:
        print(f"Probing {options.endpoint.url()}", file=stream, flush=True)
    checks = ProbeChecks(
        idle=args.idle, browser=args.browser, compression=args.compression, publish_size=args.publish_size
    )
    diagnosis = asyncio.run(
        diagnose(
            options,
            explore_alternatives=args.explore,
            on_step=None if args.json else live,
            checks=checks,
        )
    )
    if args.json:
        print(diagnosis.to_json(indent=2), file=stream)
    else:
        print(format_diagnosis(diagnosis), file=stream)
    return 0 if diagnosis.ok else 1
